package rulesload

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"
)

// GitHubFile reads a file from a repository's default branch through the
// contents API; found is false on 404. Features' GitHub clients use it to
// implement Fetcher.
func GitHubFile(ctx context.Context, c *github.Client, owner, repo, path string) ([]byte, bool, error) {
	fc, _, resp, err := c.Repositories.GetContents(ctx, owner, repo, path, nil)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read %s from %s/%s: %w", path, owner, repo, err)
	}
	if fc == nil {
		return nil, false, fmt.Errorf("read %s from %s/%s: it is a directory", path, owner, repo)
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, false, fmt.Errorf("decode %s from %s/%s: %w", path, owner, repo, err)
	}
	return []byte(s), true, nil
}
