package queue

import (
	"github.com/SovereignCloudStack/contribot/app/dbtest"

	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

func TestPruneKeepsPayloadsOfUnfinishedJobs(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			url := filepath.Join(t.TempDir(), "contribot.db")
			if backend == "postgres" {
				url = FreshPostgres(t)
			}
			ctx := context.Background()
			q, err := Open(ctx, url, Options{Handler: HandlerFunc(func(context.Context, Job) error { return nil })})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Stop(ctx)
			if _, err := q.Enqueue(ctx, "old", "pull_request", []byte(`{}`), []Route{{Feature: "dco", Queue: QueuePriority}}); err != nil {
				t.Fatal(err)
			}
			future := time.Now().Add(time.Hour) // everything counts as old
			waitFor(t, func() bool { return riverJobs(ctx, t, backend, url) == 1 })
			if n, err := q.store.prune(ctx, future); err != nil || n != 0 {
				t.Fatalf("prune before the job ran = %d, %v; want 0 (its payload is still needed)", n, err)
			}
			events, cancel := q.Subscribe(river.EventKindJobCompleted)
			defer cancel()
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case <-events:
			case <-time.After(20 * time.Second):
				t.Fatal("job did not complete")
			}
			waitFor(t, func() bool {
				n, err := q.store.prune(ctx, future)
				return err == nil && n == 1
			})
		})
	}
}

func TestEnqueueRejectsUnknownRoutes(t *testing.T) {
	q, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), Options{NoWork: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	for _, r := range []Route{{Feature: "dco", Queue: "Bad Queue"}, {Feature: "a:b", Queue: QueueDefault}, {Feature: "", Queue: QueueDefault}} {
		if _, err := q.Enqueue(context.Background(), "d", "pull_request", []byte(`{}`), []Route{r}); err == nil {
			t.Errorf("route %+v was accepted", r)
		}
	}
}

// riverJobs counts webhook jobs straight from River's table.
func riverJobs(ctx context.Context, t *testing.T, backend, url string) int {
	t.Helper()
	var n int
	if backend == "postgres" {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'webhook'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	db, err := sql.Open("sqlite", "file:"+url+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'webhook'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreshPostgres is dbtest.FreshPostgres, kept here for this package's
// external tests.
var FreshPostgres = dbtest.FreshPostgres

// Replicas starting together on a fresh database must not race River's
// migrations or our tables.
func TestConcurrentStartsOnFreshPostgres(t *testing.T) {
	url := FreshPostgres(t)
	ctx := context.Background()
	errs := make(chan error, 3)
	queues := make(chan *Queue, 3)
	for range 3 {
		go func() {
			q, err := Open(ctx, url, Options{NoWork: true})
			errs <- err
			queues <- q
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent start: %v", err)
		}
		if q := <-queues; q != nil {
			defer q.Stop(ctx)
		}
	}
}
