package welcome

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/rules"
)

// RulesLoader gives a repository's effective rules, with where each
// setting was written, and the warnings that concern the welcome section.
type RulesLoader interface {
	WelcomeRules(ctx context.Context, c Client, owner, repo string) (r *rules.Result, warnings []string, err error)
}

// BurstTTL is how long a search result is reused: a newcomer's burst of
// issues and pull requests costs one search per kind.
const BurstTTL = 10 * time.Minute

// Handler runs the welcome feature for one delivery.
type Handler struct {
	Client  func(installation int64) Client
	Rules   RulesLoader
	Store   *Store
	Log     *slog.Logger
	Metrics *Metrics
	// Self returns the App's own login ("contribot[bot]"); nil (dry-run)
	// takes a marker in any comment as a greeting.
	Self func(ctx context.Context) (string, error)
	Now  func() time.Time

	mu       sync.Mutex
	notFirst map[string]time.Time // query → until when its "not the first" holds
}

// Metrics counts greetings and why people were not greeted.
type Metrics struct{ outcomes *prometheus.CounterVec }

// NewMetrics registers the feature's metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "contribot_welcome_total",
		Help: "Welcome decisions by kind (issue, pr, merged) and outcome (greeted, ruled_out, known, not_first, unsearchable, claimed_elsewhere, already_on_item, rules_problem).",
	}, []string{"kind", "outcome"})}
	reg.MustRegister(m.outcomes)
	return m
}

func (m *Metrics) count(kind, outcome string) {
	if m != nil {
		m.outcomes.WithLabelValues(kind, outcome).Inc()
	}
}

// event is what the handler needs of an issue or pull request event.
type event struct {
	installation    int64
	owner, repo     string
	number          int
	login, userType string
	association     string
	title, url      string
	labels          []string
	kind            string
}

// Handle greets the author of a new issue, a new pull request, or a
// pull request just merged, if they are new.
func (h *Handler) Handle(ctx context.Context, job queue.Job, payload any) error {
	var ev event
	switch p := payload.(type) {
	case *github.IssuesEvent:
		if p.GetAction() != "opened" || p.GetIssue().IsPullRequest() {
			return nil
		}
		is := p.GetIssue()
		ev = event{installation: p.GetInstallation().GetID(), owner: p.GetRepo().GetOwner().GetLogin(), repo: p.GetRepo().GetName(),
			number: is.GetNumber(), login: is.GetUser().GetLogin(), userType: is.GetUser().GetType(),
			association: is.GetAuthorAssociation(), title: is.GetTitle(), url: is.GetHTMLURL(), kind: KindIssue}
	case *github.PullRequestEvent:
		pr := p.GetPullRequest()
		switch {
		case p.GetAction() == "opened":
			ev.kind = KindPullRequest
		case p.GetAction() == "closed" && pr.GetMerged():
			ev.kind = KindMerged
		default:
			return nil
		}
		ev = event{installation: p.GetInstallation().GetID(), owner: p.GetRepo().GetOwner().GetLogin(), repo: p.GetRepo().GetName(),
			number: pr.GetNumber(), login: pr.GetUser().GetLogin(), userType: pr.GetUser().GetType(),
			association: pr.GetAuthorAssociation(), title: pr.GetTitle(), url: pr.GetHTMLURL(), kind: ev.kind}
		for _, l := range pr.Labels {
			ev.labels = append(ev.labels, l.GetName())
		}
	default:
		return nil
	}
	log := h.Log.With(slog.String("delivery", job.Delivery), slog.Int64("installation", ev.installation),
		slog.String("repo", ev.owner+"/"+ev.repo), slog.Int("number", ev.number), slog.String("kind", ev.kind), slog.String("login", ev.login))
	err := h.greet(ctx, log, ev, job.ID)
	if errors.Is(err, ErrDryRun) {
		log.Info("dry-run: no GitHub call made; with App credentials contribot would make this call and greet the author if this is their first", slog.String("would", err.Error()))
		return nil
	}
	return err
}

