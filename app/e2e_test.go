package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/riverqueue/river"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/queue"
)

const (
	secret = "e2e-secret"
	// The real pull_request payloads are Codertocat/Hello-World#2.
	owner, repo = "Codertocat", "Hello-World"
	prNumber    = 2
	headSHA     = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	baseSHA     = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
)

var (
	alice     = &github.CommitAuthor{Name: github.String("Alice Example"), Email: github.String("alice@example.org")}
	signed    = "Fix the frobnicator\n\nSigned-off-by: Alice Example <alice@example.org>\n"
	unsigned  = "Fix the frobnicator\n"
	testKey   *rsa.PrivateKey
	deliveryN atomic.Int64
)

func TestMain(m *testing.M) {
	var err error
	// 2048 bits is what GitHub issues; generating once keeps tests fast.
	testKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

type env struct {
	t    testing.TB
	fake *fakegithub.Server
	url  string
	svc  *app.Service
	logs *lockedBuffer
	done atomic.Int64 // jobs completed
}

// lockedBuffer collects logs written by concurrent workers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitJobs waits until n jobs have completed.
func (e *env) waitJobs(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if e.done.Load() >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("only %d of %d jobs completed after 20s", e.done.Load(), n)
}

type setup struct {
	databaseURL string
	// fake, when set, is another service's fake GitHub: the new service is
	// a second replica of the same deployment.
	fake      *fakegithub.Server
	configure func(*app.Config)
	// now is the upstream tracker's clock; nil is time.Now.
	now func() time.Time
	// intakeOnly leaves the workers stopped, to measure intake alone.
	intakeOnly bool
	// logLevel defaults to debug, so a failing test shows everything.
	logLevel *slog.Level
}

func start(t testing.TB, s setup) *env {
	t.Helper()
	fake := s.fake
	if fake == nil {
		fake = fakegithub.New(t)
		fake.SetAppPublicKey(&testKey.PublicKey)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey)})
	dbURL := s.databaseURL
	if dbURL == "" {
		dbURL = filepath.Join(t.TempDir(), "contribot.db")
	}
	cfg := app.Config{
		AppID:           1,
		PrivateKey:      string(pemKey),
		WebhookSecret:   secret,
		APIURL:          fake.URL(),
		DatabaseURL:     dbURL,
		Port:            3000,
		LogLevel:        "debug",
		RulesTTL:        time.Hour,
		ShutdownTimeout: 5 * time.Second,
	}
	if s.configure != nil {
		s.configure(&cfg)
	}
	logs := &lockedBuffer{}
	level := slog.LevelDebug
	if s.logLevel != nil {
		level = *s.logLevel
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	ctx := context.Background()
	svc, err := app.New(ctx, cfg, app.Options{Logger: log, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: fake, svc: svc, logs: logs}
	events, cancel := svc.Queue().Subscribe(river.EventKindJobCompleted)
	go func() {
		for ev := range events {
			// Deliveries' jobs only: periodic and scheduled tasks (the
			// upstream poll) complete on their own time.
			if ev.Job.Kind == (queue.WebhookArgs{}).Kind() {
				e.done.Add(1)
			}
		}
	}()
	if !s.intakeOnly {
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(svc.Handler())
	e.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		_ = svc.Stop(context.Background())
		cancel()
		if t.Failed() {
			t.Logf("service logs:\n%s", logs.String())
		}
	})
	return e
}

// payload reads a real webhook payload and sets the given JSON paths, so a
// test changes only what it is about and keeps GitHub's shape.
func payload(t testing.TB, path string, set map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "github", path))
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if b, err = sjson.SetBytes(b, k, set[k]); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	return b
}

// send delivers a signed webhook and expects it to be queued.
func (e *env) send(event string, body []byte) string {
	e.t.Helper()
	id := fmt.Sprintf("e2e-%d", deliveryN.Add(1))
	status := e.post(event, id, body)
	if status != http.StatusAccepted {
		e.t.Fatalf("delivery %s (%s): status %d, want 202", id, event, status)
	}
	return id
}

