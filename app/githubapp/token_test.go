package githubapp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// okRepo answers any API call with a small repository object.
func okRepo(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, `{"id":1296269,"name":"Hello-World","full_name":"octocat/Hello-World"}`)
}

func TestInstallationTokenSharedByConcurrentCallers(t *testing.T) {
	env := newTestEnv(t)
	env.gh.tokenGate = make(chan struct{})
	var apiCalls atomic.Int32
	var wrongToken atomic.Int32
	env.gh.setAPI(func(w http.ResponseWriter, r *http.Request, token string) {
		apiCalls.Add(1)
		if token != "ghs_fakeInst7No01XyZ" {
			wrongToken.Add(1)
		}
		okRepo(w, r, token)
	})

	const n = 50
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	errs := make(chan error, n)
	for range n {
		go func() {
			defer done.Done()
			started.Done()
			// Installation is called from every goroutine on purpose: the
			// clients it returns must share one cache.
			_, _, err := env.app.Installation(7).Repositories.Get(context.Background(), "octocat", "Hello-World")
			errs <- err
		}()
	}
	started.Wait()
	close(env.gh.tokenGate) // every goroutine is running; let the one token request finish
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("request failed: %v", err)
		}
	}
	if got := env.gh.tokenCalls.Load(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	if got := apiCalls.Load(); got != n {
		t.Errorf("API calls = %d, want %d", got, n)
	}
	if got := wrongToken.Load(); got != 0 {
		t.Errorf("%d API calls carried another token", got)
	}
}

func TestInstallationTokenExpiry(t *testing.T) {
	env := newTestEnv(t)
	env.gh.setAPI(okRepo)
	ctx := context.Background()
	get := func(id int64) {
		t.Helper()
		if _, _, err := env.app.Installation(id).Repositories.Get(ctx, "octocat", "Hello-World"); err != nil {
			t.Fatalf("installation %d: %v", id, err)
		}
	}

	steps := []struct {
		name       string
		advance    time.Duration
		id         int64
		wantTokens int32
	}{
		{name: "first use fetches", id: 1, wantTokens: 1},
		{name: "cached", advance: 30 * time.Minute, id: 1, wantTokens: 1},
		{name: "other installation has its own token", id: 2, wantTokens: 2},
		{name: "still cached 5m01s before expiry", advance: 24*time.Minute + 59*time.Second, id: 1, wantTokens: 2},
		{name: "renewed 4m59s before expiry", advance: 2 * time.Second, id: 1, wantTokens: 3},
		{name: "renewed one stays cached", advance: time.Minute, id: 1, wantTokens: 3},
	}
	for _, s := range steps {
		env.clock.Advance(s.advance)
		get(s.id)
		if got := env.gh.tokenCalls.Load(); got != s.wantTokens {
			t.Fatalf("%s: token requests = %d, want %d", s.name, got, s.wantTokens)
		}
	}
}

func TestInvalidateInstallationFetchesNewToken(t *testing.T) {
	env := newTestEnv(t)
	env.gh.setAPI(okRepo)
	ctx := context.Background()
	for _, invalidate := range []bool{false, true, false} {
		if invalidate {
			env.app.InvalidateInstallation(3)
		}
		if _, _, err := env.app.Installation(3).Repositories.Get(ctx, "o", "r"); err != nil {
			t.Fatal(err)
		}
	}
	if got := env.gh.tokenCalls.Load(); got != 2 {
		t.Errorf("token requests = %d, want 2 (one before, one after invalidation)", got)
	}
}

