package fakegithub

import (
	"net/url"
	"strconv"
	"strings"
)

// route is one endpoint. Routing is by path segments rather than
// http.ServeMux so that a method mismatch is GitHub's 404, not a 405, and so
// that the handler sees the request after authentication and quota checks.
type route struct {
	method string
	segs   []string
	app    bool     // authenticated as the App (JWT) rather than an installation
	perms  []string // any one suffices, e.g. "checks=write"; none: no permission needed
	doc    string   // documentation_url of this endpoint's errors
	// resource is the rate-limit quota the endpoint draws on: "" for core,
	// resourceSearch for the search endpoints.
	resource string
	// publicRead: GitHub serves the endpoint for public repositories to any
	// token ("can be used without authentication or the aforementioned
	// permissions if only public resources are requested").
	publicRead bool
	handle     func(*Server, *call) *response
}

func r(method, pattern string, perms []string, doc string, h func(*Server, *call) *response) *route {
	return &route{
		method: method,
		segs:   strings.Split(strings.TrimPrefix(pattern, "/"), "/"),
		perms:  perms,
		doc:    doc,
		handle: h,
	}
}

func appRoute(method, pattern, doc string, h func(*Server, *call) *response) *route {
	rt := r(method, pattern, nil, doc, h)
	rt.app = true
	return rt
}

func searchRoute(method, pattern string, perms []string, doc string, h func(*Server, *call) *response) *route {
	rt := r(method, pattern, perms, doc, h)
	rt.resource = resourceSearch
	return rt
}

// publicRoute is a GET that public repositories serve to any token.
func publicRoute(pattern string, perms []string, doc string, h func(*Server, *call) *response) *route {
	rt := r("GET", pattern, perms, doc, h)
	rt.publicRead = true
	return rt
}

func perms(p ...string) []string { return p }

