package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Schema creates the table of live browser sessions, valid for SQLite and
// PostgreSQL. A session is valid only while its row exists: logout deletes
// the row, so a copied cookie dies with it on every replica, and a
// database that lost the row (restored, wiped) signs the browser out
// rather than in. id is the SHA-256 of the session's random ID, so the
// table alone does not name a cookie; expires is Unix seconds, the same
// instant the cookie's signed expiry says, and rows past it are pruned at
// each sign-in.
var Schema = []string{
	`CREATE TABLE IF NOT EXISTS contribot_admin_session (
	id TEXT PRIMARY KEY,
	expires BIGINT NOT NULL
)`,
	`CREATE INDEX IF NOT EXISTS contribot_admin_session_expires ON contribot_admin_session (expires)`,
}

// errNoDatabase stands for a handler built without Options.DB: every
// session operation fails, so browsers cannot sign in, and bearer tokens
// still work.
var errNoDatabase = errors.New("no database for admin sessions (Options.DB is nil)")

// sessions keeps the live session IDs in the service's database, shared
// by every replica.
type sessions struct {
	db *sql.DB
}

// newSessionID is 256 random bits, as the cookie carries them.
func newSessionID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("mint a session ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func rowID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create records a session valid until expires, and drops those that
// expired: only token holders sign in, so the table holds at most the
// sign-ins of one session lifetime.
func (s sessions) create(ctx context.Context, id string, expires, now time.Time) error {
	if s.db == nil {
		return errNoDatabase
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM contribot_admin_session WHERE expires <= $1`, now.Unix()); err != nil {
		return fmt.Errorf("prune expired admin sessions: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO contribot_admin_session (id, expires) VALUES ($1, $2)`, rowID(id), expires.Unix()); err != nil {
		return fmt.Errorf("record the admin session: %w", err)
	}
	return nil
}

// live reports whether the session has not been revoked and has not
// expired.
func (s sessions) live(ctx context.Context, id string, now time.Time) (bool, error) {
	if s.db == nil {
		return false, errNoDatabase
	}
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT expires FROM contribot_admin_session WHERE id = $1`, rowID(id)).Scan(&expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up the admin session: %w", err)
	}
	return now.Unix() < expires, nil
}

// revoke ends the session on every replica.
func (s sessions) revoke(ctx context.Context, id string) error {
	if s.db == nil {
		return errNoDatabase
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM contribot_admin_session WHERE id = $1`, rowID(id)); err != nil {
		return fmt.Errorf("revoke the admin session: %w", err)
	}
	return nil
}
