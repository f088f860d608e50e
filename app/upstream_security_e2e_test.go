package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app"
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
	u.fake.SetRepoPrivate(orgB, bobPublic, false) // the dashboard's, public
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
// poll; that poll, with A's installation, then finds it unavailable. The
// same when the link names the repository by a former name: GitHub
// answered from the repository it was renamed to, and that is the one
// matched.
func TestUpstreamCrossOrg_RepositoryMadePrivateLeavesThePageAtOnce(t *testing.T) {
	const lib, libTitle = "lib", "LIB-TITLE"
	for _, named := range []string{lib, "oldlib"} {
		t.Run("named "+named, func(t *testing.T) {
			t.Parallel()
			u := crossOrg(t, bobRules)
			u.fake.AddSearchItem(orgB, lib, fakegithub.SearchItem{Number: 9, Author: "bob", Title: libTitle})
			if named != lib {
				u.fake.SetRepoMoved(orgB, named, orgB, lib)
			}
			u.track(t, instA, orgA, repo, false, 21, "Codertocat", fmt.Sprintf("Upstream: https://github.com/%s/%s/issues/9\n", orgB, named))
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
			if reads := u.readsOf(fmt.Sprintf("/repos/%s/%s/issues/9", orgB, named)); len(reads) != 1 || len(reads[instA]) != 1 || reads[instA][0] != http.StatusNotFound {
				t.Errorf("the next poll's reads of the now private issue: %v; want one by A's installation, answered 404", reads)
			}
			check("after the next poll")
		})
	}
}

// TestUpstreamCrossOrg_PrivateRepositoryMadePublic_StatusCommentsRewritten:
// B's item in a private repository names a link GitHub follows into
// another of B's private repositories; its status comment, private too,
// shows the title. When B makes the item's repository public, the comment
// is rewritten at once without it, not at the next full poll. (GitHub's
// edit history of the comment still holds the old text, for whoever can
// see the item: README says so.)
func TestUpstreamCrossOrg_PrivateRepositoryMadePublic_StatusCommentsRewritten(t *testing.T) {
	t.Parallel()
	const plans = "plans"
	u := crossOrg(t, bobRules)
	u.fake.SetRepoMoved("old-owner", "tool", orgB, bobPrivate)
	u.track(t, instB, orgB, plans, true, 8, "bob", fmt.Sprintf("Upstream: https://github.com/old-owner/tool/issues/%d\n", secretIssue))
	u.waitCount(1, "status comment posted")
	u.waitIdle()
	if !strings.Contains(u.statusOf(orgB, plans, 8), secretTitle) {
		t.Fatal("the private item's status comment lacks the title to begin with")
	}
	u.fake.SetRepoPrivate(orgB, plans, false)
	u.send("repository", payload(t, "repository/publicized.json", map[string]any{
		"repository.name": plans, "repository.full_name": orgB + "/" + plans, "repository.owner.login": orgB, "repository.private": false,
		"installation": map[string]any{"id": instB},
	}))
	u.waitStatusOf(t, orgB, plans, 8, "404")
	if strings.Contains(u.statusOf(orgB, plans, 8), secretTitle) {
		t.Errorf("the comment of an item made public still shows what was read from a private repository:\n%s", u.statusOf(orgB, plans, 8))
	}
}

