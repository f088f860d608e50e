package queue_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

// syncBuffer collects a queue's logs while its workers write them.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// panicking is a handler and task handler that panics the way a payload
// shape no code expected does: a nil pointer dereference.
type panicking struct {
	mu   sync.Mutex
	runs int
}

type item struct{ Number int }

func (p *panicking) run() {
	p.mu.Lock()
	p.runs++
	p.mu.Unlock()
	var it *item
	_ = it.Number
}

func (p *panicking) Handle(context.Context, queue.Job) error { p.run(); return nil }

func (p *panicking) HandleTask(context.Context, queue.Task) error { p.run(); return nil }

func (p *panicking) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs
}

// TestPanickingJobIsCancelledAfterOneAttempt: any GitHub user shapes the
// payload a job reads (a null where an object was expected). A panic in a
// job or task must end it for good, at once, loudly: River's default
// retries it like an error, 12 times over two days.
func TestPanickingJobIsCancelledAfterOneAttempt(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			h := &panicking{}
			logs := &syncBuffer{}
			reg := prometheus.NewRegistry()
			q, err := queue.Open(context.Background(), b.url(t), queue.Options{
				Handler: h, Tasks: h,
				Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
				Metrics: queue.NewMetrics(reg),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			ctx := context.Background()
			body := []byte(`{"action":"opened","number":7,"repository":{"full_name":"octo/hello"},"pull_request":{"number":7}}`)
			if _, err := q.Enqueue(ctx, "d-panic", "pull_request", body, []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}); err != nil {
				t.Fatal(err)
			}
			if err := q.Schedule(ctx, "poll", "all", 0); err != nil {
				t.Fatal(err)
			}
			events, cancel := q.Subscribe(river.EventKindJobCancelled, river.EventKindJobFailed, river.EventKindJobCompleted)
			defer cancel()
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			timeout := time.After(30 * time.Second)
			for cancelled := 0; cancelled < 2; {
				select {
				case ev := <-events:
					if ev.Kind != river.EventKindJobCancelled {
						t.Fatalf("%s job %d: %s (attempt %d), want cancelled", ev.Job.Kind, ev.Job.ID, ev.Kind, ev.Job.Attempt)
					}
					if ev.Job.Attempt != 1 {
						t.Errorf("%s job cancelled at attempt %d, want 1", ev.Job.Kind, ev.Job.Attempt)
					}
					if state := jobState(t, q, ev.Job.ID); state != "cancelled" {
						t.Errorf("%s job state %q, want cancelled", ev.Job.Kind, state)
					}
					cancelled++
				case <-timeout:
					t.Fatalf("panicking job and task not cancelled within 30s; logs:\n%s", logs.String())
				}
			}
			if h.count() != 2 {
				t.Errorf("handler ran %d times, want once for the job and once for the task", h.count())
			}
			if got := panicSeries(t, reg); len(got) != 2 || got["dco"] != 1 || got["task:poll"] != 1 {
				t.Errorf("contribot_job_panics_total = %v, want dco 1, task:poll 1", got)
			}
			for _, want := range []string{
				`"msg":"job panicked and gave up; it will not run again"`, `"delivery":"d-panic"`, `"feature":"dco"`,
				`"event":"pull_request"`, `"repo":"octo/hello"`, `"number":7`, `"panic":"runtime error: invalid memory address or nil pointer dereference"`,
				`"stack":"goroutine `, `(*panicking).run`,
				`"msg":"task panicked and gave up; it will not run again"`, `"task":"poll"`,
			} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs lack %s", want)
				}
			}
			if t.Failed() {
				t.Logf("logs:\n%s", logs.String())
			}
		})
	}
}

// panicSeries is contribot_job_panics_total by feature.
func panicSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "contribot_job_panics_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "feature" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return got
}
