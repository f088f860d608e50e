package welcome

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
)

func openDB(t *testing.T, backend string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	switch backend {
	case "sqlite":
		// As the service opens it: one connection, write transactions
		// taken at BEGIN.
		db, err = sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "state.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
		if err == nil {
			db.SetMaxOpenConns(1)
		}
	default:
		db, err = sql.Open("pgx", dbtest.FreshPostgres(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, stmt := range Schema {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestClaim(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			now := time.Unix(1_800_000_000, 0)
			s := &Store{DB: openDB(t, backend), Now: func() time.Time { return now }}
			issue := Greeting{Scope: "org:scs", Login: "Alice", Kind: KindIssue, Repo: "scs/docs", Number: 1, Job: 1}
			issueCopy := issue
			issueCopy.Job = 2 // the same event, delivered again, run by another job
			pr := Greeting{Scope: "org:scs", Login: "alice", Kind: KindPullRequest, Repo: "scs/standards", Number: 9, Job: 3}
			merged := Greeting{Scope: "org:scs", Login: "alice", Kind: KindMerged, Repo: "scs/standards", Number: 9, Job: 4}
			mergedCopy := merged
			mergedCopy.Job = 5

			steps := []struct {
				name   string
				g      Greeting
				ok     bool
				why    string
				posted bool
				after  time.Duration
			}{
				{name: "first issue", g: issue, ok: true},
				{name: "a copy of the event while the first job greets", g: issueCopy, why: "being greeted by job 1"},
				{name: "the claiming job's retry resumes", g: issue, ok: true, posted: true},
				{name: "the same item after posting", g: issue, why: "already greeted on scs/docs#1"},
				{name: "another issue", g: Greeting{Scope: "org:scs", Login: "ALICE", Kind: KindIssue, Repo: "scs/docs", Number: 2}, why: "already greeted on scs/docs#1"},
				{name: "first PR together with the first issue", g: pr, why: "greeted on scs/docs#1 0s ago; one greeting for a first issue and pull request that arrive together"},
				{name: "first merge is its own greeting", g: merged, ok: true},
				{name: "its job died: a copy takes over once the claim is stale", g: mergedCopy, ok: true, posted: true, after: StaleClaim + time.Second},
				{name: "first PR a day later", g: pr, ok: true, after: 24 * time.Hour},
				{name: "another job for that PR, before it is posted", g: Greeting{Scope: "org:scs", Login: "alice", Kind: KindPullRequest, Repo: "scs/standards", Number: 9, Job: 6}, why: "being greeted by job 3"},
				{name: "another scope", g: Greeting{Scope: "org:other", Login: "alice", Kind: KindIssue, Repo: "other/x", Number: 1}, ok: true},
			}
			for _, st := range steps {
				now = now.Add(st.after)
				ok, why, err := s.Claim(ctx, st.g)
				if err != nil {
					t.Fatal(err)
				}
				if ok != st.ok || why != st.why {
					t.Errorf("%s: Claim = %v %q, want %v %q", st.name, ok, why, st.ok, st.why)
				}
				if st.posted {
					if err := s.Posted(ctx, st.g); err != nil {
						t.Fatal(err)
					}
				}
			}
			known, resume, err := s.Known(ctx, pr)
			if err != nil || !known || !resume {
				t.Errorf("Known(unposted PR) = %v %v %v, want known and resumable", known, resume, err)
			}
		})
	}
}

// Many workers, possibly on several replicas, see the same newcomer at
// once (redeliveries, a first issue and PR together): exactly one wins.
func TestClaimIsExclusiveUnderConcurrency(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			db := openDB(t, backend)
			if backend == "postgres" {
				db.SetMaxOpenConns(16)
			}
			s := &Store{DB: db}
			// The person has been greeted before (a first merged PR), so
			// their row exists: only its lock, not the unique index,
			// serialises the claims below.
			old := Greeting{Scope: "org:scs", Login: "bob", Kind: KindMerged, Repo: "scs/docs", Number: 1, Job: 99}
			if ok, _, err := s.Claim(context.Background(), old); err != nil || !ok {
				t.Fatalf("earlier greeting: %v %v", ok, err)
			}
			s.afterRead = func() { time.Sleep(20 * time.Millisecond) }
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					kind := KindIssue
					if i%2 == 1 {
						kind = KindPullRequest
					}
					ok, _, err := s.Claim(context.Background(), Greeting{Scope: "org:scs", Login: "bob", Kind: kind, Repo: "scs/docs", Number: 100 + i})
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Errorf("%d of 32 concurrent claims won, want exactly 1", n)
			}
		})
	}
}
