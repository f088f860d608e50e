package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// requestKey names one logical request: method, path, query and body. Its
// attempts are the requests with the same key.
func requestKey(method, path, query string, body []byte) string {
	sum := sha256.Sum256(body)
	return method + " " + path + "?" + query + " " + hex.EncodeToString(sum[:8])
}

// appPath reports App (JWT) endpoints, which GitHub limits apart from the
// installation's quota.
func appPath(p string) bool { return p == "/app" || strings.HasPrefix(p, "/app/") }

// perPRAttempts is, over all pull requests, the most requests for one pull
// request's commits list and for one head SHA's check run.
func perPRAttempts(reqs []fakegithub.Request, prs []relPR) (commits, checks int) {
	bySHA := map[string]int{}
	byPath := map[string]int{}
	for _, r := range reqs {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/commits") && strings.Contains(r.Path, "/pulls/"):
			byPath[r.Path]++
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/check-runs"):
			var body struct {
				HeadSHA string `json:"head_sha"`
			}
			_ = json.Unmarshal(r.Body, &body)
			bySHA[body.HeadSHA]++
		}
	}
	for _, p := range prs {
		commits = max(commits, byPath[fmt.Sprintf("/repos/%s/%s/pulls/%d/commits", relOwner, relRepo, p.number)])
		checks = max(checks, bySHA[p.sha])
	}
	return commits, checks
}

// faultCase is one kind of GitHub misbehaviour. install returns the fault
// (nil: none); check asserts what the client must respect.
type faultCase struct {
	name string
	// maxAttempts bounds the requests for one PR's commits or check run.
	maxAttempts int
	install     func(t *testing.T, fake *fakegithub.Server, prs []relPR) func(r *http.Request, n int, now time.Time) *fakegithub.Fault
	check       func(t *testing.T, fake *fakegithub.Server, rec *recorder)
}

func TestReliabilityGitHubFaults(t *testing.T) {
	skipShort(t)
	n := relSize(50, 200)
	bin := buildBinary(t)
	baseline := 0

	cases := []faultCase{
		{name: "no fault (baseline)", maxAttempts: 1,
			install: func(*testing.T, *fakegithub.Server, []relPR) func(*http.Request, int, time.Time) *fakegithub.Fault {
				return nil
			}},
		badGatewayCase(),
		secondaryCase(),
		primaryCase(),
		revokeCase(n),
	}
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			prs := relPRs("fault", 1000, n)
			fake := fakegithub.New(t)
			rec := newRecorder(fake)
			prepareFake(fake, prs)
			rec.set(fc.install(t, fake, prs))
			// The default JOB_TIMEOUT (1m): a job must outlast its waits for
			// Retry-After and resets, or its retry repeats a write GitHub applied.
			p := startRel(t, bin, crashEnv(t, fake, filepath.Join(t.TempDir(), "contribot.db")))
			start := time.Now()
			s := newSender()
			s.send(t, prs, 4, func(int, relPR) string { return p.url }, nil)
			if f := s.takeFailed(); len(f) != 0 {
				t.Fatalf("%d deliveries failed", len(f))
			}
			o := waitDone(t, fake, prs, s.acceptedCopy(), 3*time.Minute, p.logs.String)
			took := time.Since(start)
			checkOutcome(t, o, 0, 0)
			reqs := fake.Requests()
			commits, checks := perPRAttempts(reqs, prs)
			if commits > fc.maxAttempts || checks > fc.maxAttempts {
				t.Errorf("one PR's commits were requested %d times and one SHA's check run posted %d times; the retry policy allows at most %d",
					commits, checks, fc.maxAttempts)
			}
			statuses := map[int]int{}
			for _, r := range reqs {
				statuses[r.Status]++
			}
			if fc.check != nil {
				fc.check(t, fake, rec)
			}
			extra := 0
			if baseline == 0 && fc.maxAttempts == 1 {
				baseline = o.requests
			} else if baseline != 0 {
				extra = o.requests - baseline
			}
			t.Logf("%d PRs done and settled in %s; answers by status %v; most requests for one PR's commits %d, for one SHA's check run %d",
				n, took.Round(time.Millisecond), statuses, commits, checks)
			logRow(t, "GitHub faults: "+fc.name, n, o, extra, took.Round(time.Millisecond).String())
		})
	}
}

