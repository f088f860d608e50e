// Package upstream tracks the org's contributions to upstream projects:
// issues and pull requests that carry the upstream label or "Upstream:
// <url>" lines name upstream items (GitHub, Gerrit, Launchpad, GitLab); a
// periodic poll reads their state, and contribot keeps a status comment on
// each tracking item, one dashboard issue per org, and the /upstream page.
package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
	"github.com/SovereignCloudStack/contribot/rules"
)

// Task names, also the queue's task names.
const (
	TaskSync      = "upstream-sync"      // key "owner/repo#n": the item's status comment and labels
	TaskDashboard = "upstream-dashboard" // key org: the org's dashboard issue
	TaskPoll      = "upstream-poll"      // key PollKey+"@…" (periodic), "now@…" or "new@…": check references that are due
	PollKey       = "all"
)

// SyncDelay gathers a burst of edits into one status-comment write.
const SyncDelay = 2 * time.Second

// RulesLoader gives a repository's effective rules and the warnings about
// the upstream section.
type RulesLoader interface {
	UpstreamRules(ctx context.Context, c Client, owner, repo string) (*rules.Rules, []string, error)
}

// Scheduler queues the tracker's own tasks.
type Scheduler interface {
	Schedule(ctx context.Context, task, key string, delay time.Duration) error
}

// Fetcher checks upstream references; provider.Set is the real one.
type Fetcher interface {
	Fetch(ctx context.Context, refs []link.Ref) map[string]provider.Result
}

// Handler runs the upstream feature: events, syncs, dashboards and polls.
type Handler struct {
	Client    func(installation int64) Client
	Rules     RulesLoader
	Store     *Store
	Queue     Scheduler
	Providers Fetcher
	Log       *slog.Logger
	Metrics   *Metrics
	// Self returns the App's own login ("contribot[bot]"), whose comments
	// are never read for references.
	Self func(ctx context.Context) (string, error)
	Now  func() time.Time
	// PollEvery is how often a reference is checked.
	PollEvery time.Duration
	// PageURL is the public /upstream page, linked from reports.
	PageURL string
	// DryRun: no App credentials, so polls are only logged.
	DryRun bool
	// LockTTL is the lease of one sync or dashboard rebuild: longer than a
	// task may run. Zero is the package's LockTTL.
	LockTTL time.Duration
	// Budget bounds each org's upstream reads per window, which is nine
	// tenths of PollEvery unless set; zero fields take the defaults.
	Budget Budget
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// event is what the handler needs of an issue, pull request or comment
// event.
type event struct {
	installation int64
	owner, repo  string
	item         Item
	body         string
	author       string
	// comment is set for issue_comment events.
	comment *github.IssueComment
	action  string
	// seen is the item's updated_at in the payload.
	seen time.Time
}

func (ev event) log(h *Handler, job queue.Job) *slog.Logger {
	return h.Log.With(slog.String("delivery", job.Delivery), slog.Int64("installation", ev.installation),
		slog.String("repo", ev.owner+"/"+ev.repo), slog.Int("number", ev.item.Number), slog.String("action", ev.action))
}

func labelNames(ls []*github.Label) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.GetName())
	}
	return out
}

