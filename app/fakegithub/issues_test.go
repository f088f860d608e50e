package fakegithub_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// issueNumbers renders issues as their numbers, for exact comparisons.
func issueNumbers(issues []*github.Issue) []int {
	out := []int{}
	for _, is := range issues {
		out = append(out, is.GetNumber())
	}
	return out
}

func TestGetIssueDecodes(t *testing.T) {
	s := fakegithub.New(t)
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 3, Author: "alice", PR: true, Draft: true, Title: "WIP",
		Labels: []string{"upstream", "area/iaas"}, CreatedAt: at(1), UpdatedAt: at(5)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 4, Author: "bob", State: "closed", StateReason: "not_planned",
		Body: "no", CreatedAt: at(2), ClosedAt: at(4)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 5, Author: "carol", PR: true, Merged: true, CreatedAt: at(2), ClosedAt: at(6)})
	gh := client(t, s, 1)
	ctx := context.Background()
	api, html := s.URL()+"repos/o/r", "https://github.com/o/r"

	pr, _, err := gh.Issues.Get(ctx, "o", "r", 3)
	if err != nil {
		t.Fatal(err)
	}
	is, _, err := gh.Issues.Get(ctx, "o", "r", 4)
	if err != nil {
		t.Fatal(err)
	}
	merged, _, err := gh.Issues.Get(ctx, "o", "r", 5)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, l := range pr.Labels {
		labels = append(labels, l.GetName())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"pr number", pr.GetNumber(), 3},
		{"pr is pull request", pr.IsPullRequest(), true},
		{"pr draft", pr.GetDraft(), true},
		{"pr url", pr.GetURL(), api + "/issues/3"},
		{"pr html_url", pr.GetHTMLURL(), html + "/pull/3"},
		{"pr pull_request.url", pr.GetPullRequestLinks().GetURL(), api + "/pulls/3"},
		{"pr pull_request.html_url", pr.GetPullRequestLinks().GetHTMLURL(), html + "/pull/3"},
		{"pr pull_request.diff_url", pr.GetPullRequestLinks().GetDiffURL(), html + "/pull/3.diff"},
		{"pr pull_request.patch_url", pr.GetPullRequestLinks().GetPatchURL(), html + "/pull/3.patch"},
		{"pr merged_at", pr.GetPullRequestLinks().MergedAt == nil, true},
		{"pr labels", strings.Join(labels, ","), "upstream,area/iaas"},
		{"pr state", pr.GetState(), "open"},
		{"pr state_reason", pr.StateReason == nil, true},
		{"pr title", pr.GetTitle(), "WIP"},
		{"pr created_at", pr.GetCreatedAt().Time, at(1)},
		{"pr updated_at", pr.GetUpdatedAt().Time, at(5)},
		{"pr user", pr.GetUser().GetLogin(), "alice"},
		{"issue is pull request", is.IsPullRequest(), false},
		{"issue draft", is.Draft == nil, true},
		{"issue html_url", is.GetHTMLURL(), html + "/issues/4"},
		{"issue state", is.GetState(), "closed"},
		{"issue state_reason", is.GetStateReason(), "not_planned"},
		{"issue closed_at", is.GetClosedAt().Time, at(4)},
		{"issue updated_at", is.GetUpdatedAt().Time, at(4)},
		{"issue body", is.GetBody(), "no"},
		{"issue labels", len(is.Labels), 0},
		{"merged merged_at", merged.GetPullRequestLinks().GetMergedAt().Time, at(6)},
		{"merged state", merged.GetState(), "closed"},
		{"merged draft", merged.GetDraft(), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// The labels given with the item are the issue's labels everywhere.
	if got := s.Labels("o", "r", 3); !slices.Equal(got, []string{"upstream", "area/iaas"}) {
		t.Errorf("Labels = %v", got)
	}
	// The helper sees what GET serves.
	if h := s.Issue("o", "r", 4); h == nil || h.GetStateReason() != "not_planned" || h.GetID() != is.GetID() {
		t.Errorf("Issue(4) = %+v", h)
	}
	if h := s.Issue("o", "r", 99); h != nil {
		t.Errorf("Issue(99) = %+v, want nil", h)
	}
	if got := issueNumbers(s.Issues("o", "r")); !slices.Equal(got, []int{3, 4, 5}) {
		t.Errorf("Issues = %v", got)
	}
}

