package app_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// Benchmarks run the whole service in-process: real HTTP, River on SQLite
// in a temp dir, the GitHub App transport stack, and the fake GitHub.
// BENCHMARKS.md has the commands and the figures.

func benchEnv(b *testing.B, s setup) (*env, []byte) {
	b.Helper()
	// CONTRIBOT_BENCH_DATABASE_URL=postgres://… runs the same benchmark on
	// PostgreSQL (use a fresh schema via search_path).
	if s.databaseURL == "" {
		s.databaseURL = os.Getenv("CONTRIBOT_BENCH_DATABASE_URL")
	}
	// As deployed (LOG_LEVEL=info): no per-delivery debug lines.
	info := slog.LevelInfo
	s.logLevel = &info
	e := start(b, s)
	e.fake.SetPRCommits(owner, repo, prNumber, []*github.RepositoryCommit{
		fakegithub.Commit(headSHA, signed, alice, nil, "alice"),
	})
	body, err := os.ReadFile("../fixtures/github/pull_request/synchronize.json")
	if err != nil {
		b.Fatal(err)
	}
	return e, body
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func signedRequest(url, event, id string, body []byte) *http.Request {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

func deliver(b *testing.B, url string, id string, body []byte) time.Duration {
	t0 := time.Now()
	resp, err := benchClient.Do(signedRequest(url, "pull_request", id, body))
	d := time.Since(t0)
	if err != nil {
		b.Error(err)
		return d
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Errorf("delivery %s: status %d", id, resp.StatusCode)
	}
	return d
}

// BenchmarkIntake measures accepted deliveries per second: verify, decode,
// persist, 202. Workers are stopped so that the figure is intake's alone;
// BenchmarkIntakeWithWorkers has both on the same two cores.
func BenchmarkIntake(b *testing.B) { benchIntake(b, setup{intakeOnly: true}) }

// BenchmarkIntakeWithWorkers is intake while the workers process the same
// deliveries against the in-process fake GitHub.
func BenchmarkIntakeWithWorkers(b *testing.B) { benchIntake(b, setup{}) }

func benchIntake(b *testing.B, s setup) {
	e, body := benchEnv(b, s)
	var n atomic.Int64
	b.SetBytes(int64(len(body)))
	// GitHub sends deliveries concurrently; 16 senders per core.
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			deliver(b, e.url, fmt.Sprintf("intake-%d", n.Add(1)), body)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkIntakeAt200PerSecond sends at a steady 200 deliveries/s, the
// rate of a busy org, and reports acknowledgement latency percentiles.
func BenchmarkIntakeAt200PerSecond(b *testing.B) { benchSteady(b, setup{}) }

// BenchmarkIntakeAt200PerSecondNoWorkers is the same with the workers
// stopped, to tell intake's own latency from the workers' competition for
// the two cores and the one SQLite connection.
func BenchmarkIntakeAt200PerSecondNoWorkers(b *testing.B) { benchSteady(b, setup{intakeOnly: true}) }

func benchSteady(b *testing.B, s setup) {
	e, body := benchEnv(b, s)
	const rate, total = 200, 2000
	lat := make([]time.Duration, 0, total)
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for i := range total {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := deliver(b, e.url, fmt.Sprintf("steady-%d-%d", b.N, i), body)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// BenchmarkEndToEnd is one push to one DCO check run: webhook in, queue,
// worker, rules (cached), list commits, check run created on the fake.
func BenchmarkEndToEnd(b *testing.B) {
	e, body := benchEnv(b, setup{})
	// Warm the token and rules caches, as a running service has them.
	// Each push is a new head on its own PR, as GitHub's list would show.
	push := func(i int) ([]byte, string) {
		sha, number := fmt.Sprintf("%040x", i+1), 1000+i
		e.fake.SetPRCommits(owner, repo, number, []*github.RepositoryCommit{fakegithub.Commit(sha, signed, alice, nil, "alice")})
		pr, _ := sjson.SetBytes(body, "pull_request.head.sha", sha)
		pr, _ = sjson.SetBytes(pr, "number", number)
		pr, _ = sjson.SetBytes(pr, "pull_request.number", number)
		return pr, sha
	}
	warm, warmSHA := push(-1)
	deliver(b, e.url, "warm", warm)
	waitSHA(b, e, warmSHA)
	e.fake.Reset()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pr, sha := push(i)
		b.StartTimer()
		t0 := time.Now()
		deliver(b, e.url, "e2e-bench-"+strconv.Itoa(i), pr)
		waitSHA(b, e, sha)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(float64(len(e.fake.AllCalls()))/float64(b.N), "github-calls/op")
	if rss := peakRSSMB(); rss > 0 {
		b.ReportMetric(rss, "peak-RSS-MB")
	}
}

func waitSHA(b *testing.B, e *env, sha string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		runs := e.fake.CheckRuns(owner, repo)
		for i := len(runs) - 1; i >= 0; i-- {
			if runs[i].GetHeadSHA() == sha {
				return
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	b.Fatalf("no check run for %s", sha)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// peakRSSMB reads the process's high-water mark; in a benchmark it covers
// the service plus the fake GitHub and the load, so it is an upper bound.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
