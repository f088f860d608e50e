package labels

import (
	"context"
	"database/sql"
	"maps"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
)

// openStores gives a store on each database contribot runs on. The
// PostgreSQL one is skipped, with the reason, when no server is reachable.
func openStores(t *testing.T) map[string]func(t *testing.T) *sql.DB {
	return map[string]func(t *testing.T) *sql.DB{
		"sqlite": func(t *testing.T) *sql.DB {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "state.db")+"?_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			return db
		},
		"postgres": func(t *testing.T) *sql.DB {
			db, err := sql.Open("pgx", dbtest.FreshPostgres(t))
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
}

func TestStore(t *testing.T) {
	for backend, open := range openStores(t) {
		t.Run(backend, func(t *testing.T) {
			db := open(t)
			t.Cleanup(func() { db.Close() })
			ctx := context.Background()
			for _, stmt := range append(Schema, Schema...) { // twice: idempotent
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Unix(1_800_000_000, 0)
			s := &Store{DB: db, Now: func() time.Time { return now }}
			pr := PR{RepoID: 42, Number: 7}
			other := PR{RepoID: 42, Number: 8}
			check := func(step, fp string, wantAdded, wantRemoved map[string]string) {
				t.Helper()
				added, removed, err := s.Changes(ctx, pr, fp)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(added, wantAdded) || !maps.Equal(removed, wantRemoved) {
					t.Errorf("%s: added %v removed %v, want added %v removed %v", step, added, removed, wantAdded, wantRemoved)
				}
			}
			none := map[string]string{}

			check("nothing recorded", "fp1", none, none)
			// Removed before contribot decided anything: binds to the next decision's files.
			must(t, s.Record(ctx, pr, Change{Label: "Area/Storage", By: "bob"}))
			check("removal binds to the files of the next decision", "fp1", none, map[string]string{"area/storage": "bob"})
			check("same files: still held back", "fp1", none, map[string]string{"area/storage": "bob"})
			check("other files: released", "fp2", none, none)

			must(t, s.Decided(ctx, pr, "fp2"))
			must(t, s.Record(ctx, pr, Change{Label: "IaaS", By: "carol"}))
			must(t, s.Record(ctx, pr, Change{Label: "e2e-test", Added: true, By: "zuul[bot]"}))
			check("removal under fp2", "fp2", map[string]string{"e2e-test": "zuul[bot]"}, map[string]string{"iaas": "carol"})
			check("files changed again", "fp3", map[string]string{"e2e-test": "zuul[bot]"}, none)

			// The last change of a label wins: re-adding ends a removal.
			must(t, s.Record(ctx, pr, Change{Label: "iaas", Added: true, By: "carol"}))
			check("re-added", "fp2", map[string]string{"e2e-test": "zuul[bot]", "iaas": "carol"}, none)

			// Another PR's history is its own.
			a, r, err := s.Changes(ctx, other, "fp2")
			if err != nil || len(a)+len(r) != 0 {
				t.Errorf("other PR sees %v %v (%v)", a, r, err)
			}

			now = now.Add(100 * 24 * time.Hour)
			must(t, s.Prune(ctx, now.Add(-90*24*time.Hour)))
			check("pruned", "fp2", none, none)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
