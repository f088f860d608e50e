package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockSQLite takes an exclusive lock beside the database file. SQLite mode
// is one process by design; the lock turns a second replica on the same
// file into a clear error instead of two processes stealing each other's
// running jobs (see releaseOrphans).
func lockSQLite(path string) (unlock func(), err error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder %s: %w", dir, err)
		}
	}
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file for %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another contribot process is using %s; SQLite serves one replica, set DATABASE_URL=postgres://… to run several", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// releaseOrphans hands jobs left "running" by a killed process back to the
// queue. Holding the lock proves no other process runs them, so there is
// no need to wait for River's rescuer, which would take minutes.
func releaseOrphans(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	res, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return fmt.Errorf("release jobs of a previous process: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		log.Warn("released jobs left running by a previous process that did not stop cleanly", slog.Int64("jobs", n))
	}
	return nil
}

// checkpointer runs SQLite's WAL checkpoints on a connection of its own. A
// PASSIVE checkpoint never waits for the writer, and the writer never waits
// for it, so intake latency stays flat while the WAL is kept small.
func checkpointer(path string, every time.Duration, log *slog.Logger) (stop func(), err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(1000)")
	if err != nil {
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
				log.Warn("SQLite checkpoint failed; the WAL grows until the next one succeeds", slog.String("error", err.Error()))
			}
		}
	}()
	return func() {
		cancel()
		<-done
		// A last full checkpoint leaves a compact database file behind.
		_, _ = db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		db.Close()
	}, nil
}