func eventOf(payload any) (event, bool) {
	var ev event
	var repo *github.Repository
	switch p := payload.(type) {
	case *github.IssuesEvent:
		is := p.GetIssue()
		ev = event{installation: p.GetInstallation().GetID(), action: p.GetAction(), body: is.GetBody(), author: is.GetUser().GetLogin(), seen: is.GetUpdatedAt().Time}
		repo = p.GetRepo()
		ev.item = Item{Number: is.GetNumber(), PR: is.IsPullRequest(), Title: is.GetTitle(), URL: is.GetHTMLURL(),
			Author: is.GetUser().GetLogin(), Open: is.GetState() != "closed", Labels: labelNames(is.Labels)}
	case *github.PullRequestEvent:
		pr := p.GetPullRequest()
		ev = event{installation: p.GetInstallation().GetID(), action: p.GetAction(), body: pr.GetBody(), author: pr.GetUser().GetLogin(), seen: pr.GetUpdatedAt().Time}
		repo = p.GetRepo()
		ev.item = Item{Number: pr.GetNumber(), PR: true, Title: pr.GetTitle(), URL: pr.GetHTMLURL(),
			Author: pr.GetUser().GetLogin(), Open: pr.GetState() != "closed", Labels: labelNames(pr.Labels)}
	case *github.IssueCommentEvent:
		is := p.GetIssue()
		ev = event{installation: p.GetInstallation().GetID(), action: p.GetAction(), body: is.GetBody(), author: is.GetUser().GetLogin(), comment: p.GetComment()}
		repo = p.GetRepo()
		ev.item = Item{Number: is.GetNumber(), PR: is.IsPullRequest(), Title: is.GetTitle(), URL: is.GetHTMLURL(),
			Author: is.GetUser().GetLogin(), Open: is.GetState() != "closed", Labels: labelNames(is.Labels)}
	default:
		return event{}, false
	}
	ev.owner, ev.repo = repo.GetOwner().GetLogin(), repo.GetName()
	ev.item.Repo = ev.owner + "/" + ev.repo
	ev.item.Installation = ev.installation
	ev.item.Private = repo.GetPrivate()
	return ev, ev.item.Number != 0 && ev.owner != ""
}

// Maintainer reports whether an author association may add references
// in comments besides the item's author.
func Maintainer(association string) bool {
	switch association {
	case "OWNER", "MEMBER", "COLLABORATOR":
		return true
	}
	return false
}

// Handle re-reads an item's references after an issue, pull request or
// comment event.
func (h *Handler) Handle(ctx context.Context, job queue.Job, payload any) error {
	if re, ok := payload.(*github.RepositoryEvent); ok {
		return h.onRepository(ctx, job, re)
	}
	ev, ok := eventOf(payload)
	if !ok {
		return nil
	}
	log := ev.log(h, job)
	err := h.handle(ctx, log, ev)
	if errors.Is(err, ErrDryRun) {
		log.Info("dry-run: no GitHub call made", slog.String("would", err.Error()))
		return nil
	}
	return err
}

func (h *Handler) handle(ctx context.Context, log *slog.Logger, ev event) error {
	if ev.comment == nil && (ev.action == "deleted" || ev.action == "transferred") {
		// Gone from here: nothing left to comment on; the new copy of a
		// transferred issue arrives as its own "opened".
		gone, err := h.Store.Forget(ctx, ev.item.Repo, ev.item.Number)
		if err != nil || !gone {
			return err
		}
		log.Info("tracking item " + ev.action + "; forgotten")
		return h.Queue.Schedule(ctx, TaskDashboard, ev.item.Org()+"@"+ItemKey{ev.item.Repo, ev.item.Number}.String()+"@gone", SyncDelay)
	}
	changed, _, err := h.reparse(ctx, log, ev)
	if err != nil {
		return err
	}
	saved, err := h.Store.Item(ctx, ev.item.Repo, ev.item.Number)
	if err != nil || saved == nil {
		return err
	}
	// Also when nothing changed now: a retry of a job that recorded its
	// change and then failed to schedule finds the item not yet synced.
	if !changed && saved.Version <= saved.SyncedVersion {
		return nil
	}
	return h.scheduleAfterChange(ctx, saved)
}

// onRepository follows a repository that was deleted, or became private
// or public: its items leave the reports, or return to them as the
// rules allow.
func (h *Handler) onRepository(ctx context.Context, job queue.Job, re *github.RepositoryEvent) error {
	repo := re.GetRepo().GetFullName()
	owner := re.GetRepo().GetOwner().GetLogin()
	inst := re.GetInstallation().GetID()
	log := h.Log.With(slog.String("delivery", job.Delivery), slog.Int64("installation", inst),
		slog.String("repo", repo), slog.String("action", re.GetAction()))
	switch re.GetAction() {
	case "deleted":
		n, err := h.Store.ForgetRepo(ctx, repo)
		if err != nil || n == 0 {
			return err
		}
		log.Info("repository deleted; its tracking items follow", slog.Int64("items", n))
		return h.Queue.Schedule(ctx, TaskDashboard, owner+"@"+repo+"@"+job.Delivery, 0)
	case "privatized", "publicized":
		return h.repoVisibility(ctx, log, inst, repo, re.GetAction() == "privatized", re.GetAction(), job.Delivery)
	}
	return nil
}

