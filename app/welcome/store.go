package welcome

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Schema creates the welcome feature's tables, valid for SQLite and
// PostgreSQL. contribot_welcome remembers each greeting by (scope, login,
// kind); contribot_welcome_person exists to be locked: a claim updates the
// person's row first, so claims for one person run one after another even
// on several PostgreSQL replicas (SQLite runs every write transaction alone).
var Schema = []string{
	`CREATE TABLE IF NOT EXISTS contribot_welcome_person (
	scope TEXT NOT NULL,
	login TEXT NOT NULL,
	touched BIGINT NOT NULL,
	PRIMARY KEY (scope, login)
)`,
	`CREATE TABLE IF NOT EXISTS contribot_welcome (
	scope TEXT NOT NULL,
	login TEXT NOT NULL,
	kind TEXT NOT NULL,
	repo TEXT NOT NULL,
	number INTEGER NOT NULL,
	posted BOOLEAN NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (scope, login, kind)
)`,
}

// TogetherWindow is how close a first issue and a first pull request may
// come and still count as arriving together: the person gets one greeting,
// not two within minutes.
const TogetherWindow = time.Hour

// Store remembers greetings in the service's database.
type Store struct {
	DB  *sql.DB
	Now func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Greeting identifies one greeting.
type Greeting struct {
	Scope, Login, Kind string
	Repo               string // "owner/name" of the item greeted
	Number             int
}

func (g Greeting) key() (string, string) { return g.Scope, strings.ToLower(g.Login) }

// Known reports whether the person already has (or is getting) this kind
// of greeting in the scope, so a known person costs no search; resume is
// set when that is this very item's greeting, claimed by an attempt that
// stopped before it was posted.
func (s *Store) Known(ctx context.Context, g Greeting) (known, resume bool, err error) {
	scope, login := g.key()
	var repo string
	var number int
	var posted bool
	err = s.DB.QueryRowContext(ctx, `SELECT repo, number, posted FROM contribot_welcome WHERE scope = $1 AND login = $2 AND kind = $3`, scope, login, g.Kind).Scan(&repo, &number, &posted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("read greetings of %s in %s: %w", g.Login, g.Scope, err)
	}
	return true, !posted && repo == g.Repo && number == g.Number, nil
}

// Claim makes this job the one that greets: it returns ok when the
// greeting is new, or is this very item's greeting that a previous attempt
// claimed but did not finish. Otherwise why says who was greeted instead.
func (s *Store) Claim(ctx context.Context, g Greeting) (ok bool, why string, err error) {
	scope, login := g.key()
	now := s.now()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return false, "", fmt.Errorf("claim the greeting of %s: %w", g.Login, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO contribot_welcome_person (scope, login, touched) VALUES ($1, $2, $3)
ON CONFLICT (scope, login) DO UPDATE SET touched = excluded.touched`, scope, login, now.Unix()); err != nil {
		return false, "", fmt.Errorf("lock the greetings of %s: %w", g.Login, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT kind, repo, number, posted, at FROM contribot_welcome WHERE scope = $1 AND login = $2`, scope, login)
	if err != nil {
		return false, "", fmt.Errorf("read the greetings of %s: %w", g.Login, err)
	}
	for rows.Next() {
		var kind, repo string
		var number int
		var posted bool
		var at int64
		if err := rows.Scan(&kind, &repo, &number, &posted, &at); err != nil {
			rows.Close()
			return false, "", fmt.Errorf("read the greetings of %s: %w", g.Login, err)
		}
		switch {
		case kind == g.Kind && repo == g.Repo && number == g.Number && !posted:
			rows.Close()
			return true, "", nil // an earlier attempt claimed it and stopped
		case kind == g.Kind:
			why = fmt.Sprintf("already greeted on %s#%d", repo, number)
		case g.Kind != KindMerged && kind != KindMerged && now.Sub(time.Unix(at, 0)) < TogetherWindow:
			why = fmt.Sprintf("greeted on %s#%d %s ago; one greeting for a first issue and pull request that arrive together", repo, number, now.Sub(time.Unix(at, 0)).Round(time.Second))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, "", fmt.Errorf("read the greetings of %s: %w", g.Login, err)
	}
	if why != "" {
		return false, why, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO contribot_welcome (scope, login, kind, repo, number, posted, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		scope, login, g.Kind, g.Repo, g.Number, false, now.Unix()); err != nil {
		return false, "", fmt.Errorf("claim the greeting of %s: %w", g.Login, err)
	}
	if err := tx.Commit(); err != nil {
		return false, "", fmt.Errorf("claim the greeting of %s: %w", g.Login, err)
	}
	return true, "", nil
}

// Posted records that the greeting is on GitHub.
func (s *Store) Posted(ctx context.Context, g Greeting) error {
	scope, login := g.key()
	if _, err := s.DB.ExecContext(ctx, `UPDATE contribot_welcome SET posted = $4 WHERE scope = $1 AND login = $2 AND kind = $3`, scope, login, g.Kind, true); err != nil {
		return fmt.Errorf("record the greeting of %s: %w", g.Login, err)
	}
	return nil
}
