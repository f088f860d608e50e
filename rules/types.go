// Package rules is contribot's rules-file language: the types of
// .github/contribot.yml, a strict parser that reports file:line:column, the
// merge of built-in ⊕ org ⊕ repo layers, and the built-in SCS default.
package rules

import (
	"regexp"
	"strings"
)

// Rules is the effective configuration of one repository after merging.
// Every feature reads only its own section.
type Rules struct {
	// Extends names the repository ("owner/repo" or "owner/repo:path") whose
	// file is the org layer for this repo. Empty means the org's .github
	// repository; "none" means no org layer at all.
	Extends string `yaml:"extends" json:"extends,omitempty"`
	// Locked lists top-level sections (e.g. "dco") that lower layers may not
	// change. Only meaningful in the built-in and org layers.
	Locked []string `yaml:"locked" json:"locked,omitempty"`
	DCO    DCO      `yaml:"dco" json:"dco"`
	// Modules are the parts of the organisation's product, by name
	// ("storage"), each with the label that marks it.
	Modules map[string]Module `yaml:"modules" json:"modules,omitempty"`
	Labels  Labels            `yaml:"labels" json:"labels"`
	Welcome Welcome           `yaml:"welcome" json:"welcome"`
	// Upstream tracks the organisation's contributions to upstream
	// projects.
	Upstream Upstream `yaml:"upstream" json:"upstream"`
}

// The labels contribot sets itself on tracking items under
// upstream.labels. They share one prefix so that a repository's label
// list groups them and upstream.label can be told apart from them.
const (
	UpstreamLabelPrefix = "upstream/"
	UpstreamLabelMerged = UpstreamLabelPrefix + "merged"
	UpstreamLabelStale  = UpstreamLabelPrefix + "stale"
)

// Upstream configures the tracking of upstream work: issues and pull
// requests of the organisation (tracking items) that point at changes,
// bugs or merge requests in upstream projects.
type Upstream struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Label marks tracking items. Items with "Upstream: <url>" lines in
	// their body are tracked with or without it; empty means only those.
	Label string `yaml:"label" json:"label,omitempty"`
	// Comments also reads "Upstream: <url>" lines from comments by the
	// item's author and by maintainers (OWNER, MEMBER, COLLABORATOR);
	// other people's comments could otherwise steer the dashboard.
	Comments bool `yaml:"comments" json:"comments"`
	// Gerrit and GitLab are the host names (no scheme, port or path) whose
	// change and merge-request links are tracked; GitHub and Launchpad
	// links need no configuration. A host in both is read as Gerrit.
	Gerrit []string `yaml:"gerrit" json:"gerrit,omitempty"`
	GitLab []string `yaml:"gitlab" json:"gitlab,omitempty"`
	// StatusComment keeps one comment on each tracking item with the
	// state of its upstream items, edited in place as they change.
	StatusComment bool `yaml:"status_comment" json:"status_comment"`
	// StaleAfter is how long an open upstream item may go without
	// activity before it counts as stale; always more than zero.
	StaleAfter Duration `yaml:"stale_after" json:"stale_after"`
	// Labels adds and removes UpstreamLabelMerged and UpstreamLabelStale
	// on tracking items as their upstream items change.
	Labels bool `yaml:"labels" json:"labels"`
	// ShowPrivate lists items from private repositories on the /upstream
	// page and the dashboard; both are public, so it is off unless an org
	// chooses to reveal them.
	ShowPrivate bool              `yaml:"show_private" json:"show_private"`
	Dashboard   UpstreamDashboard `yaml:"dashboard" json:"dashboard"`
}

// UpstreamDashboard is the one issue that lists every tracking item of the
// organisation and the state of its upstream items.
type UpstreamDashboard struct {
	// Repo is "owner/name" of the repository that holds the issue; empty
	// means no dashboard.
	Repo string `yaml:"repo" json:"repo,omitempty"`
	// Title is the issue's title; never empty while Repo is set.
	Title string `yaml:"title" json:"title,omitempty"`
}

// Welcome scopes for welcome.scope.
const (
	ScopeOrg  = "org"
	ScopeRepo = "repo"
)

