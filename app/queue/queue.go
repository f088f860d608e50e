// Package queue is contribot's durable job queue: River on an embedded SQLite
// file for one replica, or on PostgreSQL when several replicas share work.
// The webhook handler only inserts jobs here; every GitHub call happens in a
// worker, so a crash between acknowledgement and processing loses nothing.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Queue names. DCO verdicts gate merges, so they get their own queue and
// workers and never wait behind labels, comments or dashboard writes.
const (
	QueuePriority = "priority"
	QueueDefault  = river.QueueDefault
)

// Retention is how long finished jobs and delivery payloads are kept. A
// finished job's unique key is what turns a late redelivery into a no-op.
const Retention = 72 * time.Hour

// DefaultSQLitePath is where the embedded database lives when DATABASE_URL is
// empty; fly.toml mounts a volume at /data for it.
const DefaultSQLitePath = "./data/contribot.db"

// WebhookArgs is one accepted delivery for one feature. A delivery is
// queued once: its payload row's primary key turns GitHub redelivering it,
// or a second replica receiving it, into a no-op (see newJobs and, on
// SQLite, the inbox's dispatcher).
type WebhookArgs struct {
	Delivery string `json:"delivery"`
	Feature  string `json:"feature"`
	Event    string `json:"event"`
}

// Kind implements river.JobArgs.
func (WebhookArgs) Kind() string { return "webhook" }

// Handler does the work of one delivery for one feature. A returned error
// makes River retry with backoff; errors that carry a retry-after duration
// (see Options.RetryAfter) snooze the job instead.
type Handler interface {
	Handle(ctx context.Context, job Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job Job) error

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, job Job) error { return f(ctx, job) }

// Job is what a Handler sees of a River job.
type Job struct {
	WebhookArgs
	// Payload is the delivery's body as GitHub sent it.
	Payload     []byte
	ID          int64
	Attempt     int
	MaxAttempts int
}

// Options configures Open.
type Options struct {
	Handler Handler
	Logger  *slog.Logger
	// Workers per queue; zero means defaults (priority 10, default 5).
	PriorityWorkers int
	DefaultWorkers  int
	// RetryAfter extracts a wait from an error, e.g. a GitHub rate limit, so
	// the job is snoozed until then instead of burning an attempt.
	RetryAfter func(error) (time.Duration, bool)
	// MaxAttempts per job before River discards it (default 12, about 2 days
	// of River's backoff).
	MaxAttempts int
	// JobTimeout bounds one run of a job (default 1 minute).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay "running" on PostgreSQL before
	// another replica takes it over after a kill -9 (default twice
	// JobTimeout). SQLite has one process, which releases such jobs at start.
	RescueAfter time.Duration
	// PollInterval and Cooldown tune fetching; SQLite has no LISTEN/NOTIFY,
	// so River polls, and its 1 s default makes every delivery wait.
	PollInterval time.Duration
	Cooldown     time.Duration
	// Metrics receives job outcomes; nil disables them.
	Metrics *Metrics
	// NoWork opens the queue for inserting only (the load tool, tests).
	NoWork bool
	// Tasks runs TaskArgs jobs (see Schedule and Periodic); nil rejects them.
	Tasks TaskHandler
	// Periodic tasks, inserted by River's leader on their schedule.
	Periodic []Periodic
	// TaskTimeouts bound one run of a task by name, instead of JobTimeout.
	TaskTimeouts map[string]time.Duration
	// Schema are statements that create the features' own tables, run at
	// Open after River's migrations (on PostgreSQL under the start-up lock,
	// so replicas starting together do not race). They must be idempotent
	// ("CREATE TABLE IF NOT EXISTS") and valid for SQLite and PostgreSQL.
	Schema []string
}

