package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestUpstreamCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"upstream"}, 2, "did you mean `contribot upstream backfill --org ORG`?"},
		{[]string{"upstream", "sync"}, 2, "did you mean `contribot upstream backfill --org ORG`?"},
		{[]string{"upstream", "backfill"}, 2, `--org wants an organisation name such as SovereignCloudStack, got ""`},
		{[]string{"upstream", "backfill", "--org", "SovereignCloudStack/issues"}, 2, `got "SovereignCloudStack/issues"`},
		{[]string{"upstream", "backfill", "--org"}, 2, "flag needs an argument: -org"},
		{[]string{"upstream", "backfill", "--org", "x", "extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
	t.Run("without App credentials", func(t *testing.T) {
		t.Setenv("GITHUB_WEBHOOK_SECRET", "s")
		t.Setenv("GITHUB_APP_ID", "")
		t.Setenv("DATABASE_URL", t.TempDir()+"/c.db")
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"upstream", "backfill", "--org", "SovereignCloudStack"}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "backfill reads the org through the GitHub App: set GITHUB_APP_ID") {
			t.Errorf("exit %d, stderr %q; want exit 1 naming the missing credentials", code, stderr.String())
		}
	})
}

// TestUpstreamBackfill_QuotedErrorEscapes: backfill prints errors that
// quote other programs and services (GitHub's messages, the database
// driver's), which the command does not control; here the driver echoes
// the user and database names of DATABASE_URL. They reach the terminal as
// escapes (issue 11, class 9).
func TestUpstreamBackfill_QuotedErrorEscapes(t *testing.T) {
	t.Setenv("GITHUB_WEBHOOK_SECRET", "s")
	t.Setenv("GITHUB_APP_ID", "")
	t.Setenv("DATABASE_URL", "postgres://u\x1b]0;pwned\x07@127.0.0.1:1/db\u202e?connect_timeout=5")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"upstream", "backfill", "--org", "SovereignCloudStack"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, stderr %q; want 1", code, stderr.String())
	}
	assertTerminalSafe(t, "stderr", stderr.String())
	if want := `user=u\x1b]0;pwned\a database=db\u202e`; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%q", want, stderr.String())
	}
}
