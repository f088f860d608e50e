package queue_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
	"github.com/SovereignCloudStack/contribot/app/queue"
)

// adminBackend is a database for the admin tests, with a way to reach the
// table of delivery payloads (the inbox file on SQLite).
type adminBackend struct {
	name string
	open func(t *testing.T) (url string, payloads func(q *queue.Queue) *sql.DB)
}

var adminBackends = []adminBackend{
	{"sqlite", func(t *testing.T) (string, func(*queue.Queue) *sql.DB) {
		path := filepath.Join(t.TempDir(), "contribot.db")
		return path, func(*queue.Queue) *sql.DB {
			db, err := sql.Open("sqlite", "file:"+strings.TrimSuffix(path, ".db")+"-inbox.db?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	}},
	{"postgres", func(t *testing.T) (string, func(*queue.Queue) *sql.DB) {
		return dbtest.FreshPostgres(t), func(q *queue.Queue) *sql.DB { return q.DB() }
	}},
}

// eventually polls cond until it holds or fails the test after 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func jobState(t *testing.T, q *queue.Queue, id int64) string {
	t.Helper()
	var s string
	if err := q.DB().QueryRowContext(context.Background(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func failedByArgs(t *testing.T, q *queue.Queue) map[string]queue.FailedJob {
	t.Helper()
	jobs, err := q.FailedJobs(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]queue.FailedJob{}
	for _, j := range jobs {
		m[j.Args] = j
	}
	return m
}

func TestFailedJobsAreListedAndRetried(t *testing.T) {
	for _, b := range adminBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			url, payloads := b.open(t)
			var failing atomic.Bool
			failing.Store(true)
			var ran runCounter
			handler := queue.HandlerFunc(func(_ context.Context, j queue.Job) error {
				ran.add(j.Delivery)
				if !failing.Load() {
					return nil
				}
				switch j.Delivery {
				case "d-cancel", "d-gone":
					return queue.Permanent(errors.New("refused <b>by</b> GitHub"))
				default:
					return errors.New("GitHub answered 502")
				}
			})
			tasks := queue.TaskFunc(func(context.Context, queue.Task) error {
				if failing.Load() {
					return queue.Permanent(errors.New("task broke"))
				}
				return nil
			})
			q, err := queue.Open(ctx, url, queue.Options{Handler: handler, Tasks: tasks, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			for _, d := range []string{"d-cancel", "d-discard", "d-gone"} {
				if _, err := q.Enqueue(ctx, d, "pull_request", []byte(`{}`), []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Schedule(ctx, "poll", "all", 0); err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			want := map[string]struct{ state, err string }{
				"delivery=d-cancel feature=dco event=pull_request":  {"cancelled", "JobCancelError: refused <b>by</b> GitHub"},
				"delivery=d-gone feature=dco event=pull_request":    {"cancelled", "JobCancelError: refused <b>by</b> GitHub"},
				"delivery=d-discard feature=dco event=pull_request": {"discarded", "GitHub answered 502"},
				"task=poll key=all": {"cancelled", "JobCancelError: task broke"},
			}
			var failed map[string]queue.FailedJob
			eventually(t, "four failed jobs", func() bool {
				failed = failedByArgs(t, q)
				return len(failed) == len(want)
			})
			for args, w := range want {
				j, ok := failed[args]
				switch {
				case !ok:
					t.Errorf("FailedJobs lacks %q; got %v", args, failed)
				case j.State != w.state || j.LastError != w.err || j.Attempt != 1 || j.MaxAttempts != 1:
					t.Errorf("FailedJobs[%q] = %s %q attempt %d/%d; want %s %q attempt 1/1", args, j.State, j.LastError, j.Attempt, j.MaxAttempts, w.state, w.err)
				case j.At.IsZero() || time.Since(j.At) > time.Minute || time.Until(j.At) > time.Minute:
					t.Errorf("FailedJobs[%q].At = %v; want about now", args, j.At)
				}
			}
			if j := failed["delivery=d-cancel feature=dco event=pull_request"]; j.Delivery != "d-cancel" || j.Feature != "dco" || j.Event != "pull_request" || j.Kind != "webhook" || j.Queue != queue.QueuePriority {
				t.Errorf("webhook job decoded as %+v", j)
			}
			if j := failed["task=poll key=all"]; j.Task != "poll" || j.Key != "all" || j.Kind != "task" {
				t.Errorf("task decoded as %+v", j)
			}

			// A retryable job: River retries it later, the admin now.
			discard := failed["delivery=d-discard feature=dco event=pull_request"].ID
			later := `UPDATE river_job SET state = 'retryable', finalized_at = NULL, max_attempts = 5, scheduled_at = '2999-01-01 00:00:00.000' WHERE id = $1`
			if _, err := q.DB().ExecContext(ctx, later, discard); err != nil {
				t.Fatal(err)
			}
			if j := failedByArgs(t, q)["delivery=d-discard feature=dco event=pull_request"]; j.State != "retryable" || j.LastError != "GitHub answered 502" {
				t.Errorf("retryable job listed as %+v", j)
			}

			// The payload of d-gone is pruned: its retry must be refused.
			gone := failed["delivery=d-gone feature=dco event=pull_request"].ID
			if _, err := payloads(q).ExecContext(ctx, `DELETE FROM contribot_delivery WHERE id = 'd-gone'`); err != nil {
				t.Fatal(err)
			}

			failing.Store(false)
			tests := []struct {
				name    string
				id      int64
				wantErr error
			}{
				{"cancelled webhook job", failed["delivery=d-cancel feature=dco event=pull_request"].ID, nil},
				{"retryable webhook job", discard, nil},
				{"cancelled task", failed["task=poll key=all"].ID, nil},
				{"payload pruned", gone, queue.ErrPayloadExpired},
				{"unknown job", 999999, queue.ErrJobNotFound},
			}
			for _, tt := range tests {
				err := q.RetryJob(ctx, tt.id)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s: RetryJob(%d) = %v; want %v", tt.name, tt.id, err, tt.wantErr)
				}
			}
			for _, tt := range tests[:3] {
				eventually(t, tt.name+" completed", func() bool { return jobState(t, q, tt.id) == "completed" })
			}
			if s := jobState(t, q, gone); s != "cancelled" {
				t.Errorf("job with a pruned payload is %s after a refused retry; want cancelled", s)
			}
			if n := ran.count("d-cancel"); n != 2 {
				t.Errorf("d-cancel ran %d times; want 2 (the failure and the retry)", n)
			}
			// A completed job is not failed: a second retry is refused.
			if err := q.RetryJob(ctx, tests[0].id); !errors.Is(err, queue.ErrNotRetryable) {
				t.Errorf("RetryJob of a completed job = %v; want ErrNotRetryable", err)
			}
			if left := failedByArgs(t, q); len(left) != 1 {
				t.Errorf("FailedJobs after the retries = %v; want only the job whose payload is gone", left)
			}
		})
	}
}

// Retrying a job that already used its last attempt gives it one more, or
// River would discard it again without running it.
func TestRetryRaisesMaxAttempts(t *testing.T) {
	for _, b := range adminBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			url, _ := b.open(t)
			q, err := queue.Open(ctx, url, queue.Options{NoWork: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			if err := q.Schedule(ctx, "rebuild", "org", 0); err != nil {
				t.Fatal(err)
			}
			var id int64
			eventually(t, "the task in River", func() bool {
				return q.DB().QueryRowContext(ctx, `SELECT id FROM river_job`).Scan(&id) == nil
			})
			tests := []struct {
				attempt, maxAttempts, wantMax int
			}{
				// River never leaves attempt above max_attempts, so its
				// JobRetry, which RetryJob calls, handles only these.
				{3, 3, 4},
				{1, 3, 3},
			}
			for _, tt := range tests {
				if _, err := q.DB().ExecContext(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = created_at, attempt = $1, max_attempts = $2 WHERE id = $3`,
					tt.attempt, tt.maxAttempts, id); err != nil {
					t.Fatal(err)
				}
				if err := q.RetryJob(ctx, id); err != nil {
					t.Fatal(err)
				}
				var state string
				var maxAttempts int
				var finalized sql.NullString
				if err := q.DB().QueryRowContext(ctx, `SELECT state, max_attempts, cast(finalized_at AS text) FROM river_job WHERE id = $1`, id).Scan(&state, &maxAttempts, &finalized); err != nil {
					t.Fatal(err)
				}
				if state != "available" || maxAttempts != tt.wantMax || finalized.Valid {
					t.Errorf("attempt %d of %d retried: %s, max %d, finalized %v; want available, max %d, not finalized",
						tt.attempt, tt.maxAttempts, state, maxAttempts, finalized.String, tt.wantMax)
				}
			}
			// Tasks are unique while waiting: with a copy of this task
			// waiting, the failed one cannot come back beside it.
			if _, err := q.DB().ExecContext(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = created_at WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			if err := q.Schedule(ctx, "rebuild", "org", time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := q.RetryJob(ctx, id); !errors.Is(err, queue.ErrDuplicateWaiting) {
				t.Errorf("RetryJob beside a waiting copy = %v; want ErrDuplicateWaiting", err)
			}
		})
	}
}

// runCounter counts runs per delivery across worker goroutines.
type runCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *runCounter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
}

func (c *runCounter) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}
