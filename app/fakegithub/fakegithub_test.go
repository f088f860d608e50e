package fakegithub_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// --- helpers ---

// client is a go-github client for installation inst, with a token minted
// out of band so that tests of other endpoints see no token traffic.
func client(t *testing.T, s *fakegithub.Server, inst int64) *github.Client {
	t.Helper()
	return clientWithToken(t, s, s.IssueToken(inst))
}

func clientWithToken(t *testing.T, s *fakegithub.Server, tok string) *github.Client {
	t.Helper()
	c := github.NewClient(s.Client()).WithAuthToken(tok)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// do sends a raw request with token tok ("" for none) and returns the
// response with its body read.
func do(t *testing.T, s *fakegithub.Server, method, path, tok string, hdr map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "token "+tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func commits(n int, prefix string) []*github.RepositoryCommit {
	out := make([]*github.RepositoryCommit, n)
	for i := range out {
		sha := fmt.Sprintf("%s%039x", prefix, i)[:40]
		out[i] = fakegithub.Commit(sha, fmt.Sprintf("change %d\n\nSigned-off-by: A <a@example.com>", i),
			&github.CommitAuthor{Name: github.String("A"), Email: github.String("a@example.com")}, nil, "alice")
	}
	return out
}

func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

func appKey(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return key
}

func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e.Message
}

// --- authentication ---

func TestTokenCreationWithJWTAndCallRecording(t *testing.T) {
	s := fakegithub.New(t)
	k := appKey(t)
	s.SetAppPublicKey(&k.PublicKey)
	s.SetAppID(42, "contribot")
	s.SetFile("o", "r", ".github/contribot.yml", []byte("dco: {}\n"))

	now := time.Now().Unix()
	jwt := signJWT(t, k, map[string]any{"iat": now - 60, "exp": now + 540, "iss": "42"})
	app := github.NewClient(s.Client()).WithAuthToken(jwt)
	app.BaseURL, _ = url.Parse(s.URL())
	tok, resp, err := app.Apps.CreateInstallationToken(context.Background(), 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(tok.GetToken(), "ghs_fake") || len(tok.GetToken()) != 40 {
		t.Fatalf("token answer %d %q", resp.StatusCode, tok.GetToken())
	}
	if d := time.Until(tok.GetExpiresAt().Time); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires_at %v is not an hour away", tok.GetExpiresAt())
	}
	if tok.GetPermissions().GetChecks() != "write" {
		t.Errorf("permissions %v", tok.GetPermissions())
	}
	tok2, _, err := app.Apps.CreateInstallationToken(context.Background(), 7, nil)
	if err != nil || tok2.GetToken() == tok.GetToken() {
		t.Fatalf("second token %q (err %v) must differ from %q", tok2.GetToken(), err, tok.GetToken())
	}

	gh := clientWithToken(t, s, tok.GetToken())
	if _, _, _, err := gh.Repositories.GetContents(context.Background(), "o", "r", ".github/contribot.yml", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Organizations.IsMember(context.Background(), "o", "bob"); err != nil {
		t.Fatal(err)
	}

	wantAll := []string{
		"POST /app/installations/7/access_tokens",
		"POST /app/installations/7/access_tokens",
		"GET /repos/o/r/contents/.github/contribot.yml",
		"GET /orgs/o/members/bob",
	}
	if got := s.AllCalls(); !slices.Equal(got, wantAll) {
		t.Errorf("AllCalls\n got %q\nwant %q", got, wantAll)
	}
	if got, want := s.Calls(), wantAll[2:]; !slices.Equal(got, want) {
		t.Errorf("Calls\n got %q\nwant %q", got, want)
	}
	reqs := s.Requests()
	for i, r := range reqs {
		if r.Installation != 7 {
			t.Errorf("request %d %s: Installation %d, want 7", i, r.Call(), r.Installation)
		}
	}
	if reqs[3].Status != http.StatusNotFound {
		t.Errorf("non-member answered %d, want 404", reqs[3].Status)
	}
	if got := reqs[2].Header.Get("Authorization"); got != "Bearer "+tok.GetToken() {
		t.Errorf("recorded Authorization %q", got)
	}
	s.Reset()
	if len(s.Requests()) != 0 || len(s.AllCalls()) != 0 {
		t.Error("Reset kept requests")
	}
}

func TestAppJWTRejected(t *testing.T) {
	s := fakegithub.New(t)
	k := appKey(t)
	s.SetAppPublicKey(&k.PublicKey)
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	cases := []struct {
		name string
		auth string
		want string
	}{
		{"no header", "", "A JSON web token could not be decoded"},
		{"not a JWT", "Bearer nope", "A JSON web token could not be decoded"},
		{"other key", "Bearer " + signJWT(t, other, map[string]any{"iat": now - 60, "exp": now + 300, "iss": "1"}), "A JSON web token could not be decoded"},
		{"other app", "Bearer " + signJWT(t, k, map[string]any{"iat": now - 60, "exp": now + 300, "iss": "2"}), "A JSON web token could not be decoded"},
		{"expired", "Bearer " + signJWT(t, k, map[string]any{"iat": now - 700, "exp": now - 60, "iss": 1}),
			"'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"},
		{"exp too far", "Bearer " + signJWT(t, k, map[string]any{"iat": now, "exp": now + 660, "iss": 1}),
			"'Expiration time' claim ('exp') is too far in the future"},
		{"iat in future", "Bearer " + signJWT(t, k, map[string]any{"iat": now + 120, "exp": now + 300, "iss": 1}),
			"'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			resp, body := do(t, s, "POST", "/app/installations/1/access_tokens", "", hdr, "")
			if resp.StatusCode != http.StatusUnauthorized || errorMessage(t, body) != tc.want {
				t.Errorf("got %d %s, want 401 %q", resp.StatusCode, body, tc.want)
			}
		})
	}
	good := signJWT(t, k, map[string]any{"iat": now - 60, "exp": now + 600, "iss": 1})
	if resp, body := do(t, s, "POST", "/app/installations/1/access_tokens", "", map[string]string{"Authorization": "Bearer " + good}, ""); resp.StatusCode != http.StatusCreated {
		t.Errorf("valid JWT: %d %s", resp.StatusCode, body)
	}
}

func TestTokensWithoutAppKeyAndPermissions(t *testing.T) {
	s := fakegithub.New(t)
	// Without a key any caller may mint tokens; narrowing must stay within
	// what the installation was granted.
	resp, body := do(t, s, "POST", "/app/installations/3/access_tokens", "", nil, `{"permissions":{"checks":"read"}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var tok struct {
		Token       string            `json:"token"`
		Permissions map[string]string `json:"permissions"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	if !maps(tok.Permissions, map[string]string{"checks": "read"}) {
		t.Errorf("permissions %v", tok.Permissions)
	}
	gh := clientWithToken(t, s, tok.Token)
	_, r, err := gh.Checks.CreateCheckRun(context.Background(), "o", "r", github.CreateCheckRunOptions{Name: "DCO", HeadSHA: strings.Repeat("a", 40)})
	if r == nil || r.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Fatalf("check run with read-only token: %v", err)
	}
	if got := r.Header.Get("X-Accepted-GitHub-Permissions"); got != "checks=write" {
		t.Errorf("X-Accepted-GitHub-Permissions %q", got)
	}
	resp, body = do(t, s, "POST", "/app/installations/3/access_tokens", "", nil, `{"permissions":{"administration":"write"}}`)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("permission beyond the installation: %d %s", resp.StatusCode, body)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRevokedAndMissingTokens(t *testing.T) {
	s := fakegithub.New(t)
	s.SetPRCommits("o", "r", 1, commits(1, "a"))
	old := s.IssueToken(5)
	if resp, _ := do(t, s, "GET", "/repos/o/r/pulls/1/commits", old, nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh token: %d", resp.StatusCode)
	}
	s.RevokeTokens()
	fresh := s.IssueToken(5)
	const bad = `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`
	for _, tok := range []string{old, "", "ghs_unknown"} {
		resp, body := do(t, s, "GET", "/repos/o/r/pulls/1/commits", tok, nil, "")
		if resp.StatusCode != http.StatusUnauthorized || string(body) != bad {
			t.Errorf("token %q: %d %s", tok, resp.StatusCode, body)
		}
	}
	// "Bearer" works as well as "token", as on GitHub.
	if resp, _ := do(t, s, "GET", "/repos/o/r/pulls/1/commits", "", map[string]string{"Authorization": "Bearer " + fresh}, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("token issued after revocation: %d", resp.StatusCode)
	}
	var installations []int64
	for _, r := range s.Requests() {
		installations = append(installations, r.Installation)
	}
	if want := []int64{5, 0, 0, 0, 5}; !slices.Equal(installations, want) {
		t.Errorf("Installation per request %v, want %v", installations, want)
	}
}

func TestTokenExpiresOnTheFakeClock(t *testing.T) {
	s := fakegithub.New(t)
	now := time.Now()
	var mu sync.Mutex
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	s.SetFile("o", "r", "f", []byte("x"))
	tok := s.IssueToken(1)
	if resp, _ := do(t, s, "GET", "/repos/o/r/contents/f", tok, nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if resp, _ := do(t, s, "GET", "/repos/o/r/contents/f", tok, nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token answered %d", resp.StatusCode)
	}
}

// --- pagination ---

func TestPRCommitsStopAt250(t *testing.T) {
	s := fakegithub.New(t)
	s.SetPRCommits("o", "r", 9, commits(300, "a"))
	gh := client(t, s, 1)

	var got []*github.RepositoryCommit
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := gh.PullRequests.ListCommits(context.Background(), "o", "r", 9, opts)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(got) != 250 || got[249].GetSHA() != commits(300, "a")[249].GetSHA() {
		t.Fatalf("listed %d commits, want the first 250", len(got))
	}
	want := []string{
		"GET /repos/o/r/pulls/9/commits?per_page=100",
		"GET /repos/o/r/pulls/9/commits?page=2&per_page=100",
		"GET /repos/o/r/pulls/9/commits?page=3&per_page=100",
	}
	if calls := s.Calls(); !slices.Equal(calls, want) {
		t.Errorf("calls\n got %q\nwant %q", calls, want)
	}

	// Link headers as GitHub writes them: prev, next, last, first.
	base := s.URL() + "repos/o/r/pulls/9/commits"
	tok := s.IssueToken(1)
	resp, _ := do(t, s, "GET", "/repos/o/r/pulls/9/commits?per_page=100", tok, nil, "")
	if l, w := resp.Header.Get("Link"), fmt.Sprintf(`<%[1]s?per_page=100&page=2>; rel="next", <%[1]s?per_page=100&page=3>; rel="last"`, base); l != w {
		t.Errorf("page 1 Link\n got %s\nwant %s", l, w)
	}
	resp, _ = do(t, s, "GET", "/repos/o/r/pulls/9/commits?per_page=100&page=2", tok, nil, "")
	if l, w := resp.Header.Get("Link"), fmt.Sprintf(`<%[1]s?per_page=100&page=1>; rel="prev", <%[1]s?per_page=100&page=3>; rel="next", <%[1]s?per_page=100&page=3>; rel="last", <%[1]s?per_page=100&page=1>; rel="first"`, base); l != w {
		t.Errorf("page 2 Link\n got %s\nwant %s", l, w)
	}
	resp, body := do(t, s, "GET", "/repos/o/r/pulls/9/commits?per_page=100&page=3", tok, nil, "")
	if l, w := resp.Header.Get("Link"), fmt.Sprintf(`<%[1]s?per_page=100&page=2>; rel="prev", <%[1]s?per_page=100&page=1>; rel="first"`, base); l != w {
		t.Errorf("page 3 Link\n got %s\nwant %s", l, w)
	}
	var last []json.RawMessage
	if err := json.Unmarshal(body, &last); err != nil || len(last) != 50 {
		t.Errorf("page 3 has %d commits (err %v), want 50", len(last), err)
	}
	// Default page size is 30 and per_page is capped at 100.
	resp, body = do(t, s, "GET", "/repos/o/r/pulls/9/commits?per_page=1000", tok, nil, "")
	if err := json.Unmarshal(body, &last); err != nil || len(last) != 100 || !strings.Contains(resp.Header.Get("Link"), "page=3>; rel=\"last\"") {
		t.Errorf("per_page=1000 gave %d commits, Link %s", len(last), resp.Header.Get("Link"))
	}
	_, body = do(t, s, "GET", "/repos/o/r/pulls/9/commits", tok, nil, "")
	if err := json.Unmarshal(body, &last); err != nil || len(last) != 30 {
		t.Errorf("default page has %d commits", len(last))
	}
}

func TestCompareAndListCommitsPaginate(t *testing.T) {
	s := fakegithub.New(t)
	all := commits(300, "b")
	s.SetCompare("o", "r", "main", "feature", all)
	s.SetCommits("o", "r", "feature", all)
	gh := client(t, s, 1)

	var got []*github.RepositoryCommit
	opts := &github.ListOptions{PerPage: 100}
	var total int
	for {
		cmp, resp, err := gh.Repositories.CompareCommits(context.Background(), "o", "r", "main", "feature", opts)
		if err != nil {
			t.Fatal(err)
		}
		total = cmp.GetTotalCommits()
		got = append(got, cmp.Commits...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(got) != 300 || total != 300 || got[299].GetSHA() != all[299].GetSHA() {
		t.Fatalf("compare listed %d commits, total_commits %d; want all 300", len(got), total)
	}

	// Without paging parameters GitHub sends the 250 most recent commits.
	cmp, _, err := gh.Repositories.CompareCommits(context.Background(), "o", "r", "main", "feature", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Commits) != 250 || cmp.Commits[0].GetSHA() != all[50].GetSHA() || cmp.GetTotalCommits() != 300 || cmp.GetAheadBy() != 300 {
		t.Errorf("unpaged compare: %d commits from %s, total %d", len(cmp.Commits), cmp.Commits[0].GetSHA(), cmp.GetTotalCommits())
	}
	if cmp.GetBaseCommit().GetSHA() == "" || cmp.GetStatus() != "ahead" {
		t.Errorf("base commit %q status %q", cmp.GetBaseCommit().GetSHA(), cmp.GetStatus())
	}

	if _, resp, err := gh.Repositories.CompareCommits(context.Background(), "o", "r", "main", "nope", nil); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown comparison: %v", err)
	}

	var listed []*github.RepositoryCommit
	lopts := &github.CommitsListOptions{SHA: "feature", ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := gh.Repositories.ListCommits(context.Background(), "o", "r", lopts)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page...)
		if resp.NextPage == 0 {
			break
		}
		lopts.Page = resp.NextPage
	}
	if len(listed) != 300 {
		t.Errorf("list commits gave %d, want 300 (no 250 cap there)", len(listed))
	}
	if _, resp, _ := gh.Repositories.ListCommits(context.Background(), "o", "r", &github.CommitsListOptions{SHA: "gone"}); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown sha answered %v", resp)
	}
}

// --- conditional requests and quota ---

func TestETagAnd304CostNoQuota(t *testing.T) {
	s := fakegithub.New(t)
	s.SetPRCommits("o", "r", 1, commits(2, "c"))
	s.SetFile("o", "r", ".github/contribot.yml", []byte("a: 1\n"))
	tok := s.IssueToken(11)

	resp, _ := do(t, s, "GET", "/repos/o/r/pulls/1/commits", tok, nil, "")
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) || resp.Header.Get("X-RateLimit-Remaining") != "4999" || resp.Header.Get("X-RateLimit-Used") != "1" {
		t.Fatalf("first answer: ETag %q remaining %s used %s", etag, resp.Header.Get("X-RateLimit-Remaining"), resp.Header.Get("X-RateLimit-Used"))
	}
	for _, inm := range []string{etag, strings.TrimPrefix(etag, "W/"), `"other", ` + etag} {
		resp, body := do(t, s, "GET", "/repos/o/r/pulls/1/commits", tok, map[string]string{"If-None-Match": inm}, "")
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d, %d bytes, ETag %q", inm, resp.StatusCode, len(body), resp.Header.Get("ETag"))
		}
		if got := resp.Header.Get("X-RateLimit-Remaining"); got != "4999" {
			t.Errorf("a 304 cost quota: remaining %s", got)
		}
	}
	s.SetPRCommits("o", "r", 1, commits(3, "c"))
	resp, _ = do(t, s, "GET", "/repos/o/r/pulls/1/commits", tok, map[string]string{"If-None-Match": etag}, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || resp.Header.Get("X-RateLimit-Remaining") != "4998" {
		t.Errorf("after a change: %d ETag %q remaining %s", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("X-RateLimit-Remaining"))
	}
	statuses := []int{}
	for _, r := range s.Requests() {
		statuses = append(statuses, r.Status)
	}
	if want := []int{200, 304, 304, 304, 200}; !slices.Equal(statuses, want) {
		t.Errorf("recorded statuses %v, want %v", statuses, want)
	}
	if got := s.RateRemaining(11); got != 4998 {
		t.Errorf("RateRemaining %d", got)
	}
	if got := s.RateRemaining(12); got != 5000 {
		t.Errorf("another installation's quota moved: %d", got)
	}
}

func TestRateLimitHeadersAndExhaustion(t *testing.T) {
	s := fakegithub.New(t)
	s.SetFile("o", "r", "f", []byte("x"))
	gh := client(t, s, 21)
	ctx := context.Background()

	rl, _, err := gh.RateLimit.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rl.GetCore().Limit != 5000 || rl.GetCore().Remaining != 5000 {
		t.Errorf("rate_limit core %+v", rl.GetCore())
	}
	_, _, resp, err := gh.Repositories.GetContents(ctx, "o", "r", "f", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rate.Remaining != 4999 || resp.Rate.Limit != 5000 || resp.Rate.Reset.IsZero() {
		t.Errorf("rate after one call %+v", resp.Rate)
	}
	if id := resp.Header.Get("X-GitHub-Request-Id"); id == "" || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || resp.Header.Get("X-RateLimit-Resource") != "core" {
		t.Errorf("headers %v", resp.Header)
	}

	s.SetRateRemaining(21, 1)
	if _, _, _, err := gh.Repositories.GetContents(ctx, "o", "r", "f", nil); err != nil {
		t.Fatalf("last call of the quota: %v", err)
	}
	// go-github now refuses to send (it saw remaining 0); a new client shows
	// that the server refuses too.
	_, _, _, err = client(t, s, 21).Repositories.GetContents(ctx, "o", "r", "f", nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || !strings.Contains(rle.Message, "installation ID 21") {
		t.Fatalf("exhausted quota gave %v", err)
	}
	if got := s.Requests()[len(s.Requests())-1].Status; got != http.StatusForbidden {
		t.Errorf("recorded status %d", got)
	}
	// Another installation is unaffected.
	if _, _, _, err := client(t, s, 22).Repositories.GetContents(ctx, "o", "r", "f", nil); err != nil {
		t.Errorf("installation 22: %v", err)
	}
}

// --- faults ---

func TestFaults(t *testing.T) {
	s := fakegithub.New(t)
	s.SetFile("o", "r", "f", []byte("x"))
	ctx := context.Background()
	var seen []int
	var mu sync.Mutex
	s.Fault(func(r *http.Request, n int) *fakegithub.Fault {
		mu.Lock()
		seen = append(seen, n)
		mu.Unlock()
		switch n {
		case 1:
			return fakegithub.SecondaryRateLimit(30)
		case 2:
			return fakegithub.PrimaryRateLimit(time.Now().Add(time.Minute))
		case 3:
			return fakegithub.BadGateway()
		case 4:
			return &fakegithub.Fault{Delay: 2 * time.Second}
		}
		return nil
	})

	_, _, _, err := client(t, s, 1).Repositories.GetContents(ctx, "o", "r", "f", nil)
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.RetryAfter == nil || *abuse.RetryAfter != 30*time.Second {
		t.Errorf("secondary rate limit gave %v", err)
	}
	// go-github remembers rate limits per client, so each fault gets a new one.
	_, _, _, err = client(t, s, 1).Repositories.GetContents(ctx, "o", "r", "f", nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Rate.Remaining != 0 {
		t.Errorf("primary rate limit gave %v", err)
	}
	_, _, resp, err := client(t, s, 1).Repositories.GetContents(ctx, "o", "r", "f", nil)
	if resp == nil || resp.StatusCode != http.StatusBadGateway || err == nil {
		t.Errorf("bad gateway gave %v %v", resp, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, _, err := client(t, s, 1).Repositories.GetContents(tctx, "o", "r", "f", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delayed answer gave %v", err)
	}
	if time.Since(start) > time.Second {
		t.Error("client timeout did not cut the delay short")
	}
	if _, _, _, err := client(t, s, 1).Repositories.GetContents(ctx, "o", "r", "f", nil); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []int{1, 2, 3, 4, 5}) {
		t.Errorf("fault saw sequence numbers %v", seen)
	}
	var statuses []int
	for _, r := range s.Requests() {
		statuses = append(statuses, r.Status)
	}
	// The abandoned request (4) was never answered.
	if want := []int{403, 403, 502, 0, 200}; !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
}

func TestFaultSeesBodyAndHeaders(t *testing.T) {
	s := fakegithub.New(t)
	s.Fault(func(r *http.Request, n int) *fakegithub.Fault {
		b, _ := io.ReadAll(r.Body)
		if r.Method == "POST" && strings.Contains(string(b), `"name":"DCO"`) {
			return &fakegithub.Fault{Status: 500, Header: http.Header{"X-Extra": {"1"}}, Body: `{"message":"boom"}`}
		}
		return nil
	})
	gh := client(t, s, 1)
	_, resp, err := gh.Checks.CreateCheckRun(context.Background(), "o", "r", github.CreateCheckRunOptions{Name: "DCO", HeadSHA: strings.Repeat("a", 40)})
	if err == nil || resp.StatusCode != 500 || resp.Header.Get("X-Extra") != "1" || resp.Header.Get("X-GitHub-Request-Id") == "" {
		t.Fatalf("got %v %v", resp, err)
	}
	if len(s.CheckRuns("o", "r")) != 0 {
		t.Error("a faulted request changed state")
	}
	if got := string(s.Requests()[0].Body); !strings.Contains(got, `"head_sha"`) {
		t.Errorf("recorded body %q", got)
	}
}

func TestUnknownRouteIs404AndRecorded(t *testing.T) {
	s := fakegithub.New(t)
	tok := s.IssueToken(1)
	resp, body := do(t, s, "DELETE", "/repos/o/r/git/refs/heads/x", tok, nil, "")
	if resp.StatusCode != http.StatusNotFound || errorMessage(t, body) != "Not Found" || !strings.Contains(string(body), `"documentation_url"`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	// A known path with another method is GitHub's 404 too, not a 405.
	resp, _ = do(t, s, "PUT", "/repos/o/r/check-runs", tok, nil, "{}")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("PUT check-runs: %d", resp.StatusCode)
	}
	if got, want := s.Calls(), []string{"DELETE /repos/o/r/git/refs/heads/x", "PUT /repos/o/r/check-runs"}; !slices.Equal(got, want) {
		t.Errorf("calls %q", got)
	}
}

// --- endpoints ---

func TestContents(t *testing.T) {
	s := fakegithub.New(t)
	s.SetFile("O", "R", ".github/contribot.yml", []byte("hello\n"))
	gh := client(t, s, 1)
	ctx := context.Background()
	fc, _, _, err := gh.Repositories.GetContents(ctx, "o", "r", ".github/contribot.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fc.GetContent()
	if err != nil || got != "hello\n" {
		t.Errorf("content %q %v", got, err)
	}
	// The blob SHA git gives "hello\n" (git hash-object).
	if fc.GetSHA() != "ce013625030ba8dba906f756967f9e9ca394464a" || fc.GetType() != "file" || fc.GetName() != "contribot.yml" || fc.GetSize() != 6 {
		t.Errorf("metadata %s %s %s %d", fc.GetSHA(), fc.GetType(), fc.GetName(), fc.GetSize())
	}

	tok := s.IssueToken(1)
	resp, body := do(t, s, "GET", "/repos/o/r/contents/.github/contribot.yml", tok, map[string]string{"Accept": "application/vnd.github.raw+json"}, "")
	if resp.StatusCode != 200 || string(body) != "hello\n" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/vnd.github.raw") {
		t.Errorf("raw: %d %q %s", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}

	s.DeleteFile("o", "r", ".github/contribot.yml")
	_, _, resp2, err := gh.Repositories.GetContents(ctx, "o", "r", ".github/contribot.yml", nil)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp2.StatusCode != 404 || er.Message != "Not Found" || er.DocumentationURL == "" {
		t.Errorf("deleted file: %v", err)
	}
	big := make([]byte, 1<<20+1)
	s.SetFile("o", "r", "big.bin", big)
	_, body = do(t, s, "GET", "/repos/o/r/contents/big.bin", tok, nil, "")
	if !strings.Contains(string(body), `"encoding":"none"`) {
		t.Errorf("over 1 MB should come without content: %.200s", body)
	}
}

func TestMembershipAndPermission(t *testing.T) {
	s := fakegithub.New(t)
	s.SetMember("SCS", "Alice", true)
	s.SetMember("SCS", "bob", false)
	s.SetPermission("o", "r", "alice", "maintain")
	s.SetPermission("o", "r", "carol", "admin")
	gh := client(t, s, 1)
	ctx := context.Background()
	for login, want := range map[string]bool{"alice": true, "bob": false, "nobody": false} {
		got, _, err := gh.Organizations.IsMember(ctx, "scs", login)
		if err != nil || got != want {
			t.Errorf("IsMember(%s) = %v, %v; want %v", login, got, err, want)
		}
	}
	for login, want := range map[string][2]string{"alice": {"write", "maintain"}, "carol": {"admin", "admin"}, "dave": {"none", "none"}} {
		resp, body := do(t, s, "GET", "/repos/o/r/collaborators/"+login+"/permission", s.IssueToken(1), nil, "")
		var p struct {
			Permission string `json:"permission"`
			RoleName   string `json:"role_name"`
			User       struct {
				Login string `json:"login"`
				Type  string `json:"type"`
			} `json:"user"`
		}
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if p.Permission != want[0] || p.RoleName != want[1] || p.User.Login != login || p.User.Type != "User" {
			t.Errorf("%s: %+v", login, p)
		}
	}
	lvl, _, err := gh.Repositories.GetPermissionLevel(ctx, "o", "r", "alice")
	if err != nil || lvl.GetPermission() != "write" {
		t.Errorf("go-github permission %v %v", lvl, err)
	}
}

func TestCheckRuns(t *testing.T) {
	s := fakegithub.New(t)
	sha := strings.Repeat("d", 40)
	s.AddPullRequest("o", "r", &github.PullRequest{Number: github.Int(4), Head: &github.PullRequestBranch{SHA: github.String(sha), Ref: github.String("x")}})
	gh := client(t, s, 1)
	ctx := context.Background()
	cr, resp, err := gh.Checks.CreateCheckRun(ctx, "o", "r", github.CreateCheckRunOptions{
		Name: "DCO", HeadSHA: sha, Status: github.String("in_progress"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || cr.GetID() == 0 || cr.GetHTMLURL() == "" || cr.GetDetailsURL() == "" || cr.GetStatus() != "in_progress" || len(cr.PullRequests) != 1 || cr.PullRequests[0].GetNumber() != 4 {
		t.Fatalf("created %+v", cr)
	}
	upd, resp, err := gh.Checks.UpdateCheckRun(ctx, "o", "r", cr.GetID(), github.UpdateCheckRunOptions{
		Name:       "DCO",
		Conclusion: github.String("action_required"),
		DetailsURL: github.String("https://example.com/dco"),
		Output: &github.CheckRunOutput{Title: github.String("1 commit lacks a sign-off"), Summary: github.String("fix it"),
			Annotations: []*github.CheckRunAnnotation{{Path: github.String("README"), StartLine: github.Int(1), EndLine: github.Int(1), AnnotationLevel: github.String("failure"), Message: github.String("m")}}},
		Actions: []*github.CheckRunAction{{Label: "Set DCO to pass", Description: "Override the DCO check", Identifier: "override"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || upd.GetStatus() != "completed" || upd.GetCompletedAt().IsZero() || upd.GetOutput().GetAnnotationsCount() != 1 || len(upd.GetOutput().Annotations) != 0 {
		t.Errorf("updated %+v", upd)
	}
	runs := s.CheckRuns("O", "R")
	if len(runs) != 1 || runs[0].GetConclusion() != "action_required" || runs[0].GetDetailsURL() != "https://example.com/dco" ||
		runs[0].GetOutput().GetTitle() != "1 commit lacks a sign-off" || len(runs[0].GetOutput().Annotations) != 1 {
		t.Errorf("stored %+v", runs)
	}
	got, _, err := gh.Checks.GetCheckRun(ctx, "o", "r", cr.GetID())
	if err != nil || got.GetConclusion() != "action_required" {
		t.Errorf("get %v %v", got, err)
	}

	long := strings.Repeat("x", 65536)
	bad := []github.CreateCheckRunOptions{
		{HeadSHA: sha},
		{Name: "DCO", HeadSHA: "main"},
		{Name: "DCO", HeadSHA: sha, Status: github.String("completed")},
		{Name: "DCO", HeadSHA: sha, Conclusion: github.String("stale")},
		{Name: "DCO", HeadSHA: sha, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(long)}},
		{Name: "DCO", HeadSHA: sha, Output: &github.CheckRunOutput{Summary: github.String("s")}},
		{Name: "DCO", HeadSHA: sha, Actions: []*github.CheckRunAction{{Label: "this label is too long", Description: "d", Identifier: "i"}}},
	}
	for i, opts := range bad {
		_, resp, err := gh.Checks.CreateCheckRun(ctx, "o", "r", opts)
		if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("bad check run %d: %v", i, err)
		}
	}
	if _, resp, _ := gh.Checks.UpdateCheckRun(ctx, "o", "r", 999999, github.UpdateCheckRunOptions{Name: "DCO"}); resp == nil || resp.StatusCode != 404 {
		t.Errorf("update of unknown run: %v", resp)
	}
	if len(s.CheckRuns("o", "r")) != 1 {
		t.Error("rejected check runs were stored")
	}
}

func TestCommentsAndLabels(t *testing.T) {
	s := fakegithub.New(t)
	s.AddComment("o", "r", 3, "alice", "first")
	gh := client(t, s, 1)
	ctx := context.Background()
	c, resp, err := gh.Issues.CreateComment(ctx, "o", "r", 3, &github.IssueComment{Body: github.String("Welcome!")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || c.GetUser().GetLogin() != "contribot[bot]" || c.GetUser().GetType() != "Bot" || c.GetID() == 0 {
		t.Errorf("created %+v", c)
	}
	if _, _, err := gh.Issues.EditComment(ctx, "o", "r", c.GetID(), &github.IssueComment{Body: github.String("Welcome again!")}); err != nil {
		t.Fatal(err)
	}
	list, _, err := gh.Issues.ListComments(ctx, "o", "r", 3, nil)
	if err != nil || len(list) != 2 || list[1].GetBody() != "Welcome again!" {
		t.Errorf("list %v %v", list, err)
	}
	stored := s.Comments("o", "r", 3)
	if len(stored) != 2 || stored[0].GetUser().GetLogin() != "alice" || stored[1].GetBody() != "Welcome again!" {
		t.Errorf("stored %v", stored)
	}
	if _, resp, _ := gh.Issues.CreateComment(ctx, "o", "r", 3, &github.IssueComment{Body: github.String(strings.Repeat("é", 65537))}); resp == nil || resp.StatusCode != 422 {
		t.Errorf("over-long comment: %v", resp)
	}

	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "o", "r", 3, []string{"iaas", "upstream"}); err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, "o", "r", 3, "iaas"); err != nil {
		t.Fatal(err)
	}
	if got := s.Labels("o", "r", 3); !slices.Equal(got, []string{"upstream"}) {
		t.Errorf("labels %v", got)
	}
	if resp, _ := gh.Issues.RemoveLabelForIssue(ctx, "o", "r", 3, "iaas"); resp == nil || resp.StatusCode != 404 {
		t.Errorf("removing an absent label: %v", resp)
	}
}

// --- shapes ---

// missingKeys lists fields of GitHub's example (want) that got lacks or
// types differently; null in either is accepted as any type, since GitHub's
// examples and real answers differ there too.
func missingKeys(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			if got == nil {
				return nil
			}
			return []string{path + ": not an object"}
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, missingKeys(path+"."+k, wv, gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{path + ": not an array"}
		}
		if len(w) > 0 && len(g) > 0 {
			return missingKeys(path+"[0]", w[0], g[0])
		}
		return nil
	case nil:
		return nil
	default:
		if got != nil && fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			return []string{fmt.Sprintf("%s: %T, GitHub has %T", path, got, want)}
		}
		return nil
	}
}

func TestAnswersHaveGitHubsShape(t *testing.T) {
	s := fakegithub.New(t)
	sha := strings.Repeat("e", 40)
	s.SetPRCommits("o", "r", 1, []*github.RepositoryCommit{fakegithub.Commit(sha, "msg",
		&github.CommitAuthor{Name: github.String("Monalisa Octocat"), Email: github.String("support@github.com")}, nil, "octocat")})
	s.SetFile("o", "r", "README.md", []byte("# hi\n"))
	s.SetPRFiles("o", "r", 1, []*github.CommitFile{{Filename: github.String("file1.txt"), Status: github.String("added")}})
	s.SetRepoLabels("o", "r", &github.Label{Name: github.String("bug"), Color: github.String("f29513"), Description: github.String("Something isn't working")})
	tok := s.IssueToken(1)

	cases := []struct {
		fixture, method, path, body string
		// fields of GitHub's example the fake leaves out, with the reason
		ignore []string
	}{
		{"pulls-list-commits.json", "GET", "/repos/o/r/pulls/1/commits", "", nil},
		{"pulls-list-files.json", "GET", "/repos/o/r/pulls/1/files", "", nil},
		// GitHub documents the same label-items example for the repository's labels.
		{"issues-add-labels.json", "GET", "/repos/o/r/labels", "", nil},
		{"repos-get-content.file.json", "GET", "/repos/o/r/contents/README.md", "", nil},
		{"checks-create.json", "POST", "/repos/o/r/check-runs", `{"name":"DCO","head_sha":"` + sha + `","conclusion":"success","output":{"title":"t","summary":"s","text":"x"}}`,
			// permissions: those of GitHub's example App, not contribot's.
			[]string{".app.permissions."}},
		{"issues-create-comment.json", "POST", "/repos/o/r/issues/1/comments", `{"body":"hi"}`,
			// reactions and performed_via_github_app: not modelled.
			[]string{".reactions", ".performed_via_github_app"}},
		{"issues-add-labels.json", "POST", "/repos/o/r/issues/1/labels", `{"labels":["bug"]}`, nil},
		{"apps-create-installation-access-token.json", "POST", "/app/installations/1/access_tokens", `{}`,
			// repositories: listed by GitHub only for tokens limited to some.
			[]string{".repositories"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			raw, err := readFixture(tc.fixture)
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			resp, body := do(t, s, tc.method, tc.path, tok, nil, tc.body)
			if resp.StatusCode >= 300 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var got any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			var missing []string
			for _, m := range missingKeys("", want, got) {
				if !slices.ContainsFunc(tc.ignore, func(p string) bool { return strings.HasPrefix(m, p) }) {
					missing = append(missing, m)
				}
			}
			if len(missing) > 0 {
				t.Errorf("answer lacks GitHub's fields %v\n%s", missing, body)
			}
		})
	}
}

func TestCommitHelper(t *testing.T) {
	author := &github.CommitAuthor{Name: github.String("Dependabot"), Email: github.String("49699333+dependabot[bot]@users.noreply.github.com")}
	c := fakegithub.Commit(strings.Repeat("1", 40), "Bump x", author, nil, "dependabot[bot]")
	if c.GetAuthor().GetType() != "Bot" || c.GetAuthor().GetID() != 49699333 || c.GetCommitter().GetLogin() != "dependabot[bot]" {
		t.Errorf("bot author %+v committer %+v", c.GetAuthor(), c.GetCommitter())
	}
	web := &github.CommitAuthor{Name: github.String("GitHub"), Email: github.String("noreply@github.com")}
	c = fakegithub.Commit(strings.Repeat("2", 40), "Merge", author, web, "alice", fakegithub.CommitterLogin("web-flow"), fakegithub.Parents("a", "b"))
	if c.GetCommitter().GetLogin() != "web-flow" || len(c.Parents) != 2 || c.GetCommit().GetCommitter().GetName() != "GitHub" {
		t.Errorf("merge commit %+v", c)
	}
	c = fakegithub.Commit(strings.Repeat("3", 40), "x", author, web, "alice")
	if c.Committer != nil {
		t.Errorf("a different committer without a login should have no account, got %v", c.Committer)
	}

	// Unmatched accounts are sent as null, as GitHub does.
	s := fakegithub.New(t)
	s.SetPRCommits("o", "r", 1, []*github.RepositoryCommit{fakegithub.Commit(strings.Repeat("4", 40), "x", author, nil, "", fakegithub.Verified(""))})
	_, body := do(t, s, "GET", "/repos/o/r/pulls/1/commits", s.IssueToken(1), nil, "")
	var got []map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if v, ok := got[0]["author"]; !ok || v != nil {
		t.Errorf("author = %v (present %v), want null", v, ok)
	}
	ver := got[0]["commit"].(map[string]any)["verification"].(map[string]any)
	if ver["verified"] != true || ver["reason"] != "valid" {
		t.Errorf("verification %v", ver)
	}
}

// --- concurrency ---

func TestConcurrentUse(t *testing.T) {
	s := fakegithub.New(t)
	sha := strings.Repeat("f", 40)
	s.SetPRCommits("o", "r", 1, commits(5, "f"))
	const workers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	clients := make([]*github.Client, workers)
	for w := range clients {
		clients[w] = client(t, s, int64(100+w))
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gh := clients[w]
			for i := range each {
				var err error
				switch i % 4 {
				case 0:
					_, _, err = gh.PullRequests.ListCommits(context.Background(), "o", "r", 1, nil)
				case 1:
					_, _, err = gh.Checks.CreateCheckRun(context.Background(), "o", "r", github.CreateCheckRunOptions{Name: "DCO", HeadSHA: sha})
				case 2:
					_, _, err = gh.Issues.CreateComment(context.Background(), "o", "r", 1, &github.IssueComment{Body: github.String("x")})
				case 3:
					s.SetFile("o", "r", fmt.Sprintf("f%d", w), []byte("x"))
					_ = s.CheckRuns("o", "r")
					_ = s.Calls()
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	reqs := s.Requests()
	if want := workers * each * 3 / 4; len(reqs) != want {
		t.Errorf("%d requests recorded, want %d", len(reqs), want)
	}
	if got := len(s.CheckRuns("o", "r")); got != workers*each/4 {
		t.Errorf("%d check runs", got)
	}
	ids := map[int64]bool{}
	for _, cr := range s.CheckRuns("o", "r") {
		if ids[cr.GetID()] {
			t.Errorf("duplicate check run id %d", cr.GetID())
		}
		ids[cr.GetID()] = true
	}
	for w := range workers {
		if got := s.RateRemaining(int64(100 + w)); got != 5000-each*3/4 {
			t.Errorf("installation %d remaining %d", 100+w, got)
		}
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	s := fakegithub.New(t)
	seen := map[string]bool{}
	for range 50 {
		resp, _ := do(t, s, "GET", "/rate_limit", s.IssueToken(1), nil, "")
		id := resp.Header.Get("X-GitHub-Request-Id")
		if id == "" || seen[id] {
			t.Fatalf("request id %q repeated or empty", id)
		}
		seen[id] = true
	}
}