// Welcome configures greetings for newcomers.
type Welcome struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Scope is "org" (a person's first contribution anywhere in the org)
	// or "repo" (in this repository).
	Scope string `yaml:"scope" json:"scope"`
	// Links are named URLs the templates use as {{.Links.name}}.
	Links map[string]string `yaml:"links" json:"links,omitempty"`
	// Label is added to a newcomer's first issue or pull request; empty
	// means none.
	Label string `yaml:"label" json:"label,omitempty"`
	// FirstIssue, FirstPR and FirstMerged are text/template sources, each
	// optional: an empty one greets nobody on that occasion. They see
	// WelcomeData.
	FirstIssue  string `yaml:"first_issue" json:"first_issue,omitempty"`
	FirstPR     string `yaml:"first_pr" json:"first_pr,omitempty"`
	FirstMerged string `yaml:"first_merged_pr" json:"first_merged_pr,omitempty"`
}

// WelcomeData is what welcome templates see. Text that the contributor
// controls is already escaped for Markdown: Title is a code span, so it
// cannot mention anyone, link anywhere or carry HTML.
type WelcomeData struct {
	// Login is the contributor's GitHub login, safe to write as @{{.Login}}.
	Login string
	// Repo is "owner/name", Org the owner.
	Repo, Org string
	// Kind is "issue" or "pull request".
	Kind   string
	Number int
	// Title is the issue's or pull request's title as Markdown code.
	Title string
	// URL is the issue's or pull request's page.
	URL string
	// Modules are the labels of the modules the pull request touches, as
	// far as they are known when the greeting is written.
	Modules []string
	// Links are the rules' welcome.links.
	Links map[string]string
}

// Pos is where a list entry was written, filled by the parser for entries
// whose struct has a Pos field, so that explanations can cite file:line.
type Pos struct {
	Line, Column int
}

// Module is one part of the product and the label that marks its PRs.
type Module struct {
	// Label is the label's name; empty means the module's name.
	Label string `yaml:"label" json:"label,omitempty"`
	// Description and Color are used only when contribot creates a missing
	// label (labels.create_missing); existing labels are never changed.
	Description string `yaml:"description" json:"description,omitempty"`
	Color       string `yaml:"color" json:"color,omitempty"`
	// Implies names modules that a PR touching this one touches too, e.g.
	// storage implies IaaS.
	Implies []string `yaml:"implies" json:"implies,omitempty"`
}

// LabelOf returns the label of the module called name: its Label, or the
// name itself when Label is empty.
func (m Module) LabelOf(name string) string {
	if l := strings.TrimSpace(m.Label); l != "" {
		return l
	}
	return name
}

// Sync policies for labels.sync.
const (
	SyncAddOnly = "add-only"
	SyncManaged = "managed"
)

// Labels configures module labelling of pull requests.
type Labels struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Sync is "add-only" (never remove) or "managed" (also remove owned
	// labels that the rules no longer give, unless a person added them).
	Sync string `yaml:"sync" json:"sync"`
	// Owned lists the labels contribot may remove under sync: managed.
	Owned Owned `yaml:"owned" json:"owned"`
	// CreateMissing creates a label the rules want but the repository lacks;
	// otherwise the label is skipped and logged.
	CreateMissing CreateMissing `yaml:"create_missing" json:"create_missing"`
	// MaxLabels and MaxFiles are the guards for tree-wide changes: a PR
	// that would get more module labels than MaxLabels, or changes more
	// files than MaxFiles, gets the Fallback label instead of the labels
	// its paths give. Zero means no limit.
	MaxLabels int `yaml:"max_labels" json:"max_labels"`
	MaxFiles  int `yaml:"max_files" json:"max_files"`
	// Fallback is the label for tree-wide changes; empty means none.
	Fallback string `yaml:"fallback" json:"fallback,omitempty"`
	// Rules map repositories, paths and titles to modules. A PR gets a
	// module when every condition a rule sets holds.
	Rules []LabelRule `yaml:"rules" json:"rules,omitempty"`
	Size  Size        `yaml:"size" json:"size"`
}

