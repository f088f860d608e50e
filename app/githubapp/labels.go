package githubapp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// RemoveLabel removes one label from an issue or pull request; a label
// already gone is not an error (someone removed it first, or a retry after
// a crash). go-github puts the name into the path as it is, so
// "area/storage" would become two path segments, and "." or ".." would be
// dropped as segments: both are escaped here.
func RemoveLabel(ctx context.Context, c *github.Client, owner, repo string, number int, name string) error {
	escaped := strings.ReplaceAll(url.PathEscape(name), ".", "%2E")
	resp, err := c.Issues.RemoveLabelForIssue(ctx, owner, repo, number, escaped)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("remove label %q from %s/%s#%d: %w", name, owner, repo, number, err)
	}
	return nil
}

// AddLabels adds labels to an issue or pull request in one write; GitHub
// keeps the ones already there.
func AddLabels(ctx context.Context, c *github.Client, owner, repo string, number int, names []string) error {
	if _, _, err := c.Issues.AddLabelsToIssue(ctx, owner, repo, number, names); err != nil {
		return fmt.Errorf("add labels %q to %s/%s#%d: %w", names, owner, repo, number, err)
	}
	return nil
}
