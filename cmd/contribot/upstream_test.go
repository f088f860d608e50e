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
