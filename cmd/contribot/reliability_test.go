package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// Issue 6's reliability scenarios: the real binary, one or two processes,
// the fake GitHub, kill -9 and injected GitHub faults. Every figure is
// logged (and copied into BENCHMARKS.md); none decides pass or fail. What
// fails a test is a lost delivery, a duplicate verdict, comment or label
// write, or a client that sends requests GitHub asked it not to send.
//
// Default sizes keep each test short; CONTRIBOT_RELIABILITY_FULL=1 runs the
// sizes issue 6 names (2,000 deliveries across two replicas, 1,000 for the
// SQLite kill -9).

const (
	relOwner = "Codertocat"
	relRepo  = "Hello-World"
	// relNewcomers is how many distinct newcomers open pull requests. Each
	// costs one search per process (GitHub allows 30 a minute), and each
	// must be greeted exactly once however many pull requests they open.
	relNewcomers = 8
	// relMaxAttempts is githubapp.RetryPolicy's default MaxAttempts, which
	// the service does not override: one request is tried at most 3 times
	// by the retry transport.
	relMaxAttempts = 3
	// relWorkers is the most jobs one process runs at once (River's
	// priority queue, 10 workers, and default queue, 5): the most requests
	// that can be in flight when the client learns of a rate limit.
	relWorkers = 15
	// relJobTimeout is JOB_TIMEOUT in these tests; on PostgreSQL a job left
	// running by a killed replica is rescued after twice that.
	relJobTimeout = 3 * time.Second

	welcomeMarker = "<!-- contribot:welcome:"
	docsLabel     = "documentation"
)

// relRules gives every pull request (they all change docs/guide.md) the
// label "documentation", which the repository already has.
const relRules = `modules:
  docs:
    label: documentation
labels:
  rules:
    - name: docs
      files:
        any: ["docs/**"]
      modules: [docs]
`

func relFull() bool { return os.Getenv("CONTRIBOT_RELIABILITY_FULL") == "1" }

func relSize(small, full int) int {
	if relFull() {
		return full
	}
	return small
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary against the fake GitHub; skipped with -short")
	}
}

// relPR is one pull request of a run, with the delivery that announces it.
type relPR struct {
	number   int
	sha      string
	action   string // opened or synchronize
	login    string
	assoc    string
	newcomer bool
	delivery string // X-GitHub-Delivery
}

// relPRs makes n pull requests numbered from first. Every fourth is opened
// by one of relNewcomers newcomers (author association NONE, so intake
// queues a welcome job); the others by a member, half of them as
// synchronize events.
func relPRs(run string, first, n int) []relPR {
	prs := make([]relPR, n)
	for i := range n {
		p := relPR{
			number:   first + i,
			sha:      fmt.Sprintf("%040x", uint64(first+i)*0x9e3779b1+0xabc),
			action:   "synchronize",
			login:    "Codertocat",
			assoc:    "MEMBER",
			delivery: fmt.Sprintf("%s-%d", run, i),
		}
		switch {
		case i%4 == 0:
			p.action, p.newcomer, p.assoc = "opened", true, "NONE"
			p.login = fmt.Sprintf("newcomer-%d", (i/4)%relNewcomers)
		case i%2 == 0:
			p.action = "opened"
		}
		prs[i] = p
	}
	return prs
}

// prepareFake tells the fake about the repository's rules and labels and
// every pull request's commits and files.
func prepareFake(fake *fakegithub.Server, prs []relPR) {
	// About four requests a delivery: the full runs (2,000 deliveries) would
	// spend GitHub's 5,000 an hour, and the test is about faults it injects
	// itself. A real org of that volume has several installations' quota.
	fake.SetRateLimit(max(5000, 10*len(prs)))
	fake.SetFile(relOwner, relRepo, ".github/contribot.yml", []byte(relRules))
	fake.SetRepoLabels(relOwner, relRepo,
		&github.Label{Name: github.String("bug"), Color: github.String("d73a4a")},
		&github.Label{Name: github.String(docsLabel), Color: github.String("0075ca")},
	)
	for _, p := range prs {
		fake.SetPRCommits(relOwner, relRepo, p.number, []*github.RepositoryCommit{
			fakegithub.Commit(p.sha, "Fix\n\nSigned-off-by: A <a@example.org>\n",
				&github.CommitAuthor{Name: github.String("A"), Email: github.String("a@example.org")}, nil, "a"),
		})
		fake.SetPRFiles(relOwner, relRepo, p.number, []*github.CommitFile{{Filename: github.String("docs/guide.md")}})
	}
}

