package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// Two orgs share one deployment: org A (Codertocat, installation 7) with a
// public repository where anyone may open an issue, and org B (bob-org,
// installation 2, the lower number) with a private repository whose issue
// 7 is titled SECRET-TITLE. What one org's items name is read with that
// org's installation only, and what is read from a private repository
// reaches only the owning org's private places.
const (
	orgA, instA     = "Codertocat", 7
	orgB, instB     = "bob-org", 2
	bobPublic       = "tools"
	bobPrivate      = "vault"
	secretTitle     = "SECRET-TITLE"
	secretIssue     = 7
	bobRules        = "upstream:\n  dashboard:\n    repo: bob-org/tools\n    title: Upstream contributions\n"
	bobRulesShowAll = bobRules + "  show_private: true\n"
)

// crossOrg starts the service with both installations on the fake GitHub;
// B's rules are rules.
func crossOrg(t *testing.T, rules string) *upstreamEnv {
	t.Helper()
	u := startUpstream(t, "")
	u.fake.SetOrgInstallation(orgA, instA)
	u.fake.SetOrgInstallation(orgB, instB)
	u.fake.SetFile(orgB, ".github", ".github/contribot.yml", []byte(rules))
	u.fake.AddSearchItem(orgB, bobPrivate, fakegithub.SearchItem{Number: secretIssue, Author: "bob", Title: secretTitle, Body: "Internal plans."})
	u.fake.SetRepoPrivate(orgB, bobPrivate, true)
	return u
}

// itemEvent is an issues "opened" delivery for org/repo#number, written by
// author, under installation inst.
func itemEvent(t *testing.T, inst int64, org, repo string, private bool, number int, author, body string) []byte {
	t.Helper()
	return payload(t, "issues/opened.json", map[string]any{
		"issue.number": number, "issue.body": body, "issue.labels": []any{},
		"issue.title": fmt.Sprintf("Item %d", number), "issue.user.login": author, "issue.author_association": "NONE",
		"issue.updated_at": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(edits.Add(1)) * time.Minute).Format(time.RFC3339),
		"issue.html_url":   fmt.Sprintf("https://github.com/%s/%s/issues/%d", org, repo, number),
		"repository.name":  repo, "repository.full_name": org + "/" + repo, "repository.owner.login": org, "repository.private": private,
		"installation": map[string]any{"id": inst},
	})
}

// track opens an item on the fake and delivers its event.
func (u *upstreamEnv) track(t *testing.T, inst int64, org, repo string, private bool, number int, author, body string) {
	t.Helper()
	u.fake.AddSearchItem(org, repo, fakegithub.SearchItem{Number: number, Author: author, Body: body})
	if private {
		u.fake.SetRepoPrivate(org, repo, true)
	}
	u.send("issues", itemEvent(t, inst, org, repo, private, number, author, body))
}

// statusOf is contribot's status comment on org/repo#number, "" if none.
func (u *upstreamEnv) statusOf(org, repo string, number int) string {
	for _, c := range u.fake.Comments(org, repo, number) {
		if strings.Contains(c.GetBody(), report.CommentMarker) {
			return c.GetBody()
		}
	}
	return ""
}

// dashboardOf is the dashboard issue in org/repo, "" if none.
func (u *upstreamEnv) dashboardOf(org, repo string) string {
	for _, is := range u.fake.Issues(org, repo) {
		if strings.Contains(is.GetBody(), report.DashboardMarker) {
			return is.GetBody()
		}
	}
	return ""
}

// get answers a GET on the service's own handler.
func (u *upstreamEnv) get(t *testing.T, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	u.svc.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, body)
	}
	return string(body)
}

// readsOf lists the installations that read GitHub paths under prefix.
func (u *upstreamEnv) readsOf(prefix string) map[int64][]int {
	out := map[int64][]int{}
	for _, r := range u.fake.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			out[r.Installation] = append(out[r.Installation], r.Status)
		}
	}
	return out
}

