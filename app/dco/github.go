package dco

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/rulesload"
)

// Client is everything the DCO handler asks of GitHub. It is narrow on
// purpose: tests count these calls, and the real implementation below is the
// only place that knows go-github.
type Client interface {
	ListPRCommits(ctx context.Context, owner, repo string, number int) ([]*github.RepositoryCommit, error)
	CompareCommits(ctx context.Context, owner, repo, base, head string) (commits []*github.RepositoryCommit, total int, err error)
	GetPullRequest(ctx context.Context, owner, repo string, number int) (*github.PullRequest, error)
	CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, error)
	UpdateCheckRun(ctx context.Context, owner, repo string, id int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, error)
	IsMember(ctx context.Context, org, login string) (bool, error)
	Permission(ctx context.Context, owner, repo, login string) (string, error)
	GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error)
}

// PRCommitsLimit is where GitHub's list-PR-commits endpoint stops.
const PRCommitsLimit = 250

// GitHub implements Client with go-github.
type GitHub struct{ C *github.Client }

// ListPRCommits reads all pages (at most PRCommitsLimit commits).
func (g GitHub) ListPRCommits(ctx context.Context, owner, repo string, number int) ([]*github.RepositoryCommit, error) {
	var all []*github.RepositoryCommit
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := g.C.PullRequests.ListCommits(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list commits of %s/%s#%d: %w", owner, repo, number, err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// CompareCommits pages through base...head, which unlike the PR endpoint is
// not capped at 250 commits.
func (g GitHub) CompareCommits(ctx context.Context, owner, repo, base, head string) ([]*github.RepositoryCommit, int, error) {
	var all []*github.RepositoryCommit
	total := 0
	opts := &github.ListOptions{PerPage: 100}
	for {
		cmp, resp, err := g.C.Repositories.CompareCommits(ctx, owner, repo, base, head, opts)
		if err != nil {
			return nil, 0, fmt.Errorf("compare %s...%s in %s/%s: %w", short(base), short(head), owner, repo, err)
		}
		total = cmp.GetTotalCommits()
		all = append(all, cmp.Commits...)
		if resp.NextPage == 0 || len(cmp.Commits) == 0 {
			return all, total, nil
		}
		opts.Page = resp.NextPage
	}
}

// GetPullRequest reads one pull request.
func (g GitHub) GetPullRequest(ctx context.Context, owner, repo string, number int) (*github.PullRequest, error) {
	pr, _, err := g.C.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s#%d: %w", owner, repo, number, err)
	}
	return pr, nil
}

// CreateCheckRun posts one check run.
func (g GitHub) CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, error) {
	cr, _, err := g.C.Checks.CreateCheckRun(ctx, owner, repo, opts)
	if err != nil {
		return nil, fmt.Errorf("create check run %s on %s/%s@%s: %w", opts.Name, owner, repo, short(opts.HeadSHA), err)
	}
	return cr, nil
}

// UpdateCheckRun edits an existing check run.
func (g GitHub) UpdateCheckRun(ctx context.Context, owner, repo string, id int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, error) {
	cr, _, err := g.C.Checks.UpdateCheckRun(ctx, owner, repo, id, opts)
	if err != nil {
		return nil, fmt.Errorf("update check run %d in %s/%s: %w", id, owner, repo, err)
	}
	return cr, nil
}

// IsMember asks whether login is a member of org.
func (g GitHub) IsMember(ctx context.Context, org, login string) (bool, error) {
	ok, _, err := g.C.Organizations.IsMember(ctx, org, login)
	if err != nil {
		return false, fmt.Errorf("check membership of %s in %s: %w", login, org, err)
	}
	return ok, nil
}

// Permission returns login's permission on the repository: admin, maintain,
// write, triage, read or none.
func (g GitHub) Permission(ctx context.Context, owner, repo, login string) (string, error) {
	p, _, err := g.C.Repositories.GetPermissionLevel(ctx, owner, repo, login)
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return "none", nil
		}
		return "", fmt.Errorf("get permission of %s on %s/%s: %w", login, owner, repo, err)
	}
	return p.GetPermission(), nil
}

// GetFile reads a file from the default branch; found is false on 404.
func (g GitHub) GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error) {
	return rulesload.GitHubFile(ctx, g.C, owner, repo, path)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
