package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
	"github.com/SovereignCloudStack/contribot/rules"
)

// Metrics are the tracker's Prometheus series.
type Metrics struct {
	checks      *prometheus.CounterVec
	writes      *prometheus.CounterVec
	poll        prometheus.Histogram
	lastPoll    prometheus.Gauge
	failing     *prometheus.GaugeVec
	budgetSpent *prometheus.CounterVec
	deferred    *prometheus.GaugeVec
}

// NewMetrics registers the tracker's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_upstream_checks_total", Help: "Upstream reference checks by provider and result (ok, unavailable, error).",
		}, []string{"provider", "result"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_upstream_writes_total", Help: "GitHub writes of the upstream tracker by what (comment, dashboard, label) and outcome (created, edited, unchanged).",
		}, []string{"what", "outcome"}),
		poll: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "contribot_upstream_poll_seconds", Help: "Duration of one poll of upstream references.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
	}
	m.lastPoll = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "contribot_upstream_last_poll_timestamp_seconds", Help: "When the last poll of upstream references finished; alert when it falls far behind UPSTREAM_POLL_INTERVAL.",
	})
	m.failing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "contribot_upstream_failing_references", Help: "Tracked references whose last check failed (provider down or rate-limiting), by provider.",
	}, []string{"provider"})
	// By provider only: org names would make a series per installation.
	m.budgetSpent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "contribot_upstream_budget_exhausted_total", Help: "Polls in which an org's upstream read budget (UPSTREAM_BUDGET_GITHUB, UPSTREAM_BUDGET_HOST) ran out before its due references, counted once per org, by provider.",
	}, []string{"provider"})
	m.deferred = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "contribot_upstream_deferred_references", Help: "References that were due in the last poll but wait for the next, because their org's read budget ran out, by provider.",
	}, []string{"provider"})
	reg.MustRegister(m.checks, m.writes, m.poll, m.lastPoll, m.failing, m.budgetSpent, m.deferred)
	return m
}

func (m *Metrics) wrote(what, outcome string) {
	if m != nil {
		m.writes.WithLabelValues(what, outcome).Inc()
	}
}

// HandleTask runs the tracker's own tasks.
func (h *Handler) HandleTask(ctx context.Context, t queue.Task) error {
	var err error
	switch t.Task {
	case TaskSync:
		err = h.sync(ctx, t.Key)
	case TaskDashboard:
		err = h.dashboard(ctx, t.Key)
	case TaskPoll:
		// The periodic poll ("all") and explicit ones ("now@…") refresh
		// every status and dashboard, since staleness moves with time; a
		// poll for an item's new references touches what changed.
		err = h.Poll(ctx, strings.HasPrefix(t.Key, PollKey+"@") || strings.HasPrefix(t.Key, "now@"))
	default:
		return queue.Permanent(fmt.Errorf("unknown upstream task %q", t.Task))
	}
	if errors.Is(err, ErrDryRun) {
		h.Log.Info("dry-run: no GitHub call made", slog.String("task", t.Task), slog.String("key", t.Key), slog.String("would", err.Error()))
		return nil
	}
	return err
}

func parseItemKey(key string) (ItemKey, error) {
	key, _, _ = strings.Cut(key, "@") // the version only makes the task unique
	repo, n, ok := strings.Cut(key, "#")
	number, err := strconv.Atoi(n)
	if !ok || err != nil || !strings.Contains(repo, "/") {
		return ItemKey{}, queue.Permanent(fmt.Errorf("malformed item key %q, want owner/repo#number", key))
	}
	return ItemKey{repo, number}, nil
}

// LockTTL bounds how long a dead sync or rebuild can hold up the next; it
// must be longer than a task may run (Handler.LockTTL, from JOB_TIMEOUT).
const LockTTL = 3 * time.Minute