// TestUpstreamCrossOrg_LostPrivatizedDelivery_FullPollUnlists: B makes its
// public tracking repository private and that one "privatized" delivery is
// lost (REDELIVER_INTERVAL is off by default). The next full poll asks
// GitHub about each repository with tracked items (one conditional request
// each, with its own installation) and takes the items off the reports.
func TestUpstreamCrossOrg_LostPrivatizedDelivery_FullPollUnlists(t *testing.T) {
	t.Parallel()
	const roadmap = "ROADMAP-ITEM"
	u := crossOrg(t, bobRules)
	u.waitCount(1, "upstream references checked") // the poll on start, out of the way of the count below
	u.fake.AddSearchItem(orgB, bobPublic, fakegithub.SearchItem{Number: 3, Author: "bob", Title: roadmap})
	u.send("issues", payload(t, "issues/opened.json", map[string]any{
		"issue.number": 3, "issue.body": "Upstream: https://review.opendev.org/c/openstack/keystone/+/903172\n", "issue.labels": []any{},
		"issue.title": roadmap, "issue.user.login": "bob", "issue.updated_at": "2026-11-01T00:00:00Z",
		"issue.html_url":  "https://github.com/bob-org/tools/issues/3",
		"repository.name": bobPublic, "repository.full_name": orgB + "/" + bobPublic, "repository.owner.login": orgB, "repository.private": false,
		"installation": map[string]any{"id": instB},
	}))
	u.waitCount(1, "status comment posted")
	u.waitCount(1, "dashboard opened")
	u.waitIdle()
	if !strings.Contains(u.get(t, "/api/upstream"), roadmap) {
		t.Fatal("the item is not listed to begin with")
	}

	u.fake.SetRepoPrivate(orgB, bobPublic, true) // no delivery arrives
	u.fake.Reset()
	u.clock.Add(2 * time.Hour)
	if err := u.svc.PollUpstream(t.Context()); err != nil {
		t.Fatal(err)
	}
	u.waitLogLine("repository found private by the poll; its tracking items follow")
	u.waitIdle()
	for where, text := range map[string]string{"/upstream": u.get(t, "/upstream"), "/api/upstream": u.get(t, "/api/upstream"), "B's dashboard": u.dashboardOf(orgB, bobPublic)} {
		if strings.Contains(text, roadmap) || strings.Contains(text, "903172") {
			t.Errorf("after a full poll %s still lists the now private repository's item", where)
		}
	}
	var reads []string
	for _, r := range u.fake.Requests() {
		if r.Path == "/repos/"+orgB+"/"+bobPublic {
			reads = append(reads, fmt.Sprintf("%s by %d: %d", r.Method, r.Installation, r.Status))
		}
	}
	if want := []string{fmt.Sprintf("GET by %d: 200", instB)}; !slices.Equal(reads, want) {
		t.Errorf("the poll's reads of the tracking repository: %q; want %q", reads, want)
	}
}