var routes = []*route{
	appRoute("GET", "/app", "https://docs.github.com/rest/apps/apps#get-the-authenticated-app", (*Server).getApp),
	appRoute("POST", "/app/installations/{installation_id}/access_tokens",
		"https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app", (*Server).createToken),
	appRoute("GET", "/orgs/{org}/installation",
		"https://docs.github.com/rest/apps/apps#get-an-organization-installation-for-the-authenticated-app", (*Server).getOrgInstallation),
	appRoute("GET", "/app/hook/deliveries",
		"https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook", (*Server).listHookDeliveries),
	appRoute("POST", "/app/hook/deliveries/{delivery_id}/attempts",
		"https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook", (*Server).redeliverHookDelivery),
	r("GET", "/rate_limit", nil, "https://docs.github.com/rest/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user", (*Server).getRateLimit),
	r("GET", "/repos/{owner}/{repo}/pulls/{number}", perms("pull_requests=read"),
		"https://docs.github.com/rest/pulls/pulls#get-a-pull-request", (*Server).getPull),
	r("GET", "/repos/{owner}/{repo}/pulls/{number}/commits", perms("pull_requests=read"),
		"https://docs.github.com/rest/pulls/pulls#list-commits-on-a-pull-request", (*Server).listPRCommits),
	r("GET", "/repos/{owner}/{repo}/pulls/{number}/files", perms("pull_requests=read"),
		"https://docs.github.com/rest/pulls/pulls#list-pull-requests-files", (*Server).listPRFiles),
	r("GET", "/repos/{owner}/{repo}/compare/{basehead...}", perms("contents=read"),
		"https://docs.github.com/rest/commits/commits#compare-two-commits", (*Server).compare),
	r("GET", "/repos/{owner}/{repo}/commits", perms("contents=read"),
		"https://docs.github.com/rest/commits/commits#list-commits", (*Server).listCommits),
	r("POST", "/repos/{owner}/{repo}/check-runs", perms("checks=write"),
		"https://docs.github.com/rest/checks/runs#create-a-check-run", (*Server).createCheckRun),
	r("PATCH", "/repos/{owner}/{repo}/check-runs/{id}", perms("checks=write"),
		"https://docs.github.com/rest/checks/runs#update-a-check-run", (*Server).updateCheckRun),
	r("GET", "/repos/{owner}/{repo}/check-runs/{id}", perms("checks=read"),
		"https://docs.github.com/rest/checks/runs#get-a-check-run", (*Server).getCheckRun),
	r("GET", "/repos/{owner}/{repo}/contents/{path...}", perms("contents=read"),
		"https://docs.github.com/rest/repos/contents#get-repository-content", (*Server).getContents),
	publicRoute("/repos/{owner}/{repo}", perms("metadata=read"),
		"https://docs.github.com/rest/repos/repos#get-a-repository", (*Server).getRepo),
	r("GET", "/orgs/{org}/repos", perms("metadata=read"),
		"https://docs.github.com/rest/repos/repos#list-organization-repositories", (*Server).listOrgRepos),
	r("GET", "/orgs/{org}/members/{username}", perms("members=read"),
		"https://docs.github.com/rest/orgs/members#check-organization-membership-for-a-user", (*Server).checkMember),
	r("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", perms("metadata=read"),
		"https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user", (*Server).getPermission),
	// Comments and labels on a pull request go through the issues endpoints;
	// GitHub accepts either permission for them. Reading or updating an issue
	// itself takes pull_requests only for a pull request (see
	// checkIssuePerm); creating one takes issues.
	publicRoute("/repos/{owner}/{repo}/issues", perms("issues=read", "pull_requests=read"),
		"https://docs.github.com/rest/issues/issues#list-repository-issues", (*Server).listIssues),
	r("POST", "/repos/{owner}/{repo}/issues", perms("issues=write"),
		"https://docs.github.com/rest/issues/issues#create-an-issue", (*Server).createIssue),
	publicRoute("/repos/{owner}/{repo}/issues/{number}", perms("issues=read", "pull_requests=read"),
		"https://docs.github.com/rest/issues/issues#get-an-issue", (*Server).getIssue),
	r("PATCH", "/repos/{owner}/{repo}/issues/{number}", perms("issues=write", "pull_requests=write"),
		"https://docs.github.com/rest/issues/issues#update-an-issue", (*Server).updateIssue),
	r("POST", "/repos/{owner}/{repo}/issues/{number}/comments", perms("issues=write", "pull_requests=write"),
		"https://docs.github.com/rest/issues/comments#create-an-issue-comment", (*Server).createComment),
	r("GET", "/repos/{owner}/{repo}/issues/{number}/comments", perms("issues=read", "pull_requests=read"),
		"https://docs.github.com/rest/issues/comments#list-issue-comments", (*Server).listComments),
	r("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}", perms("issues=write", "pull_requests=write"),
		"https://docs.github.com/rest/issues/comments#update-an-issue-comment", (*Server).updateComment),
	r("GET", "/repos/{owner}/{repo}/issues/{number}/labels", perms("issues=read", "pull_requests=read"),
		"https://docs.github.com/rest/issues/labels#list-labels-for-an-issue", (*Server).listLabels),
	r("POST", "/repos/{owner}/{repo}/issues/{number}/labels", perms("issues=write", "pull_requests=write"),
		"https://docs.github.com/rest/issues/labels#add-labels-to-an-issue", (*Server).addLabels),
	r("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels/{name}", perms("issues=write", "pull_requests=write"),
		"https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue", (*Server).removeLabel),
	r("GET", "/repos/{owner}/{repo}/labels", perms("issues=read", "pull_requests=read"),
		"https://docs.github.com/rest/issues/labels#list-labels-for-a-repository", (*Server).listRepoLabels),
	r("POST", "/repos/{owner}/{repo}/labels", perms("issues=write", "pull_requests=write"),
		"https://docs.github.com/rest/issues/labels#create-a-label", (*Server).createRepoLabel),
	// Every installation has metadata read; GitHub further limits the results
	// to what the installation can see, which the fake does not model.
	searchRoute("GET", "/search/issues", perms("metadata=read"),
		"https://docs.github.com/rest/search/search#search-issues-and-pull-requests", (*Server).searchIssues),
}

// matchRoute splits the escaped path, so that an escaped "/" (a label named
// "area/iaas" is requested as .../labels/area%2Fiaas, as GitHub expects)
// stays inside its segment; parameters are unescaped after matching.
func matchRoute(method, escapedPath string) (*route, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	for _, rt := range routes {
		if rt.method != method {
			continue
		}
		if p, ok := rt.match(segs); ok {
			return rt, p
		}
	}
	return nil, nil
}

func (rt *route) match(segs []string) (map[string]string, bool) {
	p := map[string]string{}
	for i, pat := range rt.segs {
		if name, ok := strings.CutPrefix(pat, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			if rest, ok := strings.CutSuffix(name, "..."); ok {
				var parts []string
				for _, seg := range segs[min(i, len(segs)):] {
					v, ok := unescape(seg)
					if !ok {
						return nil, false
					}
					parts = append(parts, v)
				}
				v := strings.Join(parts, "/")
				if v == "" {
					return nil, false
				}
				p[rest] = v
				return p, true
			}
			if i >= len(segs) || segs[i] == "" {
				return nil, false
			}
			v, ok := unescape(segs[i])
			if !ok {
				return nil, false
			}
			p[name] = v
			continue
		}
		if i >= len(segs) || segs[i] != pat {
			return nil, false
		}
	}
	return p, len(segs) == len(rt.segs)
}

func unescape(seg string) (string, bool) {
	v, err := url.PathUnescape(seg)
	return v, err == nil
}

// intParam parses a numeric path parameter; GitHub answers 404 for non-numbers.
func (c *call) intParam(name string) (int64, bool) {
	n, err := strconv.ParseInt(c.p[name], 10, 64)
	return n, err == nil && n > 0
}
