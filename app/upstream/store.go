package upstream

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// Schema creates the upstream tracker's tables, valid for SQLite and
// PostgreSQL. Times are Unix seconds, which both store alike.
//
// contribot_upstream_item is a tracking issue or pull request in the org;
// version counts changes that may alter its status comment, and
// synced_version is the version that comment shows, so a change arriving
// while a sync runs is not lost; show_private says whether what its org
// read from private repositories may show on the reports (see
// Item.ShowPrivate). contribot_upstream_ref is one upstream item with its
// last known state: a GitHub one per org (scope, see link.Ref.Scope), read
// with that org's installation, private when its repository is not public,
// resolved the repository that answered (GitHub follows renamed and
// transferred ones). A reference no link names is deleted (see prune).
// contribot_upstream_link says which tracking item names which reference,
// and where ("body", "comment:ID"); contribot_upstream_excess how many more
// references a source names than the item may track.
// contribot_upstream_budget is what each org has spent of its read budget
// per provider group (provider.GroupKey) in the window that began at
// window_start, shared by every poll and replica.
//
// Columns added after a release are also added to existing tables by
// Migrate: the statements here run on every start and must stay
// idempotent.
var Schema = []string{
	`CREATE TABLE IF NOT EXISTS contribot_upstream_item (
	repo TEXT NOT NULL,
	number INTEGER NOT NULL,
	installation BIGINT NOT NULL,
	is_pr BOOLEAN NOT NULL,
	title TEXT NOT NULL,
	url TEXT NOT NULL,
	author TEXT NOT NULL,
	open BOOLEAN NOT NULL,
	private BOOLEAN NOT NULL,
	listed BOOLEAN NOT NULL,
	tracked BOOLEAN NOT NULL,
	modules TEXT NOT NULL,
	labels TEXT NOT NULL,
	comment_id BIGINT NOT NULL DEFAULT 0,
	comment_hash TEXT NOT NULL DEFAULT '',
	version BIGINT NOT NULL DEFAULT 1,
	synced_version BIGINT NOT NULL DEFAULT 0,
	seen_at BIGINT NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL,
	show_private BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (repo, number)
)`,
	`CREATE TABLE IF NOT EXISTS contribot_upstream_ref (
	key TEXT PRIMARY KEY,
	provider TEXT NOT NULL,
	host TEXT NOT NULL,
	project TEXT NOT NULL,
	kind TEXT NOT NULL,
	number BIGINT NOT NULL,
	url TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT '',
	raw_state TEXT NOT NULL DEFAULT '',
	title TEXT NOT NULL DEFAULT '',
	last_activity BIGINT NOT NULL DEFAULT 0,
	last_checked BIGINT NOT NULL DEFAULT 0,
	attempted_at BIGINT NOT NULL DEFAULT 0,
	check_error TEXT NOT NULL DEFAULT '',
	failing_since BIGINT NOT NULL DEFAULT 0,
	scope TEXT NOT NULL DEFAULT '',
	private BOOLEAN NOT NULL DEFAULT FALSE,
	resolved TEXT NOT NULL DEFAULT ''
)`,
	`CREATE TABLE IF NOT EXISTS contribot_upstream_link (
	repo TEXT NOT NULL,
	number INTEGER NOT NULL,
	source TEXT NOT NULL,
	ref_key TEXT NOT NULL,
	PRIMARY KEY (repo, number, source, ref_key)
)`,
	`CREATE INDEX IF NOT EXISTS contribot_upstream_link_ref ON contribot_upstream_link (ref_key)`,
	`CREATE TABLE IF NOT EXISTS contribot_upstream_excess (
	repo TEXT NOT NULL,
	number INTEGER NOT NULL,
	source TEXT NOT NULL,
	refs INTEGER NOT NULL,
	PRIMARY KEY (repo, number, source)
)`,
	`CREATE TABLE IF NOT EXISTS contribot_upstream_lock (
	name TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	until_unix BIGINT NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS contribot_upstream_dashboard (
	org TEXT PRIMARY KEY,
	repo TEXT NOT NULL,
	issue_number INTEGER NOT NULL,
	body_hash TEXT NOT NULL,
	updated_at BIGINT NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS contribot_upstream_budget (
	org TEXT NOT NULL,
	bucket TEXT NOT NULL,
	window_start BIGINT NOT NULL,
	spent INTEGER NOT NULL,
	PRIMARY KEY (org, bucket)
)`,
}

// addedColumns are the columns added to tables that existing databases
// created without them.
var addedColumns = []struct{ table, column, definition string }{
	{"contribot_upstream_item", "show_private", "BOOLEAN NOT NULL DEFAULT FALSE"},
	{"contribot_upstream_ref", "scope", "TEXT NOT NULL DEFAULT ''"},
	{"contribot_upstream_ref", "private", "BOOLEAN NOT NULL DEFAULT FALSE"},
	{"contribot_upstream_ref", "resolved", "TEXT NOT NULL DEFAULT ''"},
}

// Migrate brings a database that Schema created in an earlier release up
// to date; on a new one it changes nothing, and it is safe to run on every
// start and by replicas side by side. Neither database can add a column
// only if it is missing in a statement both accept, so it asks first.
//
// GitHub references were once read with any org's installation and kept
// once for all orgs. Each is now replaced by one per org that names it,
// read afresh with that org's installation: the states read before are
// dropped, since they may have come through another org's installation.
func (s *Store) Migrate(ctx context.Context) error {
	for _, c := range addedColumns {
		if s.hasColumn(ctx, c.table, c.column) {
			continue
		}
		if _, err := s.DB.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.definition); err != nil && !s.hasColumn(ctx, c.table, c.column) {
			return fmt.Errorf("add %s.%s: %w", c.table, c.column, err)
		}
	}
	return s.rescopeGitHub(ctx)
}

func (s *Store) hasColumn(ctx context.Context, table, column string) bool {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+column+` FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return false
	}
	rows.Close()
	return true
}

// rescopeGitHub moves the links to unscoped GitHub references onto each
// linking item's org's own copy, unchecked, and drops the unscoped ones.
func (s *Store) rescopeGitHub(ctx context.Context) error {
	fail := func(err error) error { return fmt.Errorf("give each org its own GitHub references: %w", err) }
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	rows, err := tx.QueryContext(ctx, `SELECT l.repo, l.number, l.source, r.key, r.provider, r.host, r.project, r.kind, r.number, r.url
	FROM contribot_upstream_link l JOIN contribot_upstream_ref r ON r.key = l.ref_key
	WHERE r.provider = $1 AND r.scope = '' ORDER BY r.key, l.repo, l.number, l.source`, string(link.GitHub))
	if err != nil {
		return fail(err)
	}
	type move struct {
		repo   string
		number int
		source string
		old    string
		ref    link.Ref
	}
	var moves []move
	for rows.Next() {
		var m move
		var prov, kind string
		if err := rows.Scan(&m.repo, &m.number, &m.source, &m.old, &prov, &m.ref.Host, &m.ref.Project, &kind, &m.ref.Number, &m.ref.URL); err != nil {
			rows.Close()
			return fail(err)
		}
		m.ref.Provider, m.ref.Kind = link.Provider(prov), link.Kind(kind)
		org, _, _ := strings.Cut(m.repo, "/")
		m.ref = m.ref.Scoped(org)
		moves = append(moves, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if len(moves) == 0 {
		return nil
	}
	newKeys := make([]string, len(moves))
	for i, m := range moves {
		newKeys[i] = m.ref.Key()
	}
	if err := s.lockRefs(ctx, tx, newKeys); err != nil {
		return fail(err)
	}
	changed := map[ItemKey]bool{}
	for _, m := range moves {
		if err := ensureRefs(ctx, tx, []link.Ref{m.ref}); err != nil {
			return fail(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO contribot_upstream_link (repo, number, source, ref_key) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repo, number, source, ref_key) DO NOTHING`, m.repo, m.number, m.source, m.ref.Key()); err != nil {
			return fail(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_link WHERE repo = $1 AND number = $2 AND source = $3 AND ref_key = $4`,
			m.repo, m.number, m.source, m.old); err != nil {
			return fail(err)
		}
		changed[ItemKey{m.repo, m.number}] = true
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_ref WHERE provider = $1 AND scope = ''`, string(link.GitHub)); err != nil {
		return fail(err)
	}
	for k := range changed {
		if _, err := tx.ExecContext(ctx, `UPDATE contribot_upstream_item SET version = version + 1 WHERE repo = $1 AND number = $2`, k.Repo, k.Number); err != nil {
			return fail(err)
		}
	}
	return tx.Commit()
}

