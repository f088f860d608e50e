package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/queue"
)

// Issue 11, class 6: a payload that lacks what the features read must end
// as a permanent, explained cancellation before any GitHub call, and no
// payload shape may panic a job.

// allFeatures routes a delivery to every feature, whatever Route would
// choose, so that each feature's job meets the payload.
var allFeatures = []queue.Route{
	{Feature: app.FeatureDCO, Queue: queue.QueuePriority},
	{Feature: app.FeatureLabels, Queue: queue.QueueDefault},
	{Feature: app.FeatureWelcome, Queue: queue.QueueDefault},
	{Feature: app.FeatureUpstream, Queue: queue.QueueDefault},
}

// runJobs enqueues the deliveries (id → event, payload, routes), starts
// the workers and returns each job's first outcome, by job.
func runJobs(t *testing.T, e *env, deliveries map[string]queued) map[int64]*river.Event {
	t.Helper()
	ctx := context.Background()
	jobs := 0
	for id, d := range deliveries {
		n, err := e.svc.Queue().Enqueue(ctx, id, d.event, d.body, d.routes)
		if err != nil {
			t.Fatal(err)
		}
		jobs += n
	}
	events, cancel := e.svc.Queue().Subscribe(river.EventKindJobCancelled, river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobSnoozed)
	defer cancel()
	if err := e.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := map[int64]*river.Event{}
	// A hang guard, not a budget: the outcome is what is judged.
	timeout := time.After(5 * time.Minute)
	for len(first) < jobs {
		select {
		case ev := <-events:
			if ev.Job.Kind != (queue.WebhookArgs{}).Kind() {
				continue
			}
			if _, seen := first[ev.Job.ID]; !seen {
				first[ev.Job.ID] = ev
			}
		case <-timeout:
			t.Fatalf("%d of %d jobs ran in 5 minutes", len(first), jobs)
		}
	}
	return first
}

// arrayIndex matches an array element's index in a gjson path.
var arrayIndex = regexp.MustCompile(`\.[0-9]+`)

type queued struct {
	event  string
	body   []byte
	routes []queue.Route
}

// lastError is the error River recorded for a job's last attempt.
func lastError(ev *river.Event) string {
	if n := len(ev.Job.Errors); n > 0 {
		return ev.Job.Errors[n-1].Error
	}
	return ""
}