// TestUpstreamCrossOrg_OutsiderNamesAnotherOrgsPrivateIssue: any GitHub
// user in org A's public repository names org B's private issue. It is
// read with A's installation, which GitHub answers 404, and nothing of it
// reaches A's status comment, A's dashboard, the public page, the API or
// the logs. (Before, the lowest-numbered installation with tracked items,
// B's, read it for A.)
func TestUpstreamCrossOrg_OutsiderNamesAnotherOrgsPrivateIssue(t *testing.T) {
	t.Parallel()
	u := crossOrg(t, bobRules)
	// B tracks work too, so its installation is one the poll could pick.
	u.track(t, instB, orgB, bobPublic, false, 3, "bob", "Upstream: https://review.opendev.org/c/openstack/keystone/+/903172")
	u.waitCount(1, "status comment posted")
	u.waitIdle()
	u.fake.Reset()

	u.track(t, instA, orgA, repo, false, 20, "mallory", fmt.Sprintf("Please look at this.\n\nUpstream: https://github.com/%s/%s/issues/%d\n", orgB, bobPrivate, secretIssue))
	u.waitCount(2, "status comment posted")
	u.waitIdle()

	reads := u.readsOf(fmt.Sprintf("/repos/%s/%s", orgB, bobPrivate))
	if len(reads[instB]) != 0 {
		t.Errorf("B's installation read B's private repository for A's item %d times", len(reads[instB]))
	}
	for inst, statuses := range reads {
		for _, st := range statuses {
			if inst != instA || st != http.StatusNotFound {
				t.Errorf("a read of B's private repository by installation %d answered %d; want only A's, answered 404", inst, st)
			}
		}
	}
	if len(reads[instA]) == 0 {
		t.Error("A's installation never asked: the reference was not checked at all")
	}
	status := u.statusOf(orgA, repo, 20)
	if !strings.Contains(status, "unavailable") {
		t.Errorf("A's status comment does not show the reference as unavailable:\n%s", status)
	}
	for where, text := range map[string]string{
		"A's status comment": status,
		"A's dashboard":      u.dashboardOf(orgA, repo),
		"/upstream":          u.get(t, "/upstream"),
		"/api/upstream":      u.get(t, "/api/upstream"),
		"the logs":           u.logs.String(),
	} {
		if strings.Contains(text, secretTitle) {
			t.Errorf("B's private title reached %s", where)
		}
	}
}

// TestUpstreamCrossOrg_OwnPrivateReadStaysPrivate: org B's own items name
// a link that GitHub follows into B's private repository (a transferred
// repository). B's installation reads it; the title shows in the status
// comment of B's private item only, and on the page, the API and B's
// dashboard only when B's rules say show_private.
func TestUpstreamCrossOrg_OwnPrivateReadStaysPrivate(t *testing.T) {
	for _, show := range []bool{false, true} {
		t.Run(fmt.Sprintf("show_private %v", show), func(t *testing.T) {
			t.Parallel()
			rules := bobRules
			if show {
				rules = bobRulesShowAll
			}
			u := crossOrg(t, rules)
			u.fake.SetRepoMoved("old-owner", "tool", orgB, bobPrivate)
			body := fmt.Sprintf("Upstream: https://github.com/old-owner/tool/issues/%d\n", secretIssue)
			u.track(t, instB, orgB, bobPublic, false, 3, "bob", body)
			u.track(t, instB, orgB, bobPrivate, true, 8, "bob", body)
			u.waitCount(2, "status comment posted")
			u.waitCount(1, "dashboard opened")
			u.waitIdle()

			reads := u.readsOf(fmt.Sprintf("/repos/%s/%s/issues/%d", orgB, bobPrivate, secretIssue))
			if len(reads[instB]) == 0 || len(reads) != 1 {
				t.Errorf("reads of B's private issue by installation: %v; want B's only", reads)
			}
			if own := u.statusOf(orgB, bobPrivate, 8); !strings.Contains(own, secretTitle) {
				t.Errorf("the status comment of B's private item lacks what B may read there:\n%s", own)
			}
			if pub := u.statusOf(orgB, bobPublic, 3); strings.Contains(pub, secretTitle) || !strings.Contains(pub, "unavailable") {
				t.Errorf("the status comment of B's public item shows the private read, or not as unavailable:\n%s", pub)
			}
			for where, text := range map[string]string{
				"/upstream":     u.get(t, "/upstream"),
				"/api/upstream": u.get(t, "/api/upstream"),
				"B's dashboard": u.dashboardOf(orgB, bobPublic),
			} {
				if strings.Contains(text, secretTitle) != show {
					t.Errorf("%s shows the private title: %v, want %v (show_private)", where, !show, show)
				}
			}
			if strings.Contains(u.logs.String(), secretTitle) {
				t.Error("the private title reached the logs")
			}
		})
	}
}

