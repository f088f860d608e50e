package fakegithub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

var searchEpoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// at is a creation time n hours after searchEpoch, so that items sort by n.
func at(n int) time.Time { return searchEpoch.Add(time.Duration(n) * time.Hour) }

// hitNames renders search results as "owner/repo#n", repository from
// repository_url.
func hitNames(t *testing.T, s *fakegithub.Server, issues []*github.Issue) []string {
	t.Helper()
	out := []string{}
	for _, is := range issues {
		repo := strings.TrimPrefix(is.GetRepositoryURL(), s.URL()+"repos/")
		out = append(out, fmt.Sprintf("%s#%d", repo, is.GetNumber()))
	}
	return out
}

func TestSearchQualifiersCombine(t *testing.T) {
	s := fakegithub.New(t)
	const scs, std, docs = "SovereignCloudStack", "SovereignCloudStack/standards", "SovereignCloudStack/docs"
	s.AddSearchItem(scs, "standards", fakegithub.SearchItem{Number: 1, Author: "alice", CreatedAt: at(1)})
	s.AddSearchItem(scs, "standards", fakegithub.SearchItem{Number: 2, Author: "alice", PR: true, Merged: true, CreatedAt: at(2), ClosedAt: at(20)})
	s.AddSearchItem(scs, "standards", fakegithub.SearchItem{Number: 3, Author: "alice", PR: true, State: "closed", CreatedAt: at(3)})
	s.AddSearchItem(scs, "standards", fakegithub.SearchItem{Number: 4, Author: "bob", PR: true, CreatedAt: at(4)})
	s.AddSearchItem(scs, "standards", fakegithub.SearchItem{Number: 5, Author: "Bob", State: "closed", CreatedAt: at(5)})
	s.AddSearchItem(scs, "docs", fakegithub.SearchItem{Number: 7, Author: "Alice", PR: true, CreatedAt: at(6)})
	s.AddSearchItem("other-org", "x", fakegithub.SearchItem{Number: 1, Author: "alice", PR: true, Merged: true, CreatedAt: at(7)})
	gh := client(t, s, 1)

	cases := []struct {
		q, sort, order string
		want           []string
	}{
		{q: "is:pr author:alice org:SovereignCloudStack", want: []string{docs + "#7", std + "#3", std + "#2"}},
		{q: "is:issue author:alice org:SovereignCloudStack", want: []string{std + "#1"}},
		{q: "is:pr is:merged author:alice", want: []string{"other-org/x#1", std + "#2"}},
		{q: "is:pr is:merged author:alice org:SovereignCloudStack", want: []string{std + "#2"}},
		{q: "is:pr is:unmerged author:alice", want: []string{docs + "#7", std + "#3"}},
		{q: "type:pr is:open", want: []string{docs + "#7", std + "#4"}},
		{q: "type:issue is:closed", want: []string{std + "#5"}},
		{q: "is:issue state:open", want: []string{std + "#1"}},
		{q: "is:pull-request is:closed repo:SovereignCloudStack/standards", want: []string{std + "#3", std + "#2"}},
		{q: "is:pr user:other-org", want: []string{"other-org/x#1"}},
		// Repeated scopes widen the search.
		{q: "is:pr author:alice repo:sovereigncloudstack/docs repo:other-org/x", want: []string{"other-org/x#1", docs + "#7"}},
		// Values ignore case, as on GitHub.
		{q: "IS:PR author:ALICE org:sovereigncloudstack", want: nil}, // qualifier names do not: see the 422 test
		{q: "is:PR author:ALICE org:sovereigncloudstack", want: []string{docs + "#7", std + "#3", std + "#2"}},
		{q: "is:Issue author:bob repo:SOVEREIGNCLOUDSTACK/Standards", want: []string{std + "#5"}},
		{q: "Type:pr", want: nil},
		// Contradictions and unknown scopes match nothing.
		{q: "is:pr is:issue", want: []string{}},
		{q: "is:pr is:open is:closed", want: []string{}},
		{q: "is:pr org:nobody", want: []string{}},
		{q: "is:pr author:carol", want: []string{}},
		// Sorting: newest first by default; sort=created|updated with order.
		{q: "is:pr repo:SovereignCloudStack/standards", sort: "created", order: "asc", want: []string{std + "#2", std + "#3", std + "#4"}},
		{q: "is:pr repo:SovereignCloudStack/standards", sort: "updated", want: []string{std + "#2", std + "#4", std + "#3"}},
	}
	for _, tc := range cases {
		t.Run(tc.q+" "+tc.sort+" "+tc.order, func(t *testing.T) {
			res, resp, err := gh.Search.Issues(context.Background(), tc.q, &github.SearchOptions{Sort: tc.sort, Order: tc.order})
			if tc.want == nil {
				if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("want 422, got %v %v", resp, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hitNames(t, s, res.Issues); !slices.Equal(got, tc.want) || res.GetTotal() != len(tc.want) || res.GetIncompleteResults() {
				t.Errorf("got %v (total %d), want %v", got, res.GetTotal(), tc.want)
			}
		})
	}
}

func TestSearchItemsDecode(t *testing.T) {
	s := fakegithub.New(t)
	s.SetLabels("o", "r", 2, []string{"documentation"})
	s.AddComment("o", "r", 2, "bob", "nice")
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 2, Author: "alice", PR: true, Merged: true, Title: "Add docs",
		Body: "text", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR", CreatedAt: at(1), ClosedAt: at(3)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "renovate[bot]", CreatedAt: at(0)})
	res, _, err := client(t, s, 1).Search.Issues(context.Background(), "is:pr repo:o/r", nil)
	if err != nil || len(res.Issues) != 1 {
		t.Fatalf("%v %v", res, err)
	}
	pr := res.Issues[0]
	api, html := s.URL()+"repos/o/r", "https://github.com/o/r"
	checks := []struct {
		name      string
		got, want any
	}{
		{"is pull request", pr.IsPullRequest(), true},
		{"url", pr.GetURL(), api + "/issues/2"},
		{"html_url", pr.GetHTMLURL(), html + "/pull/2"},
		{"pull_request.url", pr.GetPullRequestLinks().GetURL(), api + "/pulls/2"},
		{"pull_request.diff_url", pr.GetPullRequestLinks().GetDiffURL(), html + "/pull/2.diff"},
		{"pull_request.patch_url", pr.GetPullRequestLinks().GetPatchURL(), html + "/pull/2.patch"},
		{"merged_at", pr.GetPullRequestLinks().GetMergedAt().Time, at(3)},
		{"closed_at", pr.GetClosedAt().Time, at(3)},
		{"created_at", pr.GetCreatedAt().Time, at(1)},
		{"state", pr.GetState(), "closed"},
		{"title", pr.GetTitle(), "Add docs"},
		{"body", pr.GetBody(), "text"},
		{"user", pr.GetUser().GetLogin() + " " + pr.GetUser().GetType() + " " + pr.GetUser().GetURL(), "alice User " + s.URL() + "users/alice"},
		{"author_association", pr.GetAuthorAssociation(), "FIRST_TIME_CONTRIBUTOR"},
		{"labels", len(pr.Labels) == 1 && pr.Labels[0].GetName() == "documentation" && pr.Labels[0].GetColor() == "ededed", true},
		{"comments", pr.GetComments(), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// An issue: no pull_request, null closed_at and body; a Bot author.
	_, body := do(t, s, "GET", "/search/issues?q=is:issue+repo:o/r", s.IssueToken(1), nil, "")
	var raw struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || len(raw.Items) != 1 {
		t.Fatalf("%s: %v", body, err)
	}
	it := raw.Items[0]
	for _, k := range []string{"closed_at", "body", "milestone", "assignee", "state_reason"} {
		if v, ok := it[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if _, ok := it["pull_request"]; ok {
		t.Error("an issue has pull_request")
	}
	if it["title"] != "Issue 1" || it["state"] != "open" || it["score"] != 1.0 || it["author_association"] != "NONE" ||
		it["user"].(map[string]any)["type"] != "Bot" || it["html_url"] != html+"/issues/1" {
		t.Errorf("issue item %v", it)
	}
}

func TestSearchIndexLag(t *testing.T) {
	s := fakegithub.New(t)
	gh := client(t, s, 1)
	ctx := context.Background()
	const q = "is:pr author:alice org:o"
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", PR: true, Merged: true, CreatedAt: at(1)})
	// The pull request just opened is not in the index yet.
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 9, Author: "alice", PR: true, Unindexed: true})

	steps := []struct {
		catchUp bool
		want    []string
	}{
		{false, []string{"o/r#1"}},
		{true, []string{"o/r#9", "o/r#1"}},
	}
	for _, st := range steps {
		if st.catchUp {
			s.CatchUpSearchIndex()
		}
		res, _, err := gh.Search.Issues(ctx, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := hitNames(t, s, res.Issues); !slices.Equal(got, st.want) || res.GetTotal() != len(st.want) {
			t.Errorf("caught up %v: got %v total %d, want %v", st.catchUp, got, res.GetTotal(), st.want)
		}
	}
}

func TestSearchPaginatesAndRecordsCalls(t *testing.T) {
	s := fakegithub.New(t)
	for i := 1; i <= 45; i++ {
		s.AddSearchItem("SovereignCloudStack", "standards", fakegithub.SearchItem{Number: i, Author: "alice", PR: true, CreatedAt: at(i)})
	}
	gh := client(t, s, 1)
	ctx := context.Background()
	const q = "is:pr author:alice org:SovereignCloudStack"

	cases := []struct {
		opts                 github.ListOptions
		n, first, next, last int
	}{
		{github.ListOptions{}, 30, 45, 2, 2},
		{github.ListOptions{PerPage: 20, Page: 3}, 5, 5, 0, 0},
		{github.ListOptions{PerPage: 2}, 2, 45, 2, 23},
		{github.ListOptions{PerPage: 500}, 45, 45, 0, 0}, // at most 100 a page
		{github.ListOptions{PerPage: 20, Page: 9}, 0, 0, 0, 0},
	}
	for _, tc := range cases {
		s.Reset()
		res, resp, err := gh.Search.Issues(ctx, q, &github.SearchOptions{ListOptions: tc.opts})
		if err != nil {
			t.Fatal(err)
		}
		first := 0
		if len(res.Issues) > 0 {
			first = res.Issues[0].GetNumber()
		}
		if res.GetTotal() != 45 || len(res.Issues) != tc.n || first != tc.first || resp.NextPage != tc.next || resp.LastPage != tc.last {
			t.Errorf("%+v: total %d, %d items from #%d, next %d, last %d", tc.opts, res.GetTotal(), len(res.Issues), first, resp.NextPage, resp.LastPage)
		}
	}

	// What Calls shows for a search: go-github sorts the parameters and
	// escapes the query with "+" for spaces.
	s.Reset()
	if _, _, err := gh.Search.Issues(ctx, q, &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 2}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /search/issues?per_page=2&q=is%3Apr+author%3Aalice+org%3ASovereignCloudStack"}
	if got := s.Calls(); !slices.Equal(got, want) {
		t.Errorf("Calls() = %q, want %q", got, want)
	}
	// The Link header keeps the query as sent.
	resp, _ := do(t, s, "GET", "/search/issues?per_page=2&q=is%3Apr+author%3Aalice+org%3ASovereignCloudStack&page=2", s.IssueToken(1), nil, "")
	if link := resp.Header.Get("Link"); !strings.Contains(link, "<"+s.URL()+"search/issues?per_page=2&q=is%3Apr+author%3Aalice+org%3ASovereignCloudStack&page=3>; rel=\"next\"") {
		t.Errorf("Link %s", link)
	}
}

func TestSearchServesOnlyTheFirst1000(t *testing.T) {
	s := fakegithub.New(t)
	for i := 1; i <= 1005; i++ {
		s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: i, Author: "alice"})
	}
	gh := client(t, s, 1)
	ctx := context.Background()
	res, resp, err := gh.Search.Issues(ctx, "is:issue repo:o/r", &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100, Page: 10}})
	if err != nil || res.GetTotal() != 1005 || len(res.Issues) != 100 || resp.NextPage != 0 || resp.LastPage != 0 || resp.PrevPage != 9 {
		t.Fatalf("page 10: total %d, %d items, next %d, last %d, %v", res.GetTotal(), len(res.Issues), resp.NextPage, resp.LastPage, err)
	}
	// Items added in the same second keep the order added, newest first.
	if res.Issues[99].GetNumber() != 6 {
		t.Errorf("last item #%d, want #6", res.Issues[99].GetNumber())
	}
	_, resp, err = gh.Search.Issues(ctx, "is:issue repo:o/r", &github.SearchOptions{ListOptions: github.ListOptions{PerPage: 100, Page: 11}})
	var ge *github.ErrorResponse
	if resp == nil || resp.StatusCode != 422 || !errors.As(err, &ge) || ge.Message != "Only the first 1000 search results are available" {
		t.Errorf("page 11: %v", err)
	}
}

func TestSearchRefusals(t *testing.T) {
	s := fakegithub.New(t)
	tok := s.IssueToken(1)
	type fe struct{ Resource, Code, Field string }
	cases := []struct {
		name, query string // query: the raw query string
		msg         string
		errs        []fe
	}{
		{"no q", "", "Validation Failed", []fe{{"Search", "missing", "q"}}},
		{"empty q", "q=", "Validation Failed", []fe{{"Search", "missing", "q"}}},
		{"blank q", "q=+++", "Validation Failed", []fe{{"Search", "missing", "q"}}},
		{"no type", "q=author%3Aalice+org%3Ao", "Query must include 'is:issue' or 'is:pull-request'", nil},
		{"only state", "q=is%3Aopen", "Query must include 'is:issue' or 'is:pull-request'", nil},
		{"free text", "q=sesame+is%3Aissue+repo%3Ao%2Fr", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"unknown qualifier", "q=is%3Apr+in%3Atitle", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"unknown is:", "q=is%3Apr+is%3Adraft", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"qualifier names are lower case", "q=IS%3Apr", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"negation", "q=is%3Apr+-author%3Aalice", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"operator", "q=is%3Apr+author%3Aa+OR+author%3Ab", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"quotes", "q=is%3Apr+author%3A%22alice%22", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"repo without owner", "q=is%3Apr+repo%3Astandards", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
		{"empty value", "q=is%3Apr+author%3A", "Validation Failed", []fe{{"Search", "invalid", "q"}}},
	}
	const doc = "https://docs.github.com/rest/search/search#search-issues-and-pull-requests"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, s, "GET", "/search/issues?"+tc.query, tok, nil, "")
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var e struct {
				Message string `json:"message"`
				Errors  []struct {
					fe
					Message string `json:"message"`
				} `json:"errors"`
				DocumentationURL string `json:"documentation_url"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatal(err)
			}
			var errs []fe
			for _, x := range e.Errors {
				errs = append(errs, x.fe)
				if x.Code == "invalid" && !strings.HasPrefix(x.Message, "fakegithub: ") {
					t.Errorf("message %q does not say the fake refuses", x.Message)
				}
			}
			if e.Message != tc.msg || !slices.Equal(errs, tc.errs) || e.DocumentationURL != doc {
				t.Errorf("got %s", body)
			}
		})
	}

	// The missing-q answer has the keys of GitHub's recorded 422.
	raw, err := readFixture("recorded.error-422-validation-failed.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	_, body := do(t, s, "GET", "/search/issues", tok, nil, "")
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if m := missingKeys("", want, got); len(m) > 0 {
		t.Errorf("lacks %v: %s", m, body)
	}

	// Searches need a token; metadata read is enough.
	if resp, _ := do(t, s, "GET", "/search/issues?q=is%3Apr", "", nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: %d", resp.StatusCode)
	}
	s.SetInstallationPermissions(2, map[string]string{"metadata": "read"})
	if resp, body := do(t, s, "GET", "/search/issues?q=is%3Apr", s.IssueToken(2), nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("metadata read only: %d %s", resp.StatusCode, body)
	}
}

func TestSearchRateLimitIsSeparateFromCore(t *testing.T) {
	s := fakegithub.New(t)
	now := time.Now()
	s.SetClock(func() time.Time { return now })
	s.SetFile("o", "r", "f", []byte("x"))
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", PR: true})
	ctx := context.Background()
	gh := client(t, s, 31)
	const q = "is:pr repo:o/r"

	_, resp, err := gh.Search.Issues(ctx, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header
	if h.Get("X-RateLimit-Resource") != "search" || h.Get("X-RateLimit-Limit") != "30" || h.Get("X-RateLimit-Remaining") != "29" ||
		h.Get("X-RateLimit-Used") != "1" || h.Get("X-RateLimit-Reset") != fmt.Sprint(now.Add(time.Minute).Unix()) {
		t.Errorf("search rate headers %v", h)
	}
	if s.RateRemaining(31) != 5000 || s.SearchRemaining(31) != 29 {
		t.Errorf("after a search: core %d, search %d", s.RateRemaining(31), s.SearchRemaining(31))
	}
	_, _, resp, err = gh.Repositories.GetContents(ctx, "o", "r", "f", nil)
	if err != nil || resp.Header.Get("X-RateLimit-Resource") != "core" || resp.Rate.Remaining != 4999 {
		t.Errorf("core call after a search: %v %v", resp.Header, err)
	}
	rl, _, err := gh.RateLimit.Get(ctx)
	if err != nil || rl.GetSearch().Limit != 30 || rl.GetSearch().Remaining != 29 || rl.GetCore().Remaining != 4999 {
		t.Errorf("rate_limit search %+v core %+v %v", rl.GetSearch(), rl.GetCore(), err)
	}

	// An exhausted search quota: 403 with GitHub's body, search headers; the
	// core quota still serves.
	s.SetSearchRemaining(31, 0)
	_, resp, err = client(t, s, 31).Search.Issues(ctx, q, nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || resp.StatusCode != http.StatusForbidden || !strings.Contains(rle.Message, "API rate limit exceeded for installation ID 31") ||
		resp.Header.Get("X-RateLimit-Resource") != "search" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("exhausted search quota gave %v", err)
	}
	if _, _, _, err := gh.Repositories.GetContents(ctx, "o", "r", "f", nil); err != nil {
		t.Errorf("core call with no search quota left: %v", err)
	}
	if s.SearchRemaining(32) != 30 {
		t.Errorf("another installation's search quota moved: %d", s.SearchRemaining(32))
	}

	// An exhausted core quota does not stop searches.
	now = now.Add(time.Minute) // a new search window
	s.SetRateRemaining(31, 0)
	if _, _, err := client(t, s, 31).Search.Issues(ctx, q, nil); err != nil {
		t.Errorf("search with no core quota left: %v", err)
	}
	if _, _, _, err := client(t, s, 31).Repositories.GetContents(ctx, "o", "r", "f", nil); !errors.As(err, &rle) {
		t.Errorf("core call with no core quota: %v", err)
	}
}

func TestSearchAnswerHasGitHubsShape(t *testing.T) {
	s := fakegithub.New(t)
	s.SetLabels("o", "r", 1, []string{"bug"})
	s.SetLabels("o", "r", 2, []string{"bug"})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", Body: "b"})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 2, Author: "alice", PR: true, Body: "b"})
	tok := s.IssueToken(1)
	for _, tc := range []struct{ fixture, q string }{
		{"search-issues-and-pull-requests.json", "is:pr repo:o/r"},
		{"recorded.search-issues-and-pull-requests.json", "is:issue repo:o/r"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			raw, err := readFixture(tc.fixture)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			resp, body := do(t, s, "GET", "/search/issues?q="+url.QueryEscape(tc.q), tok, nil, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if m := missingKeys("", want, got); len(m) > 0 {
				t.Errorf("answer lacks GitHub's fields %v\n%s", m, body)
			}
		})
	}
}