func TestWork_AnyoneWithTheSecret_MalformedPayloadIsCancelledBeforeGitHub(t *testing.T) {
	e := start(t, setup{intakeOnly: true})
	read := func(path string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", path))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	set := func(path, raw string) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) { return sjson.SetRawBytes(b, path, []byte(raw)) }
	}
	appendKey := func(key, raw string) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) { return app.AppendKey(key, raw)(b), nil }
	}
	del := func(path string) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) { return sjson.DeleteBytes(b, path) }
	}
	tests := []struct {
		name, event, fixture string
		edit                 func([]byte) ([]byte, error)
		want                 string
	}{
		{"issue null", "issues", "issues/opened.json", set("issue", "null"), "issue is missing or null"},
		{"check_suite without its suite", "check_suite", "check_suite/rerequested.json", del("check_suite"), "check_suite is missing"},
		{"pull_request null", "pull_request", "pull_request/opened.json", set("pull_request", "null"), "pull_request is missing or null"},
		{"empty repository owner", "pull_request", "pull_request/synchronize.json", set("repository.owner.login", `""`), "repository.owner.login is empty"},
		{"empty repository name", "issues", "issues/opened.json", set("repository.name", `""`), "repository.name is empty"},
		{"owner and name both empty", "pull_request", "pull_request/opened.json", set("repository.owner", `{"login":""}`), "repository.owner.login is empty"},
		{"pull request number 0", "pull_request", "pull_request/opened.json", set("pull_request.number", "0"), "pull_request.number is not a positive number"},
		{"head SHA missing", "pull_request", "pull_request/synchronize.json", del("pull_request.head.sha"), "pull_request.head.sha is missing"},
		{"comment null", "issue_comment", "issue_comment/created.with-installation.json", set("comment", "null"), "comment is missing or null"},
		{"review null", "pull_request_review", "pull_request_review/submitted.json", set("review", "null"), "review is missing or null"},
		{"button press without its action", "check_run", "check_run/requested_action.json", set("requested_action", "null"), "requested_action is missing or null"},
		{"merge group null", "merge_group", "merge_group/checks_requested.json", set("merge_group", "null"), "merge_group is missing or null"},
		{"repository event without full name", "repository", "repository/privatized.json", del("repository.full_name"), "repository.full_name is missing"},
		// What the features decode is checked, not what a JSON reader sees
		// first: encoding/json takes the last of duplicate keys, and keys
		// in any case.
		{"a second repository, empty", "pull_request", "pull_request/synchronize.json", appendKey("repository", `{"owner":{"login":""},"name":"","full_name":"/"}`), "repository.owner.login is empty"},
		{"REPOSITORY in capitals, empty", "pull_request", "pull_request/synchronize.json", appendKey("REPOSITORY", `{"owner":{"login":""},"name":""}`), "repository.owner.login is empty"},
		{"a second pull_request, null", "pull_request", "pull_request/synchronize.json", appendKey("pull_request", "null"), "pull_request is missing or null"},
		{"Pull_Request null", "pull_request", "pull_request/opened.json", appendKey("Pull_Request", "null"), "pull_request is missing or null"},
		{"a second issue, null", "issues", "issues/opened.json", appendKey("issue", "null"), "issue is missing or null"},
		{"Issue numbered 0", "issues", "issues/opened.json", appendKey("Issue", `{"number":0}`), "issue.number is not a positive number"},
		{"a repository that is a path", "issues", "issues/opened.json", appendKey("repository", `{"owner":{"login":"../../x"},"name":"a/b"}`), "repository.owner.login is not a GitHub name"},
		{"a suite's pull request numbered 0", "check_suite", "check_suite/rerequested.json", set("check_suite.pull_requests.0.number", "0"), "check_suite.pull_requests[0].number is not a positive number"},
		{"a run's pull request numbered -1", "check_run", "check_run/rerequested.json", set("check_run.pull_requests", `[{"number":-1}]`), "check_run.pull_requests[0].number is not a positive number"},
	}
	deliveries := map[string]queued{}
	want := map[string]string{}
	for i, tt := range tests {
		body, err := tt.edit(read(tt.fixture))
		if err == nil && tt.event == "check_run" {
			// go-github cannot decode the documentation's app timestamps
			// (see TestUndecodablePayloadIsReportedNotRetried).
			body, err = sjson.DeleteBytes(body, "check_run.app")
		}
		if err == nil && tt.event == "check_run" {
			body, err = sjson.DeleteBytes(body, "check_run.check_suite.app")
		}
		if err == nil {
			body, err = sjson.SetRawBytes(body, "installation", []byte(`{"id": 1}`))
		}
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("malformed-%d", i)
		deliveries[id] = queued{event: tt.event, body: body, routes: allFeatures}
		want[id] = tt.name + ": malformed " + tt.event + " delivery " + id + ": " + tt.want
	}
	for _, ev := range runJobs(t, e, deliveries) {
		id := ev.Job.EncodedArgs
		var delivery string
		for d := range want {
			if strings.Contains(string(id), `"`+d+`"`) {
				delivery = d
			}
		}
		name, msg, _ := strings.Cut(want[delivery], ": ")
		if ev.Kind != river.EventKindJobCancelled || ev.Job.State != rivertype.JobStateCancelled {
			t.Errorf("%s: job %s is %s (%s), want cancelled", name, ev.Job.EncodedArgs, ev.Kind, lastError(ev))
			continue
		}
		if got := lastError(ev); !strings.Contains(got, msg) || !strings.Contains(got, "nothing was done") {
			t.Errorf("%s: cancelled with %q, want it to say %q", name, got, msg)
		}
	}
	if calls := e.fake.AllCalls(); len(calls) != 0 {
		t.Errorf("malformed deliveries reached GitHub: %v", calls)
	}
}

// TestWork_AnyoneWithTheSecret_NullLadenPayloadsNeverPanic: every object
// and array of every real payload, set to null one at a time and queued
// for the features Route picks: no job may panic, whatever it then does
// with the fake GitHub.
func TestWork_AnyoneWithTheSecret_NullLadenPayloadsNeverPanic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about a thousand jobs against the fake GitHub; skipped with -short")
	}
	warn := slog.LevelWarn // thousands of jobs: only what went wrong
	e := start(t, setup{intakeOnly: true, logLevel: &warn})
	deliveries := map[string]queued{}
	for _, p := range app.RealPayloads(t) {
		// As a GitHub App receives them: with the installation, which
		// many documentation examples lack.
		body, err := sjson.SetRawBytes(p.Body, "installation.id", []byte("1"))
		if err != nil {
			t.Fatal(err)
		}
		variants := app.NullLaden(t, body)
		paths := make([]string, 0, len(variants))
		for path := range variants {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			// One delivery per event, action and nulled field (array
			// elements alike): the many examples of one action share their
			// shape.
			key := p.Event + "/" + gjson.GetBytes(body, "action").String() + "/" + arrayIndex.ReplaceAllString(path, ".#")
			if _, dup := deliveries[key]; dup {
				continue
			}
			body := variants[path]
			routes, err := app.Route(p.Event, body)
			if err != nil || len(routes) == 0 {
				continue
			}
			deliveries[key] = queued{event: p.Event, body: body, routes: routes}
		}
	}
	t.Logf("%d null-laden deliveries routed to a feature", len(deliveries))
	outcomes := runJobs(t, e, deliveries)
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(metrics), "contribot_job_panics_total{") {
		t.Errorf("jobs panicked:\n%s", grepLines(string(metrics), "contribot_job_panics_total{"))
	}
	if strings.Contains(e.logs.String(), "panicked") {
		t.Errorf("panics logged:\n%s", grepLines(e.logs.String(), "panicked"))
	}
	kinds := map[river.EventKind]int{}
	for _, ev := range outcomes {
		kinds[ev.Kind]++
	}
	t.Logf("first outcomes of %d jobs: %v", len(outcomes), kinds)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