// lock takes the lease of one item's sync or one org's dashboard; held by
// another worker, the task waits a moment and runs again, and finds the
// other's writes.
func (h *Handler) lock(ctx context.Context, name string) (func(), error) {
	ttl := h.LockTTL
	if ttl <= 0 {
		ttl = LockTTL
	}
	token, err := h.Store.Lock(ctx, name, ttl)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, queue.Snooze(time.Second)
	}
	return func() {
		if err := h.Store.Unlock(context.WithoutCancel(ctx), name, token); err != nil {
			h.Log.Warn("could not release a lease; it expires by itself", slog.String("lease", name), slog.String("error", err.Error()))
		}
	}, nil
}

// maxRounds bounds how often a sync re-renders when the item keeps
// changing under it; the next change schedules another sync anyway.
const maxRounds = 3

// sync brings an item's status comment and labels up to date; it writes
// only what changed, and nothing at all when nothing did.
func (h *Handler) sync(ctx context.Context, key string) error {
	k, err := parseItemKey(key)
	if err != nil {
		return err
	}
	owner, repo, _ := strings.Cut(k.Repo, "/")
	log := h.Log.With(slog.String("task", TaskSync), slog.String("repo", k.Repo), slog.Int("number", k.Number))
	unlock, err := h.lock(ctx, "sync:"+k.String())
	if err != nil {
		return err
	}
	defer unlock()
	for range maxRounds {
		it, err := h.Store.Item(ctx, k.Repo, k.Number)
		if err != nil || it == nil {
			return err
		}
		log := log.With(slog.Int64("installation", it.Installation))
		c := h.Client(it.Installation)
		r, _, err := h.Rules.UpstreamRules(ctx, c, owner, repo)
		if err != nil {
			return fmt.Errorf("load rules of %s: %w", k.Repo, err)
		}
		u := r.Upstream
		if !u.Enabled {
			log.Debug("upstream tracking is off in the rules; status comment and labels left as they are")
			// Marked synced, so that polls do not schedule it again and
			// again; a full poll looks once more.
			return h.Store.Synced(ctx, k.Repo, k.Number, it.Version, it.CommentID, it.CommentHash)
		}
		// Rules change without an event on the item: its place in the
		// reports follows them here, at the latest on the next full poll.
		listed, showReads, err := h.view(ctx, c, owner, it.Private, u)
		if err != nil {
			return err
		}
		if moved, err := h.Store.SetView(ctx, k.Repo, k.Number, listed, showReads, ModulesOf(r, k.Repo, it.Labels)); err != nil {
			return err
		} else if moved {
			log.Info("the rules moved the item in the reports (show_private or modules)")
			if err := h.Queue.Schedule(ctx, TaskDashboard, it.Org()+"@"+syncKey(k, it.Version)+"@view", 0); err != nil {
				return err
			}
			continue
		}
		body, waiting, err := h.statusText(ctx, it, u)
		if err != nil {
			return err
		}
		if waiting {
			// Not marked synced: the poll that checks the new references
			// schedules this item again (and a full poll would anyway).
			log.Debug("status waits for the first check of a new reference")
			return nil
		}
		switch {
		case !u.StatusComment || body == "":
		case hash(body) == it.CommentHash:
			log.Debug("status comment unchanged")
			h.Metrics.wrote("comment", "unchanged")
		default:
			id, err := h.writeComment(ctx, log, c, owner, repo, it, body)
			if err != nil {
				return h.refused(ctx, it, final(err, "the status comment"))
			}
			// Recorded at once: whatever fails next, a retry edits this
			// comment instead of posting another.
			if err := h.Store.SetCommentHash(ctx, k.Repo, k.Number, id, hash(body)); err != nil {
				return err
			}
		}
		if u.Labels {
			if err := h.syncLabels(ctx, log, c, owner, repo, it, u); err != nil {
				return h.refused(ctx, it, final(err, "the upstream labels"))
			}
		}
		if err := h.Store.MarkSynced(ctx, k.Repo, k.Number, it.Version); err != nil {
			return err
		}
		now, err := h.Store.Item(ctx, k.Repo, k.Number)
		if err != nil || now == nil || now.Version == it.Version {
			return err
		}
		// Changed while this sync ran: its own schedule was absorbed by
		// this task, so go round once more.
	}
	return nil
}