// repoVisibility follows a repository made private or public (how says
// what told: the event's action, or the poll): what was read from it
// leaves the reports when it is private; its items leave them, or return
// as their rules allow; and their status comments and the dashboard are
// written again, since what they may show changed both ways. (A status
// comment rewritten keeps its old text in GitHub's edit history, visible
// to whoever can see the item.)
func (h *Handler) repoVisibility(ctx context.Context, log *slog.Logger, inst int64, repo string, private bool, how, cause string) error {
	owner, name, _ := strings.Cut(repo, "/")
	if private {
		if err := h.hideReadsOf(ctx, log, repo, cause); err != nil {
			return err
		}
	}
	listed := !private
	if private {
		r, _, err := h.Rules.UpstreamRules(ctx, h.Client(inst), owner, name)
		if err != nil {
			return fmt.Errorf("load rules of %s: %w", repo, err)
		}
		listed = r.Upstream.ShowPrivate
	}
	items, err := h.Store.SetRepoVisibility(ctx, repo, private, listed)
	if err != nil || len(items) == 0 {
		return err
	}
	log.Info("repository "+how+"; its tracking items follow", slog.Int("items", len(items)))
	for _, k := range items {
		if err := h.Queue.Schedule(ctx, TaskSync, syncKey(k.ItemKey, k.Version), 0); err != nil {
			return err
		}
	}
	return h.Queue.Schedule(ctx, TaskDashboard, owner+"@"+repo+"@"+cause, 0)
}

// hideReadsOf takes what was read from a repository made private off the
// reports and public items' comments at once, for every org that tracks
// something in it; the next poll reads it again with each org's own
// installation.
func (h *Handler) hideReadsOf(ctx context.Context, log *slog.Logger, repo, delivery string) error {
	items, err := h.Store.HideReadsOf(ctx, repo)
	if err != nil || len(items) == 0 {
		return err
	}
	log.Info("repository privatized; what was read from it leaves the public reports", slog.Int("tracking_items", len(items)))
	orgs := map[string]bool{}
	for _, k := range items {
		it, err := h.Store.Item(ctx, k.Repo, k.Number)
		if err != nil || it == nil {
			return err
		}
		if err := h.Queue.Schedule(ctx, TaskSync, syncKey(k, it.Version), 0); err != nil {
			return err
		}
		orgs[it.Org()] = true
	}
	for org := range orgs {
		if err := h.Queue.Schedule(ctx, TaskDashboard, org+"@"+repo+"@"+delivery+"@reads", 0); err != nil {
			return err
		}
	}
	return nil
}

// reparse records what an item tracks now; tracked says whether it tracks
// anything, changed whether its status comment or the reports may change.
func (h *Handler) reparse(ctx context.Context, log *slog.Logger, ev event) (changed, tracked bool, err error) {
	c := h.Client(ev.installation)
	r, warnings, err := h.Rules.UpstreamRules(ctx, c, ev.owner, ev.repo)
	if err != nil {
		return false, false, fmt.Errorf("load rules of %s: %w", ev.item.Repo, err)
	}
	u := r.Upstream
	if !u.Enabled {
		log.Debug("upstream tracking is off in the rules")
		return false, false, nil
	}
	for _, msg := range warnings {
		log.Warn("rules setting not applied", slog.String("warning", msg))
	}
	if report.StartsWithMarker(ev.body, report.DashboardMarker) {
		return false, false, nil // the dashboard lists every reference; it tracks nothing itself
	}
	ev.item.Modules = ModulesOf(r, ev.item.Repo, ev.item.Labels)
	if ev.item.Listed, ev.item.ShowPrivate, err = h.view(ctx, c, ev.owner, ev.item.Private, u); err != nil {
		return false, false, err
	}
	opts := LinkOptions(u, ev.owner)
	if ev.comment != nil {
		return h.onComment(ctx, log, ev, u, opts)
	}
	return h.onItem(ctx, log, c, ev, u, opts)
}