func (h *Handler) greet(ctx context.Context, log *slog.Logger, ev event, jobID int64) error {
	if why := RuledOut(ev.association, ev.userType, ev.login); why != "" {
		log.Debug("not a newcomer", slog.String("why", why))
		h.Metrics.count(ev.kind, "ruled_out")
		return nil
	}
	c := h.Client(ev.installation)
	res, warnings, err := h.Rules.WelcomeRules(ctx, c, ev.owner, ev.repo)
	if err != nil {
		return fmt.Errorf("load rules of %s/%s: %w", ev.owner, ev.repo, err)
	}
	r := &res.Rules
	w := r.Welcome
	tmpl := Template(w, ev.kind)
	if !w.Enabled || strings.TrimSpace(tmpl) == "" {
		log.Debug("no greeting for this kind in the rules")
		return nil
	}
	for _, msg := range warnings {
		log.Warn("rules setting not applied", slog.String("warning", msg))
	}
	// Rendered before anything is claimed: a template that fails or says
	// nothing for this item must not hold the person's greeting.
	body, err := RenderContext(ctx, tmpl, Data(w, ev.kind, ev.owner, ev.repo, ev.number, ev.login, ev.title, ev.url, moduleLabels(r, ev.labels)), ev.kind)
	switch {
	case err != nil && ctx.Err() != nil:
		return err // the job's time ran out: not the rules' fault
	case errors.Is(err, rules.ErrGreetingTooLong):
		// Nothing is posted: GitHub would refuse the comment, and a cut
		// one would greet with half a sentence.
		key := TemplateKey(ev.kind)
		where := res.Sources[key].String()
		log.Error("rules problem: the greeting for this item is longer than GitHub accepts in a comment; nothing posted",
			slog.String("template", key), slog.String("source", where), slog.Int("max_characters", rules.MaxGreeting))
		h.Metrics.count(ev.kind, "rules_problem")
		return queue.Permanent(fmt.Errorf("%s (%s) renders more than %d characters for this item; nothing posted; fix welcome in the rules", key, where, rules.MaxGreeting))
	case err != nil:
		h.Metrics.count(ev.kind, "rules_problem")
		return queue.Permanent(fmt.Errorf("%w; fix welcome in the rules", err))
	}
	if body == "" {
		log.Info("the greeting template renders nothing for this item; no greeting")
		return nil
	}
	g := Greeting{Scope: Scope(w, ev.owner, ev.repo), Login: ev.login, Kind: ev.kind, Repo: ev.owner + "/" + ev.repo, Number: ev.number, Job: jobID}
	known, resume, err := h.Store.Known(ctx, g)
	switch {
	case err != nil:
		return err
	case known && !resume:
		log.Debug("already greeted in this scope")
		h.Metrics.count(ev.kind, "known")
		return nil
	case !known:
		first, err := h.isFirst(ctx, c, g)
		switch {
		case errors.Is(err, ErrUnsearchable):
			first = FirstByAssociation(ev.kind, ev.association)
			log.Info("GitHub cannot search this person's items; deciding from the author association", slog.String("association", ev.association), slog.Bool("first", first))
			h.Metrics.count(ev.kind, "unsearchable")
		case err != nil:
			return err
		}
		if !first {
			log.Debug("not the person's first of this kind; no greeting")
			h.Metrics.count(ev.kind, "not_first")
			return nil
		}
		// Payloads show only public org membership; a member who keeps it
		// private is no newcomer. Only real candidates pay this call.
		member, err := c.IsMember(ctx, ev.owner, ev.login)
		switch {
		case err != nil && refused(err):
			log.Debug("org membership unknown (no Members permission); greeting", slog.String("error", err.Error()))
		case err != nil:
			return err
		case member:
			log.Debug("not a newcomer: a member of the org (privately)")
			h.Metrics.count(ev.kind, "ruled_out")
			return nil
		}
	}
	// resume: an earlier attempt of this job claimed the greeting and
	// stopped; Claim hands it back, and the marker check avoids a repeat.
	ok, why, err := h.Store.Claim(ctx, g)
	if err != nil {
		return err
	}
	if !ok {
		log.Info("no greeting: "+why, slog.String("why", why))
		h.Metrics.count(ev.kind, "claimed_elsewhere")
		return nil
	}
	// Only contribot's own comment counts: anyone can paste the marker.
	self := ""
	if h.Self != nil {
		if self, err = h.Self(ctx); err != nil {
			return fmt.Errorf("learn the App's own login: %w", err)
		}
	}
	on, err := c.HasComment(ctx, ev.owner, ev.repo, ev.number, Marker(ev.kind), self)
	if err != nil {
		return h.final(err)
	}
	if on {
		log.Info("greeting already on the item; not posted again")
		h.Metrics.count(ev.kind, "already_on_item")
		return h.Store.Posted(ctx, g)
	}
	if err := c.CreateComment(ctx, ev.owner, ev.repo, ev.number, body); err != nil {
		return h.final(err)
	}
	if w.Label != "" && ev.kind != KindMerged {
		if err := c.AddLabels(ctx, ev.owner, ev.repo, ev.number, []string{w.Label}); err != nil {
			// The greeting is out; a retry would find it by its marker.
			log.Warn("greeting posted, label not added", slog.String("label", w.Label), slog.String("error", err.Error()))
		}
	}
	log.Info("newcomer greeted")
	h.Metrics.count(ev.kind, "greeted")
	return h.Store.Posted(ctx, g)
}

// final makes a refused comment call end the job: an item that is gone,
// locked or refuses comments will refuse them on every retry.
func (h *Handler) final(err error) error {
	if refused(err) {
		return queue.Permanent(fmt.Errorf("%w; the greeting cannot be posted", err))
	}
	return err
}

// isFirst searches once per person, kind and scope in a burst.
func (h *Handler) isFirst(ctx context.Context, c Client, g Greeting) (bool, error) {
	q := Query(g.Kind, g.Login, g.Scope)
	now := h.now()
	h.mu.Lock()
	until, ok := h.notFirst[q]
	h.mu.Unlock()
	if ok && now.Before(until) {
		return false, nil // only "not first" is cached
	}
	total, items, err := c.SearchIssues(ctx, q)
	if err != nil {
		return false, err
	}
	first := IsFirst(total, items, Item{Repo: g.Repo, Number: g.Number})
	if !first {
		// A "first" is not cached: it leads to a claim, which the
		// database remembers; a cached one could outlive that and call a
		// second item the first.
		h.mu.Lock()
		if h.notFirst == nil || len(h.notFirst) > 10000 {
			h.notFirst = map[string]time.Time{} // bursts are short; start over
		}
		h.notFirst[q] = now.Add(BurstTTL)
		h.mu.Unlock()
	}
	return first, nil
}

// moduleLabels are the PR's labels that mark modules in the rules: what is
// known of its modules when it is greeted.
func moduleLabels(r *rules.Rules, labels []string) []string {
	var out []string
	for _, l := range labels {
		for name, m := range r.Modules {
			if strings.EqualFold(m.LabelOf(name), l) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func refused(err error) bool {
	_, ok := githubapp.Refused(err)
	return ok
}