// refused marks an item synced when GitHub refused a write for good, so
// that only the next change or full poll tries again, not every poll.
func (h *Handler) refused(ctx context.Context, it *Saved, err error) error {
	var cancel *river.JobCancelError
	if errors.As(err, &cancel) {
		if merr := h.Store.MarkSynced(context.WithoutCancel(ctx), it.Repo, it.Number, it.Version); merr != nil {
			h.Log.Warn("could not mark a refused item synced; polls will try it again", slog.String("repo", it.Repo), slog.Int("number", it.Number), slog.String("error", merr.Error()))
		}
	}
	return err
}

// NotTracked is the status comment of an item that no longer tracks
// upstream work.
const NotTracked = "No longer tracked as upstream work: this has neither the tracking label nor an `Upstream: <url>` line. Add either to track it again."

// final ends the task on a write GitHub refuses (403, 404, 410, 422: a
// locked or archived item, a missing permission), which every retry would
// meet again; the next change or full poll tries afresh.
func final(err error, what string) error {
	if status, ok := githubapp.Refused(err); ok {
		return queue.Permanent(fmt.Errorf("GitHub refused %s (HTTP %d); check that the item is not locked or archived and that the App has Issues: write: %w", what, status, err))
	}
	return err
}

// statusText renders what the item's status comment should say; "" means
// it should have none. waiting means a reference has not been checked
// yet: posting "not checked yet" would cost a second write minutes later.
func (h *Handler) statusText(ctx context.Context, it *Saved, u rules.Upstream) (body string, waiting bool, err error) {
	if !it.Tracked {
		if it.CommentID <= 0 {
			return "", false, nil
		}
		return report.CommentMarker + "\n" + NotTracked + "\n", false, nil
	}
	refs, err := h.Store.ItemReferences(ctx, it.Repo, it.Number)
	if err != nil {
		return "", false, err
	}
	switch {
	case len(refs) == 0 && it.CommentID <= 0:
		return "", false, nil // labelled, but nothing to report yet
	case awaitingCheck(refs):
		return "", true, nil
	}
	return report.Comment(tracker(it), refs, h.reportOptions(u)), false, nil
}

func awaitingCheck(refs []report.Reference) bool {
	for _, r := range refs {
		if r.Provider != string(link.Other) && r.LastChecked.IsZero() && r.CheckError == "" {
			return true
		}
	}
	return false
}

func tracker(it *Saved) report.Tracker {
	return report.Tracker{Repo: it.Repo, Number: it.Number, Title: it.Title, URL: it.URL, PR: it.PR, Open: it.Open, Private: it.Private,
		Modules: it.Modules, Untracked: it.Untracked}
}

func (h *Handler) reportOptions(u rules.Upstream) report.Options {
	return report.Options{Now: h.now(), StaleAfter: time.Duration(u.StaleAfter), PageURL: h.PageURL}
}

// writeComment edits the status comment in place, finding it by its marker
// if its id is not known, and creates it only if there is none.
func (h *Handler) writeComment(ctx context.Context, log *slog.Logger, c Client, owner, repo string, it *Saved, body string) (int64, error) {
	id := it.CommentID
	if id == NoComment {
		id = 0
	} else if id == 0 {
		self, err := h.self(ctx)
		if err != nil {
			return 0, err
		}
		comments, err := c.Comments(ctx, owner, repo, it.Number)
		if err != nil {
			return 0, err
		}
		for _, cm := range comments {
			if isStatusComment(cm, self) {
				id = cm.GetID()
				break
			}
		}
	}
	if id != 0 {
		err := c.EditComment(ctx, owner, repo, id, body)
		if err == nil {
			log.Info("status comment updated", slog.Int64("comment", id))
			h.Metrics.wrote("comment", "edited")
			return id, nil
		}
		if !errors.Is(err, ErrGone) {
			return 0, err
		}
		log.Info("status comment was deleted; posting a new one", slog.Int64("comment", id))
	}
	if it.CommentID == NoComment {
		// From here on unknown: if GitHub applies the post but the answer
		// is lost, the retry must look for the comment by its marker.
		if err := h.Store.SetCommentHash(ctx, it.Repo, it.Number, 0, ""); err != nil {
			return 0, err
		}
	}
	id, err := c.PostComment(ctx, owner, repo, it.Number, body)
	if err != nil {
		return 0, err
	}
	log.Info("status comment posted", slog.Int64("comment", id))
	h.Metrics.wrote("comment", "created")
	return id, nil
}

