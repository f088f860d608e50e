package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/google/go-github/v60/github"
)

// ghItem is one answer of the test GitHub: fields to set on the recorded
// issue, or an error status.
type ghItem struct {
	fields map[string]any
	status int // 0: 200 with fields
}

// ghServer serves GET /repos/{o}/{r}/issues/{n} from the recorded issue in
// testdata, changed per item, and GitHub's error bodies.
type ghServer struct {
	*httptest.Server
	mu       sync.Mutex
	items    map[string]ghItem // "o/r#n"
	private  map[string]bool   // "o/r": a private repository
	requests []string
}

func newGHServer(t *testing.T, items map[string]ghItem) *ghServer {
	t.Helper()
	raw, err := os.ReadFile("testdata/github-issue.json")
	if err != nil {
		t.Fatal(err)
	}
	s := &ghServer{items: items}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		var o, repo string
		var n int
		if segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(segs) == 3 && segs[0] == "repos" {
			// GET /repos/{o}/{r}: its visibility.
			s.mu.Lock()
			private := s.private[segs[1]+"/"+segs[2]]
			s.mu.Unlock()
			visibility := "public"
			if private {
				visibility = "private"
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			json.NewEncoder(w).Encode(map[string]any{"full_name": segs[1] + "/" + segs[2], "private": private, "visibility": visibility})
			return
		}
		if _, err := fmt.Sscanf(strings.ReplaceAll(r.URL.Path, "/", " "), " repos %s %s issues %d", &o, &repo, &n); err != nil {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		it, ok := s.items[fmt.Sprintf("%s/%s#%d", o, repo, n)]
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch {
		case !ok || it.status == http.StatusNotFound:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/issues/issues#get-an-issue","status":"404"}`)
		case it.status == http.StatusGone:
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, `{"message":"This issue was deleted","documentation_url":"https://docs.github.com/rest/issues/issues#get-an-issue","status":"410"}`)
		case it.status == http.StatusForbidden: // primary rate limit
			w.Header().Set("X-RateLimit-Limit", "5000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
		case it.status == http.StatusTooManyRequests: // secondary rate limit
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`)
		case it.status != 0:
			w.WriteHeader(it.status)
			fmt.Fprint(w, `{"message":"Server Error"}`)
		default:
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			base := fmt.Sprintf("https://api.github.com/repos/%s/%s/issues/%d", o, repo, n)
			body["number"], body["url"] = n, base
			body["repository_url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s", o, repo)
			for k, v := range it.fields {
				body[k] = v
			}
			json.NewEncoder(w).Encode(body)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *ghServer) client(context.Context) (*github.Client, error) {
	c := github.NewClient(nil)
	u, err := url.Parse(s.URL + "/")
	if err != nil {
		return nil, err
	}
	c.BaseURL = u
	return c, nil
}

func (s *ghServer) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func pr(mergedAt any) map[string]any {
	return map[string]any{
		"url":       "https://api.github.com/repos/k/k/pulls/1",
		"html_url":  "https://github.com/k/k/pull/1",
		"diff_url":  "https://github.com/k/k/pull/1.diff",
		"patch_url": "https://github.com/k/k/pull/1.patch",
		"merged_at": mergedAt,
	}
}

func TestGitHubStates(t *testing.T) {
	const upd = "2024-04-05T06:07:08Z"
	updT := time.Date(2024, 4, 5, 6, 7, 8, 0, time.UTC)
	tests := []struct {
		name   string
		kind   link.Kind
		fields map[string]any
		status int
		want   Status
	}{
		{"pr draft", link.PR, map[string]any{"state": "open", "draft": true, "pull_request": pr(nil)}, 0, Status{State: Draft, Raw: "open (draft)"}},
		{"pr open", link.PR, map[string]any{"state": "open", "draft": false, "pull_request": pr(nil)}, 0, Status{State: InReview, Raw: "open"}},
		{"pr merged", link.PR, map[string]any{"state": "closed", "draft": false, "pull_request": pr("2024-04-05T06:00:00Z")}, 0, Status{State: Merged, Raw: "merged"}},
		{"pr closed unmerged", link.PR, map[string]any{"state": "closed", "state_reason": nil, "pull_request": pr(nil)}, 0, Status{State: Abandoned, Raw: "closed"}},
		{"issue open", link.Issue, map[string]any{"state": "open"}, 0, Status{State: Open, Raw: "open"}},
		{"issue reopened", link.Issue, map[string]any{"state": "open", "state_reason": "reopened"}, 0, Status{State: Open, Raw: "open"}},
		{"issue completed", link.Issue, map[string]any{"state": "closed", "state_reason": "completed"}, 0, Status{State: Merged, Raw: "closed (completed)"}},
		{"issue closed before reasons", link.Issue, map[string]any{"state": "closed", "state_reason": nil}, 0, Status{State: Merged, Raw: "closed"}},
		{"issue not planned", link.Issue, map[string]any{"state": "closed", "state_reason": "not_planned"}, 0, Status{State: Abandoned, Raw: "closed (not_planned)"}},
		{"issue duplicate", link.Issue, map[string]any{"state": "closed", "state_reason": "duplicate"}, 0, Status{State: Abandoned, Raw: "closed (duplicate)"}},
		{"not found", link.Issue, nil, http.StatusNotFound, Status{State: Unavailable, Raw: "not found (404)"}},
		{"deleted", link.Issue, nil, http.StatusGone, Status{State: Unavailable, Raw: "deleted (410)"}},
	}
	items := map[string]ghItem{}
	var refs []link.Ref
	for i, tt := range tests {
		n := i + 1
		if tt.fields != nil {
			tt.fields["title"], tt.fields["updated_at"] = tt.name, upd
		}
		items[fmt.Sprintf("kubernetes/kubernetes#%d", n)] = ghItem{fields: tt.fields, status: tt.status}
		refs = append(refs, ghRef("kubernetes/kubernetes", tt.kind, int64(n)))
	}
	srv := newGHServer(t, items)
	f := NewGitHub(srv.client)
	got := f.Fetch(context.Background(), refs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if tt.fields != nil {
				// What GitHub answered, and from which repository.
				want.Title, want.LastActivity, want.Repo = tt.name, updT, "kubernetes/kubernetes"
			}
			if r := got[refs[i].Key()]; r.Err != nil || r.Status != want {
				t.Errorf("got %+v (err %v), want %+v", r.Status, r.Err, want)
			}
		})
	}
	// One read per item, and one of the repository's visibility.
	if srv.calls() != len(tests)+1 || f.Calls() != int64(len(tests)+1) {
		t.Errorf("server saw %d requests, fetcher counted %d; want %d", srv.calls(), f.Calls(), len(tests)+1)
	}
	if want := []string{"GET /repos/kubernetes/kubernetes/issues/1", "GET /repos/kubernetes/kubernetes"}; !slices.Equal(srv.requests[:2], want) {
		t.Errorf("first requests %q, want %q", srv.requests[:2], want)
	}
}

func TestGitHubRateLimit(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		wantStatus int
		retryAfter time.Duration
	}{
		// The primary limit's wait is derived from X-RateLimit-Reset, an
		// hour ahead in whole seconds.
		{"primary", http.StatusForbidden, http.StatusForbidden, time.Hour},
		{"secondary", http.StatusTooManyRequests, http.StatusForbidden, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGHServer(t, map[string]ghItem{
				"o/r#1": {fields: map[string]any{"state": "open"}},
				"o/r#2": {status: tt.status},
				"o/r#3": {fields: map[string]any{"state": "open"}},
				"o/r#4": {fields: map[string]any{"state": "open"}},
			})
			refs := []link.Ref{ghRef("o/r", link.Issue, 1), ghRef("o/r", link.Issue, 2), ghRef("o/r", link.Issue, 3), ghRef("o/r", link.PR, 4)}
			got := NewGitHub(srv.client).Fetch(context.Background(), refs)
			if r := got[refs[0].Key()]; r.Err != nil || r.Status.State != Open {
				t.Errorf("before the limit: %+v %v", r.Status, r.Err)
			}
			checkErrOnly(t, got, refs[1:])
			if n := srv.calls(); n != 3 {
				t.Errorf("made %d requests, want 3 (the first item, its repository, the limit)", n)
			}
			for i, r := range refs[1:] {
				var rl *RateLimitError
				if !errors.As(got[r.Key()].Err, &rl) || rl.Status != tt.wantStatus || rl.Skipped != (i > 0) ||
					rl.RetryAfter > tt.retryAfter || rl.RetryAfter < tt.retryAfter-2*time.Second {
					t.Errorf("%d: err = %v", i+1, got[r.Key()].Err)
				}
			}
		})
	}
}

func TestGitHubErrors(t *testing.T) {
	srv := newGHServer(t, map[string]ghItem{"o/r#1": {status: http.StatusBadGateway}})
	refs := []link.Ref{ghRef("o/r", link.Issue, 1), ghRef("o/r", link.Issue, 2), ghRef("norepo", link.Issue, 3)}
	got := NewGitHub(srv.client).Fetch(context.Background(), refs)
	if r := got[refs[0].Key()]; r.Err == nil || r.Status != (Status{}) {
		t.Errorf("502: %+v %v, want an error", r.Status, r.Err)
	}
	if r := got[refs[1].Key()]; r.Err != nil || r.Status.State != Unavailable {
		t.Errorf("after a 502 the next is still asked: %+v %v", r.Status, r.Err)
	}
	if r := got[refs[2].Key()]; r.Status != (Status{State: Unavailable, Raw: "no owner/repo in link"}) {
		t.Errorf("bad project: %+v", r.Status)
	}

	clientErr := errors.New("no installation")
	got = NewGitHub(func(context.Context) (*github.Client, error) { return nil, clientErr }).Fetch(context.Background(), refs[:2])
	for _, r := range refs[:2] {
		if !errors.Is(got[r.Key()].Err, clientErr) {
			t.Errorf("%s: err = %v, want the client's error", r.Key(), got[r.Key()].Err)
		}
	}
}

// TestGitHubRepositoryVisibility: an item read from a repository that is
// not public is marked Private, so that only the tracking org's private
// places show it; the repository is the one GitHub answered from (a
// transferred issue), and each repository is read once per Fetch.
func TestGitHubRepositoryVisibility(t *testing.T) {
	srv := newGHServer(t, map[string]ghItem{
		"pub/r#1":  {fields: map[string]any{"state": "open"}},
		"pub/r#2":  {fields: map[string]any{"state": "open"}},
		"priv/r#3": {fields: map[string]any{"state": "open", "title": "SECRET-TITLE"}},
		// Transferred: the link names old/r, GitHub answers from priv/r.
		"old/r#4": {fields: map[string]any{"state": "open", "repository_url": "https://api.github.com/repos/priv/r"}},
	})
	srv.private = map[string]bool{"priv/r": true}
	refs := []link.Ref{ghRef("pub/r", link.Issue, 1), ghRef("pub/r", link.Issue, 2), ghRef("priv/r", link.Issue, 3), ghRef("old/r", link.Issue, 4)}
	got := NewGitHub(srv.client).Fetch(context.Background(), refs)
	for i, want := range []bool{false, false, true, true} {
		if r := got[refs[i].Key()]; r.Err != nil || r.Status.Private != want {
			t.Errorf("%s: private %v (err %v), want %v", refs[i].Key(), r.Status.Private, r.Err, want)
		}
	}
	// The tracker hides what was read when the answering repository is
	// made private, whatever name the link used.
	for i, want := range []string{"pub/r", "pub/r", "priv/r", "priv/r"} {
		if r := got[refs[i].Key()]; r.Status.Repo != want {
			t.Errorf("%s: answered from %q, want %q", refs[i].Key(), r.Status.Repo, want)
		}
	}
	var repoReads []string
	for _, r := range srv.requests {
		if strings.Count(r, "/") == 3 {
			repoReads = append(repoReads, r)
		}
	}
	if want := []string{"GET /repos/pub/r", "GET /repos/priv/r"}; !slices.Equal(repoReads, want) {
		t.Errorf("repository reads %q, want %q", repoReads, want)
	}
}
