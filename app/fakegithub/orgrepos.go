package fakegithub

import (
	"net/http"
	"sort"
	"strings"
)

// listOrgRepos answers "List organization repositories" from the
// repositories the fake knows of the org (any state set for them), with
// their visibility; private ones only for the org's own installation.
func (s *Server) listOrgRepos(c *call) *response {
	org := strings.ToLower(c.p["org"])
	var rss []*repoState
	for _, rs := range s.repos {
		if strings.ToLower(rs.owner) == org && s.canSee(rs, c.inst) {
			rss = append(rss, rs)
		}
	}
	sort.Slice(rss, func(i, j int) bool { return strings.ToLower(rss[i].name) < strings.ToLower(rss[j].name) })
	lo, hi := s.paginate(c, len(rss), 30, 100)
	out := make([]any, 0, hi-lo)
	for _, rs := range rss[lo:hi] {
		out = append(out, s.repoObject(rs))
	}
	return jsonResponse(http.StatusOK, out)
}

// repoObject is a repository as GitHub's repository endpoints show it, the
// fields the fake models.
func (s *Server) repoObject(rs *repoState) object {
	full := rs.owner + "/" + rs.name
	visibility := "public"
	if rs.private {
		visibility = "private"
	}
	return object{
		"id": rs.id, "name": rs.name, "full_name": full, "private": rs.private, "visibility": visibility,
		"owner":    s.userObject(rs.owner),
		"html_url": htmlBase + full, "url": s.base + "repos/" + full,
		"default_branch": "main", "archived": false, "fork": false,
	}
}

// getRepo answers "Get a repository" for any repository the fake knows
// (any state set for it); checkRepoAccess has already hidden a private
// one from other installations.
func (s *Server) getRepo(c *call) *response {
	rs := s.lookupRepo(c.owner(), c.repo())
	if rs == nil {
		return notFound(c.route.doc)
	}
	return jsonResponse(http.StatusOK, s.repoObject(rs))
}
