package githubapp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
)

// lockedBuffer lets the logger be written from server-side goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoSecretsInErrorsOrLogs drives every failure path with debug logging
// on and checks that no issued token, JWT or piece of the private key shows
// up in any error text, Describe output or log line.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := newTestEnv(t, WithLogger(logger))

	var mu sync.Mutex
	var apiJWTs []string
	// Each path segment after /repos/o/ picks a behaviour.
	env.gh.setAPI(func(w http.ResponseWriter, r *http.Request, token string) {
		if jwt, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			mu.Lock()
			apiJWTs = append(apiJWTs, jwt)
			mu.Unlock()
		}
		w.Header().Set("X-GitHub-Request-Id", "SECRET:TEST")
		switch {
		case strings.HasPrefix(r.URL.Path, "/repos/o/unauthorized"):
			writeJSON(w, 401, `{"message":"Bad credentials"}`)
		case strings.HasPrefix(r.URL.Path, "/repos/o/badgateway"):
			writeJSON(w, 502, `{"message":"Server Error"}`)
		case strings.HasPrefix(r.URL.Path, "/repos/o/secondary"):
			w.Header().Set("Retry-After", "3600")
			writeJSON(w, 403, `{"message":"You have exceeded a secondary rate limit."}`)
		case strings.HasPrefix(r.URL.Path, "/repos/o/shortsecondary"):
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"message":"You have exceeded a secondary rate limit."}`)
		case strings.HasPrefix(r.URL.Path, "/repos/o/primary"):
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(env.clock.Now().Add(time.Hour).Unix(), 10))
			writeJSON(w, 403, `{"message":"API rate limit exceeded"}`)
		case strings.HasPrefix(r.URL.Path, "/repos/o/drop"):
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		case strings.HasPrefix(r.URL.Path, "/app/"):
			writeJSON(w, 500, `{"message":"Server Error"}`)
		default:
			okRepo(w, r, token)
		}
	})

	ctx := context.Background()
	var errs []error
	// One installation per flow: a long Retry-After pauses its installation,
	// which would hold back every later flow before it reached the server.
	for i, repo := range []string{"ok", "unauthorized", "badgateway", "secondary", "shortsecondary", "primary", "drop"} {
		client := env.app.Installation(int64(10 + i))
		_, _, err := client.Repositories.Get(ctx, "o", repo)
		errs = append(errs, err)
		_, _, err = client.Checks.CreateCheckRun(ctx, "o", repo, github.CreateCheckRunOptions{Name: "DCO", HeadSHA: "abc"})
		errs = append(errs, err)
	}
	_, _, err := env.app.AppClient().Apps.ListHookDeliveries(ctx, nil)
	errs = append(errs, err)

	// The token endpoint refusing the JWT.
	env.gh.setTokenOverride(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, `{"message":"A JSON web token could not be decoded"}`)
	})
	_, _, err = env.app.Installation(2).Repositories.Get(ctx, "o", "ok")
	errs = append(errs, err)

	// A key that does not parse, and a config printed every which way.
	_, err = New(Config{AppID: 1, PrivateKey: bytes.Replace(pkcs1PEM(), []byte("RSA PRIVATE KEY"), []byte("RSA PRIVATE KEX"), 2)},
		WithRegisterer(prometheus.NewRegistry()))
	errs = append(errs, err)
	cfg := Config{AppID: 1, PrivateKey: pkcs1PEM(), BaseURL: "https://ghes.example.com/"}
	logger.Info("config", "cfg", cfg)

	var text strings.Builder
	failures := 0
	for _, err := range errs {
		if err != nil {
			failures++
			fmt.Fprintf(&text, "%v\n%+v\n%#v\n%s\n", err, err, err, Describe(err))
		}
	}
	fmt.Fprintf(&text, "%v\n%+v\n%#v\n%s\n", cfg, cfg, cfg, logs.String())
	if failures < 12 {
		t.Fatalf("only %d flows failed; the test no longer covers the error paths:\n%s", failures, text.String())
	}

	secrets := map[string]string{}
	for _, tok := range env.gh.issuedTokens() {
		secrets[tok] = "installation token"
	}
	for _, jwt := range append(env.gh.seenJWTs(), apiJWTs...) {
		secrets[jwt] = "JWT"
		// The signature alone is as good as the JWT.
		secrets[jwt[strings.LastIndex(jwt, ".")+1:]] = "JWT signature"
	}
	for _, line := range strings.Split(string(pkcs1PEM()), "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
			secrets[line] = "private key"
		}
	}
	if len(env.gh.issuedTokens()) == 0 || len(apiJWTs) == 0 {
		t.Fatal("no token or JWT was issued; nothing to check")
	}
	out := text.String()
	for s, kind := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("%s appears in error or log output", kind)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output checked:\n%s", out)
	}
}