func (e *env) post(event, id string, body []byte) int {
	e.t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitChecks waits until the fake holds n check-run writes for the repo.
func (e *env) waitChecks(n int) []*github.CheckRun {
	e.t.Helper()
	// Generous: on a loaded 2-core machine under -race a retried job's
	// second attempt can take tens of seconds; a pass returns at once.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if runs := e.fake.CheckRuns(owner, repo); len(runs) >= n {
			return runs
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("no check run %d after 90s; calls: %v", n, e.fake.Calls())
	return nil
}

// waitCalls waits until the fake has recorded a call matching want.
func (e *env) waitCall(want string) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range e.fake.Calls() {
			if strings.HasPrefix(c, want) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("no call %q after 20s; calls: %v", want, e.fake.Calls())
}

const (
	callRepoRules   = "GET /repos/Codertocat/Hello-World/contents/.github/contribot.yml"
	callRepoDCOYml  = "GET /repos/Codertocat/Hello-World/contents/.github/dco.yml"
	callOrgRules    = "GET /repos/Codertocat/.github/contents/.github/contribot.yml"
	callListCommits = "GET /repos/Codertocat/Hello-World/pulls/2/commits?per_page=100"
	callCreateCheck = "POST /repos/Codertocat/Hello-World/check-runs"
)

func withoutRules(calls []string) []string {
	var out []string
	for _, c := range calls {
		if !strings.Contains(c, "/contents/.github/") {
			out = append(out, c)
		}
	}
	return out
}

func TestPullRequestGetsDCOCheckWithMinimalCalls(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, signed, alice, nil, "alice"),
	})

	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	runs := e.waitChecks(1)
	run := runs[0]
	if run.GetName() != "DCO" || run.GetHeadSHA() != headSHA || run.GetConclusion() != "success" {
		t.Fatalf("check run = %s on %s: %s; want DCO success on %s", run.GetName(), run.GetHeadSHA(), run.GetConclusion(), headSHA)
	}
	first := e.fake.Calls()
	if got, want := withoutRules(first), []string{callListCommits, callCreateCheck}; !slices.Equal(got, want) {
		t.Errorf("first event, besides rules: calls = %v, want %v", got, want)
	}
	for _, c := range []string{callRepoRules, callOrgRules} {
		if !slices.Contains(first, c) {
			t.Errorf("first event did not read the rules: no %q in %v", c, first)
		}
	}

	// Once token and rules are cached, a push costs exactly two calls.
	e.fake.Reset()
	e.send("pull_request", payload(t, "pull_request/synchronize.json", nil))
	e.waitChecks(2)
	if got, want := e.fake.Calls(), []string{callListCommits, callCreateCheck}; !slices.Equal(got, want) {
		t.Errorf("cached event: calls = %v, want exactly %v", got, want)
	}
	if got := e.fake.AllCalls(); len(got) != 2 {
		t.Errorf("cached event minted a token or made other calls: %v", got)
	}
}

func TestUnsignedCommitsGetActionableCheck(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit("1111111111111111111111111111111111111111", signed, alice, nil, "alice"),
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice"),
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", map[string]any{"pull_request.commits": 2}))
	run := e.waitChecks(1)[0]
	if run.GetConclusion() != "action_required" {
		t.Fatalf("conclusion = %s, want action_required", run.GetConclusion())
	}
	out := run.GetOutput()
	for _, want := range []string{headSHA[:7], "git commit --amend --no-edit --signoff", "git push --force-with-lease"} {
		if !strings.Contains(out.GetText()+out.GetSummary(), want) {
			t.Errorf("check run text lacks %q:\n%s\n%s", want, out.GetSummary(), out.GetText())
		}
	}
	if strings.Contains(out.GetText(), "1111111 ") {
		t.Errorf("the passing commit is listed as failing:\n%s", out.GetText())
	}
}

