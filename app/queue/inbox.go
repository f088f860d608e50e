package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// On SQLite, deliveries go into an inbox: a database file of their own,
// beside River's. SQLite allows one writer per file, and River's workers
// keep its file's one connection busy with fetches and completions; with
// the inbox, acknowledging a delivery waits for nothing River does. A
// dispatcher then moves new deliveries into River as jobs, in batches.
//
// Nothing is lost in between: a delivery is acknowledged only once its row
// is committed, and rows not yet marked dispatched are dispatched again
// after a restart. Nothing is queued twice either: a process can only die
// between inserting a batch's jobs and marking the batch dispatched, so
// the first pass after a start skips jobs River already holds; later
// passes use River's fast insert, with no per-job uniqueness to pay for.

const inboxSchema = `CREATE TABLE IF NOT EXISTS contribot_delivery (
	id TEXT PRIMARY KEY,
	event TEXT NOT NULL,
	routes TEXT NOT NULL,
	payload BLOB NOT NULL,
	received_at INTEGER NOT NULL,
	dispatched INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS contribot_delivery_received_at ON contribot_delivery (received_at);
CREATE INDEX IF NOT EXISTS contribot_delivery_pending ON contribot_delivery (dispatched) WHERE dispatched = 0;
CREATE TABLE IF NOT EXISTS contribot_done (
	delivery TEXT NOT NULL,
	feature TEXT NOT NULL,
	done_at INTEGER NOT NULL,
	PRIMARY KEY (delivery, feature)
);`

// inboxPath names the inbox file beside River's database.
func inboxPath(riverPath string) string {
	return strings.TrimSuffix(riverPath, ".db") + "-inbox.db"
}