// Owned names the labels contribot owns, by prefix ("area/") and by name.
type Owned struct {
	Prefixes []string `yaml:"prefixes" json:"prefixes,omitempty"`
	Names    []string `yaml:"names" json:"names,omitempty"`
}

// CreateMissing says whether and how contribot creates a wanted label
// that does not exist in the repository. Color and Description apply to
// labels whose module sets none.
type CreateMissing struct {
	Enabled     bool   `yaml:"enabled" json:"enabled"`
	Color       string `yaml:"color" json:"color,omitempty"`
	Description string `yaml:"description" json:"description,omitempty"`
}

// LabelRule gives modules to a PR when all of its conditions hold: the
// repository matches one of Repos, the changed files match Files, and the
// title matches Title. A rule sets at least one condition.
type LabelRule struct {
	Pos Pos `yaml:"-" json:"-"`
	// Name says in explanations why the rule exists; optional.
	Name string `yaml:"name" json:"name,omitempty"`
	// Repos are globs over "owner/name"; a pattern without "/" matches the
	// repository name in any owner.
	Repos []string  `yaml:"repos" json:"repos,omitempty"`
	Files FileGlobs `yaml:"files" json:"files"`
	// Title is a regular expression (RE2) matched against the PR title.
	Title   string   `yaml:"title" json:"title,omitempty"`
	Modules []string `yaml:"modules" json:"modules"`
	// title is Title compiled, set by Merge; see MatchTitle.
	title *regexp.Regexp
	// any and all are Files.Any and Files.All compiled, set by Merge; see
	// MatchAny and MatchAll.
	any, all []*Glob
}

// FileGlobs match changed paths with ** globs. Any holds when some changed
// file matches one of its globs; All holds when every changed file
// matches one of its globs.
type FileGlobs struct {
	Any []string `yaml:"any" json:"any,omitempty"`
	All []string `yaml:"all" json:"all,omitempty"`
}

// Size configures size/XS … size/XXL labels from additions plus deletions.
// A PR gets the largest size whose threshold it reaches; below S it is XS.
type Size struct {
	Enabled    bool           `yaml:"enabled" json:"enabled"`
	Thresholds SizeThresholds `yaml:"thresholds" json:"thresholds"`
}

// SizeThresholds are the changed-line counts at which each size starts.
type SizeThresholds struct {
	S   int `yaml:"S" json:"S"`
	M   int `yaml:"M" json:"M"`
	L   int `yaml:"L" json:"L"`
	XL  int `yaml:"XL" json:"XL"`
	XXL int `yaml:"XXL" json:"XXL"`
}

// DCO configures the Developer Certificate of Origin check.
type DCO struct {
	// Enabled false turns the check into a neutral "disabled by rules" run
	// rather than no run, so branch protection never waits forever.
	Enabled bool    `yaml:"enabled" json:"enabled"`
	Require Require `yaml:"require" json:"require"`
	// Remediation enables the Probot DCO app's remediation commits.
	Remediation Remediation `yaml:"remediation" json:"remediation"`
	// SkipBots skips commits whose GitHub author has type "Bot".
	SkipBots bool `yaml:"skip_bots" json:"skip_bots"`
	// Allow exempts automation that signs off under another identity, such as
	// Dependabot signing off as support@github.com.
	Allow Allow `yaml:"allow" json:"allow"`
	// RecheckCommand is the comment line that re-runs the check.
	RecheckCommand string `yaml:"recheck_command" json:"recheck_command"`
	// Override offers maintainers the "Set DCO to pass" button.
	Override bool `yaml:"override" json:"override"`
}

// Require mirrors the Probot DCO app's `require` block.
type Require struct {
	// Members false exempts verified commits by org members.
	Members bool `yaml:"members" json:"members"`
}

// Remediation mirrors the Probot DCO app's `allowRemediationCommits` block.
type Remediation struct {
	Individual bool `yaml:"individual" json:"individual"`
	ThirdParty bool `yaml:"third_party" json:"third_party"`
}

// Allow lists commit authors that are exempt from the sign-off rule.
type Allow struct {
	Logins []string `yaml:"logins" json:"logins,omitempty"`
	Emails []string `yaml:"emails" json:"emails,omitempty"`
}
