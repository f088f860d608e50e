package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
)

// Org B runs an internal Gerrit, which the operator points
// gerrit.corp.internal at (UPSTREAM_ENDPOINTS) and allows for B only
// (UPSTREAM_ALLOW_INTERNAL=bob-org=gerrit.corp.internal). Its change 4242
// is titled internalSubject.
const (
	internalHost    = "gerrit.corp.internal"
	internalChange  = "Upstream: https://gerrit.corp.internal/c/corp/secret-infra/+/4242\n"
	internalSubject = "INTERNAL-CHANGE-SUBJECT"
)

// withInternalGerrit starts two orgs on one deployment with B's internal
// Gerrit; B's org rules are bobOrgRules plus the host, and a maintainer of
// A's public repository names the same host in that repository's rules.
func withInternalGerrit(t *testing.T, bobOrgRules string) (*upstreamEnv, *fakeupstream.Gerrit) {
	t.Helper()
	internal := fakeupstream.NewGerrit()
	t.Cleanup(internal.Close)
	internal.SetChange(4242, fakeupstream.Change{Project: "corp/secret-infra", Status: "NEW", Subject: internalSubject,
		Updated: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)})
	u := startUpstream(t, "", func(c *app.Config) {
		c.UpstreamEndpoints += ",gerrit:" + internalHost + "=" + internal.APIBase()
		c.UpstreamAllowInternal += ",bob-org=" + internalHost
	})
	u.fake.SetOrgInstallation(orgA, instA)
	u.fake.SetOrgInstallation(orgB, instB)
	u.fake.SetFile(orgB, ".github", ".github/contribot.yml", []byte(bobOrgRules+"  gerrit: [review.opendev.org, "+internalHost+"]\n"))
	u.fake.SetFile(orgA, repo, ".github/contribot.yml", []byte("upstream:\n  gerrit: ["+internalHost+"]\n"))
	return u, internal
}

// TestUpstreamInternalHost_AnotherTenantNamesIt: a maintainer of org A's
// public repository names B's internal Gerrit in the repository's rules,
// and any GitHub user names one of its changes in an issue there. A's copy
// of the reference is read with what the operator allows A, which is not
// that host: nothing connects to it, A's status comment, the page and the
// API say only that it could not be reached, and the log says why. Once
// B's own private item names the same change, B's copy is read, and A's
// stays apart.
func TestUpstreamInternalHost_AnotherTenantNamesIt(t *testing.T) {
	t.Parallel()
	u, internal := withInternalGerrit(t, bobRules)
	u.track(t, instA, orgA, repo, false, 40, "mallory", internalChange)
	u.waitCount(1, "status comment posted")
	u.waitIdle()
	if n := internal.Calls(); n != 0 {
		t.Errorf("org A's reference reached B's internal Gerrit %d times", n)
	}
	if u.countLog("upstream check failed", `"host":"`+internalHost+`"`, `"internal_address_refused":true`) == 0 {
		t.Error("the log does not say the internal host was refused for org A")
	}
	checkA := func(when string) {
		t.Helper()
		for where, text := range map[string]string{
			"A's status comment": u.statusOf(orgA, repo, 40),
			"/upstream":          u.get(t, "/upstream"),
			"/api/upstream":      u.get(t, "/api/upstream"),
		} {
			if strings.Contains(text, internalSubject) {
				t.Errorf("%s: %s shows what B's internal Gerrit holds:\n%s", when, where, text)
			}
		}
		found := false
		for _, r := range getJSON(t, u.env, "/api/upstream").References {
			if r.Host == internalHost && r.Trackers[0].Repo == orgA+"/"+repo {
				found = true
				if r.CheckError != "could not reach "+internalHost || r.Title != "" {
					t.Errorf("%s: A's reference: check_error %q, title %q; want only %q", when, r.CheckError, r.Title, "could not reach "+internalHost)
				}
			}
		}
		if !found {
			t.Errorf("%s: A's reference is not on /api/upstream", when)
		}
	}
	checkA("before B names it")

	u.track(t, instB, orgB, "plans", true, 8, "bob", internalChange)
	u.waitStatusOf(t, orgB, "plans", 8, internalSubject)
	u.waitIdle()
	if n := internal.Calls(); n != 1 {
		t.Errorf("B's internal Gerrit was asked %d times, want once, for B's own item", n)
	}
	checkA("after B's own item read it")
}

// TestUpstreamInternalHost_ReadsAreTheOrgsPrivateData: what B's internal
// Gerrit holds is B's private data, like a private repository's items: it
// shows in full in the status comments of B's private items only, and on
// the page only when B's org rules say show_private.
func TestUpstreamInternalHost_ReadsAreTheOrgsPrivateData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rules    string
		wantPage bool
	}{
		{"any GitHub user names B's internal change in B's public repository", bobRules, false},
		{"B's org admin shows private data on the reports", bobRulesShowAll, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, _ := withInternalGerrit(t, tt.rules)
			u.track(t, instB, orgB, "plans", true, 8, "bob", internalChange)
			u.waitStatusOf(t, orgB, "plans", 8, internalSubject)
			u.track(t, instB, orgB, bobPublic, false, 3, "mallory", internalChange)
			u.waitCount(2, "status comment posted")
			u.waitIdle()
			if s := u.statusOf(orgB, bobPublic, 3); strings.Contains(s, internalSubject) || !strings.Contains(s, "unavailable") {
				t.Errorf("the status comment of B's public item shows the internal change:\n%s", s)
			}
			for _, path := range []string{"/upstream", "/api/upstream"} {
				if got := strings.Contains(u.get(t, path), internalSubject); got != tt.wantPage {
					t.Errorf("%s shows the internal subject: %v, want %v", path, got, tt.wantPage)
				}
			}
		})
	}
}
