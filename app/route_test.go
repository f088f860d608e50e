package app

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app/labels"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/rulesload"
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

// realPayload is one of GitHub's webhook payloads from fixtures/github:
// the octokit/webhooks examples, byte for byte (provenance in
// fixtures/github/MANIFEST.json).
type realPayload struct {
	Event, File string
	Body        []byte
}

func realPayloads(t *testing.T) []realPayload {
	t.Helper()
	var out []realPayload
	files, _ := filepath.Glob(filepath.Join("..", "fixtures", "github", "*", "*.json"))
	for _, f := range files {
		event := filepath.Base(filepath.Dir(f))
		if event == "rest" || event == "schemas" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, realPayload{Event: event, File: f, Body: b})
	}
	if len(out) < 134 {
		t.Fatalf("found %d real payloads in fixtures/github, want the 134 octokit/webhooks examples", len(out))
	}
	return out
}

func escapePath(key string) string {
	var b strings.Builder
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// nullLaden returns, for each object or array of the payload, a copy with
// that one field set to null: the partial payloads a GitHub-shaped sender
// can produce.
func nullLaden(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	var paths []string
	walk(gjson.ParseBytes(body), "", &paths)
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := sjson.SetRawBytes(body, p, []byte("null"))
		if err != nil {
			t.Fatalf("null %s: %v", p, err)
		}
		out[p] = b
	}
	return out
}

// walk collects the path of every object and array, with array elements
// addressed by index.
func walk(r gjson.Result, prefix string, out *[]string) {
	i := 0
	r.ForEach(func(k, v gjson.Result) bool {
		var path string
		if r.IsArray() {
			path = fmt.Sprint(i)
			i++
		} else {
			path = escapePath(k.String())
		}
		if prefix != "" {
			path = prefix + "." + path
		}
		if v.IsObject() || v.IsArray() {
			*out = append(*out, path)
			walk(v, path, out)
		}
		return true
	})
}

// TestRoute_AnyoneWithTheSecret_NullLadenPayloads: no field shape may
// panic the intake (Route, and Accepted, which decodes push and
// installation payloads with go-github), nor the check work runs before
// any feature. Every object and array of every real payload is set to
// null, one at a time.
func TestRoute_AnyoneWithTheSecret_NullLadenPayloads(t *testing.T) {
	s := &Service{
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		rules:  rulesload.New(rulesload.Options{}),
		labels: &labels.Handler{},
	}
	variants := 0
	for _, p := range realPayloads(t) {
		for path, body := range nullLaden(t, p.Body) {
			variants++
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Errorf("%s with %s null: panic %v", p.File, path, v)
					}
				}()
				_, _ = Route(p.Event, body)
				_ = malformed(p.Event, body)
				s.accepted(p.Event, body)
			}()
		}
	}
	t.Logf("%d null-laden variants of real payloads", variants)
}

func TestAccepted_AnyoneWithTheSecret_NullCommit(t *testing.T) {
	s := &Service{log: slog.New(slog.NewTextHandler(io.Discard, nil)), rules: rulesload.New(rulesload.Options{}), labels: &labels.Handler{}}
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", "push", "with-installation.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A push to the default branch: only those can change the rules.
	if b, err = sjson.SetBytes(b, "ref", "refs/heads/master"); err != nil {
		t.Fatal(err)
	}
	for _, commits := range []string{`[null]`, `[null, {"added": [".github/contribot.yml"]}]`, `null`} {
		body, err := sjson.SetRawBytes(b, "commits", []byte(commits))
		if err != nil {
			t.Fatal(err)
		}
		s.accepted("push", body) // a panic fails the test
	}
}

