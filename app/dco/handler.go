package dco

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/markdown"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/rules"
)

// CheckName is the check run's name; SCS branch protection requires it.
const CheckName = "DCO"

// OverrideAction is the identifier of the "Set DCO to pass" button.
const OverrideAction = "override"

// RulesLoader gives the DCO section of a repository's effective rules and
// what was found loading them (file:line:column), which the check run
// shows. err is only for failing to read the rules at all.
type RulesLoader interface {
	DCORules(ctx context.Context, c Client, owner, repo string) (rules.DCO, RulesReport, error)
}

// RulesReport tells files that were skipped (Problems) from settings that
// were read but not applied, such as a change to a locked section
// (Warnings): the check run words them differently.
type RulesReport struct {
	Problems, Warnings []string
}

// Handler runs the DCO feature for one delivery.
type Handler struct {
	// Client returns the GitHub client of an installation.
	Client func(installation int64) Client
	Rules  RulesLoader
	Log    *slog.Logger
	Now    func() time.Time
	// Describe turns a GitHub error into check-run text naming the HTTP
	// status and request ID (githubapp.Describe).
	Describe func(error) string
	// RateLimited tells a rate-limit error, which the queue snoozes, from a
	// failure worth reporting on the check run.
	RateLimited func(error) bool

	members sync.Map // org/login → memberEntry
	stores  atomic.Int64
}

type memberEntry struct {
	member bool
	until  time.Time
}

// ErrDryRun is returned by a dry-run client in place of every GitHub call.
var ErrDryRun = errors.New("dry-run: no GitHub App credentials")

// target is one thing to check: a PR head or a merge group head.
type target struct {
	installation int64
	owner, repo  string
	number       int    // 0 for a merge group
	headSHA      string // the check run goes here
	headRef      string
	baseSHA      string
	baseRef      string
	commits      int // expected count; 0 when unknown
	mergeGroup   bool
	recheck      string // the rules' recheck command, once known
}

// prTarget is the target of a pull request as GitHub describes it; check
// run payloads carry only part of it, so their fields may be empty.
func prTarget(inst int64, repo *github.Repository, pr *github.PullRequest) target {
	return target{installation: inst, owner: repo.GetOwner().GetLogin(), repo: repo.GetName(),
		number: pr.GetNumber(), headSHA: pr.GetHead().GetSHA(), headRef: pr.GetHead().GetRef(),
		baseSHA: pr.GetBase().GetSHA(), baseRef: pr.GetBase().GetRef(), commits: pr.GetCommits()}
}

func (t target) String() string {
	if t.mergeGroup {
		return fmt.Sprintf("%s/%s merge group %s", t.owner, t.repo, short(t.headSHA))
	}
	return fmt.Sprintf("%s/%s#%d", t.owner, t.repo, t.number)
}

// Handle decides what the event asks for and does it.
func (h *Handler) Handle(ctx context.Context, job queue.Job, event any) error {
	log := h.Log.With(slog.String("delivery", job.Delivery), slog.String("event", job.Event))
	switch ev := event.(type) {
	case *github.PullRequestEvent:
		return h.check(ctx, log, job, prTarget(ev.GetInstallation().GetID(), ev.GetRepo(), ev.GetPullRequest()))
	case *github.MergeGroupEvent:
		mg := ev.GetMergeGroup()
		t := target{
			installation: ev.GetInstallation().GetID(),
			owner:        ev.GetRepo().GetOwner().GetLogin(), repo: ev.GetRepo().GetName(),
			headSHA: mg.GetHeadSHA(), baseSHA: mg.GetBaseSHA(),
			baseRef: strings.TrimPrefix(mg.GetBaseRef(), "refs/heads/"), mergeGroup: true,
		}
		return h.check(ctx, log, job, t)
	case *github.CheckRunEvent:
		if ev.GetAction() == "requested_action" {
			return h.override(ctx, log, ev)
		}
		run := ev.GetCheckRun()
		return h.recheckRun(ctx, log, job, ev.GetInstallation().GetID(), ev.GetRepo(), run.PullRequests, run.GetHeadSHA(), run.GetCheckSuite().GetHeadBranch())
	case *github.CheckSuiteEvent:
		suite := ev.GetCheckSuite()
		return h.recheckRun(ctx, log, job, ev.GetInstallation().GetID(), ev.GetRepo(), suite.PullRequests, suite.GetHeadSHA(), suite.GetHeadBranch())
	case *github.IssueCommentEvent:
		if !ev.GetIssue().IsPullRequest() {
			return nil
		}
		return h.recheckComment(ctx, log, job, ev.GetInstallation().GetID(), ev.GetRepo(), ev.GetIssue().GetNumber(), ev.GetComment().GetBody())
	case *github.PullRequestReviewEvent:
		return h.recheckReview(ctx, log, job, ev)
	}
	return nil
}

