package link

import "testing"

// TestRefScoped: a GitHub reference is kept per org (its key names the
// org, whatever case the org is written in); the others are shared.
func TestRefScoped(t *testing.T) {
	gh := Ref{Provider: GitHub, Host: "github.com", Project: "B/vault", Kind: Issue, Number: 7}
	gerrit := Ref{Provider: Gerrit, Host: "review.opendev.org", Number: 1}
	tests := []struct {
		ref  Ref
		org  string
		want string
	}{
		{gh, "SovereignCloudStack", "github:github.com:b/vault:issue:7@sovereigncloudstack"},
		{gh, "sovereigncloudstack", "github:github.com:b/vault:issue:7@sovereigncloudstack"},
		{gh, "other", "github:github.com:b/vault:issue:7@other"},
		{gerrit, "SovereignCloudStack", "gerrit:review.opendev.org:1"},
		{gh.Scoped("a"), "", "github:github.com:b/vault:issue:7"},
	}
	for _, tt := range tests {
		if got := tt.ref.Scoped(tt.org).Key(); got != tt.want {
			t.Errorf("%+v scoped to %q: key %q, want %q", tt.ref, tt.org, got, tt.want)
		}
	}
	if gh.Key() != "github:github.com:b/vault:issue:7" {
		t.Errorf("a parsed reference has no scope: %q", gh.Key())
	}
}