// faultOnce remembers how often each logical request was faulted, so that
// a case can stay within what the retry policy recovers from in one job run.
type faultOnce struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *faultOnce) take(r *http.Request, limit int) (string, bool) {
	body, _ := io.ReadAll(r.Body)
	key := requestKey(r.Method, r.URL.Path, r.URL.RawQuery, body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	if f.n[key] >= limit {
		return key, false
	}
	f.n[key]++
	return key, true
}

// badGatewayCase answers every 10th request 502, but no request more than
// twice in a row, so that the transport's 3 attempts always get through.
func badGatewayCase() faultCase {
	return faultCase{name: "every 10th response 502", maxAttempts: relMaxAttempts,
		install: func(*testing.T, *fakegithub.Server, []relPR) func(*http.Request, int, time.Time) *fakegithub.Fault {
			var once faultOnce
			return func(r *http.Request, n int, _ time.Time) *fakegithub.Fault {
				if n%10 != 0 {
					return nil
				}
				if _, ok := once.take(r, relMaxAttempts-1); ok {
					return fakegithub.BadGateway()
				}
				return nil
			}
		}}
}

type limited struct {
	n     int
	at    time.Time
	key   string
	until time.Time
}

// secondaryCase answers every 4th write 403 with Retry-After: 1 (once per
// request). The same request must not come back before the second is up,
// and, as GitHub asks, no request of the installation may be sent in the
// meantime (beyond those already on the wire: 250 ms of grace).
func secondaryCase() faultCase {
	var mu sync.Mutex
	var hits []limited
	return faultCase{name: "secondary rate limit, Retry-After 1", maxAttempts: relMaxAttempts,
		install: func(*testing.T, *fakegithub.Server, []relPR) func(*http.Request, int, time.Time) *fakegithub.Fault {
			var once faultOnce
			writes := 0
			return func(r *http.Request, n int, now time.Time) *fakegithub.Fault {
				if r.Method == http.MethodGet || appPath(r.URL.Path) {
					return nil
				}
				mu.Lock()
				writes++
				w := writes
				mu.Unlock()
				if w%4 != 0 {
					return nil
				}
				key, ok := once.take(r, 1)
				if !ok {
					return nil
				}
				mu.Lock()
				hits = append(hits, limited{n: n, at: now, key: key, until: now.Add(time.Second)})
				mu.Unlock()
				return fakegithub.SecondaryRateLimit(1)
			}
		},
		check: func(t *testing.T, fake *fakegithub.Server, rec *recorder) {
			mu.Lock()
			defer mu.Unlock()
			checkWindows(t, fake, rec, hits, 250*time.Millisecond, "secondary rate limit")
		}}
}

// checkWindows asserts that after each limited answer the same request
// came back only after its window, and that no other request of the
// installation arrived inside it after grace.
func checkWindows(t *testing.T, fake *fakegithub.Server, rec *recorder, hits []limited, grace time.Duration, what string) {
	t.Helper()
	if len(hits) == 0 {
		t.Fatalf("no %s was injected", what)
	}
	reqs := fake.Requests()
	early, inWindow := 0, 0
	var examples []string
	for _, h := range hits {
		for i := h.n; i < len(reqs); i++ { // reqs[h.n] is request n+1
			r := reqs[i]
			if appPath(r.Path) {
				continue
			}
			at := rec.arrival(i + 1)
			if at.IsZero() || !at.Before(h.until) {
				continue
			}
			if requestKey(r.Method, r.Path, r.RawQuery, r.Body) == h.key {
				early++
				examples = append(examples, fmt.Sprintf("%s repeated %s after its %s, window %s",
					r.Call(), at.Sub(h.at).Round(time.Millisecond), what, h.until.Sub(h.at)))
				continue
			}
			if at.Sub(h.at) > grace {
				inWindow++
				if len(examples) < 8 {
					examples = append(examples, fmt.Sprintf("%s sent %s after a %s answer, window %s",
						r.Call(), at.Sub(h.at).Round(time.Millisecond), what, h.until.Sub(h.at)))
				}
			}
		}
	}
	t.Logf("%d %s answers; requests inside a window: %d repeats of the limited request, %d others after %s of grace",
		len(hits), what, early, inWindow, grace)
	if early != 0 || inWindow != 0 {
		t.Errorf("requests sent while GitHub had asked to wait (%s): %d repeats, %d others; e.g.\n%s",
			what, early, inWindow, strings.Join(examples, "\n"))
	}
}

// primaryCase spends the installation's quota for a few seconds from the
// first request on: every request answers 403 with X-RateLimit-Remaining 0
// and the reset. Nothing may be sent again before the reset.
func primaryCase() faultCase {
	var mu sync.Mutex
	var reset time.Time
	var hits []limited
	return faultCase{name: "primary rate limit exhausted for 3s", maxAttempts: relMaxAttempts,
		install: func(*testing.T, *fakegithub.Server, []relPR) func(*http.Request, int, time.Time) *fakegithub.Fault {
			return func(r *http.Request, n int, now time.Time) *fakegithub.Fault {
				// Searches have their own quota on GitHub, App calls too.
				if appPath(r.URL.Path) || strings.HasPrefix(r.URL.Path, "/search/") {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				if reset.IsZero() {
					reset = now.Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
				}
				if !now.Before(reset) {
					return nil
				}
				body, _ := io.ReadAll(r.Body)
				hits = append(hits, limited{n: n, at: now, key: requestKey(r.Method, r.URL.Path, r.URL.RawQuery, body), until: reset})
				return fakegithub.PrimaryRateLimit(reset)
			}
		},
		check: func(t *testing.T, fake *fakegithub.Server, rec *recorder) {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("quota exhausted until %s: %d requests answered 403 rate limit exceeded, the first at %s",
				reset.Format("15:04:05"), len(hits), hits[0].at.Format("15:04:05.000"))
			// Only the first answer opens the window the client learns of.
			checkWindows(t, fake, rec, hits[:1], 250*time.Millisecond, "primary rate limit")
			if len(hits) > relWorkers {
				t.Errorf("%d requests were answered 403 (quota exhausted); after the first, at most the %d in flight should be",
					len(hits), relWorkers)
			}
		}}
}

// revokeCase revokes every installation token once a third of the verdicts
// are posted. Each request may meet one 401 (the transport renews the token
// and replays once); the new tokens must be few.
func revokeCase(n int) faultCase {
	var mu sync.Mutex
	var revokedAt int
	return faultCase{name: "installation token revoked mid-run", maxAttempts: relMaxAttempts,
		install: func(_ *testing.T, fake *fakegithub.Server, _ []relPR) func(*http.Request, int, time.Time) *fakegithub.Fault {
			posted := 0
			return func(r *http.Request, seq int, _ time.Time) *fakegithub.Fault {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/check-runs") {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				posted++
				if posted == n/3 && revokedAt == 0 {
					fake.RevokeTokens()
					revokedAt = seq
				}
				return nil
			}
		},
		check: func(t *testing.T, fake *fakegithub.Server, _ *recorder) {
			mu.Lock()
			defer mu.Unlock()
			if revokedAt == 0 {
				t.Fatal("tokens were never revoked")
			}
			reqs := fake.Requests()
			unauthorized, tokens := 0, 0
			per := map[string]int{}
			for _, r := range reqs[revokedAt-1:] {
				switch {
				case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/access_tokens"):
					tokens++
				case r.Status == http.StatusUnauthorized:
					unauthorized++
					per[requestKey(r.Method, r.Path, r.RawQuery, r.Body)]++
				}
			}
			worst := 0
			for _, c := range per {
				worst = max(worst, c)
			}
			t.Logf("after the revocation: %d requests answered 401, %d new installation tokens; most 401s for one request: %d",
				unauthorized, tokens, worst)
			if worst > 1 {
				t.Errorf("a request met 401 %d times; the client renews the token and replays once", worst)
			}
			if tokens > relWorkers {
				t.Errorf("%d installation tokens minted after one revocation; concurrent renewals should share one (at most %d in flight)", tokens, relWorkers)
			}
		}}
}