// TestUpstreamCrossOrg_RepositoryMadePrivateLeavesThePageAtOnce: org A's
// item names an issue in org B's public repository, and its title shows on
// the page. When B makes the repository private, what was read from it
// leaves the page, the API and A's status comment at once, not at the next
// poll; that poll, with A's installation, then finds it unavailable.
func TestUpstreamCrossOrg_RepositoryMadePrivateLeavesThePageAtOnce(t *testing.T) {
	t.Parallel()
	const lib, libTitle = "lib", "LIB-TITLE"
	u := crossOrg(t, bobRules)
	u.fake.AddSearchItem(orgB, lib, fakegithub.SearchItem{Number: 9, Author: "bob", Title: libTitle})
	u.track(t, instA, orgA, repo, false, 21, "Codertocat", fmt.Sprintf("Upstream: https://github.com/%s/%s/issues/9\n", orgB, lib))
	u.waitCount(1, "status comment posted")
	u.waitIdle()
	if !strings.Contains(u.get(t, "/api/upstream"), libTitle) {
		t.Fatal("the public issue's title is not on the API to begin with")
	}

	u.fake.SetRepoPrivate(orgB, lib, true)
	u.send("repository", payload(t, "repository/privatized.json", map[string]any{
		"repository.name": lib, "repository.full_name": orgB + "/" + lib, "repository.owner.login": orgB, "repository.private": true,
		"installation": map[string]any{"id": instB},
	}))
	u.waitStatusOf(t, orgA, repo, 21, "unavailable")
	u.waitIdle()
	check := func(when string) {
		t.Helper()
		for where, text := range map[string]string{
			"/upstream":          u.get(t, "/upstream"),
			"/api/upstream":      u.get(t, "/api/upstream"),
			"A's status comment": u.statusOf(orgA, repo, 21),
			"A's dashboard":      u.dashboardOf(orgA, repo),
		} {
			if strings.Contains(text, libTitle) {
				t.Errorf("%s: %s still shows what was read from the repository made private", when, where)
			}
		}
	}
	check("before the next poll")

	u.fake.Reset()
	u.clock.Add(2 * time.Hour)
	polls := u.countLog("upstream references checked", `"checked":1,`)
	if err := u.svc.PollUpstream(t.Context()); err != nil {
		t.Fatal(err)
	}
	u.waitCount(polls+1, "upstream references checked", `"checked":1,`)
	u.waitIdle()
	if reads := u.readsOf(fmt.Sprintf("/repos/%s/%s/issues/9", orgB, lib)); len(reads) != 1 || len(reads[instA]) != 1 || reads[instA][0] != http.StatusNotFound {
		t.Errorf("the next poll's reads of the now private issue: %v; want one by A's installation, answered 404", reads)
	}
	check("after the next poll")
}

// waitStatusOf waits until the status comment on org/repo#number says want.
func (u *upstreamEnv) waitStatusOf(t *testing.T, org, repo string, number int, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(u.statusOf(org, repo, number), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the status comment on %s/%s#%d never said %q: %q", org, repo, number, want, u.statusOf(org, repo, number))
}
