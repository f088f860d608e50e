package githubapp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/githubapp"
)

// TestAgainstFakeGitHub runs the whole stack against the project's fake
// GitHub, which was written independently from this package and enforces
// GitHub's rules for JWTs, token revocation and conditional requests.
func TestAgainstFakeGitHub(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})

	gh := fakegithub.New(t)
	gh.SetAppPublicKey(&key.PublicKey)
	gh.SetAppID(42, "contribot")
	gh.SetFile("o", "r", ".github/contribot.yml", []byte("dco:\n  enabled: true\n"))

	var waits []time.Duration
	app, err := githubapp.New(githubapp.Config{AppID: 42, PrivateKey: keyPEM, BaseURL: gh.URL()},
		githubapp.WithRegisterer(prometheus.NewRegistry()),
		githubapp.WithWritePacing(0, 0),
		githubapp.WithSleep(func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := app.Installation(1)
	readRules := func() {
		t.Helper()
		file, _, _, err := client.Repositories.GetContents(ctx, "o", "r", ".github/contribot.yml", nil)
		if err != nil {
			t.Fatalf("GetContents: %v", err)
		}
		if content, _ := file.GetContent(); content != "dco:\n  enabled: true\n" {
			t.Fatalf("content = %q", content)
		}
	}
	statuses := func() []string {
		var out []string
		for _, r := range gh.Requests() {
			out = append(out, r.Method+" "+r.Path+" "+strconv.Itoa(r.Status))
		}
		gh.Reset()
		return out
	}
	const (
		token    = "POST /app/installations/1/access_tokens 201"
		rules200 = "GET /repos/o/r/contents/.github/contribot.yml 200"
		rules304 = "GET /repos/o/r/contents/.github/contribot.yml 304"
		rules401 = "GET /repos/o/r/contents/.github/contribot.yml 401"
	)

	readRules()
	readRules()
	if got, want := statuses(), []string{token, rules200, rules304}; !slices.Equal(got, want) {
		t.Errorf("first reads:\n got %q\nwant %q", got, want)
	}

	gh.RevokeTokens()
	readRules()
	if got, want := statuses(), []string{rules401, token, rules304}; !slices.Equal(got, want) {
		t.Errorf("after revocation:\n got %q\nwant %q", got, want)
	}

	gh.Fault(func(r *http.Request, n int) *fakegithub.Fault {
		if n == 1 {
			return fakegithub.BadGateway()
		}
		return nil
	})
	if _, _, err := client.Checks.CreateCheckRun(ctx, "o", "r", github.CreateCheckRunOptions{Name: "DCO", HeadSHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e"}); err != nil {
		t.Fatalf("CreateCheckRun after a 502: %v", err)
	}
	if got, want := statuses(), []string{"POST /repos/o/r/check-runs 502", "POST /repos/o/r/check-runs 201"}; !slices.Equal(got, want) {
		t.Errorf("502 then retry:\n got %q\nwant %q", got, want)
	}
	if runs := gh.CheckRuns("o", "r"); len(runs) != 1 {
		t.Errorf("check runs = %d, want 1", len(runs))
	}

	gh.Fault(func(*http.Request, int) *fakegithub.Fault { return fakegithub.SecondaryRateLimit(120) })
	_, _, err = client.Checks.CreateCheckRun(ctx, "o", "r", github.CreateCheckRunOptions{Name: "DCO", HeadSHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e"})
	var rl *githubapp.RateLimitError
	if !errors.As(err, &rl) || !rl.Secondary || rl.RequestID == "" {
		t.Fatalf("err = %v, want secondary *RateLimitError with a request id", err)
	}
	if d, ok := githubapp.RetryAfter(err); !ok || d < 100*time.Second || d > 120*time.Second {
		t.Errorf("RetryAfter = %s, %v; want about 2m", d, ok)
	}
	if got := len(statuses()); got != 1 {
		t.Errorf("long secondary limit sent %d requests, want 1", got)
	}
	// Default policy: the one backoff (after the 502) is 250ms with equal
	// jitter, so 125–250ms; the long secondary limit is not waited for.
	if len(waits) != 1 || waits[0] < 125*time.Millisecond || waits[0] > 250*time.Millisecond {
		t.Errorf("waits = %v, want one backoff of 125–250ms", waits)
	}
}
