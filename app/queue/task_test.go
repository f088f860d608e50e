package queue_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

// taskRecorder counts task runs by name and key, and can block a run.
type taskRecorder struct {
	mu    sync.Mutex
	runs  map[string]int
	ran   chan string
	block chan struct{}
}

func (r *taskRecorder) HandleTask(ctx context.Context, t queue.Task) error {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	r.runs[t.Task+"/"+t.Key]++
	r.mu.Unlock()
	r.ran <- t.Task + "/" + t.Key
	return nil
}

func (r *taskRecorder) count(k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[k]
}

func TestTasks(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rec := &taskRecorder{runs: map[string]int{}, ran: make(chan string, 100)}
			q, err := queue.Open(context.Background(), b.url(t), queue.Options{
				Handler:  &recorder{},
				Tasks:    rec,
				Periodic: []queue.Periodic{{Task: "poll", Key: "all", Every: time.Hour, Jitter: 0.1, RunOnStart: true}},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			ctx := context.Background()
			// Scheduled before the workers start: five schedules of one key
			// are one job, a second key is another.
			for range 5 {
				if err := q.Schedule(ctx, "sync", "o/r#1", 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Schedule(ctx, "sync", "o/r#2", 0); err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{"sync/o/r#1": true, "sync/o/r#2": true, "poll/all": true}
			deadline := time.After(30 * time.Second)
			for len(want) > 0 {
				select {
				case k := <-rec.ran:
					if strings.HasPrefix(k, "poll/all@") {
						k = "poll/all" // periodic runs carry their time
					}
					delete(want, k)
				case <-deadline:
					t.Fatalf("tasks never ran: %v", want)
				}
			}
			if n := rec.count("sync/o/r#1"); n != 1 {
				t.Errorf("sync o/r#1 ran %d times, want 1", n)
			}
			// Finished tasks do not block the next schedule of the same key.
			if err := q.Schedule(ctx, "sync", "o/r#1", 0); err != nil {
				t.Fatal(err)
			}
			select {
			case k := <-rec.ran:
				if k != "sync/o/r#1" {
					t.Errorf("ran %s, want sync/o/r#1", k)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("a task scheduled after the first run finished never ran")
			}
		})
	}
}

// A task scheduled while the same task runs is not absorbed by it: the
// running one may have read its inputs before the change.
func TestTaskScheduledWhileRunningRunsAgain(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			started := make(chan struct{}, 10)
			release := make(chan struct{})
			var runs atomic.Int64
			done := make(chan struct{}, 10)
			h := queue.TaskFunc(func(ctx context.Context, task queue.Task) error {
				if runs.Add(1) == 1 {
					started <- struct{}{}
					<-release
				}
				done <- struct{}{}
				return nil
			})
			q, err := queue.Open(context.Background(), b.url(t), queue.Options{Handler: &recorder{}, Tasks: h})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			ctx := context.Background()
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := q.Schedule(ctx, "sync", "o/r#1", 0); err != nil {
				t.Fatal(err)
			}
			select {
			case <-started:
			case <-time.After(30 * time.Second):
				t.Fatal("the task never started")
			}
			for range 3 { // three changes while it runs: at least one more run
				if err := q.Schedule(ctx, "sync", "o/r#1", 0); err != nil {
					t.Fatal(err)
				}
			}
			close(release)
			for i := range 2 {
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Fatalf("only %d runs; a schedule during the run was lost", i)
				}
			}
		})
	}
}