var relFixtures sync.Map // action → []byte

func (p relPR) body(t testing.TB) []byte {
	t.Helper()
	base, ok := relFixtures.Load(p.action)
	if !ok {
		b, err := os.ReadFile("../../fixtures/github/pull_request/" + p.action + ".json")
		if err != nil {
			t.Fatal(err)
		}
		base, _ = relFixtures.LoadOrStore(p.action, b)
	}
	body := base.([]byte)
	var err error
	for _, kv := range []struct {
		k string
		v any
	}{
		{"number", p.number},
		{"pull_request.number", p.number},
		{"pull_request.head.sha", p.sha},
		{"pull_request.user.login", p.login},
		{"pull_request.author_association", p.assoc},
		{"pull_request.html_url", fmt.Sprintf("https://github.com/%s/%s/pull/%d", relOwner, relRepo, p.number)},
		{"pull_request.labels", []any{}},
		{"pull_request.commits", 1},
		{"pull_request.changed_files", 1},
	} {
		if body, err = sjson.SetBytes(body, kv.k, kv.v); err != nil {
			t.Fatalf("set %s: %v", kv.k, err)
		}
	}
	return body
}

type relAck struct {
	Queued    []string `json:"queued"`
	Duplicate bool     `json:"duplicate"`
}

var relHTTP = &http.Client{Timeout: 15 * time.Second}

