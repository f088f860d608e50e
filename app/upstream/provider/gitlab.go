package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

// gitlabMaxBody caps one merge request or issue answer: GitLab bounds a
// description at 1,048,576 characters, at most 4 MiB in UTF-8, and the
// rest of the answer is small. A single object is decoded without a
// value per element of what it skips, so its cost is its size.
const gitlabMaxBody = 4 << 20

// GitLab checks merge requests and issues on one GitLab server through its
// anonymous REST API (v4).
type GitLab struct {
	getter
	base string
}

// NewGitLab returns a fetcher for the GitLab API at apiBase (e.g.
// "https://gitlab.com/api/v4/").
func NewGitLab(c *http.Client, apiBase string) *GitLab {
	return &GitLab{getter: newGetter(c, apiBase), base: withSlash(apiBase)}
}

// gitlabItem is the part of GitLab's merge request and issue JSON that
// matters here.
type gitlabItem struct {
	State          string    `json:"state"`
	Title          string    `json:"title"`
	Draft          bool      `json:"draft"`
	WorkInProgress bool      `json:"work_in_progress"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Fetch asks for each item, one request each. After a 429, a 503 or a
// transport failure it stops calling the host for this Fetch.
func (g *GitLab) Fetch(ctx context.Context, refs []link.Ref) map[string]Result {
	refs = dedupe(refs)
	return oneByOne(make(map[string]Result, len(refs)), refs, func(r link.Ref) (Result, error) { return g.fetchOne(ctx, r) })
}

func (g *GitLab) fetchOne(ctx context.Context, r link.Ref) (res Result, stop error) {
	what, kind := "issue", "issues"
	if r.Kind == link.MR {
		what, kind = "MR", "merge_requests"
	}
	if r.Project == "" {
		return unavailable("no project path in link"), nil
	}
	// The project path is one escaped segment: GitLab reads "a%2Fb" as the
	// project a/b, and "a/b" as a different route.
	u := g.base + "projects/" + url.PathEscape(r.Project) + "/" + kind + "/" + strconv.FormatInt(r.Number, 10)
	resp, err := g.get(ctx, u, gitlabMaxBody)
	if err != nil {
		err = fmt.Errorf("get GitLab %s %s#%d: %w", what, r.Project, r.Number, err)
		if errors.Is(err, ErrTooLarge) {
			return Result{Err: err}, nil
		}
		return Result{Err: err}, fmt.Errorf("gitlab %s: not asked after an earlier failure: %w", g.name, err)
	}
	if rl, ok := throttled("gitlab", g.name, resp, true); ok {
		return Result{Err: rl}, rl.skipped()
	}
	switch resp.code {
	case http.StatusOK:
	case http.StatusNotFound:
		return unavailable("not found (404)"), nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return unavailable("private (" + strconv.Itoa(resp.code) + ")"), nil
	default:
		return Result{Err: fmt.Errorf("get GitLab %s %s#%d: %w", what, r.Project, r.Number, g.statusError(resp))}, nil
	}
	var it gitlabItem
	if err := json.Unmarshal(resp.body, &it); err != nil {
		return Result{Err: unreadable(g.name, fmt.Errorf("decode GitLab %s %s#%d: %w", what, r.Project, r.Number, err))}, nil
	}
	if r.Kind == link.MR {
		return Result{Status: gitlabMRStatus(it)}, nil
	}
	return Result{Status: gitlabIssueStatus(it)}, nil
}

func gitlabMRStatus(it gitlabItem) Status {
	s := Status{Raw: it.State, Title: it.Title, LastActivity: it.UpdatedAt.UTC()}
	switch it.State {
	case "opened":
		// work_in_progress is the name before GitLab 14 and still sent.
		if it.Draft || it.WorkInProgress {
			s.State, s.Raw = Draft, "opened (draft)"
		} else {
			s.State = InReview
		}
	case "locked": // a short state during merge
		s.State = InReview
	case "merged":
		s.State = Merged
	case "closed":
		s.State = Abandoned
	}
	return s
}

func gitlabIssueStatus(it gitlabItem) Status {
	s := Status{Raw: it.State, Title: it.Title, LastActivity: it.UpdatedAt.UTC()}
	switch it.State {
	case "opened":
		s.State = Open
	case "closed":
		// GitLab has no "not planned"; a closed issue counts as done.
		s.State = Merged
	}
	return s
}
