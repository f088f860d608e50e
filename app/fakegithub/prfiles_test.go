package fakegithub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

func prFiles(n int) []*github.CommitFile {
	out := make([]*github.CommitFile, n)
	for i := range out {
		out[i] = &github.CommitFile{Filename: github.String(fmt.Sprintf("dir/file%04d.go", i))}
	}
	return out
}

func TestPRFilesStopAt3000(t *testing.T) {
	s := fakegithub.New(t)
	s.SetPRFiles("o", "r", 5, prFiles(3100))
	gh := client(t, s, 1)

	var got []*github.CommitFile
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := gh.PullRequests.ListFiles(context.Background(), "o", "r", 5, opts)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(got) != 3000 || got[2999].GetFilename() != "dir/file2999.go" {
		t.Fatalf("listed %d files, want the first 3000", len(got))
	}
	calls := s.Calls()
	if len(calls) != 30 || calls[0] != "GET /repos/o/r/pulls/5/files?per_page=100" || calls[29] != "GET /repos/o/r/pulls/5/files?page=30&per_page=100" {
		t.Errorf("%d calls, first %q, last %q", len(calls), calls[0], calls[len(calls)-1])
	}

	base := s.URL() + "repos/o/r/pulls/5/files"
	tok := s.IssueToken(1)
	cases := []struct {
		query string
		n     int
		link  string
	}{
		{"", 30, fmt.Sprintf(`<%[1]s?page=2>; rel="next", <%[1]s?page=100>; rel="last"`, base)},
		{"?per_page=1000", 100, fmt.Sprintf(`<%[1]s?per_page=1000&page=2>; rel="next", <%[1]s?per_page=1000&page=30>; rel="last"`, base)},
		{"?per_page=100&page=30", 100, fmt.Sprintf(`<%[1]s?per_page=100&page=29>; rel="prev", <%[1]s?per_page=100&page=1>; rel="first"`, base)},
		// Beyond the cap: an empty list, as GitHub answers.
		{"?per_page=100&page=31", 0, fmt.Sprintf(`<%[1]s?per_page=100&page=30>; rel="prev", <%[1]s?per_page=100&page=1>; rel="first"`, base)},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			resp, body := do(t, s, "GET", "/repos/o/r/pulls/5/files"+tc.query, tok, nil, "")
			var list []json.RawMessage
			if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 || len(list) != tc.n {
				t.Fatalf("%d, %d files (err %v), want %d", resp.StatusCode, len(list), err, tc.n)
			}
			if string(body) == "null" {
				t.Error("empty page is null, want []")
			}
			if l := resp.Header.Get("Link"); l != tc.link {
				t.Errorf("Link\n got %s\nwant %s", l, tc.link)
			}
		})
	}
}

