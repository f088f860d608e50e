package labels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/rules"
)

// RulesLoader gives a repository's effective rules, the file that wrote
// labels.rules (for explanations) and the warnings that concern labels.
type RulesLoader interface {
	LabelRules(ctx context.Context, c Client, owner, repo string) (r *rules.Rules, rulesFile string, warnings []string, err error)
}

// Handler runs the labels feature for one delivery.
type Handler struct {
	// Client returns the GitHub client of an installation.
	Client func(installation int64) Client
	Rules  RulesLoader
	Store  *Store
	// Self returns the App's own login ("contribot[bot]"), so that the
	// label events contribot causes are not taken for someone else's.
	Self func(ctx context.Context) (string, error)
	Log  *slog.Logger
	// LabelsTTL bounds how long a repository's label list is reused; a
	// `label` event drops it at once (InvalidateRepo).
	LabelsTTL time.Duration
	Metrics   *Metrics
	Now       func() time.Time

	repoLabels sync.Map // lower "owner/repo" → *labelSet
}

type labelSet struct {
	mu    sync.Mutex
	names map[string]bool // lower-case
	until time.Time
}

// Metrics counts what the feature does to labels.
type Metrics struct {
	changes *prometheus.CounterVec
}

// NewMetrics registers the feature's metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{changes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "contribot_labels_total",
		Help: "Labels contribot added, removed, created, skipped because the repository lacks them (missing), or left alone because someone else decided (held).",
	}, []string{"action"})}
	reg.MustRegister(m.changes)
	return m
}

func (m *Metrics) add(action string, n int) {
	if m != nil && n > 0 {
		m.changes.WithLabelValues(action).Add(float64(n))
	}
}

// Handle labels a pull request, or records a label change someone made.
func (h *Handler) Handle(ctx context.Context, job queue.Job, event any) error {
	ev, ok := event.(*github.PullRequestEvent)
	if !ok {
		return nil
	}
	repo, pr := ev.GetRepo(), ev.GetPullRequest()
	log := h.Log.With(slog.String("delivery", job.Delivery), slog.Int64("installation", ev.GetInstallation().GetID()),
		slog.String("repo", repo.GetFullName()), slog.Int("pr", pr.GetNumber()), slog.String("action", ev.GetAction()))
	switch ev.GetAction() {
	case "labeled", "unlabeled":
		return h.record(ctx, log, ev)
	case "opened", "synchronize", "reopened":
	case "edited":
		if ev.GetChanges().GetBase() == nil {
			return nil // a title or body edit: the files are the same
		}
	default:
		return nil
	}
	return h.label(ctx, log, job, ev.GetInstallation().GetID(), repo, pr)
}

// record keeps a label change made by someone other than contribot.
func (h *Handler) record(ctx context.Context, log *slog.Logger, ev *github.PullRequestEvent) error {
	by := ev.GetSender().GetLogin()
	if h.Self != nil {
		self, err := h.Self(ctx)
		if err != nil {
			return fmt.Errorf("learn the App's own login: %w", err)
		}
		if strings.EqualFold(by, self) {
			log.Debug("label event caused by contribot itself; ignored")
			return nil
		}
	}
	name := ev.GetLabel().GetName()
	if name == "" || by == "" {
		// An empty login would read as contribot's own change in the store.
		return nil
	}
	key := PR{RepoID: ev.GetRepo().GetID(), Number: ev.GetPullRequest().GetNumber()}
	added := ev.GetAction() == "labeled"
	if err := h.Store.Record(ctx, key, Change{Label: name, Added: added, By: by}); err != nil {
		return err
	}
	log.Debug("label change by someone else recorded", slog.String("label", name), slog.Bool("added", added), slog.String("by", by))
	return nil
}

