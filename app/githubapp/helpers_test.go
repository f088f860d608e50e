package githubapp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
)

const testAppID = 42

// testKey is generated once per test binary: 2048-bit generation is slow
// enough to matter when every test builds an App.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func pkcs1PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey())})
}

func pkcs8PEM(t *testing.T) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sleepRecorder stands in for time.Sleep: it records the requested wait and
// moves the fake clock instead of waiting.
type sleepRecorder struct {
	clock *fakeClock
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.clock.Advance(d)
	return nil
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// fakeGitHub serves the installation token endpoint the way GitHub does
// (verifying the App JWT against the public key) and hands every other
// request to api.
type fakeGitHub struct {
	t     *testing.T
	srv   *httptest.Server
	clock *fakeClock

	tokenLifetime time.Duration
	// tokenGate, if set, holds token requests until closed.
	tokenGate chan struct{}

	tokenCalls atomic.Int32
	mu         sync.Mutex
	issued     []string
	jwts       []string
	api        func(w http.ResponseWriter, r *http.Request, token string)
	// tokenOverride, if set, answers token requests instead.
	tokenOverride http.HandlerFunc
}

func newFakeGitHub(t *testing.T, clock *fakeClock) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{t: t, clock: clock, tokenLifetime: time.Hour}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", f.createToken)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "token ")
		f.mu.Lock()
		api := f.api
		f.mu.Unlock()
		if api == nil {
			http.NotFound(w, r)
			return
		}
		api(w, r, token)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) setAPI(h func(w http.ResponseWriter, r *http.Request, token string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api = h
}

func (f *fakeGitHub) setTokenOverride(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenOverride = h
}

func (f *fakeGitHub) createToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	override := f.tokenOverride
	f.mu.Unlock()
	if override != nil {
		override(w, r)
		return
	}
	if f.tokenGate != nil {
		<-f.tokenGate
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		f.t.Errorf("token request without Bearer JWT")
		writeJSON(w, http.StatusUnauthorized, `{"message":"A JSON web token could not be decoded"}`)
		return
	}
	f.mu.Lock()
	f.jwts = append(f.jwts, raw)
	f.mu.Unlock()
	if err := verifyAppJWT(raw, f.clock.Now()); err != nil {
		f.t.Errorf("App JWT rejected: %v", err)
		writeJSON(w, http.StatusUnauthorized, `{"message":"A JSON web token could not be decoded"}`)
		return
	}
	n := f.tokenCalls.Add(1)
	token := fmt.Sprintf("ghs_fakeInst%sNo%02dXyZ", r.PathValue("id"), n)
	f.mu.Lock()
	f.issued = append(f.issued, token)
	f.mu.Unlock()

	// Answer in GitHub's exact shape: the documented example with our
	// token and expiry swapped in.
	var body map[string]any
	if err := json.Unmarshal(readFixture(f.t, "apps-create-installation-access-token.json"), &body); err != nil {
		f.t.Fatal(err)
	}
	body["token"] = token
	body["expires_at"] = f.clock.Now().Add(f.tokenLifetime).Format(time.RFC3339)
	out, _ := json.Marshal(body)
	w.Header().Set("X-GitHub-Request-Id", "TOKEN:0001")
	writeJSON(w, http.StatusCreated, string(out))
}

// verifyAppJWT checks what GitHub checks: RS256 signature by the App key,
// iss = app id, iat in the past, exp in the future and at most 10 minutes
// after iat.
func verifyAppJWT(raw string, now time.Time) error {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) {
		return &testKey().PublicKey, nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(fmt.Sprint(testAppID)),
	)
	if err != nil {
		return err
	}
	if claims.IssuedAt == nil {
		return fmt.Errorf("no iat")
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > 10*time.Minute {
		return fmt.Errorf("JWT lives %s, GitHub allows 10m", life)
	}
	if claims.ExpiresAt.Sub(now) < 30*time.Second {
		return fmt.Errorf("JWT expires within 30s of use")
	}
	return nil
}

func (f *fakeGitHub) issuedTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

func (f *fakeGitHub) seenJWTs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.jwts...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withJitter(f func() float64) Option { return func(o *options) { o.jitter = f } }

type testEnv struct {
	gh    *fakeGitHub
	clock *fakeClock
	sleep *sleepRecorder
	reg   *prometheus.Registry
	app   *App
}

// newTestEnv builds an App against a fake GitHub with a fake clock, no
// real sleeping, no pacing and no jitter (backoff = half the nominal delay).
func newTestEnv(t *testing.T, opts ...Option) *testEnv {
	t.Helper()
	clock := newFakeClock()
	env := &testEnv{
		gh:    newFakeGitHub(t, clock),
		clock: clock,
		sleep: &sleepRecorder{clock: clock},
		reg:   prometheus.NewRegistry(),
	}
	base := []Option{
		WithRegisterer(env.reg),
		WithClock(clock.Now),
		WithSleep(env.sleep.sleep),
		WithWritePacing(0, 0),
		withJitter(func() float64 { return 0 }),
	}
	app, err := New(Config{AppID: testAppID, PrivateKey: pkcs1PEM(), BaseURL: env.gh.srv.URL + "/"}, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.app = app
	return env
}
