package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Payloads live in their own table (on PostgreSQL written in the same
// transaction as the jobs; on SQLite see inbox.go). River keeps job args as JSON, which on SQLite it re-parses with
// json_each on insert and converts to JSONB and back; a 30 KiB webhook body
// in the args made that the bulk of intake's cost. One row per delivery
// also stores the body once however many features want it.
type payloadStore struct {
	// insert stores deliveries and their jobs in one transaction.
	insert insertFunc
	// load returns a delivery's payload and whether the feature already
	// finished it.
	load func(ctx context.Context, delivery, feature string) (payload []byte, done bool, err error)
	// markDone records that a feature finished a delivery. River marks jobs
	// completed asynchronously, in batches; a process killed in between
	// would run finished jobs again, repeating their GitHub writes.
	markDone func(ctx context.Context, delivery, feature string) error
	prune    func(ctx context.Context, before time.Time) (int64, error)
}

// newJobs collects the jobs of the deliveries whose payload row was new.
// The delivery table's primary key is what makes a redelivery a no-op: a
// second copy of a delivery stores nothing and queues nothing, so River
// needs no unique-job bookkeeping of its own.
//
// Deliveries are stored in ID order, whatever order they arrived in: two
// PostgreSQL replicas storing overlapping batches then take the rows' locks
// in the same order and cannot deadlock.
func newJobs(ds []delivery, isNew func(delivery) (bool, error)) ([]river.InsertManyParams, []int, error) {
	var jobs []river.InsertManyParams
	queued := make([]int, len(ds))
	order := make([]int, len(ds))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(ds[a].id, ds[b].id) })
	for _, i := range order {
		d := ds[i]
		fresh, err := isNew(d)
		if err != nil {
			return nil, nil, fmt.Errorf("store payload of delivery %s: %w", d.id, err)
		}
		if fresh {
			jobs = append(jobs, d.jobs...)
			queued[i] = len(d.jobs)
		}
	}
	return jobs, queued, nil
}

// errPayloadGone means a job outlived its delivery's retention.
var errPayloadGone = errors.New("payload no longer stored")

const postgresSchema = `CREATE TABLE IF NOT EXISTS contribot_delivery (
	id text PRIMARY KEY,
	payload bytea NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS contribot_delivery_received_at ON contribot_delivery (received_at);
CREATE TABLE IF NOT EXISTS contribot_done (
	delivery text NOT NULL,
	feature text NOT NULL,
	done_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (delivery, feature)
);`

func postgresPayloads(ctx context.Context, pool *pgxpool.Pool, client *river.Client[pgx.Tx]) (*payloadStore, error) {
	// Called under the start-up lock (see advisoryLock).
	_, err := pool.Exec(ctx, postgresSchema)
	if err != nil {
		return nil, fmt.Errorf("create delivery table: %w", err)
	}
	return &payloadStore{
		insert: func(ctx context.Context, ds []delivery) ([]int, error) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return nil, err
			}
			defer tx.Rollback(ctx)
			// A replica inserting the same delivery at the same moment
			// waits on the primary key here and then sees the conflict.
			jobs, queued, err := newJobs(ds, func(d delivery) (bool, error) {
				tag, err := tx.Exec(ctx, `INSERT INTO contribot_delivery (id, payload) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, d.id, d.payload)
				return tag.RowsAffected() == 1, err
			})
			if err != nil {
				return nil, err
			}
			if len(jobs) > 0 {
				if _, err := client.InsertManyFastTx(ctx, tx, jobs); err != nil {
					return nil, err
				}
			}
			return queued, tx.Commit(ctx)
		},
		load: func(ctx context.Context, delivery, feature string) ([]byte, bool, error) {
			var p []byte
			var done bool
			err := pool.QueryRow(ctx, `SELECT payload, EXISTS (SELECT 1 FROM contribot_done WHERE delivery = $1 AND feature = $2) FROM contribot_delivery WHERE id = $1`, delivery, feature).Scan(&p, &done)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, false, errPayloadGone
			}
			return p, done, err
		},
		markDone: func(ctx context.Context, delivery, feature string) error {
			_, err := pool.Exec(ctx, `INSERT INTO contribot_done (delivery, feature) VALUES ($1, $2) ON CONFLICT DO NOTHING`, delivery, feature)
			return err
		},
		prune: func(ctx context.Context, before time.Time) (int64, error) {
			if _, err := pool.Exec(ctx, `DELETE FROM contribot_done WHERE done_at < $1`, before); err != nil {
				return 0, err
			}
			// A payload whose job has not finished (a backlog after an
			// outage, a job snoozed by rate limits) is kept however old.
			tag, err := pool.Exec(ctx, `DELETE FROM contribot_delivery d WHERE d.received_at < $1
				AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'webhook' AND j.args->>'delivery' = d.id AND j.finalized_at IS NULL)`, before)
			if err != nil {
				return 0, err
			}
			return tag.RowsAffected(), nil
		},
	}, nil
}

// advisoryLock serialises start-up work across PostgreSQL replicas. The
// lock is held by one pooled connection until unlock.
func advisoryLock(ctx context.Context, pool *pgxpool.Pool) (unlock func(), err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire a connection for the start-up lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7263514)`); err != nil {
		conn.Release()
		return nil, fmt.Errorf("take the start-up lock: %w", err)
	}
	return func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(7263514)`)
		conn.Release()
	}, nil
}
