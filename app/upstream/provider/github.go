package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/google/go-github/v60/github"
)

// GitHub checks pull requests and issues outside the org through the issues
// endpoint, which serves both, with the installation of the org that
// tracks them: never another org's, whose installation may read private
// repositories the tracking org cannot. The client is the caller's: it
// already does conditional requests (per installation) and rate limiting,
// so this adds no cache of its own.
//
// Issue answers do not say whether their repository is public, so each
// Fetch reads each repository once (GET /repos/{owner}/{repo}, a
// conditional request that costs no quota when unchanged) and marks items
// of a repository that is not public as Private.
type GitHub struct {
	client func(ctx context.Context) (*github.Client, error)
	calls  *atomic.Int64
}

// NewGitHub returns a fetcher that gets its client from client for each
// Fetch.
func NewGitHub(client func(ctx context.Context) (*github.Client, error)) *GitHub {
	return &GitHub{client: client, calls: new(atomic.Int64)}
}

// Calls is the number of API requests the fetcher has made.
func (g *GitHub) Calls() int64 { return g.calls.Load() }

// githubHost names GitHub in public failure texts.
const githubHost = "github.com"

// Fetch asks for each ref; a rate limit ends the Fetch, since every further
// request would fail the same way and spend what quota is left.
func (g *GitHub) Fetch(ctx context.Context, refs []link.Ref) map[string]Result {
	refs = dedupe(refs)
	out := make(map[string]Result, len(refs))
	if len(refs) == 0 {
		return out
	}
	if g.client == nil {
		failAll(out, refs, &Failure{Public: "github: no client configured"})
		return out
	}
	c, err := g.client(ctx)
	if err != nil {
		failAll(out, refs, &Failure{Public: "no GitHub installation to read with", Cause: fmt.Errorf("github: get client: %w", err)})
		return out
	}
	private := map[string]bool{} // lower-case "owner/repo" → not public
	return oneByOne(out, refs, func(r link.Ref) (Result, error) { return g.fetchOne(ctx, c, r, private) })
}

func (g *GitHub) fetchOne(ctx context.Context, c *github.Client, r link.Ref, private map[string]bool) (res Result, stop error) {
	owner, repo, ok := strings.Cut(r.Project, "/")
	if !ok || owner == "" || repo == "" {
		return unavailable("no owner/repo in link"), nil
	}
	if err := ctx.Err(); err != nil {
		err = unreachable(githubHost, fmt.Errorf("get GitHub issue %s#%d: %w", r.Project, r.Number, err))
		return Result{Err: err}, err
	}
	g.calls.Add(1)
	is, _, err := c.Issues.Get(ctx, owner, repo, int(r.Number))
	if err != nil {
		return githubFailure(r, fmt.Sprintf("get GitHub issue %s#%d", r.Project, r.Number), err)
	}
	// The answer's repository, not the link's: GitHub follows a renamed or
	// transferred repository, maybe into a private one.
	full := repositoryOf(is.GetRepositoryURL(), r.Project)
	hidden, known := private[strings.ToLower(full)]
	if !known {
		owner, repo, _ := strings.Cut(full, "/")
		g.calls.Add(1)
		rp, _, err := c.Repositories.Get(ctx, owner, repo)
		if err != nil {
			return githubFailure(r, "get GitHub repository "+full, err)
		}
		hidden = rp.GetPrivate() || (rp.GetVisibility() != "" && rp.GetVisibility() != "public")
		private[strings.ToLower(full)] = hidden
	}
	st := githubStatus(is)
	st.Private, st.Repo = hidden, full
	return Result{Status: st}, nil
}

// repositoryOf is "owner/repo" from an issue's repository_url
// (".../repos/{owner}/{repo}"), or fallback when it has none.
func repositoryOf(apiURL, fallback string) string {
	i := strings.LastIndex(apiURL, "/repos/")
	if i < 0 {
		return fallback
	}
	owner, repo, ok := strings.Cut(strings.Trim(apiURL[i+len("/repos/"):], "/"), "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return fallback
	}
	return owner + "/" + repo
}

// githubFailure sorts a failed read: a missing item is Unavailable, a rate
// limit stops the Fetch, anything else fails this ref with a public text
// that names GitHub and the status, never GitHub's message.
func githubFailure(r link.Ref, what string, err error) (res Result, stop error) {
	var (
		rle   *github.RateLimitError
		abuse *github.AbuseRateLimitError
		er    *github.ErrorResponse
	)
	switch {
	case errors.As(err, &rle):
		e := &RateLimitError{Provider: "github", Host: r.Host, Status: rle.Response.StatusCode}
		if d := time.Until(rle.Rate.Reset.Time).Round(time.Second); d > 0 {
			e.RetryAfter = d
		}
		return Result{Err: e}, e.skipped()
	case errors.As(err, &abuse):
		e := &RateLimitError{Provider: "github", Host: r.Host, Status: abuse.Response.StatusCode}
		if abuse.RetryAfter != nil {
			e.RetryAfter = *abuse.RetryAfter
		}
		return Result{Err: e}, e.skipped()
	case errors.As(err, &er) && er.Response != nil:
		switch code := er.Response.StatusCode; code {
		case http.StatusNotFound:
			return unavailable("not found (404)"), nil
		case http.StatusGone:
			return unavailable("deleted (410)"), nil
		case http.StatusTooManyRequests:
			// go-github v60 leaves a plain 429 as an ErrorResponse.
			e := &RateLimitError{Provider: "github", Host: r.Host, Status: code,
				RetryAfter: parseRetryAfter(er.Response.Header.Get("Retry-After"), time.Now())}
			return Result{Err: e}, e.skipped()
		default:
			return Result{Err: answered(githubHost, code, fmt.Errorf("%s: %w", what, err))}, nil
		}
	}
	return Result{Err: unreachable(githubHost, fmt.Errorf("%s: %w", what, err))}, nil
}

func githubStatus(is *github.Issue) Status {
	s := Status{Raw: is.GetState(), Title: is.GetTitle(), LastActivity: is.GetUpdatedAt().Time.UTC()}
	open := is.GetState() == "open"
	if is.IsPullRequest() {
		switch {
		case is.PullRequestLinks.MergedAt != nil:
			s.State, s.Raw = Merged, "merged"
		case open && is.GetDraft():
			s.State, s.Raw = Draft, "open (draft)"
		case open:
			s.State = InReview
		case is.GetState() == "closed":
			s.State = Abandoned
		}
		return s
	}
	reason := is.GetStateReason()
	switch {
	case open:
		s.State = Open
	case is.GetState() != "closed":
	case reason == "not_planned" || reason == "duplicate":
		s.State, s.Raw = Abandoned, "closed ("+reason+")"
	default:
		// Issues closed before GitHub had reasons have none; closing then
		// meant done.
		s.State = Merged
		if reason != "" {
			s.Raw = "closed (" + reason + ")"
		}
	}
	return s
}
