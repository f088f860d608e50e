package githubapp

import "strings"

// routeTemplates are the REST paths contribot calls (and a few neighbours),
// in GitHub's documentation style. Metrics are labelled with these rather
// than raw paths so that label cardinality stays fixed however many repos
// and pull requests pass through.
var routeTemplates = compileRoutes([]string{
	"/app",
	"/app/hook/config",
	"/app/hook/deliveries",
	"/app/hook/deliveries/{delivery_id}",
	"/app/hook/deliveries/{delivery_id}/attempts",
	"/app/installations",
	"/app/installations/{installation_id}",
	"/app/installations/{installation_id}/access_tokens",
	"/app/installations/{installation_id}/suspended",
	"/installation/repositories",
	"/graphql",
	"/meta",
	"/rate_limit",
	"/search/issues",
	"/search/commits",
	"/users/{username}",
	"/users/{username}/installation",
	"/orgs/{org}",
	"/orgs/{org}/installation",
	"/orgs/{org}/members",
	"/orgs/{org}/members/{username}",
	"/orgs/{org}/memberships/{username}",
	"/orgs/{org}/public_members/{username}",
	"/orgs/{org}/repos",
	"/orgs/{org}/teams/{team_slug}/memberships/{username}",
	"/repos/{owner}/{repo}",
	"/repos/{owner}/{repo}/installation",
	"/repos/{owner}/{repo}/collaborators/{username}",
	"/repos/{owner}/{repo}/collaborators/{username}/permission",
	"/repos/{owner}/{repo}/contents",
	"/repos/{owner}/{repo}/contents/{path...}",
	"/repos/{owner}/{repo}/commits",
	"/repos/{owner}/{repo}/commits/{ref}",
	"/repos/{owner}/{repo}/commits/{ref}/check-runs",
	"/repos/{owner}/{repo}/commits/{ref}/check-suites",
	"/repos/{owner}/{repo}/commits/{ref}/status",
	"/repos/{owner}/{repo}/commits/{ref}/statuses",
	"/repos/{owner}/{repo}/commits/{ref}/pulls",
	"/repos/{owner}/{repo}/compare/{basehead}",
	"/repos/{owner}/{repo}/statuses/{sha}",
	"/repos/{owner}/{repo}/check-runs",
	"/repos/{owner}/{repo}/check-runs/{check_run_id}",
	"/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
	"/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest",
	"/repos/{owner}/{repo}/check-suites/{check_suite_id}",
	"/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs",
	"/repos/{owner}/{repo}/pulls",
	"/repos/{owner}/{repo}/pulls/{number}",
	"/repos/{owner}/{repo}/pulls/{number}/commits",
	"/repos/{owner}/{repo}/pulls/{number}/files",
	"/repos/{owner}/{repo}/pulls/{number}/reviews",
	"/repos/{owner}/{repo}/pulls/{number}/requested_reviewers",
	"/repos/{owner}/{repo}/issues",
	"/repos/{owner}/{repo}/issues/{number}",
	"/repos/{owner}/{repo}/issues/{number}/comments",
	"/repos/{owner}/{repo}/issues/{number}/events",
	"/repos/{owner}/{repo}/issues/{number}/labels",
	"/repos/{owner}/{repo}/issues/{number}/labels/{name}",
	"/repos/{owner}/{repo}/issues/{number}/timeline",
	"/repos/{owner}/{repo}/issues/comments",
	"/repos/{owner}/{repo}/issues/comments/{comment_id}",
	"/repos/{owner}/{repo}/labels",
	"/repos/{owner}/{repo}/labels/{name}",
	"/repos/{owner}/{repo}/git/commits/{sha}",
	"/repos/{owner}/{repo}/git/refs/{ref...}",
})

type routeTemplate struct {
	text     string
	segments []string
	literals int
	catchAll bool // last segment is {name...} and swallows the rest
}

func compileRoutes(paths []string) []routeTemplate {
	out := make([]routeTemplate, 0, len(paths))
	for _, p := range paths {
		segs := strings.Split(strings.Trim(p, "/"), "/")
		t := routeTemplate{text: p, segments: segs}
		for _, s := range segs {
			if !isParam(s) {
				t.literals++
			}
		}
		t.catchAll = strings.HasSuffix(segs[len(segs)-1], "...}")
		out = append(out, t)
	}
	return out
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") }

// Route maps a request path (relative to the API base, e.g. without GHES's
// /api/v3) to its documented template:
//
//	/repos/o/r/pulls/7/commits → /repos/{owner}/{repo}/pulls/{number}/commits
//
// When several templates match, the one with the most literal segments
// wins, so /issues/comments/5 is a comment, not issue "comments". Unknown
// paths keep only their leading literal segments and end in "/…", so a new
// endpoint still shows up in metrics without leaking ids into labels.
func Route(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	trimmed := strings.Trim(path, "/")
	if trimmed == "" {
		return "/"
	}
	segs := strings.Split(trimmed, "/")
	best := -1
	for i, t := range routeTemplates {
		if !t.matches(segs) {
			continue
		}
		if best < 0 || t.literals > routeTemplates[best].literals {
			best = i
		}
	}
	if best >= 0 {
		return routeTemplates[best].text
	}
	return fallbackRoute(segs)
}

func (t routeTemplate) matches(segs []string) bool {
	n := len(t.segments)
	if t.catchAll {
		if len(segs) < n {
			return false
		}
	} else if len(segs) != n {
		return false
	}
	for i, s := range t.segments {
		if !isParam(s) && s != segs[i] {
			return false
		}
	}
	return true
}

func fallbackRoute(segs []string) string {
	var b strings.Builder
	kept := 0
	switch segs[0] {
	case "repos", "users", "orgs":
		// These are followed by names we must not put into labels.
		b.WriteString("/" + segs[0])
		switch segs[0] {
		case "repos":
			b.WriteString("/{owner}/{repo}")
			kept = 3
		case "users":
			b.WriteString("/{username}")
			kept = 2
		case "orgs":
			b.WriteString("/{org}")
			kept = 2
		}
		if len(segs) > kept && plainWord(segs[kept]) {
			b.WriteString("/" + segs[kept])
			kept++
		}
	default:
		if plainWord(segs[0]) {
			b.WriteString("/" + segs[0])
			kept = 1
		}
	}
	if kept < len(segs) {
		b.WriteString("/…")
	}
	return b.String()
}

// plainWord is true for path segments that look like API nouns ("pulls",
// "check-runs"), not ids, SHAs or user-chosen names.
func plainWord(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// stripBase removes the API base path (GHES's /api/v3) so that templates
// are the same for github.com and Enterprise.
func stripBase(path, base string) string {
	if base != "" && strings.HasPrefix(path, base+"/") {
		return path[len(base):]
	}
	return path
}