func (h *Handler) label(ctx context.Context, log *slog.Logger, job queue.Job, inst int64, repo *github.Repository, pr *github.PullRequest) error {
	owner, name := repo.GetOwner().GetLogin(), repo.GetName()
	full := owner + "/" + name
	key := PR{RepoID: repo.GetID(), Number: pr.GetNumber()}
	c := h.Client(inst)
	r, rulesFile, warnings, err := h.Rules.LabelRules(ctx, c, owner, name)
	if err != nil {
		return h.dryRunOr(log, fmt.Errorf("load rules of %s: %w", full, err))
	}
	if !r.Labels.Enabled {
		log.Debug("labels disabled by rules")
		return nil
	}
	for _, w := range warnings {
		log.Warn("rules setting not applied", slog.String("warning", w))
	}
	in := Input{
		Repo: full, Title: pr.GetTitle(), ChangedFiles: pr.GetChangedFiles(),
		Additions: pr.GetAdditions(), Deletions: pr.GetDeletions(),
	}
	for _, l := range pr.Labels {
		in.Current = append(in.Current, l.GetName())
	}
	fingerprint := "-" // the files do not matter to this repository's rules
	if NeedsFiles(r.Labels, full) {
		why := tooManyFiles(r.Labels, in)
		if why == "" {
			if in.Files, err = c.ListFiles(ctx, owner, name, pr.GetNumber()); err != nil {
				return h.dryRunOr(log, err)
			}
			if n := len(in.Files); job.Attempt <= 1 && in.ChangedFiles > 0 && n < GitHubFileCap && n != in.ChangedFiles {
				// Right after a push GitHub may still list the previous
				// diff; one retry gives it time.
				return fmt.Errorf("GitHub lists %d files for %s#%d, the event says %d; retrying once", n, full, pr.GetNumber(), in.ChangedFiles)
			}
			in.FilesListed = true
			fingerprint = Fingerprint(in.Files)
			why = tooManyFiles(r.Labels, in)
		} else {
			// Listing would cost up to 30 calls and could not decide.
			fingerprint = fmt.Sprintf("many:%d", in.ChangedFiles)
		}
		if why != "" {
			log.Info("the changed files cannot decide the modules; the fallback label applies instead of a guess", slog.String("why", why), slog.String("fallback", r.Labels.Fallback))
		}
	}
	st, err := h.Store.State(ctx, key, fingerprint)
	if err != nil {
		return err
	}
	if updated := pr.GetUpdatedAt().Time; !updated.IsZero() && updated.Before(st.PRUpdated) {
		log.Info("a newer event of this PR was already labelled; this one is outdated", slog.Time("event", updated), slog.Time("newer", st.PRUpdated))
		return nil
	}
	in.AddedBy, in.RemovedBy, in.Ours = st.AddedBy, st.RemovedBy, st.Ours
	d := Decide(r, in)
	h.Metrics.add("held", len(d.Held))
	for _, held := range d.Held {
		log.Debug("label left alone", slog.String("label", held.Label), slog.String("reason", held.Reason))
	}
	if err := h.Store.Decided(ctx, key, fingerprint, pr.GetUpdatedAt().Time); err != nil {
		return err
	}
	if d.Unchanged() {
		log.Debug("labels up to date", slog.Any("labels", d.Labels()))
		return nil
	}
	log.Info("labels decided", slog.Any("add", d.Add), slog.Any("remove", d.Remove), slog.String("why", Explain(d, rulesFile)))
	if job.Attempt > 1 && len(d.Add) > 0 {
		// A retry, or a job run again after a crash, may find its own
		// labels already added by the attempt before: the payload shows
		// the PR as it was. One read keeps the write from being repeated.
		if err := h.dropPresent(ctx, log, c, full, key, d, st); err != nil {
			return h.dryRunOr(log, err)
		}
		if d.Unchanged() {
			log.Info("labels already applied by an earlier attempt")
			return nil
		}
	}
	err = h.apply(ctx, log, c, r, full, key, d)
	switch status, refused := githubapp.Refused(err); {
	case !refused:
		return h.dryRunOr(log, err)
	case status == http.StatusForbidden:
		return queue.Permanent(fmt.Errorf("%w; the App needs the Pull requests permission, read and write", err))
	default:
		// GitHub refused the request itself: it fails the same way every time.
		return queue.Permanent(fmt.Errorf("%w; check the label names in the rules", err))
	}
}

// dropPresent removes from the decision's additions the labels the PR
// carries now. One nobody is recorded as having added was added by the
// earlier attempt, whose answer was lost before it could record it: it is
// recorded now as contribot's, so that managed sync may remove it later.
func (h *Handler) dropPresent(ctx context.Context, log *slog.Logger, c Client, full string, key PR, d *Decision, st State) error {
	owner, name, _ := strings.Cut(full, "/")
	now, err := c.IssueLabels(ctx, owner, name, key.Number)
	if err != nil {
		return err
	}
	var ours []Change
	d.Add = slices.DeleteFunc(d.Add, func(l string) bool {
		present := slices.ContainsFunc(now, func(n string) bool { return strings.EqualFold(n, l) })
		if present {
			log.Debug("label already on the pull request", slog.String("label", l))
			if _, known := st.AddedBy[strings.ToLower(l)]; !known {
				ours = append(ours, Change{Label: l, Added: true})
			}
		}
		return present
	})
	return h.Store.Record(ctx, key, ours...)
}

