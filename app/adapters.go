package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/dco"
	"github.com/SovereignCloudStack/contribot/app/labels"
	"github.com/SovereignCloudStack/contribot/app/rulesload"
	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/welcome"
	"github.com/SovereignCloudStack/contribot/rules"
)

// rulesAdapter gives the DCO feature its section of the effective rules.
type rulesAdapter struct{ l *rulesload.Loader }

func (a rulesAdapter) DCORules(ctx context.Context, c dco.Client, owner, repo string) (rules.DCO, dco.RulesReport, error) {
	loaded, err := a.l.Load(ctx, c, owner, repo)
	if err != nil {
		return rules.DCO{}, dco.RulesReport{}, err
	}
	return loaded.Rules.DCO, dco.RulesReport{Problems: messages(loaded.Problems), Warnings: messages(concerning(loaded.Warnings, "dco"))}, nil
}

// LabelRules gives the labels feature the whole effective rules (it reads
// modules and labels), the file that wrote labels.rules, and the warnings
// about those two sections.
func (a rulesAdapter) LabelRules(ctx context.Context, c labels.Client, owner, repo string) (*rules.Rules, string, []string, error) {
	loaded, err := a.l.Load(ctx, c, owner, repo)
	if err != nil {
		return nil, "", nil, err
	}
	return &loaded.Rules, loaded.Sources["labels.rules"].File, notApplied(loaded, "labels", "modules"), nil
}

// WelcomeRules gives the welcome feature the effective rules (it reads the
// welcome section and the modules), where they were written (to name the
// template of a greeting that cannot be posted), and the warnings about
// them.
func (a rulesAdapter) WelcomeRules(ctx context.Context, c welcome.Client, owner, repo string) (*rules.Result, []string, error) {
	loaded, err := a.l.Load(ctx, c, owner, repo)
	if err != nil {
		return nil, nil, err
	}
	return &loaded.Result, notApplied(loaded, "welcome"), nil
}

// notApplied lists what a feature should report of its rules: every file
// that was skipped, which matters to all features, and the warnings about
// the feature's own sections.
func notApplied(loaded *rulesload.Loaded, sections ...string) []string {
	return append(messages(loaded.Problems), messages(concerning(loaded.Warnings, sections...))...)
}

func concerning(es rules.Errors, sections ...string) rules.Errors {
	var out rules.Errors
	for _, e := range es {
		if e.Concerns(sections...) {
			out = append(out, e)
		}
	}
	return out
}

func messages(es rules.Errors) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

// dryRunClient stands in for GitHub when no App credentials are set: each
// call is logged with what it would have done, and fails with ErrDryRun so
// the feature stops there.
type dryRunClient struct {
	log          *slog.Logger
	installation int64
	// stop is the feature's ErrDryRun, which ends its handler quietly.
	stop error
}

func (d dryRunClient) would(action string) error {
	d.log.Info("dry-run: would "+action, slog.Int64("installation", d.installation))
	return fmt.Errorf("%s: %w", action, d.stop)
}

func (d dryRunClient) ListPRCommits(_ context.Context, owner, repo string, n int) ([]*github.RepositoryCommit, error) {
	return nil, d.would(fmt.Sprintf("list the commits of %s/%s#%d", owner, repo, n))
}

func (d dryRunClient) CompareCommits(_ context.Context, owner, repo, base, head string) ([]*github.RepositoryCommit, int, error) {
	return nil, 0, d.would(fmt.Sprintf("compare %s...%s in %s/%s", base, head, owner, repo))
}

func (d dryRunClient) GetPullRequest(_ context.Context, owner, repo string, n int) (*github.PullRequest, error) {
	return nil, d.would(fmt.Sprintf("read %s/%s#%d", owner, repo, n))
}

func (d dryRunClient) CreateCheckRun(_ context.Context, owner, repo string, o github.CreateCheckRunOptions) (*github.CheckRun, error) {
	return nil, d.would(fmt.Sprintf("post check run %s on %s/%s@%s: %s (%s)", o.Name, owner, repo, o.HeadSHA, o.GetConclusion(), o.GetOutput().GetTitle()))
}

func (d dryRunClient) UpdateCheckRun(_ context.Context, owner, repo string, id int64, o github.UpdateCheckRunOptions) (*github.CheckRun, error) {
	return nil, d.would(fmt.Sprintf("update check run %d in %s/%s: %s", id, owner, repo, o.GetConclusion()))
}

func (d dryRunClient) IsMember(_ context.Context, org, login string) (bool, error) {
	return false, d.would(fmt.Sprintf("check whether %s is a member of %s", login, org))
}

