// Package setup describes contribot as a GitHub App: the App manifest with
// the least permissions and events its features need, and an optional web
// flow at /setup that registers the App on GitHub from that manifest.
//
// The permission and event lists live here once; the manifest, the
// `contribot manifest` command and the README's permission table are all
// derived from them, so they cannot drift apart.
package setup

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// Access is a permission level as GitHub names it in a manifest.
type Access string

// The two levels contribot asks for; it never needs "admin".
const (
	Read  Access = "read"
	Write Access = "write"
)

// Permission is one entry of an App's default_permissions.
type Permission struct {
	Access Access
	// Organization is true for organization permissions; they are listed
	// apart in GitHub's form and in the README.
	Organization bool
	// Title is the name GitHub's settings page shows.
	Title string
	// Why names the features that need the permission; it is the README's
	// explanation, so an admin can check each grant.
	Why string
}

// Permissions are the App's default_permissions by manifest key: exactly
// what the features use, at the lowest level that works.
var Permissions = map[string]Permission{
	"checks": {Write, false, "Checks",
		"DCO: create and update the `DCO` check run"},
	"contents": {Read, false, "Contents",
		"rules: read `.github/contribot.yml` and `.github/dco.yml`; DCO: compare commits for PRs over 250 commits and merge groups"},
	"issues": {Write, false, "Issues",
		"welcome: greet on a newcomer's first issue, and label it; upstream: read tracking items and their comments, write the status comment and the dashboard issue, set `upstream/*` labels"},
	// GitHub delivers merge_group events only to Apps holding this one.
	"merge_queues": {Read, false, "Merge queues",
		"DCO: receive `merge_group` events, so a merge queue gets a verdict"},
	// GitHub grants metadata to every App; listing it keeps the table complete.
	"metadata": {Read, false, "Metadata",
		"mandatory; also the collaborator permission check for the override button"},
	"pull_requests": {Write, false, "Pull requests",
		"DCO: list a PR's commits, read the PR on `/dco recheck`; labels: list a PR's files, list, create and set labels (GitHub takes this permission for a PR's labels); welcome: greet on a PR"},
	"members": {Read, true, "Members",
		"DCO: exempt members' verified commits when the rules set `require.members: false`; welcome: keep members whose membership is private from being greeted as newcomers"},
}

// Event is one webhook event the App subscribes to.
type Event struct {
	Name string
	// Why names the features that act on the event.
	Why string
}

// Events are the App's default_events. GitHub sends installation events to
// every App without a subscription, so they are not listed.
var Events = []Event{
	{"check_run", "DCO: a re-run of the `DCO` check, and its \"Set DCO to pass\" button"},
	{"check_suite", "DCO: \"Re-run all checks\""},
	{"issue_comment", "DCO: `/dco recheck` on a PR; upstream: `Upstream:` lines in comments"},
	{"issues", "welcome: a newcomer's first issue; upstream: the `upstream` label and `Upstream:` lines"},
	{"label", "labels and upstream: labels created or deleted in a repository"},
	{"merge_group", "DCO: the verdict for a merge queue's group"},
	{"pull_request", "DCO, module labels, welcome (first PR, first merged PR) and upstream"},
	{"pull_request_review", "DCO: `/dco recheck` in a review"},
	{"push", "rules: a push that changes a rules file drops the cached rules"},
	{"repository", "upstream: a repository made private or deleted leaves the public reports"},
}

// Options are what differs between deployments of the same App.
type Options struct {
	// Name is the App's name on GitHub (unique there, at most 34 characters).
	Name string
	// URL is the service's public base URL; the webhook and the setup
	// callback hang below it.
	URL         string
	Description string
	// Public lets other accounts install the App; an org running it for
	// itself leaves it false.
	Public bool
}

// DefaultName is the App name when none is given.
const DefaultName = "contribot"

