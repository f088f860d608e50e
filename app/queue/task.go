package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// TaskArgs is a job that is not a webhook delivery: a periodic poll, or
// work a feature schedules for itself (re-rendering a comment, a
// dashboard). Tasks with the same name and key are one job while waiting
// or running, so scheduling a task a hundred times in a burst runs it once.
type TaskArgs struct {
	Task string `json:"task"`
	Key  string `json:"key"`
	// Round tells apart copies of a task scheduled while an earlier copy
	// runs (see Schedule).
	Round int `json:"round,omitempty"`
}

// Kind implements river.JobArgs.
func (TaskArgs) Kind() string { return "task" }

// Task is what a TaskHandler sees of a task job.
type Task struct {
	TaskArgs
	ID          int64
	Attempt     int
	MaxAttempts int
}

// TaskHandler runs tasks. A returned error is retried like a delivery's
// (errors carrying a retry-after snooze the task).
type TaskHandler interface {
	HandleTask(ctx context.Context, t Task) error
}

// TaskFunc adapts a function to TaskHandler.
type TaskFunc func(ctx context.Context, t Task) error

// HandleTask implements TaskHandler.
func (f TaskFunc) HandleTask(ctx context.Context, t Task) error { return f(ctx, t) }

// Periodic is a task River inserts on a schedule, with the key Key+"@"+
// the time of the run. With several replicas on PostgreSQL only the
// elected leader inserts it, so it runs once per period across the fleet.
type Periodic struct {
	Task, Key string
	Every     time.Duration
	// Jitter spreads runs by up to this fraction of Every (0.1 = ±10 %), so
	// many deployments started together do not poll the same hosts in step.
	Jitter     float64
	RunOnStart bool
}

// taskUniqueStates are the states in which a task blocks a second copy:
// everything but finished. River requires the first four.
var taskUniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateScheduled, rivertype.JobStateRetryable,
}

func taskInsertOpts(delay time.Duration) *river.InsertOpts {
	o := &river.InsertOpts{
		Queue:      QueueDefault,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: taskUniqueStates},
	}
	if delay > 0 {
		o.ScheduledAt = time.Now().Add(delay)
	}
	return o
}

// Schedule inserts a task to run after delay, unless the same task and key
// is already waiting, which will see the change anyway. One that is
// running may have read its inputs before the change, so the task is
// scheduled again behind it: River keeps a finished job "running" until its
// completer catches up, so a task cannot rule that window out itself.
func (q *Queue) Schedule(ctx context.Context, task, key string, delay time.Duration) error {
	if q.insertTask == nil {
		return errors.New("schedule task: queue has no task support")
	}
	for round := range scheduleRounds {
		res, err := q.insertTask(ctx, TaskArgs{Task: task, Key: key, Round: round}, taskInsertOpts(delay))
		if err != nil {
			return fmt.Errorf("schedule task %s %q: %w", task, key, err)
		}
		if !res.UniqueSkippedAsDuplicate || res.Job == nil || res.Job.State != rivertype.JobStateRunning {
			return nil
		}
	}
	// Every round is running: each started after the first, so the last
	// one read its inputs after this change began to be written.
	return nil
}

// scheduleRounds bounds the copies of one task: one running with a stale
// view, one running with a fresh one, one waiting.
const scheduleRounds = 3

// Snooze runs a task again after d without spending an attempt, e.g. when
// another worker holds what it needs.
func Snooze(d time.Duration) error { return river.JobSnooze(d) }

// jitterSchedule is River's fixed interval with a random spread.
type jitterSchedule struct {
	every  time.Duration
	jitter float64
}

func (s jitterSchedule) Next(t time.Time) time.Time {
	d := s.every
	if s.jitter > 0 {
		spread := float64(s.every) * s.jitter
		d += time.Duration((rand.Float64()*2 - 1) * spread)
	}
	return t.Add(max(d, time.Second))
}

func periodicJobs(ps []Periodic) []*river.PeriodicJob {
	var jobs []*river.PeriodicJob
	for _, p := range ps {
		jobs = append(jobs, river.NewPeriodicJob(
			jitterSchedule{every: p.Every, jitter: p.Jitter},
			func() (river.JobArgs, *river.InsertOpts) {
				// A key per run: a run that failed and waits in River's
				// backoff (hours, late in its attempts) must not absorb the
				// runs of the periods after it.
				args := TaskArgs{Task: p.Task, Key: p.Key + "@" + time.Now().UTC().Format(time.RFC3339)}
				return args, taskInsertOpts(0)
			},
			&river.PeriodicJobOpts{ID: "task:" + p.Task + ":" + p.Key, RunOnStart: p.RunOnStart},
		))
	}
	return jobs
}

type taskWorker struct {
	river.WorkerDefaults[TaskArgs]
	opts *Options
}

// Timeout lets a task run longer than a delivery's job: a poll of
// thousands of references paces itself per host.
func (w *taskWorker) Timeout(j *river.Job[TaskArgs]) time.Duration {
	if d, ok := w.opts.TaskTimeouts[j.Args.Task]; ok {
		return d
	}
	return 0
}

func (w *taskWorker) Work(ctx context.Context, j *river.Job[TaskArgs]) error {
	start := time.Now()
	feature := "task:" + j.Args.Task
	if w.opts.Tasks == nil {
		return river.JobCancel(fmt.Errorf("task %s: no task handler configured", j.Args.Task))
	}
	panicked, err := w.handle(ctx, j, feature)
	result := "panic"
	if !panicked {
		result, err = w.outcome(ctx, j, err)
	}
	w.opts.Metrics.observe(feature, result, time.Since(start), time.Since(j.CreatedAt))
	return err
}

// handle runs the task; a panic cancels it, as webhookWorker.handle does.
func (w *taskWorker) handle(ctx context.Context, j *river.Job[TaskArgs], feature string) (panicked bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			panicked, err = true, w.opts.panicked(ctx, "task", j.Kind, feature, v, debug.Stack(),
				slog.String("task", j.Args.Task), slog.String("key", j.Args.Key), slog.Int64("job", j.ID), slog.Int("attempt", j.Attempt))
		}
	}()
	return false, w.opts.Tasks.HandleTask(ctx, Task{TaskArgs: j.Args, ID: j.ID, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts})
}

func (w *taskWorker) outcome(ctx context.Context, j *river.Job[TaskArgs], err error) (string, error) {
	if err == nil {
		return "ok", nil
	}
	return outcome(ctx, w.opts, j.Kind, "task", err, slog.String("task", j.Args.Task), slog.String("key", j.Args.Key))
}
