package githubapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// scripted answers the nth API call with the nth reply (the last one
// repeats) and counts calls.
type scripted struct {
	t       *testing.T
	replies []reply
	calls   atomic.Int32
	mu      sync.Mutex
	bodies  []string
}

type reply struct {
	status int
	header map[string]string
	body   string
}

func (s *scripted) serve(w http.ResponseWriter, r *http.Request, _ string) {
	n := int(s.calls.Add(1))
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	rep := s.replies[min(n, len(s.replies))-1]
	w.Header().Set("X-GitHub-Request-Id", fmt.Sprintf("REQ:%d", n))
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	body := rep.body
	if body == "" {
		switch {
		case rep.status == http.StatusOK && r.Method == http.MethodGet:
			body = string(readFixture(s.t, "pulls-list-commits.json"))
		case rep.status < 300:
			body = string(readFixture(s.t, "checks-create.json"))
		default:
			body = fmt.Sprintf(`{"message":"%s"}`, http.StatusText(rep.status))
		}
	}
	writeJSON(w, rep.status, body)
}

func ok(status int) reply { return reply{status: status} }

// call makes a GET (list PR commits) or a POST (create check run).
func call(ctx context.Context, c *github.Client, method string) error {
	switch method {
	case http.MethodGet:
		_, _, err := c.PullRequests.ListCommits(ctx, "octocat", "Hello-World", 1347, nil)
		return err
	case http.MethodPost:
		_, _, err := c.Checks.CreateCheckRun(ctx, "octocat", "Hello-World",
			github.CreateCheckRunOptions{Name: "DCO", HeadSHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e"})
		return err
	}
	panic(method)
}

func TestRetryTransientFailures(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		noReplay   bool
		replies    []reply
		wantCalls  int32
		wantWaits  []time.Duration
		wantStatus int // 0: success
	}{
		{name: "POST without replay: 502 goes back to the caller", method: "POST", noReplay: true, replies: []reply{ok(502), ok(201)},
			wantCalls: 1, wantStatus: 502},
		{name: "GET without replay is still retried", method: "GET", noReplay: true, replies: []reply{ok(502), ok(200)},
			wantCalls: 2, wantWaits: []time.Duration{125 * time.Millisecond}},
		{name: "GET 502 then 200", method: "GET", replies: []reply{ok(502), ok(200)},
			wantCalls: 2, wantWaits: []time.Duration{125 * time.Millisecond}},
		{name: "GET 500, 504 then 200", method: "GET", replies: []reply{ok(500), ok(504), ok(200)},
			wantCalls: 3, wantWaits: []time.Duration{125 * time.Millisecond, 250 * time.Millisecond}},
		{name: "GET 502 forever is bounded", method: "GET", replies: []reply{ok(502)},
			wantCalls: 3, wantWaits: []time.Duration{125 * time.Millisecond, 250 * time.Millisecond}, wantStatus: 502},
		{name: "POST check run 502 then 201", method: "POST", replies: []reply{ok(502), ok(201)},
			wantCalls: 2, wantWaits: []time.Duration{125 * time.Millisecond}},
		{name: "POST check run 503 then 201", method: "POST", replies: []reply{ok(503), ok(201)},
			wantCalls: 2, wantWaits: []time.Duration{125 * time.Millisecond}},
		{name: "POST 500 is not replayed (may have been applied)", method: "POST", replies: []reply{ok(500), ok(201)},
			wantCalls: 1, wantStatus: 500},
		{name: "503 Retry-After longer than backoff", method: "GET",
			replies:   []reply{{status: 503, header: map[string]string{"Retry-After": "3"}}, ok(200)},
			wantCalls: 2, wantWaits: []time.Duration{3 * time.Second}},
		{name: "404 is final", method: "GET", replies: []reply{ok(404)}, wantCalls: 1, wantStatus: 404},
		{name: "501 is final", method: "GET", replies: []reply{ok(501)}, wantCalls: 1, wantStatus: 501},
		{name: "422 is final", method: "POST",
			replies:   []reply{{status: 422, body: string(readFixture(t, "recorded.error-422-validation-failed.json"))}},
			wantCalls: 1, wantStatus: 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			s := &scripted{t: t, replies: tt.replies}
			env.gh.setAPI(s.serve)

			ctx := context.Background()
			if tt.noReplay {
				ctx = WithoutReplay(ctx)
			}
			err := call(ctx, env.app.Installation(1), tt.method)

			if tt.wantStatus == 0 && err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if tt.wantStatus != 0 {
				var er *github.ErrorResponse
				if !errors.As(err, &er) || er.Response.StatusCode != tt.wantStatus {
					t.Fatalf("err = %v, want *github.ErrorResponse with %d", err, tt.wantStatus)
				}
				wantReq := fmt.Sprintf("(request REQ:%d)", tt.wantCalls)
				if d := Describe(err); !strings.Contains(d, wantReq) || !strings.HasPrefix(d, "GitHub answered "+strconv.Itoa(tt.wantStatus)) {
					t.Errorf("Describe = %q, want status %d and %s", d, tt.wantStatus, wantReq)
				}
			}
			if got := s.calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if got := env.sleep.recorded(); !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for i, b := range s.bodies {
				if tt.method == "POST" && !strings.Contains(b, `"name":"DCO"`) {
					t.Errorf("attempt %d body = %q, want the check run replayed", i+1, b)
				}
			}
		})
	}
}

