// Package link finds references to upstream work in issue and pull request
// text: GitHub pull requests and issues outside the org, Gerrit changes,
// Launchpad bugs, GitLab merge requests and issues, and any other URL given
// on an "Upstream:" line. It is pure: no I/O.
package link

import (
	"strconv"
	"strings"
)

// Provider is the kind of system a reference lives in.
type Provider string

// Providers. Other is a link on an "Upstream:" line that no provider can
// check; it is shown, never polled.
const (
	GitHub    Provider = "github"
	Gerrit    Provider = "gerrit"
	Launchpad Provider = "launchpad"
	GitLab    Provider = "gitlab"
	Other     Provider = "link"
)

// Kind is what a reference points at.
type Kind string

// Kinds.
const (
	PR     Kind = "pr"     // GitHub pull request
	Issue  Kind = "issue"  // GitHub or GitLab issue
	Change Kind = "change" // Gerrit change
	Bug    Kind = "bug"    // Launchpad bug
	MR     Kind = "mr"     // GitLab merge request
	Page   Kind = "page"   // an untracked link
)

// Ref is one upstream item.
type Ref struct {
	Provider Provider
	// Host is the lower-case host of the link as written
	// ("review.opendev.org", "bugs.launchpad.net", "github.com").
	Host string
	// Project is "owner/repo" on GitHub, the Gerrit project
	// ("openstack/keystone"), the Launchpad bug target ("keystone", or
	// "ubuntu/+source/nova" for a distribution source package) or the
	// GitLab path ("group/sub/project"). It may be empty where the URL does not
	// name it (Gerrit's "#/c/N", Launchpad's "/bugs/N").
	Project string
	Kind    Kind
	// Number is the pull request, issue, change, bug or merge request
	// number; 0 for Other.
	Number int64
	// URL is the canonical URL: fragments, patch sets and sub-pages dropped.
	URL string
	// Scope is the org, in lower case, the reference is read for: what
	// the answer holds depends on who asks, so each org's items have their
	// own copy, read and kept apart (see ScopedBy). A GitHub reference is
	// read with that org's installation, which may see the org's private
	// repositories; a reference on a host the operator lets only some orgs
	// reach (an internal Gerrit) is read with that org's allowance. Empty
	// for references read anonymously from public hosts, which are shared,
	// and for a reference the parser just found.
	Scope string
}

// Key identifies a reference across the org, whatever form its URL was
// written in: a Gerrit change number and a Launchpad bug number are unique
// per host, so the project is not part of their key. A scoped reference's
// key ends in "@" and its scope.
func (r Ref) Key() string {
	n := strconv.FormatInt(r.Number, 10)
	var k string
	switch r.Provider {
	case Gerrit, Launchpad:
		k = string(r.Provider) + ":" + r.Host + ":" + n
	case GitHub, GitLab:
		k = string(r.Provider) + ":" + r.Host + ":" + strings.ToLower(r.Project) + ":" + string(r.Kind) + ":" + n
	default:
		return string(Other) + ":" + r.URL
	}
	if r.Scope != "" {
		k += "@" + r.Scope
	}
	return k
}

// Scoped is ScopedBy with no host read per org but GitHub.
func (r Ref) Scoped(org string) Ref { return r.ScopedBy(org, nil) }

// ScopedBy is the reference as the items of org track it. A GitHub
// reference is read with org's installation and kept apart from other
// orgs' copies; so is a reference on a host for which orgScoped reports
// true: a host whose answers depend on the org asking, such as an
// internal Gerrit the operator lets only some orgs reach. The others are
// shared. orgScoped gets the reference's Host; nil scopes none.
func (r Ref) ScopedBy(org string, orgScoped func(host string) bool) Ref {
	r.Scope = ""
	if r.Provider == GitHub || (r.Tracked() && orgScoped != nil && orgScoped(r.Host)) {
		r.Scope = strings.ToLower(org)
	}
	return r
}

// Tracked reports whether a provider can check the reference's state.
func (r Ref) Tracked() bool { return r.Provider != Other && r.Provider != "" }
