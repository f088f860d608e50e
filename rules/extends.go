package rules

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

const (
	// DefaultPath is where a repository's rules live, and where the org
	// default lives in the org's OrgRepo repository.
	DefaultPath = ".github/contribot.yml"
	// ProbotDCOPath is the Probot DCO app's configuration, read for migration.
	ProbotDCOPath = ".github/dco.yml"
	// OrgRepo is the repository that holds an org's defaults, as on GitHub.
	OrgRepo = ".github"
	// ExtendsNone in a repository's extends drops the org layer.
	ExtendsNone = "none"
)

// Target is a rules file in some repository's default branch.
type Target struct {
	Owner, Repo, Path string
}

func (t Target) String() string {
	return t.Owner + "/" + t.Repo + ":" + t.Path
}

// OrgDefault is the org layer of owner's repositories unless they extend
// another file.
func OrgDefault(owner string) Target {
	return Target{Owner: owner, Repo: OrgRepo, Path: DefaultPath}
}

var (
	ownerName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoName  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// validRepo reports a repository written as "owner/name" in the forms
// GitHub allows.
func validRepo(s string) bool {
	o, r, ok := strings.Cut(s, "/")
	return ok && ownerName.MatchString(o) && repoName.MatchString(r) && r != "." && r != ".."
}

// ResolveExtends turns a repository file's extends value into the file that
// is the org layer for a repository of owner. none is true for "none".
//
// extends may name only files in owner's own .github repository. That
// repository is where an org's admins keep what its repositories share,
// and every repository reads its .github/contribot.yml already; a file
// elsewhere is read with the org's installation, which sees repositories
// that the extending repository's maintainers (and the readers of its
// check runs) may not: another org's, or a private one of the same org.
// So a target outside is refused before anything is read.
func ResolveExtends(owner, extends string) (t Target, none bool, err error) {
	if extends == "" {
		return OrgDefault(owner), false, nil
	}
	t, none, err = parseExtends(extends, strconv.Quote)
	switch {
	case err != nil || none:
		return t, none, err
	case !strings.EqualFold(t.Owner, owner):
		return Target{}, false, fmt.Errorf("%s is in another organisation than %s; only %s/%s can be extended, so nothing was read from it", t, owner, owner, OrgRepo)
	}
	return t, false, nil
}

// parseExtends reads the syntax of extends, which Parse checks without
// knowing the owner; quote shows the value in errors.
func parseExtends(extends string, quote func(string) string) (t Target, none bool, err error) {
	switch extends {
	case "":
		// The org default, whatever the owner.
		return Target{}, false, nil
	case ExtendsNone:
		return Target{}, true, nil
	}
	repo, p, hasPath := strings.Cut(extends, ":")
	o, r, _ := strings.Cut(repo, "/")
	if !validRepo(repo) {
		return Target{}, false, fmt.Errorf(`want "none", "owner/.github" or "owner/.github:path", got %s`, quote(extends))
	}
	if !strings.EqualFold(r, OrgRepo) {
		return Target{}, false, fmt.Errorf(`%s is not the org's .github repository; only files there can be extended ("owner/.github" or "owner/.github:path")`, quote(repo))
	}
	if !hasPath {
		p = DefaultPath
	}
	if err := checkPath(p); err != nil {
		return Target{}, false, fmt.Errorf("path in %s: %w", quote(extends), err)
	}
	if !Extendable(p) {
		return Target{}, false, fmt.Errorf(`path in %s: only rules files can be extended, a .yml or .yaml file in the .github directory such as ".github/strict.yml"`, quote(extends))
	}
	return Target{Owner: o, Repo: r, Path: p}, false, nil
}

// Extendable reports a path that extends may name in the org's .github
// repository: a .yml or .yaml file directly in its .github directory,
// where DefaultPath is. Other files there (a workflow, notes, a
// credentials file) are read with the org's installation, and even
// without their text, a problem's line and column and a value's type
// would tell the extending repository's readers about them.
func Extendable(p string) bool {
	dir, file := path.Split(p)
	ext := path.Ext(file)
	return dir == ".github/" && (ext == ".yml" || ext == ".yaml") && len(file) > len(ext)
}

// checkPath keeps extends paths inside the repository and in the one
// spelling the contents API and the cache agree on.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case path.IsAbs(p):
		return errors.New("want a path relative to the repository root, without a leading /")
	case path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
		return errors.New("want a clean path inside the repository (no ., .. or //)")
	}
	return nil
}
