package labels

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Schema creates the tables the labels feature keeps. It is valid for
// SQLite and PostgreSQL.
//
// contribot_label_pr remembers, per pull request, the fingerprint of the
// changed files contribot last decided on and the PR's updated_at at that
// event, so an older event that runs late is skipped. contribot_label_change
// keeps the last change of each label on a pull request: by_login is the
// person or bot who made it, or empty when contribot added the label itself
// (the only labels sync: managed may remove). A removal by someone else
// means "do not add it again while the changed files stay as they were":
// fingerprint is the files' at the time, empty when contribot had not
// decided on the PR yet, and then bound to the next decision.
var Schema = []string{
	`CREATE TABLE IF NOT EXISTS contribot_label_pr (
	repo_id BIGINT NOT NULL,
	number INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	pr_updated BIGINT NOT NULL,
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

// Change is a change of one label. By is empty for contribot's own.
type Change struct {
	Label string
	Added bool
	By    string
}

// State is what contribot knows of a pull request's labels.
type State struct {
	// AddedBy and RemovedBy: labels someone else added, or removed while
	// the changed files were as they are now, by lower-case name.
	AddedBy, RemovedBy map[string]string
	// Ours are the labels contribot added and nobody changed since.
	Ours map[string]bool
	// PRUpdated is the updated_at of the event of the last decision.
	PRUpdated time.Time
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

// Record stores label changes. A removal is tied to the files contribot
// last decided on for the PR.
func (s *Store) Record(ctx context.Context, pr PR, changes ...Change) error {
	for _, c := range changes {
		_, err := s.DB.ExecContext(ctx, `INSERT INTO contribot_label_change (repo_id, number, label, added, by_login, fingerprint, at)
VALUES ($1, $2, $3, $4, $5, COALESCE((SELECT fingerprint FROM contribot_label_pr WHERE repo_id = $1 AND number = $2), ''), $6)
ON CONFLICT (repo_id, number, label) DO UPDATE SET added = excluded.added, by_login = excluded.by_login, fingerprint = excluded.fingerprint, at = excluded.at`,
			pr.RepoID, pr.Number, strings.ToLower(c.Label), c.Added, c.By, s.now())
		if err != nil {
			return fmt.Errorf("record label %q on PR %d of repository %d: %w", c.Label, pr.Number, pr.RepoID, err)
		}
	}
	return nil
}

// State returns what is known of the PR's labels, with removals made under
// other files dropped: those no longer hold the label back. A removal
// whose fingerprint is unknown binds to fingerprint now.
func (s *Store) State(ctx context.Context, pr PR, fingerprint string) (State, error) {
	st := State{AddedBy: map[string]string{}, RemovedBy: map[string]string{}, Ours: map[string]bool{}}
	fail := func(err error) (State, error) {
		return State{}, fmt.Errorf("read label history of PR %d of repository %d: %w", pr.Number, pr.RepoID, err)
	}
	var updated int64
	err := s.DB.QueryRowContext(ctx, `SELECT pr_updated FROM contribot_label_pr WHERE repo_id = $1 AND number = $2`, pr.RepoID, pr.Number).Scan(&updated)
	switch {
	case err == nil:
		st.PRUpdated = time.Unix(updated, 0)
	case !errors.Is(err, sql.ErrNoRows):
		return fail(err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT label, added, by_login, fingerprint FROM contribot_label_change WHERE repo_id = $1 AND number = $2`, pr.RepoID, pr.Number)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	unbound := false
	for rows.Next() {
		var label, by, fp string
		var added bool
		if err := rows.Scan(&label, &added, &by, &fp); err != nil {
			return fail(err)
		}
		switch {
		case by == "" && added:
			st.Ours[label] = true
		case by == "":
			// contribot's own removal holds nothing back.
		case added:
			st.AddedBy[label] = by
		case fp == "":
			unbound = true
			st.RemovedBy[label] = by
		case fp == fingerprint:
			st.RemovedBy[label] = by
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	rows.Close()
	if unbound {
		if _, err := s.DB.ExecContext(ctx, `UPDATE contribot_label_change SET fingerprint = $3 WHERE repo_id = $1 AND number = $2 AND NOT added AND fingerprint = ''`, pr.RepoID, pr.Number, fingerprint); err != nil {
			return fail(err)
		}
	}
	return st, nil
}

// Decided remembers the files and the event a decision was made on. It is
// written before the decision's writes, so that a person's removal right
// after contribot's addition is tied to these files.
func (s *Store) Decided(ctx context.Context, pr PR, fingerprint string, prUpdated time.Time) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO contribot_label_pr (repo_id, number, fingerprint, pr_updated, updated_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (repo_id, number) DO UPDATE SET fingerprint = excluded.fingerprint, pr_updated = excluded.pr_updated, updated_at = excluded.updated_at`,
		pr.RepoID, pr.Number, fingerprint, prUpdated.Unix(), s.now())
	if err != nil {
		return fmt.Errorf("remember labels decision for PR %d of repository %d: %w", pr.Number, pr.RepoID, err)
	}
	return nil
}

// Prune forgets pull requests contribot has not decided on since before:
// closed ones, in practice. A PR still being pushed to keeps its whole
// history, however old its label changes are.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	for _, stmt := range []string{
		`DELETE FROM contribot_label_change WHERE at < $1 AND NOT EXISTS (SELECT 1 FROM contribot_label_pr p
	WHERE p.repo_id = contribot_label_change.repo_id AND p.number = contribot_label_change.number AND p.updated_at >= $1)`,
		`DELETE FROM contribot_label_pr WHERE updated_at < $1`,
	} {
		if _, err := s.DB.ExecContext(ctx, stmt, before.Unix()); err != nil {
			return fmt.Errorf("prune label history: %w", err)
		}
	}
	return nil
}