// recheckRun answers the check run's (or suite's) "Re-run" button.
func (h *Handler) recheckRun(ctx context.Context, log *slog.Logger, job queue.Job, inst int64, repo *github.Repository, prs []*github.PullRequest, headSHA, headBranch string) error {
	owner, name := repo.GetOwner().GetLogin(), repo.GetName()
	for _, pr := range prs {
		// A check run lists every PR of its head SHA, including PRs in forks'
		// base repositories; only this repository's PR is ours to check.
		if pr.GetBase().GetRepo().GetID() != 0 && pr.GetBase().GetRepo().GetID() != repo.GetID() {
			continue
		}
		if head := pr.GetHead().GetSHA(); head != "" && head != headSHA {
			log.Info("re-run of a check on a commit the pull request has moved past; its current head is checked on its own push",
				slog.String("repo", owner+"/"+name), slog.Int("pr", pr.GetNumber()), slog.String("sha", short(headSHA)), slog.String("head", short(head)))
			return nil
		}
		t := prTarget(inst, repo, pr)
		t.headSHA = headSHA
		return h.check(ctx, log, job, t)
	}
	if baseRef, baseSHA, ok := MergeQueueBranch(headBranch); ok {
		// A merge group's check has no pull request; its branch names the
		// base it was built on.
		t := target{installation: inst, owner: owner, repo: name, headSHA: headSHA,
			baseSHA: baseSHA, baseRef: baseRef, mergeGroup: true}
		return h.check(ctx, log, job, t)
	}
	log.Info("re-run requested for a head with no pull request in this repository; nothing to check", slog.String("repo", owner+"/"+name), slog.String("sha", headSHA))
	return nil
}

// MergeQueueBranch reads GitHub's merge-queue branch name,
// gh-readonly-queue/<base branch>/pr-<number>-<base SHA>.
func MergeQueueBranch(branch string) (baseRef, baseSHA string, ok bool) {
	rest, found := strings.CutPrefix(branch, "gh-readonly-queue/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/pr-")
	if i <= 0 {
		return "", "", false
	}
	baseRef, last := rest[:i], rest[i+len("/pr-"):]
	j := strings.LastIndex(last, "-")
	if j < 0 {
		return "", "", false
	}
	baseSHA = last[j+1:]
	if len(baseSHA) != 40 || strings.Trim(baseSHA, "0123456789abcdef") != "" {
		return "", "", false
	}
	return baseRef, baseSHA, true
}

// recheckComment answers a "/dco recheck" line in a comment. An issue
// comment does not carry the pull request's head, so it is read.
func (h *Handler) recheckComment(ctx context.Context, log *slog.Logger, job queue.Job, inst int64, repo *github.Repository, number int, body string) error {
	c := h.Client(inst)
	if ok, err := h.asksRecheck(ctx, c, repo, body); !ok || err != nil {
		return err
	}
	pr, err := c.GetPullRequest(ctx, repo.GetOwner().GetLogin(), repo.GetName(), number)
	if err != nil {
		return h.dryRunOr(log, err)
	}
	return h.check(ctx, log, job, prTarget(inst, repo, pr))
}

// asksRecheck tells whether a comment or review holds the rules' recheck
// command on a line of its own.
func (h *Handler) asksRecheck(ctx context.Context, c Client, repo *github.Repository, body string) (bool, error) {
	cfg, _, err := h.Rules.DCORules(ctx, c, repo.GetOwner().GetLogin(), repo.GetName())
	if err != nil {
		return false, err
	}
	return HasCommand(body, cfg.RecheckCommand), nil
}

// recheckReview answers the recheck command in a review. The review's
// payload carries the pull request's head, so unlike a comment it needs no
// extra read.
func (h *Handler) recheckReview(ctx context.Context, log *slog.Logger, job queue.Job, ev *github.PullRequestReviewEvent) error {
	inst := ev.GetInstallation().GetID()
	if ok, err := h.asksRecheck(ctx, h.Client(inst), ev.GetRepo(), ev.GetReview().GetBody()); !ok || err != nil {
		return err
	}
	return h.check(ctx, log, job, prTarget(inst, ev.GetRepo(), ev.GetPullRequest()))
}

// HasCommand reports whether a comment has the command on a line of its own.
func HasCommand(body, command string) bool {
	if command == "" {
		return false
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.EqualFold(strings.TrimSpace(line), command) {
			return true
		}
	}
	return false
}

