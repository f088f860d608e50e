package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// labelRules is Codertocat/Hello-World's own contribot.yml in these tests;
// it replaces the built-in rules list and adds three modules.
const labelRules = `modules:
  docs:
    label: documentation
  web:
    label: area/web
    color: "1d76db"
    description: Website sources
    implies: [docs]
  api:
    label: area/api
labels:
  sync: managed
  owned:
    prefixes: ["area/"]
  create_missing:
    enabled: %v
  max_files: %d
  fallback: area/tree-wide
  rules:
    - name: docs
      files:
        any: ["**/*.md"]
      modules: [docs]
    - name: website
      files:
        any: ["site/**"]
      modules: [web]
    - name: api
      files:
        any: ["api/**"]
      modules: [api]
`

const (
	callListFiles   = "GET /repos/Codertocat/Hello-World/pulls/2/files?per_page=100"
	callRepoLabels  = "GET /repos/Codertocat/Hello-World/labels?per_page=100"
	callCreateLabel = "POST /repos/Codertocat/Hello-World/labels"
	callAddLabels   = "POST /repos/Codertocat/Hello-World/issues/2/labels"
	callGetApp      = "GET /app"
)

type labelSetup struct {
	setup
	createMissing bool
	maxFiles      int
}

// startLabels starts the service with labelRules, a signed commit for the
// DCO job that runs beside, and the repository labels GitHub has.
func startLabels(t *testing.T, s labelSetup, files ...string) *env {
	t.Helper()
	e := start(t, s.setup)
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte(fmt.Sprintf(labelRules, s.createMissing, s.maxFiles)))
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{fakegithub.Commit(headSHA, signed, alice, nil, "alice")})
	e.fake.SetRepoLabels(owner, repo,
		&github.Label{Name: github.String("bug"), Color: github.String("d73a4a")},
		&github.Label{Name: github.String("documentation"), Color: github.String("0075ca"), Description: github.String("Improvements or additions to documentation")},
		&github.Label{Name: github.String("e2e-test"), Color: github.String("fbca04")},
	)
	e.setFiles(files...)
	return e
}

// changedFiles remembers each test's file count for the payloads it sends,
// which carry it as pull_request.changed_files, as GitHub's do.
var changedFiles sync.Map // *env → int

func (e *env) setFiles(paths ...string) {
	changedFiles.Store(e, len(paths))
	files := make([]*github.CommitFile, len(paths))
	for i, p := range paths {
		files[i] = &github.CommitFile{Filename: github.String(p)}
	}
	e.fake.SetPRFiles(owner, repo, prNumber, files)
}

// deliver sends a delivery and waits for its jobs: two for PR events that
// the DCO check also wants, one for label events.
// deliver sends one delivery and waits for every job it queued: at least
// jobs of them (DCO and labels); fixtures with a label also queue the
// upstream tracker's.
func (e *env) deliver(event string, body []byte, jobs int64) {
	e.t.Helper()
	if queued := e.deliverOne(event, body); int64(len(queued)) < jobs {
		e.t.Fatalf("delivery queued %q, want at least %d jobs", queued, jobs)
	}
}

// labelCalls are the calls made besides the DCO job's (its commits and
// check runs) and the rules reads: everything the labels feature asks.
func (e *env) labelCalls() []string {
	var out []string
	for _, c := range e.fake.Calls() {
		if !strings.Contains(c, "/commits") && !strings.Contains(c, "/check-runs") && !strings.Contains(c, "/contents/") {
			out = append(out, c)
		}
	}
	return out
}

// prPayload is a real pull_request payload with the PR's current labels
// and the number of files the test set.
func (e *env) prPayload(action string, labels ...string) []byte {
	objs := make([]map[string]any, len(labels))
	for i, l := range labels {
		objs[i] = map[string]any{"name": l, "color": "ededed"}
	}
	n, _ := changedFiles.Load(e)
	set := map[string]any{"pull_request.labels": objs}
	if n != nil {
		set["pull_request.changed_files"] = n
	}
	return payload(e.t, "pull_request/"+action+".json", set)
}

// labelEvent is the real unlabeled payload, as someone's change.
func labelEvent(t *testing.T, action, label, login, userType string) []byte {
	return payload(t, "pull_request/unlabeled.json", map[string]any{
		"action": action, "label.name": label, "sender.login": login, "sender.type": userType,
	})
}