// WantLabels are contribot's own upstream labels an item should carry.
func WantLabels(refs []report.Reference, o report.Options) []string {
	var out []string
	tracked, done, stale := 0, 0, false
	for _, r := range refs {
		if r.Provider == string(link.Other) {
			continue
		}
		tracked++
		if r.State.Done() {
			done++
		}
		if report.Stale(r, o.Now, o.StaleAfter) {
			stale = true
		}
	}
	if tracked > 0 && done == tracked {
		out = append(out, rules.UpstreamLabelMerged)
	}
	if stale {
		out = append(out, rules.UpstreamLabelStale)
	}
	return out
}

// syncLabels adds and removes only upstream/merged and upstream/stale, in
// at most one add and one removal per label.
func (h *Handler) syncLabels(ctx context.Context, log *slog.Logger, c Client, owner, repo string, it *Saved, u rules.Upstream) error {
	var want []string
	if it.Tracked {
		refs, err := h.Store.ItemReferences(ctx, it.Repo, it.Number)
		if err != nil {
			return err
		}
		if awaitingCheck(refs) {
			return nil // decided once the poll has checked them
		}
		want = WantLabels(refs, h.reportOptions(u))
	}
	has := func(ls []string, l string) bool {
		return slices.ContainsFunc(ls, func(x string) bool { return strings.EqualFold(x, l) })
	}
	var add, remove []string
	for _, l := range want {
		if !has(it.Labels, l) {
			add = append(add, l)
		}
	}
	for _, l := range it.Labels {
		// Only the labels contribot sets: a person's upstream/openstack stays.
		own := strings.EqualFold(l, rules.UpstreamLabelMerged) || strings.EqualFold(l, rules.UpstreamLabelStale)
		if own && !has(want, l) {
			remove = append(remove, l)
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	if len(add) > 0 {
		if err := c.AddLabels(ctx, owner, repo, it.Number, add); err != nil {
			return err
		}
		h.Metrics.wrote("label", "added")
	}
	for _, l := range remove {
		if err := c.RemoveLabel(ctx, owner, repo, it.Number, l); err != nil {
			return err
		}
		h.Metrics.wrote("label", "removed")
	}
	labels := slices.DeleteFunc(slices.Clone(it.Labels), func(l string) bool { return has(remove, l) })
	log.Info("upstream labels updated", slog.Any("added", add), slog.Any("removed", remove))
	return h.Store.SetLabels(ctx, it.Repo, it.Number, append(labels, add...))
}

// dashboard rewrites an org's dashboard issue when its text changed; an
// unchanged dashboard costs no GitHub call.
func (h *Handler) dashboard(ctx context.Context, key string) error {
	org, _, _ := strings.Cut(key, "@")
	orgs, err := h.Store.Orgs(ctx)
	if err != nil {
		return err
	}
	inst, ok := orgs[org]
	if !ok {
		return nil
	}
	log := h.Log.With(slog.String("task", TaskDashboard), slog.String("org", org), slog.Int64("installation", inst))
	c := h.Client(inst)
	r, _, err := h.Rules.UpstreamRules(ctx, c, org, ".github")
	if err != nil {
		return fmt.Errorf("load rules of %s: %w", org, err)
	}
	d := r.Upstream.Dashboard
	if !r.Upstream.Enabled || d.Repo == "" {
		return nil
	}
	unlock, err := h.lock(ctx, "dashboard:"+org)
	if err != nil {
		return err
	}
	defer unlock()
	owner, repo, _ := strings.Cut(d.Repo, "/")
	for range maxRounds {
		refs, err := h.Store.References(ctx, org)
		if err != nil {
			return err
		}
		body := report.Dashboard(refs, h.reportOptions(r.Upstream))
		rec, err := h.Store.Dashboard(ctx, org)
		if err != nil {
			return err
		}
		if rec.Repo != d.Repo {
			rec = Dashboard{Repo: d.Repo}
		}
		if rec.Number != 0 && rec.BodyHash == hash(body) {
			log.Debug("dashboard unchanged", slog.Int("issue", rec.Number))
			h.Metrics.wrote("dashboard", "unchanged")
			return nil
		}
		number, err := h.writeDashboard(ctx, log, c, owner, repo, rec.Number, d.Title, body)
		if err != nil {
			return final(err, "the dashboard issue in "+d.Repo)
		}
		if err := h.Store.SetDashboard(ctx, org, Dashboard{Repo: d.Repo, Number: number, BodyHash: hash(body)}); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) writeDashboard(ctx context.Context, log *slog.Logger, c Client, owner, repo string, number int, title, body string) (int, error) {
	if number == 0 {
		self, err := h.self(ctx)
		if err != nil {
			return 0, err
		}
		if number, err = c.FindIssue(ctx, owner, repo, self, report.DashboardMarker); err != nil {
			return 0, err
		}
	}
	if number != 0 {
		err := c.EditIssue(ctx, owner, repo, number, body)
		if err == nil {
			log.Info("dashboard updated", slog.Int("issue", number))
			h.Metrics.wrote("dashboard", "edited")
			return number, nil
		}
		if !errors.Is(err, ErrGone) {
			return 0, err
		}
		log.Info("dashboard issue is gone; opening a new one", slog.Int("issue", number))
	}
	number, err := c.CreateIssue(ctx, owner, repo, title, body)
	if err != nil {
		return 0, err
	}
	log.Info("dashboard opened", slog.Int("issue", number))
	h.Metrics.wrote("dashboard", "created")
	return number, nil
}

// afterPoll bounds the recording and scheduling that follow a poll's
// checks.
const afterPoll = time.Minute

// Poll checks every reference that is due, as far as the orgs' budgets for
// the window allow, records what changed, and schedules the status
// comments and dashboards: after a full poll every tracked item's sync,
// since staleness moves with time alone (a sync that finds nothing new
// costs no GitHub call), else those of changed items. A full poll also
// checks each tracking repository's visibility (checkVisibility) and
// deletes references nothing names (Store.Sweep).
func (h *Handler) Poll(ctx context.Context, full bool) error {
	start := h.now()
	// A little slack, so a jittered poll that comes early still takes
	// what the previous one checked.
	log := h.Log.With(slog.String("task", TaskPoll))
	if h.DryRun {
		log.Info("dry-run: upstream references are not checked without App credentials")
		return nil
	}
	if full {
		h.checkVisibility(ctx, log, start)
	}
	// The budgets' window is as long as the slack: the next periodic
	// poll, however jittered, finds fresh ones.
	budget := h.Budget
	if budget.Window <= 0 && h.PollEvery > 0 {
		budget.Window = h.PollEvery * 9 / 10
	}
	claims, deferred, err := h.Store.Due(ctx, start.Add(-h.PollEvery*9/10), start, budget)
	if err != nil {
		return err
	}
	h.budgetSpent(log, deferred)
	due := make([]link.Ref, len(claims))
	for i, c := range claims {
		due[i] = c.Ref
	}
	// The checks get the task's time but a margin, so that what was
	// checked is saved even when the hosts are slow; what was not reached
	// goes back to the next poll.
	fetchCtx, cancel := context.WithCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		fetchCtx, cancel = context.WithDeadline(ctx, deadline.Add(-time.Duration(float64(time.Until(deadline))*0.1)))
	}
	results := h.Providers.Fetch(fetchCtx, due)
	cancel()
	// What follows records and schedules what was checked, even when the
	// task's time is up: the checks are done and have cost quota. It is
	// bounded on its own.
	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), afterPoll)
	defer cancel()
	var unreached []link.Ref
	for _, ref := range due {
		if res, ok := results[ref.Key()]; !ok || errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded) {
			unreached = append(unreached, ref)
			delete(results, ref.Key())
		}
	}
	if len(unreached) > 0 {
		if err := h.Store.Unclaim(ctx, unreached); err != nil {
			log.Warn("unreached references not handed back; they wait for the next interval", slog.String("error", err.Error()))
		}
		log.Warn("the poll ran out of time; the rest goes to the next poll", slog.Int("unreached", len(unreached)))
	}
	h.logFailures(ctx, log, claims, results)
	counts := map[string]int{}
	for _, ref := range due {
		res, ok := results[ref.Key()]
		result := "ok"
		switch {
		case !ok:
			continue // unreached, handed back
		case res.Err != nil:
			result = "error"
		case res.Status.State == provider.Unavailable:
			result = "unavailable"
		}
		counts[string(ref.Provider)+" "+result]++
		if h.Metrics != nil {
			h.Metrics.checks.WithLabelValues(string(ref.Provider), result).Inc()
		}
	}
	changed, err := h.Store.Save(ctx, results)
	if err != nil {
		// Claimed but not saved: hand them to the retry, not to the next
		// interval.
		if uerr := h.Store.Unclaim(ctx, due); uerr != nil {
			log.Warn("claimed references not handed back; they wait for the next interval", slog.String("error", uerr.Error()))
		}
		return err
	}
	if full {
		if n, err := h.Store.Sweep(ctx); err != nil {
			log.Warn("could not delete references that nothing names; the next full poll tries again", slog.String("error", err.Error()))
		} else if n > 0 {
			log.Info("references that nothing names deleted", slog.Int("references", n))
		}
	}
	items, err := h.Store.TrackedItems(ctx, "")
	if err != nil {
		return err
	}
	if !full {
		// What changed now, and what a failed earlier run left unsynced.
		items = slices.DeleteFunc(items, func(v VersionedItem) bool {
			return !slices.Contains(changed, v.ItemKey) && v.Version <= v.SyncedVersion
		})
	}
	for _, k := range items {
		if err := h.Queue.Schedule(ctx, TaskSync, syncKey(k.ItemKey, k.Version), 0); err != nil {
			return err
		}
	}
	orgs, err := h.Store.Orgs(ctx)
	if err != nil {
		return err
	}
	for org := range orgs {
		if !full && !slices.ContainsFunc(items, func(k VersionedItem) bool { return strings.HasPrefix(k.Repo, org+"/") }) {
			continue
		}
		// One rebuild per org and poll; the suffix keeps it from being
		// absorbed by a rebuild that rendered before this poll saved.
		if err := h.Queue.Schedule(ctx, TaskDashboard, org+"@"+strconv.FormatInt(start.UnixNano(), 10), 0); err != nil {
			return err
		}
	}
	took := h.now().Sub(start)
	if h.Metrics != nil {
		h.Metrics.poll.Observe(took.Seconds())
		h.Metrics.lastPoll.SetToCurrentTime()
		if failing, err := h.Store.Failing(ctx); err == nil {
			for _, p := range []link.Provider{link.GitHub, link.Gerrit, link.Launchpad, link.GitLab} {
				h.Metrics.failing.WithLabelValues(string(p)).Set(float64(failing[string(p)]))
			}
		}
	}
	log.Info("upstream references checked", slog.Int("checked", len(due)), slog.Int("items_changed", len(changed)),
		slog.Any("results", counts), slog.Duration("took", took))
	return nil
}