// check evaluates a target and posts the DCO check run.
func (h *Handler) check(ctx context.Context, log *slog.Logger, job queue.Job, t target) error {
	log = log.With(slog.Int64("installation", t.installation), slog.String("repo", t.owner+"/"+t.repo),
		slog.Int("pr", t.number), slog.String("sha", short(t.headSHA)))
	c := h.Client(t.installation)
	cfg, report, err := h.Rules.DCORules(ctx, c, t.owner, t.repo)
	if err != nil {
		return h.failed(ctx, log, job, c, t, "read the rules", err)
	}
	// The check run shows these too; the log is where an operator sees
	// every repository's at once. Messages about files of other
	// repositories hold no text of them (rules.ParseRedacted).
	for _, p := range report.Problems {
		log.Warn("rules file skipped", slog.String("problem", p))
	}
	t.recheck = cfg.RecheckCommand
	if !cfg.Enabled {
		return h.post(ctx, log, c, t, github.CreateCheckRunOptions{
			Conclusion: github.String("neutral"),
			Output: &github.CheckRunOutput{
				Title:   github.String("DCO check disabled by rules"),
				Summary: github.String("`dco.enabled` is false in this repository's contribot rules, so commits are not checked for a sign-off."),
			},
		})
	}

	raw, incomplete, err := h.commits(ctx, c, &t)
	if err != nil {
		return h.failed(ctx, log, job, c, t, "list the commits", err)
	}
	if listed := staleHead(raw, t); listed != "" {
		// The PR's list is of another head: GitHub has not caught up with
		// the push yet, or a newer push replaced this head. A verdict on it
		// would judge the wrong commits.
		if job.Attempt < 2 {
			return fmt.Errorf("commit list of %s ends at %s, not the pushed head %s; retrying", t, short(listed), short(t.headSHA))
		}
		log.Info("head replaced by a newer push; its own delivery is checked instead", slog.String("listed_head", short(listed)))
		return nil
	}
	commits := FromGitHub(raw)
	members := map[string]bool{}
	if !cfg.Require.Members {
		for _, login := range MembershipNeeded(commits, cfg) {
			ok, err := h.isMember(ctx, c, t.owner, login)
			if err != nil {
				return h.failed(ctx, log, job, c, t, "check org membership", err)
			}
			members[login] = ok
		}
	}
	res := Evaluate(Input{Commits: commits, Config: cfg, Members: members, Expected: t.commits, Incomplete: incomplete})
	out := Render(res, RenderContext{
		Owner: t.owner, Repo: t.repo, Number: t.number, BaseRef: t.baseRef, BaseSHA: t.baseSHA,
		HeadSHA: t.headSHA, HeadRef: t.headRef, MergeGroup: t.mergeGroup, Remediation: cfg.Remediation, Problems: report.Problems, Warnings: report.Warnings,
		RecheckCommand: cfg.RecheckCommand, Override: cfg.Override,
	})
	opts := github.CreateCheckRunOptions{
		Conclusion: github.String(res.Conclusion),
		Output:     &github.CheckRunOutput{Title: github.String(out.Title), Summary: github.String(out.Summary), Text: github.String(out.Text)},
	}
	if res.Conclusion != "success" && cfg.Override && !t.mergeGroup {
		opts.Actions = []*github.CheckRunAction{{
			Label:       "Set DCO to pass",
			Description: "Maintainers: accept as is", // GitHub caps this at 40 characters
			Identifier:  OverrideAction,
		}}
	}
	log.Info("DCO evaluated", slog.String("conclusion", res.Conclusion), slog.Int("commits", len(commits)), slog.Int("failing", res.Failed()))
	return h.post(ctx, log, c, t, opts)
}

// staleHead returns the head of a pull request's commit list when it is
// not the head being checked. Compare lists are asked for by SHA and are
// never stale.
func staleHead(list []*github.RepositoryCommit, t target) string {
	if t.mergeGroup || t.commits > PRCommitsLimit || len(list) == 0 {
		return ""
	}
	if last := list[len(list)-1].GetSHA(); last != t.headSHA {
		return last
	}
	return ""
}

