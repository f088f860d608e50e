package queue_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

func TestDepthCountsWaitingJobs(t *testing.T) {
	for _, b := range adminBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			url, _ := b.open(t)
			// No workers: every job stays where it was put.
			q, err := queue.Open(ctx, url, queue.Options{NoWork: true})
			if err != nil {
				t.Fatal(err)
			}
			stopped := false
			t.Cleanup(func() {
				if !stopped {
					_ = q.Stop(context.Background())
				}
			})
			for i := range 3 {
				if _, err := q.Enqueue(ctx, fmt.Sprint("d-", i), "pull_request", []byte(`{}`), []queue.Route{
					{Feature: "dco", Queue: queue.QueuePriority}, {Feature: "labels", Queue: queue.QueueDefault},
				}); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Schedule(ctx, "poll", "all", time.Hour); err != nil {
				t.Fatal(err)
			}
			// A job that finished is not waiting.
			if err := q.Schedule(ctx, "poll", "done", 0); err != nil {
				t.Fatal(err)
			}
			if _, err := q.DB().ExecContext(ctx, `UPDATE river_job SET state = 'completed', finalized_at = created_at WHERE kind = 'task' AND state = 'available'`); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{queue.QueuePriority: 3, queue.QueueDefault: 4}
			var got map[string]int
			// On SQLite the inbox moves deliveries into River in the background.
			eventually(t, "the deliveries in River", func() bool {
				got, err = q.Depth(ctx)
				return err == nil && maps.Equal(got, want)
			})

			reg := prometheus.NewRegistry()
			reg.MustRegister(queue.NewDepthCollector(q))
			wantSeries := map[string]float64{
				"priority/available": 3, "priority/scheduled": 0, "priority/retryable": 0,
				"default/available": 3, "default/scheduled": 1, "default/retryable": 0,
			}
			if got := depthSeries(t, reg); !maps.Equal(got, wantSeries) {
				t.Errorf("contribot_queue_depth = %v; want %v", got, wantSeries)
			}

			// A closed database: the scrape goes on without the series.
			stopped = true
			if err := q.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if got := depthSeries(t, reg); len(got) != 0 {
				t.Errorf("contribot_queue_depth with the database closed = %v; want nothing", got)
			}
		})
	}
}

// depthSeries gathers reg and returns contribot_queue_depth by
// "queue/state".
func depthSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "contribot_queue_depth" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["queue"]+"/"+labels["state"]] = m.GetGauge().GetValue()
		}
	}
	return got
}