func TestLabelsAppliedInOneWriteThenNothing(t *testing.T) {
	e := startLabels(t, labelSetup{createMissing: true}, "README.md", "site/index.html")
	e.fake.SetLabels(owner, repo, prNumber, []string{"bug"})

	e.deliver("pull_request", e.prPayload("opened", "bug"), 2)
	want := []string{callListFiles, callRepoLabels, callCreateLabel, callAddLabels}
	if got := e.labelCalls(); !slices.Equal(got, want) {
		t.Fatalf("labels calls = %q, want %q", got, want)
	}
	if !e.posted(callAddLabels, `["documentation","area/web"]`) {
		t.Errorf("labels not added in one write: %v", e.fake.Requests())
	}
	if got := e.fake.Labels(owner, repo, prNumber); !slices.Equal(got, []string{"bug", "documentation", "area/web"}) {
		t.Errorf("PR labels = %q", got)
	}
	for _, l := range e.fake.RepoLabels(owner, repo) {
		switch l.GetName() {
		case "area/web":
			if l.GetColor() != "1d76db" || l.GetDescription() != "Website sources" {
				t.Errorf("created label %s has colour %s and description %q, want the module's", l.GetName(), l.GetColor(), l.GetDescription())
			}
		case "documentation":
			if l.GetColor() != "0075ca" {
				t.Errorf("existing label recoloured to %s", l.GetColor())
			}
		}
	}

	// A push that changes nothing for labels: one list call, no write.
	e.fake.Reset()
	e.deliver("pull_request", e.prPayload("synchronize", "bug", "documentation", "area/web"), 2)
	if got := e.labelCalls(); !slices.Equal(got, []string{callListFiles}) {
		t.Errorf("unchanged PR: labels calls = %q, want only %q", got, callListFiles)
	}

	// A new base branch is looked at again (a title edit is not queued at all: TestRoute).
	e.fake.Reset()
	e.setFiles("README.md", "site/index.html", "api/v1.yaml")
	e.deliver("pull_request", payload(t, "pull_request/opened.json", map[string]any{
		"action": "edited", "changes": map[string]any{"base": map[string]any{"ref": map[string]any{"from": "develop"}}},
		"pull_request.labels": []map[string]any{{"name": "documentation"}, {"name": "area/web"}}, "pull_request.changed_files": 3,
	}), 1)
	want = []string{callListFiles, callCreateLabel, callAddLabels}
	if got := e.labelCalls(); !slices.Equal(got, want) {
		t.Errorf("base changed: labels calls = %q, want %q (the repository's labels are cached)", got, want)
	}
	if !e.posted(callAddLabels, `["area/api"]`) {
		t.Errorf("area/api not added alone")
	}
}

func TestManagedSyncRemovesOnlyWhatContribotAdded(t *testing.T) {
	e := startLabels(t, labelSetup{createMissing: true}, "api/v1.yaml")
	before := []string{"bug", "e2e-test", "area/legacy"} // area/legacy is owned, but from before contribot
	e.fake.SetLabels(owner, repo, prNumber, before)
	e.deliver("pull_request", e.prPayload("opened", before...), 2)
	if !e.posted(callAddLabels, `["area/api"]`) {
		t.Fatalf("area/api not added: %q", e.labelCalls())
	}

	// The API change is dropped and a website change pushed: one add and
	// one removal, of contribot's own label only.
	e.fake.Reset()
	e.setFiles("site/index.html")
	current := append(before, "area/api")
	e.deliver("pull_request", e.prPayload("synchronize", current...), 2)
	want := []string{callListFiles, callCreateLabel, callAddLabels, "DELETE /repos/Codertocat/Hello-World/issues/2/labels/area/api"}
	if got := e.labelCalls(); !slices.Equal(got, want) {
		t.Errorf("labels calls = %q, want %q", got, want)
	}
	if got := e.fake.Labels(owner, repo, prNumber); !slices.Equal(got, []string{"bug", "e2e-test", "area/legacy", "documentation", "area/web"}) {
		t.Errorf("PR labels = %q: bug, e2e-test and area/legacy must stay, area/api must go", got)
	}
}

