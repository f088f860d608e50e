package labels

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/rulesload"
)

// Client is everything the labels handler asks of GitHub; tests count
// these calls, and GitHub below is the only place that knows go-github.
type Client interface {
	// ListFiles lists a PR's changed files, all pages; GitHub stops at
	// GitHubFileCap.
	ListFiles(ctx context.Context, owner, repo string, number int) ([]File, error)
	// RepoLabels lists the names of the repository's labels, all pages.
	RepoLabels(ctx context.Context, owner, repo string) ([]string, error)
	// CreateLabel creates a label; created is false when it already exists.
	CreateLabel(ctx context.Context, owner, repo, name, color, description string) (created bool, err error)
	// IssueLabels lists the labels a PR carries now.
	IssueLabels(ctx context.Context, owner, repo string, number int) ([]string, error)
	// AddLabels adds labels to a PR in one write.
	AddLabels(ctx context.Context, owner, repo string, number int, names []string) error
	// RemoveLabel removes one label; a label already gone is not an error.
	RemoveLabel(ctx context.Context, owner, repo string, number int, name string) error
	GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error)
}

// ErrDryRun is returned by a dry-run client in place of every GitHub call.
var ErrDryRun = errors.New("dry-run: no GitHub App credentials")

// GitHub implements Client with go-github.
type GitHub struct{ C *github.Client }

// ListFiles reads every page, 100 files a page.
func (g GitHub) ListFiles(ctx context.Context, owner, repo string, number int) ([]File, error) {
	var all []File
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := g.C.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list files of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, f := range page {
			all = append(all, File{Path: f.GetFilename(), Previous: f.GetPreviousFilename()})
		}
		if resp.NextPage == 0 || len(page) == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// RepoLabels reads every page, 100 labels a page.
func (g GitHub) RepoLabels(ctx context.Context, owner, repo string) ([]string, error) {
	var all []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := g.C.Issues.ListLabels(ctx, owner, repo, opts)
		if err != nil {
			return nil, fmt.Errorf("list labels of %s/%s: %w", owner, repo, err)
		}
		for _, l := range page {
			all = append(all, l.GetName())
		}
		if resp.NextPage == 0 || len(page) == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateLabel creates a repository label.
func (g GitHub) CreateLabel(ctx context.Context, owner, repo, name, color, description string) (bool, error) {
	l := &github.Label{Name: &name, Color: &color}
	if description != "" {
		l.Description = &description
	}
	_, resp, err := g.C.Issues.CreateLabel(ctx, owner, repo, l)
	if err != nil {
		var ge *github.ErrorResponse
		if resp != nil && resp.StatusCode == http.StatusUnprocessableEntity && errors.As(err, &ge) {
			for _, e := range ge.Errors {
				if e.Code == "already_exists" {
					return false, nil
				}
			}
		}
		return false, fmt.Errorf("create label %q in %s/%s: %w", name, owner, repo, err)
	}
	return true, nil
}

// IssueLabels reads a PR's labels, 100 a page (a PR has few).
func (g GitHub) IssueLabels(ctx context.Context, owner, repo string, number int) ([]string, error) {
	var out []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := g.C.Issues.ListLabelsByIssue(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, fmt.Errorf("list labels of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, l := range page {
			out = append(out, l.GetName())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// AddLabels adds labels to a PR; GitHub keeps the ones already there.
func (g GitHub) AddLabels(ctx context.Context, owner, repo string, number int, names []string) error {
	return githubapp.AddLabels(ctx, g.C, owner, repo, number, names)
}

// RemoveLabel removes one label from a PR.
func (g GitHub) RemoveLabel(ctx context.Context, owner, repo string, number int, name string) error {
	return githubapp.RemoveLabel(ctx, g.C, owner, repo, number, name)
}

// GetFile reads a rules file from the default branch.
func (g GitHub) GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error) {
	return rulesload.GitHubFile(ctx, g.C, owner, repo, path)
}
