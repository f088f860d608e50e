package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

// hostileErrors fails each job, by feature, with an error or panic that
// carries a megabyte: what a handler quoting a hostile payload's value
// would return.
type hostileErrors struct{}

var megabyte = strings.Repeat("9", 1<<20)

func (hostileErrors) Handle(_ context.Context, j queue.Job) error {
	switch j.Feature {
	case "permanent":
		return queue.Permanent(fmt.Errorf("decode: cannot unmarshal number %s", megabyte))
	case "retried":
		return fmt.Errorf("GitHub said: %s", megabyte)
	default:
		panic("unexpected " + megabyte)
	}
}

// TestJobOutcome_AnyoneWithTheSecret_LongErrorsAreCut: a job's error text
// goes to the log and into the job's row; neither may take a megabyte
// from a hostile delivery. The outcome itself (cancelled, retried) is
// kept.
func TestJobOutcome_AnyoneWithTheSecret_LongErrorsAreCut(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			logs := &syncBuffer{}
			q, err := queue.Open(context.Background(), b.url(t), queue.Options{
				Handler: hostileErrors{},
				Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			ctx := context.Background()
			want := map[string]river.EventKind{"permanent": river.EventKindJobCancelled, "retried": river.EventKindJobFailed, "panics": river.EventKindJobCancelled}
			for feature := range want {
				if _, err := q.Enqueue(ctx, "d-"+feature, "pull_request", []byte(`{}`), []queue.Route{{Feature: feature, Queue: queue.QueueDefault}}); err != nil {
					t.Fatal(err)
				}
			}
			events, cancel := q.Subscribe(river.EventKindJobCancelled, river.EventKindJobFailed, river.EventKindJobCompleted)
			defer cancel()
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			timeout := time.After(30 * time.Second)
			for seen := map[string]bool{}; len(seen) < len(want); {
				select {
				case ev := <-events:
					var feature string
					for f := range want {
						if strings.Contains(string(ev.Job.EncodedArgs), `"d-`+f+`"`) {
							feature = f
						}
					}
					if seen[feature] {
						continue // a retry of "retried"
					}
					seen[feature] = true
					if ev.Kind != want[feature] {
						t.Errorf("%s: %s, want %s", feature, ev.Kind, want[feature])
					}
					recorded := ev.Job.Errors[len(ev.Job.Errors)-1].Error
					if len(recorded) > queue.MaxErrorLen+100 || !strings.Contains(recorded, "bytes, cut)") {
						t.Errorf("%s: the job's row records %d bytes of error: %.200s", feature, len(recorded), recorded)
					}
				case <-timeout:
					t.Fatal("jobs did not run within 30s")
				}
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				// A panic's stack is the one long part a line may carry.
				if len(line) > 2*queue.MaxErrorLen+16<<10 {
					t.Errorf("log line of %d bytes: %.200s", len(line), line)
				}
			}
		})
	}
}

// TestCappedErrorIsStillACancellation: River tells a cancellation by
// errors.As; cutting the text must not hide it.
func TestCappedErrorIsStillACancellation(t *testing.T) {
	err := queue.CapError(queue.Permanent(errors.New(megabyte)))
	var cancel *river.JobCancelError
	if !errors.As(err, &cancel) || len(err.Error()) > queue.MaxErrorLen+100 {
		t.Errorf("capped cancellation: As %v, %d bytes", errors.As(err, &cancel), len(err.Error()))
	}
}