func TestOthersLabelChangesAreRespected(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var s labelSetup
			s.createMissing = true
			if backend == "postgres" {
				s.databaseURL = dbtest.FreshPostgres(t)
			}
			e := startLabels(t, s, "site/index.html")
			e.deliver("pull_request", e.prPayload("opened"), 2)
			if !e.posted(callAddLabels, `["documentation","area/web"]`) {
				t.Fatalf("first labels not added: %q", e.labelCalls())
			}

			// Alice removes area/web: recorded, no GitHub call but learning
			// the App's own login once.
			e.fake.Reset()
			e.deliver("pull_request", labelEvent(t, "unlabeled", "area/web", "alice", "User"), 1)
			if got := e.labelCalls(); !slices.Equal(got, []string{callGetApp}) {
				t.Errorf("recording a removal: calls = %q, want only %q", got, callGetApp)
			}
			// contribot's own label events are not someone else's changes.
			e.deliver("pull_request", labelEvent(t, "labeled", "area/web", "contribot[bot]", "Bot"), 1)
			e.waitLogged("label event caused by contribot itself; ignored")

			// Same files: area/web stays off.
			e.fake.Reset()
			e.deliver("pull_request", e.prPayload("synchronize", "documentation"), 2)
			if got := e.labelCalls(); !slices.Equal(got, []string{callListFiles}) {
				t.Errorf("same files after a removal: calls = %q, want only %q", got, callListFiles)
			}
			e.waitLogged("removed by @alice; added again only when the changed files change")

			// Bob adds area/api by hand: managed sync leaves it alone.
			e.deliver("pull_request", labelEvent(t, "labeled", "area/api", "bob", "User"), 1)
			e.fake.Reset()
			e.deliver("pull_request", e.prPayload("synchronize", "documentation", "area/api"), 2)
			if got := e.labelCalls(); !slices.Equal(got, []string{callListFiles}) {
				t.Errorf("a label bob added: calls = %q, want only %q (no removal)", got, callListFiles)
			}

			// Other files: the rules speak again. A label deleted in the
			// repository meanwhile makes contribot read the label list anew.
			if status := e.post("label", "label-deleted-"+backend, payload(t, "label/deleted.json", nil)); status != http.StatusOK {
				t.Fatalf("label event: status %d, want 200 (acknowledged, nothing queued)", status)
			}
			e.fake.Reset()
			e.setFiles("site/index.html", "site/about.html")
			e.deliver("pull_request", e.prPayload("synchronize", "documentation", "area/api"), 2)
			if got, want := e.labelCalls(), []string{callListFiles, callRepoLabels, callAddLabels}; !slices.Equal(got, want) {
				t.Errorf("files changed: calls = %q, want %q", got, want)
			}
			if !e.posted(callAddLabels, `["area/web"]`) {
				t.Errorf("area/web not added back after the files changed")
			}
		})
	}
}

func TestOutdatedEventIsSkipped(t *testing.T) {
	e := startLabels(t, labelSetup{createMissing: true}, "site/index.html")
	newer := payload(t, "pull_request/synchronize.json", map[string]any{"pull_request.updated_at": "2030-01-02T00:00:00Z"})
	e.deliver("pull_request", newer, 2)
	e.fake.Reset()
	// A retry of an older event, run late: its labels are no longer news.
	older := payload(t, "pull_request/opened.json", map[string]any{"pull_request.updated_at": "2030-01-01T00:00:00Z", "pull_request.labels": []any{}})
	e.deliver("pull_request", older, 2)
	e.waitLogged("a newer event of this PR was already labelled; this one is outdated")
	if got := e.labelCalls(); !slices.Equal(got, []string{callListFiles}) {
		t.Errorf("outdated event: calls = %q, want only the listing before the check", got)
	}
}

func TestPRsOverGitHubsFileCap(t *testing.T) {
	t.Run("3,001 files: the fallback, without listing", func(t *testing.T) {
		e := startLabels(t, labelSetup{createMissing: true})
		e.deliver("pull_request", payload(t, "pull_request/opened.json", map[string]any{"pull_request.changed_files": 3001}), 2)
		want := []string{callRepoLabels, callCreateLabel, callAddLabels}
		if got := e.labelCalls(); !slices.Equal(got, want) {
			t.Errorf("calls = %q, want %q", got, want)
		}
		if !e.posted(callAddLabels, `["area/tree-wide"]`) {
			t.Errorf("fallback label not added")
		}
		e.waitLogged("the changed files cannot decide the modules", "GitHub lists only the first 3000")
	})
	t.Run("exactly 3,000 files: listed whole in 30 pages and decided", func(t *testing.T) {
		e := startLabels(t, labelSetup{createMissing: true})
		paths := make([]string, 3000)
		for i := range paths {
			paths[i] = fmt.Sprintf("site/page-%04d.html", i)
		}
		e.setFiles(paths...)
		e.deliver("pull_request", payload(t, "pull_request/opened.json", map[string]any{"pull_request.changed_files": 3000}), 2)
		if n := e.countCalls(func(c string) bool { return strings.Contains(c, "/pulls/2/files") }); n != 30 {
			t.Errorf("%d list calls, want 30 pages of 100", n)
		}
		if !e.posted(callAddLabels, `["documentation","area/web"]`) {
			t.Errorf("labels of a 3,000-file PR not decided from its paths: %q", e.labelCalls())
		}
	})
	t.Run("max_files: the fallback, without listing", func(t *testing.T) {
		e := startLabels(t, labelSetup{createMissing: true, maxFiles: 100})
		e.deliver("pull_request", payload(t, "pull_request/opened.json", map[string]any{"pull_request.changed_files": 101}), 2)
		if e.countCalls(func(c string) bool { return strings.Contains(c, "/files") }) != 0 || !e.posted(callAddLabels, `["area/tree-wide"]`) {
			t.Errorf("calls = %q, want no listing and the fallback label", e.labelCalls())
		}
	})
}