func TestMergeGroupIsChecked(t *testing.T) {
	e := start(t, setup{})
	const mgOwner, mgRepo = "octo-org", "octo-repo"
	const head, base = "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d", "380387fbc80638b734a49e1be1c4dfec1c01b33c"
	e.fake.SetCompare(mgOwner, mgRepo, base, head, []*github.RepositoryCommit{
		fakegithub.Commit("3333333333333333333333333333333333333333", signed, alice, nil, "alice"),
	})
	e.send("merge_group", payload(t, "merge_group/checks_requested.json", nil))
	deadline := time.Now().Add(20 * time.Second)
	for len(e.fake.CheckRuns(mgOwner, mgRepo)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	runs := e.fake.CheckRuns(mgOwner, mgRepo)
	if len(runs) != 1 || runs[0].GetHeadSHA() != head || runs[0].GetConclusion() != "success" {
		t.Fatalf("merge group check runs = %v; calls %v", runs, e.fake.Calls())
	}
	if got := withoutRules(e.fake.Calls()); !slices.Equal(got, []string{
		"GET /repos/octo-org/octo-repo/compare/" + base + "..." + head + "?per_page=100",
		"POST /repos/octo-org/octo-repo/check-runs",
	}) {
		t.Errorf("merge group calls = %v", got)
	}
}

func TestRecheckFromButtonAndComment(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, signed, alice, nil, "alice"),
	})
	e.fake.AddPullRequest(owner, repo, &github.PullRequest{
		Number: github.Int(prNumber), Commits: github.Int(1),
		Head: &github.PullRequestBranch{SHA: github.String(headSHA), Ref: github.String("changes")},
		Base: &github.PullRequestBranch{SHA: github.String(baseSHA), Ref: github.String("master")},
	})

	// The Re-run button: a real check_run payload for this repo's DCO run.
	e.send("check_run", payload(t, "check_run/rerequested.json", map[string]any{
		// The documentation example writes the app's timestamps as
		// "2018-04-25 20:42:10"; GitHub sends RFC 3339, which intake requires.
		"check_run.app.created_at": "2018-04-25T20:42:10Z", "check_run.app.updated_at": "2018-04-25T20:42:10Z",
		"check_run.check_suite.app.created_at": "2018-04-25T20:42:10Z", "check_run.check_suite.app.updated_at": "2018-04-25T20:42:10Z",
		"check_run.name": "DCO", "check_run.head_sha": headSHA,
		"repository.name": repo, "repository.owner.login": owner, "repository.id": 186853002,
		"check_run.pull_requests": []map[string]any{{"number": prNumber, "head": map[string]any{"sha": headSHA, "ref": "changes"}, "base": map[string]any{"sha": baseSHA, "ref": "master", "repo": map[string]any{"id": 186853002}}}},
	}))
	run := e.waitChecks(1)[0]
	if run.GetHeadSHA() != headSHA || run.GetConclusion() != "success" {
		t.Fatalf("re-run check = %s %s", run.GetHeadSHA(), run.GetConclusion())
	}

	// A comment with the recheck command on a line of its own.
	e.fake.Reset()
	e.send("issue_comment", payload(t, "issue_comment/created.with-installation.json", map[string]any{
		"comment.body": "Thanks!\n/dco recheck\n", "issue.number": prNumber,
		"issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"},
		"repository.name":    repo, "repository.owner.login": owner,
	}))
	e.waitChecks(2)
	if got, want := withoutRules(e.fake.Calls()), []string{"GET /repos/Codertocat/Hello-World/pulls/2", callListCommits, callCreateCheck}; !slices.Equal(got, want) {
		t.Errorf("recheck comment calls = %v, want %v", got, want)
	}

	// A review with the command: its payload has the head, so no extra read.
	e.fake.Reset()
	e.send("pull_request_review", payload(t, "pull_request_review/submitted.json", map[string]any{
		"review.body": "/dco recheck", "pull_request.head.sha": headSHA, "pull_request.number": prNumber,
		"repository.name": repo, "repository.owner.login": owner,
	}))
	e.waitChecks(3)
	if got, want := withoutRules(e.fake.Calls()), []string{callListCommits, callCreateCheck}; !slices.Equal(got, want) {
		t.Errorf("recheck review calls = %v, want %v", got, want)
	}

	// A comment that only mentions the command does not re-run anything.
	e.fake.Reset()
	e.send("issue_comment", payload(t, "issue_comment/created.with-installation.json", map[string]any{
		"comment.body": "/lgtm, no need for /dco recheck here", "issue.number": prNumber,
		"issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"},
		"repository.name":    repo, "repository.owner.login": owner,
	}))
	e.waitJobs(4)
	if got := withoutRules(e.fake.Calls()); len(got) != 0 {
		t.Errorf("a comment without the command made calls: %v", got)
	}
}