// Queue is a started or startable River client over either database.
type Queue struct {
	Backend string // "sqlite" or "postgres"

	batch         *batcher
	store         *payloadStore
	stopPrune     context.CancelFunc
	start         func(ctx context.Context) error
	stop          func(ctx context.Context) error
	stopAndCancel func(ctx context.Context) error
	ping          func(ctx context.Context) error
	closeDB       func()
	insertTask    func(ctx context.Context, args TaskArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	jobGet        func(ctx context.Context, id int64) (*rivertype.JobRow, error)
	jobRetry      func(ctx context.Context, id int64) (*rivertype.JobRow, error)
	subscribe     func(kinds ...river.EventKind) (<-chan *river.Event, func())
	db            *sql.DB
	log           *slog.Logger
	metrics       *Metrics
}

// Backend parses DATABASE_URL: empty means SQLite at DefaultSQLitePath;
// postgres:// or postgresql:// means PostgreSQL; sqlite:PATH, sqlite://PATH
// or a plain path means SQLite at that path.
func Backend(databaseURL string) (backend, target string) {
	switch {
	case databaseURL == "":
		return "sqlite", DefaultSQLitePath
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return "postgres", databaseURL
	case strings.HasPrefix(databaseURL, "sqlite://"):
		return "sqlite", strings.TrimPrefix(databaseURL, "sqlite://")
	case strings.HasPrefix(databaseURL, "sqlite:"):
		return "sqlite", strings.TrimPrefix(databaseURL, "sqlite:")
	default:
		return "sqlite", databaseURL
	}
}

// Open connects to the database named by databaseURL, runs River's
// migrations, and returns a queue ready to Start.
func Open(ctx context.Context, databaseURL string, opts Options) (*Queue, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	backend, target := Backend(databaseURL)
	cfg, worker := opts.riverConfig(backend)
	switch backend {
	case "postgres":
		pool, err := pgxpool.New(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		// Replicas starting together on a fresh database would race River's
		// migrations and our tables; one at a time.
		unlock, err := advisoryLock(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, err
		}
		q, client, err := build(ctx, riverpgxv5.New(pool), cfg, opts)
		if err == nil {
			q.store, err = postgresPayloads(ctx, pool, client)
		}
		var db *sql.DB
		if err == nil {
			db = stdlib.OpenDBFromPool(pool)
			err = migrate(ctx, db, opts.Schema)
		}
		unlock()
		if err != nil {
			if db != nil {
				db.Close()
			}
			pool.Close()
			return nil, err
		}
		q.finish(backend, worker)
		q.db = db
		q.ping = pool.Ping
		q.closeDB = func() {
			db.Close()
			pool.Close()
		}
		return q, nil
	default:
		unlock, err := lockSQLite(target)
		if err != nil {
			return nil, err
		}
		db, err := openSQLite(target)
		if err != nil {
			unlock()
			return nil, err
		}
		var in *inbox
		q, client, err := build(ctx, riversqlite.New(db), cfg, opts)
		if err == nil && !opts.NoWork {
			err = releaseOrphans(ctx, db, opts.Logger)
		}
		if err == nil {
			err = migrate(ctx, db, opts.Schema)
		}
		if err == nil {
			in, err = openInbox(ctx, inboxPath(target), db, client, opts.Logger)
		}
		if err != nil {
			db.Close()
			unlock()
			return nil, err
		}
		q.store = in.store()
		stopCheckpoints, err := checkpointer(target, time.Second, opts.Logger)
		if err != nil {
			in.close()
			db.Close()
			unlock()
			return nil, err
		}
		stopInboxCheckpoints, err := checkpointer(inboxPath(target), time.Second, opts.Logger)
		if err != nil {
			stopCheckpoints()
			in.close()
			db.Close()
			unlock()
			return nil, err
		}
		q.finish(backend, worker)
		q.db = db
		q.ping = db.PingContext
		q.closeDB = func() {
			in.close()
			db.Close()
			stopCheckpoints()
			stopInboxCheckpoints()
			unlock()
		}
		return q, nil
	}
}

// migrate creates the features' tables.
func migrate(ctx context.Context, db *sql.DB, schema []string) error {
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create feature tables: %w", err)
		}
	}
	return nil
}

// DB is the database for the features' own state, with the tables of
// Options.Schema. On SQLite it is River's file and its one connection:
// feature state is written by jobs, which hold that connection anyway,
// and intake's inbox stays free. Placeholders are $1, $2, …, which both
// databases accept.
func (q *Queue) DB() *sql.DB { return q.db }

func openSQLite(path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder %s: %w", dir, err)
		}
	}
	// WAL lets readers proceed during writes; synchronous=NORMAL is still
	// durable across process crashes in WAL mode, which is what a kill -9
	// test exercises; busy_timeout covers another process holding the lock.
	//
	// wal_autocheckpoint(0): the commit that crosses the WAL threshold would
	// otherwise copy the WAL into the database and fsync it, holding the one
	// connection for tens of milliseconds; checkpointer does that on its own
	// connection instead, without blocking writers.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	// SQLite allows one writer; River's concurrent maintenance goroutines
	// otherwise fail with SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return db, nil
}

func (o *Options) riverConfig(backend string) (*river.Config, *webhookWorker) {
	priority, def := o.PriorityWorkers, o.DefaultWorkers
	if priority <= 0 {
		priority = 10
	}
	if def <= 0 {
		def = 5
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = time.Minute
	}
	if o.RescueAfter <= o.JobTimeout {
		o.RescueAfter = 2 * o.JobTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
		if backend == "sqlite" {
			o.PollInterval = 20 * time.Millisecond
		}
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 5 * time.Millisecond
	}
	cfg := &river.Config{
		Logger:               o.Logger.With("component", "river"),
		MaxAttempts:          o.MaxAttempts,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		FetchPollInterval:    o.PollInterval,
		FetchCooldown:        o.Cooldown,
		// Completed jobs keep their unique key until cleaned, which is what
		// rejects a late redelivery; a day covers GitHub's redelivery window
		// for automatic tooling.
		CompletedJobRetentionPeriod: Retention,
		ErrorHandler:                &errorHandler{log: o.Logger, metrics: o.Metrics},
	}
	var worker *webhookWorker
	if !o.NoWork {
		workers := river.NewWorkers()
		worker = &webhookWorker{opts: o}
		river.AddWorker(workers, worker)
		river.AddWorker(workers, &taskWorker{opts: o})
		cfg.Workers = workers
		cfg.PeriodicJobs = periodicJobs(o.Periodic)
		cfg.Queues = map[string]river.QueueConfig{
			QueuePriority: {MaxWorkers: priority},
			// Labels, comments and dashboards can wait; polling this queue
			// less often leaves SQLite's one connection to intake and DCO.
			QueueDefault: {MaxWorkers: def, FetchPollInterval: max(o.PollInterval, 250*time.Millisecond), FetchCooldown: 50 * time.Millisecond},
		}
	}
	return cfg, worker
}

