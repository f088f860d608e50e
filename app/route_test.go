package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app/queue"
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
		want        string // the features routed, in order
	}{
		{"PR opened", "pull_request", read("pull_request/opened.json", nil), "dco,labels,upstream"},
		{"PR synchronize", "pull_request", read("pull_request/synchronize.json", nil), "dco,labels"},
		{"PR reopened", "pull_request", read("pull_request/reopened.json", nil), "dco,labels,upstream"},
		{"PR labeled", "pull_request", read("pull_request/labeled.json", nil), "labels,upstream"},
		{"merge group", "merge_group", read("merge_group/checks_requested.json", nil), "dco"},
		{"re-run of another app's check", "check_run", read("check_run/rerequested.json", nil), ""},
		{"re-run of DCO", "check_run", read("check_run/rerequested.json", map[string]any{"check_run.name": "DCO"}), "dco"},
		{"another app's button", "check_run", read("check_run/requested_action.json", nil), ""},
		{"override button", "check_run", read("check_run/requested_action.json", map[string]any{"check_run.name": "DCO", "requested_action.identifier": "override"}), "dco"},
		{"suite re-run", "check_suite", read("check_suite/rerequested.json", nil), "dco"},
		{"comment on an issue", "issue_comment", read("issue_comment/created.with-installation.json", map[string]any{"comment.body": "/dco recheck"}), ""},
		{"plain comment on a PR", "issue_comment", read("issue_comment/created.with-installation.json", prComment), ""},
		{"command on a PR", "issue_comment", read("issue_comment/created.with-installation.json", map[string]any{"issue.pull_request": map[string]any{"url": "x"}, "comment.body": "thanks\n  /dco recheck"}), "dco"},
		{"review with command", "pull_request_review", read("pull_request_review/submitted.json", map[string]any{"review.body": "/dco recheck"}), "dco"},
		{"review without command", "pull_request_review", read("pull_request_review/submitted.json", nil), ""},
		{"push", "push", read("push/with-installation.json", nil), ""},
		{"unknown event", "sponsorship", read("pull_request/opened.json", nil), ""},
		{"PR unlabeled", "pull_request", read("pull_request/unlabeled.json", nil), "labels,upstream"},
		{"PR title edited", "pull_request", read("pull_request/opened.json", map[string]any{"action": "edited", "changes": map[string]any{"title": map[string]any{"from": "x"}}}), "upstream"},
		{"PR base changed", "pull_request", read("pull_request/opened.json", map[string]any{"action": "edited", "changes": map[string]any{"base": map[string]any{"ref": map[string]any{"from": "develop"}}}}), "labels,upstream"},
		{"PR closed unmerged", "pull_request", read("pull_request/closed.json", map[string]any{"pull_request.merged": false}), "upstream"},
		{"PR merged by a newcomer", "pull_request", read("pull_request/closed.json", map[string]any{"pull_request.merged": true, "pull_request.author_association": "CONTRIBUTOR"}), "welcome,upstream"},
		{"PR merged by a member", "pull_request", read("pull_request/closed.json", map[string]any{"pull_request.merged": true, "pull_request.author_association": "MEMBER"}), "upstream"},
		{"PR opened by a newcomer", "pull_request", read("pull_request/opened.json", map[string]any{"pull_request.author_association": "NONE"}), "dco,labels,welcome,upstream"},
		{"PR opened by a bot", "pull_request", read("pull_request/opened.json", map[string]any{"pull_request.author_association": "NONE", "pull_request.user.type": "Bot"}), "dco,labels,upstream"},
		{"issue opened by its repo's owner", "issues", read("issues/opened.json", nil), "upstream"},
		{"issue opened by a newcomer", "issues", read("issues/opened.json", map[string]any{"issue.author_association": "NONE"}), "welcome,upstream"},
		{"issue transferred in (opened, with its old self)", "issues", read("issues/opened.json", map[string]any{"issue.author_association": "NONE", "changes.old_issue": map[string]any{"number": 9}}), "upstream"},
		// Upstream: the fixtures carry a label, so they may be tracking
		// items; without labels only a URL makes an item one.
		{"unlabelled issue without a URL", "issues", read("issues/opened.json", map[string]any{"issue.labels": []any{}}), ""},
		{"unlabelled issue with a URL", "issues", read("issues/opened.json", map[string]any{"issue.labels": []any{}, "issue.body": "Upstream: https://review.opendev.org/c/openstack/nova/+/1"}), "upstream"},
		{"edit that removes the last URL", "issues", read("issues/opened.json", map[string]any{"action": "edited", "issue.labels": []any{}, "changes.body.from": "Upstream: https://x.org/1"}), "upstream"},
		{"unlabelled PR without a URL", "pull_request", read("pull_request/closed.json", map[string]any{"pull_request.labels": []any{}}), ""},
		{"labelled issue deleted", "issues", read("issues/opened.json", map[string]any{"action": "deleted"}), "upstream"},
		{"unlabelled issue without a URL transferred", "issues", read("issues/opened.json", map[string]any{"action": "transferred", "issue.labels": []any{}}), ""},
		{"repository made private", "repository", read("repository/privatized.json", nil), "upstream"},
		{"repository made public", "repository", read("repository/publicized.json", nil), "upstream"},
		{"repository edited", "repository", read("repository/privatized.json", map[string]any{"action": "edited"}), ""},
		{"issue assigned", "issues", read("issues/opened.json", map[string]any{"action": "assigned"}), ""},
		{"comment with a URL", "issue_comment", read("issue_comment/created.with-installation.json", map[string]any{"comment.body": "see https://bugs.launchpad.net/nova/+bug/1"}), "upstream"},
		{"comment that lost its URL", "issue_comment", read("issue_comment/created.with-installation.json", map[string]any{"action": "edited", "changes.body.from": "see https://x.org"}), "upstream"},
		{"deleted comment without a URL", "issue_comment", read("issue_comment/created.with-installation.json", map[string]any{"action": "deleted"}), ""},
		{"issue edited", "issues", read("issues/opened.json", map[string]any{"action": "edited", "issue.author_association": "NONE"}), "upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Route(tt.event, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range routes {
				got = append(got, r.Feature)
				wantQueue := queue.QueueDefault
				if r.Feature == FeatureDCO {
					wantQueue = queue.QueuePriority
				}
				if r.Queue != wantQueue {
					t.Errorf("%s runs on queue %q, want %q", r.Feature, r.Queue, wantQueue)
				}
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("routed to %q, want %q", got, tt.want)
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