func TestOverrideNeedsWritePermission(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetPermission(owner, repo, "maintainer", "write")
	e.fake.SetPermission(owner, repo, "drive-by", "read")
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice"),
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	run := e.waitChecks(1)[0]
	if run.GetConclusion() != "action_required" || !e.posted(callCreateCheck, `"identifier":"override"`) {
		t.Fatalf("failing run should offer the override button: %s; requests %v", run.GetConclusion(), e.fake.Calls())
	}

	press := func(who string) {
		e.send("check_run", payload(t, "check_run/requested_action.json", map[string]any{
			"check_run.id": run.GetID(), "check_run.name": "DCO", "check_run.head_sha": headSHA,
			"check_run.output.title": run.GetOutput().GetTitle(), "check_run.output.summary": run.GetOutput().GetSummary(),
			"check_run.output.text":       run.GetOutput().GetText(),
			"requested_action.identifier": "override", "sender.login": who,
			"repository.name": repo, "repository.owner.login": owner, "installation.id": 1,
		}))
	}

	e.fake.Reset()
	press("drive-by")
	e.waitCall("PATCH /repos/Codertocat/Hello-World/check-runs/")
	refused := e.fake.CheckRuns(owner, repo)[0]
	if refused.GetConclusion() == "success" || !strings.Contains(refused.GetOutput().GetSummary(), "Override refused") {
		t.Fatalf("read-only user's override: conclusion %s, summary %q", refused.GetConclusion(), refused.GetOutput().GetSummary())
	}

	e.fake.Reset()
	press("maintainer")
	e.waitCall("PATCH /repos/Codertocat/Hello-World/check-runs/")
	got := e.fake.CheckRuns(owner, repo)[0]
	if got.GetConclusion() != "success" || !strings.Contains(got.GetOutput().GetTitle(), "@maintainer") {
		t.Fatalf("maintainer's override: conclusion %s, title %q", got.GetConclusion(), got.GetOutput().GetTitle())
	}
	if year := fmt.Sprint(time.Now().UTC().Year()); !strings.Contains(got.GetOutput().GetSummary(), " at "+year+"-") {
		t.Errorf("override does not record when: %q", got.GetOutput().GetSummary())
	}
	if want := []string{"GET /repos/Codertocat/Hello-World/collaborators/maintainer/permission"}; !slices.Contains(e.fake.Calls(), want[0]) {
		t.Errorf("override did not verify permission through the API: %v", e.fake.Calls())
	}
}

func TestBrokenRepoRulesAreReportedNotSilent(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("dco:\n  enabled: false\n  requre:\n    members: false\n"))
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice"),
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	run := e.waitChecks(1)[0]
	if run.GetConclusion() != "action_required" {
		t.Errorf("a broken rules file must not disable DCO: conclusion %s", run.GetConclusion())
	}
	text := run.GetOutput().GetSummary() + run.GetOutput().GetText()
	if !strings.Contains(text, ".github/contribot.yml:3:3") {
		t.Errorf("check run does not name the rules error at file:line:column:\n%s", text)
	}
}

