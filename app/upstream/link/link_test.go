package link

import "testing"

// TestRefScoped: a GitHub reference is kept per org (its key names the
// org, whatever case the org is written in); the others are shared unless
// the caller says their host is read per org.
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

// TestRefScopedBy_InternalHostIsReadPerOrg: the operator lets only org B
// reach gerrit.corp.internal; a reference on it that any org's item names
// is that org's own copy, so that one org's allowance never reads for
// another. Public hosts stay shared, and an untracked link is never
// scoped.
func TestRefScopedBy_InternalHostIsReadPerOrg(t *testing.T) {
	internal := func(host string) bool { return host == "gerrit.corp.internal" }
	tests := []struct {
		name string
		ref  Ref
		org  string
		want string
	}{
		{"any GitHub user in org A names B's internal change", Ref{Provider: Gerrit, Host: "gerrit.corp.internal", Number: 4242}, "Codertocat",
			"gerrit:gerrit.corp.internal:4242@codertocat"},
		{"org B's own item names it", Ref{Provider: Gerrit, Host: "gerrit.corp.internal", Number: 4242}, "bob-org",
			"gerrit:gerrit.corp.internal:4242@bob-org"},
		{"a public Gerrit stays shared", Ref{Provider: Gerrit, Host: "review.opendev.org", Number: 1}, "bob-org",
			"gerrit:review.opendev.org:1"},
		{"GitHub is per org whatever the hook says", Ref{Provider: GitHub, Host: "github.com", Project: "B/vault", Kind: Issue, Number: 7}, "A",
			"github:github.com:b/vault:issue:7@a"},
		{"an untracked link on the host is not read at all", Ref{Provider: Other, Host: "gerrit.corp.internal", URL: "https://gerrit.corp.internal/x"}, "A",
			"link:https://gerrit.corp.internal/x"},
		{"a scope written before is replaced", Ref{Provider: Gerrit, Host: "review.opendev.org", Number: 1, Scope: "a"}, "b",
			"gerrit:review.opendev.org:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ref.ScopedBy(tt.org, internal).Key(); got != tt.want {
				t.Errorf("key %q, want %q", got, tt.want)
			}
		})
	}
}
