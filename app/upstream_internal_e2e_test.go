package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
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

// TestUpstreamHostileHost_LongSubjects: a host a repository maintainer
// names in upstream.gerrit answers subjects of megabytes (whole answers
// over what two changes can need: refused unread) or of kilobytes
// (within it: cut to provider.MaxTitle). Nothing long is stored, and
// every anonymous GET of the page and the API stays small.
func TestUpstreamHostileHost_LongSubjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attacker  string
		subject   int    // bytes per change
		wantError string // the references' check_error
	}{
		{"a Gerrit a repository maintainer names sends 2 MiB subjects", 2 << 20, "evil.example sent an answer over 32 KiB"},
		{"a Gerrit a repository maintainer names sends 12 KiB subjects", 12 << 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.attacker, func(t *testing.T) {
			t.Parallel()
			subject := strings.Repeat("A", tt.subject)
			hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var out []string
				for _, term := range strings.Split(r.URL.Query().Get("q"), " OR ") {
					out = append(out, fmt.Sprintf(`{"_number":%s,"project":"x","status":"NEW","subject":%q}`, strings.TrimPrefix(term, "change:"), subject))
				}
				fmt.Fprint(w, ")]}'\n["+strings.Join(out, ",")+"]")
			}))
			t.Cleanup(hostile.Close)
			// The hostile host stands for a public one: on loopback, the
			// operator has to allow it.
			u := startUpstream(t, "", func(c *app.Config) {
				c.UpstreamEndpoints += ",gerrit:evil.example=" + hostile.URL + "/"
				c.UpstreamAllowInternal += ",*=evil.example"
			})
			u.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("upstream:\n  gerrit: [evil.example]\n"))
			u.track(t, 1, owner, repo, false, 31, "mallory", "Upstream: https://evil.example/c/x/+/1\nUpstream: https://evil.example/c/x/+/2\n")
			u.waitCount(1, "status comment posted")
			u.waitIdle()
			var longest int
			if err := u.svc.Queue().DB().QueryRow(`SELECT COALESCE(MAX(length(title)), 0) FROM contribot_upstream_ref`).Scan(&longest); err != nil {
				t.Fatal(err)
			}
			if longest > provider.MaxTitle {
				t.Errorf("a title of %d characters is stored, want at most %d", longest, provider.MaxTitle)
			}
			for _, path := range []string{"/upstream", "/api/upstream"} {
				if n := len(u.get(t, path)); n > 64<<10 {
					t.Errorf("GET %s answers %d bytes for two references", path, n)
				}
			}
			n := 0
			for _, r := range getJSON(t, u.env, "/api/upstream").References {
				if r.Host != "evil.example" {
					continue
				}
				n++
				if r.CheckError != tt.wantError {
					t.Errorf("%s: check_error %q, want %q", r.URL, r.CheckError, tt.wantError)
				}
				if tt.wantError == "" && (!strings.HasPrefix(r.Title, "AAAA") || !strings.HasSuffix(r.Title, "…")) {
					t.Errorf("%s: title %.40q…, want the subject's start, cut", r.URL, r.Title)
				}
			}
			if n != 2 {
				t.Errorf("%d references of evil.example on /api/upstream, want 2", n)
			}
		})
	}
}
