package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// runningJobs lists the River jobs in state running.
func runningJobs(t *testing.T, db string) map[int64]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connect to the test schema: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT id FROM river_job WHERE state = 'running'")
	if err != nil {
		t.Fatalf("list running jobs: %v", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// unfinishedOf counts the jobs among ids not yet completed (or discarded).
func unfinishedOf(t *testing.T, db string, ids map[int64]bool) int {
	t.Helper()
	if len(ids) == 0 {
		return 0
	}
	list := make([]int64, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connect to the test schema: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE id = ANY($1) AND state NOT IN ('completed', 'discarded', 'cancelled')", list).Scan(&n); err != nil {
		t.Fatalf("count unfinished jobs: %v", err)
	}
	return n
}

func TestReliabilityTwoReplicas(t *testing.T) {
	skipShort(t)
	n := relSize(200, 2000)
	bin := buildBinary(t)

	var baseline relOutcome
	t.Run("round-robin with redeliveries", func(t *testing.T) {
		db := dbtest.FreshPostgres(t)
		prs := relPRs("pg-rr", 1000, n)
		fake := fakegithub.New(t)
		newRecorder(fake).set(nil)
		prepareFake(fake, prs)
		env := relEnvFor(t, fake, db)
		reps := []*relProc{startRel(t, bin, env), startRel(t, bin, env)}
		logs := func() string { return reps[0].logs.String() + reps[1].logs.String() }

		start := time.Now()
		s := newSender()
		s.send(t, prs, 4, func(i int, _ relPR) string { return reps[i%2].url }, nil)
		// GitHub redelivers some deliveries; the load balancer sends each
		// to the other replica. They must be stored and queued once.
		var again []relPR
		for i := 0; i < n; i += 10 {
			again = append(again, prs[i])
		}
		s.send(t, again, 4, func(i int, p relPR) string { return reps[(p.number-1000+1)%2].url }, nil)
		if f := s.takeFailed(); len(f) != 0 {
			t.Fatalf("%d deliveries failed on healthy replicas", len(f))
		}
		if s.dupAcks != len(again) {
			t.Errorf("%d of %d redeliveries answered as duplicates; each must be queued once", s.dupAcks, len(again))
		}
		o := waitDone(t, fake, prs, s.acceptedCopy(), 5*time.Minute, logs)
		checkOutcome(t, o, 0, 0)
		baseline = o
		t.Logf("%d deliveries round-robin over two replicas plus %d redeliveries to the other replica (%d answered duplicate): processed and settled in %s",
			n, len(again), s.dupAcks, time.Since(start).Round(time.Millisecond))
		logRow(t, "PostgreSQL, two replicas, round-robin, 10% redelivered to the other replica", n+len(again), o, 0, "n/a")
	})

	t.Run("kill -9 one replica", func(t *testing.T) {
		db := dbtest.FreshPostgres(t)
		prs := relPRs("pg-kill", 1000, n)
		fake := fakegithub.New(t)
		// Slower check-run writes keep jobs running on the replica that dies.
		newRecorder(fake).set(func(r *http.Request, _ int, _ time.Time) *fakegithub.Fault {
			if r.Method == http.MethodPost && len(r.URL.Path) > 11 && r.URL.Path[len(r.URL.Path)-11:] == "/check-runs" {
				return &fakegithub.Fault{Delay: 100 * time.Millisecond}
			}
			return nil
		})
		prepareFake(fake, prs)
		env := relEnvFor(t, fake, db)
		a, b := startRel(t, bin, env), startRel(t, bin, env)
		logs := func() string { return a.logs.String() + b.logs.String() }

		s := newSender()
		var dead atomic.Bool
		type killInfo struct {
			at       time.Time
			running  map[int64]bool
			accepted map[string]bool
		}
		killed := make(chan killInfo, 1)
		go func() {
			for s.acked.Load() < int64(n/3) {
				time.Sleep(time.Millisecond)
			}
			_ = a.cmd.Process.Signal(syscall.SIGKILL)
			at := time.Now()
			dead.Store(true)
			accepted := s.acceptedCopy()
			<-a.done
			killed <- killInfo{at, runningJobs(t, db), accepted}
		}()
		s.send(t, prs, 4, func(i int, _ relPR) string {
			if i%2 == 0 && !dead.Load() {
				return a.url
			}
			return b.url
		}, nil)
		k := <-killed
		acceptedAtKill := k.accepted
		// The survivor finishes its own running jobs within milliseconds;
		// what is still running a moment later was the killed replica's.
		time.Sleep(time.Second)
		orphans := map[int64]bool{}
		for id := range runningJobs(t, db) {
			if k.running[id] {
				orphans[id] = true
			}
		}
		// GitHub would redeliver what the dead replica never answered.
		rest := s.takeFailed()
		s.send(t, rest, 4, func(int, relPR) string { return b.url }, nil)
		if f := s.takeFailed(); len(f) != 0 {
			t.Fatalf("%d deliveries failed on the surviving replica", len(f))
		}

		deadline := time.Now().Add(3 * time.Minute)
		var takeover, recovered time.Duration
		for takeover == 0 || recovered == 0 {
			if takeover == 0 && unfinishedOf(t, db, orphans) == 0 {
				takeover = time.Since(k.at)
			}
			if recovered == 0 && pending(fake, prs, acceptedAtKill) == 0 {
				recovered = time.Since(k.at)
			}
			if time.Now().After(deadline) {
				t.Fatalf("3m after the kill: %d of the dead replica's %d running jobs unfinished, %d deliveries accepted before the kill unprocessed:\n%s",
					unfinishedOf(t, db, orphans), len(orphans), judge(fake, prs, acceptedAtKill).lost, tail(logs(), 60))
			}
			time.Sleep(100 * time.Millisecond)
		}
		o := waitDone(t, fake, prs, s.acceptedCopy(), 5*time.Minute, logs)
		if o.accepted != n {
			t.Errorf("accepted %d of %d deliveries after resending", o.accepted, n)
		}
		checkOutcome(t, o, 10, 10)
		t.Logf("kill -9 of one replica after %d of %d acknowledged; %d jobs were running on it (JOB_TIMEOUT %s, rescue after %s); "+
			"the survivor finished them %s after the kill, and everything acknowledged before the kill %s after it; %d deliveries resent to the survivor, %d answered duplicate",
			len(acceptedAtKill), n, len(orphans), relJobTimeout, 2*relJobTimeout, takeover.Round(time.Millisecond), recovered.Round(time.Millisecond), len(rest), s.dupAcks)
		extra := 0
		if baseline.requests != 0 {
			extra = o.requests - baseline.requests
		}
		logRow(t, "PostgreSQL, two replicas, one killed with kill -9", n, o, extra, takeover.Round(time.Millisecond).String())
	})
}