func TestRulesPushInvalidatesCache(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice"),
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	if c := e.waitChecks(1)[0].GetConclusion(); c != "action_required" {
		t.Fatalf("conclusion = %s", c)
	}
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("dco:\n  enabled: false\n"))
	push := payload(t, "push/with-installation.json", map[string]any{
		"ref": "refs/heads/master", "repository.default_branch": "master",
		"commits.0.modified": []string{".github/contribot.yml"},
	})
	if status := e.post("push", "push-1", push); status != http.StatusOK {
		t.Fatalf("push: status %d", status)
	}
	e.send("pull_request", payload(t, "pull_request/synchronize.json", nil))
	if c := e.waitChecks(2)[1].GetConclusion(); c != "neutral" {
		t.Fatalf("after the rules push disabled DCO, conclusion = %s, want neutral", c)
	}
}

func TestLargePRIsReadCompletely(t *testing.T) {
	e := start(t, setup{})
	var commits []*github.RepositoryCommit
	for i := 0; i < 300; i++ {
		msg := signed
		if i == 299 {
			msg = unsigned
		}
		commits = append(commits, fakegithub.Commit(fmt.Sprintf("%040x", i+1), msg, alice, nil, "alice"))
	}
	e.fake.SetPRCommits(owner, repo, prNumber, commits)
	e.fake.SetCompare(owner, repo, baseSHA, headSHA, commits)
	e.send("pull_request", payload(t, "pull_request/opened.json", map[string]any{"pull_request.commits": 300}))
	run := e.waitChecks(1)[0]
	if run.GetConclusion() != "action_required" || !strings.Contains(run.GetOutput().GetText(), fmt.Sprintf("%07x", 300)) {
		t.Fatalf("the 300th commit (unsigned) was not found: %s\n%s", run.GetConclusion(), run.GetOutput().GetText())
	}
	if compares := e.countCalls(func(c string) bool { return strings.Contains(c, "/compare/") }); compares != 3 {
		t.Errorf("300 commits took %d compare pages, want 3: %v", compares, e.fake.Calls())
	}
}

func TestGitHubOutageStillEndsInAVerdict(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, signed, alice, nil, "alice"),
	})
	var failures atomic.Int64
	e.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if strings.HasSuffix(r.URL.Path, "/pulls/2/commits") && failures.Add(1) <= 2 {
			return fakegithub.BadGateway()
		}
		return nil
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	run := e.waitChecks(1)[0]
	if run.GetConclusion() != "success" {
		t.Fatalf("after two 502s the verdict is %s, want success", run.GetConclusion())
	}
}

func TestDryRunQueuesAndLogs(t *testing.T) {
	e := start(t, setup{configure: func(c *app.Config) { c.AppID, c.PrivateKey = 0, "" }})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	e.waitLogged("dry-run: would list the commits of Codertocat/Hello-World#2")
	if calls := e.fake.AllCalls(); len(calls) != 0 {
		t.Fatalf("dry-run called GitHub: %v", calls)
	}
}

// posted reports whether a recorded request to call carried fragment.
func (e *env) posted(call, fragment string) bool {
	for _, r := range e.fake.Requests() {
		if r.Call() == call && strings.Contains(string(r.Body), fragment) {
			return true
		}
	}
	return false
}

// waitLogged waits until every fragment appears in the logs.
func (e *env) waitLogged(fragments ...string) {
	e.t.Helper()
	e.waitLogs(fragments, func(logs string) []string { return []string{logs} })
}

// waitLogLine waits until one log line holds every fragment.
func (e *env) waitLogLine(fragments ...string) {
	e.t.Helper()
	e.waitLogs(fragments, func(logs string) []string { return strings.Split(logs, "\n") })
}

