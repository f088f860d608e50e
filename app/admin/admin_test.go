package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

const token = "s3cret-admin-token-for-tests"

// fakeStore records retries and answers with canned jobs and errors.
type fakeStore struct {
	mu       sync.Mutex
	jobs     []queue.FailedJob
	retryErr error
	retried  []int64
}

func (f *fakeStore) FailedJobs(context.Context, int) ([]queue.FailedJob, error) { return f.jobs, nil }

func (f *fakeStore) RetryJob(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, id)
	return f.retryErr
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type request struct {
	method, path string
	form         url.Values
	header       map[string]string
	cookies      []*http.Cookie
}

func do(h http.Handler, rq request) *http.Response {
	var body io.Reader
	if rq.form != nil {
		body = strings.NewReader(rq.form.Encode())
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	for _, c := range rq.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signIn posts the token to the login form and returns the session cookie.
func signIn(t *testing.T, h http.Handler) *http.Cookie {
	t.Helper()
	resp := do(h, request{method: "POST", path: "/admin/login", form: url.Values{"token": {token}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d; want 303", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatal("sign-in set no session cookie")
	return nil
}

func TestDisabledWithoutToken(t *testing.T) {
	h := Handler(&fakeStore{}, Options{Logger: quiet()})
	for _, rq := range []request{
		{method: "GET", path: "/admin/jobs"},
		{method: "GET", path: "/admin/jobs.json", header: map[string]string{"Authorization": "Bearer "}},
		{method: "POST", path: "/admin/jobs/1/retry"},
		{method: "POST", path: "/admin/login", form: url.Values{"token": {""}}},
	} {
		if resp := do(h, rq); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s without a configured token = %d; want 404", rq.method, rq.path, resp.StatusCode)
		}
	}
}

func TestAuthentication(t *testing.T) {
	store := &fakeStore{}
	h := Handler(store, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	session := signIn(t, h)
	hd := &handler{token: []byte(token)}
	past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	expired := &http.Cookie{Name: sessionCookie, Value: hd.sessionValue(past, "x")}
	future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	forged := &http.Cookie{Name: sessionCookie, Value: (&handler{token: []byte("other")}).sessionValue(future, "x")}
	rawToken := &http.Cookie{Name: sessionCookie, Value: token}

	tests := []struct {
		name    string
		header  map[string]string
		cookies []*http.Cookie
		want    int
	}{
		{"nothing", nil, nil, http.StatusUnauthorized},
		{"wrong bearer", map[string]string{"Authorization": "Bearer " + token + "x"}, nil, http.StatusUnauthorized},
		{"token without Bearer", map[string]string{"Authorization": token}, nil, http.StatusUnauthorized},
		{"basic auth", map[string]string{"Authorization": "Basic " + token}, nil, http.StatusUnauthorized},
		{"bearer", map[string]string{"Authorization": "Bearer " + token}, nil, http.StatusOK},
		{"session cookie", nil, []*http.Cookie{session}, http.StatusOK},
		{"expired cookie", nil, []*http.Cookie{expired}, http.StatusUnauthorized},
		{"cookie signed with another token", nil, []*http.Cookie{forged}, http.StatusUnauthorized},
		{"the token itself as cookie", nil, []*http.Cookie{rawToken}, http.StatusUnauthorized},
		// A wrong bearer is not rescued by a good cookie: a script that
		// sends a stale token should learn so.
		{"wrong bearer, good cookie", map[string]string{"Authorization": "Bearer nope"}, []*http.Cookie{session}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		for _, path := range []string{"/admin/jobs", "/admin/jobs.json"} {
			resp := do(h, request{method: "GET", path: path, header: tt.header, cookies: tt.cookies})
			if resp.StatusCode != tt.want {
				t.Errorf("%s: GET %s = %d; want %d", tt.name, path, resp.StatusCode, tt.want)
			}
			if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: GET %s: 401 without WWW-Authenticate", tt.name, path)
			}
		}
		resp := do(h, request{method: "POST", path: "/admin/jobs/7/retry", header: tt.header, cookies: tt.cookies})
		if tt.want == http.StatusUnauthorized && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: retry = %d; want 401", tt.name, resp.StatusCode)
		}
	}
	if len(store.retried) != 1 {
		// Only the bearer case may retry (the cookie case lacks a CSRF token).
		t.Errorf("RetryJob called for %v; want once, by the bearer", store.retried)
	}
}

func TestPageListsJobsEscaped(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	store := &fakeStore{jobs: []queue.FailedJob{
		{ID: 41, Kind: "webhook", State: "cancelled", Queue: "priority", Attempt: 1, MaxAttempts: 12,
			Args: `delivery=<img src=x> feature=dco event=pull_request`, LastError: `<script>alert("x")</script>`, At: at},
		{ID: 42, Kind: "task", State: "discarded", Queue: "default", Attempt: 12, MaxAttempts: 12,
			Args: "task=poll key=all", LastError: strings.Repeat("é", 500), At: at},
	}}
	h := Handler(store, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	resp := do(h, request{method: "GET", path: "/admin/jobs", cookies: []*http.Cookie{signIn(t, h)}})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/jobs = %d; want 200", resp.StatusCode)
	}
	wantHeaders := map[string]string{
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
		"Content-Type":            "text/html; charset=utf-8",
	}
	for k, v := range wantHeaders {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, v) {
			t.Errorf("header %s = %q; want it to start with %q", k, got, v)
		}
	}
	tests := []struct {
		what   string
		substr string
		want   bool
	}{
		{"error escaped", `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`, true},
		{"no raw script", `<script>`, false},
		{"args escaped", `delivery=&lt;img src=x&gt;`, true},
		{"no raw img", `<img`, false},
		{"retry form of 41", `action="/admin/jobs/41/retry"`, true},
		{"retry form of 42", `action="/admin/jobs/42/retry"`, true},
		{"attempts", `12/12`, true},
		{"time", `2026-03-04 05:06:07 UTC`, true},
		{"long error truncated", strings.Repeat("é", 200) + "…", true},
		{"long error not whole in the cell", ">" + strings.Repeat("é", 201), false},
		{"sign-out for a session", `action="/admin/logout"`, true},
	}
	for _, tt := range tests {
		if strings.Contains(body, tt.substr) != tt.want {
			t.Errorf("%s: page contains %q = %v; want %v", tt.what, tt.substr, !tt.want, tt.want)
		}
	}
	if strings.Count(body, `name="csrf"`) != 3 {
		t.Errorf("page has %d CSRF fields; want one per job and one for sign-out", strings.Count(body, `name="csrf"`))
	}
}

func TestJobsJSON(t *testing.T) {
	store := &fakeStore{jobs: []queue.FailedJob{{ID: 5, Kind: "webhook", State: "discarded", Delivery: "d-5", Args: "delivery=d-5 feature=dco event=push"}}}
	h := Handler(store, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	resp := do(h, request{method: "GET", path: "/admin/jobs.json", header: map[string]string{"Authorization": "Bearer " + token}})
	var got struct{ Jobs []queue.FailedJob }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(got.Jobs) != 1 || got.Jobs[0].ID != 5 || got.Jobs[0].Delivery != "d-5" {
		t.Errorf("jobs.json = %d %+v; want 200 with job 5 of delivery d-5", resp.StatusCode, got)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("jobs.json Cache-Control = %q; want no-store", resp.Header.Get("Cache-Control"))
	}
}

func TestRetry(t *testing.T) {
	hd := &handler{token: []byte(token)}
	tests := []struct {
		name       string
		bearer     bool
		csrf       func(session string) string
		header     map[string]string
		retryErr   error
		wantStatus int
		wantRetry  bool
		wantFlash  string
	}{
		{name: "cookie without CSRF", csrf: func(string) string { return "" }, wantStatus: 403},
		{name: "cookie with another job's CSRF", csrf: func(s string) string { return hd.csrf(session{value: s}, "retry", "8") }, wantStatus: 403},
		{name: "cookie with another session's CSRF", csrf: func(string) string { return hd.csrf(session{value: "old"}, "retry", "7") }, wantStatus: 403},
		{name: "cookie, cross-site", csrf: func(s string) string { return hd.csrf(session{value: s}, "retry", "7") },
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
		{name: "cookie with CSRF", csrf: func(s string) string { return hd.csrf(session{value: s}, "retry", "7") },
			wantStatus: 303, wantRetry: true, wantFlash: "Job 7 will run again shortly."},
		{name: "cookie with CSRF, payload gone", csrf: func(s string) string { return hd.csrf(session{value: s}, "retry", "7") },
			retryErr: fmt.Errorf("retry job 7: %w", queue.ErrPayloadExpired), wantStatus: 303, wantRetry: true,
			wantFlash: "retry job 7: " + queue.ErrPayloadExpired.Error()},
		{name: "cookie with CSRF, database down", csrf: func(s string) string { return hd.csrf(session{value: s}, "retry", "7") },
			retryErr: errors.New("dial tcp: secret-host:5432 refused"), wantStatus: 303, wantRetry: true,
			wantFlash: "Could not retry job 7; the logs say why."},
		{name: "bearer needs no CSRF", bearer: true, wantStatus: 303, wantRetry: true, wantFlash: "Job 7 will run again shortly."},
		{name: "bearer asking for JSON", bearer: true, header: map[string]string{"Accept": "application/json"}, wantStatus: 200, wantRetry: true},
		{name: "bearer, JSON, job gone", bearer: true, header: map[string]string{"Accept": "application/json"},
			retryErr: queue.ErrJobNotFound, wantStatus: 404, wantRetry: true},
		{name: "bearer, JSON, not failed", bearer: true, header: map[string]string{"Accept": "application/json"},
			retryErr: queue.ErrNotRetryable, wantStatus: 409, wantRetry: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{retryErr: tt.retryErr}
			h := Handler(store, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
			rq := request{method: "POST", path: "/admin/jobs/7/retry", header: map[string]string{}, form: url.Values{}}
			for k, v := range tt.header {
				rq.header[k] = v
			}
			if tt.bearer {
				rq.header["Authorization"] = "Bearer " + token
			} else {
				session := signIn(t, h)
				rq.cookies = []*http.Cookie{session}
				if c := tt.csrf(session.Value); c != "" {
					rq.form.Set("csrf", c)
				}
			}
			resp := do(h, rq)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("retry = %d; want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := len(store.retried) == 1 && store.retried[0] == 7; got != tt.wantRetry {
				t.Errorf("RetryJob calls = %v; want a call for 7: %v", store.retried, tt.wantRetry)
			}
			if tt.wantStatus != http.StatusSeeOther {
				return
			}
			if loc := resp.Header.Get("Location"); loc != "/admin/jobs" {
				t.Errorf("redirect to %q; want /admin/jobs", loc)
			}
			// The next page shows the flash message once.
			next := request{method: "GET", path: "/admin/jobs", header: map[string]string{}, cookies: append(rq.cookies, resp.Cookies()...)}
			if tt.bearer {
				next.header["Authorization"] = "Bearer " + token
			}
			page := readBody(t, do(h, next))
			if !strings.Contains(page, `role="status">`+htmlEscaped(tt.wantFlash)+`</p>`) {
				t.Errorf("page after the retry lacks the flash %q:\n%s", tt.wantFlash, page)
			}
		})
	}
}

// htmlEscaped escapes s as html/template does for the flash messages tested.
func htmlEscaped(s string) string {
	return strings.NewReplacer(`'`, "&#39;", `"`, "&#34;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestForgedFlashIsIgnored(t *testing.T) {
	h := Handler(&fakeStore{}, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	forged := &http.Cookie{Name: flashCookie, Value: "Q2FsbCAxMjM.bogus"}
	page := readBody(t, do(h, request{method: "GET", path: "/admin/jobs", header: map[string]string{"Authorization": "Bearer " + token}, cookies: []*http.Cookie{forged}}))
	if strings.Contains(page, "Call 123") || strings.Contains(page, `role="status"`) {
		t.Errorf("a flash cookie not signed with the token was shown:\n%s", page)
	}
}

func TestLogin(t *testing.T) {
	h := Handler(&fakeStore{}, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	tests := []struct {
		name       string
		token      string
		header     map[string]string
		wantStatus int
		wantSecure bool
	}{
		{"wrong token", "guess", nil, http.StatusUnauthorized, false},
		{"empty token", "", nil, http.StatusUnauthorized, false},
		{"right token over http", token, nil, http.StatusSeeOther, false},
		{"right token behind an https proxy", token, map[string]string{"X-Forwarded-Proto": "https"}, http.StatusSeeOther, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(h, request{method: "POST", path: "/admin/login", form: url.Values{"token": {tt.token}}, header: tt.header})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("login = %d; want %d", resp.StatusCode, tt.wantStatus)
			}
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == sessionCookie {
					session = c
				}
			}
			if tt.wantStatus != http.StatusSeeOther {
				if session != nil {
					t.Errorf("refused login set a session cookie %v", session)
				}
				return
			}
			switch {
			case session == nil:
				t.Fatal("no session cookie")
			case !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure != tt.wantSecure:
				t.Errorf("cookie HttpOnly=%v SameSite=%v Secure=%v; want true, Strict, %v", session.HttpOnly, session.SameSite, session.Secure, tt.wantSecure)
			case strings.Contains(session.Value, token):
				t.Error("the cookie holds the token itself")
			}
			if resp := do(h, request{method: "GET", path: "/admin/jobs", cookies: []*http.Cookie{session}}); resp.StatusCode != http.StatusOK {
				t.Errorf("page with the new session = %d; want 200", resp.StatusCode)
			}
		})
	}
}

func TestLogoutNeedsCSRF(t *testing.T) {
	h := Handler(&fakeStore{}, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	session := signIn(t, h)
	if resp := do(h, request{method: "POST", path: "/admin/logout", form: url.Values{}, cookies: []*http.Cookie{session}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF = %d; want 403", resp.StatusCode)
	}
	resp := do(h, request{method: "POST", path: "/admin/logout", form: url.Values{"csrf": {csrfFor(session, "logout")}}, cookies: []*http.Cookie{session}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d; want 303", resp.StatusCode)
	}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || (c.Name == sessionCookie && c.MaxAge < 0)
	}
	if !cleared {
		t.Error("logout did not clear the session cookie")
	}
}

// Every secret a request brings is compared in constant time.
func TestConstantTimeCompareUsed(t *testing.T) {
	h := Handler(&fakeStore{}, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	session := signIn(t, h)
	tests := []struct {
		name string
		rq   request
	}{
		{"bearer", request{method: "GET", path: "/admin/jobs.json", header: map[string]string{"Authorization": "Bearer x"}}},
		{"login", request{method: "POST", path: "/admin/login", form: url.Values{"token": {"x"}}}},
		{"session cookie", request{method: "GET", path: "/admin/jobs", cookies: []*http.Cookie{session}}},
		{"CSRF", request{method: "POST", path: "/admin/jobs/1/retry", form: url.Values{"csrf": {csrfFor(session, "retry", "2")}}, cookies: []*http.Cookie{session}}},
	}
	defer func(orig func(x, y []byte) int) { constantTimeCompare = orig }(constantTimeCompare)
	for _, tt := range tests {
		calls := 0
		constantTimeCompare = func(x, y []byte) int {
			calls++
			if string(x) == string(y) {
				return 1
			}
			return 0
		}
		do(h, tt.rq)
		// The CSRF case compares twice: the session, then the form's token.
		want := 1
		if tt.name == "CSRF" {
			want = 2
		}
		if calls != want {
			t.Errorf("%s: %d constant-time comparisons; want %d", tt.name, calls, want)
		}
	}
}

// The view over a real queue: a delivery its handler refused is listed,
// and its Retry button runs it again.
func TestWithQueue(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	refuse := true
	q, err := queue.Open(ctx, filepath.Join(t.TempDir(), "contribot.db"), queue.Options{
		Logger: quiet(),
		Schema: Schema,
		Handler: queue.HandlerFunc(func(context.Context, queue.Job) error {
			mu.Lock()
			defer mu.Unlock()
			if refuse {
				return queue.Permanent(errors.New("refused: <no write access>"))
			}
			return nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	if _, err := q.Enqueue(ctx, "d-1", "pull_request", []byte(`{}`), []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h := Handler(q, Options{Token: token, DB: q.DB(), Logger: quiet()})
	session := signIn(t, h)
	var page string
	waitFor(t, "the refused job on the page", func() bool {
		page = readBody(t, do(h, request{method: "GET", path: "/admin/jobs", cookies: []*http.Cookie{session}}))
		return strings.Contains(page, "delivery=d-1 feature=dco event=pull_request")
	})
	if !strings.Contains(page, "refused: &lt;no write access&gt;") || !strings.Contains(page, ">cancelled<") {
		t.Fatalf("page lacks the job's state and escaped error:\n%s", page)
	}
	jobs, err := q.FailedJobs(ctx, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("FailedJobs = %v, %v; want one", jobs, err)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	id := strconv.FormatInt(jobs[0].ID, 10)
	resp := do(h, request{method: "POST", path: "/admin/jobs/" + id + "/retry", form: url.Values{"csrf": {csrfFor(session, "retry", id)}}, cookies: []*http.Cookie{session}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry = %d; want 303", resp.StatusCode)
	}
	waitFor(t, "the retried job to finish", func() bool {
		jobs, err := q.FailedJobs(ctx, 10)
		return err == nil && len(jobs) == 0
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
