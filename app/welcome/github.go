package welcome

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/rulesload"
)

// Client is everything the welcome handler asks of GitHub.
type Client interface {
	// SearchIssues runs an issue search and returns the total and the
	// first two items: enough to tell "none", "only this one" and "more".
	SearchIssues(ctx context.Context, query string) (total int, items []Item, err error)
	// HasComment reports whether a comment on the item by author (any
	// author when empty) contains marker.
	HasComment(ctx context.Context, owner, repo string, number int, marker, author string) (bool, error)
	CreateComment(ctx context.Context, owner, repo string, number int, body string) error
	AddLabels(ctx context.Context, owner, repo string, number int, names []string) error
	// IsMember reports org membership, private memberships included,
	// which webhook payloads do not show.
	IsMember(ctx context.Context, org, login string) (bool, error)
	GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error)
}

// ErrDryRun is returned by a dry-run client in place of every GitHub call.
var ErrDryRun = errors.New("dry-run: no GitHub App credentials")

// ErrUnsearchable is GitHub refusing to search a person's items (422 "The
// listed users cannot be searched": private, flagged or renamed accounts).
var ErrUnsearchable = errors.New("GitHub cannot search this person's issues and pull requests")

// GitHub implements Client with go-github.
type GitHub struct{ C *github.Client }

// SearchIssues asks for two items: IsFirst needs no more.
func (g GitHub) SearchIssues(ctx context.Context, query string) (int, []Item, error) {
	res, resp, err := g.C.Search.Issues(ctx, query, &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 2}})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnprocessableEntity {
			return 0, nil, fmt.Errorf("search %q: %w: %w", query, ErrUnsearchable, err)
		}
		return 0, nil, fmt.Errorf("search %q: %w", query, err)
	}
	if res.GetIncompleteResults() {
		// A timed-out search may have missed the items that matter.
		return 0, nil, fmt.Errorf("search %q: GitHub returned incomplete results; retrying", query)
	}
	var items []Item
	for _, is := range res.Issues {
		items = append(items, Item{Repo: repoOf(is.GetRepositoryURL()), Number: is.GetNumber()})
	}
	return res.GetTotal(), items, nil
}

// repoOf turns ".../repos/owner/name" into "owner/name".
func repoOf(url string) string {
	parts := strings.Split(strings.TrimSuffix(url, "/"), "/")
	if len(parts) < 2 {
		return url
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}

// HasComment reads the item's comments, 100 a page.
func (g GitHub) HasComment(ctx context.Context, owner, repo string, number int, marker, author string) (bool, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := g.C.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return false, fmt.Errorf("list comments of %s/%s#%d: %w", owner, repo, number, err)
		}
		for _, c := range page {
			if strings.Contains(c.GetBody(), marker) && (author == "" || strings.EqualFold(c.GetUser().GetLogin(), author)) {
				return true, nil
			}
		}
		if resp.NextPage == 0 || len(page) == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateComment posts one comment.
func (g GitHub) CreateComment(ctx context.Context, owner, repo string, number int, body string) error {
	// Sent once: after a failure the job's retry looks for the greeting's
	// marker before posting again, which a replay here would skip.
	if _, _, err := g.C.Issues.CreateComment(githubapp.WithoutReplay(ctx), owner, repo, number, &github.IssueComment{Body: &body}); err != nil {
		return fmt.Errorf("comment on %s/%s#%d: %w", owner, repo, number, err)
	}
	return nil
}

// AddLabels adds labels to the item in one write.
func (g GitHub) AddLabels(ctx context.Context, owner, repo string, number int, names []string) error {
	return githubapp.AddLabels(ctx, g.C, owner, repo, number, names)
}

// GetFile reads a rules file from the default branch.
func (g GitHub) GetFile(ctx context.Context, owner, repo, path string) ([]byte, bool, error) {
	return rulesload.GitHubFile(ctx, g.C, owner, repo, path)
}

// IsMember asks GitHub about org membership.
func (g GitHub) IsMember(ctx context.Context, org, login string) (bool, error) {
	member, _, err := g.C.Organizations.IsMember(ctx, org, login)
	if err != nil {
		return false, fmt.Errorf("check whether %s is a member of %s: %w", login, org, err)
	}
	return member, nil
}