func (d dryRunClient) Permission(_ context.Context, owner, repo, login string) (string, error) {
	return "", d.would(fmt.Sprintf("read the permission of %s on %s/%s", login, owner, repo))
}

func (d dryRunClient) GetFile(_ context.Context, owner, repo, path string) ([]byte, bool, error) {
	// Reading rules is a prerequisite for everything else; in dry-run the
	// built-in rules apply, so the log shows the feature's next steps.
	d.log.Debug("dry-run: would read "+path+" from "+owner+"/"+repo+"; using the built-in rules", slog.Int64("installation", d.installation))
	return nil, false, nil
}

func (d dryRunClient) ListFiles(_ context.Context, owner, repo string, n int) ([]labels.File, error) {
	// No files: the log then shows what the repository's rules alone give.
	d.log.Info(fmt.Sprintf("dry-run: would list the files of %s/%s#%d; deciding without them", owner, repo, n), slog.Int64("installation", d.installation))
	return nil, nil
}

func (d dryRunClient) RepoLabels(_ context.Context, owner, repo string) ([]string, error) {
	return nil, d.would(fmt.Sprintf("list the labels of %s/%s", owner, repo))
}

func (d dryRunClient) CreateLabel(_ context.Context, owner, repo, name, color, _ string) (bool, error) {
	return false, d.would(fmt.Sprintf("create label %q (#%s) in %s/%s", name, color, owner, repo))
}

func (d dryRunClient) AddLabels(_ context.Context, owner, repo string, n int, names []string) error {
	return d.would(fmt.Sprintf("add labels %q to %s/%s#%d", names, owner, repo, n))
}

func (d dryRunClient) RemoveLabel(_ context.Context, owner, repo string, n int, name string) error {
	return d.would(fmt.Sprintf("remove label %q from %s/%s#%d", name, owner, repo, n))
}

func (d dryRunClient) SearchIssues(_ context.Context, query string) (int, []welcome.Item, error) {
	return 0, nil, d.would(fmt.Sprintf("search %q", query))
}

func (d dryRunClient) HasComment(_ context.Context, owner, repo string, n int, _, _ string) (bool, error) {
	return false, d.would(fmt.Sprintf("look for an earlier greeting on %s/%s#%d", owner, repo, n))
}

func (d dryRunClient) CreateComment(_ context.Context, owner, repo string, n int, body string) error {
	return d.would(fmt.Sprintf("comment on %s/%s#%d: %q", owner, repo, n, body))
}

// UpstreamRules gives the upstream tracker the effective rules (it reads
// the upstream section and the modules) and the warnings about them.
func (a rulesAdapter) UpstreamRules(ctx context.Context, c upstream.Client, owner, repo string) (*rules.Rules, []string, error) {
	loaded, err := a.l.Load(ctx, c, owner, repo)
	if err != nil {
		return nil, nil, err
	}
	return &loaded.Rules, notApplied(loaded, "upstream", "modules"), nil
}

func (d dryRunClient) Comments(_ context.Context, owner, repo string, n int) ([]*github.IssueComment, error) {
	return nil, d.would(fmt.Sprintf("list the comments of %s/%s#%d", owner, repo, n))
}

func (d dryRunClient) EditComment(_ context.Context, owner, repo string, id int64, body string) error {
	return d.would(fmt.Sprintf("edit comment %d in %s/%s: %q", id, owner, repo, body))
}

func (d dryRunClient) FindIssue(_ context.Context, owner, repo, creator, _ string) (int, error) {
	return 0, d.would(fmt.Sprintf("look for the open issue of %s in %s/%s", creator, owner, repo))
}

func (d dryRunClient) CreateIssue(_ context.Context, owner, repo, title, _ string) (int, error) {
	return 0, d.would(fmt.Sprintf("open issue %q in %s/%s", title, owner, repo))
}

func (d dryRunClient) Private(_ context.Context, owner, repo string) (bool, error) {
	return false, d.would(fmt.Sprintf("read whether %s/%s is private", owner, repo))
}

func (d dryRunClient) EditIssue(_ context.Context, owner, repo string, n int, _ string) error {
	return d.would(fmt.Sprintf("rewrite %s/%s#%d", owner, repo, n))
}

func (d dryRunClient) PostComment(_ context.Context, owner, repo string, n int, body string) (int64, error) {
	return 0, d.would(fmt.Sprintf("comment on %s/%s#%d: %q", owner, repo, n, body))
}

func (d dryRunClient) IssueLabels(_ context.Context, owner, repo string, n int) ([]string, error) {
	return nil, d.would(fmt.Sprintf("list the labels of %s/%s#%d", owner, repo, n))
}
