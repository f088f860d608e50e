package app

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	base := Config{WebhookSecret: "s", Port: 3000, LogLevel: "info", UpstreamPollInterval: time.Hour, UpstreamPollJitter: 0.1, UpstreamRate: 2}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
		dryRun  bool
	}{
		{"no credentials is dry-run", func(*Config) {}, "", true},
		{"app id and key is live", func(c *Config) { c.AppID, c.PrivateKey = 1, "pem" }, "", false},
		{"app id and key file is live", func(c *Config) { c.AppID, c.PrivateKeyPath = 1, "/k.pem" }, "", false},
		{"app id without key is refused", func(c *Config) { c.AppID = 1 }, "neither GITHUB_PRIVATE_KEY nor GITHUB_PRIVATE_KEY_PATH", false},
		{"key without app id is refused", func(c *Config) { c.PrivateKey = "pem" }, "GITHUB_APP_ID is not", false},
		{"both key forms are refused", func(c *Config) { c.AppID, c.PrivateKey, c.PrivateKeyPath = 1, "pem", "/k" }, "not both", false},
		{"secret is required", func(c *Config) { c.WebhookSecret = "" }, "GITHUB_WEBHOOK_SECRET is required", true},
		{"bad port", func(c *Config) { c.Port = 70000 }, "not a TCP port", true},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "LOG_LEVEL", true},
		{"upstream poll too often", func(c *Config) { c.UpstreamPollInterval = time.Second }, "UPSTREAM_POLL_INTERVAL 1s is too short", true},
		{"upstream jitter too wide", func(c *Config) { c.UpstreamPollJitter = 2 }, "UPSTREAM_POLL_JITTER 2", true},
		{"upstream rate zero", func(c *Config) { c.UpstreamRate = 0 }, "UPSTREAM_RATE 0", true},
		{"short admin token", func(c *Config) { c.AdminToken = "secret" }, "ADMIN_TOKEN has 6 characters", true},
		{"long admin token", func(c *Config) { c.AdminToken = strings.Repeat("a", 32) }, "", true},
		{"redelivery every hour over 6h", func(c *Config) { c.RedeliverInterval, c.RedeliverSince = time.Hour, 6*time.Hour }, "", true},
		{"redelivery too often", func(c *Config) { c.RedeliverInterval, c.RedeliverSince = time.Second, 6*time.Hour }, "REDELIVER_INTERVAL 1s", true},
		{"redelivery window shorter than its interval", func(c *Config) { c.RedeliverInterval, c.RedeliverSince = 6*time.Hour, time.Hour }, "less than REDELIVER_SINCE (1h0m0s)", true},
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
			if tt.wantErr == "" && c.DryRun() != tt.dryRun {
				t.Errorf("DryRun() = %v, want %v", c.DryRun(), tt.dryRun)
			}
		})
	}
}