// TestMalformed: what keeps a delivery from reaching any feature, named by
// field. Real payloads all pass.
func TestMalformed(t *testing.T) {
	for _, p := range realPayloads(t) {
		if _, routed := eventNeeds[p.Event]; !routed && p.Event != "repository" {
			continue
		}
		if !gjson.GetBytes(p.Body, "repository").Exists() {
			continue // organisation-level examples carry no repository; Route sends none of them to a feature
		}
		if got := malformed(p.Event, p.Body); got != "" {
			t.Errorf("real payload %s refused: %s", p.File, got)
		}
	}
	read := func(path string, edits ...func([]byte) []byte) []byte {
		b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", path))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range edits {
			b = e(b)
		}
		return b
	}
	set := func(path, raw string) func([]byte) []byte {
		return func(b []byte) []byte {
			out, err := sjson.SetRawBytes(b, path, []byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	del := func(path string) func([]byte) []byte {
		return func(b []byte) []byte {
			out, err := sjson.DeleteBytes(b, path)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	tests := []struct {
		name, event string
		payload     []byte
		want        string
	}{
		{"any GitHub user's issue, issue null", "issues", read("issues/opened.json", set("issue", "null")), "issue is null (want an object)"},
		{"check_suite without its suite", "check_suite", read("check_suite/rerequested.json", del("check_suite")), "check_suite is missing (want an object)"},
		{"pull_request null", "pull_request", read("pull_request/opened.json", set("pull_request", "null")), "pull_request is null (want an object)"},
		{"empty repository owner", "pull_request", read("pull_request/opened.json", set("repository.owner.login", `""`)), "repository.owner.login is empty (want a GitHub name)"},
		{"empty repository name", "pull_request", read("pull_request/opened.json", set("repository.name", `""`)), "repository.name is empty (want a GitHub name)"},
		{"owner that is a path", "pull_request", read("pull_request/opened.json", set("repository.owner.login", `"../orgs"`)), "repository.owner.login is not a GitHub name"},
		{"repository name ..", "issues", read("issues/opened.json", set("repository.name", `".."`)), "repository.name is not a GitHub name"},
		{"repository null", "issues", read("issues/opened.json", set("repository", "null")), "repository is null (want an object)"},
		{"repository event without full name", "repository", read("repository/privatized.json", set("repository.full_name", `""`)), "repository.full_name is empty (want owner/name)"},
		{"repository event with a path for a full name", "repository", read("repository/privatized.json", set("repository.full_name", `"a/../b"`)), "repository.full_name is not owner/name"},
		{"pull request number 0", "pull_request", read("pull_request/opened.json", set("pull_request.number", "0")), "pull_request.number is not a positive number"},
		{"pull request number a string", "pull_request", read("pull_request/opened.json", set("pull_request.number", `"2"`)), "pull_request.number is not a positive number"},
		{"head SHA missing", "pull_request", read("pull_request/synchronize.json", del("pull_request.head.sha")), "pull_request.head.sha is missing (want a commit SHA)"},
		{"head null", "pull_request", read("pull_request/synchronize.json", set("pull_request.head", "null")), "pull_request.head.sha is missing"},
		{"review null", "pull_request_review", read("pull_request_review/submitted.json", set("review", "null")), "review is null"},
		{"comment null", "issue_comment", read("issue_comment/created.with-installation.json", set("comment", "null")), "comment is null (want an object)"},
		{"issue number missing", "issue_comment", read("issue_comment/created.with-installation.json", del("issue.number")), "issue.number is missing"},
		{"button press without its action", "check_run", read("check_run/requested_action.json", set("requested_action", "null")), "requested_action is null"},
		{"check run without id", "check_run", read("check_run/rerequested.json", del("check_run.id")), "check_run.id is missing"},
		{"merge group null", "merge_group", read("merge_group/checks_requested.json", set("merge_group", "null")), "merge_group is null"},
		{"merge group head not a SHA", "merge_group", read("merge_group/checks_requested.json", set("merge_group.head_sha", `"main"`)), "merge_group.head_sha is not a commit SHA"},
		{"whole payload empty", "issues", []byte(`{}`), "repository is missing"},
		{"requested_action only matters for that action", "check_run", read("check_run/rerequested.json", set("requested_action", "null")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := malformed(tt.event, tt.payload)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("malformed = %q, want %q", got, tt.want)
			}
		})
	}
}
