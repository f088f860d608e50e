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
		{"internal hosts, addresses and prefixes", func(c *Config) {
			c.UpstreamAllowInternal = "gerrit.internal.example, 10.0.0.5,10.1.0.0/16,git.example.org:8443,[fd00::5]:8080"
		}, ""},
		{"a URL is not a host", func(c *Config) { c.UpstreamAllowInternal = "https://gerrit.internal.example/" }, "UPSTREAM_ALLOW_INTERNAL"},
		{"a bad prefix", func(c *Config) { c.UpstreamAllowInternal = "10.0.0.0/40" }, "UPSTREAM_ALLOW_INTERNAL"},
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