type inbox struct {
	db      *sql.DB
	riverDB *sql.DB
	client  *river.Client[*sql.Tx]
	log     *slog.Logger

	ins, load, done, pending, mark *sql.Stmt

	kick      chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func openInbox(ctx context.Context, path string, riverDB *sql.DB, client *river.Client[*sql.Tx], log *slog.Logger) (*inbox, error) {
	db, err := openSQLite(path)
	if err != nil {
		return nil, err
	}
	in := &inbox{db: db, riverDB: riverDB, client: client, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	if err := in.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	in.wg.Add(1)
	go in.dispatchLoop()
	return in, nil
}

func (in *inbox) prepare(ctx context.Context) error {
	if _, err := in.db.ExecContext(ctx, inboxSchema); err != nil {
		return fmt.Errorf("create the inbox tables: %w", err)
	}
	// Prepared once: the SQLite driver would otherwise parse each statement
	// for every delivery.
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&in.ins, `INSERT INTO contribot_delivery (id, event, routes, payload, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`},
		{&in.load, `SELECT payload, EXISTS (SELECT 1 FROM contribot_done WHERE delivery = ?1 AND feature = ?2) FROM contribot_delivery WHERE id = ?1`},
		{&in.done, `INSERT INTO contribot_done (delivery, feature, done_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`},
		{&in.pending, `SELECT id, event, routes FROM contribot_delivery WHERE dispatched = 0 ORDER BY rowid LIMIT 256`},
		{&in.mark, `UPDATE contribot_delivery SET dispatched = 1 WHERE id = ?`},
	} {
		stmt, err := in.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (in *inbox) store() *payloadStore {
	return &payloadStore{
		insert: in.insert,
		load: func(ctx context.Context, delivery, feature string) ([]byte, bool, error) {
			var p []byte
			var done bool
			err := in.load.QueryRowContext(ctx, delivery, feature).Scan(&p, &done)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, false, errPayloadGone
			}
			return p, done, err
		},
		markDone: func(ctx context.Context, delivery, feature string) error {
			_, err := in.done.ExecContext(ctx, delivery, feature, time.Now().Unix())
			return err
		},
		prune: func(ctx context.Context, before time.Time) (int64, error) {
			if _, err := in.db.ExecContext(ctx, `DELETE FROM contribot_done WHERE done_at < ?`, before.Unix()); err != nil {
				return 0, err
			}
			return in.pruneFinished(ctx, before)
		},
	}
}

// insert commits a batch of deliveries to the inbox and wakes the
// dispatcher. A delivery already in the inbox queues nothing.
func (in *inbox) insert(ctx context.Context, ds []delivery) ([]int, error) {
	tx, err := in.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, in.ins)
	now := time.Now().Unix()
	_, queued, err := newJobs(ds, func(d delivery) (bool, error) {
		res, err := stmt.ExecContext(ctx, d.id, d.event, encodeRoutes(d.routes), d.payload, now)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	select {
	case in.kick <- struct{}{}:
	default:
	}
	return queued, nil
}

// dispatchLoop moves inbox rows into River: at once when intake wakes it,
// and every second for rows left by a previous process.
func (in *inbox) dispatchLoop() {
	defer in.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	backoff := time.Duration(0)
	recovering := true
	for {
		n, err := in.dispatch(context.Background(), recovering)
		switch {
		case err != nil:
			// The jobs may be in River while their rows are not marked:
			// the next pass must look before inserting again.
			recovering = true
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			in.log.Error("could not move deliveries into the job queue; retrying", slog.Duration("in", backoff), slog.String("error", err.Error()))
		case n > 0:
			backoff = 0
			continue // there may be more
		default:
			backoff = 0
			// Everything a previous process left is dispatched now.
			recovering = false
		}
		wait := t.C
		var retry <-chan time.Time
		if backoff > 0 {
			retry = time.After(backoff)
			wait = nil
		}
		select {
		case <-in.stop:
			return
		case <-in.kick:
		case <-wait:
		case <-retry:
		}
	}
}

// dispatch inserts the jobs of up to 256 pending deliveries and marks
// them dispatched. While recovering, it leaves out jobs River already has.
func (in *inbox) dispatch(ctx context.Context, recovering bool) (int, error) {
	rows, err := in.pending.QueryContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("read pending deliveries: %w", err)
	}
	var ids []string
	var params []river.InsertManyParams
	for rows.Next() {
		var id, event, routes string
		if err := rows.Scan(&id, &event, &routes); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read pending deliveries: %w", err)
		}
		ids = append(ids, id)
		for _, r := range decodeRoutes(routes) {
			params = append(params, river.InsertManyParams{
				Args:       WebhookArgs{Delivery: id, Feature: r.Feature, Event: event},
				InsertOpts: &river.InsertOpts{Queue: r.Queue},
			})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read pending deliveries: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if recovering {
		if params, err = in.notYetQueued(ctx, ids, params); err != nil {
			return 0, err
		}
	}
	if len(params) > 0 {
		if _, err := in.client.InsertManyFast(ctx, params); err != nil {
			return 0, fmt.Errorf("insert %d jobs: %w", len(params), err)
		}
	}
	tx, err := in.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	mark := tx.StmtContext(ctx, in.mark)
	for _, id := range ids {
		if _, err := mark.ExecContext(ctx, id); err != nil {
			return 0, fmt.Errorf("mark delivery %s dispatched: %w", id, err)
		}
	}
	return len(ids), tx.Commit()
}

// notYetQueued drops the jobs that River already holds: those a previous
// process inserted just before it died, without marking their deliveries.
// It reads River's own table, whose args are the JSON of WebhookArgs.
func (in *inbox) notYetQueued(ctx context.Context, ids []string, params []river.InsertManyParams) ([]river.InsertManyParams, error) {
	placeholders := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := in.riverDB.QueryContext(ctx, `SELECT json_extract(args, '$.delivery'), json_extract(args, '$.feature') FROM river_job
		WHERE kind = 'webhook' AND json_extract(args, '$.delivery') IN (`+placeholders+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("look for jobs queued before a restart: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var delivery, feature string
		if err := rows.Scan(&delivery, &feature); err != nil {
			return nil, fmt.Errorf("look for jobs queued before a restart: %w", err)
		}
		have[delivery+"\x00"+feature] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look for jobs queued before a restart: %w", err)
	}
	kept := params[:0]
	for _, p := range params {
		a := p.Args.(WebhookArgs)
		if !have[a.Delivery+"\x00"+a.Feature] {
			kept = append(kept, p)
		}
	}
	if n := len(params) - len(kept); n > 0 {
		in.log.Info("jobs already queued before a restart were not queued again", slog.Int("jobs", n))
	}
	return kept, nil
}

// pruneFinished deletes old deliveries whose jobs River has finished. A
// payload whose job has not run yet (a backlog after an outage, a job
// snoozed by rate limits) is kept however old.
func (in *inbox) pruneFinished(ctx context.Context, before time.Time) (int64, error) {
	rows, err := in.db.QueryContext(ctx, `SELECT id FROM contribot_delivery WHERE received_at < ? AND dispatched = 1 LIMIT 10000`, before.Unix())
	if err != nil {
		return 0, err
	}
	var old []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		old = append(old, id)
	}
	rows.Close()
	var deleted int64
	for len(old) > 0 {
		chunk := old[:min(len(old), 500)]
		old = old[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")
		open := map[string]bool{}
		r, err := in.riverDB.QueryContext(ctx, `SELECT json_extract(args, '$.delivery') FROM river_job
			WHERE kind = 'webhook' AND finalized_at IS NULL AND json_extract(args, '$.delivery') IN (`+marks+`)`, args...)
		if err != nil {
			return deleted, err
		}
		for r.Next() {
			var id string
			if err := r.Scan(&id); err != nil {
				r.Close()
				return deleted, err
			}
			open[id] = true
		}
		r.Close()
		for _, id := range chunk {
			if open[id] {
				continue
			}
			res, err := in.db.ExecContext(ctx, `DELETE FROM contribot_delivery WHERE id = ?`, id)
			if err != nil {
				return deleted, err
			}
			n, _ := res.RowsAffected()
			deleted += n
		}
	}
	return deleted, nil
}

func (in *inbox) close() {
	in.closeOnce.Do(func() {
		close(in.stop)
		in.wg.Wait()
		in.db.Close()
	})
}

// encodeRoutes stores a delivery's routes as "feature:queue,…"; feature
// and queue names are fixed identifiers without those separators.
func encodeRoutes(routes []Route) string {
	parts := make([]string, len(routes))
	for i, r := range routes {
		parts[i] = r.Feature + ":" + r.Queue
	}
	return strings.Join(parts, ",")
}

func decodeRoutes(s string) []Route {
	var routes []Route
	for _, part := range strings.Split(s, ",") {
		if f, q, ok := strings.Cut(part, ":"); ok {
			routes = append(routes, Route{Feature: f, Queue: q})
		}
	}
	return routes
}
