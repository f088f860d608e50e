package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/sjson"
)

func TestRoute(t *testing.T) {
	read := func(path string, set map[string]any) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", path))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range set {
			if b, err = sjson.SetBytes(b, k, v); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	prComment := map[string]any{"issue.pull_request": map[string]any{"url": "x"}}
	tests := []struct {
		name, event string
		payload     []byte
		wantDCO     bool
	}{
		{"PR opened", "pull_request", read("pull_request/opened.json", nil), true},
		{"PR synchronize", "pull_request", read("pull_request/synchronize.json", nil), true},
		{"PR reopened", "pull_request", read("pull_request/reopened.json", nil), true},
		{"PR labeled", "pull_request", read("pull_request/labeled.json", nil), false},
		{"merge group", "merge_group", read("merge_group/checks_requested.json", nil), true},
		{"re-run of another app's check", "check_run", read("check_run/rerequested.json", nil), false},
		{"re-run of DCO", "check_run", read("check_run/rerequested.json", map[string]any{"check_run.name": "DCO"}), true},
		{"another app's button", "check_run", read("check_run/requested_action.json", nil), false},
		{"override button", "check_run", read("check_run/requested_action.json", map[string]any{"check_run.name": "DCO", "requested_action.identifier": "override"}), true},
		{"suite re-run", "check_suite", read("check_suite/rerequested.json", nil), true},
		{"comment on an issue", "issue_comment", read("issue_comment/created.with-installation.json", map[string]any{"comment.body": "/dco recheck"}), false},
		{"plain comment on a PR", "issue_comment", read("issue_comment/created.with-installation.json", prComment), false},
		{"command on a PR", "issue_comment", read("issue_comment/created.with-installation.json", map[string]any{"issue.pull_request": map[string]any{"url": "x"}, "comment.body": "thanks\n  /dco recheck"}), true},
		{"review with command", "pull_request_review", read("pull_request_review/submitted.json", map[string]any{"review.body": "/dco recheck"}), true},
		{"review without command", "pull_request_review", read("pull_request_review/submitted.json", nil), false},
		{"push", "push", read("push/with-installation.json", nil), false},
		{"unknown event", "sponsorship", read("pull_request/opened.json", nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Route(tt.event, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(routes) == 1 && routes[0].Feature == FeatureDCO; got != tt.wantDCO {
				t.Errorf("DCO routed = %v, want %v (%v)", got, tt.wantDCO, routes)
			}
		})
	}
}

func TestRouteMalformed(t *testing.T) {
	tests := []struct{ payload, want string }{
		{`{"action": "opened",,}`, "at byte 21"},
		{`[1, 2]`, "payload is a JSON array, want an object"},
		{``, "malformed JSON"},
	}
	for _, tt := range tests {
		_, err := Route("pull_request", []byte(tt.payload))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Route(%q) error = %v, want it to mention %q", tt.payload, err, tt.want)
		}
	}
}