func build[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg *river.Config, opts Options) (*Queue, *river.Client[TTx], error) {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: opts.Logger.With("component", "migrate")})
	if err != nil {
		return nil, nil, fmt.Errorf("prepare migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, nil, fmt.Errorf("migrate database: %w", err)
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create River client: %w", err)
	}
	return &Queue{
		start:         client.Start,
		stop:          client.Stop,
		stopAndCancel: client.StopAndCancel,
		subscribe:     client.Subscribe,
		insertTask: func(ctx context.Context, args TaskArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return client.Insert(ctx, args, opts)
		},
		jobGet:   client.JobGet,
		jobRetry: client.JobRetry,
		log:      opts.Logger,
		metrics:  opts.Metrics,
	}, client, nil
}

// finish wires what needs both the client and the payload store.
func (q *Queue) finish(backend string, worker *webhookWorker) {
	q.Backend = backend
	q.batch = newBatcher(q.store.insert)
	if worker != nil {
		worker.store = q.store
	}
}

// Enqueue persists one delivery for each feature that wants it, in one
// statement. It reports how many jobs were new; zero with a nil error means
// the delivery was already queued (a redelivery).
func (q *Queue) Enqueue(ctx context.Context, id, event string, payload []byte, features []Route) (int, error) {
	// Checked before the delivery is acknowledged: a route River would
	// reject later could otherwise hold up every delivery after it.
	for _, f := range features {
		if f.Queue != QueuePriority && f.Queue != QueueDefault {
			return 0, fmt.Errorf("queue delivery %s: feature %q routed to unknown queue %q", id, f.Feature, f.Queue)
		}
		if f.Feature == "" || strings.ContainsAny(f.Feature, ":,") {
			return 0, fmt.Errorf("queue delivery %s: invalid feature name %q", id, f.Feature)
		}
	}
	d := delivery{id: id, event: event, routes: features, payload: payload, jobs: make([]river.InsertManyParams, 0, len(features))}
	for _, f := range features {
		d.jobs = append(d.jobs, river.InsertManyParams{
			Args:       WebhookArgs{Delivery: id, Feature: f.Feature, Event: event},
			InsertOpts: &river.InsertOpts{Queue: f.Queue},
		})
	}
	n, err := q.batch.do(ctx, d)
	if err != nil {
		return 0, fmt.Errorf("queue delivery %s: %w", id, err)
	}
	return n, nil
}

// Route names a feature that wants a delivery and the queue it runs on.
type Route struct {
	Feature string
	Queue   string
}

// Start starts working jobs; it returns once workers are running.
func (q *Queue) Start(ctx context.Context) error {
	// River treats the end of Start's context as a hard stop that cancels
	// running jobs at once; shutdown goes through Stop instead, which lets
	// them finish within the drain timeout.
	if err := q.start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start queue: %w", err)
	}
	pruneCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	q.stopPrune = func() { cancel(); <-done }
	go func() {
		defer close(done)
		q.pruneLoop(pruneCtx)
	}()
	return nil
}

// pruneLoop deletes payloads older than Retention, as River does with its
// finished jobs.
func (q *Queue) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := q.store.prune(ctx, time.Now().Add(-Retention))
		if err != nil && ctx.Err() == nil {
			q.log.Warn("could not prune old delivery payloads", slog.String("error", err.Error()))
		} else if n > 0 {
			q.log.Info("pruned old delivery payloads", slog.Int64("deliveries", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop lets running jobs finish until ctx ends, then cancels the rest, which
// River returns to the queue so another process (or the next start) runs
// them. It closes the database.
func (q *Queue) Stop(ctx context.Context) error {
	defer q.closeDB()
	q.batch.close(ctx)
	if q.stopPrune != nil {
		q.stopPrune()
	}
	err := q.stop(ctx)
	if err == nil {
		return nil
	}
	hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err2 := q.stopAndCancel(hard); err2 != nil {
		return fmt.Errorf("stop queue: %w", errors.Join(err, err2))
	}
	return nil
}

// Ping checks the database for /readyz.
func (q *Queue) Ping(ctx context.Context) error { return q.ping(ctx) }

// Subscribe exposes River's job events, used by tests and benchmarks to wait
// for completion without polling the database.
func (q *Queue) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return q.subscribe(kinds...)
}