// waitLogs waits until one of the pieces the logs are split into holds
// every fragment.
func (e *env) waitLogs(fragments []string, split func(string) []string) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, piece := range split(e.logs.String()) {
			all := true
			for _, f := range fragments {
				all = all && strings.Contains(piece, f)
			}
			if all {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("logs never held all of %q together", fragments)
}

func TestRateLimitsDelayButDoNotLoseTheVerdict(t *testing.T) {
	tests := []struct {
		name  string
		fault func() *fakegithub.Fault
		// wantListCalls is every list-commits request: the limited one and
		// the one after the wait. More would mean hammering GitHub.
		wantListCalls int
		wantLog       string
	}{
		{"primary rate limit snoozes the job until the reset", func() *fakegithub.Fault {
			return fakegithub.PrimaryRateLimit(time.Now().Add(time.Second))
		}, 2, "rate limited; job snoozed"},
		{"secondary rate limit with a short Retry-After is waited out", func() *fakegithub.Fault {
			return fakegithub.SecondaryRateLimit(1)
		}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, setup{})
			e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
				fakegithub.Commit(headSHA, signed, alice, nil, "alice"),
			})
			var limited atomic.Bool
			e.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
				if strings.HasSuffix(r.URL.Path, "/pulls/2/commits") && limited.CompareAndSwap(false, true) {
					return tt.fault()
				}
				return nil
			})
			e.send("pull_request", payload(t, "pull_request/opened.json", nil))
			if run := e.waitChecks(1)[0]; run.GetConclusion() != "success" {
				t.Fatalf("verdict after the rate limit = %s, want success", run.GetConclusion())
			}
			lists := e.countCalls(func(c string) bool { return c == callListCommits })
			if lists != tt.wantListCalls {
				t.Errorf("list-commits calls = %d, want %d: %v", lists, tt.wantListCalls, e.fake.Calls())
			}
			if tt.wantLog != "" && !strings.Contains(e.logs.String(), tt.wantLog) {
				t.Errorf("logs lack %q", tt.wantLog)
			}
		})
	}
}

func TestPersistentGitHubErrorGivesFailingCheckWithRequestID(t *testing.T) {
	tests := []struct {
		name, rules, recheck string
	}{
		{"default recheck command", "", "`/dco recheck`"},
		// A backtick in the command would end the code span early and let
		// the rest mention a team from the check run.
		{"a repository maintainer's recheck command breaks out of its code span", "dco:\n  recheck_command: \"/dco `@octo-org/everyone` recheck\"\n", "`` /dco `@octo-org/everyone` recheck ``"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, setup{})
			if tt.rules != "" {
				e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte(tt.rules))
			}
			checkPersistentGitHubError(t, e, tt.recheck)
		})
	}
}

func checkPersistentGitHubError(t *testing.T, e *env, recheck string) {
	t.Helper()
	e.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if strings.HasSuffix(r.URL.Path, "/pulls/2/commits") {
			return fakegithub.BadGateway()
		}
		return nil
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	run := e.waitChecks(1)[0]
	summary := run.GetOutput().GetSummary()
	if run.GetConclusion() != "failure" {
		t.Fatalf("conclusion = %s, want failure (never a pass when commits could not be read)", run.GetConclusion())
	}
	for _, want := range []string{"502", "request ", "comment " + recheck + " on the pull request"} {
		if !strings.Contains(summary, want) {
			t.Errorf("error check run lacks %q:\n%s", want, summary)
		}
	}
}

func TestMembersVerifiedCommitsExemptWithOneLookup(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("dco:\n  require:\n    members: false\n"))
	e.fake.SetMember(owner, "alice", true)
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit("2222222222222222222222222222222222222222", unsigned, alice, nil, "alice", fakegithub.Verified("valid")),
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice", fakegithub.Verified("valid")),
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", map[string]any{"pull_request.commits": 2}))
	if run := e.waitChecks(1)[0]; run.GetConclusion() != "success" {
		t.Fatalf("member's verified commits: conclusion %s\n%s", run.GetConclusion(), run.GetOutput().GetText())
	}
	if lookups := e.countCalls(func(c string) bool { return strings.HasPrefix(c, "GET /orgs/") }); lookups != 1 {
		t.Errorf("membership lookups = %d for one author, want 1: %v", lookups, e.fake.Calls())
	}
}