// Store keeps the tracker's state in the service's database.
type Store struct {
	DB  *sql.DB
	Now func() time.Time
	// OrgScoped says which hosts besides GitHub are read per org (see
	// link.Ref.ScopedBy): provider.Set.OrgScoped. Nil: none.
	OrgScoped func(host string) bool
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// postgres reports whether the store is on PostgreSQL, where transactions
// run side by side. SQLite runs one at a time (the queue opens it with one
// connection and immediate transactions), so what PostgreSQL needs the
// advisory locks below for holds there by itself.
func (s *Store) postgres() bool {
	_, ok := s.DB.Driver().(*stdlib.Driver)
	return ok
}

// Classes of the store's advisory locks, in PostgreSQL's two-key form,
// whose key space is apart from the one-key locks others take.
const (
	// lockItem serialises the changes of one tracking item (Apply).
	lockItem int32 = 0x75706931
	// lockRef is held from writing a link to a reference until the link is
	// committed, and by prune while it deletes the reference.
	lockRef int32 = 0x75707231
	// lockBudget serialises claims (Due), which read and book the orgs'
	// budgets.
	lockBudget int32 = 0x75706231
)

// lockHash is the second key of an advisory lock on name; two names that
// share it only wait for each other.
func lockHash(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// advisory takes the advisory lock of class on each name, until tx ends,
// in the order of their keys, so that no two transactions wait for each
// other in a circle. Nothing on SQLite.
func (s *Store) advisory(ctx context.Context, tx *sql.Tx, class int32, names ...string) error {
	if !s.postgres() || len(names) == 0 {
		return nil
	}
	keys := make([]int32, len(names))
	for i, n := range names {
		keys[i] = lockHash(n)
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(CAST($1 AS INTEGER), CAST($2 AS INTEGER))`, class, k); err != nil {
			return fmt.Errorf("take an advisory lock: %w", err)
		}
	}
	return nil
}

// lockRefs holds references by key until tx ends, against prune.
func (s *Store) lockRefs(ctx context.Context, tx *sql.Tx, keys []string) error {
	return s.advisory(ctx, tx, lockRef, keys...)
}

// Item is a tracking issue or pull request as an event shows it.
type Item struct {
	Repo         string // "owner/name"
	Number       int
	Installation int64
	PR           bool
	Title, URL   string
	Author       string
	Open         bool
	Private      bool
	// Listed: shown on the dashboard and the web page (a private
	// repository's items only when its rules, the repository's own
	// included, say upstream.show_private: its maintainers may show what
	// they can read).
	Listed bool
	// ShowPrivate: what the org's installation read for the item from
	// private repositories may appear on the dashboard and the page. Only
	// the org's own rules (its .github repository) can allow that, since
	// those repositories' maintainers need not be the item's; the item's
	// repository may only turn it off.
	ShowPrivate bool
	Modules     []string
	Labels      []string
}

// Org is the item's owner.
func (i Item) Org() string { org, _, _ := strings.Cut(i.Repo, "/"); return org }

// Saved is an item as stored, with what its sync needs.
type Saved struct {
	Item
	Tracked       bool
	CommentID     int64
	CommentHash   string
	Version       int64
	SyncedVersion int64
	// Untracked counts the references its sources name beyond
	// report.MaxRefsPerItem, which are neither checked nor shown.
	Untracked int
}

func joinList(l []string) string {
	l = slices.Clone(l)
	sort.Strings(l)
	return strings.Join(l, "\n")
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Track records an item and the references one of its sources names
// (source "body" or "comment:ID"; nil refs clears that source). It reports
// whether anything its status comment shows changed, and bumps the item's
// version if so.
func (s *Store) Track(ctx context.Context, it Item, source string, refs []link.Ref) (bool, error) {
	return s.Apply(ctx, Change{Item: it, Source: source, Refs: refs})
}

// Change is what one event says about an item.
type Change struct {
	Item   Item
	Source string
	Refs   []link.Ref
	// Seen is the payload's updated_at: a payload older than one already
	// applied is skipped, since GitHub does not deliver in order and
	// several workers run. Zero applies always.
	Seen time.Time
	// IfTracked applies the change only to an item tracked at that moment:
	// a comment never starts tracking, nor revives an item untracked
	// since the comment's job began.
	IfTracked bool
	// Untrack ends tracking: the links go, the item stays so that its
	// status comment can say it is no longer tracked.
	Untrack bool
}

// Apply records a change in one transaction and reports whether the item's
// status comment or the reports may show something new. References no
// link names any more are then deleted (prune).
//
// On PostgreSQL the transaction first takes the item's advisory lock:
// changes of one item (its body and each comment are jobs of their own)
// apply one at a time, so that capRefs sees the links of the others and
// the cap holds. Then the advisory locks of the references it links,
// against prune. Row locks are taken references first, then the item, the
// order Save takes them in, so that an edit and a poll cannot deadlock;
// advisory locks are taken before any row lock, and nothing waits for one
// while holding a row.
func (s *Store) Apply(ctx context.Context, c Change) (bool, error) {
	it := c.Item
	fail := func(err error) (bool, error) { return false, fmt.Errorf("record %s#%d: %w", it.Repo, it.Number, err) }
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := s.advisory(ctx, tx, lockItem, ItemKey{it.Repo, it.Number}.String()); err != nil {
		return fail(err)
	}
	var refs []link.Ref
	excess := 0
	if !c.Untrack {
		if refs, excess, err = capRefs(ctx, tx, it, c.Source, c.Refs, s.OrgScoped); err != nil {
			return fail(err)
		}
		if err := s.lockRefs(ctx, tx, refKeys(refs)); err != nil {
			return fail(err)
		}
		if err := ensureRefs(ctx, tx, refs); err != nil {
			return fail(err)
		}
	}
	var tracked bool
	var seen int64
	err = tx.QueryRowContext(ctx, `SELECT tracked, seen_at FROM contribot_upstream_item WHERE repo = $1 AND number = $2`, it.Repo, it.Number).Scan(&tracked, &seen)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fail(err)
	case c.IfTracked && !tracked, c.Untrack && !tracked:
		return false, nil
	case !c.Seen.IsZero() && c.Seen.Unix() < seen:
		return false, nil // an older payload than one applied already
	}
	changed := false
	if !c.IfTracked {
		// A comment's payload carries the issue as it was when the comment
		// was made; it must not undo a later close, title or label change.
		if changed, err = upsertItem(ctx, tx, it, !c.Untrack, s.now()); err != nil {
			return fail(err)
		}
	}
	if !c.Seen.IsZero() {
		if _, err := tx.ExecContext(ctx, `UPDATE contribot_upstream_item SET seen_at = $3 WHERE repo = $1 AND number = $2`, it.Repo, it.Number, c.Seen.Unix()); err != nil {
			return fail(err)
		}
	}
	var unlinked []string
	if c.Untrack {
		if unlinked, err = forgetLinks(ctx, tx, `repo = $1 AND number = $2`, it.Repo, it.Number); err != nil {
			return fail(err)
		}
	} else {
		linksChanged, removed, err := setLinks(ctx, tx, it.Repo, it.Number, c.Source, refs)
		if err != nil {
			return fail(err)
		}
		unlinked = removed
		excessChanged, err := setExcess(ctx, tx, it.Repo, it.Number, c.Source, excess)
		if err != nil {
			return fail(err)
		}
		changed = changed || linksChanged || excessChanged || !exists
	}
	if changed {
		if _, err := tx.ExecContext(ctx, `UPDATE contribot_upstream_item SET version = version + 1 WHERE repo = $1 AND number = $2`, it.Repo, it.Number); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	// A failure here leaves rows the full poll's sweep deletes; the retry
	// it causes applies nothing new.
	if err := s.prune(ctx, unlinked); err != nil {
		return changed, fmt.Errorf("record %s#%d: %w", it.Repo, it.Number, err)
	}
	return changed, nil
}

func refKeys(refs []link.Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Key()
	}
	return out
}

// Untrack ends tracking of an item; it reports whether the item was
// tracked.
func (s *Store) Untrack(ctx context.Context, it Item) (bool, error) {
	return s.Apply(ctx, Change{Item: it, Untrack: true})
}

// Forget removes an item that no longer exists where it was (deleted or
// transferred): there is nothing left to comment on.
func (s *Store) Forget(ctx context.Context, repo string, number int) (bool, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("forget %s#%d: %w", repo, number, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	unlinked, err := forgetLinks(ctx, tx, `repo = $1 AND number = $2`, repo, number)
	if err != nil {
		return false, fmt.Errorf("forget %s#%d: %w", repo, number, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_item WHERE repo = $1 AND number = $2`, repo, number)
	if err != nil {
		return false, fmt.Errorf("forget %s#%d: %w", repo, number, err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("forget %s#%d: %w", repo, number, err)
	}
	if err := s.prune(ctx, unlinked); err != nil {
		return n > 0, fmt.Errorf("forget %s#%d: %w", repo, number, err)
	}
	return n > 0, nil
}

// forgetLinks deletes the links and excess counts of the items where says,
// and returns the keys of the references those links named.
func forgetLinks(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM contribot_upstream_link WHERE `+where+` RETURNING ref_key`, args...)
	if err != nil {
		return nil, err
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_excess WHERE `+where, args...); err != nil {
		return nil, err
	}
	return keys, nil
}

// prune deletes those of the references keys that no link names any more:
// an outsider who edits their issue again and again, with new links each
// time, must not grow the table (nor the polls) for ever. Each is deleted
// in a transaction of its own, under the reference's advisory lock, which
// Apply holds from writing the reference until its links are committed;
// the check for links runs after the lock is taken, so it sees them, and a
// reference being linked right now is never deleted under its new link.
func (s *Store) prune(ctx context.Context, keys []string) error {
	_, err := s.pruneCount(ctx, keys)
	return err
}

// pruneCount is prune, and says how many it deleted.
func (s *Store) pruneCount(ctx context.Context, keys []string) (int, error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	deleted := 0
	for _, k := range slices.Compact(keys) {
		gone, err := s.pruneOne(ctx, k)
		if err != nil {
			return deleted, fmt.Errorf("delete reference %s that nothing names: %w", k, err)
		}
		if gone {
			deleted++
		}
	}
	return deleted, nil
}

func (s *Store) pruneOne(ctx context.Context, key string) (bool, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := s.lockRefs(ctx, tx, []string{key}); err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_ref WHERE key = $1
	AND NOT EXISTS (SELECT 1 FROM contribot_upstream_link l WHERE l.ref_key = $1)`, key)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, tx.Commit()
}

// maxSweep bounds the references one sweep deletes; the next takes the
// rest.
const maxSweep = 10000

// Sweep deletes references that no link names: those a failed prune left,
// or an older release kept. It reports how many it deleted.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT key FROM contribot_upstream_ref r
	WHERE NOT EXISTS (SELECT 1 FROM contribot_upstream_link l WHERE l.ref_key = r.key) ORDER BY key LIMIT $1`, maxSweep)
	if err != nil {
		return 0, fmt.Errorf("find references that nothing names: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return 0, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return s.pruneCount(ctx, keys)
}

// capRefs scopes the references one source of an item names to the item's
// org (see link.Ref.Scoped) and keeps, in the order written, those the item
// may track: at most report.MaxRefsPerItem in all its sources, those
// already tracked through another source costing nothing more. It returns
// them and how many it left out. One outsider's issue with two thousand
// links must not cost two thousand reads on every poll.
func capRefs(ctx context.Context, tx *sql.Tx, it Item, source string, named []link.Ref, orgScoped func(host string) bool) ([]link.Ref, int, error) {
	if len(named) == 0 {
		return nil, 0, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT ref_key FROM contribot_upstream_link WHERE repo = $1 AND number = $2 AND source <> $3`,
		it.Repo, it.Number, source)
	if err != nil {
		return nil, 0, fmt.Errorf("read links: %w", err)
	}
	others := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, 0, err
		}
		others[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	room := report.MaxRefsPerItem - len(others)
	seen := map[string]bool{}
	var kept []link.Ref
	excess := 0
	for _, r := range named {
		r = r.ScopedBy(it.Org(), orgScoped)
		k := r.Key()
		switch {
		case seen[k]:
		case others[k]:
			kept = append(kept, r)
		case room > 0:
			kept = append(kept, r)
			room--
		default:
			excess++
		}
		seen[k] = true
	}
	return kept, excess, nil
}

// setExcess records how many references a source names beyond the limit,
// and reports whether that changed.
func setExcess(ctx context.Context, tx *sql.Tx, repo string, number int, source string, n int) (bool, error) {
	var old int
	err := tx.QueryRowContext(ctx, `SELECT refs FROM contribot_upstream_excess WHERE repo = $1 AND number = $2 AND source = $3`, repo, number, source).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read the references over the limit: %w", err)
	}
	if old == n {
		return false, nil
	}
	if n == 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM contribot_upstream_excess WHERE repo = $1 AND number = $2 AND source = $3`, repo, number, source)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO contribot_upstream_excess (repo, number, source, refs) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repo, number, source) DO UPDATE SET refs = excluded.refs`, repo, number, source, n)
	}
	if err != nil {
		return false, fmt.Errorf("record the references over the limit: %w", err)
	}
	return true, nil
}

// ensureRefs adds references not seen before (unchecked), in key order,
// and fills in a project an earlier link left out.
func ensureRefs(ctx context.Context, tx *sql.Tx, refs []link.Ref) error {
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b link.Ref) int { return strings.Compare(a.Key(), b.Key()) })
	for _, r := range refs {
		k := r.Key()
		if _, err := tx.ExecContext(ctx, `INSERT INTO contribot_upstream_ref (key, provider, host, project, kind, number, url, scope)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING`,
			k, string(r.Provider), r.Host, r.Project, string(r.Kind), r.Number, r.URL, r.Scope); err != nil {
			return fmt.Errorf("write reference %s: %w", k, err)
		}
		if r.Project != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE contribot_upstream_ref SET project = $2, url = $3 WHERE key = $1 AND project = ''`, k, r.Project, r.URL); err != nil {
				return fmt.Errorf("write reference %s: %w", k, err)
			}
		}
	}
	return nil
}

