package upstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// schemaBefore is upstream.Schema as released before references were kept
// per org (commit 8d6e41a), for the migration test.
var schemaBefore = []string{
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
	failing_since BIGINT NOT NULL DEFAULT 0
)`,
	`CREATE TABLE IF NOT EXISTS contribot_upstream_link (
	repo TEXT NOT NULL,
	number INTEGER NOT NULL,
	source TEXT NOT NULL,
	ref_key TEXT NOT NULL,
	PRIMARY KEY (repo, number, source, ref_key)
)`,
	`CREATE INDEX IF NOT EXISTS contribot_upstream_link_ref ON contribot_upstream_link (ref_key)`,
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
}

// TestMigrate_GitHubStatesReadWithAnyInstallationAreDropped: a database
// from before holds a GitHub reference read once for all orgs, with
// whichever installation the poll took (maybe another org's, and its
// private title). Migrate adds the new columns and gives the linking
// item's org its own copy, unchecked, dropping what was read; the other
// providers' references keep their state. Running it again changes nothing.
func TestMigrate_GitHubStatesReadWithAnyInstallationAreDropped(t *testing.T) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/c.db" }},
		{"postgres", dbtest.FreshPostgres},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			url := b.url(t)
			old, err := queue.Open(ctx, url, queue.Options{NoWork: true, Schema: schemaBefore})
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				`INSERT INTO contribot_upstream_item (repo, number, installation, is_pr, title, url, author, open, private, listed, tracked, modules, labels, updated_at)
				VALUES ('A/public', 20, 7, FALSE, 'Outsider', 'https://github.com/A/public/issues/20', 'mallory', TRUE, FALSE, TRUE, TRUE, '', '', 1)`,
				`INSERT INTO contribot_upstream_ref (key, provider, host, project, kind, number, url, state, title, last_checked)
				VALUES ('github:github.com:b/vault:issue:7', 'github', 'github.com', 'B/vault', 'issue', 7, 'https://github.com/B/vault/issues/7', 'open', 'SECRET-TITLE', 100)`,
				`INSERT INTO contribot_upstream_ref (key, provider, host, project, kind, number, url, state, title, last_checked)
				VALUES ('gerrit:review.opendev.org:1', 'gerrit', 'review.opendev.org', 'openstack/nova', 'change', 1, 'https://review.opendev.org/c/openstack/nova/+/1', 'merged', 'Fix', 100)`,
				`INSERT INTO contribot_upstream_link (repo, number, source, ref_key) VALUES ('A/public', 20, 'body', 'github:github.com:b/vault:issue:7')`,
				`INSERT INTO contribot_upstream_link (repo, number, source, ref_key) VALUES ('A/public', 20, 'body', 'gerrit:review.opendev.org:1')`,
			} {
				if _, err := old.DB().ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			if err := old.Stop(ctx); err != nil {
				t.Fatal(err)
			}

			// The next start: Schema's statements, then Migrate, twice.
			q, err := queue.Open(ctx, url, queue.Options{NoWork: true, Schema: upstream.Schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			s := &upstream.Store{DB: q.DB()}
			var before int64
			if err := q.DB().QueryRowContext(ctx, `SELECT version FROM contribot_upstream_item`).Scan(&before); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			}
			refs, err := s.ItemReferences(ctx, "A/public", 20)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range refs {
				got[r.Key] = string(r.State) + "|" + r.Title
			}
			scoped := link.Ref{Provider: link.GitHub, Host: "github.com", Project: "B/vault", Kind: link.Issue, Number: 7}.Scoped("A").Key()
			want := map[string]string{scoped: "|", "gerrit:review.opendev.org:1": "merged|Fix"}
			if len(got) != len(want) || got[scoped] != want[scoped] || got["gerrit:review.opendev.org:1"] != want["gerrit:review.opendev.org:1"] {
				t.Errorf("references after the migration %v, want %v", got, want)
			}
			var n int
			if err := q.DB().QueryRowContext(ctx, `SELECT count(*) FROM contribot_upstream_ref WHERE title = 'SECRET-TITLE'`).Scan(&n); err != nil || n != 0 {
				t.Errorf("%d rows still hold what another installation read (%v)", n, err)
			}
			after, err := s.Item(ctx, "A/public", 20)
			if err != nil || after.Version != before+1 {
				t.Fatalf("version %d → %+v (%v), want one bump so the status comment is rewritten", before, after, err)
			}
			// The new columns work: the moved reference is due for A, and
			// a private read is saved.
			now := time.Now()
			due, _, err := s.Due(ctx, now, now, upstream.Budget{})
			if err != nil || len(due) != 2 {
				t.Fatalf("due after the migration: %+v (%v), want both references", due, err)
			}
			for _, c := range due {
				if c.Ref.Provider == link.GitHub && (c.Ref.Key() != scoped || c.Org != "a") {
					t.Errorf("the GitHub reference is due as %s for %q, want %s for a", c.Ref.Key(), c.Org, scoped)
				}
			}
			if _, err := s.Save(ctx, map[string]provider.Result{scoped: {Status: provider.Status{State: provider.Open, Title: "x", Private: true}}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
