package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// These tests run the real binary, because only a real process can be
// killed with SIGKILL: every delivery acknowledged with 202 must end in a
// DCO check run, whatever happens to the process afterwards.

const crashSecret = "crash-secret"

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "contribot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func crashEnv(t *testing.T, fake *fakegithub.Server, db string) []string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fake.SetAppPublicKey(&key.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return []string{
		"GITHUB_APP_ID=1", "GITHUB_PRIVATE_KEY=" + string(pemKey), "GITHUB_PRIVATE_KEY_PATH=",
		"GITHUB_WEBHOOK_SECRET=" + crashSecret, "GITHUB_WEBHOOK_SECRET_PREVIOUS=",
		"GITHUB_API_URL=" + fake.URL(), "DATABASE_URL=" + db, "LOG_LEVEL=info",
		"GITHUB_WRITES_PER_SECOND=0", "SHUTDOWN_TIMEOUT=10s", "METRICS_TOKEN=",
	}
}

// sendPRs posts n pull_request deliveries, each for its own pull request
// and head SHA, and returns those SHAs. Every one must be acknowledged with 202.
func sendPRs(t *testing.T, fake *fakegithub.Server, url string, n int) []string {
	t.Helper()
	base, err := os.ReadFile("../../fixtures/github/pull_request/synchronize.json")
	if err != nil {
		t.Fatal(err)
	}
	shas := make([]string, n)
	for i := range n {
		shas[i] = fmt.Sprintf("%040x", 0xc0ffee0000+i)
		number := 1000 + i
		fake.SetPRCommits("Codertocat", "Hello-World", number, []*github.RepositoryCommit{
			fakegithub.Commit(shas[i], "Fix\n\nSigned-off-by: A <a@example.org>\n",
				&github.CommitAuthor{Name: github.String("A"), Email: github.String("a@example.org")}, nil, "a"),
		})
		body, err := sjson.SetBytes(base, "pull_request.head.sha", shas[i])
		if err == nil {
			body, err = sjson.SetBytes(body, "number", number)
		}
		if err == nil {
			body, err = sjson.SetBytes(body, "pull_request.number", number)
		}
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, []byte(crashSecret))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("crash-%d", i))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d", i, resp.StatusCode)
		}
	}
	return shas
}

// waitAllChecked waits until every SHA has a DCO check run and returns how
// many SHAs got more than one (a job killed after posting, run again).
func waitAllChecked(t *testing.T, fake *fakegithub.Server, shas []string, logs func() string) (duplicates int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		per := map[string]int{}
		for _, r := range fake.CheckRuns("Codertocat", "Hello-World") {
			per[r.GetHeadSHA()]++
		}
		missing := 0
		duplicates = 0
		for _, s := range shas {
			switch {
			case per[s] == 0:
				missing++
			case per[s] > 1:
				duplicates++
			}
		}
		if missing == 0 {
			return duplicates
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted deliveries never got a check run:\n%s", missing, len(shas), logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func crashFixture(t *testing.T) *fakegithub.Server {
	fake := fakegithub.New(t)
	// Slow check-run writes keep jobs in flight when the process dies.
	fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/check-runs") {
			return &fakegithub.Fault{Delay: 20 * time.Millisecond}
		}
		return nil
	})
	return fake
}

// crashSetup builds the binary and gives it a fake GitHub with slow check
// runs and a database of its own.
func crashSetup(t *testing.T) (bin string, fake *fakegithub.Server, env []string) {
	t.Helper()
	bin = buildBinary(t)
	fake = crashFixture(t)
	return bin, fake, crashEnv(t, fake, filepath.Join(t.TempDir(), "contribot.db"))
}

func TestKill9LosesNoAcceptedDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary; skipped with -short")
	}
	bin, fake, env := crashSetup(t)
	first := startRel(t, bin, env)
	shas := sendPRs(t, fake, first.url, 300)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	before := len(fake.CheckRuns("Codertocat", "Hello-World"))

	second := startRel(t, bin, env)
	dups := waitAllChecked(t, fake, shas, func() string { return first.logs.String() + second.logs.String() })
	t.Logf("300 accepted; %d check runs before kill -9, all 300 after restart; %d SHAs posted twice (job killed between its write and its completion)", before, dups)
	if before == len(shas) {
		t.Log("note: every job had finished before the kill; the restart had nothing to recover")
	}
	// At most the jobs in flight at the kill can run twice.
	if dups > 10 {
		t.Errorf("%d SHAs got duplicate check runs; only jobs in flight at the kill (at most 10 workers) may", dups)
	}
}

func TestSIGTERMDrainsAndRestartFinishes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	bin, fake, env := crashSetup(t)
	first := startRel(t, bin, env)
	shas := sendPRs(t, fake, first.url, 200)
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.done:
		if first.exitErr != nil {
			t.Fatalf("SIGTERM: contribot exited with %v:\n%s", first.exitErr, first.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("contribot did not stop within 30s of SIGTERM:\n%s", first.logs.String())
	}
	if !strings.Contains(first.logs.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", first.logs.String())
	}
	// A drain lets running jobs finish; River logs a hard stop when it had
	// to cancel them instead.
	if strings.Contains(first.logs.String(), "Hard stop") {
		t.Errorf("SIGTERM cancelled running jobs instead of draining them:\n%s", first.logs.String())
	}
	second := startRel(t, bin, env)
	dups := waitAllChecked(t, fake, shas, func() string { return first.logs.String() + second.logs.String() })
	if dups != 0 {
		t.Errorf("a clean SIGTERM produced %d duplicate check runs, want 0", dups)
	}
}

func TestSecondSQLiteProcessIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	bin := buildBinary(t)
	fake := fakegithub.New(t)
	db := filepath.Join(t.TempDir(), "contribot.db")
	env := crashEnv(t, fake, db)
	startRel(t, bin, env)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), env...), "PORT=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another contribot process is using") {
		t.Fatalf("second process on the same SQLite file: err %v, output:\n%s", err, out)
	}
}
