package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river/rivertype"
)

// The admin view reads and updates River's table with SQL of its own: the
// River client lives only inside the closures build makes, and these are
// the few statements River's JobList and JobRetry would run anyway.

// FailedJob is a job that gave up (cancelled or discarded) or is waiting
// for another attempt after an error (retryable).
type FailedJob struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	State       string `json:"state"`
	Queue       string `json:"queue"`
	Attempt     int    `json:"attempt"`
	MaxAttempts int    `json:"max_attempts"`
	// Args names the work in one line: "delivery=… feature=… event=…"
	// for a webhook job, "task=… key=…" for a task, the raw JSON otherwise.
	Args string `json:"args"`
	// The decoded arguments, for scripts that act on a delivery or task.
	Delivery string `json:"delivery,omitempty"`
	Feature  string `json:"feature,omitempty"`
	Event    string `json:"event,omitempty"`
	Task     string `json:"task,omitempty"`
	Key      string `json:"key,omitempty"`
	// LastError is the message of the last attempt's error, without trace.
	LastError string `json:"last_error"`
	// At is when the last error happened, or when the job was finalized
	// if River recorded no error.
	At time.Time `json:"at"`
}

// Errors of RetryJob, for callers that answer differently to each.
var (
	ErrJobNotFound  = errors.New("no such job (River deletes finished jobs after their retention)")
	ErrNotRetryable = errors.New("only cancelled, discarded or retryable jobs can be retried")
	// ErrPayloadExpired: the delivery's body was pruned after Retention, so
	// the job has nothing to work on; GitHub can still redeliver it.
	ErrPayloadExpired = errors.New("the delivery's payload is no longer stored; ask GitHub to redeliver it (contribot redeliver)")
	// ErrDuplicateWaiting: tasks are unique while waiting or running, and
	// the copy already there will do the same work.
	ErrDuplicateWaiting = errors.New("the same task is already waiting or running")
)

// failedStates are the states the admin view lists and RetryJob accepts.
const failedStates = `('cancelled', 'discarded', 'retryable')`

// Both databases return times as RFC 3339 text, so one scan serves both;
// errors[…].at is already that, as Go's JSON encodes a time.Time.
// On SQLite, River's errors column may hold text that is not JSON when
// changed out of band; json_extract would fail the whole list on it.
const (
	failedJobsSQLite = `SELECT id, kind, state, queue, attempt, max_attempts, json(args),
		CASE WHEN json_valid(errors, 5) THEN json_extract(errors, '$[#-1].error') ELSE cast(errors AS text) END,
		CASE WHEN json_valid(errors, 5) THEN json_extract(errors, '$[#-1].at') END,
		strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(finalized_at, created_at))
		FROM river_job WHERE state IN ` + failedStates + ` ORDER BY id DESC LIMIT $1`
	failedJobsPostgres = `SELECT id, kind, state::text, queue, attempt, max_attempts, args::text,
		errors[cardinality(errors)]->>'error',
		errors[cardinality(errors)]->>'at',
		to_char(coalesce(finalized_at, created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
		FROM river_job WHERE state IN ` + failedStates + ` ORDER BY id DESC LIMIT $1`
)

// FailedJobs lists up to limit failed jobs, newest first.
func (q *Queue) FailedJobs(ctx context.Context, limit int) ([]FailedJob, error) {
	if limit <= 0 {
		limit = 100
	}
	query := failedJobsSQLite
	if q.Backend == "postgres" {
		query = failedJobsPostgres
	}
	rows, err := q.db.QueryContext(ctx, query, limit)
	if err != nil {
		return nil, fmt.Errorf("list failed jobs: %w", err)
	}
	// Read to the end before decoding anything: on SQLite these rows hold
	// the one connection River's workers also need.
	type row struct {
		job          FailedJob
		args         string
		errAt, final sql.NullString
		lastErr      sql.NullString
	}
	var raw []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.job.ID, &r.job.Kind, &r.job.State, &r.job.Queue, &r.job.Attempt, &r.job.MaxAttempts,
			&r.args, &r.lastErr, &r.errAt, &r.final); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list failed jobs: %w", err)
		}
		raw = append(raw, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list failed jobs: %w", err)
	}
	jobs := make([]FailedJob, 0, len(raw))
	for _, r := range raw {
		j := r.job
		j.LastError = r.lastErr.String
		describeArgs(&j, r.args)
		for _, s := range []sql.NullString{r.errAt, r.final} {
			if t, err := time.Parse(time.RFC3339Nano, s.String); s.Valid && err == nil {
				j.At = t.UTC()
				break
			}
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func describeArgs(j *FailedJob, args string) {
	var a struct {
		WebhookArgs
		Task string `json:"task"`
		Key  string `json:"key"`
	}
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		j.Args = args
		return
	}
	switch j.Kind {
	case WebhookArgs{}.Kind():
		j.Delivery, j.Feature, j.Event = a.Delivery, a.Feature, a.Event
		j.Args = fmt.Sprintf("delivery=%s feature=%s event=%s", a.Delivery, a.Feature, a.Event)
	case TaskArgs{}.Kind():
		j.Task, j.Key = a.Task, a.Key
		j.Args = fmt.Sprintf("task=%s key=%s", a.Task, a.Key)
	default:
		j.Args = args
	}
}

// RetryJob makes a failed job available to run now through River's own
// JobRetry (a job that used its last attempt gets one more). Only failed
// jobs are retried, and a webhook job is refused when its delivery's
// payload was pruned, since the worker would only cancel it again.
func (q *Queue) RetryJob(ctx context.Context, id int64) error {
	job, err := q.jobGet(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return fmt.Errorf("retry job %d: %w", id, ErrJobNotFound)
	}
	if err != nil {
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	switch job.State {
	case rivertype.JobStateCancelled, rivertype.JobStateDiscarded, rivertype.JobStateRetryable:
	default:
		return fmt.Errorf("retry job %d, which is %s: %w", id, job.State, ErrNotRetryable)
	}
	if job.Kind == (WebhookArgs{}).Kind() {
		var a WebhookArgs
		if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
			return fmt.Errorf("retry job %d: decode its arguments: %w", id, err)
		}
		// Pruning keeps payloads of unfinished jobs, so once the retry
		// commits the payload stays; a prune between this check and the
		// retry only makes the worker cancel the job again.
		if _, _, err := q.store.load(ctx, a.Delivery, a.Feature); errors.Is(err, errPayloadGone) {
			return fmt.Errorf("retry job %d (delivery %s): %w", id, a.Delivery, ErrPayloadExpired)
		} else if err != nil {
			return fmt.Errorf("retry job %d: load payload of delivery %s: %w", id, a.Delivery, err)
		}
	}
	if _, err := q.jobRetry(ctx, id); isUniqueViolation(err) {
		return fmt.Errorf("retry job %d: %w", id, ErrDuplicateWaiting)
	} else if err != nil {
		return fmt.Errorf("retry job %d: %w", id, err)
	}
	q.log.Info("failed job made available again", "job", id, "kind", job.Kind, "previous_state", string(job.State))
	return nil
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	// modernc's SQLite error carries only a message and an extended code
	// we would need its lib package to name.
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
