package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Finder finds an org's existing tracking items for a backfill.
type Finder interface {
	SearchAll(ctx context.Context, query string) ([]*github.Issue, error)
	PrivateRepos(ctx context.Context, org string) (map[string]bool, error)
}

// BackfillReport says what a backfill found.
type BackfillReport struct {
	Found, Tracked, Changed int
}

// Backfill seeds the tracker from an org's items that carry the tracking
// label or "Upstream:" lines, through the same path as their events. It is
// safe to run again: unchanged items change nothing.
func (h *Handler) Backfill(ctx context.Context, installation int64, f Finder, org string) (BackfillReport, error) {
	var rep BackfillReport
	c := h.Client(installation)
	r, _, err := h.Rules.UpstreamRules(ctx, c, org, ".github")
	if err != nil {
		return rep, fmt.Errorf("load rules of %s: %w", org, err)
	}
	if !r.Upstream.Enabled {
		return rep, fmt.Errorf("upstream tracking is off in the rules of %s (upstream.enabled)", org)
	}
	// GitHub's issue search takes issues or pull requests, not both.
	var queries []string
	for _, kind := range []string{"is:issue", "is:pr"} {
		if l := r.Upstream.Label; l != "" {
			queries = append(queries, fmt.Sprintf("org:%s %s label:%q", org, kind, l))
		}
		queries = append(queries, fmt.Sprintf("org:%s %s in:body \"Upstream:\"", org, kind))
	}
	private, err := f.PrivateRepos(ctx, org)
	if err != nil {
		return rep, err
	}
	seen := map[string]bool{}
	for _, q := range queries {
		items, err := f.SearchAll(ctx, q)
		if err != nil {
			return rep, err
		}
		for _, is := range items {
			repo := repoFromURL(is.GetRepositoryURL())
			key := fmt.Sprintf("%s#%d", repo, is.GetNumber())
			if repo == "" || seen[key] {
				continue
			}
			seen[key] = true
			rep.Found++
			owner, name, _ := strings.Cut(repo, "/")
			ev := event{installation: installation, owner: owner, repo: name, action: "backfill", body: is.GetBody(), author: is.GetUser().GetLogin(),
				item: Item{Repo: repo, Number: is.GetNumber(), Installation: installation, PR: is.IsPullRequest(), Title: is.GetTitle(),
					URL: is.GetHTMLURL(), Author: is.GetUser().GetLogin(), Open: is.GetState() != "closed", Private: isPrivate(private, repo), Labels: labelNames(is.Labels)},
				seen: is.GetUpdatedAt().Time}
			log := h.Log.With(slog.String("repo", repo), slog.Int("number", is.GetNumber()), slog.String("action", "backfill"))
			changed, tracked, err := h.reparse(ctx, log, ev)
			if err != nil {
				return rep, fmt.Errorf("backfill %s: %w", key, err)
			}
			if tracked {
				rep.Tracked++
			}
			if changed {
				rep.Changed++
				saved, err := h.Store.Item(ctx, repo, is.GetNumber())
				if err != nil || saved == nil {
					return rep, err
				}
				// One sync per item; the one poll below checks every new
				// reference and rebuilds the dashboard once.
				if err := h.Queue.Schedule(ctx, TaskSync, syncKey(ItemKey{repo, is.GetNumber()}, saved.Version), SyncDelay); err != nil {
					return rep, err
				}
			}
		}
	}
	// The poll is what gives new references their state; have it run now.
	return rep, h.Queue.Schedule(ctx, TaskPoll, "now@backfill", 0)
}

// isPrivate: a repository the org's list does not name (moved, renamed,
// cut off) counts as private, so that nothing leaks onto public reports.
func isPrivate(private map[string]bool, repo string) bool {
	for name, p := range private {
		if strings.EqualFold(name, repo) {
			return p
		}
	}
	return true
}

// repoFromURL turns a search result's repository_url
// (https://api.github.com/repos/o/r) into "o/r".
func repoFromURL(u string) string {
	_, after, ok := strings.Cut(u, "/repos/")
	if !ok || strings.Count(after, "/") != 1 {
		return ""
	}
	return after
}