// checkVisibility asks GitHub, with the installation of each repository
// that has tracked items, whether it is still public or private (a
// conditional request, free of quota when nothing changed), and follows a
// change as the repository event does: a lost "privatized" delivery must
// not keep a repository's items on the public reports for ever. One the
// installation can no longer see counts as private. A repository of the
// org's own, so the cost is bounded by the org's repositories, not by what
// anyone writes; it is not charged to the read budget.
func (h *Handler) checkVisibility(ctx context.Context, log *slog.Logger, start time.Time) {
	repos, err := h.Store.TrackingRepos(ctx)
	if err != nil {
		log.Warn("could not list the repositories with tracked items; their visibility is checked next time", slog.String("error", err.Error()))
		return
	}
	cause := "poll@" + strconv.FormatInt(start.UnixNano(), 10)
	for _, r := range repos {
		if ctx.Err() != nil {
			return
		}
		rlog := log.With(slog.String("repo", r.Repo), slog.Int64("installation", r.Installation))
		owner, name, _ := strings.Cut(r.Repo, "/")
		private, err := h.Client(r.Installation).Private(ctx, owner, name)
		if errors.Is(err, ErrGone) {
			private, err = true, nil
		}
		if err != nil {
			rlog.Warn("could not check whether a repository with tracked items is still public; its items stay as they are", slog.String("error", err.Error()))
			continue
		}
		if (private && !r.SomePublic) || (!private && !r.SomePrivate) {
			continue
		}
		how := "found public by the poll"
		if private {
			how = "found private by the poll"
		}
		if err := h.repoVisibility(ctx, rlog, r.Installation, r.Repo, private, how, cause); err != nil {
			rlog.Warn("could not follow a repository's visibility; the next full poll tries again", slog.String("error", err.Error()))
		}
	}
}

