package githubapp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestPacerPerInstallation(t *testing.T) {
	type step struct {
		id       identity
		method   string
		wantWait time.Duration // 0: sent without waiting
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "burst then one per second", steps: []step{
			{1, "POST", 0}, {1, "PATCH", 0}, {1, "POST", time.Second}, {1, "DELETE", time.Second},
		}},
		{name: "reads are not paced", steps: []step{
			{1, "POST", 0}, {1, "POST", 0}, {1, "GET", 0}, {1, "GET", 0}, {1, "HEAD", 0},
		}},
		{name: "installations do not wait on each other", steps: []step{
			{1, "POST", 0}, {1, "POST", 0}, {2, "POST", 0}, {2, "POST", 0}, {appIdentity, "POST", 0}, {1, "POST", time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			sleeps := &sleepRecorder{clock: clock}
			sent := 0
			p := &pacer{
				next: roundTripFunc(func(r *http.Request) (*http.Response, error) { sent++; return okResponse(r), nil }),
				rate: 1, burst: 2, maxPause: 10 * time.Second,
				now: clock.Now, sleep: sleeps.sleep, buckets: map[identity]*bucket{},
			}
			for i, s := range tt.steps {
				before := len(sleeps.recorded())
				resp, err := p.RoundTrip(requestAs(s.id, s.method))
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				resp.Body.Close()
				var waited time.Duration
				if w := sleeps.recorded(); len(w) > before {
					waited = w[len(w)-1]
				}
				if waited != s.wantWait {
					t.Errorf("step %d (%d %s): waited %s, want %s", i, s.id, s.method, waited, s.wantWait)
				}
			}
			if sent != len(tt.steps) {
				t.Errorf("sent %d, want %d", sent, len(tt.steps))
			}
		})
	}
}

func TestPacerPausesAfterRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		// then: what the next request of the same installation sees.
		wantWait    time.Duration
		wantLimited bool
	}{
		{name: "short pause is waited out", retryAfter: "5", wantWait: 5 * time.Second},
		{name: "long pause is handed back as RateLimitError", retryAfter: "120", wantLimited: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			sleeps := &sleepRecorder{clock: clock}
			sent := 0
			p := &pacer{
				next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					sent++
					if sent == 1 {
						rec := httptest.NewRecorder()
						rec.Header().Set("Retry-After", tt.retryAfter)
						rec.WriteHeader(http.StatusForbidden)
						return rec.Result(), nil
					}
					return okResponse(r), nil
				}),
				rate: 0, burst: 1, maxPause: 10 * time.Second,
				now: clock.Now, sleep: sleeps.sleep, buckets: map[identity]*bucket{},
			}
			if _, err := p.RoundTrip(requestAs(1, "POST")); err != nil {
				t.Fatal(err)
			}
			// Another installation is not affected.
			if _, err := p.RoundTrip(requestAs(2, "GET")); err != nil || len(sleeps.recorded()) != 0 {
				t.Fatalf("installation 2: err %v, waits %v", err, sleeps.recorded())
			}
			_, err := p.RoundTrip(requestAs(1, "GET"))
			if tt.wantLimited {
				var rl *RateLimitError
				if !errors.As(err, &rl) || !rl.Secondary || rl.StatusCode != 0 {
					t.Fatalf("err = %v, want a held-back secondary *RateLimitError", err)
				}
				if want := newFakeClock().Now().Add(2 * time.Minute); !rl.Reset.Equal(want) {
					t.Errorf("Reset = %s, want %s", rl.Reset, want)
				}
				if sent != 2 {
					t.Errorf("sent %d, want 2 (the held request must not go out)", sent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sleeps.recorded(); !slices.Equal(got, []time.Duration{tt.wantWait}) {
				t.Errorf("waits = %v, want [%s]", got, tt.wantWait)
			}
		})
	}
}

func TestPacerGivesTokenBackWhenCallerGivesUp(t *testing.T) {
	clock := newFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pacer{
		next: roundTripFunc(func(r *http.Request) (*http.Response, error) { return okResponse(r), nil }),
		rate: 1, burst: 1, maxPause: 10 * time.Second, now: clock.Now,
		sleep:   func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() },
		buckets: map[identity]*bucket{},
	}
	if _, err := p.RoundTrip(requestAs(1, "POST")); err != nil {
		t.Fatal(err)
	}
	req := requestAs(1, "POST").WithContext(withIdentity(ctx, 1))
	if _, err := p.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := p.buckets[1].tokens; got != 0 {
		t.Errorf("tokens = %v, want 0 (the abandoned write's token returned)", got)
	}
}

