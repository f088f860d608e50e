package app

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app/labels"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/rulesload"
	"github.com/SovereignCloudStack/contribot/app/server"
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
				_, _ = vet(queue.Job{WebhookArgs: queue.WebhookArgs{Event: p.Event, Delivery: "d"}, Payload: body})
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

// TestAccepted_PushFindsRulesChanges: a push to the default branch drops
// the cached rules when one of its commits adds, changes or removes a rules
// file; the commit lists are read in place, whatever their shape.
func TestAccepted_PushFindsRulesChanges(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", "push", "with-installation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err = sjson.SetBytes(b, "ref", "refs/heads/master"); err != nil {
		t.Fatal(err)
	}
	many := `[` + strings.Repeat(`{"added":["a.go"],"modified":["b.go"]},`, 2047) + `{"removed":[".github/contribot.yml"]}]`
	tests := []struct {
		name, ref, commits string
		want               bool
	}{
		{"rules added", "", `[{"added":[".github/contribot.yml"]}]`, true},
		{"rules modified in a later commit", "", `[{"added":["x"]},{"modified":["README.md",".github/contribot.yml"]}]`, true},
		{"rules removed in the last of 2048 commits", "", many, true},
		{"other files", "", `[{"added":["x"],"modified":["y"],"removed":["z"]}]`, false},
		{"another branch", "refs/heads/feature", `[{"added":[".github/contribot.yml"]}]`, false},
		{"anyone with the secret: a file list that is a string", "", `[{"added":".github/contribot.yml"}]`, false},
		{"anyone with the secret: commits that are an object", "", `{"a":{"added":[".github/contribot.yml"]}}`, false},
		{"anyone with the secret: a file that is a number", "", `[{"added":[7]}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Service{log: slog.New(slog.NewTextHandler(&logs, nil)), rules: rulesload.New(rulesload.Options{}), labels: &labels.Handler{}}
			body := set("commits", tt.commits)(b)
			if tt.ref != "" {
				body = set("ref", `"`+tt.ref+`"`)(body)
			}
			s.accepted("push", body)
			if got := strings.Contains(logs.String(), "rules changed; cache dropped"); got != tt.want {
				t.Errorf("cache dropped: %v, want %v (%s)", got, tt.want, logs.String())
			}
		})
	}
}

// TestAccepted_AnyoneWithTheSecret_PushIsNotDecodedWhole: intake decoded a
// whole push with go-github to read its file lists, inside the request;
// 8 million empty commits took 745 MiB. What it allocates now is a copy of
// the commit list.
func TestAccepted_AnyoneWithTheSecret_PushIsNotDecodedWhole(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", "push", "with-installation.json"))
	if err != nil {
		t.Fatal(err)
	}
	b = set("ref", `"refs/heads/master"`)(b)
	s := &Service{log: slog.New(slog.NewTextHandler(io.Discard, nil)), rules: rulesload.New(rulesload.Options{}), labels: &labels.Handler{}}
	tests := []struct{ name, commits string }{
		{"10,000 empty commits (the element bound)", "[" + strings.Repeat("{},", 9_999) + "{}]"},
		{"2048 commits of 40 files", "[" + strings.TrimSuffix(strings.Repeat(`{"id":"0123456789012345678901234567890123456789","message":"m","author":{"name":"a","email":"a@b"},"added":[`+
			strings.TrimSuffix(strings.Repeat(`"src/some/where/file.go",`, 40), ",")+`]},`, 2048), ",") + "]"},
	}
	for _, tt := range tests {
		body := set("commits", tt.commits)(b)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s.accepted("push", body)
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d KiB payload, accepted allocated %d KiB", tt.name, len(body)>>10, allocated>>10)
		if allocated > 2*uint64(len(body)) {
			t.Errorf("%s: accepted allocated %d KiB for a %d KiB push, want at most twice the payload", tt.name, allocated>>10, len(body)>>10)
		}
	}
}

// TestDecode_AnyoneWithTheSecret_WorstShapeWithinBounds: what the intake's
// shape bounds (server.MaxElements, server.MaxValues) let through costs
// go-github's decoder a bounded amount. For each event a feature decodes,
// every slice and map the event's types hold is filled with empty elements,
// the most expensive first, as far as the bounds allow; before the bounds,
// 8 million {} in one array decoded into 861 MiB.
func TestDecode_AnyoneWithTheSecret_WorstShapeWithinBounds(t *testing.T) {
	const bound = 32 << 20
	for _, event := range []string{"pull_request", "pull_request_review", "issues", "issue_comment", "check_run", "check_suite", "repository", "merge_group"} {
		t.Run(event, func(t *testing.T) {
			var slots []slot
			collectSlots(reflect.TypeOf(github.EventForType(event)).Elem(), "", 0, map[reflect.Type]bool{}, &slots)
			sort.SliceStable(slots, func(i, j int) bool { return slots[i].cost > slots[j].cost })
			body := []byte(`{}`)
			values := 1
			for _, sl := range slots {
				n := min(server.MaxElements, server.MaxValues-values-10) // the path's own objects
				if n <= 0 {
					break
				}
				var raw string
				if sl.isMap {
					raw = "{" + strings.TrimSuffix(strings.Repeat(`"k":`+sl.elem+`,`, n), ",") + "}"
				} else {
					raw = "[" + strings.TrimSuffix(strings.Repeat(sl.elem+",", n), ",") + "]"
				}
				var err error
				if body, err = sjson.SetRawBytes(body, sl.path, []byte(raw)); err != nil {
					t.Fatal(err)
				}
				values += n + strings.Count(sl.path, ".") + 1
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := github.ParseWebHook(event, body)
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d slices and maps, %d KiB payload of about %d values: decode allocated %d MiB (%v)", len(slots), len(body)>>10, values, allocated>>20, err)
			if allocated > bound {
				t.Errorf("decoding allocated %d MiB, want at most %d MiB", allocated>>20, bound>>20)
			}
		})
	}
}

// slot is a slice or map in an event's types, at a JSON path, with what
// one empty element of it costs the decoder.
type slot struct {
	path, elem string
	isMap      bool
	cost       uintptr
}

// collectSlots walks t's JSON fields, not following a type into itself.
func collectSlots(t reflect.Type, prefix string, depth int, seen map[reflect.Type]bool, out *[]slot) {
	if depth > 8 || seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		path := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Struct:
			if ft.NumField() > 0 && ft != reflect.TypeOf(github.Timestamp{}) {
				collectSlots(ft, path+".", depth+1, seen, out)
			}
		case reflect.Slice, reflect.Map:
			et := ft.Elem()
			if ft.Kind() == reflect.Slice && et.Kind() == reflect.Uint8 {
				continue // raw JSON or bytes, not elements
			}
			cost := et.Size()
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
				cost += et.Size()
			}
			elem := `""`
			switch et.Kind() {
			case reflect.Struct, reflect.Map, reflect.Interface:
				elem = "{}"
			case reflect.Bool:
				elem = "false"
			case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
				elem = "0"
			}
			*out = append(*out, slot{path: path, elem: elem, isMap: ft.Kind() == reflect.Map, cost: cost})
		}
	}
}

// TestVet: what keeps a delivery from reaching any feature, named by
// field and never by value. Real payloads all pass.
func TestVet(t *testing.T) {
	job := func(event string, payload []byte) queue.Job {
		return queue.Job{WebhookArgs: queue.WebhookArgs{Event: event, Delivery: "d-1"}, Payload: payload}
	}
	withInstallation := func(b []byte) []byte {
		out, err := sjson.SetRawBytes(b, "installation", []byte(`{"id": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, p := range realPayloads(t) {
		routes, err := Route(p.Event, p.Body)
		if err != nil || len(routes) == 0 {
			continue // only what a feature is sent is vetted
		}
		body := withInstallation(p.Body)
		if _, err := github.ParseWebHook(p.Event, body); err != nil {
			continue // the documentation's check_run app timestamps (TestUndecodablePayloadIsReportedNotRetried)
		}
		if _, err := vet(job(p.Event, body)); err != nil {
			t.Errorf("real payload %s refused: %v", p.File, err)
		}
	}
	read := func(path string, edits ...func([]byte) []byte) []byte {
		b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", path))
		if err != nil {
			t.Fatal(err)
		}
		b = withInstallation(b)
		if strings.HasPrefix(path, "check_run/") {
			// go-github cannot decode the documentation's app timestamps.
			edits = append([]func([]byte) []byte{del("check_run.app"), del("check_run.check_suite.app")}, edits...)
		}
		for _, e := range edits {
			b = e(b)
		}
		return b
	}
	tests := []struct {
		name, event string
		payload     []byte
		want        string
	}{
		{"any GitHub user's issue, issue null", "issues", read("issues/opened.json", set("issue", "null")), "issue is missing or null (want an object)"},
		{"check_suite without its suite", "check_suite", read("check_suite/rerequested.json", del("check_suite")), "check_suite is missing or null (want an object)"},
		{"pull_request null", "pull_request", read("pull_request/opened.json", set("pull_request", "null")), "pull_request is missing or null (want an object)"},
		{"empty repository owner", "pull_request", read("pull_request/opened.json", set("repository.owner.login", `""`)), "repository.owner.login is empty (want a GitHub name)"},
		{"empty repository name", "pull_request", read("pull_request/opened.json", set("repository.name", `""`)), "repository.name is empty (want a GitHub name)"},
		{"owner that is a path", "pull_request", read("pull_request/opened.json", set("repository.owner.login", `"../orgs"`)), "repository.owner.login is not a GitHub name"},
		{"repository name ..", "issues", read("issues/opened.json", set("repository.name", `".."`)), "repository.name is not a GitHub name"},
		{"repository null", "issues", read("issues/opened.json", set("repository", "null")), "repository is missing or null (want an object)"},
		{"repository event without full name", "repository", read("repository/privatized.json", set("repository.full_name", `""`)), "repository.full_name is empty (want owner/name)"},
		{"repository event with a path for a full name", "repository", read("repository/privatized.json", set("repository.full_name", `"a/../b"`)), "repository.full_name is not owner/name"},
		{"pull request number 0", "pull_request", read("pull_request/opened.json", set("pull_request.number", "0")), "pull_request.number is not a positive number"},
		{"pull request number a string", "pull_request", read("pull_request/opened.json", set("pull_request.number", `"2"`)), "decode pull_request delivery d-1: pull_request.number is a JSON string, which does not fit Go type int"},
		{"head SHA missing", "pull_request", read("pull_request/synchronize.json", del("pull_request.head.sha")), "pull_request.head.sha is missing or null (want a commit SHA)"},
		{"head null", "pull_request", read("pull_request/synchronize.json", set("pull_request.head", "null")), "pull_request.head.sha is missing"},
		{"review null", "pull_request_review", read("pull_request_review/submitted.json", set("review", "null")), "review is missing or null"},
		{"comment null", "issue_comment", read("issue_comment/created.with-installation.json", set("comment", "null")), "comment is missing or null (want an object)"},
		{"issue number missing", "issue_comment", read("issue_comment/created.with-installation.json", del("issue.number")), "issue.number is missing"},
		{"button press without its action", "check_run", read("check_run/requested_action.json", set("requested_action", "null")), "requested_action is missing or null"},
		{"check run without id", "check_run", read("check_run/rerequested.json", del("check_run.id")), "check_run.id is missing"},
		{"merge group null", "merge_group", read("merge_group/checks_requested.json", set("merge_group", "null")), "merge_group is missing or null"},
		{"merge group head not a SHA", "merge_group", read("merge_group/checks_requested.json", set("merge_group.head_sha", `"main"`)), "merge_group.head_sha is not a commit SHA"},
		{"whole payload empty", "issues", []byte(`{"installation":{"id":1}}`), "repository is missing or null"},
		{"requested_action only matters for that action", "check_run", read("check_run/rerequested.json", set("requested_action", "null")), ""},
		// Issue 11, class 6 follow-up: what the features read is checked,
		// not what a JSON reader sees first.
		{"anyone with the secret: a second repository, empty", "pull_request", read("pull_request/synchronize.json", appendKey("repository", `{"owner":{"login":""},"name":""}`)), "repository.owner.login is empty"},
		{"anyone with the secret: REPOSITORY in capitals", "pull_request", read("pull_request/synchronize.json", appendKey("REPOSITORY", `{"owner":{"login":""},"name":""}`)), "repository.owner.login is empty"},
		{"anyone with the secret: a second pull_request, null", "pull_request", read("pull_request/synchronize.json", appendKey("pull_request", "null")), "pull_request is missing or null"},
		{"anyone with the secret: Pull_Request null", "pull_request", read("pull_request/opened.json", appendKey("Pull_Request", "null")), "pull_request is missing or null"},
		{"anyone with the secret: a second issue, null", "issues", read("issues/opened.json", appendKey("issue", "null")), "issue is missing or null"},
		{"anyone with the secret: Issue numbered 0", "issues", read("issues/opened.json", appendKey("Issue", `{"number":0}`)), "issue.number is not a positive number"},
		{"anyone with the secret: a repository that is a path", "issues", read("issues/opened.json", appendKey("repository", `{"owner":{"login":"../../x"},"name":"a/b"}`)), "repository.owner.login is not a GitHub name"},
		{"anyone with the secret: a second installation, 0", "pull_request", read("pull_request/opened.json", appendKey("installation", `{"id":0}`)), "names no installation"},
		{"anyone with the secret: installation -1", "pull_request", read("pull_request/opened.json", set("installation.id", "-1")), "names no installation"},
		{"anyone with the secret: a suite's pull request numbered 0", "check_suite", read("check_suite/rerequested.json", set("check_suite.pull_requests.0.number", "0")), "check_suite.pull_requests[0].number is not a positive number"},
		{"anyone with the secret: a suite's pull request null", "check_suite", read("check_suite/rerequested.json", set("check_suite.pull_requests", `[{"number":3},null]`)), "check_suite.pull_requests[1] is missing or null"},
		{"anyone with the secret: a run's pull request numbered -1", "check_run", read("check_run/rerequested.json", set("check_run.pull_requests.0.number", "-1")), "check_run.pull_requests[0].number is not a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vet(job(tt.event, tt.payload))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("vet = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestVet_AnyoneWithTheSecret_DecodeErrorsNameTheFieldNotTheValue: a
// number too large for its field went whole (1 MB) into the job's error,
// the log and the database.
func TestVet_AnyoneWithTheSecret_DecodeErrorsNameTheFieldNotTheValue(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", "pull_request", "opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	huge := "9" + strings.Repeat("0", 1_000_000)
	tests := []struct {
		name, path, raw, want string
	}{
		{"a 1 MB number", "pull_request.additions", huge, "pull_request.additions is a JSON number, which does not fit Go type int"},
		{"a long string for a number", "pull_request.additions", `"` + huge + `"`, "pull_request.additions is a JSON string"},
		{"a long timestamp", "pull_request.created_at", `"` + huge + `"`, "a timestamp is neither RFC 3339 nor Unix seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := sjson.SetRawBytes(b, tt.path, []byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			_, err = vet(queue.Job{WebhookArgs: queue.WebhookArgs{Event: "pull_request", Delivery: "d"}, Payload: body})
			if err == nil || !strings.Contains(err.Error(), tt.want) || len(err.Error()) > 500 {
				t.Errorf("error of %d bytes: %.300v, want it to say %q", len(fmt.Sprint(err)), err, tt.want)
			}
		})
	}
}

func set(path, raw string) func([]byte) []byte {
	return func(b []byte) []byte {
		out, err := sjson.SetRawBytes(b, path, []byte(raw))
		if err != nil {
			panic(err)
		}
		return out
	}
}

func del(path string) func([]byte) []byte {
	return func(b []byte) []byte {
		out, err := sjson.DeleteBytes(b, path)
		if err != nil {
			panic(err)
		}
		return out
	}
}

// appendKey adds key as the top-level object's last member, after any of
// the same name: what encoding/json reads, and gjson does not.
func appendKey(key, raw string) func([]byte) []byte {
	return func(b []byte) []byte {
		b = bytes.TrimRight(b, " \n\r\t")
		return fmt.Appendf(bytes.Clone(b[:len(b)-1]), ",%q:%s}", key, raw)
	}
}

func TestHasSlashLine(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{"empty", "", false},
		{"a command", "/dco recheck", true},
		{"indented, after text", "thanks!\r\n   /dco recheck\nbye", true},
		{"a slash inside a line", "see a/b", false},
		{"last line, no newline", "a\nb\n/x", true},
		{"only newlines", strings.Repeat("\n", 1000), false},
	}
	for _, tt := range tests {
		if got := hasSlashLine(tt.body); got != tt.want {
			t.Errorf("%s: hasSlashLine = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRoute_AnyoneWithTheSecret_ManyLinesAllocateLittle: a pull request
// comment or review of 12 million empty lines cost Route 343 MiB (the lines
// split into a slice). The line scan allocates nothing; Route as a whole
// allocates what reading the body's fields costs (gjson copies and
// unescapes a string value), a small multiple of the payload.
func TestRoute_AnyoneWithTheSecret_ManyLinesAllocateLittle(t *testing.T) {
	lines := strings.Repeat("\n", 12_000_000) + "no command"
	if n := testing.AllocsPerRun(3, func() { hasSlashLine(lines) }); n != 0 {
		t.Errorf("hasSlashLine allocates %v times on 12 million lines, want 0", n)
	}
	read := func(path, field string, set map[string]any) []byte {
		b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", path))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range set {
			if b, err = sjson.SetBytes(b, k, v); err != nil {
				t.Fatal(err)
			}
		}
		if b, err = sjson.SetRawBytes(b, field, []byte(`"`+strings.Repeat(`\n`, 12_000_000)+`"`)); err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name, event string
		payload     []byte
	}{
		{"comment on a pull request", "issue_comment", read("issue_comment/created.with-installation.json", "comment.body", map[string]any{"issue.pull_request": map[string]any{"url": "x"}})},
		{"review", "pull_request_review", read("pull_request_review/submitted.json", "review.body", nil)},
	}
	for _, tt := range tests {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		routes, err := Route(tt.event, tt.payload)
		runtime.ReadMemStats(&after)
		if err != nil || len(routes) != 0 && tt.event == "pull_request_review" {
			t.Fatalf("%s: routes %v, error %v", tt.name, routes, err)
		}
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d MiB payload, Route allocated %d MiB", tt.name, len(tt.payload)>>20, allocated>>20)
		if allocated > 4*uint64(len(tt.payload)) {
			t.Errorf("%s: Route allocated %d MiB for a %d MiB payload, want at most 4 times the payload", tt.name, allocated>>20, len(tt.payload)>>20)
		}
	}
}