func TestRetryNetworkErrors(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			// Without keep-alive, net/http's own silent retry of requests on
			// a reused connection does not muddy the count.
			env := newTestEnv(t, WithBaseTransport(&http.Transport{DisableKeepAlives: true}))
			var calls atomic.Int32
			env.gh.setAPI(func(w http.ResponseWriter, r *http.Request, _ string) {
				calls.Add(1)
				// Drop the connection without answering.
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				conn.Close()
			})
			err := call(context.Background(), env.app.Installation(1), method)
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want *url.Error", err, err)
			}
			if !strings.Contains(err.Error(), "after 3 attempts") {
				t.Errorf("err = %q, want attempt count", err)
			}
			if got := calls.Load(); got != 3 {
				t.Errorf("calls = %d, want 3", got)
			}
			if d := Describe(err); !strings.HasPrefix(d, "GitHub request "+method+" /repos/octocat/Hello-World/") {
				t.Errorf("Describe = %q", d)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	reset := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	secondaryBody := `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	primary := map[string]string{
		"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
		"X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10), "X-RateLimit-Resource": "core",
	}
	tests := []struct {
		name      string
		method    string
		replies   []reply
		wantCalls int32
		wantWaits []time.Duration
		// wantLimit: nil = success; else the *RateLimitError expected.
		wantLimit *RateLimitError
		wantHTTP  int
	}{
		{name: "short secondary is slept through", method: "POST",
			replies:   []reply{{status: 403, header: map[string]string{"Retry-After": "2"}, body: secondaryBody}, ok(201)},
			wantCalls: 2, wantWaits: []time.Duration{2 * time.Second}},
		{name: "429 with short Retry-After", method: "GET",
			replies:   []reply{{status: 429, header: map[string]string{"Retry-After": "1"}}, ok(200)},
			wantCalls: 2, wantWaits: []time.Duration{time.Second}},
		{name: "long secondary is returned", method: "POST",
			replies:   []reply{{status: 403, header: map[string]string{"Retry-After": "60"}, body: secondaryBody}},
			wantCalls: 1,
			wantLimit: &RateLimitError{Secondary: true, Reset: newFakeClock().Now().Add(time.Minute), RequestID: "REQ:1", StatusCode: 403}},
		{name: "secondary by message alone waits a minute", method: "POST",
			replies:   []reply{{status: 403, body: secondaryBody}},
			wantCalls: 1,
			wantLimit: &RateLimitError{Secondary: true, Reset: newFakeClock().Now().Add(time.Minute), RequestID: "REQ:1", StatusCode: 403}},
		{name: "short secondary every time gives up after 3 attempts", method: "GET",
			replies:   []reply{{status: 403, header: map[string]string{"Retry-After": "2"}, body: secondaryBody}},
			wantCalls: 3, wantWaits: []time.Duration{2 * time.Second, 2 * time.Second},
			wantLimit: &RateLimitError{Secondary: true, Reset: newFakeClock().Now().Add(6 * time.Second), RequestID: "REQ:3", StatusCode: 403}},
		{name: "primary 403 returns at once with reset", method: "GET",
			replies:   []reply{{status: 403, header: primary, body: `{"message":"API rate limit exceeded for installation ID 1."}`}},
			wantCalls: 1,
			wantLimit: &RateLimitError{Reset: reset, RequestID: "REQ:1", StatusCode: 403, Resource: "core"}},
		{name: "primary 429 returns at once with reset", method: "POST",
			replies:   []reply{{status: 429, header: primary}},
			wantCalls: 1,
			wantLimit: &RateLimitError{Reset: reset, RequestID: "REQ:1", StatusCode: 429, Resource: "core"}},
		{name: "plain 403 is a permission error", method: "POST",
			replies:   []reply{{status: 403, body: `{"message":"Resource not accessible by integration"}`}},
			wantCalls: 1, wantHTTP: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			s := &scripted{t: t, replies: tt.replies}
			env.gh.setAPI(s.serve)

			err := call(context.Background(), env.app.Installation(1), tt.method)

			switch {
			case tt.wantHTTP != 0:
				var er *github.ErrorResponse
				if !errors.As(err, &er) || er.Response.StatusCode != tt.wantHTTP {
					t.Fatalf("err = %v, want *github.ErrorResponse %d", err, tt.wantHTTP)
				}
				if _, ok := RetryAfter(err); ok {
					t.Error("RetryAfter recognised a permission error as a rate limit")
				}
			case tt.wantLimit != nil:
				var rl *RateLimitError
				if !errors.As(err, &rl) {
					t.Fatalf("err = %v (%T), want *RateLimitError", err, err)
				}
				got := *rl
				got.Method, got.Path = "", ""
				if !got.Reset.Equal(tt.wantLimit.Reset) {
					t.Errorf("Reset = %s, want %s", got.Reset, tt.wantLimit.Reset)
				}
				got.Reset = tt.wantLimit.Reset
				if got != *tt.wantLimit {
					t.Errorf("RateLimitError = %+v, want %+v", got, *tt.wantLimit)
				}
				if rl.Method != tt.method || !strings.HasPrefix(rl.Path, "/repos/octocat/Hello-World/") {
					t.Errorf("request = %s %s", rl.Method, rl.Path)
				}
				wait, ok := retryAfterAt(err, env.clock.Now())
				if want := tt.wantLimit.Reset.Sub(env.clock.Now()); !ok || wait != want {
					t.Errorf("retryAfterAt = %s, %v; want %s", wait, ok, want)
				}
			default:
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
			}
			if got := s.calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if got := env.sleep.recorded(); !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ninety := 90 * time.Second
	resp := &http.Response{StatusCode: 403, Request: &http.Request{Method: "GET", URL: &url.URL{Path: "/x"}}}
	tests := []struct {
		name   string
		err    error
		want   time.Duration
		wantOK bool
	}{
		{name: "ours", err: &RateLimitError{Reset: now.Add(time.Hour)}, want: time.Hour, wantOK: true},
		{name: "ours inside url.Error", err: &url.Error{Op: "Get", URL: "u", Err: &RateLimitError{Reset: now.Add(time.Minute)}},
			want: time.Minute, wantOK: true},
		{name: "wrapped by a job", err: fmt.Errorf("dco: %w", &RateLimitError{Reset: now.Add(5 * time.Second)}),
			want: 5 * time.Second, wantOK: true},
		{name: "reset already passed", err: &RateLimitError{Reset: now.Add(-time.Minute)}, want: time.Second, wantOK: true},
		{name: "go-github primary", err: &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(20 * time.Minute)}}, Response: resp},
			want: 20 * time.Minute, wantOK: true},
		{name: "go-github secondary with Retry-After", err: &github.AbuseRateLimitError{RetryAfter: &ninety, Response: resp},
			want: ninety, wantOK: true},
		{name: "go-github secondary without Retry-After", err: &github.AbuseRateLimitError{Response: resp},
			want: time.Minute, wantOK: true},
		{name: "other error", err: errors.New("boom"), wantOK: false},
		{name: "nil", err: nil, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := retryAfterAt(tt.err, now)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("retryAfterAt = %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		jitter   float64
		min, max time.Duration
	}{
		{attempt: 1, jitter: 0, min: 125 * time.Millisecond, max: 125 * time.Millisecond},
		{attempt: 1, jitter: 0.999, min: 249 * time.Millisecond, max: 250 * time.Millisecond},
		{attempt: 2, jitter: 0, min: 250 * time.Millisecond, max: 250 * time.Millisecond},
		{attempt: 5, jitter: 0.5, min: 3 * time.Second, max: 3 * time.Second},
		{attempt: 6, jitter: 0, min: 2500 * time.Millisecond, max: 2500 * time.Millisecond}, // capped at 5s
		{attempt: 80, jitter: 0.999, min: 4990 * time.Millisecond, max: 5 * time.Second},    // shift overflow → cap
	}
	for _, tt := range tests {
		rt := &retryTransport{policy: RetryPolicy{}.withDefaults(), jitter: func() float64 { return tt.jitter }}
		if got := rt.backoff(tt.attempt); got < tt.min || got > tt.max {
			t.Errorf("backoff(%d, jitter %.3f) = %s, want in [%s, %s]", tt.attempt, tt.jitter, got, tt.min, tt.max)
		}
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := newTestEnv(t, WithSleep(func(ctx context.Context, _ time.Duration) error {
		cancel() // the job is abandoned while backing off
		<-ctx.Done()
		return ctx.Err()
	}))
	s := &scripted{t: t, replies: []reply{ok(502), ok(200)}}
	env.gh.setAPI(s.serve)

	err := call(ctx, env.app.Installation(1), "GET")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := s.calls.Load(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

func TestRealSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// An hour-long sleep must return at once for a finished context.
	if err := realSleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("realSleep = %v, want context.Canceled", err)
	}
	if err := realSleep(context.Background(), 0); err != nil {
		t.Fatalf("realSleep(0) = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"17", 17 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"-3", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRefused(t *testing.T) {
	answer := func(status int) error {
		return &github.ErrorResponse{Response: &http.Response{StatusCode: status, Request: &http.Request{Method: "POST", URL: &url.URL{Path: "/x"}}}}
	}
	tests := []struct {
		name   string
		err    error
		status int
		ok     bool
	}{
		{"none", nil, 0, false},
		{"not GitHub's", errors.New("connection reset"), 0, false},
		{"403 permission", fmt.Errorf("wrapped: %w", answer(403)), 403, true},
		{"404", answer(404), 404, true},
		{"422", answer(422), 422, true},
		{"500 is transient", answer(500), 0, false},
		{"primary rate limit", &github.RateLimitError{Response: &http.Response{StatusCode: 403}, Rate: github.Rate{Reset: github.Timestamp{Time: time.Now().Add(time.Minute)}}}, 0, false},
		{"secondary rate limit", &github.AbuseRateLimitError{Response: &http.Response{StatusCode: 403}, RetryAfter: ptr(time.Minute)}, 0, false},
	}
	for _, tt := range tests {
		status, ok := Refused(tt.err)
		if status != tt.status || ok != tt.ok {
			t.Errorf("%s: Refused = %d %v, want %d %v", tt.name, status, ok, tt.status, tt.ok)
		}
	}
}

func ptr[T any](v T) *T { return &v }