// commits gathers the commits to check. The PR endpoint stops at 250, so a
// larger PR is read through compare, which pages without a cap. incomplete
// explains why the list may be short, and makes the check fail closed.
func (h *Handler) commits(ctx context.Context, c Client, t *target) (_ []*github.RepositoryCommit, incomplete string, _ error) {
	if t.mergeGroup || t.commits > PRCommitsLimit {
		list, total, err := c.CompareCommits(ctx, t.owner, t.repo, t.baseSHA, t.headSHA)
		if err != nil {
			return nil, "", err
		}
		if t.commits == 0 {
			t.commits = total
		}
		if len(list) < total {
			incomplete = fmt.Sprintf("GitHub listed %d of the %d commits between %s and %s", len(list), total, short(t.baseSHA), short(t.headSHA))
		}
		return list, incomplete, nil
	}
	list, err := c.ListPRCommits(ctx, t.owner, t.repo, t.number)
	if err != nil {
		return nil, "", err
	}
	if t.commits == 0 && len(list) >= PRCommitsLimit {
		// A re-run from the check run does not say how many commits the PR
		// has; at the cap, ask, then read the full list.
		pr, err := c.GetPullRequest(ctx, t.owner, t.repo, t.number)
		if err != nil {
			return nil, "", err
		}
		t.commits, t.baseSHA = pr.GetCommits(), pr.GetBase().GetSHA()
		if t.commits > PRCommitsLimit {
			return h.commits(ctx, c, t)
		}
	}
	if t.commits == 0 {
		t.commits = len(list)
	}
	return list, "", nil
}

func (h *Handler) isMember(ctx context.Context, c Client, org, login string) (bool, error) {
	key := org + "/" + login
	now := h.now()
	if v, ok := h.members.Load(key); ok && now.Before(v.(memberEntry).until) {
		return v.(memberEntry).member, nil
	}
	ok, err := c.IsMember(ctx, org, login)
	if err != nil {
		return false, err
	}
	h.members.Store(key, memberEntry{member: ok, until: now.Add(10 * time.Minute)})
	if h.stores.Add(1)%1024 == 0 {
		// Drop expired entries now and then, so the cache holds only the
		// authors of the last few minutes.
		h.members.Range(func(k, v any) bool {
			if now.After(v.(memberEntry).until) {
				h.members.Delete(k)
			}
			return true
		})
	}
	return ok, nil
}

func (h *Handler) post(ctx context.Context, log *slog.Logger, c Client, t target, opts github.CreateCheckRunOptions) error {
	opts.Name = CheckName
	opts.HeadSHA = t.headSHA
	opts.Status = github.String("completed")
	opts.CompletedAt = &github.Timestamp{Time: h.now()}
	if _, err := c.CreateCheckRun(ctx, t.owner, t.repo, opts); err != nil {
		return h.dryRunOr(log, err)
	}
	return nil
}

// failed reports a GitHub failure. The job is retried either way. On the
// second attempt, and again on the last, the contributor also sees a failing
// DCO check naming the HTTP status and request ID, rather than a check that
// never arrives; never a pass. A rate limit is waited out silently: writing
// while limited is what GitHub punishes.
func (h *Handler) failed(ctx context.Context, log *slog.Logger, job queue.Job, c Client, t target, what string, err error) error {
	if errors.Is(err, ErrDryRun) {
		return h.dryRunOr(log, err)
	}
	wrapped := fmt.Errorf("%s for %s: %w", what, t, err)
	if h.RateLimited != nil && h.RateLimited(err) {
		return wrapped
	}
	last := job.Attempt >= job.MaxAttempts
	if job.Attempt != 2 && !last {
		return wrapped
	}
	describe := err.Error()
	if h.Describe != nil {
		describe = h.Describe(err)
	}
	retry := "contribot retries automatically"
	if last {
		retry = "contribot has stopped retrying"
	}
	recheck := t.recheck
	if recheck == "" {
		recheck = defaultRecheck
	}
	perr := h.post(ctx, log, c, t, github.CreateCheckRunOptions{
		Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{
			Title: github.String("DCO could not be checked: GitHub API error"),
			// The error text quotes what GitHub answered, and the recheck
			// command comes from the rules: neither may format or mention.
			Summary: github.String(fmt.Sprintf("contribot could not %s: %s.\n\n%s (attempt %d of %d). To try again now, comment %s on the pull request.", what, markdown.Text(describe), retry, job.Attempt, job.MaxAttempts, markdown.Code(recheck))),
		},
	})
	if perr != nil {
		log.Warn("could not post the error check run either", slog.String("error", perr.Error()))
	}
	return wrapped
}

// defaultRecheck is used in messages when the rules could not be read.
const defaultRecheck = "/dco recheck"

func (h *Handler) dryRunOr(log *slog.Logger, err error) error {
	if errors.Is(err, ErrDryRun) {
		log.Info("dry-run: no GitHub call made; with App credentials contribot would make this call, evaluate the commits and post the DCO check run", slog.String("would", err.Error()))
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