// view is where an item of a repository with effective upstream rules u
// may show on the reports. listed: the item itself, when its repository is
// public or its rules (the repository's own included) say show_private,
// since the repository's maintainers may show what they can read there.
// showReads: what the org's installation read for it from private
// repositories, only when the org's own rules (its .github repository) say
// show_private and the repository's do not turn it off: that is the org's
// private data, from repositories the item's maintainers may not read.
func (h *Handler) view(ctx context.Context, c Client, owner string, private bool, u rules.Upstream) (listed, showReads bool, err error) {
	listed = !private || u.ShowPrivate
	if !u.ShowPrivate {
		return listed, false, nil
	}
	org, _, err := h.Rules.UpstreamRules(ctx, c, owner, ".github")
	if err != nil {
		return false, false, fmt.Errorf("load rules of %s: %w", owner, err)
	}
	return listed, org.Upstream.ShowPrivate, nil
}

// onItem re-reads the item's body and labels.
func (h *Handler) onItem(ctx context.Context, log *slog.Logger, c Client, ev event, u rules.Upstream, opts link.Options) (changed, tracked bool, err error) {
	parsed := link.Parse(ev.body, opts)
	labelled := u.Label != "" && slices.ContainsFunc(ev.item.Labels, func(l string) bool { return strings.EqualFold(l, u.Label) })
	if !labelled && !parsed.HasUpstreamLines {
		untracked, err := h.Store.Apply(ctx, Change{Item: ev.item, Untrack: true, Seen: ev.seen})
		if untracked {
			log.Info("no longer tracked: no upstream label and no Upstream: lines")
		}
		return untracked, false, err
	}
	// Only a tracking candidate costs the App's login (once per process).
	self, err := h.self(ctx)
	if err != nil {
		return false, true, err
	}
	if self != "" && ev.author == self {
		return false, false, nil // contribot's own issues track nothing
	}
	before, err := h.Store.Item(ctx, ev.item.Repo, ev.item.Number)
	if err != nil {
		return false, true, err
	}
	var comments []*github.IssueComment
	readComments := u.Comments && (before == nil || !before.Tracked)
	if readComments {
		// Newly tracked: the comments so far are read once, before
		// anything is recorded, so that a failed read is retried; later
		// comments arrive as events.
		if comments, err = c.Comments(ctx, ev.owner, ev.repo, ev.item.Number); err != nil {
			return false, true, err
		}
	}
	changed, err = h.Store.Apply(ctx, Change{Item: ev.item, Source: SourceBody, Refs: refsOf(parsed), Seen: ev.seen})
	if err != nil {
		return false, true, err
	}
	if readComments {
		more, err := h.recordComments(ctx, ev, comments, opts, self)
		if err != nil {
			return false, true, err
		}
		changed = changed || more
	}
	if changed {
		log.Info("upstream references updated", slog.Int("references", len(parsed.Refs)), slog.Bool("labelled", labelled))
	}
	return changed, true, nil
}

func (h *Handler) recordComments(ctx context.Context, ev event, comments []*github.IssueComment, opts link.Options, self string) (bool, error) {
	changed := false
	// Whether a status comment exists is known now: the first sync need
	// not list the comments again to find it.
	status := int64(NoComment)
	for _, cm := range comments {
		if isStatusComment(cm, self) {
			status = cm.GetID()
			continue
		}
		if !countsComment(cm, ev.item.Author, self) {
			continue
		}
		more, err := h.Store.Apply(ctx, Change{Item: ev.item, Source: commentSource(cm.GetID()), Refs: commentRefs(cm.GetBody(), opts), IfTracked: true})
		if err != nil {
			return false, err
		}
		changed = changed || more
	}
	return changed, h.Store.SetComment(ctx, ev.item.Repo, ev.item.Number, status)
}

// NoComment as a stored comment id says the item is known to have no
// status comment; 0 says unknown.
const NoComment = -1

// isStatusComment: contribot's own status comment, by the marker it starts
// with and, when known, its author (anyone can paste a marker, and a title
// contribot quotes elsewhere, such as in a greeting, can carry one).
func isStatusComment(cm *github.IssueComment, self string) bool {
	return report.StartsWithMarker(cm.GetBody(), report.CommentMarker) && (self == "" || cm.GetUser().GetLogin() == self)
}