func TestPRFilesFillDefaults(t *testing.T) {
	s := fakegithub.New(t)
	head, base := strings.Repeat("a", 40), strings.Repeat("b", 40)
	s.AddPullRequest("o", "r", &github.PullRequest{Number: github.Int(2),
		Head: &github.PullRequestBranch{SHA: github.String(head)}, Base: &github.PullRequestBranch{SHA: github.String(base)}})
	explicit := &github.CommitFile{
		SHA: github.String(strings.Repeat("c", 40)), Filename: github.String("x.bin"), Status: github.String("modified"),
		Additions: github.Int(0), Deletions: github.Int(0), Changes: github.Int(0),
		BlobURL: github.String("https://example.com/b"), RawURL: github.String("https://example.com/r"),
		ContentsURL: github.String("https://example.com/c"), Patch: github.String("@@ -1 +1 @@\n-a\n+b"),
	}
	in := []*github.CommitFile{
		{Filename: github.String(".github/workflows/ci.yml")},
		{Filename: github.String("new file.md"), Status: github.String("added"), Additions: github.Int(3)},
		{Filename: github.String("gone.go"), Status: github.String("removed")},
		{Filename: github.String("b.go"), Status: github.String("renamed"), PreviousFilename: github.String("a.go")},
		{Filename: github.String("big.go"), Additions: github.Int(900), Deletions: github.Int(101)},
		explicit,
	}
	s.SetPRFiles("o", "r", 2, in)
	files, _, err := client(t, s, 1).PullRequests.ListFiles(context.Background(), "o", "r", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	html, api := "https://github.com/o/r", s.URL()+"repos/o/r"
	want := []*github.CommitFile{
		{Filename: github.String(".github/workflows/ci.yml"), Status: github.String("modified"),
			Additions: github.Int(1), Deletions: github.Int(1), Changes: github.Int(2),
			BlobURL:     github.String(html + "/blob/" + head + "/.github%2Fworkflows%2Fci.yml"),
			RawURL:      github.String(html + "/raw/" + head + "/.github%2Fworkflows%2Fci.yml"),
			ContentsURL: github.String(api + "/contents/.github%2Fworkflows%2Fci.yml?ref=" + head),
			Patch:       github.String("@@ -1 +1 @@\n-old line 1\n+new line 1")},
		{Filename: github.String("new file.md"), Status: github.String("added"),
			Additions: github.Int(3), Deletions: github.Int(0), Changes: github.Int(3),
			BlobURL:     github.String(html + "/blob/" + head + "/new%20file.md"),
			RawURL:      github.String(html + "/raw/" + head + "/new%20file.md"),
			ContentsURL: github.String(api + "/contents/new%20file.md?ref=" + head),
			Patch:       github.String("@@ -0,0 +1,3 @@\n+new line 1\n+new line 2\n+new line 3")},
		{Filename: github.String("gone.go"), Status: github.String("removed"),
			Additions: github.Int(0), Deletions: github.Int(1), Changes: github.Int(1),
			BlobURL:     github.String(html + "/blob/" + base + "/gone.go"),
			RawURL:      github.String(html + "/raw/" + base + "/gone.go"),
			ContentsURL: github.String(api + "/contents/gone.go?ref=" + base),
			Patch:       github.String("@@ -1 +0,0 @@\n-old line 1")},
		{Filename: github.String("b.go"), Status: github.String("renamed"), PreviousFilename: github.String("a.go"),
			Additions: github.Int(0), Deletions: github.Int(0), Changes: github.Int(0),
			BlobURL:     github.String(html + "/blob/" + head + "/b.go"),
			RawURL:      github.String(html + "/raw/" + head + "/b.go"),
			ContentsURL: github.String(api + "/contents/b.go?ref=" + head)},
		// Over 1000 lines: no patch, as GitHub leaves out large ones.
		{Filename: github.String("big.go"), Status: github.String("modified"),
			Additions: github.Int(900), Deletions: github.Int(101), Changes: github.Int(1001),
			BlobURL:     github.String(html + "/blob/" + head + "/big.go"),
			RawURL:      github.String(html + "/raw/" + head + "/big.go"),
			ContentsURL: github.String(api + "/contents/big.go?ref=" + head)},
		explicit,
	}
	if len(files) != len(want) {
		t.Fatalf("%d files, want %d", len(files), len(want))
	}
	for i, f := range files {
		t.Run(want[i].GetFilename(), func(t *testing.T) {
			if f.GetSHA() == "" || len(f.GetSHA()) != 40 {
				t.Errorf("sha %q", f.GetSHA())
			}
			if want[i].SHA == nil {
				f.SHA = nil
			}
			if !commitFileEqual(f, want[i]) {
				g, _ := json.MarshalIndent(f, "", " ")
				w, _ := json.MarshalIndent(want[i], "", " ")
				t.Errorf("got %s\nwant %s", g, w)
			}
		})
	}

	// Without a stored pull request the URLs name a made-up, stable head.
	s.SetPRFiles("o", "r", 3, []*github.CommitFile{{Filename: github.String("a")}})
	f1, _, err := client(t, s, 1).PullRequests.ListFiles(context.Background(), "o", "r", 3, nil)
	if err != nil || len(f1) != 1 || !strings.Contains(f1[0].GetContentsURL(), "?ref=") {
		t.Fatalf("%v %v", f1, err)
	}
	f2, _, _ := client(t, s, 1).PullRequests.ListFiles(context.Background(), "o", "r", 3, nil)
	if f1[0].GetContentsURL() != f2[0].GetContentsURL() || f1[0].GetSHA() != f2[0].GetSHA() {
		t.Error("made-up values change between calls")
	}
}

func commitFileEqual(a, b *github.CommitFile) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestPRFilesErrorsETagAndPermissions(t *testing.T) {
	s := fakegithub.New(t)
	s.AddPullRequest("o", "r", &github.PullRequest{Number: github.Int(1)})
	s.SetPRFiles("o", "r", 2, prFiles(2))
	s.SetInstallationPermissions(9, map[string]string{"contents": "read", "metadata": "read"})
	tok := s.IssueToken(1)

	cases := []struct {
		name, path, tok string
		status          int
		n               int
	}{
		{"files set", "/repos/o/r/pulls/2/files", tok, 200, 2},
		{"pull request without files", "/repos/O/R/pulls/1/files", tok, 200, 0},
		{"unknown pull request", "/repos/o/r/pulls/3/files", tok, 404, -1},
		{"unknown repository", "/repos/o/other/pulls/2/files", tok, 404, -1},
		{"not a number", "/repos/o/r/pulls/x/files", tok, 404, -1},
		{"no pull_requests permission", "/repos/o/r/pulls/2/files", s.IssueToken(9), 403, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, s, "GET", tc.path, tc.tok, nil, "")
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.n >= 0 {
				var list []json.RawMessage
				if err := json.Unmarshal(body, &list); err != nil || len(list) != tc.n {
					t.Errorf("%d files (err %v), want %d", len(list), err, tc.n)
				}
			}
			if tc.status == 403 && resp.Header.Get("X-Accepted-GitHub-Permissions") != "pull_requests=read" {
				t.Errorf("X-Accepted-GitHub-Permissions %q", resp.Header.Get("X-Accepted-GitHub-Permissions"))
			}
		})
	}

	// Conditional requests: a matching If-None-Match is a free 304 until the
	// files change.
	resp, _ := do(t, s, "GET", "/repos/o/r/pulls/2/files", tok, nil, "")
	etag := resp.Header.Get("ETag")
	before := s.RateRemaining(1)
	resp, body := do(t, s, "GET", "/repos/o/r/pulls/2/files", tok, map[string]string{"If-None-Match": etag}, "")
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 || s.RateRemaining(1) != before {
		t.Errorf("unchanged: %d %q, quota %d → %d", resp.StatusCode, body, before, s.RateRemaining(1))
	}
	s.SetPRFiles("o", "r", 2, prFiles(3))
	resp, _ = do(t, s, "GET", "/repos/o/r/pulls/2/files", tok, map[string]string{"If-None-Match": etag}, "")
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Errorf("changed: %d, ETag %s", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if got := s.Calls(); !slices.Contains(got, "GET /repos/O/R/pulls/1/files") {
		t.Errorf("calls %q", got)
	}
}
