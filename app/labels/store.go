package labels

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Schema creates the tables the labels feature keeps. It is valid for
// SQLite and PostgreSQL.
//
// contribot_label_pr remembers, per pull request, the fingerprint of the
// changed files it last decided on. contribot_label_change keeps the last
// label change someone else made on a pull request: an addition means
// "never remove this one", a removal means "do not add it again while the
// changed files stay as they were" (the fingerprint at the time; empty when
// contribot had not seen the PR yet, and then bound to the next decision).
var Schema = []string{
	`CREATE TABLE IF NOT EXISTS contribot_label_pr (
	repo_id BIGINT NOT NULL,
	number INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (repo_id, number)
)`,
	`CREATE TABLE IF NOT EXISTS contribot_label_change (
	repo_id BIGINT NOT NULL,
	number INTEGER NOT NULL,
	label TEXT NOT NULL,
	added BOOLEAN NOT NULL,
	by_login TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (repo_id, number, label)
)`,
	`CREATE INDEX IF NOT EXISTS contribot_label_change_at ON contribot_label_change (at)`,
	`CREATE INDEX IF NOT EXISTS contribot_label_pr_updated ON contribot_label_pr (updated_at)`,
}

// PR identifies a pull request by repository ID, which survives renames.
type PR struct {
	RepoID int64
	Number int
}

// Change is a label change someone other than contribot made.
type Change struct {
	Label       string
	Added       bool
	By          string
	Fingerprint string
}

// Store keeps label history in the service's database.
type Store struct {
	DB *sql.DB
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Store) now() int64 {
	if s.Now != nil {
		return s.Now().Unix()
	}
	return time.Now().Unix()
}

// Record stores a label change by someone else. A removal is tied to the
// files contribot last decided on for the PR.
func (s *Store) Record(ctx context.Context, pr PR, c Change) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO contribot_label_change (repo_id, number, label, added, by_login, fingerprint, at)
VALUES ($1, $2, $3, $4, $5, COALESCE((SELECT fingerprint FROM contribot_label_pr WHERE repo_id = $1 AND number = $2), ''), $6)
ON CONFLICT (repo_id, number, label) DO UPDATE SET added = excluded.added, by_login = excluded.by_login, fingerprint = excluded.fingerprint, at = excluded.at`,
		pr.RepoID, pr.Number, strings.ToLower(c.Label), c.Added, c.By, s.now())
	if err != nil {
		return fmt.Errorf("record label %q on PR %d of repository %d: %w", c.Label, pr.Number, pr.RepoID, err)
	}
	return nil
}

// Changes returns what others did to the PR's labels, with removals made
// under other files dropped: those no longer hold the label back. A
// removal whose fingerprint is unknown binds to fingerprint now.
func (s *Store) Changes(ctx context.Context, pr PR, fingerprint string) (addedBy, removedBy map[string]string, err error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT label, added, by_login, fingerprint FROM contribot_label_change WHERE repo_id = $1 AND number = $2`, pr.RepoID, pr.Number)
	if err != nil {
		return nil, nil, fmt.Errorf("read label history of PR %d of repository %d: %w", pr.Number, pr.RepoID, err)
	}
	defer rows.Close()
	addedBy, removedBy = map[string]string{}, map[string]string{}
	unbound := false
	for rows.Next() {
		var label, by, fp string
		var added bool
		if err := rows.Scan(&label, &added, &by, &fp); err != nil {
			return nil, nil, fmt.Errorf("read label history of PR %d of repository %d: %w", pr.Number, pr.RepoID, err)
		}
		switch {
		case added:
			addedBy[label] = by
		case fp == "":
			unbound = true
			removedBy[label] = by
		case fp == fingerprint:
			removedBy[label] = by
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read label history of PR %d of repository %d: %w", pr.Number, pr.RepoID, err)
	}
	rows.Close()
	if unbound {
		if _, err := s.DB.ExecContext(ctx, `UPDATE contribot_label_change SET fingerprint = $3 WHERE repo_id = $1 AND number = $2 AND NOT added AND fingerprint = ''`, pr.RepoID, pr.Number, fingerprint); err != nil {
			return nil, nil, fmt.Errorf("bind label removals of PR %d of repository %d: %w", pr.Number, pr.RepoID, err)
		}
	}
	return addedBy, removedBy, nil
}

// Decided remembers the fingerprint of the files a decision was made on.
func (s *Store) Decided(ctx context.Context, pr PR, fingerprint string) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO contribot_label_pr (repo_id, number, fingerprint, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (repo_id, number) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
		pr.RepoID, pr.Number, fingerprint, s.now())
	if err != nil {
		return fmt.Errorf("remember labels decision for PR %d of repository %d: %w", pr.Number, pr.RepoID, err)
	}
	return nil
}

// Prune forgets pull requests untouched since before: closed ones, in
// practice, whose history nobody needs any more.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	for _, stmt := range []string{
		`DELETE FROM contribot_label_change WHERE at < $1`,
		`DELETE FROM contribot_label_pr WHERE updated_at < $1`,
	} {
		if _, err := s.DB.ExecContext(ctx, stmt, before.Unix()); err != nil {
			return fmt.Errorf("prune label history: %w", err)
		}
	}
	return nil
}
