package fakegithub_test

import (
	"context"
	"slices"
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
