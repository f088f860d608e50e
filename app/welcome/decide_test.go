package welcome

import (
	"testing"

	"github.com/SovereignCloudStack/contribot/rules"
)

func TestRuledOut(t *testing.T) {
	tests := []struct {
		kind, association, userType, login string
		out                                bool
	}{
		{KindPullRequest, "OWNER", "User", "alice", true},
		{KindIssue, "member", "User", "alice", true},
		{KindPullRequest, "COLLABORATOR", "User", "alice", true},
		{KindPullRequest, "CONTRIBUTOR", "User", "alice", false}, // upstream commits imported: still searched
		{KindMerged, "CONTRIBUTOR", "User", "alice", false},
		{KindMerged, "MEMBER", "User", "alice", true},
		{KindPullRequest, "NONE", "Bot", "dependabot[bot]", true},
		{KindPullRequest, "NONE", "User", "renovate[bot]", true},
		{KindPullRequest, "FIRST_TIME_CONTRIBUTOR", "User", "alice", false},
		{KindPullRequest, "FIRST_TIMER", "User", "alice", false},
		{KindIssue, "NONE", "User", "alice", false},
		{KindIssue, "NONE", "User", "", true},
	}
	for _, tt := range tests {
		if got := RuledOut(tt.association, tt.userType, tt.login) != ""; got != tt.out {
			t.Errorf("RuledOut(%s, %s, %s) for a %s = %v, want %v", tt.association, tt.userType, tt.login, tt.kind, got, tt.out)
		}
	}
}

func TestIsFirst(t *testing.T) {
	cur := Item{Repo: "SovereignCloudStack/docs", Number: 7}
	tests := []struct {
		name  string
		total int
		items []Item
		want  bool
	}{
		{"index not caught up: nothing found", 0, nil, true},
		{"only this item", 1, []Item{{Repo: "sovereigncloudstack/Docs", Number: 7}}, true},
		{"one other item", 1, []Item{{Repo: "SovereignCloudStack/docs", Number: 6}}, false},
		{"same number, other repo", 1, []Item{{Repo: "SovereignCloudStack/standards", Number: 7}}, false},
		{"this and an older one", 2, []Item{cur, {Repo: "SovereignCloudStack/docs", Number: 1}}, false},
	}
	for _, tt := range tests {
		if got := IsFirst(tt.total, tt.items, cur); got != tt.want {
			t.Errorf("%s: IsFirst = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestQueryAndScope(t *testing.T) {
	org := rules.Welcome{Scope: rules.ScopeOrg}
	repo := rules.Welcome{Scope: rules.ScopeRepo}
	for _, tt := range []struct{ got, want string }{
		{Query(KindIssue, "alice", Scope(org, "SovereignCloudStack", "docs")), "is:issue author:alice org:sovereigncloudstack"},
		{Query(KindPullRequest, "alice", Scope(repo, "SovereignCloudStack", "Docs")), "is:pr author:alice repo:sovereigncloudstack/docs"},
		{Query(KindMerged, "alice", Scope(org, "o", "r")), "is:pr is:merged author:alice org:o"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Fix typo", "`Fix typo`"},
		{"@octocat please <img src=x onerror=alert(1)> [x](https://evil.example) www.evil.example", "`@octocat please <img src=x onerror=alert(1)> [x](https://evil.example) www.evil.example`"},
		{"use `go test`", "`` use `go test` ``"},
		{"`x`", "`` `x` ``"},
		{"a ``` b", "```` a ``` b ````"},
		{"any GitHub user: bidi \u202eexe.txt\u2066 in a title", "`any GitHub user: bidi exe.txt in a title`"},
		{"two\nlines\r\n and  spaces", "`two lines and spaces`"},
		{"   ", "`(empty)`"},
	}
	for _, tt := range tests {
		if got := CodeSpan(tt.in); got != tt.want {
			t.Errorf("CodeSpan(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"alice", "alice"}, {"a-b-9", "a-b-9"}, {"alice_acme", "alice_acme"}, {"x](https://evil)", "`x](https://evil)`"}, {"-bad", "`-bad`"},
	} {
		if got := SafeLogin(tt.in); got != tt.want {
			t.Errorf("SafeLogin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