func TestMissingLabelIsSkippedAndCounted(t *testing.T) {
	e := startLabels(t, labelSetup{createMissing: false}, "README.md", "site/index.html", "api/v1.yaml")
	e.fake.SetRepoLabels(owner, repo, &github.Label{Name: github.String("bug"), Color: github.String("d73a4a")})
	e.deliver("pull_request", e.prPayload("opened", "bug"), 2)
	if got, want := e.labelCalls(), []string{callListFiles, callRepoLabels}; !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q: nothing to add, and no label created", got, want)
	}
	e.waitLogged("label missing in the repository; not added", `"label":"area/api"`)
	if got := metric(t, e, `contribot_labels_total{action="missing"}`); got != "3" {
		t.Errorf("missing labels counted %q, want 3", got)
	}
}

// metric reads one sample from /metrics.
func metric(t *testing.T, e *env, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.svc.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func TestLabelsGitHubRefuses(t *testing.T) {
	refuse := func(method, path string) func(r *http.Request, _ int) *fakegithub.Fault {
		return func(r *http.Request, _ int) *fakegithub.Fault {
			if r.Method == method && r.URL.Path == path {
				return &fakegithub.Fault{Status: http.StatusUnprocessableEntity, Body: `{"message":"Validation Failed","errors":[{"resource":"Label","code":"custom","field":"description","message":"description is too long (maximum is 100 characters)"}],"documentation_url":"https://docs.github.com/rest/issues/labels"}`}
			}
			return nil
		}
	}
	t.Run("a label it cannot create is skipped, the others are added", func(t *testing.T) {
		e := startLabels(t, labelSetup{createMissing: true}, "README.md", "site/index.html")
		e.fake.Fault(refuse(http.MethodPost, "/repos/Codertocat/Hello-World/labels"))
		e.deliver("pull_request", e.prPayload("opened"), 2)
		if !e.posted(callAddLabels, `["documentation"]`) {
			t.Errorf("documentation not added after area/web was refused: %q", e.labelCalls())
		}
		e.waitLogged("GitHub refused to create the label; not added", "description is too long")
		if got := metric(t, e, `contribot_labels_total{action="refused"}`); got != "1" {
			t.Errorf("refused labels counted %q, want 1", got)
		}
	})
	t.Run("a refused write ends the job at once", func(t *testing.T) {
		e := startLabels(t, labelSetup{createMissing: true}, "README.md")
		e.fake.Fault(refuse(http.MethodPost, "/repos/Codertocat/Hello-World/issues/2/labels"))
		e.send("pull_request", e.prPayload("opened"))
		e.waitLogged("job gave up; it will not run again", "check the label names in the rules")
		if n := e.countCalls(func(c string) bool { return c == callAddLabels }); n != 1 {
			t.Errorf("%d attempts to add labels, want 1: a 422 is not retried", n)
		}
	})
}

// GitHub applies the labels but every answer of the attempt is lost (502
// from the gateway, as often as the transport tries): the job's next
// attempt, like a job run again after a crash, reads the PR's labels once
// and adds nothing again.
func TestLabelsNotAddedTwiceWhenGitHubAppliedAFailedWrite(t *testing.T) {
	e := startLabels(t, labelSetup{createMissing: true}, "README.md")
	var lost atomic.Int64
	e.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if r.Method != http.MethodPost || r.URL.Path != "/repos/Codertocat/Hello-World/issues/2/labels" || lost.Add(1) > 3 {
			return nil
		}
		e.fake.SetLabels(owner, repo, prNumber, []string{"documentation"})
		return fakegithub.BadGateway()
	})
	e.deliver("pull_request", e.prPayload("opened"), 2)
	e.waitLogged("labels already applied by an earlier attempt")
	adds := e.countCalls(func(c string) bool { return c == callAddLabels })
	if adds != 3 {
		t.Errorf("%d label writes, want the first attempt's 3 (transport retries) and none from the job's retry; calls %q", adds, e.labelCalls())
	}
	if got := e.fake.Labels(owner, repo, prNumber); !slices.Equal(got, []string{"documentation"}) {
		t.Errorf("labels = %q, want [documentation]", got)
	}
	// Recorded as contribot's own, so that managed sync may remove it later.
	var by string
	var added bool
	err := e.svc.Queue().DB().QueryRowContext(t.Context(), `SELECT added, by_login FROM contribot_label_change WHERE number = $1 AND label = 'documentation'`, prNumber).Scan(&added, &by)
	if err != nil || !added || by != "" {
		t.Errorf("the label GitHub applied is not recorded as contribot's: added %v by %q (%v)", added, by, err)
	}
}