func TestUnauthorizedRefreshesTokenOnce(t *testing.T) {
	tests := []struct {
		name string
		// rejected says whether the API answers 401 to the nth issued token.
		rejected       func(token string) bool
		wantErrStatus  int
		wantAPICalls   int32
		wantTokenCalls int32
	}{
		{
			name:           "revoked token is replaced and the request replayed",
			rejected:       func(tok string) bool { return strings.HasSuffix(tok, "No01XyZ") },
			wantAPICalls:   2,
			wantTokenCalls: 2,
		},
		{
			name:           "second 401 is returned",
			rejected:       func(string) bool { return true },
			wantErrStatus:  http.StatusUnauthorized,
			wantAPICalls:   2,
			wantTokenCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			var apiCalls atomic.Int32
			var bodies []string
			var mu sync.Mutex
			env.gh.setAPI(func(w http.ResponseWriter, r *http.Request, token string) {
				apiCalls.Add(1)
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				if tt.rejected(token) {
					w.Header().Set("X-GitHub-Request-Id", "AUTH:0401")
					writeJSON(w, http.StatusUnauthorized, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
					return
				}
				writeJSON(w, http.StatusCreated, string(readFixture(t, "checks-create.json")))
			})
			run, _, err := env.app.Installation(5).Checks.CreateCheckRun(context.Background(), "octocat", "Hello-World",
				github.CreateCheckRunOptions{Name: "DCO", HeadSHA: "ce587453ced02b1526dfb4cb910479d431683101"})

			if tt.wantErrStatus == 0 {
				if err != nil {
					t.Fatalf("CreateCheckRun: %v", err)
				}
				if run.GetID() != 4 {
					t.Errorf("check run id = %d, want 4 from the fixture", run.GetID())
				}
			} else {
				var er *github.ErrorResponse
				if !errors.As(err, &er) || er.Response.StatusCode != tt.wantErrStatus {
					t.Fatalf("err = %v, want *github.ErrorResponse %d", err, tt.wantErrStatus)
				}
				if got := Describe(err); !strings.Contains(got, "401 Unauthorized (request AUTH:0401) for POST /repos/octocat/Hello-World/check-runs") {
					t.Errorf("Describe = %q", got)
				}
				if auth := er.Response.Request.Header.Get("Authorization"); auth != "" {
					t.Errorf("error's request carries Authorization %q", auth)
				}
			}
			if got := apiCalls.Load(); got != tt.wantAPICalls {
				t.Errorf("API calls = %d, want %d", got, tt.wantAPICalls)
			}
			if got := env.gh.tokenCalls.Load(); got != tt.wantTokenCalls {
				t.Errorf("token requests = %d, want %d", got, tt.wantTokenCalls)
			}
			mu.Lock()
			defer mu.Unlock()
			for i, b := range bodies {
				if !strings.Contains(b, `"head_sha":"ce587453ced02b1526dfb4cb910479d431683101"`) {
					t.Errorf("attempt %d sent body %q, want the replayed check run", i+1, b)
				}
			}
		})
	}
}

func TestConcurrentUnauthorizedCausesOneRefresh(t *testing.T) {
	env := newTestEnv(t)
	env.gh.setAPI(func(w http.ResponseWriter, r *http.Request, token string) {
		if strings.HasSuffix(token, "No01XyZ") {
			writeJSON(w, http.StatusUnauthorized, `{"message":"Bad credentials"}`)
			return
		}
		okRepo(w, r, token)
	})
	ctx := context.Background()
	// Cache the soon-to-be-revoked token first so every goroutine uses it.
	if _, err := env.app.tokens.Token(ctx, 9); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, _, err := env.app.Installation(9).Repositories.Get(ctx, "o", "r"); err != nil {
				t.Errorf("request: %v", err)
			}
		})
	}
	wg.Wait()
	if got := env.gh.tokenCalls.Load(); got != 2 {
		t.Errorf("token requests = %d, want 2 (initial + one refresh)", got)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	tests := []struct {
		name    string
		id      int64
		status  int
		body    string
		wantMsg []string
	}{
		{
			name: "installation gone", id: 11, status: http.StatusNotFound,
			body:    `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"}`,
			wantMsg: []string{"creating installation token for installation 11", "404 Not Found", "(request TOK:404)", "POST /app/installations/11/access_tokens", ": Not Found"},
		},
		{
			name: "suspended", id: 12, status: http.StatusForbidden,
			body:    `{"message":"This installation has been suspended"}`,
			wantMsg: []string{"403 Forbidden", "This installation has been suspended"},
		},
		{
			name: "zero id never reaches GitHub", id: 0,
			wantMsg: []string{"installation id must be positive, got 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			var calls atomic.Int32
			env.gh.setTokenOverride(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("X-GitHub-Request-Id", "TOK:"+strconv.Itoa(tt.status))
				writeJSON(w, tt.status, tt.body)
			})

			_, _, err := env.app.Installation(tt.id).Repositories.Get(context.Background(), "o", "r")
			if err == nil {
				t.Fatal("want error")
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if tt.id == 0 && calls.Load() != 0 {
				t.Errorf("token endpoint called %d times for id 0", calls.Load())
			}
		})
	}
}