// countsComment: references come from the item's author and maintainers,
// never from contribot's own status comment.
func countsComment(cm *github.IssueComment, itemAuthor, self string) bool {
	login := cm.GetUser().GetLogin()
	if login == "" || (self != "" && login == self) || strings.Contains(cm.GetBody(), report.CommentMarker) {
		return false
	}
	return login == itemAuthor || Maintainer(cm.GetAuthorAssociation())
}

// onComment re-reads one comment of an item that is already tracked.
func (h *Handler) onComment(ctx context.Context, log *slog.Logger, ev event, u rules.Upstream, opts link.Options) (changed, tracked bool, err error) {
	if !u.Comments {
		return false, false, nil
	}
	saved, err := h.Store.Item(ctx, ev.item.Repo, ev.item.Number)
	if err != nil || saved == nil || !saved.Tracked {
		return false, false, err
	}
	self, err := h.self(ctx)
	if err != nil {
		return false, true, err
	}
	var refs []link.Ref
	if ev.action != "deleted" && countsComment(ev.comment, ev.item.Author, self) {
		refs = commentRefs(ev.comment.GetBody(), opts)
	}
	changed, err = h.Store.Apply(ctx, Change{Item: ev.item, Source: commentSource(ev.comment.GetID()), Refs: refs, IfTracked: true})
	if changed {
		log.Info("upstream references in a comment updated", slog.Int64("comment", ev.comment.GetID()), slog.Int("references", len(refs)))
	}
	return changed, true, err
}

// Sources of references on an item.
const SourceBody = "body"

func commentSource(id int64) string { return "comment:" + strconv.FormatInt(id, 10) }

func refsOf(p link.Parsed) []link.Ref {
	out := make([]link.Ref, 0, len(p.Refs))
	for _, f := range p.Refs {
		out = append(out, f.Ref)
	}
	return out
}

// commentRefs are the references a comment adds: only those on
// "Upstream:" lines, since comments discuss many links that are not the
// item's upstream work.
func commentRefs(body string, opts link.Options) []link.Ref {
	var out []link.Ref
	for _, f := range link.Parse(body, opts).Refs {
		if f.UpstreamLine {
			out = append(out, f.Ref)
		}
	}
	return out
}

// scheduleAfterChange: the status comment; then either a poll for
// references never checked, which rebuilds the dashboard once their state
// is known (one dashboard write, not a placeholder and an edit), or, when
// all are known, the dashboard at once.
func (h *Handler) scheduleAfterChange(ctx context.Context, it *Saved) error {
	key := syncKey(ItemKey{it.Repo, it.Number}, it.Version)
	if err := h.Queue.Schedule(ctx, TaskSync, key, SyncDelay); err != nil {
		return err
	}
	refs, err := h.Store.ItemReferences(ctx, it.Repo, it.Number)
	if err != nil {
		return err
	}
	if awaitingCheck(refs) {
		// Its own key: the periodic poll may be running for minutes.
		return h.Queue.Schedule(ctx, TaskPoll, "new@"+key, SyncDelay)
	}
	return h.Queue.Schedule(ctx, TaskDashboard, it.Org()+"@"+key, SyncDelay)
}

// LinkOptions are the parser's options under an org's rules.
func LinkOptions(u rules.Upstream, org string) link.Options {
	return link.Options{Org: org, GerritHosts: u.Gerrit, GitLabHosts: u.GitLab}
}

// ModulesOf are an item's modules: those whose labels it carries, else
// those its repository belongs to.
func ModulesOf(r *rules.Rules, repo string, labels []string) []string {
	var out []string
	for name, m := range r.Modules {
		if slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, m.LabelOf(name)) }) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		for _, rule := range r.Labels.Rules {
			if rule.RepoOnly() && rule.MatchesRepo(repo) {
				out = append(out, rule.Modules...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (h *Handler) self(ctx context.Context) (string, error) {
	if h.Self == nil {
		return "", nil
	}
	s, err := h.Self(ctx)
	if err != nil {
		return "", fmt.Errorf("learn the App's own login: %w", err)
	}
	return s, nil
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// DefaultStaleAfter marks staleness on the public page, which spans orgs
// with their own rules; each org's dashboard and comments use its rules.
const DefaultStaleAfter = 60 * 24 * time.Hour