// upsertItem writes an item's fields and reports whether any that the
// status comment or the reports show changed.
func upsertItem(ctx context.Context, tx *sql.Tx, it Item, tracked bool, now time.Time) (bool, error) {
	var old struct {
		title, modules string
		open, listed   bool
		tracked, show  bool
	}
	err := tx.QueryRowContext(ctx, `SELECT title, modules, open, listed, tracked, show_private FROM contribot_upstream_item WHERE repo = $1 AND number = $2`, it.Repo, it.Number).
		Scan(&old.title, &old.modules, &old.open, &old.listed, &old.tracked, &old.show)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read item: %w", err)
	}
	modules := joinList(it.Modules)
	_, err = tx.ExecContext(ctx, `INSERT INTO contribot_upstream_item
	(repo, number, installation, is_pr, title, url, author, open, private, listed, tracked, modules, labels, updated_at, show_private)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
	ON CONFLICT (repo, number) DO UPDATE SET installation = excluded.installation, is_pr = excluded.is_pr,
	title = excluded.title, url = excluded.url, author = excluded.author, open = excluded.open,
	private = excluded.private, listed = excluded.listed, tracked = excluded.tracked,
	modules = excluded.modules, labels = excluded.labels, updated_at = excluded.updated_at, show_private = excluded.show_private`,
		it.Repo, it.Number, it.Installation, it.PR, it.Title, it.URL, it.Author, it.Open, it.Private, it.Listed, tracked,
		modules, joinList(it.Labels), now.Unix(), it.ShowPrivate)
	if err != nil {
		return false, fmt.Errorf("write item: %w", err)
	}
	return !exists || old.title != it.Title || old.modules != modules || old.open != it.Open || old.listed != it.Listed ||
		old.tracked != tracked || old.show != it.ShowPrivate, nil
}