// budgetSpent reports the orgs whose read budget ran out in this poll:
// their references left over wait for the next poll, at the front.
func (h *Handler) budgetSpent(log *slog.Logger, deferred []Deferred) {
	left := map[string]int{}
	for _, d := range deferred {
		log.Warn("an org's upstream read budget for this window is spent; the rest of its references wait for a later poll",
			slog.String("org", d.Org), slog.String("provider", d.Provider), slog.Int("deferred", d.Refs))
		left[d.Provider] += d.Refs
		if h.Metrics != nil {
			h.Metrics.budgetSpent.WithLabelValues(d.Provider).Inc()
		}
	}
	if h.Metrics != nil {
		for _, p := range []link.Provider{link.GitHub, link.Gerrit, link.Launchpad, link.GitLab} {
			h.Metrics.deferred.WithLabelValues(string(p)).Set(float64(left[string(p)]))
		}
	}
}

// maxFailureLogs bounds the failure lines of one poll: a host that is down
// fails every reference on it the same way.
const maxFailureLogs = 20

// logFailures logs why checks failed, in full: the pages show only the
// public text (the host, an HTTP status), and the operator needs the rest.
// Failures alike (same host, same cause) are logged once, with how many
// references they hit, one of them, the items naming it and the
// installation of the org it was checked for.
func (h *Handler) logFailures(ctx context.Context, log *slog.Logger, claims []Claim, results map[string]provider.Result) {
	type failure struct {
		claim Claim
		err   error
		n     int
	}
	byCause := map[string]*failure{}
	var order []*failure
	for _, c := range claims {
		res, ok := results[c.Ref.Key()]
		if !ok || res.Err == nil || errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded) {
			continue
		}
		k := provider.GroupKey(c.Ref) + "\x00" + provider.Detail(res.Err)
		if f, ok := byCause[k]; ok {
			f.n++
			continue
		}
		f := &failure{claim: c, err: res.Err, n: 1}
		byCause[k] = f
		order = append(order, f)
	}
	for i, f := range order {
		if i == maxFailureLogs {
			log.Warn("more upstream checks failed, for other causes", slog.Int("causes", len(order)-maxFailureLogs))
			break
		}
		var items []string
		for _, it := range f.claim.Items[:min(len(f.claim.Items), 5)] {
			items = append(items, it.String())
		}
		attrs := []any{slog.String("provider", string(f.claim.Ref.Provider)), slog.String("host", f.claim.Ref.Host),
			slog.String("reference", f.claim.Ref.URL), slog.Any("items", items), slog.String("org", f.claim.Org),
			slog.Int("references", f.n), slog.String("error", provider.Detail(f.err)),
			slog.Bool("internal_address_refused", provider.Blocked(f.err))}
		if inst, err := h.Store.Installation(ctx, f.claim.Org); err == nil && inst != 0 {
			attrs = append(attrs, slog.Int64("installation", inst))
		}
		log.Warn("upstream check failed", attrs...)
	}
}