func TestAppPacesWritesByDefault(t *testing.T) {
	// Default pacing: 1 write/s with a burst of 10.
	env := newTestEnv(t, WithWritePacing(1, 10))
	s := &scripted{t: t, replies: []reply{ok(201)}}
	env.gh.setAPI(s.serve)
	for range 12 {
		if _, _, err := env.app.Installation(1).Issues.CreateComment(context.Background(), "o", "r", 1,
			&github.IssueComment{Body: github.String("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := env.sleep.recorded(), []time.Duration{time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v (11th and 12th write)", got, want)
	}
}

func requestAs(id identity, method string) *http.Request {
	r := httptest.NewRequest(method, "https://api.github.com/repos/o/r/issues/1/comments", nil)
	return r.WithContext(withIdentity(r.Context(), id))
}

func okResponse(r *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	rec.WriteHeader(http.StatusOK)
	resp := rec.Result()
	resp.Request = r
	return resp
}

func TestPacerHandsLongWaitsBackToTheQueue(t *testing.T) {
	clock := newFakeClock()
	// Writers arriving together: the clock does not move while they wait.
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	sent := 0
	p := &pacer{
		next: roundTripFunc(func(r *http.Request) (*http.Response, error) { sent++; return okResponse(r), nil }),
		rate: 1, burst: 1, maxPause: 10 * time.Second,
		now: clock.Now, sleep: sleep, buckets: map[identity]*bucket{},
	}
	// Burst 1 at 1/s: the 2nd and 3rd writes wait 1 s and 2 s in the
	// worker; the 4th would wait 3 s, so it is returned as a rate limit
	// for the job to be snoozed, and keeps no token.
	for i, wantErr := range []bool{false, false, false, true} {
		resp, err := p.RoundTrip(requestAs(1, "POST"))
		var rl *RateLimitError
		switch {
		case wantErr && !errors.As(err, &rl):
			t.Fatalf("write %d: err = %v, want *RateLimitError", i, err)
		case wantErr:
			if d, ok := retryAfterAt(err, clock.Now()); !ok || d < 2*time.Second {
				t.Errorf("write %d: RetryAfter = %s, %v; want about 3s", i, d, ok)
			}
		case err != nil:
			t.Fatalf("write %d: %v", i, err)
		default:
			resp.Body.Close()
		}
	}
	if sent != 3 {
		t.Fatalf("sent %d writes, want 3", sent)
	}
	if got := slept; !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("worker slept %v, want [1s 2s]", got)
	}
}

// A spent quota (403 with X-RateLimit-Remaining: 0) holds back every other
// request of the installation until the reset, instead of letting each meet
// the same 403; the search quota is separate and holds back nothing.
func TestPacerHoldsAnInstallationWithASpentQuota(t *testing.T) {
	tests := []struct {
		name        string
		resource    string
		resetIn     time.Duration
		wantWait    time.Duration
		wantLimited bool
	}{
		{name: "reset soon: waited out", resource: "core", resetIn: 4 * time.Second, wantWait: 4 * time.Second},
		{name: "reset far: handed back without sending", resource: "core", resetIn: time.Hour, wantLimited: true},
		{name: "search quota spent: others go on", resource: "search", resetIn: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			sleeps := &sleepRecorder{clock: clock}
			sent := 0
			p := &pacer{
				next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					sent++
					if sent == 1 {
						rec := httptest.NewRecorder()
						rec.Header().Set("X-RateLimit-Remaining", "0")
						rec.Header().Set("X-RateLimit-Resource", tt.resource)
						rec.Header().Set("X-RateLimit-Reset", strconv.FormatInt(clock.Now().Add(tt.resetIn).Unix(), 10))
						rec.WriteHeader(http.StatusForbidden)
						return rec.Result(), nil
					}
					return okResponse(r), nil
				}),
				rate: 0, burst: 1, maxPause: 10 * time.Second,
				now: clock.Now, sleep: sleeps.sleep, buckets: map[identity]*bucket{},
			}
			if _, err := p.RoundTrip(requestAs(1, "GET")); err != nil {
				t.Fatal(err)
			}
			_, err := p.RoundTrip(requestAs(1, "GET"))
			var rl *RateLimitError
			switch {
			case tt.wantLimited:
				if !errors.As(err, &rl) || sent != 1 {
					t.Fatalf("err = %v, sent %d; want a held-back *RateLimitError and nothing sent", err, sent)
				}
			case err != nil:
				t.Fatal(err)
			default:
				var want []time.Duration
				if tt.wantWait > 0 {
					want = []time.Duration{tt.wantWait}
				}
				if got := sleeps.recorded(); !slices.Equal(got, want) {
					t.Errorf("waits = %v, want %v", got, want)
				}
			}
		})
	}
}

// A request already sleeping out a pause goes only when the pause is over,
// even if another request's 403 made it longer in the meantime.
func TestPacerRechecksAPauseThatGrewDuringTheSleep(t *testing.T) {
	clock := newFakeClock()
	var p *pacer
	var waits []time.Duration
	grown := false
	p = &pacer{
		next: roundTripFunc(func(r *http.Request) (*http.Response, error) { return okResponse(r), nil }),
		rate: 0, burst: 1, maxPause: 10 * time.Second, now: clock.Now,
		sleep: func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			if !grown {
				grown = true
				p.pause(1, d+3*time.Second) // another request met a Retry-After meanwhile
			}
			clock.Advance(d)
			return nil
		},
		buckets: map[identity]*bucket{},
	}
	p.pause(1, 2*time.Second)
	if _, err := p.RoundTrip(requestAs(1, "GET")); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{2 * time.Second, 3 * time.Second}; !slices.Equal(waits, want) {
		t.Errorf("waits = %v, want %v: the request must sleep out the longer pause too", waits, want)
	}
}
