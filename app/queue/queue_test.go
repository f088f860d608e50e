package queue_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

// postgresURL is queue.FreshPostgres, from this package's internal tests.
var postgresURL = queue.FreshPostgres

type backend struct {
	name string
	url  func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "contribot.db") }},
	{"postgres", postgresURL},
}

func TestBackend(t *testing.T) {
	tests := []struct{ in, backend, target string }{
		{"", "sqlite", queue.DefaultSQLitePath},
		{"postgres://u@h/db", "postgres", "postgres://u@h/db"},
		{"postgresql://u@h/db", "postgres", "postgresql://u@h/db"},
		{"sqlite:///data/c.db", "sqlite", "/data/c.db"},
		{"sqlite:c.db", "sqlite", "c.db"},
		{"/data/contribot.db", "sqlite", "/data/contribot.db"},
	}
	for _, tt := range tests {
		b, target := queue.Backend(tt.in)
		if b != tt.backend || target != tt.target {
			t.Errorf("Backend(%q) = %s %s, want %s %s", tt.in, b, target, tt.backend, tt.target)
		}
	}
}

// recorder is a Handler that records the jobs it ran and fails on demand.
type recorder struct {
	mu   sync.Mutex
	runs map[string]int
	fail func(job queue.Job) error
}

func (r *recorder) Handle(_ context.Context, job queue.Job) error {
	r.mu.Lock()
	if r.runs == nil {
		r.runs = map[string]int{}
	}
	r.runs[job.Delivery+"/"+job.Feature]++
	r.mu.Unlock()
	if r.fail != nil {
		return r.fail(job)
	}
	return nil
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[key]
}

func open(t *testing.T, url string, h queue.Handler, retryAfter func(error) (time.Duration, bool)) *queue.Queue {
	t.Helper()
	q, err := queue.Open(context.Background(), url, queue.Options{Handler: h, RetryAfter: retryAfter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	return q
}

// waitCompleted waits for n completed jobs or fails the test.
func waitCompleted(t *testing.T, events <-chan *river.Event, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for done := 0; done < n; {
		select {
		case ev := <-events:
			if ev.Kind == river.EventKindJobCompleted {
				done++
			}
		case <-timeout:
			t.Fatalf("only %d of %d jobs completed in 30s", done, n)
		}
	}
}

func TestEnqueueIsUniqueAndWorked(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rec := &recorder{}
			q := open(t, b.url(t), rec, nil)
			ctx := context.Background()
			routes := []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}, {Feature: "labels", Queue: queue.QueueDefault}}
			payload := []byte(`{"action":"opened"}`)
			n, err := q.Enqueue(ctx, "d-1", "pull_request", payload, routes)
			if err != nil || n != 2 {
				t.Fatalf("first Enqueue = %d, %v; want 2 new jobs", n, err)
			}
			n, err = q.Enqueue(ctx, "d-1", "pull_request", payload, routes)
			if err != nil || n != 0 {
				t.Fatalf("repeated Enqueue = %d, %v; want 0 (duplicate)", n, err)
			}
			events, cancel := q.Subscribe(river.EventKindJobCompleted)
			defer cancel()
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitCompleted(t, events, 2)
			if rec.count("d-1/dco") != 1 || rec.count("d-1/labels") != 1 {
				t.Fatalf("runs = %v, want each feature once", rec.runs)
			}
		})
	}
}

func TestFailedJobIsRetried(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rec := &recorder{fail: func(job queue.Job) error {
				if job.Attempt == 1 {
					return errors.New("GitHub answered 502")
				}
				return nil
			}}
			q := open(t, b.url(t), rec, nil)
			events, cancel := q.Subscribe(river.EventKindJobCompleted)
			defer cancel()
			ctx := context.Background()
			if _, err := q.Enqueue(ctx, "d-retry", "pull_request", []byte(`{}`), []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}); err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitCompleted(t, events, 1)
			if got := rec.count("d-retry/dco"); got != 2 {
				t.Fatalf("ran %d times, want 2 (fail, then retry)", got)
			}
		})
	}
}