// TestUpstream_OutsiderEditsAgainAndAgain: any GitHub user edits their
// issue in org A's public repository six times within one poll interval,
// each time with eight new GitHub links; each edit has a poll of its own
// for the new references. Together they read no more than A's budget for
// the window (UPSTREAM_BUDGET_GITHUB), and the references no longer named
// leave the database.
func TestUpstream_OutsiderEditsAgainAndAgain(t *testing.T) {
	t.Parallel()
	const budget, edits, perEdit = 10, 6, 8
	u := startUpstream(t, "", func(c *app.Config) { c.UpstreamBudgetGitHub = budget })
	u.fake.SetOrgInstallation(orgA, instA)
	u.waitCount(1, "upstream references checked") // the poll on start
	u.fake.Reset()
	for e := range edits {
		var b strings.Builder
		for i := range perEdit {
			fmt.Fprintf(&b, "Upstream: https://github.com/victim-%d/r/issues/%d\n", e, i+1)
		}
		u.track(t, instA, orgA, repo, false, 50, "mallory", b.String())
		u.waitCount(e+2, "upstream references checked") // this edit's own poll
		u.waitIdle()
	}
	if reads := u.readsOf("/repos/victim-")[instA]; len(reads) > budget {
		t.Errorf("%d edits within one poll interval cost %d GitHub reads, over the budget of %d", edits, len(reads), budget)
	}
	var rows, named int
	db := u.svc.Queue().DB()
	if err := db.QueryRow(`SELECT count(*) FROM contribot_upstream_ref`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(DISTINCT ref_key) FROM contribot_upstream_link`).Scan(&named); err != nil {
		t.Fatal(err)
	}
	if rows != named || named != perEdit {
		t.Errorf("%d reference rows, %d named; want the %d the issue names now", rows, named, perEdit)
	}
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

// TestUpstreamCrossOrg_ShowPrivateIsTheOrgsToGive: what B's installation
// read from B's private repository (a link GitHub follows into it) is B's
// private data; only B's own rules (its .github repository) may put it on
// the public reports. A repository's rules may only turn that off; they
// may still list the repository's own private items, which its
// maintainers can read and show anyway.
func TestUpstreamCrossOrg_ShowPrivateIsTheOrgsToGive(t *testing.T) {
	const plans = "plans" // another private repository of B
	tests := []struct {
		name      string
		orgRules  string
		repo      string // where the tracking item is, and whose rules say repoRules
		private   bool
		repoRules string
		wantItem  bool // the tracking item itself is listed
	}{
		{"a maintainer of B's public repository says show_private", bobRules, bobPublic, false, "upstream:\n  show_private: true\n", true},
		{"B's org says show_private, a repository turns it off", bobRulesShowAll, bobPublic, false, "upstream:\n  show_private: false\n", true},
		{"a maintainer of B's private repository lists its own items", bobRules, plans, true, "upstream:\n  show_private: true\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := crossOrg(t, tt.orgRules)
			u.fake.SetFile(orgB, tt.repo, ".github/contribot.yml", []byte(tt.repoRules))
			u.fake.SetRepoMoved("old-owner", "tool", orgB, bobPrivate)
			u.track(t, instB, orgB, tt.repo, tt.private, 3, "mallory", fmt.Sprintf("Upstream: https://github.com/old-owner/tool/issues/%d\n", secretIssue))
			u.waitCount(1, "status comment posted")
			u.waitCount(1, "dashboard opened")
			u.waitIdle()
			api := u.get(t, "/api/upstream")
			if listed := strings.Contains(api, fmt.Sprintf(`"repo":"%s/%s"`, orgB, tt.repo)); listed != tt.wantItem {
				t.Errorf("the tracking item is listed: %v, want %v", listed, tt.wantItem)
			}
			for where, text := range map[string]string{
				"/upstream":     u.get(t, "/upstream"),
				"/api/upstream": api,
				"B's dashboard": u.dashboardOf(orgB, bobPublic),
			} {
				if strings.Contains(text, secretTitle) {
					t.Errorf("%s shows what B read from its private repository, which B's org rules do not allow there", where)
				}
			}
			if own := u.statusOf(orgB, tt.repo, 3); strings.Contains(own, secretTitle) != tt.private {
				t.Errorf("the status comment shows the private read: %v, want %v (only in a private item's):\n%s", !tt.private, tt.private, own)
			}
		})
	}
}

// TestUpstreamCrossOrg_OutsiderProbesWhetherAPrivateIssueExists: any
// GitHub user names, in B's public repository, two links GitHub follows
// into B's private repository: issue 7 exists, issue 99 does not. Every
// public surface shows both alike, as GitHub's 404 does, so nothing tells
// the outsider which exists.
func TestUpstreamCrossOrg_OutsiderProbesWhetherAPrivateIssueExists(t *testing.T) {
	t.Parallel()
	u := crossOrg(t, bobRules)
	u.fake.SetRepoMoved("old-owner", "tool", orgB, bobPrivate)
	u.track(t, instB, orgB, bobPublic, false, 3, "mallory",
		fmt.Sprintf("Upstream: https://github.com/old-owner/tool/issues/%d\nUpstream: https://github.com/old-owner/tool/issues/99\n", secretIssue))
	u.waitCount(1, "status comment posted")
	u.waitCount(1, "dashboard opened")
	u.waitIdle()

	// What each surface shows of issue n, with its number made N.
	same := func(s string, n int) string {
		return strings.NewReplacer(fmt.Sprintf("issues/%d", n), "issues/N", fmt.Sprintf("#%d", n), "#N", fmt.Sprintf(":%d@", n), ":N@").Replace(s)
	}
	lineOf := func(text string, n int) string {
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, fmt.Sprintf("issues/%d", n)) {
				return same(l, n)
			}
		}
		return "(none)"
	}
	rowOf := func(page string, n int) string {
		for _, row := range regexp.MustCompile(`(?s)<tr class=.*?</tr>`).FindAllString(page, -1) {
			if strings.Contains(row, fmt.Sprintf("issues/%d\"", n)) {
				return same(row, n)
			}
		}
		return "(none)"
	}
	var api struct {
		References []map[string]any `json:"references"`
	}
	if err := json.Unmarshal([]byte(u.get(t, "/api/upstream")), &api); err != nil {
		t.Fatal(err)
	}
	apiOf := map[int]string{}
	for _, r := range api.References {
		n, _ := r["number"].(float64)
		delete(r, "key")
		delete(r, "url")
		delete(r, "number")
		b, _ := json.Marshal(r)
		apiOf[int(n)] = string(b)
	}
	page, status, dash := u.get(t, "/upstream"), u.statusOf(orgB, bobPublic, 3), u.dashboardOf(orgB, bobPublic)
	for where, of := range map[string]func(n int) string{
		"/api/upstream":             func(n int) string { return apiOf[n] },
		"/upstream":                 func(n int) string { return rowOf(page, n) },
		"the public status comment": func(n int) string { return lineOf(status, n) },
		"B's dashboard":             func(n int) string { return lineOf(dash, n) },
	} {
		exists, missing := of(secretIssue), of(99)
		if exists != missing || exists == "" || exists == "(none)" {
			t.Errorf("%s tells an existing private issue from a missing one:\n%s\n%s", where, exists, missing)
		}
	}
}
