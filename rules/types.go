// Package rules is contribot's rules-file language: the types of
// .github/contribot.yml, a strict parser that reports file:line:column, the
// merge of built-in ⊕ org ⊕ repo layers, and the built-in SCS default.
package rules

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