var errLimited = errors.New("rate limited until reset")

func TestRateLimitedJobIsSnoozed(t *testing.T) {
	first := true
	var mu sync.Mutex
	rec := &recorder{fail: func(job queue.Job) error {
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			return fmt.Errorf("list commits: %w", errLimited)
		}
		return nil
	}}
	retryAfter := func(err error) (time.Duration, bool) {
		if errors.Is(err, errLimited) {
			return 50 * time.Millisecond, true
		}
		return 0, false
	}
	q := open(t, filepath.Join(t.TempDir(), "c.db"), rec, retryAfter)
	events, cancel := q.Subscribe(river.EventKindJobCompleted, river.EventKindJobSnoozed)
	defer cancel()
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, "d-snooze", "pull_request", []byte(`{}`), []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var snoozed, completed bool
	timeout := time.After(30 * time.Second)
	for !completed {
		select {
		case ev := <-events:
			switch ev.Kind {
			case river.EventKindJobSnoozed:
				snoozed = true
			case river.EventKindJobCompleted:
				completed = true
				if len(ev.Job.Errors) > 0 {
					t.Errorf("a snooze recorded an error: %v", ev.Job.Errors)
				}
			}
		case <-timeout:
			t.Fatal("job did not complete after its snooze")
		}
	}
	if !snoozed {
		t.Fatal("rate-limited job was not snoozed")
	}
}

// Two replicas receiving the same delivery at the same moment queue it
// once: the payload row's primary key decides, inside each transaction.
func TestConcurrentDuplicateDeliveriesAcrossReplicas(t *testing.T) {
	url := postgresURL(t)
	a := open(t, url, &recorder{}, nil)
	b := open(t, url, &recorder{}, nil)
	ctx := context.Background()
	routes := []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	queued := map[string]int{}
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("dup-%d", i)
		for _, q := range []*queue.Queue{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := q.Enqueue(ctx, id, "pull_request", []byte(`{"action":"opened"}`), routes)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				queued[id] += n
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for id, n := range queued {
		if n != 1 {
			t.Errorf("delivery %s sent 4 times to 2 replicas queued %d jobs, want 1", id, n)
		}
	}
	if len(queued) != 50 {
		t.Errorf("%d deliveries answered, want 50", len(queued))
	}
}

// A process killed between inserting a batch's jobs and marking the batch
// dispatched leaves deliveries that look pending; the next start must not
// queue their jobs a second time.
func TestInboxRedispatchAfterCrashQueuesOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "contribot.db")
	ctx := context.Background()
	routes := []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}, {Feature: "labels", Queue: queue.QueueDefault}}

	q, err := queue.Open(ctx, path, queue.Options{NoWork: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, "d-crash", "pull_request", []byte(`{}`), routes); err != nil {
		t.Fatal(err)
	}
	countJobs := func() int {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'webhook'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for countJobs() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countJobs(); n != 2 {
		t.Fatalf("after dispatch: %d jobs, want 2", n)
	}
	// The crash: the jobs are in River, the mark never happened.
	inbox, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "contribot-inbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.Exec(`UPDATE contribot_delivery SET dispatched = 0`); err != nil {
		t.Fatal(err)
	}
	inbox.Close()

	q2, err := queue.Open(ctx, path, queue.Options{NoWork: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Stop(ctx)
	// Wait for the recovering pass to mark the delivery dispatched again.
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "contribot-inbox.db"))
		var pending int
		_ = db.QueryRow(`SELECT count(*) FROM contribot_delivery WHERE dispatched = 0`).Scan(&pending)
		db.Close()
		if pending == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := countJobs(); n != 2 {
		t.Fatalf("after a restart re-dispatched the delivery: %d jobs, want still 2", n)
	}
}
