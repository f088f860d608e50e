package main

import (
	"net/http"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// relCleanRun sends prs to one fresh process on SQLite with nothing going
// wrong and returns the outcome: the baseline for extra API calls.
func relCleanRun(t *testing.T, bin string, prs []relPR) relOutcome {
	t.Helper()
	fake := fakegithub.New(t)
	newRecorder(fake).set(nil)
	prepareFake(fake, prs)
	p := startRel(t, bin, relEnvFor(t, fake, filepath.Join(t.TempDir(), "contribot.db")))
	s := newSender()
	s.send(t, prs, 4, func(int, relPR) string { return p.url }, nil)
	if f := s.takeFailed(); len(f) != 0 {
		t.Fatalf("%d deliveries failed on a healthy process:\n%s", len(f), tail(p.logs.String(), 40))
	}
	o := waitDone(t, fake, prs, s.acceptedCopy(), 5*time.Minute, p.logs.String)
	checkOutcome(t, o, 0, 0)
	return o
}

func TestReliabilitySQLiteKill9(t *testing.T) {
	skipShort(t)
	n := relSize(300, 1000)
	bin := buildBinary(t)

	var baseline relOutcome
	t.Run("clean", func(t *testing.T) {
		prs := relPRs("sqlite-clean", 1000, n)
		start := time.Now()
		baseline = relCleanRun(t, bin, prs)
		logRow(t, "SQLite, one process, no fault", n, baseline, 0, "n/a")
		t.Logf("clean run: %d deliveries processed and settled in %s", n, time.Since(start).Round(time.Millisecond))
	})

	t.Run("kill -9", func(t *testing.T) {
		prs := relPRs("sqlite-kill", 1000, n)
		fake := fakegithub.New(t)
		newRecorder(fake).set(func(r *http.Request, _ int, _ time.Time) *fakegithub.Fault { return slowChecks(r) })
		prepareFake(fake, prs)
		env := relEnvFor(t, fake, filepath.Join(t.TempDir(), "contribot.db"))
		first := startRel(t, bin, env)

		s := newSender()
		var stop atomic.Bool
		killed := make(chan time.Time, 1)
		go func() {
			for s.acked.Load() < int64(n/3) {
				time.Sleep(time.Millisecond)
			}
			stop.Store(true)
			_ = first.cmd.Process.Signal(syscall.SIGKILL)
			killed <- time.Now()
		}()
		s.send(t, prs, 4, func(int, relPR) string { return first.url }, &stop)
		tKill := <-killed
		<-first.done
		acceptedAtKill := s.acceptedCopy()
		atKill := judge(fake, prs, acceptedAtKill)
		unfinished := atKill.lost

		second := startRel(t, bin, env)
		restarted := time.Since(tKill)
		logs := func() string { return first.logs.String() + second.logs.String() }
		resent := make(chan []relPR, 1)
		go func() {
			rest := s.takeFailed()
			s.send(t, rest, 4, func(int, relPR) string { return second.url }, nil)
			resent <- rest
		}()
		// Recovery: every delivery acknowledged before the kill is processed.
		deadline := time.Now().Add(3 * time.Minute)
		for pending(fake, prs, acceptedAtKill) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("deliveries accepted before the kill still unprocessed after 3m:\n%s", tail(logs(), 60))
			}
			time.Sleep(100 * time.Millisecond)
		}
		recovery := time.Since(tKill)
		rest := <-resent
		if f := s.takeFailed(); len(f) != 0 {
			t.Fatalf("%d deliveries failed on the restarted process", len(f))
		}
		o := waitDone(t, fake, prs, s.acceptedCopy(), 5*time.Minute, logs)
		if o.accepted != n {
			t.Errorf("accepted %d of %d deliveries after resending", o.accepted, n)
		}
		// A job killed between its check-run write and its completion runs
		// again; at most the priority queue's 10 workers can be there.
		checkOutcome(t, o, 10, 0)
		t.Logf("kill -9 after %d of %d acknowledged (%d of them not yet finished); restart answered /healthz %s after the kill; "+
			"%d deliveries (in flight or not yet sent) resent to the new process, %d of them answered as duplicates; "+
			"everything acknowledged before the kill was done %s after it",
			len(acceptedAtKill), n, unfinished, restarted.Round(time.Millisecond), len(rest), s.dupAcks, recovery.Round(time.Millisecond))
		extra := 0
		if baseline.requests != 0 {
			extra = o.requests - baseline.requests
		}
		logRow(t, "SQLite, kill -9 and restart", n, o, extra, recovery.Round(time.Millisecond).String())
	})
}