// DefaultDescription is shown on the App's GitHub page when none is given.
const DefaultDescription = "Contributor workflow: DCO check, module labels, welcome comments and upstream tracking."

// maxNameLen is GitHub's limit on App names.
const maxNameLen = 34

// Validate reports what GitHub would refuse, or what would give an App
// that cannot reach this service, before a browser round trip finds out.
func (o Options) Validate() error {
	name := strings.TrimSpace(o.Name)
	switch {
	case name == "":
		return errors.New("the App name is empty")
	case utf8.RuneCountInString(name) > maxNameLen:
		return fmt.Errorf("the App name %q is longer than GitHub's %d characters", name, maxNameLen)
	}
	return ValidateURL(o.URL)
}

// ValidateURL accepts a public base URL: https, or plain http only on the
// loopback interface, because GitHub would send webhook secrets and the
// setup code in the clear to anything else.
func ValidateURL(raw string) error {
	if raw == "" {
		return errors.New("the public URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("the public URL %q: %w", raw, err)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("the public URL %q has no host; want e.g. https://contribot.example.org", raw)
	case u.User != nil:
		return fmt.Errorf("the public URL %q carries credentials; GitHub would show them on the App's page", raw)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return fmt.Errorf("the public URL %q has a query or fragment; the webhook path is appended to it", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("the public URL %q uses http; use https (plain http only for 127.0.0.1 or localhost)", raw)
	}
	return fmt.Errorf("the public URL %q is not an http(s) URL", raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AppManifest is a GitHub App manifest, as GitHub's "register a GitHub App
// from a manifest" flow takes it. (It is not called Manifest because the
// function that builds it is.)
type AppManifest struct {
	Name               string            `json:"name"`
	URL                string            `json:"url"`
	HookAttributes     HookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	Description        string            `json:"description"`
	Public             bool              `json:"public"`
	DefaultPermissions map[string]Access `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// HookAttributes is the App's webhook.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// Manifest builds the manifest for o. It does not validate o: call
// o.Validate first where the input comes from a person.
func Manifest(o Options) AppManifest {
	base := strings.TrimRight(o.URL, "/")
	name := strings.TrimSpace(o.Name)
	if name == "" {
		name = DefaultName
	}
	desc := o.Description
	if desc == "" {
		desc = DefaultDescription
	}
	perms := make(map[string]Access, len(Permissions))
	for k, p := range Permissions {
		perms[k] = p.Access
	}
	events := make([]string, len(Events))
	for i, e := range Events {
		events[i] = e.Name
	}
	return AppManifest{
		Name:               name,
		URL:                base,
		HookAttributes:     HookAttributes{URL: base + "/webhook", Active: true},
		RedirectURL:        base + CallbackPath,
		Description:        desc,
		Public:             o.Public,
		DefaultPermissions: perms,
		DefaultEvents:      events,
	}
}

// accessTitle is how GitHub's settings page names an access level.
func accessTitle(a Access) string {
	if a == Write {
		return "Read and write"
	}
	return "Read-only"
}

// PermissionTable renders Permissions as the README's Markdown table:
// repository permissions first, then organization ones, each by title.
func PermissionTable() string {
	keys := make([]string, 0, len(Permissions))
	for k := range Permissions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := Permissions[keys[i]], Permissions[keys[j]]
		if a.Organization != b.Organization {
			return !a.Organization
		}
		return a.Title < b.Title
	})
	var b strings.Builder
	b.WriteString("| permission | access | why |\n| --- | --- | --- |\n")
	for _, k := range keys {
		p := Permissions[k]
		title := p.Title
		if p.Organization {
			title += " (organization)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", title, accessTitle(p.Access), p.Why)
	}
	return b.String()
}

// EventList renders Events as a Markdown list for the README.
func EventList() string {
	var b strings.Builder
	for _, e := range Events {
		fmt.Fprintf(&b, "- `%s`: %s\n", e.Name, e.Why)
	}
	return b.String()
}