// apply makes the decision's writes: a label the repository lacks is
// created (create_missing) or skipped, because adding it to the PR would
// make GitHub create it with a grey colour and no description; then one
// call adds every label, and one call removes each unwanted owned label.
func (h *Handler) apply(ctx context.Context, log *slog.Logger, c Client, r *rules.Rules, full string, key PR, d *Decision) error {
	owner, name, _ := strings.Cut(full, "/")
	number := key.Number
	var add []string
	var lks *looks
	if len(d.Add) > 0 {
		set, err := h.labelsOf(ctx, c, owner, name)
		if err != nil {
			return err
		}
		// A person may have removed a label while this job ran.
		st, err := h.Store.State(ctx, key, "")
		if err != nil {
			return err
		}
		for _, l := range d.Add {
			if by, ok := st.RemovedBy[strings.ToLower(l)]; ok && by != "" {
				log.Info("label removed by someone else meanwhile; not added", slog.String("label", l), slog.String("by", by))
				continue
			}
			if set.has(l) {
				add = append(add, l)
				continue
			}
			if !r.Labels.CreateMissing.Enabled {
				h.Metrics.add("missing", 1)
				log.Warn("label missing in the repository; not added. Create it, or set labels.create_missing.enabled", slog.String("label", l))
				continue
			}
			if lks == nil {
				lks = labelLooks(r)
			}
			color, desc := lks.of(l)
			created, err := c.CreateLabel(ctx, owner, name, l, color, desc)
			var ge *github.ErrorResponse
			if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusUnprocessableEntity {
				// One refused label must not block the others.
				h.Metrics.add("refused", 1)
				log.Warn("GitHub refused to create the label; not added. Check its name, colour and description in the rules", slog.String("label", l), slog.String("error", err.Error()))
				continue
			}
			if err != nil {
				return err
			}
			set.put(l)
			if created {
				h.Metrics.add("created", 1)
				log.Info("label created in the repository", slog.String("label", l), slog.String("color", color))
			}
			add = append(add, l)
		}
	}
	if len(add) > 0 {
		if err := c.AddLabels(ctx, owner, name, number, add); err != nil {
			return err
		}
		h.Metrics.add("added", len(add))
		ours := make([]Change, len(add))
		for i, l := range add {
			ours[i] = Change{Label: l, Added: true}
		}
		if err := h.Store.Record(ctx, key, ours...); err != nil {
			return err
		}
	}
	for _, l := range d.Remove {
		if err := c.RemoveLabel(ctx, owner, name, number, l); err != nil {
			return err
		}
		h.Metrics.add("removed", 1)
		if err := h.Store.Record(ctx, key, Change{Label: l}); err != nil {
			return err
		}
	}
	return nil
}

// look is the colour and description for a label contribot creates.
type look struct{ color, desc string }

// looks gives the labels contribot may create their look: a module's
// label its module's, others create_missing's (or GitHub's default
// colour). Built once per pull request, not per label: modules are many.
type looks struct {
	byLabel map[string]look // lower-case label → look
	def     look
}

func labelLooks(r *rules.Rules) *looks {
	l := &looks{byLabel: map[string]look{}, def: look{r.Labels.CreateMissing.Color, r.Labels.CreateMissing.Description}}
	if l.def.color == "" {
		l.def.color = "ededed" // GitHub's own default
	}
	for _, mod := range sortedKeys(r.Modules) {
		m := r.Modules[mod]
		key := strings.ToLower(moduleLabel(r.Modules, mod))
		lk, ok := l.byLabel[key]
		if !ok {
			lk = l.def
		}
		if m.Color != "" {
			lk.color = m.Color
		}
		if m.Description != "" {
			lk.desc = m.Description
		}
		l.byLabel[key] = lk
	}
	return l
}

func (l *looks) of(label string) (color, desc string) {
	lk, ok := l.byLabel[strings.ToLower(label)]
	if !ok {
		lk = l.def
	}
	return lk.color, lk.desc
}

// labelsOf returns the repository's labels, read once per LabelsTTL.
func (h *Handler) labelsOf(ctx context.Context, c Client, owner, repo string) (*labelSet, error) {
	v, _ := h.repoLabels.LoadOrStore(strings.ToLower(owner+"/"+repo), &labelSet{})
	set := v.(*labelSet)
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.names != nil && h.now().Before(set.until) {
		return set, nil
	}
	names, err := c.RepoLabels(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	set.names = map[string]bool{}
	for _, n := range names {
		set.names[strings.ToLower(n)] = true
	}
	ttl := h.LabelsTTL
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	set.until = h.now().Add(ttl)
	return set, nil
}

func (s *labelSet) has(l string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.names[strings.ToLower(l)]
}

func (s *labelSet) put(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names[strings.ToLower(l)] = true
}

// InvalidateRepo drops a repository's cached label list, on a `label`
// event: a label someone deleted must not be taken as existing.
func (h *Handler) InvalidateRepo(owner, repo string) {
	h.repoLabels.Delete(strings.ToLower(owner + "/" + repo))
}

// Fingerprint identifies a PR's set of changed paths, whatever order
// GitHub lists them in.
func Fingerprint(files []File) string {
	paths := changedPaths(files)
	slices.Sort(paths)
	sum := sha256.New()
	for _, p := range paths {
		sum.Write([]byte(p))
		sum.Write([]byte{0})
	}
	return hex.EncodeToString(sum.Sum(nil)[:16])
}

func (h *Handler) dryRunOr(log *slog.Logger, err error) error {
	if errors.Is(err, ErrDryRun) {
		log.Info("dry-run: no GitHub call made; with App credentials contribot would make this call and label the PR", slog.String("would", err.Error()))
		return nil
	}
	return err
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
