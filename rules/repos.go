package rules

import (
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// MatchRepo reports whether "owner/name" matches one of globs; a glob
// without "/" matches the repository name in any owner. Case does not
// matter, as on GitHub.
func MatchRepo(globs []string, repo string) bool {
	repo = strings.ToLower(repo)
	_, name, _ := strings.Cut(repo, "/")
	for _, g := range globs {
		g = strings.ToLower(g)
		target := name
		if strings.Contains(g, "/") {
			target = repo
		}
		if ok, _ := doublestar.Match(g, target); ok {
			return true
		}
	}
	return false
}

// RepoOnly reports whether the rule depends on the repository alone, so
// that it gives modules to any issue there, not only to pull requests.
func (r LabelRule) RepoOnly() bool {
	return len(r.Repos) > 0 && len(r.Files.Any) == 0 && len(r.Files.All) == 0 && r.Title == ""
}

// MatchesRepo reports whether the rule's repository condition holds.
func (r LabelRule) MatchesRepo(repo string) bool { return MatchRepo(r.Repos, repo) }