func TestGetIssueHasGitHubsShape(t *testing.T) {
	s := fakegithub.New(t)
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", Body: "b", Labels: []string{"bug"}})
	raw, err := readFixture("recorded.issues-create.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	tok := s.IssueToken(1)
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/repos/o/r/issues/1", ""},
		{"POST", "/repos/o/r/issues", `{"title":"t"}`},
		{"PATCH", "/repos/o/r/issues/1", `{"state":"closed"}`},
	} {
		resp, body := do(t, s, req.method, req.path, tok, nil, req.body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", req.method, req.path, resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if m := missingKeys("", want, got); len(m) > 0 {
			t.Errorf("%s %s lacks GitHub's fields %v\n%s", req.method, req.path, m, body)
		}
	}
}

func TestGetIssueNotFound(t *testing.T) {
	s := fakegithub.New(t)
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice"})
	tok := s.IssueToken(1)
	const doc = "https://docs.github.com/rest/issues/issues#get-an-issue"
	for _, path := range []string{"/repos/o/r/issues/2", "/repos/o/other/issues/1", "/repos/o/r/issues/x", "/repos/o/r/issues/0"} {
		resp, body := do(t, s, "GET", path, tok, nil, "")
		var e struct {
			Message          string `json:"message"`
			DocumentationURL string `json:"documentation_url"`
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusNotFound || e.Message != "Not Found" || e.DocumentationURL != doc {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestIssueETagAndQuota(t *testing.T) {
	s := fakegithub.New(t)
	now := searchEpoch
	s.SetClock(func() time.Time { return now })
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice"})
	tok := s.IssueToken(1)

	resp, _ := do(t, s, "GET", "/repos/o/r/issues/1", tok, nil, "")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("first GET: %d, ETag %q", resp.StatusCode, etag)
	}
	left := s.RateRemaining(1)
	resp, body := do(t, s, "GET", "/repos/o/r/issues/1", tok, map[string]string{"If-None-Match": etag}, "")
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 || s.RateRemaining(1) != left {
		t.Errorf("unchanged: %d %q, quota %d -> %d", resp.StatusCode, body, left, s.RateRemaining(1))
	}

	now = now.Add(time.Minute)
	resp, body = do(t, s, "PATCH", "/repos/o/r/issues/1", tok, nil, `{"body":"edited"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, s, "GET", "/repos/o/r/issues/1", tok, map[string]string{"If-None-Match": etag}, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || resp.Header.Get("ETag") == "" {
		t.Errorf("after PATCH: %d, ETag %q (was %q)", resp.StatusCode, resp.Header.Get("ETag"), etag)
	}
	etag = resp.Header.Get("ETag")

	// A change a test makes between polls also changes the ETag.
	now = now.Add(time.Minute)
	s.SetIssue("o", "r", 1, func(it *fakegithub.SearchItem) { it.State = "closed" })
	resp, _ = do(t, s, "GET", "/repos/o/r/issues/1", tok, map[string]string{"If-None-Match": etag}, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag {
		t.Errorf("after SetIssue: %d, ETag %q (was %q)", resp.StatusCode, resp.Header.Get("ETag"), etag)
	}
}

func TestIssuesOfOtherOwners(t *testing.T) {
	s := fakegithub.New(t)
	s.SetOrgInstallation("SovereignCloudStack", 1)
	s.SetOrgInstallation("other-org", 2)
	s.AddSearchItem("kubernetes-sigs", "cluster-api", fakegithub.SearchItem{Number: 10, Author: "k8s-ci-robot", PR: true})
	s.AddSearchItem("SovereignCloudStack", "standards", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.AddSearchItem("SovereignCloudStack", "secret", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.SetRepoPrivate("SovereignCloudStack", "secret", true)
	s.AddSearchItem("someone", "hidden", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.SetRepoPrivate("someone", "hidden", true)
	// Installation 1 may read metadata only: public data of other owners is
	// still served, its own issues are not.
	s.SetInstallationPermissions(1, map[string]string{"metadata": "read"})
	s.SetInstallationPermissions(3, map[string]string{"metadata": "read"})
	tok1, tok2, tok3 := s.IssueToken(1), s.IssueToken(2), s.IssueToken(3)

	cases := []struct {
		name, method, path, tok, body string
		status                        int
	}{
		{"public other owner", "GET", "/repos/kubernetes-sigs/cluster-api/issues/10", tok1, "", 200},
		{"public other owner, list", "GET", "/repos/kubernetes-sigs/cluster-api/issues", tok1, "", 200},
		{"own org without issues permission", "GET", "/repos/SovereignCloudStack/standards/issues/1", tok1, "", 403},
		{"private other owner", "GET", "/repos/someone/hidden/issues/1", tok1, "", 404},
		{"private other owner, list", "GET", "/repos/someone/hidden/issues", tok1, "", 404},
		{"private repo of another installation", "GET", "/repos/SovereignCloudStack/secret/issues/1", tok2, "", 404},
		{"write to other owner", "PATCH", "/repos/kubernetes-sigs/cluster-api/issues/10", tok2, `{"title":"x"}`, 403},
		{"create in other owner", "POST", "/repos/kubernetes-sigs/cluster-api/issues", tok2, `{"title":"x"}`, 403},
		{"comment in other owner", "POST", "/repos/kubernetes-sigs/cluster-api/issues/10/comments", tok2, `{"body":"x"}`, 403},
		// An installation whose organisation the fake was not told is taken
		// to be granted every public repository (so the route's permissions
		// apply), but no private one.
		{"unknown installation, public", "GET", "/repos/kubernetes-sigs/cluster-api/issues/10", tok3, "", 403},
		{"unknown installation, private", "GET", "/repos/someone/hidden/issues/1", tok3, "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, s, tc.method, tc.path, tc.tok, nil, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
	s.SetInstallationPermissions(1, map[string]string{"issues": "read", "metadata": "read"})
	if resp, body := do(t, s, "GET", "/repos/SovereignCloudStack/secret/issues/1", s.IssueToken(1), nil, ""); resp.StatusCode != 200 {
		t.Errorf("own private repo: %d %s", resp.StatusCode, body)
	}

	// Search leaves out what the installation cannot see.
	for _, tc := range []struct {
		inst int64
		want []string
	}{
		{1, []string{"SovereignCloudStack/secret#1", "SovereignCloudStack/standards#1"}},
		{2, []string{"SovereignCloudStack/standards#1"}},
	} {
		res, _, err := client(t, s, tc.inst).Search.Issues(context.Background(), "is:issue author:alice", &github.SearchOptions{Sort: "created", Order: "asc"})
		if err != nil {
			t.Fatal(err)
		}
		got := hitNames(t, s, res.Issues)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("installation %d finds %v, want %v", tc.inst, got, tc.want)
		}
	}
}

func TestListIssues(t *testing.T) {
	s := fakegithub.New(t)
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", Labels: []string{"upstream", "bug"}, CreatedAt: at(1), UpdatedAt: at(9)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 2, Author: "bob", PR: true, Labels: []string{"Upstream"}, CreatedAt: at(2)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 3, Author: "alice", State: "closed", Labels: []string{"upstream"}, CreatedAt: at(3), ClosedAt: at(4)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 4, Author: "Alice", PR: true, Merged: true, CreatedAt: at(4), ClosedAt: at(5)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 5, Author: "carol", CreatedAt: at(5), Unindexed: true})
	s.AddComment("o", "r", 2, "bob", "one")
	s.AddComment("o", "r", 2, "bob", "two")
	s.AddComment("o", "r", 1, "bob", "one")
	s.AddSearchItem("o", "other", fakegithub.SearchItem{Number: 9, Author: "alice"})
	gh := client(t, s, 1)

	cases := []struct {
		name string
		opts github.IssueListByRepoOptions
		want []int
	}{
		{"open by default, newest first, PRs included", github.IssueListByRepoOptions{}, []int{5, 2, 1}},
		{"closed", github.IssueListByRepoOptions{State: "closed"}, []int{4, 3}},
		{"all", github.IssueListByRepoOptions{State: "all"}, []int{5, 4, 3, 2, 1}},
		{"creator ignores case", github.IssueListByRepoOptions{State: "all", Creator: "ALICE"}, []int{4, 3, 1}},
		{"one label, ignoring case", github.IssueListByRepoOptions{State: "all", Labels: []string{"UPSTREAM"}}, []int{3, 2, 1}},
		{"all labels must match", github.IssueListByRepoOptions{State: "all", Labels: []string{"upstream", "bug"}}, []int{1}},
		{"created ascending", github.IssueListByRepoOptions{State: "all", Direction: "asc"}, []int{1, 2, 3, 4, 5}},
		{"updated", github.IssueListByRepoOptions{State: "all", Sort: "updated"}, []int{1, 5, 4, 3, 2}},
		{"comments", github.IssueListByRepoOptions{State: "all", Sort: "comments"}, []int{2, 1, 5, 4, 3}},
		{"since", github.IssueListByRepoOptions{State: "all", Since: at(5)}, []int{5, 4, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := gh.Issues.ListByRepo(context.Background(), "o", "r", &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(issueNumbers(got), tc.want) {
				t.Errorf("got %v, want %v", issueNumbers(got), tc.want)
			}
		})
	}

	tok := s.IssueToken(1)
	for _, q := range []string{"state=merged", "sort=best", "direction=up", "milestone=1", "assignee=alice", "since=yesterday"} {
		if resp, body := do(t, s, "GET", "/repos/o/r/issues?"+q, tok, nil, ""); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", q, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, s, "GET", "/repos/o/nothing/issues", tok, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown repository: %d", resp.StatusCode)
	}
}

func TestListIssuesPaginates(t *testing.T) {
	s := fakegithub.New(t)
	for i := 1; i <= 45; i++ {
		s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: i, Author: "alice", PR: i%2 == 0, CreatedAt: at(i)})
	}
	gh := client(t, s, 1)
	cases := []struct {
		opts                     github.ListOptions
		n, first, next, last, pv int
	}{
		{github.ListOptions{}, 30, 45, 2, 2, 0},
		{github.ListOptions{Page: 2}, 15, 15, 0, 0, 1},
		{github.ListOptions{PerPage: 10, Page: 3}, 10, 25, 4, 5, 2},
		{github.ListOptions{PerPage: 500}, 45, 45, 0, 0, 0}, // at most 100 a page
		{github.ListOptions{PerPage: 20, Page: 9}, 0, 0, 0, 0, 8},
	}
	for _, tc := range cases {
		got, resp, err := gh.Issues.ListByRepo(context.Background(), "o", "r", &github.IssueListByRepoOptions{ListOptions: tc.opts})
		if err != nil {
			t.Fatal(err)
		}
		first := 0
		if len(got) > 0 {
			first = got[0].GetNumber()
		}
		if len(got) != tc.n || first != tc.first || resp.NextPage != tc.next || resp.LastPage != tc.last || resp.PrevPage != tc.pv {
			t.Errorf("%+v: %d items from #%d, next %d, last %d, prev %d", tc.opts, len(got), first, resp.NextPage, resp.LastPage, resp.PrevPage)
		}
	}
	resp, _ := do(t, s, "GET", "/repos/o/r/issues?state=all&per_page=20", s.IssueToken(1), nil, "")
	want := "<" + s.URL() + `repos/o/r/issues?state=all&per_page=20&page=2>; rel="next", <` + s.URL() + `repos/o/r/issues?state=all&per_page=20&page=3>; rel="last"`
	if got := resp.Header.Get("Link"); got != want {
		t.Errorf("Link %s\nwant %s", got, want)
	}
}

func TestCreateIssue(t *testing.T) {
	s := fakegithub.New(t)
	now := searchEpoch
	s.SetClock(func() time.Time { return now })
	s.SetAppID(7, "scs-bot")
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 5, Author: "alice"})
	s.AddPullRequest("o", "r", &github.PullRequest{Number: github.Int(7)})
	s.AddSearchItem("o", "empty", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.SetRepoLabels("o", "r", &github.Label{Name: github.String("Upstream"), Color: github.String("0e8a16")})
	gh := client(t, s, 1)
	ctx := context.Background()

	is, resp, err := gh.Issues.Create(ctx, "o", "r", &github.IssueRequest{
		Title: github.String("Upstream dashboard"), Body: github.String("tracking"), Labels: &[]string{"upstream", "dashboard"}})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, l := range is.Labels {
		labels = append(labels, l.GetName()+"/"+l.GetColor())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"status", resp.StatusCode, http.StatusCreated},
		{"Location", resp.Header.Get("Location"), s.URL() + "repos/o/r/issues/8"},
		{"number after the highest issue or pull request", is.GetNumber(), 8},
		{"author", is.GetUser().GetLogin() + " " + is.GetUser().GetType(), "scs-bot[bot] Bot"},
		{"title", is.GetTitle(), "Upstream dashboard"},
		{"body", is.GetBody(), "tracking"},
		{"labels, spelled as the repository's", strings.Join(labels, ","), "Upstream/0e8a16,dashboard/ededed"},
		{"state", is.GetState(), "open"},
		{"created_at", is.GetCreatedAt().Time, searchEpoch},
		{"updated_at", is.GetUpdatedAt().Time, searchEpoch},
		{"not a pull request", is.IsPullRequest(), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	_, body := do(t, s, "GET", "/repos/o/r/issues/8", s.IssueToken(1), nil, "")
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if app, _ := raw["performed_via_github_app"].(map[string]any); app["slug"] != "scs-bot" {
		t.Errorf("performed_via_github_app = %v", raw["performed_via_github_app"])
	}

	// The new issue is indexed at once and served by the other endpoints.
	res, _, err := gh.Search.Issues(ctx, "is:issue author:scs-bot[bot] label:upstream", nil)
	if err != nil || !slices.Equal(hitNames(t, s, res.Issues), []string{"o/r#8"}) {
		t.Errorf("search: %v %v", res, err)
	}
	if got := s.Issue("o", "r", 8); got.GetTitle() != "Upstream dashboard" {
		t.Errorf("Issue(8) = %+v", got)
	}
	// Numbers continue from the new one; another repository counts apart.
	is, _, err = gh.Issues.Create(ctx, "o", "r", &github.IssueRequest{Title: github.String("second")})
	if err != nil || is.GetNumber() != 9 {
		t.Errorf("second issue #%d, %v", is.GetNumber(), err)
	}
	is, _, err = gh.Issues.Create(ctx, "o", "empty", &github.IssueRequest{Title: github.String("x")})
	if err != nil || is.GetNumber() != 2 {
		t.Errorf("other repository #%d, %v", is.GetNumber(), err)
	}

	tok := s.IssueToken(1)
	refusals := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no title", `{"body":"x"}`, 422, "Invalid request.\n\n\"title\" wasn't supplied."},
		{"null title", `{"title":null}`, 422, "Invalid request.\n\n\"title\" wasn't supplied."},
		{"blank title", `{"title":"  "}`, 422, "Validation Failed"},
		{"blank label", `{"title":"t","labels":[""]}`, 422, "Validation Failed"},
		{"not JSON", `{`, 400, "Problems parsing JSON"},
	}
	for _, tc := range refusals {
		resp, body := do(t, s, "POST", "/repos/o/r/issues", tok, nil, tc.body)
		if resp.StatusCode != tc.status || errorMessage(t, body) != tc.msg {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if got := issueNumbers(s.Issues("o", "r")); !slices.Equal(got, []int{5, 8, 9}) {
		t.Errorf("refused requests created issues: %v", got)
	}
}

func TestUpdateIssue(t *testing.T) {
	s := fakegithub.New(t)
	now := searchEpoch
	s.SetClock(func() time.Time { return now })
	tok := s.IssueToken(1)

	type state struct {
		State, Reason, Title, Body string
		Labels                     []string
		Closed                     bool
	}
	cases := []struct {
		name  string
		item  fakegithub.SearchItem
		patch string
		want  state
	}{
		{"close", fakegithub.SearchItem{}, `{"state":"closed"}`,
			state{State: "closed", Reason: "completed", Title: "Issue 1", Closed: true}},
		{"close as not planned", fakegithub.SearchItem{}, `{"state":"closed","state_reason":"not_planned"}`,
			state{State: "closed", Reason: "not_planned", Title: "Issue 1", Closed: true}},
		{"reopen", fakegithub.SearchItem{State: "closed"}, `{"state":"open"}`,
			state{State: "open", Reason: "reopened", Title: "Issue 1"}},
		{"state_reason alone is ignored", fakegithub.SearchItem{}, `{"state_reason":"not_planned"}`,
			state{State: "open", Title: "Issue 1"}},
		{"title, body, labels", fakegithub.SearchItem{Body: "old", Labels: []string{"a"}}, `{"title":"T","body":"B","labels":["b","c"]}`,
			state{State: "open", Title: "T", Body: "B", Labels: []string{"b", "c"}}},
		{"null body clears, labels [] clears", fakegithub.SearchItem{Body: "old", Labels: []string{"a"}}, `{"body":null,"labels":[]}`,
			state{State: "open", Title: "Issue 1"}},
		{"close a pull request", fakegithub.SearchItem{PR: true}, `{"state":"closed"}`,
			state{State: "closed", Title: "Pull request 1", Closed: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			item := tc.item
			item.Number, item.Author, item.CreatedAt = 1, "alice", at(-1)
			s.AddSearchItem("o", "r", item)
			now = now.Add(time.Minute)
			resp, body := do(t, s, "PATCH", "/repos/o/r/issues/1", tok, nil, tc.patch)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var is github.Issue
			if err := json.Unmarshal(body, &is); err != nil {
				t.Fatal(err)
			}
			got := state{State: is.GetState(), Reason: is.GetStateReason(), Title: is.GetTitle(), Body: is.GetBody(), Closed: is.ClosedAt != nil}
			for _, l := range is.Labels {
				got.Labels = append(got.Labels, l.GetName())
			}
			if got.State != tc.want.State || got.Reason != tc.want.Reason || got.Title != tc.want.Title || got.Body != tc.want.Body ||
				got.Closed != tc.want.Closed || !slices.Equal(got.Labels, tc.want.Labels) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if !is.GetUpdatedAt().Time.Equal(now) || (tc.want.Closed && !is.GetClosedAt().Time.Equal(now) && !tc.item.PR) {
				t.Errorf("updated_at %v closed_at %v, want %v", is.GetUpdatedAt(), is.GetClosedAt(), now)
			}
			// What the PATCH answered is what the next GET serves.
			if h := s.Issue("o", "r", 1); h.GetUpdatedAt() != is.GetUpdatedAt() || h.GetState() != is.GetState() {
				t.Errorf("Issue() = %+v", h)
			}
		})
	}

	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 2, Author: "alice", PR: true, Merged: true})
	refusals := []struct {
		name, path, body string
		status           int
	}{
		{"unknown state", "/repos/o/r/issues/1", `{"state":"merged"}`, 422},
		{"unknown state_reason", "/repos/o/r/issues/1", `{"state":"closed","state_reason":"done"}`, 422},
		{"reopened when closing", "/repos/o/r/issues/1", `{"state":"closed","state_reason":"reopened"}`, 422},
		{"blank title", "/repos/o/r/issues/1", `{"title":""}`, 422},
		{"reopen a merged pull request", "/repos/o/r/issues/2", `{"state":"open"}`, 422},
		{"missing issue", "/repos/o/r/issues/3", `{"title":"x"}`, 404},
	}
	for _, tc := range refusals {
		if resp, body := do(t, s, "PATCH", tc.path, tok, nil, tc.body); resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
	}
}

func TestSetIssue(t *testing.T) {
	s := fakegithub.New(t)
	now := searchEpoch
	s.SetClock(func() time.Time { return now })
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", Labels: []string{"upstream"}, CreatedAt: at(-2)})

	steps := []struct {
		name                  string
		mutate                func(*fakegithub.SearchItem)
		state, reason, labels string
		updated, closed       time.Time
	}{
		{"close: reason and closed_at follow, updated_at bumps",
			func(it *fakegithub.SearchItem) { it.State = "closed" }, "closed", "completed", "upstream", searchEpoch.Add(time.Minute), searchEpoch.Add(time.Minute)},
		{"reopen with new labels",
			func(it *fakegithub.SearchItem) { it.State = "open"; it.Labels = append(it.Labels, "blocked") }, "open", "reopened", "upstream,blocked", searchEpoch.Add(2 * time.Minute), time.Time{}},
		{"explicit updated_at, labels removed",
			func(it *fakegithub.SearchItem) { it.UpdatedAt = at(30); it.Labels = nil }, "open", "reopened", "", at(30), time.Time{}},
		{"close as not planned",
			func(it *fakegithub.SearchItem) {
				it.State, it.StateReason, it.ClosedAt = "closed", "not_planned", at(40)
			}, "closed", "not_planned", "", searchEpoch.Add(4 * time.Minute), at(40)},
	}
	for _, st := range steps {
		now = now.Add(time.Minute)
		s.SetIssue("o", "r", 1, st.mutate)
		is := s.Issue("o", "r", 1)
		var labels []string
		for _, l := range is.Labels {
			labels = append(labels, l.GetName())
		}
		if is.GetState() != st.state || is.GetStateReason() != st.reason || strings.Join(labels, ",") != st.labels ||
			!is.GetUpdatedAt().Time.Equal(latest(st.updated, st.closed)) || !is.GetClosedAt().Time.Equal(st.closed) {
			t.Errorf("%s: state %s/%s labels %v updated %v closed %v", st.name, is.GetState(), is.GetStateReason(), labels, is.GetUpdatedAt(), is.GetClosedAt())
		}
	}

	for _, tc := range []struct {
		name   string
		number int
		mutate func(*fakegithub.SearchItem)
	}{
		{"no such issue", 2, func(*fakegithub.SearchItem) {}},
		{"number changed", 1, func(it *fakegithub.SearchItem) { it.Number = 3 }},
		{"draft issue", 1, func(it *fakegithub.SearchItem) { it.Draft = true }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			s.SetIssue("o", "r", tc.number, tc.mutate)
		}()
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func TestIssuePermissions(t *testing.T) {
	s := fakegithub.New(t)
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 2, Author: "alice", PR: true})
	s.SetInstallationPermissions(1, map[string]string{"pull_requests": "write", "metadata": "read"})
	s.SetInstallationPermissions(2, map[string]string{"issues": "read", "metadata": "read"})
	s.SetInstallationPermissions(3, map[string]string{"metadata": "read"})
	prs, issuesRead, none := s.IssueToken(1), s.IssueToken(2), s.IssueToken(3)

	cases := []struct {
		name, tok, method, path, body string
		status                        int
		accepted                      string
	}{
		{"pull_requests reads a pull request", prs, "GET", "/repos/o/r/issues/2", "", 200, ""},
		{"pull_requests does not read an issue", prs, "GET", "/repos/o/r/issues/1", "", 403, "issues=read"},
		{"pull_requests lists", prs, "GET", "/repos/o/r/issues", "", 200, ""},
		{"pull_requests updates a pull request", prs, "PATCH", "/repos/o/r/issues/2", `{"title":"x"}`, 200, ""},
		{"pull_requests does not update an issue", prs, "PATCH", "/repos/o/r/issues/1", `{"title":"x"}`, 403, "issues=write"},
		{"pull_requests does not create", prs, "POST", "/repos/o/r/issues", `{"title":"x"}`, 403, "issues=write"},
		{"issues read reads", issuesRead, "GET", "/repos/o/r/issues/1", "", 200, ""},
		{"issues read does not update", issuesRead, "PATCH", "/repos/o/r/issues/1", `{"title":"x"}`, 403, "issues=write; pull_requests=write"},
		{"metadata does not read", none, "GET", "/repos/o/r/issues/1", "", 403, "issues=read; pull_requests=read"},
		{"no token", "", "GET", "/repos/o/r/issues/1", "", 401, ""},
	}
	for _, tc := range cases {
		resp, body := do(t, s, tc.method, tc.path, tc.tok, nil, tc.body)
		if resp.StatusCode != tc.status || resp.Header.Get("X-Accepted-GitHub-Permissions") != tc.accepted {
			t.Errorf("%s: %d %q %s", tc.name, resp.StatusCode, resp.Header.Get("X-Accepted-GitHub-Permissions"), body)
		}
	}
}

func TestOrgInstallation(t *testing.T) {
	s := fakegithub.New(t)
	k := appKey(t)
	s.SetAppPublicKey(&k.PublicKey)
	s.SetAppID(42, "contribot")
	s.SetOrgInstallation("SovereignCloudStack", 7)
	s.SetInstallationPermissions(7, map[string]string{"issues": "write", "metadata": "read"})
	now := time.Now().Unix()
	jwt := signJWT(t, k, map[string]any{"iat": now - 60, "exp": now + 540, "iss": "42"})
	app := clientWithToken(t, s, jwt)
	ctx := context.Background()

	inst, _, err := app.Apps.FindOrganizationInstallation(ctx, "sovereigncloudstack")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", inst.GetID(), int64(7)},
		{"account login", inst.GetAccount().GetLogin(), "SovereignCloudStack"},
		{"account type", inst.GetAccount().GetType(), "Organization"},
		{"account node_id", inst.GetAccount().GetNodeID(), base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("012:Organization%d", inst.GetAccount().GetID())))},
		{"target_type", inst.GetTargetType(), "Organization"},
		{"target_id", inst.GetTargetID(), inst.GetAccount().GetID()},
		{"app_id", inst.GetAppID(), int64(42)},
		{"app_slug", inst.GetAppSlug(), "contribot"},
		{"permissions", inst.GetPermissions().GetIssues() + " " + inst.GetPermissions().GetMetadata() + " " + inst.GetPermissions().GetChecks(), "write read "},
		{"access_tokens_url", inst.GetAccessTokensURL(), s.URL() + "app/installations/7/access_tokens"},
		{"repository_selection", inst.GetRepositorySelection(), "all"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	raw, err := readFixture("apps-get-repo-installation.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	// Permissions are a map whose keys vary; compare with the default ones,
	// which cover the example's.
	s.SetOrgInstallation("other-org", 8)
	bearer := map[string]string{"Authorization": "Bearer " + jwt}
	_, body := do(t, s, "GET", "/orgs/other-org/installation", "", bearer, "")
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if m := missingKeys("", want, got); len(m) > 0 {
		t.Errorf("answer lacks GitHub's fields %v\n%s", m, body)
	}

	var ge *github.ErrorResponse
	if _, resp, err := app.Apps.FindOrganizationInstallation(ctx, "kubernetes-sigs"); resp == nil || resp.StatusCode != 404 || !errors.As(err, &ge) {
		t.Errorf("not installed: %v", err)
	}
	// An installation token is not the App's JWT.
	if resp, _ := do(t, s, "GET", "/orgs/SovereignCloudStack/installation", s.IssueToken(7), nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("with an installation token: %d", resp.StatusCode)
	}
	s.SetOrgInstallation("SovereignCloudStack", 0)
	if resp, _ := do(t, s, "GET", "/orgs/SovereignCloudStack/installation", "", bearer, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after removal: %d", resp.StatusCode)
	}
}

func TestSearchLabelsAndDraft(t *testing.T) {
	s := fakegithub.New(t)
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", Labels: []string{"upstream", "good first issue"}, CreatedAt: at(1)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 2, Author: "alice", PR: true, Draft: true, Labels: []string{"Upstream"}, CreatedAt: at(2)})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 3, Author: "bob", PR: true, Labels: []string{"bug"}, CreatedAt: at(3)})
	s.AddSearchItem("p", "q", fakegithub.SearchItem{Number: 4, Author: "bob", State: "closed", Labels: []string{"upstream"}, CreatedAt: at(4)})
	gh := client(t, s, 1)

	cases := []struct {
		q    string
		want []string // nil: 422
	}{
		{"is:issue label:upstream", []string{"p/q#4", "o/r#1"}},
		{"is:pr label:UPSTREAM", []string{"o/r#2"}},
		{`is:issue label:"good first issue"`, []string{"o/r#1"}},
		{`is:issue label:"Good First Issue" label:upstream`, []string{"o/r#1"}},
		{"is:issue label:upstream label:bug", []string{}},
		{"is:pr label:upstream,bug", []string{"o/r#3", "o/r#2"}},
		{`is:issue label:"good first issue",nothing`, []string{"o/r#1"}},
		{"is:issue label:upstream state:open org:o", []string{"o/r#1"}},
		{"is:issue label:upstream is:closed repo:p/q author:bob", []string{"p/q#4"}},
		{"is:pr draft:true", []string{"o/r#2"}},
		{"is:pr draft:false", []string{"o/r#3"}},
		{"is:issue draft:true", []string{}},
		{`is:issue label:"good first`, nil},
		{`is:issue label:""`, nil},
		{`is:issue label:a,`, nil},
		{`is:issue label:"a"b`, nil},
		{"is:pr draft:maybe", nil},
		{`is:issue author:"alice"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			res, resp, err := gh.Search.Issues(context.Background(), tc.q, nil)
			if tc.want == nil {
				if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("want 422, got %v %v", resp, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hitNames(t, s, res.Issues); !slices.Equal(got, tc.want) || res.GetTotal() != len(tc.want) {
				t.Errorf("got %v (total %d), want %v", got, res.GetTotal(), tc.want)
			}
		})
	}
	// Draft shows on search items too.
	res, _, err := gh.Search.Issues(context.Background(), "is:pr draft:true", nil)
	if err != nil || len(res.Issues) != 1 || !res.Issues[0].GetDraft() {
		t.Errorf("draft search item %v %v", res, err)
	}
}