// setLinks replaces the references one source names; it returns whether
// that changed anything, and the keys of the references the source no
// longer names.
func setLinks(ctx context.Context, tx *sql.Tx, repo string, number int, source string, refs []link.Ref) (changed bool, removed []string, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT ref_key FROM contribot_upstream_link WHERE repo = $1 AND number = $2 AND source = $3`, repo, number, source)
	if err != nil {
		return false, nil, fmt.Errorf("read links: %w", err)
	}
	old := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return false, nil, err
		}
		old[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, nil, err
	}
	want := map[string]bool{}
	for _, r := range refs {
		k := r.Key()
		want[k] = true
		if old[k] {
			continue
		}
		// Another job may have added it since the read (both saw none).
		res, err := tx.ExecContext(ctx, `INSERT INTO contribot_upstream_link (repo, number, source, ref_key) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repo, number, source, ref_key) DO NOTHING`, repo, number, source, k)
		if err != nil {
			return false, nil, fmt.Errorf("write link %s: %w", k, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			changed = true
		}
	}
	for k := range old {
		if want[k] {
			continue
		}
		changed = true
		removed = append(removed, k)
		if _, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_link WHERE repo = $1 AND number = $2 AND source = $3 AND ref_key = $4`, repo, number, source, k); err != nil {
			return false, nil, fmt.Errorf("delete link %s: %w", k, err)
		}
	}
	return changed, removed, nil
}

// Item reads one stored item; nil if unknown.
func (s *Store) Item(ctx context.Context, repo string, number int) (*Saved, error) {
	var it Saved
	var modules, labels string
	err := s.DB.QueryRowContext(ctx, `SELECT repo, number, installation, is_pr, title, url, author, open, private, listed, tracked,
	modules, labels, comment_id, comment_hash, version, synced_version, show_private,
	(SELECT COALESCE(SUM(x.refs), 0) FROM contribot_upstream_excess x WHERE x.repo = i.repo AND x.number = i.number)
	FROM contribot_upstream_item i WHERE repo = $1 AND number = $2`, repo, number).
		Scan(&it.Repo, &it.Number, &it.Installation, &it.PR, &it.Title, &it.URL, &it.Author, &it.Open, &it.Private, &it.Listed, &it.Tracked,
			&modules, &labels, &it.CommentID, &it.CommentHash, &it.Version, &it.SyncedVersion, &it.ShowPrivate, &it.Untracked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s#%d: %w", repo, number, err)
	}
	it.Modules, it.Labels = splitList(modules), splitList(labels)
	return &it, nil
}

// SetCommentHash records an item's status comment and the hash of the
// text it shows, as soon as it is written.
func (s *Store) SetCommentHash(ctx context.Context, repo string, number int, commentID int64, hash string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE contribot_upstream_item SET comment_id = $3, comment_hash = $4 WHERE repo = $1 AND number = $2`,
		repo, number, commentID, hash)
	if err != nil {
		return fmt.Errorf("record the status comment of %s#%d: %w", repo, number, err)
	}
	return nil
}

// MarkSynced records that the item's status comment and labels show its
// state at version.
func (s *Store) MarkSynced(ctx context.Context, repo string, number int, version int64) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE contribot_upstream_item SET
	synced_version = CASE WHEN synced_version > $3 THEN synced_version ELSE $3 END WHERE repo = $1 AND number = $2`, repo, number, version)
	if err != nil {
		return fmt.Errorf("mark %s#%d synced: %w", repo, number, err)
	}
	return nil
}

// Synced records the comment, its hash and the version it shows, at once.
func (s *Store) Synced(ctx context.Context, repo string, number int, version, commentID int64, hash string) error {
	if err := s.SetCommentHash(ctx, repo, number, commentID, hash); err != nil {
		return err
	}
	return s.MarkSynced(ctx, repo, number, version)
}

