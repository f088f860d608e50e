package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/rulesload"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// Client is the narrow GitHub interface the tracker writes through.
type Client interface {
	// Comments lists an item's comments, all pages.
	Comments(ctx context.Context, owner, repo string, number int) ([]*github.IssueComment, error)
	PostComment(ctx context.Context, owner, repo string, number int, body string) (int64, error)
	// EditComment returns ErrGone when the comment was deleted.
	EditComment(ctx context.Context, owner, repo string, id int64, body string) error
	AddLabels(ctx context.Context, owner, repo string, number int, names []string) error
	RemoveLabel(ctx context.Context, owner, repo string, number int, name string) error
	// FindIssue finds an open issue created by creator whose body holds
	// marker, all pages; 0 if none.
	FindIssue(ctx context.Context, owner, repo, creator, marker string) (int, error)
	CreateIssue(ctx context.Context, owner, repo, title, body string) (int, error)
	// EditIssue returns ErrGone when the issue was deleted or moved.
	EditIssue(ctx context.Context, owner, repo string, number int, body string) error
	GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error)
	// Private tells whether a repository is anything but public; ErrGone
	// when the installation cannot see it.
	Private(ctx context.Context, owner, repo string) (bool, error)
}

// ErrGone is a comment or issue that no longer exists where it was.
var ErrGone = errors.New("gone")

// ErrDryRun is returned by a dry-run client in place of every GitHub call.
var ErrDryRun = errors.New("dry-run: no GitHub App credentials")

// GitHub implements Client with go-github.
type GitHub struct{ C *github.Client }

func gone(err error) bool {
	var e *github.ErrorResponse
	return errors.As(err, &e) && e.Response != nil && (e.Response.StatusCode == http.StatusNotFound || e.Response.StatusCode == http.StatusGone)
}

// Comments reads every page, 100 comments a page.
func (g GitHub) Comments(ctx context.Context, owner, repo string, number int) ([]*github.IssueComment, error) {
	var all []*github.IssueComment
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := g.C.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list comments of %s/%s#%d: %w", owner, repo, number, err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// PostComment posts once: a comment GitHub applied but answered 5xx for
// would otherwise be posted twice; the next sync finds it by its marker.
func (g GitHub) PostComment(ctx context.Context, owner, repo string, number int, body string) (int64, error) {
	c, _, err := g.C.Issues.CreateComment(githubapp.WithoutReplay(ctx), owner, repo, number, &github.IssueComment{Body: &body})
	if err != nil {
		return 0, fmt.Errorf("comment on %s/%s#%d: %w", owner, repo, number, err)
	}
	return c.GetID(), nil
}

// EditComment rewrites a comment; editing is idempotent, so retries are safe.
func (g GitHub) EditComment(ctx context.Context, owner, repo string, id int64, body string) error {
	_, _, err := g.C.Issues.EditComment(ctx, owner, repo, id, &github.IssueComment{Body: &body})
	if gone(err) {
		return fmt.Errorf("edit comment %d in %s/%s: %w", id, owner, repo, ErrGone)
	}
	if err != nil {
		return fmt.Errorf("edit comment %d in %s/%s: %w", id, owner, repo, err)
	}
	return nil
}

// AddLabels adds labels in one write.
func (g GitHub) AddLabels(ctx context.Context, owner, repo string, number int, names []string) error {
	return githubapp.AddLabels(ctx, g.C, owner, repo, number, names)
}

// RemoveLabel removes one label; one already gone is not an error.
func (g GitHub) RemoveLabel(ctx context.Context, owner, repo string, number int, name string) error {
	return githubapp.RemoveLabel(ctx, g.C, owner, repo, number, name)
}

// FindIssue lists the creator's open issues, 100 a page.
func (g GitHub) FindIssue(ctx context.Context, owner, repo, creator, marker string) (int, error) {
	opts := &github.IssueListByRepoOptions{State: "open", Creator: creator, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := g.C.Issues.ListByRepo(ctx, owner, repo, opts)
		if err != nil {
			return 0, fmt.Errorf("list issues of %s in %s/%s: %w", creator, owner, repo, err)
		}
		for _, is := range page {
			// The marker is the first line contribot writes; one quoted
			// further down (a title in a greeting) is not the dashboard.
			if !is.IsPullRequest() && report.StartsWithMarker(is.GetBody(), marker) {
				return is.GetNumber(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateIssue opens an issue once, like PostComment.
func (g GitHub) CreateIssue(ctx context.Context, owner, repo, title, body string) (int, error) {
	is, _, err := g.C.Issues.Create(githubapp.WithoutReplay(ctx), owner, repo, &github.IssueRequest{Title: &title, Body: &body})
	if err != nil {
		return 0, fmt.Errorf("open an issue in %s/%s: %w", owner, repo, err)
	}
	return is.GetNumber(), nil
}

// EditIssue rewrites an issue's body.
func (g GitHub) EditIssue(ctx context.Context, owner, repo string, number int, body string) error {
	_, _, err := g.C.Issues.Edit(ctx, owner, repo, number, &github.IssueRequest{Body: &body})
	if gone(err) {
		return fmt.Errorf("edit %s/%s#%d: %w", owner, repo, number, ErrGone)
	}
	if err != nil {
		return fmt.Errorf("edit %s/%s#%d: %w", owner, repo, number, err)
	}
	return nil
}

// Private reads the repository, a conditional request: unchanged, GitHub
// answers 304, which costs no quota.
func (g GitHub) Private(ctx context.Context, owner, repo string) (bool, error) {
	r, _, err := g.C.Repositories.Get(ctx, owner, repo)
	if gone(err) {
		return false, fmt.Errorf("read repository %s/%s: %w", owner, repo, ErrGone)
	}
	if err != nil {
		return false, fmt.Errorf("read repository %s/%s: %w", owner, repo, err)
	}
	return r.GetPrivate() || (r.GetVisibility() != "" && r.GetVisibility() != "public"), nil
}

// GetFile reads a rules file from the default branch.
func (g GitHub) GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error) {
	return rulesload.GitHubFile(ctx, g.C, owner, repo, path)
}

// SearchAll runs an issue search and reads every page, 100 a page, up to
// the 1,000 results GitHub's search returns at most.
func (g GitHub) SearchAll(ctx context.Context, query string) ([]*github.Issue, error) {
	var all []*github.Issue
	opts := &github.SearchOptions{Sort: "created", Order: "asc", ListOptions: github.ListOptions{PerPage: 100}}
	for {
		res, resp, err := g.C.Search.Issues(ctx, query, opts)
		if err != nil {
			return nil, fmt.Errorf("search %q: %w", query, err)
		}
		all = append(all, res.Issues...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// PrivateRepos lists which of the org's repositories are private, 100 a
// page: search results do not say.
func (g GitHub) PrivateRepos(ctx context.Context, org string) (map[string]bool, error) {
	out := map[string]bool{}
	opts := &github.RepositoryListByOrgOptions{Type: "all", ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := g.C.Repositories.ListByOrg(ctx, org, opts)
		if err != nil {
			return nil, fmt.Errorf("list repositories of %s: %w", org, err)
		}
		for _, r := range page {
			out[r.GetFullName()] = r.GetPrivate()
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
