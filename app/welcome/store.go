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
	claimer BIGINT NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (scope, login, kind)
)`,
}

// StaleClaim is when an unposted claim is taken to be abandoned: its job
// died and was not retried. River retries a job killed mid-run within
// twice the job timeout, so a claim this old is nobody's.
const StaleClaim = 10 * time.Minute

// TogetherWindow is how close a first issue and a first pull request may
// come and still count as arriving together: the person gets one greeting,
// not two within minutes.
const TogetherWindow = time.Hour

// Store remembers greetings in the service's database.
type Store struct {
	DB  *sql.DB
	Now func() time.Time

	// afterRead runs between reading a person's greetings and claiming,
	// where a second claim would slip in without the lock; tests widen
	// that window with it.
	afterRead func()
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
	// Job is the queue job that greets: its retries may resume its claim,
	// a concurrent copy of the same event may not.
	Job int64
}

// resumes reports whether g may take over an unposted claim: it is the
// claiming job's own retry, or the claim was abandoned.
func (g Greeting) resumes(repo string, number int, posted bool, claimer int64, at, now time.Time) bool {
	return !posted && repo == g.Repo && number == g.Number && (claimer == g.Job || now.Sub(at) > StaleClaim)
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
	var claimer, at int64
	err = s.DB.QueryRowContext(ctx, `SELECT repo, number, posted, claimer, at FROM contribot_welcome WHERE scope = $1 AND login = $2 AND kind = $3`, scope, login, g.Kind).Scan(&repo, &number, &posted, &claimer, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("read greetings of %s in %s: %w", g.Login, g.Scope, err)
	}
	return true, g.resumes(repo, number, posted, claimer, time.Unix(at, 0), s.now()), nil
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
	rows, err := tx.QueryContext(ctx, `SELECT kind, repo, number, posted, claimer, at FROM contribot_welcome WHERE scope = $1 AND login = $2`, scope, login)
	if err != nil {
		return false, "", fmt.Errorf("read the greetings of %s: %w", g.Login, err)
	}
	for rows.Next() {
		var kind, repo string
		var number int
		var posted bool
		var claimer, at int64
		if err := rows.Scan(&kind, &repo, &number, &posted, &claimer, &at); err != nil {
			rows.Close()
			return false, "", fmt.Errorf("read the greetings of %s: %w", g.Login, err)
		}
		switch {
		case kind == g.Kind && g.resumes(repo, number, posted, claimer, time.Unix(at, 0), now):
			rows.Close()
			// This job's earlier attempt (or a dead one) claimed it and
			// stopped; the claim is this attempt's now.
			_, err := tx.ExecContext(ctx, `UPDATE contribot_welcome SET claimer = $4, at = $5 WHERE scope = $1 AND login = $2 AND kind = $3`, scope, login, g.Kind, g.Job, now.Unix())
			if err == nil {
				err = tx.Commit()
			}
			if err != nil {
				return false, "", fmt.Errorf("resume the greeting of %s: %w", g.Login, err)
			}
			return true, "", nil
		case kind == g.Kind && !posted && repo == g.Repo && number == g.Number:
			why = fmt.Sprintf("being greeted by job %d", claimer)
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
	if s.afterRead != nil {
		s.afterRead()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO contribot_welcome (scope, login, kind, repo, number, posted, claimer, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		scope, login, g.Kind, g.Repo, g.Number, false, g.Job, now.Unix()); err != nil {
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
