package fakegithub_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

func TestListOrgRepos(t *testing.T) {
	s := fakegithub.New(t)
	s.SetOrgInstallation("o", 1)
	s.AddSearchItem("o", "b", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.AddSearchItem("o", "a", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.AddSearchItem("x", "c", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.SetRepoPrivate("o", "secret", true)
	ctx := context.Background()
	list := func(inst int64) []string {
		repos, _, err := client(t, s, inst).Repositories.ListByOrg(ctx, "o", &github.RepositoryListByOrgOptions{Type: "all"})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range repos {
			out = append(out, r.GetFullName()+map[bool]string{true: " private", false: ""}[r.GetPrivate()])
		}
		return out
	}
	if got, want := list(1), []string{"o/a", "o/b", "o/secret private"}; !slices.Equal(got, want) {
		t.Errorf("the org's installation lists %q, want %q", got, want)
	}
	if got, want := list(2), []string{"o/a", "o/b"}; !slices.Equal(got, want) {
		t.Errorf("another installation lists %q, want %q (no private repository)", got, want)
	}
}

func TestSearchPhraseInBody(t *testing.T) {
	s := fakegithub.New(t)
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 1, Author: "alice", Body: "Upstream: https://review.opendev.org/c/x/+/1"})
	s.AddSearchItem("o", "r", fakegithub.SearchItem{Number: 2, Author: "alice", Body: "nothing here"})
	gh := client(t, s, 1)
	ctx := context.Background()
	res, _, err := gh.Search.Issues(ctx, `org:o is:issue in:body "upstream:"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := issueNumbers(res.Issues); !slices.Equal(got, []int{1}) {
		t.Errorf("phrase search found %v, want [1]", got)
	}
	if _, _, err := gh.Search.Issues(ctx, `org:o is:issue "upstream:"`, nil); err == nil {
		t.Error("a phrase without in:body was accepted; the fake cannot search titles and comments")
	}
}

// TestGetRepoVisibilityAndMoves: GET /repos/{o}/{r} says whether a
// repository is private, to its owner's installation only; a moved
// repository redirects to where it went, but only for an installation that
// may see it there.
func TestGetRepoVisibilityAndMoves(t *testing.T) {
	s := fakegithub.New(t)
	s.SetOrgInstallation("a", 1)
	s.SetOrgInstallation("b", 2)
	s.AddSearchItem("b", "secret", fakegithub.SearchItem{Number: 7, Author: "bob", Title: "SECRET-TITLE"})
	s.AddSearchItem("x", "open", fakegithub.SearchItem{Number: 1, Author: "alice"})
	s.SetRepoPrivate("b", "secret", true)
	s.SetRepoMoved("old", "tool", "b", "secret")
	ctx := context.Background()

	for _, tt := range []struct {
		inst        int64
		repo        string
		wantPrivate bool
		wantStatus  int // 0: found
	}{
		{1, "x/open", false, 0},
		{2, "b/secret", true, 0},
		{1, "b/secret", false, 404},
		{1, "x/nowhere", false, 404},
	} {
		owner, name, _ := strings.Cut(tt.repo, "/")
		r, resp, err := client(t, s, tt.inst).Repositories.Get(ctx, owner, name)
		if tt.wantStatus != 0 {
			if resp == nil || resp.StatusCode != tt.wantStatus {
				t.Errorf("installation %d, %s: %v, want HTTP %d", tt.inst, tt.repo, err, tt.wantStatus)
			}
			continue
		}
		if err != nil || r.GetPrivate() != tt.wantPrivate || r.GetFullName() != tt.repo {
			t.Errorf("installation %d, %s: %s private %v (%v), want private %v", tt.inst, tt.repo, r.GetFullName(), r.GetPrivate(), err, tt.wantPrivate)
		}
	}

	// The owner's installation follows the move to the private issue.
	is, _, err := client(t, s, 2).Issues.Get(ctx, "old", "tool", 7)
	if err != nil || is.GetTitle() != "SECRET-TITLE" || !strings.HasSuffix(is.GetRepositoryURL(), "/repos/b/secret") {
		t.Errorf("the owner's installation through the move: %q from %s (%v)", is.GetTitle(), is.GetRepositoryURL(), err)
	}
	// Another installation learns nothing: 404, no Location.
	_, resp, err := client(t, s, 1).Issues.Get(ctx, "old", "tool", 7)
	if resp == nil || resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
		t.Errorf("another installation through the move: %v, want 404 without a Location", err)
	}
}