// SetComment records the status comment found on an item (or NoComment),
// so that its first sync need not look for it; a known comment stays.
func (s *Store) SetComment(ctx context.Context, repo string, number int, id int64) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE contribot_upstream_item SET comment_id = $3 WHERE repo = $1 AND number = $2 AND comment_id <= 0`, repo, number, id)
	if err != nil {
		return fmt.Errorf("record the status comment of %s#%d: %w", repo, number, err)
	}
	return nil
}

// SetView records what the rules now say of an item's place in the
// reports; it reports whether that changed.
func (s *Store) SetView(ctx context.Context, repo string, number int, listed, showPrivate bool, modules []string) (bool, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE contribot_upstream_item SET listed = $3, modules = $4, show_private = $5, version = version + 1
	WHERE repo = $1 AND number = $2 AND (listed <> $3 OR modules <> $4 OR show_private <> $5)`, repo, number, listed, joinList(modules), showPrivate)
	if err != nil {
		return false, fmt.Errorf("update %s#%d: %w", repo, number, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetRepoVisibility records that a repository became private or public;
// listed says whether its items may appear on the reports now. It returns
// the items that changed, with their new versions.
func (s *Store) SetRepoVisibility(ctx context.Context, repo string, private, listed bool) ([]VersionedItem, error) {
	rows, err := s.DB.QueryContext(ctx, `UPDATE contribot_upstream_item SET private = $2, listed = $3, version = version + 1
	WHERE repo = $1 AND (private <> $2 OR listed <> $3) RETURNING repo, number, version, synced_version`, repo, private, listed)
	if err != nil {
		return nil, fmt.Errorf("update the items of %s: %w", repo, err)
	}
	defer rows.Close()
	var out []VersionedItem
	for rows.Next() {
		var v VersionedItem
		if err := rows.Scan(&v.Repo, &v.Number, &v.Version, &v.SyncedVersion); err != nil {
			return nil, fmt.Errorf("update the items of %s: %w", repo, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("update the items of %s: %w", repo, err)
	}
	slices.SortFunc(out, func(a, b VersionedItem) int { return a.Number - b.Number })
	return out, nil
}

// TrackingRepo is a repository with tracked items.
type TrackingRepo struct {
	Repo string // "owner/name"
	// Installation is that of its most recently updated item.
	Installation int64
	// SomePrivate, SomePublic: whether some of its items are stored as in
	// a private, or a public, repository.
	SomePrivate, SomePublic bool
}

// TrackingRepos lists the repositories that have tracked items, for the
// full poll's check of their visibility.
func (s *Store) TrackingRepos(ctx context.Context) ([]TrackingRepo, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT repo, installation, private FROM contribot_upstream_item WHERE tracked
	ORDER BY repo, updated_at DESC, number`)
	if err != nil {
		return nil, fmt.Errorf("list the repositories with tracked items: %w", err)
	}
	defer rows.Close()
	var out []TrackingRepo
	for rows.Next() {
		var r TrackingRepo
		var private bool
		if err := rows.Scan(&r.Repo, &r.Installation, &private); err != nil {
			return nil, fmt.Errorf("list the repositories with tracked items: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Repo != r.Repo {
			out = append(out, r)
		}
		last := &out[len(out)-1]
		last.SomePrivate, last.SomePublic = last.SomePrivate || private, last.SomePublic || !private
	}
	return out, rows.Err()
}

// HideReadsOf marks what was read from GitHub repository repo ("owner/
// name") as private, for every org, when the repository becomes private:
// the reports and public items' comments drop it at once, and each org's
// next poll reads it again with its own installation (an org that may not
// see it gets 404). It returns the tracked items whose status changes,
// their versions bumped.
func (s *Store) HideReadsOf(ctx context.Context, repo string) ([]ItemKey, error) {
	fail := func(err error) ([]ItemKey, error) {
		return nil, fmt.Errorf("hide what was read from %s: %w", repo, err)
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// The repository as the links name it, or as GitHub answered for them:
	// a link may use a name the repository had before a rename.
	rows, err := tx.QueryContext(ctx, `UPDATE contribot_upstream_ref SET private = TRUE
	WHERE provider = $1 AND (lower(project) = lower($2) OR lower(resolved) = lower($2)) AND NOT private RETURNING key`, string(link.GitHub), repo)
	if err != nil {
		return fail(err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return fail(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	sort.Strings(keys)
	items, err := bumpLinking(ctx, tx, keys)
	if err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return items, nil
}

// ForgetRepo removes the items of a deleted repository, and the references
// only they named.
func (s *Store) ForgetRepo(ctx context.Context, repo string) (int64, error) {
	fail := func(err error) (int64, error) { return 0, fmt.Errorf("forget the items of %s: %w", repo, err) }
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	unlinked, err := forgetLinks(ctx, tx, `repo = $1`, repo)
	if err != nil {
		return fail(err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_item WHERE repo = $1`, repo)
	if err != nil {
		return fail(err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	if err := s.prune(ctx, unlinked); err != nil {
		return n, fmt.Errorf("forget the items of %s: %w", repo, err)
	}
	return n, nil
}

// SetLabels records the labels an item now carries, after contribot
// changed them.
func (s *Store) SetLabels(ctx context.Context, repo string, number int, labels []string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE contribot_upstream_item SET labels = $3 WHERE repo = $1 AND number = $2`, repo, number, joinList(labels))
	if err != nil {
		return fmt.Errorf("record the labels of %s#%d: %w", repo, number, err)
	}
	return nil
}

// refColumns are the columns references are read with, for scanRef.
const refColumns = `r.key, r.provider, r.host, r.project, r.kind, r.number, r.url, r.state, r.raw_state, r.title, r.last_activity, r.last_checked, r.check_error, r.failing_since, r.private`

// scanRef reads refColumns, then more; private says the reference was read
// from a repository that is not public.
func scanRef(sc interface{ Scan(...any) error }, more ...any) (r report.Reference, private bool, err error) {
	var state string
	var activity, checked, failing int64
	err = sc.Scan(append([]any{&r.Key, &r.Provider, &r.Host, &r.Project, &r.Kind, &r.Number, &r.URL, &state, &r.RawState, &r.Title, &activity, &checked, &r.CheckError, &failing, &private}, more...)...)
	r.State = provider.State(state)
	r.LastActivity, r.LastChecked, r.CheckFailedSince = unix(activity), unix(checked), unix(failing)
	return r, private, err
}

// notFoundRaw is the raw state the GitHub provider stores for an item that
// does not exist, or that the installation may not see.
const notFoundRaw = "not found (404)"

// redact leaves of a reference read from a repository that is not public
// only what anyone may see: its link, which the tracking item shows anyway,
// and the state GitHub gives someone who may not see it: not found. Its
// title, state and dates are the tracking org's private data, and anything
// that set it apart from a link to nothing would tell the world that the
// private item exists. When it was last checked, and whether that check
// failed, are the same for both, and stay.
func redact(r report.Reference) report.Reference {
	r.State, r.RawState, r.Title, r.LastActivity = provider.Unavailable, notFoundRaw, "", time.Time{}
	return r
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// ItemReferences lists the references an item names, without trackers, as
// its status comment and labels may show them: what was read from a
// private repository only on an item that is itself private (in that
// org's private repository), else redacted.
func (s *Store) ItemReferences(ctx context.Context, repo string, number int) ([]report.Reference, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT `+refColumns+`, i.private FROM contribot_upstream_ref r
	JOIN contribot_upstream_link l ON l.ref_key = r.key
	JOIN contribot_upstream_item i ON i.repo = l.repo AND i.number = l.number
	WHERE l.repo = $1 AND l.number = $2 ORDER BY r.key`, repo, number)
	if err != nil {
		return nil, fmt.Errorf("list references of %s#%d: %w", repo, number, err)
	}
	defer rows.Close()
	var out []report.Reference
	for rows.Next() {
		var itemPrivate bool
		r, private, err := scanRef(rows, &itemPrivate)
		if err != nil {
			return nil, fmt.Errorf("list references of %s#%d: %w", repo, number, err)
		}
		if private && !itemPrivate {
			r = redact(r)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// References lists every reference that a listed tracking item names, with
// those items as its trackers; org "" means all orgs. Items the rules keep
// off the public reports (Listed false) appear neither as trackers nor
// through the references only they name. What was read from a private
// repository is redacted unless every tracker's org allows private data on
// the reports (upstream.show_private): the dashboard may be public, or
// become so with its edit history, and the page is.
func (s *Store) References(ctx context.Context, org string) ([]report.Reference, error) {
	q := `SELECT ` + refColumns + `, i.repo, i.number, i.title, i.url, i.is_pr, i.open, i.private, i.modules, i.show_private
	FROM contribot_upstream_ref r JOIN contribot_upstream_link l ON l.ref_key = r.key
	JOIN contribot_upstream_item i ON i.repo = l.repo AND i.number = l.number
	WHERE i.listed AND i.tracked`
	args := []any{}
	if org != "" {
		q += ` AND substr(i.repo, 1, $2) = $1`
		args = append(args, org+"/", len(org)+1)
	}
	q += ` ORDER BY r.key, i.repo, i.number`
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list upstream references: %w", err)
	}
	defer rows.Close()
	var out []report.Reference
	var private, shown []bool
	for rows.Next() {
		var t report.Tracker
		var modules string
		var show bool
		r, priv, err := scanRef(rows, &t.Repo, &t.Number, &t.Title, &t.URL, &t.PR, &t.Open, &t.Private, &modules, &show)
		if err != nil {
			return nil, fmt.Errorf("list upstream references: %w", err)
		}
		t.Modules = splitList(modules)
		if n := len(out); n > 0 && out[n-1].Key == r.Key {
			shown[n-1] = shown[n-1] && show
			// Two links from one item (body and a comment) are one tracker.
			if last := out[n-1].Trackers[len(out[n-1].Trackers)-1]; last.Repo != t.Repo || last.Number != t.Number {
				out[n-1].Trackers = append(out[n-1].Trackers, t)
			}
			continue
		}
		r.Trackers = []report.Tracker{t}
		out = append(out, r)
		private, shown = append(private, priv), append(shown, show)
	}
	for i := range out {
		if private[i] && !shown[i] {
			out[i] = redact(out[i])
		}
	}
	return out, rows.Err()
}

// Budget bounds what one org's references cost in one window of time, so
// that one org's items (and any GitHub user who writes in its public
// repositories) cannot spend the service's quota and time for the others.
// Every poll that window charges the same budget: the periodic one, those
// each new reference schedules, another replica's; what they spent is in
// the database. Zero fields take the defaults.
type Budget struct {
	// GitHub is how many requests one org's installation makes in one
	// window: one per reference, and one per repository and poll for its
	// visibility.
	GitHub int
	// Host is how many requests one org's references cost each other
	// upstream host (a Gerrit, a GitLab, Launchpad) in one window: a
	// Gerrit request reads GerritBatch changes, the others one item.
	Host        int
	GerritBatch int
	// Max bounds the references one poll checks, all orgs together.
	Max int
	// Window is how long a budget lasts, from the first request charged
	// to it. The handler makes it nine tenths of its poll interval, so
	// that the next periodic poll, jittered by up to a tenth, always finds
	// a fresh one.
	Window time.Duration
}

// Budget defaults: a poll an hour stays well inside an installation's
// 5,000 requests an hour (unchanged items answer 304 and cost GitHub
// quota nothing), and 1,000 requests paced at UPSTREAM_RATE (2 a second)
// take a host about eight minutes.
const (
	DefaultGitHubBudget = 1500
	DefaultHostBudget   = 1000
	DefaultBudgetWindow = 54 * time.Minute
	// MaxPoll bounds the references one poll checks; the rest wait for the
	// next, oldest first.
	MaxPoll = 20000
)

func (b Budget) withDefaults() Budget {
	if b.GitHub <= 0 {
		b.GitHub = DefaultGitHubBudget
	}
	if b.Host <= 0 {
		b.Host = DefaultHostBudget
	}
	if b.GerritBatch <= 0 {
		b.GerritBatch = provider.DefaultGerritBatch
	}
	if b.Max <= 0 {
		b.Max = MaxPoll
	}
	if b.Window <= 0 {
		b.Window = DefaultBudgetWindow
	}
	return b
}

// Claim is a reference claimed for a check.
type Claim struct {
	Ref link.Ref
	// Org is the org (lower case) whose budget pays for the check; for a
	// GitHub reference, the one whose installation reads it.
	Org string
	// Items are the tracked items that name it, for the log.
	Items []ItemKey
}

// Deferred counts the references of one org and provider that were due
// but wait for a later poll, because the org's budget for them ran out.
type Deferred struct {
	Org, Provider string
	Refs          int
}

// bucket is one org's budget for one provider group (provider.GroupKey).
type bucket struct{ org, group string }

// spending is what the orgs have spent in their current windows, with
// what this poll charges them.
type spending struct {
	b Budget
	// reads are the requests spent, counted from start.
	reads map[bucket]int
	start map[bucket]int64
	// counts are the references this poll charged, for Gerrit's batches.
	counts map[bucket]int
	repos  map[string]bool // org + " " + GitHub repository whose visibility this poll pays for
}

// loadSpending reads what the orgs spent in windows still open at now.
func loadSpending(ctx context.Context, tx *sql.Tx, b Budget, now time.Time) (*spending, error) {
	s := &spending{b: b, reads: map[bucket]int{}, start: map[bucket]int64{}, counts: map[bucket]int{}, repos: map[string]bool{}}
	rows, err := tx.QueryContext(ctx, `SELECT org, bucket, window_start, spent FROM contribot_upstream_budget WHERE window_start > $1`,
		now.Add(-b.Window).Unix())
	if err != nil {
		return nil, fmt.Errorf("read the orgs' budgets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k bucket
		var start int64
		var spent int
		if err := rows.Scan(&k.org, &k.group, &start, &spent); err != nil {
			return nil, fmt.Errorf("read the orgs' budgets: %w", err)
		}
		s.reads[k], s.start[k] = spent, start
	}
	return s, rows.Err()
}

// charge books one reference to org if the org's budget for its host
// allows, and reports whether it did.
func (s *spending) charge(org string, r link.Ref) bool {
	k := bucket{org, provider.GroupKey(r)}
	limit, cost, repo := s.b.Host, 1, ""
	switch r.Provider {
	case link.GitHub:
		limit, repo = s.b.GitHub, org+" "+strings.ToLower(r.Project)
		if !s.repos[repo] {
			cost++
		}
	case link.Gerrit:
		if s.counts[k]%s.b.GerritBatch != 0 {
			cost = 0 // rides in a batch already paid for
		}
	}
	if s.reads[k]+cost > limit {
		return false
	}
	if repo != "" {
		s.repos[repo] = true
	}
	s.reads[k] += cost
	s.counts[k]++
	return true
}

// save books what this poll charged, each in its org's open window or in
// one that opens now, and drops windows that have closed.
func (s *spending) save(ctx context.Context, tx *sql.Tx, now time.Time) error {
	keys := slices.Collect(maps.Keys(s.counts))
	slices.SortFunc(keys, func(a, b bucket) int { return strings.Compare(a.org+" "+a.group, b.org+" "+b.group) })
	for _, k := range keys {
		start, ok := s.start[k]
		if !ok {
			start = now.Unix()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO contribot_upstream_budget (org, bucket, window_start, spent) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org, bucket) DO UPDATE SET window_start = excluded.window_start, spent = excluded.spent`, k.org, k.group, start, s.reads[k]); err != nil {
			return fmt.Errorf("book the budget of %s for %s: %w", k.org, k.group, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM contribot_upstream_budget WHERE window_start <= $1`, now.Add(-s.b.Window).Unix()); err != nil {
		return fmt.Errorf("drop closed budget windows: %w", err)
	}
	return nil
}

// Due claims the tracked references not tried since before that the orgs'
// budgets allow, never-checked and least recently tried first, and marks
// them tried at now, so that polls running side by side (the periodic
// one, one for a new item's references, another replica's) do not check
// the same references twice. What a budget leaves out keeps its place at
// the front for the next poll. A reference only untracked items name is
// not polled; a failing one waits like the others, so an outage is not
// hammered.
//
// The claim and the booking of its cost are one transaction, and on
// PostgreSQL polls claim one at a time (an advisory lock), so that two
// polls never both spend what an org has left.
//
// A reference several orgs' items name (a Gerrit change) is charged to one
// of them; a GitHub one belongs to one org, whose installation reads it.
func (s *Store) Due(ctx context.Context, before, now time.Time, b Budget) ([]Claim, []Deferred, error) {
	fail := func(err error) ([]Claim, []Deferred, error) {
		return nil, nil, fmt.Errorf("claim references due for a check: %w", err)
	}
	b = b.withDefaults()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := s.advisory(ctx, tx, lockBudget, "due"); err != nil {
		return fail(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.key, r.provider, r.host, r.project, r.kind, r.number, r.url, r.scope, l.repo, l.number
	FROM contribot_upstream_ref r JOIN contribot_upstream_link l ON l.ref_key = r.key
	JOIN contribot_upstream_item i ON i.repo = l.repo AND i.number = l.number
	WHERE i.tracked AND r.provider <> $1 AND r.attempted_at < $2
	ORDER BY r.attempted_at, r.key, l.repo, l.number`, string(link.Other), before.Unix())
	if err != nil {
		return fail(err)
	}
	var due []Claim
	for rows.Next() {
		var r link.Ref
		var key, prov, kind string
		var item ItemKey
		if err := rows.Scan(&key, &prov, &r.Host, &r.Project, &kind, &r.Number, &r.URL, &r.Scope, &item.Repo, &item.Number); err != nil {
			rows.Close()
			return fail(err)
		}
		r.Provider, r.Kind = link.Provider(prov), link.Kind(kind)
		if n := len(due); n > 0 && due[n-1].Ref.Key() == key {
			due[n-1].Items = append(due[n-1].Items, item)
			continue
		}
		due = append(due, Claim{Ref: r, Items: []ItemKey{item}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}

	spent, err := loadSpending(ctx, tx, b, now)
	if err != nil {
		return fail(err)
	}
	deferred := map[[2]string]int{}
	var chosen []Claim
	for _, c := range due {
		if len(chosen) >= b.Max {
			break
		}
		var orgs []string
		if c.Ref.Provider == link.GitHub {
			orgs = []string{c.Ref.Scope}
		} else {
			for _, it := range c.Items {
				org, _, _ := strings.Cut(it.Repo, "/")
				orgs = append(orgs, strings.ToLower(org))
			}
			slices.Sort(orgs)
			orgs = slices.Compact(orgs)
		}
		paid := false
		for _, org := range orgs {
			if spent.charge(org, c.Ref) {
				c.Org, paid = org, true
				break
			}
		}
		if !paid {
			deferred[[2]string{orgs[0], string(c.Ref.Provider)}]++
			continue
		}
		chosen = append(chosen, c)
	}

	// One statement a chunk claims; the transaction (and on PostgreSQL the
	// lock) keeps other polls off them meanwhile.
	claimed := map[string]bool{}
	const chunk = 200
	for start := 0; start < len(chosen); start += chunk {
		part := chosen[start:min(start+chunk, len(chosen))]
		args := []any{now.Unix(), before.Unix()}
		ph := make([]string, len(part))
		for i, c := range part {
			args = append(args, c.Ref.Key())
			ph[i] = fmt.Sprintf("$%d", i+3)
		}
		rows, err := tx.QueryContext(ctx, `UPDATE contribot_upstream_ref SET attempted_at = $1
		WHERE attempted_at < $2 AND key IN (`+strings.Join(ph, ", ")+`) RETURNING key`, args...)
		if err != nil {
			return fail(err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return fail(err)
			}
			claimed[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fail(err)
		}
	}
	if err := spent.save(ctx, tx, now); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	out := slices.DeleteFunc(chosen, func(c Claim) bool { return !claimed[c.Ref.Key()] })
	slices.SortFunc(out, func(a, b Claim) int { return strings.Compare(a.Ref.Key(), b.Ref.Key()) })
	var left []Deferred
	for k, n := range deferred {
		left = append(left, Deferred{Org: k[0], Provider: k[1], Refs: n})
	}
	slices.SortFunc(left, func(a, b Deferred) int { return strings.Compare(a.Org+" "+a.Provider, b.Org+" "+b.Provider) })
	return out, left, nil
}

// Failing counts references whose last check failed, by provider.
func (s *Store) Failing(ctx context.Context) (map[string]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT provider, count(*) FROM contribot_upstream_ref WHERE check_error <> '' GROUP BY provider`)
	if err != nil {
		return nil, fmt.Errorf("count failing references: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}

// Unclaim hands references back to the next poll, when this one could not
// save what it checked.
func (s *Store) Unclaim(ctx context.Context, refs []link.Ref) error {
	for _, r := range refs {
		if _, err := s.DB.ExecContext(ctx, `UPDATE contribot_upstream_ref SET attempted_at = 0 WHERE key = $1`, r.Key()); err != nil {
			return fmt.Errorf("hand back reference %s: %w", r.Key(), err)
		}
	}
	return nil
}

// Bounds of what Save stores of an upstream answer. Any host a maintainer
// names in the rules may answer what it likes, and titles and raw states
// go on every public page view, comment and dashboard: the providers cut
// them to these lengths, and Save cuts again, whatever a provider did.
const (
	MaxTitleRunes = 512
	MaxRawRunes   = 64
	maxRepoRunes  = 256 // GitHub's owner (39) and name (100) are shorter
)

// clip cuts s to at most n runes, the last an ellipsis when it cut, and
// makes it text either database stores: valid UTF-8, without NUL, which
// PostgreSQL refuses in TEXT (a JSON "\u0000" in a subject would
// otherwise fail every save of the poll).
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// Save records check results in one transaction and returns the items
// whose status may show something new: those naming a reference whose
// state, title or activity changed, or which started or stopped failing.
// Their versions are bumped in the same transaction.
func (s *Store) Save(ctx context.Context, results map[string]provider.Result) ([]ItemKey, error) {
	now := s.now().Unix()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("save upstream states: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a fixed lock order, for PostgreSQL replicas
	var changed []string
	for _, k := range keys {
		res := results[k]
		var state, raw, title, checkErr string
		var activity, failing int64
		var private bool
		err := tx.QueryRowContext(ctx, `SELECT state, raw_state, title, last_activity, check_error, failing_since, private FROM contribot_upstream_ref WHERE key = $1`, k).
			Scan(&state, &raw, &title, &activity, &checkErr, &failing, &private)
		if errors.Is(err, sql.ErrNoRows) {
			continue // untracked since the poll began
		}
		if err != nil {
			return nil, fmt.Errorf("save upstream state of %s: %w", k, err)
		}
		if res.Err != nil {
			// The last known state and its last_checked stay; the failure
			// is shown from when it began, in words fit for the public
			// page (the whole error goes to the log).
			if failing == 0 {
				failing = now
				changed = append(changed, k)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE contribot_upstream_ref SET check_error = $2, failing_since = $3 WHERE key = $1`,
				k, provider.PublicText(res.Err), failing); err != nil {
				return nil, fmt.Errorf("save upstream state of %s: %w", k, err)
			}
			continue
		}
		st := res.Status
		st.Title, st.Raw = clip(st.Title, MaxTitleRunes), clip(st.Raw, MaxRawRunes)
		act := int64(0)
		if !st.LastActivity.IsZero() {
			act = st.LastActivity.Unix()
		}
		if string(st.State) != state || st.Raw != raw || st.Title != title || act != activity || failing != 0 || st.Private != private {
			changed = append(changed, k)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contribot_upstream_ref SET state = $2, raw_state = $3, title = $4, last_activity = $5,
		last_checked = $6, check_error = '', failing_since = 0, private = $7, resolved = $8 WHERE key = $1`,
			k, string(st.State), st.Raw, st.Title, act, now, st.Private, clip(st.Repo, maxRepoRunes)); err != nil {
			return nil, fmt.Errorf("save upstream state of %s: %w", k, err)
		}
	}
	items, err := bumpLinking(ctx, tx, changed)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("save upstream states: %w", err)
	}
	return items, nil
}

// ItemKey names a tracking item.
type ItemKey struct {
	Repo   string
	Number int
}

func (k ItemKey) String() string { return fmt.Sprintf("%s#%d", k.Repo, k.Number) }

// syncKey names a sync of the item at one version: a change makes a new
// version and so a new task, never one absorbed by a sync that already
// read the old state (River may report a finished job as running until its
// completer catches up).
func syncKey(k ItemKey, version int64) string { return fmt.Sprintf("%s@%d", k, version) }

// bumpLinking bumps the version of every tracked item naming one of keys,
// and lists them.
func bumpLinking(ctx context.Context, tx *sql.Tx, keys []string) ([]ItemKey, error) {
	seen := map[ItemKey]bool{}
	var out []ItemKey
	const chunk = 200
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		ph := make([]string, len(part))
		args := make([]any, len(part))
		for i, k := range part {
			ph[i] = fmt.Sprintf("$%d", i+1)
			args[i] = k
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT l.repo, l.number FROM contribot_upstream_link l
		JOIN contribot_upstream_item i ON i.repo = l.repo AND i.number = l.number
		WHERE i.tracked AND l.ref_key IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find items naming changed references: %w", err)
		}
		for rows.Next() {
			var k ItemKey
			if err := rows.Scan(&k.Repo, &k.Number); err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	for _, k := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE contribot_upstream_item SET version = version + 1 WHERE repo = $1 AND number = $2`, k.Repo, k.Number); err != nil {
			return nil, fmt.Errorf("mark %s changed: %w", k, err)
		}
	}
	return out, nil
}

// TrackedItems lists every tracked item, or an org's, with its version.
func (s *Store) TrackedItems(ctx context.Context, org string) ([]VersionedItem, error) {
	q := `SELECT repo, number, version, synced_version FROM contribot_upstream_item WHERE tracked`
	var args []any
	if org != "" {
		q += ` AND substr(repo, 1, $2) = $1`
		args = append(args, org+"/", len(org)+1)
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY repo, number`, args...)
	if err != nil {
		return nil, fmt.Errorf("list tracked items: %w", err)
	}
	defer rows.Close()
	var out []VersionedItem
	for rows.Next() {
		var k VersionedItem
		if err := rows.Scan(&k.Repo, &k.Number, &k.Version, &k.SyncedVersion); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// VersionedItem is an item key with the item's version.
type VersionedItem struct {
	ItemKey
	Version, SyncedVersion int64
}

// Installation is the installation of org (any case) that its GitHub
// references are read with: that of its most recently updated item, as
// for its dashboard; 0 if the org has no items.
func (s *Store) Installation(ctx context.Context, org string) (int64, error) {
	var inst int64
	prefix := strings.ToLower(org) + "/"
	err := s.DB.QueryRowContext(ctx, `SELECT installation FROM contribot_upstream_item WHERE lower(substr(repo, 1, $2)) = $1
	ORDER BY updated_at DESC, repo, number LIMIT 1`, prefix, len(prefix)).Scan(&inst)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find the installation of %s: %w", org, err)
	}
	return inst, nil
}

// Orgs lists the orgs with items, tracked or once tracked (a dashboard
// must empty when its last item goes), and for each the installation of
// its most recently updated item, which its dashboard is written with.
func (s *Store) Orgs(ctx context.Context) (map[string]int64, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT repo, installation FROM contribot_upstream_item ORDER BY updated_at`)
	if err != nil {
		return nil, fmt.Errorf("list orgs with upstream work: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var repo string
		var inst int64
		if err := rows.Scan(&repo, &inst); err != nil {
			return nil, err
		}
		org, _, _ := strings.Cut(repo, "/")
		out[org] = inst
	}
	return out, rows.Err()
}

// Lock takes a named lease until ttl from now, unless someone else holds
// it: syncs of one item, or rebuilds of one org's dashboard, must not run
// side by side on several workers or replicas, or both would post. The
// lease ends by itself if its holder dies. It returns the holder's token
// for Unlock, or "" when the lease is taken. Leases use the wall clock;
// replicas' clocks must agree within the ttl's margin over a job's run.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (string, error) {
	now := time.Now()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("lock %s: %w", name, err)
	}
	token := hex.EncodeToString(b[:])
	res, err := s.DB.ExecContext(ctx, `INSERT INTO contribot_upstream_lock (name, owner, until_unix) VALUES ($1, $2, $3)
	ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_unix = excluded.until_unix WHERE contribot_upstream_lock.until_unix < $4`,
		name, token, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return "", fmt.Errorf("lock %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", fmt.Errorf("lock %s: %w", name, err)
	}
	if n != 1 {
		return "", nil
	}
	return token, nil
}

// Unlock ends a lease taken with Lock, if the token still holds it: a
// holder that outlived its lease must not end its successor's.
func (s *Store) Unlock(ctx context.Context, name, token string) error {
	if _, err := s.DB.ExecContext(ctx, `UPDATE contribot_upstream_lock SET until_unix = 0 WHERE name = $1 AND owner = $2`, name, token); err != nil {
		return fmt.Errorf("unlock %s: %w", name, err)
	}
	return nil
}

// Dashboard is where an org's dashboard issue is and what it last said.
type Dashboard struct {
	Repo     string
	Number   int
	BodyHash string
}

// Dashboard reads an org's dashboard record; the zero value if none.
func (s *Store) Dashboard(ctx context.Context, org string) (Dashboard, error) {
	var d Dashboard
	err := s.DB.QueryRowContext(ctx, `SELECT repo, issue_number, body_hash FROM contribot_upstream_dashboard WHERE org = $1`, org).Scan(&d.Repo, &d.Number, &d.BodyHash)
	if errors.Is(err, sql.ErrNoRows) {
		return Dashboard{}, nil
	}
	if err != nil {
		return Dashboard{}, fmt.Errorf("read the dashboard record of %s: %w", org, err)
	}
	return d, nil
}

// SetDashboard records an org's dashboard issue and its text's hash.
func (s *Store) SetDashboard(ctx context.Context, org string, d Dashboard) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO contribot_upstream_dashboard (org, repo, issue_number, body_hash, updated_at)
	VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org) DO UPDATE SET repo = excluded.repo, issue_number = excluded.issue_number,
	body_hash = excluded.body_hash, updated_at = excluded.updated_at`, org, d.Repo, d.Number, d.BodyHash, s.now().Unix())
	if err != nil {
		return fmt.Errorf("record the dashboard of %s: %w", org, err)
	}
	return nil
}