// deliver posts one signed delivery; err is a transport error (the process
// is gone), never a status.
func deliver(url, id string, body []byte) (int, relAck, error) {
	mac := hmac.New(sha256.New, []byte(crashSecret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, relAck{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := relHTTP.Do(req)
	if err != nil {
		return 0, relAck{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ack relAck
	_ = json.Unmarshal(b, &ack)
	return resp.StatusCode, ack, nil
}

// lockedBuf collects a process's stderr while the test reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// relProc is a running `contribot serve`: its URL, its stderr (safe to
// read while it writes) and done, closed when it has exited with exitErr.
type relProc struct {
	cmd     *exec.Cmd
	url     string
	logs    *lockedBuf
	done    chan struct{}
	exitErr error
}

// startRel starts `contribot serve` on a free port of 127.0.0.1 and waits
// until it answers /healthz; the test's end kills it.
func startRel(t *testing.T, bin string, env []string) *relProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &relProc{logs: &lockedBuf{}, url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(append(os.Environ(), env...), fmt.Sprintf("PORT=%d", port))
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("contribot exited at start:\n%s", p.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("contribot did not answer /healthz within 30s:\n%s", p.logs.String())
	return nil
}

// recorder is the fake's fault function: it notes when each request
// arrived (the fake records no times) and asks the scenario's fault.
type recorder struct {
	mu    sync.Mutex
	at    map[int]time.Time
	fault func(r *http.Request, n int, now time.Time) *fakegithub.Fault
}

func newRecorder(fake *fakegithub.Server) *recorder {
	rec := &recorder{at: map[int]time.Time{}}
	fake.Fault(func(r *http.Request, n int) *fakegithub.Fault {
		now := time.Now()
		rec.mu.Lock()
		rec.at[n] = now
		f := rec.fault
		rec.mu.Unlock()
		if f != nil {
			return f(r, n, now)
		}
		return nil
	})
	return rec
}

func (rec *recorder) set(f func(r *http.Request, n int, now time.Time) *fakegithub.Fault) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.fault = f
}

// arrival is when request n (1-based, as Fault numbers them) arrived.
func (rec *recorder) arrival(n int) time.Time {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.at[n]
}

// slowChecks delays check-run writes so that jobs are in flight when a
// process dies.
func slowChecks(r *http.Request) *fakegithub.Fault {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/check-runs") {
		return &fakegithub.Fault{Delay: 20 * time.Millisecond}
	}
	return nil
}

// relOutcome is what the fake holds after a run, judged against the pull
// requests whose deliveries were accepted.
type relOutcome struct {
	accepted        int
	processed       int // accepted PRs with a DCO verdict, their label and (newcomers) a greeting
	lost            int
	dupChecks       int // SHAs with more than one DCO check run
	failureChecks   int // check runs that are no pass
	dupGreetings    int // PRs with more than one greeting, plus newcomers greeted more than once
	greeted         int // newcomers greeted
	dupLabelWrites  int // PRs whose label was written more than once
	labelCreates    int
	requests        int // every request the fake received
	missingExamples []string
}

func judge(fake *fakegithub.Server, prs []relPR, accepted map[string]bool) relOutcome {
	var o relOutcome
	checks := map[string]int{}
	success := map[string]bool{}
	for _, r := range fake.CheckRuns(relOwner, relRepo) {
		checks[r.GetHeadSHA()]++
		if r.GetConclusion() == "success" {
			success[r.GetHeadSHA()] = true
		} else {
			o.failureChecks++
		}
	}
	reqs := fake.Requests()
	o.requests = len(reqs)
	labelWrites := map[string]int{}
	for _, r := range reqs {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/labels") && strings.Contains(r.Path, "/issues/") && r.Status == http.StatusOK:
			labelWrites[r.Path]++
		case r.Method == http.MethodPost && r.Path == "/repos/"+relOwner+"/"+relRepo+"/labels":
			o.labelCreates++
		}
	}
	greetings := map[string]int{}
	newcomers := map[string]bool{}
	for _, p := range prs {
		if checks[p.sha] > 1 {
			o.dupChecks++
		}
		path := fmt.Sprintf("/repos/%s/%s/issues/%d/labels", relOwner, relRepo, p.number)
		if labelWrites[path] > 1 {
			o.dupLabelWrites++
		}
		n := 0
		for _, c := range fake.Comments(relOwner, relRepo, p.number) {
			if strings.Contains(c.GetBody(), welcomeMarker) {
				n++
			}
		}
		if n > 1 {
			o.dupGreetings++
		}
		greetings[p.login] += n
		if !accepted[p.delivery] {
			continue
		}
		o.accepted++
		if p.newcomer {
			newcomers[p.login] = true
		}
		if success[p.sha] && slices.Contains(fake.Labels(relOwner, relRepo, p.number), docsLabel) {
			o.processed++
		} else {
			o.lost++
			if len(o.missingExamples) < 5 {
				o.missingExamples = append(o.missingExamples, fmt.Sprintf("PR %d (%s, checks %d, labels %q)",
					p.number, p.delivery, checks[p.sha], fake.Labels(relOwner, relRepo, p.number)))
			}
		}
	}
	for login := range newcomers {
		switch g := greetings[login]; {
		case g == 0:
			o.lost++
			o.missingExamples = append(o.missingExamples, "greeting for "+login)
		case g > 1:
			o.dupGreetings++
			o.greeted++
		default:
			o.greeted++
		}
	}
	return o
}

// waitDone waits until every accepted PR is processed and every newcomer
// greeted, then until the fake has had no request for settle, so that late
// duplicates are counted. It fails the test when deadline passes first.
func waitDone(t *testing.T, fake *fakegithub.Server, prs []relPR, accepted map[string]bool, deadline time.Duration, logs func() string) relOutcome {
	t.Helper()
	end := time.Now().Add(deadline)
	for pending(fake, prs, accepted) != 0 {
		if time.Now().After(end) {
			o := judge(fake, prs, accepted)
			t.Fatalf("%d of %d accepted deliveries not processed after %s (e.g. %q); logs:\n%s",
				o.lost, o.accepted, deadline, o.missingExamples, tail(logs(), 60))
		}
		time.Sleep(100 * time.Millisecond)
	}
	settle(fake, 1500*time.Millisecond, 30*time.Second)
	return judge(fake, prs, accepted)
}

// pending counts the accepted pull requests not yet fully processed. It
// is judge without the bookkeeping, cheap enough to poll: the fake serves
// the processes under the same lock that these reads take.
func pending(fake *fakegithub.Server, prs []relPR, accepted map[string]bool) int {
	success := map[string]bool{}
	for _, r := range fake.CheckRuns(relOwner, relRepo) {
		if r.GetConclusion() == "success" {
			success[r.GetHeadSHA()] = true
		}
	}
	n := 0
	greeted := map[string]bool{}
	for _, p := range prs {
		if !accepted[p.delivery] {
			continue
		}
		if !success[p.sha] {
			n++
			continue
		}
		if !slices.Contains(fake.Labels(relOwner, relRepo, p.number), docsLabel) {
			n++
		}
	}
	if n != 0 {
		return n
	}
	// Greetings last: reading comments is the dearest call here.
	want := map[string]bool{}
	for _, p := range prs {
		if accepted[p.delivery] && p.newcomer {
			want[p.login] = true
		}
	}
	for _, p := range prs {
		if !p.newcomer || greeted[p.login] {
			continue
		}
		for _, c := range fake.Comments(relOwner, relRepo, p.number) {
			if strings.Contains(c.GetBody(), welcomeMarker) {
				greeted[p.login] = true
			}
		}
	}
	for login := range want {
		if !greeted[login] {
			n++
		}
	}
	return n
}

// settle waits until the fake has received no request for quiet (at most max).
func settle(fake *fakegithub.Server, quiet, max time.Duration) {
	end := time.Now().Add(max)
	last, since := -1, time.Now()
	for time.Now().Before(end) {
		n := len(fake.Requests())
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// checkOutcome fails the test for any lost delivery or duplicate write;
// maxDupChecks is how many SHAs may carry a second check run (0 unless a
// process was killed between a job's write and its completion).
// checkOutcome fails on anything lost, any duplicate comment, and more
// duplicate check runs or label writes than the scenario allows: a job
// killed between its write and its completion repeats the write when it is
// rescued (a second check run of the same verdict, the latest of which is
// the current one; an add of a label already there, which GitHub ignores).
func checkOutcome(t *testing.T, o relOutcome, maxDupChecks, maxDupLabelWrites int) {
	t.Helper()
	if o.lost != 0 {
		t.Errorf("%d accepted deliveries lost (e.g. %q)", o.lost, o.missingExamples)
	}
	if o.dupChecks > maxDupChecks {
		t.Errorf("%d SHAs got more than one DCO check run, want at most %d", o.dupChecks, maxDupChecks)
	}
	if o.failureChecks != 0 {
		t.Errorf("%d check runs are not a pass; every commit is signed off", o.failureChecks)
	}
	if o.dupGreetings != 0 {
		t.Errorf("%d duplicate welcome comments (per PR or per newcomer)", o.dupGreetings)
	}
	if o.dupLabelWrites > maxDupLabelWrites {
		t.Errorf("%d pull requests had their label written more than once, want at most %d", o.dupLabelWrites, maxDupLabelWrites)
	}
	if o.labelCreates != 0 {
		t.Errorf("%d label creations; the label exists", o.labelCreates)
	}
}

// sender spreads deliveries over concurrent posters and records which were
// acknowledged with 202.
type sender struct {
	mu       sync.Mutex
	accepted map[string]bool
	dupAcks  int
	failed   []relPR // transport errors: the process was gone
	acked    atomic.Int64
}

func newSender() *sender { return &sender{accepted: map[string]bool{}} }

// send posts prs with conc posters; target picks each delivery's process.
// A delivery that gets a transport error is kept for a later resend (as
// GitHub redelivers); any status other than 202 fails the test.
func (s *sender) send(t *testing.T, prs []relPR, conc int, target func(i int, p relPR) string, stop *atomic.Bool) {
	t.Helper()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	errs := make(chan string, conc)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(prs) {
					return
				}
				p := prs[i]
				if stop != nil && stop.Load() {
					s.mu.Lock()
					s.failed = append(s.failed, p)
					s.mu.Unlock()
					continue
				}
				status, ack, err := deliver(target(i, p), p.delivery, p.body(t))
				s.mu.Lock()
				switch {
				case err != nil:
					s.failed = append(s.failed, p)
				case status == http.StatusAccepted:
					s.accepted[p.delivery] = true
					if ack.Duplicate {
						s.dupAcks++
					}
				default:
					select {
					case errs <- fmt.Sprintf("delivery %s: status %d", p.delivery, status):
					default:
					}
				}
				s.mu.Unlock()
				if err == nil && status == http.StatusAccepted {
					s.acked.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func (s *sender) takeFailed() []relPR {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failed
	s.failed = nil
	return f
}

func (s *sender) acceptedCopy() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.accepted))
	for k, v := range s.accepted {
		out[k] = v
	}
	return out
}

// relEnvFor is crashEnv with a short JOB_TIMEOUT.
func relEnvFor(t *testing.T, fake *fakegithub.Server, db string) []string {
	return append(crashEnv(t, fake, db), "JOB_TIMEOUT="+relJobTimeout.String())
}

func logRow(t *testing.T, scenario string, sent int, o relOutcome, extra int, recovery string) {
	t.Helper()
	t.Logf("RELIABILITY | %s | sent %d | accepted %d | processed %d | duplicates: %d check runs, %d greetings, %d label writes | newcomers greeted %d | lost %d | GitHub requests %d (extra %+d) | recovery %s",
		scenario, sent, o.accepted, o.processed, o.dupChecks, o.dupGreetings, o.dupLabelWrites, o.greeted, o.lost, o.requests, extra, recovery)
}

var _ = context.Background
