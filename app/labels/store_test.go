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
			check := func(step, fp string, wantAdded, wantRemoved map[string]string, wantOurs ...string) {
				t.Helper()
				st, err := s.State(ctx, pr, fp)
				if err != nil {
					t.Fatal(err)
				}
				ours := map[string]bool{}
				for _, l := range wantOurs {
					ours[l] = true
				}
				if !maps.Equal(st.AddedBy, wantAdded) || !maps.Equal(st.RemovedBy, wantRemoved) || !maps.Equal(st.Ours, ours) {
					t.Errorf("%s: added %v removed %v ours %v, want added %v removed %v ours %v", step, st.AddedBy, st.RemovedBy, st.Ours, wantAdded, wantRemoved, ours)
				}
			}
			none := map[string]string{}

			check("nothing recorded", "fp1", none, none)
			// Removed before contribot decided anything: binds to the next decision's files.
			must(t, s.Record(ctx, pr, Change{Label: "Area/Storage", By: "bob"}))
			check("removal binds to the files of the next decision", "fp1", none, map[string]string{"area/storage": "bob"})
			check("same files: still held back", "fp1", none, map[string]string{"area/storage": "bob"})
			check("other files: released", "fp2", none, none)

			must(t, s.Decided(ctx, pr, "fp2", now))
			must(t, s.Record(ctx, pr, Change{Label: "IaaS", By: "carol"}))
			must(t, s.Record(ctx, pr, Change{Label: "e2e-test", Added: true, By: "zuul[bot]"}))
			must(t, s.Record(ctx, pr, Change{Label: "area/web", Added: true}, Change{Label: "area/old"}))
			check("removal under fp2; contribot's own add and removal", "fp2", map[string]string{"e2e-test": "zuul[bot]"}, map[string]string{"iaas": "carol"}, "area/web")
			check("files changed again", "fp3", map[string]string{"e2e-test": "zuul[bot]"}, none, "area/web")

			// The last change of a label wins: re-adding ends a removal,
			// and a person's removal ends contribot's ownership.
			must(t, s.Record(ctx, pr, Change{Label: "iaas", Added: true, By: "carol"}))
			must(t, s.Record(ctx, pr, Change{Label: "area/web", By: "dave"}))
			check("re-added; removed by a person", "fp2", map[string]string{"e2e-test": "zuul[bot]", "iaas": "carol"}, map[string]string{"area/web": "dave"})

			// Another PR's history is its own.
			if st, err := s.State(ctx, other, "fp2"); err != nil || len(st.AddedBy)+len(st.RemovedBy)+len(st.Ours) != 0 {
				t.Errorf("other PR sees %+v (%v)", st, err)
			}

			// A PR still decided on keeps its history however old; a
			// quiet one is forgotten.
			now = now.Add(100 * 24 * time.Hour)
			must(t, s.Decided(ctx, pr, "fp2", now))
			must(t, s.Prune(ctx, now.Add(-90*24*time.Hour)))
			check("active PR kept", "fp2", map[string]string{"e2e-test": "zuul[bot]", "iaas": "carol"}, map[string]string{"area/web": "dave"})
			if st, err := s.State(ctx, pr, "fp2"); err != nil || !st.PRUpdated.Equal(now) {
				t.Errorf("PRUpdated = %v (%v), want %v", st.PRUpdated, err, now)
			}
			now = now.Add(100 * 24 * time.Hour)
			must(t, s.Prune(ctx, now.Add(-90*24*time.Hour)))
			check("quiet PR pruned", "fp2", none, none)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