func TestSupersededHeadIsNotJudged(t *testing.T) {
	e := start(t, setup{})
	// GitHub's list already ends at a newer push than the event's head.
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit("4444444444444444444444444444444444444444", unsigned, alice, nil, "alice"),
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	e.waitLogged("head replaced by a newer push")
	if runs := e.fake.CheckRuns(owner, repo); len(runs) != 0 {
		t.Fatalf("posted %d check runs for a superseded head", len(runs))
	}
	lists := e.countCalls(func(c string) bool { return c == callListCommits })
	if lists != 2 {
		t.Errorf("list-commits calls = %d, want 2 (one retry for GitHub to catch up, then stop)", lists)
	}
}

func TestUndecodablePayloadIsReportedNotRetried(t *testing.T) {
	e := start(t, setup{})
	// The documentation example's app timestamps ("2018-04-25 20:42:10")
	// are JSON, so intake accepts the delivery, but go-github cannot decode
	// them; retrying cannot help, so the job stops at once, loudly.
	e.send("check_run", payload(t, "check_run/rerequested.json", map[string]any{"check_run.name": "DCO"}))
	e.waitLogged("job gave up", "decode check_run delivery")
	if calls := e.fake.AllCalls(); len(calls) != 0 {
		t.Errorf("an undecodable delivery made GitHub calls: %v", calls)
	}
}

func TestRerunOfMergeGroupAndOfOutdatedChecks(t *testing.T) {
	e := start(t, setup{})
	const mqHead = "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d"
	e.fake.SetCompare(owner, repo, baseSHA, mqHead, []*github.RepositoryCommit{
		fakegithub.Commit(mqHead, signed, alice, nil, "alice"),
	})
	// "Re-run all checks" on a merge group's suite: no pull request, the
	// branch names the base.
	e.send("check_suite", payload(t, "check_suite/rerequested.json", map[string]any{
		"check_suite.head_branch": "gh-readonly-queue/master/pr-2-" + baseSHA, "check_suite.head_sha": mqHead,
		"check_suite.pull_requests": []any{}, "repository.name": repo, "repository.owner.login": owner,
	}))
	run := e.waitChecks(1)[0]
	if run.GetHeadSHA() != mqHead || run.GetConclusion() != "success" {
		t.Fatalf("merge group re-run: %s on %s", run.GetConclusion(), run.GetHeadSHA())
	}
	if got := withoutRules(e.fake.Calls()); !slices.Equal(got, []string{
		"GET /repos/Codertocat/Hello-World/compare/" + baseSHA + "..." + mqHead + "?per_page=100", callCreateCheck,
	}) {
		t.Errorf("merge group re-run calls = %v", got)
	}

	// Re-run of a check on a commit the pull request has moved past.
	e.fake.Reset()
	e.send("check_suite", payload(t, "check_suite/rerequested.json", map[string]any{
		"check_suite.head_sha": "5555555555555555555555555555555555555555",
		"repository.name":      repo, "repository.owner.login": owner,
	}))
	e.waitLogged("moved past")
	if got := withoutRules(e.fake.Calls()); len(got) != 0 {
		t.Errorf("re-run of an outdated check made calls: %v", got)
	}
}

func TestLockedSectionChangeIsShownAsNotApplied(t *testing.T) {
	e := start(t, setup{})
	e.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte("locked: [dco]\n"))
	e.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("dco:\n  enabled: false\n"))
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, unsigned, alice, nil, "alice"),
	})
	e.send("pull_request", payload(t, "pull_request/opened.json", nil))
	run := e.waitChecks(1)[0]
	if run.GetConclusion() != "action_required" {
		t.Fatalf("a locked dco section was switched off by the repository: %s", run.GetConclusion())
	}
	text := run.GetOutput().GetSummary() + run.GetOutput().GetText()
	if !strings.Contains(text, "were not applied") || !strings.Contains(text, ".github/contribot.yml:1:1: section dco is locked") {
		t.Errorf("check run does not show the ignored setting with its position:\n%s", text)
	}
	if strings.Contains(text, "were skipped") {
		t.Errorf("a warning is presented as a skipped file:\n%s", text)
	}
}

// countCalls counts the recorded calls that match.
func (e *env) countCalls(match func(call string) bool) int {
	n := 0
	for _, c := range e.fake.Calls() {
		if match(c) {
			n++
		}
	}
	return n
}
