package app

import (
	"strings"
	"testing"
	"time"
)

// TestConfigUpstreamLimits: the operator's allowance of internal hosts and
// the per-org read budgets are checked at start, not at the first poll.
func TestConfigUpstreamLimits(t *testing.T) {
	base := Config{WebhookSecret: "s", Port: 3000, LogLevel: "info", UpstreamPollInterval: time.Hour, UpstreamPollJitter: 0.1, UpstreamRate: 2}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"internal hosts, addresses and prefixes, each for an org or every org", func(c *Config) {
			c.UpstreamAllowInternal = "bob-org=gerrit.internal.example, *=10.0.0.5,bob-org=10.1.0.0/16,Codertocat=git.example.org:8443,*=[fd00::5]:8080"
		}, ""},
		{"the operator: an internal host without the orgs it serves", func(c *Config) { c.UpstreamAllowInternal = "gerrit.internal.example" },
			`UPSTREAM_ALLOW_INTERNAL: "gerrit.internal.example" names no org: write ORG=gerrit.internal.example to allow it for one org, or *=gerrit.internal.example for every org`},
		{"a URL is not a host", func(c *Config) { c.UpstreamAllowInternal = "bob-org=https://gerrit.internal.example/" }, "UPSTREAM_ALLOW_INTERNAL"},
		{"a bad prefix", func(c *Config) { c.UpstreamAllowInternal = "*=10.0.0.0/40" }, "UPSTREAM_ALLOW_INTERNAL"},
		{"the operator: an endpoint on an internal address no org may reach", func(c *Config) {
			c.UpstreamEndpoints = "gerrit:gerrit.corp.internal=http://10.0.0.5:8080/"
		}, "UPSTREAM_ENDPOINTS: the API of gerrit.corp.internal is on an internal address that UPSTREAM_ALLOW_INTERNAL allows for no org; add ORG=gerrit.corp.internal for the org it serves, or *=gerrit.corp.internal for every org"},
		{"an internal endpoint allowed for its org", func(c *Config) {
			c.UpstreamEndpoints = "gerrit:gerrit.corp.internal=http://10.0.0.5:8080/"
			c.UpstreamAllowInternal = "bob-org=gerrit.corp.internal"
		}, ""},
		{"a bad endpoint", func(c *Config) { c.UpstreamEndpoints = "gerrit.corp.internal" }, "UPSTREAM_ENDPOINTS"},
		{"budgets", func(c *Config) { c.UpstreamBudgetGitHub, c.UpstreamBudgetHost = 200, 100 }, ""},
		{"a negative budget", func(c *Config) { c.UpstreamBudgetHost = -1 }, "UPSTREAM_BUDGET_HOST -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			err := c.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}
