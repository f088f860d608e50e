package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/dbtest"
	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// clock is a settable clock for the upstream tracker: hours pass between
// polls without the test waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const (
	trackingIssue = 1
	upstreamRules = `upstream:
  comments: true
  labels: true
  dashboard:
    repo: Codertocat/Hello-World
    title: Upstream contributions
`
	trackingBody = "We fixed the token expiry upstream.\n\n" +
		"Upstream: https://review.opendev.org/c/openstack/keystone/+/903172\n" +
		"Upstream: https://bugs.launchpad.net/keystone/+bug/2045974\n" +
		"Upstream: https://github.com/kubernetes-sigs/cluster-api/pull/9001\n" +
		"Upstream: https://example.org/design-doc\n\n" +
		"Related: https://github.com/Codertocat/Hello-World/issues/7 (ours, not upstream)\n"
	cluster = "/repos/kubernetes-sigs/cluster-api/issues/9001"
)

type upstreamEnv struct {
	*env
	gerrit    *fakeupstream.Gerrit
	launchpad *fakeupstream.Launchpad
	clock     *clock
}

// startUpstream starts the service with the upstream fakes; more changes
// the configuration further.
func startUpstream(t *testing.T, databaseURL string, more ...func(*app.Config)) *upstreamEnv {
	t.Helper()
	gerrit, lp := fakeupstream.NewGerrit(), fakeupstream.NewLaunchpad()
	t.Cleanup(gerrit.Close)
	t.Cleanup(lp.Close)
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	e := start(t, setup{
		databaseURL: databaseURL,
		now:         clk.Now,
		configure: func(c *app.Config) {
			c.UpstreamEndpoints = "review.opendev.org=" + gerrit.APIBase() + ",launchpad=" + lp.APIBase()
			// The fakes are on loopback: the operator allows them, for every org.
			c.UpstreamAllowInternal = "*=review.opendev.org,*=launchpad"
			c.UpstreamPollInterval = time.Hour
			c.UpstreamRate = 1000
			c.PublicURL = "https://contribot.example.org"
			for _, m := range more {
				m(c)
			}
		},
	})
	e.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte(upstreamRules))
	e.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: trackingIssue, Author: "Codertocat", Title: "Token expiry", Body: trackingBody})
	e.fake.AddSearchItem("kubernetes-sigs", "cluster-api", fakegithub.SearchItem{Number: 9001, PR: true, Author: "alice", Title: "Add OpenStack CSP support",
		CreatedAt: clk.Now().Add(-72 * time.Hour)})
	gerrit.SetChange(903172, fakeupstream.Change{Project: "openstack/keystone", Status: "NEW", Subject: "Fix token expiry", Updated: clk.Now().Add(-24 * time.Hour)})
	lp.SetBug(2045974, fakeupstream.Task{Target: "keystone", Status: "In Progress",
		Title: `Bug #2045974 in OpenStack Identity (keystone): "Tokens expire early"`, InProgress: clk.Now().Add(-48 * time.Hour)})
	return &upstreamEnv{env: e, gerrit: gerrit, launchpad: lp, clock: clk}
}

// edits orders the tracking issue's events as GitHub does, by updated_at.
var edits atomic.Int64

func trackingEvent(t testing.TB, action, body string, labels ...string) []byte {
	updated := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(edits.Add(1)) * time.Minute)
	var ls []map[string]any
	for _, l := range labels {
		ls = append(ls, map[string]any{"name": l})
	}
	return payload(t, "issues/opened.json", map[string]any{
		"action": action, "issue.number": trackingIssue, "issue.body": body, "issue.labels": ls, "issue.updated_at": updated.Format(time.RFC3339),
		"issue.user.login": "Codertocat", "issue.author_association": "OWNER",
		"issue.html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d", owner, repo, trackingIssue),
		"installation":   map[string]any{"id": 1},
	})
}

// statusComments are contribot's status comments on the tracking issue.
func (u *upstreamEnv) statusComments() []string {
	var out []string
	for _, c := range u.fake.Comments(owner, repo, trackingIssue) {
		if strings.Contains(c.GetBody(), report.CommentMarker) {
			out = append(out, c.GetBody())
		}
	}
	return out
}

func (u *upstreamEnv) onlyStatus(t *testing.T) string {
	t.Helper()
	cs := u.statusComments()
	if len(cs) != 1 {
		t.Fatalf("%d status comments, want exactly 1: %q", len(cs), cs)
	}
	return cs[0]
}

// waitStatus waits until the one status comment says want.
func (u *upstreamEnv) waitStatus(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cs := u.statusComments(); len(cs) == 1 && strings.Contains(cs[0], want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the status comment never said %q: %q", want, u.statusComments())
}

// waitStatusWithout waits until the one status comment no longer says gone.
func (u *upstreamEnv) waitStatusWithout(t *testing.T, gone string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cs := u.statusComments(); len(cs) == 1 && !strings.Contains(cs[0], gone) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the status comment still says %q: %q", gone, u.statusComments())
}

func (u *upstreamEnv) dashboards() []string {
	var out []string
	for _, is := range u.fake.Issues(owner, repo) {
		if strings.Contains(is.GetBody(), report.DashboardMarker) {
			out = append(out, is.GetBody())
		}
	}
	return out
}

// waitIdle waits until no delivery's job or upstream task waits or runs
// (but the periodic poll), so that a step's work is over before the next
// one changes the world. On SQLite a delivery acknowledged a moment ago may
// not be a River job yet: after a send, wait for its effect first.
func (e *env) waitIdle() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var n int
	for time.Now().Before(deadline) {
		err := e.svc.Queue().DB().QueryRowContext(e.t.Context(), `SELECT count(*) FROM river_job WHERE kind IN ('task', 'webhook')
		AND state IN ('available', 'running', 'scheduled', 'retryable', 'pending') AND CAST(args AS TEXT) NOT LIKE '%"key":"all@%'`).Scan(&n)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("%d upstream tasks still waiting or running after 30s", n)
}

// countLog counts log lines that hold every fragment.
func (e *env) countLog(fragments ...string) int {
	n := 0
	for _, line := range strings.Split(e.logs.String(), "\n") {
		all := true
		for _, f := range fragments {
			all = all && strings.Contains(line, f)
		}
		if all {
			n++
		}
	}
	return n
}

// waitCount waits until at least n log lines hold every fragment.
func (e *env) waitCount(n int, fragments ...string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if e.countLog(fragments...) >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("only %d of %d log lines with %q after 30s", e.countLog(fragments...), n, fragments)
}

// upstreamCalls are the GitHub calls of the tracker: everything but rules
// reads and tokens.
func upstreamCalls(calls []string) []string {
	var out []string
	for _, c := range withoutRules(calls) {
		if !strings.Contains(c, "/contents/") {
			out = append(out, c)
		}
	}
	return out
}

func contains(s string, parts ...string) []string {
	var missing []string
	for _, p := range parts {
		if !strings.Contains(s, p) {
			missing = append(missing, p)
		}
	}
	return missing
}

func TestUpstreamTracking(t *testing.T) {
	backends := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", dbtest.FreshPostgres},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			u := startUpstream(t, b.url(t))

			// 1. A labelled issue with Upstream: lines is tracked; its first
			// poll checks each reference once, then one status comment and
			// one dashboard are written.
			u.send("issues", trackingEvent(t, "opened", trackingBody, "upstream"))
			u.waitCount(1, "status comment posted")
			u.waitCount(1, "dashboard opened")
			status := u.onlyStatus(t)
			if m := contains(status, "openstack/keystone", "903172", "in review", "Launchpad bug 2045974", "kubernetes-sigs/cluster-api#9001", "example.org/design-doc", "2026-11-01"); m != nil {
				t.Errorf("status comment lacks %q:\n%s", m, status)
			}
			if strings.Contains(status, "Hello-World/issues/7") {
				t.Errorf("the org's own issue is listed as upstream:\n%s", status)
			}
			if n := u.gerrit.Calls(); n != 1 {
				t.Errorf("Gerrit got %d requests for one change, want 1: %q", n, u.gerrit.Requests())
			}
			if n := u.launchpad.Calls(); n != 1 {
				t.Errorf("Launchpad got %d requests for one bug, want 1", n)
			}
			dash := u.dashboards()
			if len(dash) != 1 || !strings.Contains(dash[0], "903172") {
				t.Fatalf("dashboards = %q, want one listing change 903172", dash)
			}
			calls := upstreamCalls(u.fake.Calls())
			for _, want := range []string{
				"GET " + cluster,
				"GET /repos/Codertocat/Hello-World/issues/1/comments?per_page=100",
				"POST /repos/Codertocat/Hello-World/issues/1/comments",
				"POST /repos/Codertocat/Hello-World/issues",
			} {
				if n := strings.Count(strings.Join(calls, "\n")+"\n", want+"\n"); n != 1 {
					t.Errorf("%q made %d times, want once; calls %q", want, n, calls)
				}
			}
			if slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "PATCH ") }) {
				t.Errorf("the first round edited something; a status comment waits for the first check: %q", calls)
			}

			u.waitIdle()

			// 2. Upstream moves on: everything merges. One poll edits the
			// comment (with the nudge), labels the issue and edits the
			// dashboard, in place.
			u.clock.Add(2 * time.Hour)
			u.gerrit.SetChange(903172, fakeupstream.Change{Project: "openstack/keystone", Status: "MERGED", Subject: "Fix token expiry", Updated: u.clock.Now()})
			u.launchpad.SetBug(2045974, fakeupstream.Task{Target: "keystone", Status: "Fix Released", Title: `Bug #2045974 in OpenStack Identity (keystone): "Tokens expire early"`, FixReleased: u.clock.Now()})
			u.fake.SetIssue("kubernetes-sigs", "cluster-api", 9001, func(it *fakegithub.SearchItem) { it.State, it.Merged, it.UpdatedAt = "closed", true, u.clock.Now() })
			u.fake.Reset()
			if err := u.svc.PollUpstream(t.Context()); err != nil {
				t.Fatal(err)
			}
			u.waitCount(1, "status comment updated")
			u.waitCount(1, "dashboard updated")
			u.waitCount(1, "upstream labels updated")
			status = u.onlyStatus(t)
			if m := contains(status, "merged", "released", "All upstream work here is merged. If nothing is left to do, close this issue."); m != nil {
				t.Errorf("status comment after the merge lacks %q:\n%s", m, status)
			}
			if got := u.fake.Labels(owner, repo, trackingIssue); !slices.Contains(got, "upstream/merged") {
				t.Errorf("labels = %q, want upstream/merged added", got)
			}
			calls = upstreamCalls(u.fake.Calls())
			if n := len(slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return !strings.HasPrefix(c, "POST ") || strings.HasSuffix(c, "/labels") })); n != 0 {
				t.Errorf("%d comments or issues created after a state change, want edits only: %q", n, calls)
			}

			u.waitIdle()

			// 3. Nothing changes upstream: a poll costs one request per
			// Gerrit batch and Launchpad bug, conditional GitHub reads of
			// the tracking repository's visibility, of the upstream PR and
			// of its repository's visibility that GitHub answers 304, and
			// no write at all.
			u.clock.Add(2 * time.Hour)
			u.fake.Reset()
			gerritBefore, lpBefore := u.gerrit.Calls(), u.launchpad.Calls()
			unchanged := u.countLog("dashboard unchanged")
			if err := u.svc.PollUpstream(t.Context()); err != nil {
				t.Fatal(err)
			}
			u.waitCount(unchanged+1, "dashboard unchanged")
			u.waitCount(1, "status comment unchanged")
			calls = upstreamCalls(u.fake.Calls())
			if want := []string{"GET /repos/Codertocat/Hello-World", "GET " + cluster, "GET /repos/kubernetes-sigs/cluster-api"}; !slices.Equal(calls, want) {
				t.Errorf("an unchanged poll made GitHub calls %q, want only the conditional reads %q", calls, want)
			}
			for _, r := range u.fake.Requests() {
				if (strings.HasPrefix(r.Path, "/repos/kubernetes-sigs/") || r.Path == "/repos/Codertocat/Hello-World") && r.Status != http.StatusNotModified {
					t.Errorf("%s answered %d, want 304 (free of quota)", r.Call(), r.Status)
				}
			}
			if g, l := u.gerrit.Calls()-gerritBefore, u.launchpad.Calls()-lpBefore; g != 1 || l != 1 {
				t.Errorf("unchanged poll: %d Gerrit and %d Launchpad requests, want 1 and 1", g, l)
			}

			u.waitIdle()

			// 4. Gerrit is down: the last known state stays, shown with the
			// day checks began failing; the others are still checked.
			u.clock.Add(2 * time.Hour)
			u.gerrit.Down(true)
			if err := u.svc.PollUpstream(t.Context()); err != nil {
				t.Fatal(err)
			}
			u.waitStatus(t, "could not check")
			status = u.onlyStatus(t)
			if m := contains(status, "merged", "could not check since 2026-11-02"); m != nil {
				t.Errorf("status comment during a Gerrit outage lacks %q:\n%s", m, status)
			}
			api := getJSON(t, u.env, "/api/upstream?state=merged")
			var found bool
			for _, r := range api.References {
				if r.Number == 903172 {
					found = true
					if r.CheckError == "" || r.LastChecked.IsZero() || !r.LastChecked.Equal(time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)) {
						t.Errorf("API during the outage: check_error %q, last_checked %v; want an error and the last successful check at 13:00", r.CheckError, r.LastChecked)
					}
				}
			}
			if !found {
				t.Errorf("change 903172 missing from /api/upstream?state=merged: %+v", api)
			}
			u.gerrit.Down(false)

			u.waitIdle()

			// 5. The author adds a reference in a comment: it is tracked
			// and checked, and upstream/merged goes, since not all is merged.
			u.gerrit.SetChange(903999, fakeupstream.Change{Project: "openstack/nova", Status: "NEW", Subject: "Follow-up", Updated: u.clock.Now()})
			cm := payload(t, "issue_comment/created.with-installation.json", map[string]any{
				"issue.number": trackingIssue, "issue.body": trackingBody, "issue.labels": []map[string]any{{"name": "upstream"}, {"name": "upstream/merged"}},
				"issue.user.login": "Codertocat", "comment.user.login": "Codertocat", "comment.id": 4242, "comment.author_association": "OWNER",
				"comment.body": "Follow-up:\nUpstream: https://review.opendev.org/#/c/903999/", "installation": map[string]any{"id": 1},
			})
			u.send("issue_comment", cm)
			u.waitStatus(t, "903999")
			u.waitCount(2, "upstream labels updated")
			status = u.onlyStatus(t)
			if m := contains(status, "903999", "in review"); m != nil {
				t.Errorf("status comment after a comment with a reference lacks %q:\n%s", m, status)
			}
			if strings.Contains(status, "All upstream work here is merged") {
				t.Errorf("the nudge stays while a change is in review:\n%s", status)
			}
			if got := u.fake.Labels(owner, repo, trackingIssue); slices.Contains(got, "upstream/merged") {
				t.Errorf("labels = %q, want upstream/merged removed", got)
			}

			u.waitIdle()

			// 5b. One line goes from the body: that reference alone stops
			// being tracked.
			withoutBug := strings.Replace(trackingBody, "Upstream: https://bugs.launchpad.net/keystone/+bug/2045974\n", "", 1)
			u.send("issues", trackingEvent(t, "edited", withoutBug, "upstream"))
			// On SQLite a delivery reaches River a moment after its 202, so
			// the test waits for the comment's change, not for idleness.
			u.waitStatusWithout(t, "2045974")
			status = u.onlyStatus(t)
			if strings.Contains(status, "2045974") || !strings.Contains(status, "903172") || !strings.Contains(status, "903999") {
				t.Errorf("after removing the Launchpad line the status comment should list the Gerrit changes only:\n%s", status)
			}
			u.waitIdle()

			// 5c. Ten weeks without upstream activity: the change in review
			// is stale (the built-in stale_after is 60 days), in the comment,
			// the dashboard and the labels.
			u.clock.Add(70 * 24 * time.Hour)
			if err := u.svc.PollUpstream(t.Context()); err != nil {
				t.Fatal(err)
			}
			u.waitIdle()
			u.waitStatus(t, "**stale**")
			if got := u.fake.Labels(owner, repo, trackingIssue); !slices.Contains(got, "upstream/stale") {
				t.Errorf("labels = %q, want upstream/stale added", got)
			}
			if dash := strings.Join(u.dashboards(), "\n"); !strings.Contains(dash, "## Stale") {
				t.Errorf("the dashboard does not call out the stale change:\n%s", dash)
			}
			u.waitIdle()

			// 6. The label and the lines go: tracking ends, and the status
			// comment says so instead of going stale.
			// The payload carries the labels GitHub has, contribot's too.
			labels := slices.DeleteFunc(u.fake.Labels(owner, repo, trackingIssue), func(l string) bool { return l == "upstream" })
			u.send("issues", trackingEvent(t, "edited", "Nothing upstream after all.", append(labels, "bug")...))
			u.waitStatus(t, upstream.NotTracked)
			if got := len(u.statusComments()); got != 1 {
				t.Errorf("%d status comments in the end, want 1", got)
			}
			u.waitIdle()
			if got := u.fake.Labels(owner, repo, trackingIssue); slices.Contains(got, "upstream/stale") || slices.Contains(got, "upstream/merged") {
				t.Errorf("labels after untracking = %q, want contribot's upstream/ labels gone", got)
			}
			if api := getJSON(t, u.env, "/api/upstream"); api.Count != 0 {
				t.Errorf("an untracked item's references are still listed: %+v", api.References)
			}
			u.waitIdle()

			// 7. The issue is deleted: it is forgotten, and nothing is
			// written to it any more.
			u.fake.Reset()
			u.send("issues", trackingEvent(t, "deleted", "Nothing upstream after all.", "bug"))
			u.waitLogLine("tracking item deleted; forgotten")
			u.waitIdle()
			for _, c := range upstreamCalls(u.fake.Calls()) {
				if strings.Contains(c, "/issues/1/") {
					t.Errorf("wrote to a deleted issue: %q", c)
				}
			}
		})
	}
}

type apiAnswer struct {
	References []report.Reference `json:"references"`
	Count      int                `json:"count"`
}

func getJSON(t *testing.T, e *env, path string) apiAnswer {
	t.Helper()
	rec := httptest.NewRecorder()
	e.svc.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, body)
	}
	var a apiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return a
}

func TestUpstreamBackfill(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "")
	u.fake.SetOrgInstallation(owner, 1)
	// Issue 1 has Upstream: lines and no label; issue 3 has the label and a
	// Gerrit link in prose; issue 4 has neither; PR 5 has the label but
	// links only into the org.
	u.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: 3, Author: "alice", Title: "Nova quota", Labels: []string{"upstream"},
		Body: "Proposed at https://review.opendev.org/c/openstack/nova/+/903999 last week."})
	u.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: 4, Author: "alice", Body: "Nothing upstream."})
	u.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: 5, Author: "alice", PR: true, Labels: []string{"upstream"},
		Body: "See https://github.com/Codertocat/Hello-World/issues/1"})
	u.gerrit.SetChange(903999, fakeupstream.Change{Project: "openstack/nova", Status: "ABANDONED", Subject: "Quota", Updated: u.clock.Now()})

	for run := 1; run <= 2; run++ {
		rep, err := u.svc.BackfillUpstream(t.Context(), owner)
		if err != nil {
			t.Fatal(err)
		}
		want := upstream.BackfillReport{Found: 3, Tracked: 3, Changed: 3}
		if run == 2 {
			want.Changed = 0 // safe to run again: nothing new
		}
		if rep != want {
			t.Errorf("backfill run %d = %+v, want %+v", run, rep, want)
		}
	}
	u.waitCount(2, "status comment posted")
	u.waitCount(1, "dashboard opened")
	api := getJSON(t, u.env, "/api/upstream")
	states := map[int64]string{}
	for _, r := range api.References {
		states[r.Number] = string(r.State)
	}
	if states[903172] != "in_review" || states[903999] != "abandoned" {
		t.Errorf("states after the backfill = %v, want 903172 in review and 903999 abandoned", states)
	}
	for _, n := range []int{4, 5} {
		for _, c := range u.fake.Comments(owner, repo, n) {
			if strings.Contains(c.GetBody(), report.CommentMarker) {
				t.Errorf("#%d tracks nothing upstream but got a status comment", n)
			}
		}
	}
}

func TestUpstreamBackfillNeedsTheApp(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	if _, err := e.svc.BackfillUpstream(t.Context(), "nowhere"); err == nil || !strings.Contains(err.Error(), "is the App installed there?") {
		t.Errorf("backfill of an org without the App: %v, want it to ask whether the App is installed there", err)
	}
}

// With the database lost (or a second deployment), contribot finds its own
// status comment and dashboard by their markers and edits them; a marker
// someone else pasted is not taken for contribot's.
func TestUpstreamFindsItsCommentAndDashboardByMarker(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "")
	pasted := u.fake.AddComment(owner, repo, trackingIssue, "mallory", report.CommentMarker+"\nnot contribot's")
	own := u.fake.AddComment(owner, repo, trackingIssue, "contribot[bot]", report.CommentMarker+"\nold status")
	u.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: 40, Author: "contribot[bot]", Title: "Upstream contributions", Body: report.DashboardMarker + "\nold"})
	u.fake.Reset()

	u.send("issues", trackingEvent(t, "opened", trackingBody, "upstream"))
	u.waitCount(1, "status comment updated")
	u.waitCount(1, "dashboard updated")
	u.waitIdle()
	calls := upstreamCalls(u.fake.Calls())
	for _, c := range calls {
		if strings.HasPrefix(c, "POST /repos/Codertocat/Hello-World/issues") && !strings.HasSuffix(c, "/labels") {
			t.Errorf("created %q though its own comment and dashboard exist", c)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("PATCH /repos/Codertocat/Hello-World/issues/comments/%d", own.GetID()),
		"PATCH /repos/Codertocat/Hello-World/issues/40",
	} {
		if !slices.Contains(calls, want) {
			t.Errorf("calls %q lack %q", calls, want)
		}
	}
	for _, c := range u.fake.Comments(owner, repo, trackingIssue) {
		if c.GetID() == pasted.GetID() && !strings.Contains(c.GetBody(), "not contribot's") {
			t.Errorf("the comment mallory pasted a marker into was edited: %q", c.GetBody())
		}
	}
	if d := u.dashboards(); len(d) != 1 || !strings.Contains(d[0], "903172") {
		t.Errorf("dashboards %q, want the one found, rewritten", d)
	}
}

// Items of private repositories stay off the public page and the
// dashboard unless the rules say show_private; their own status comment
// is still kept.
func TestUpstreamPrivateItems(t *testing.T) {
	for _, show := range []bool{false, true} {
		t.Run(fmt.Sprintf("show_private %v", show), func(t *testing.T) {
			t.Parallel()
			u := startUpstream(t, "")
			// The payload says private, and so does GitHub when a full poll
			// re-reads the repository's visibility.
			u.fake.SetOrgInstallation(owner, 1)
			u.fake.SetRepoPrivate(owner, repo, true)
			if show {
				u.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte(upstreamRules+"  show_private: true\n"))
			}
			body := trackingEvent(t, "opened", trackingBody, "upstream")
			body, err := sjson.SetBytes(body, "repository.private", true)
			if err != nil {
				t.Fatal(err)
			}
			u.send("issues", body)
			u.waitCount(1, "status comment posted")
			u.waitIdle()
			api := getJSON(t, u.env, "/api/upstream")
			dash := strings.Join(u.dashboards(), "\n")
			if show {
				if api.Count == 0 || !strings.Contains(dash, "903172") {
					t.Errorf("show_private: API count %d, dashboard %q; want the private item's references listed", api.Count, dash)
				}
				return
			}
			if api.Count != 0 || strings.Contains(dash, "903172") {
				t.Errorf("a private item leaked: API count %d, dashboard %q", api.Count, dash)
			}
			rec := httptest.NewRecorder()
			u.svc.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/upstream", nil))
			if strings.Contains(rec.Body.String(), "903172") {
				t.Error("a private item leaked onto /upstream")
			}
		})
	}
}

// A repository made private takes its items off the public reports at
// once, and made public again brings them back.
func TestUpstreamRepositoryVisibility(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "")
	u.send("issues", trackingEvent(t, "opened", trackingBody, "upstream"))
	u.waitCount(1, "status comment posted")
	u.waitIdle()
	if api := getJSON(t, u.env, "/api/upstream"); api.Count == 0 {
		t.Fatal("the public item's references are not listed")
	}
	for _, step := range []struct {
		action    string
		wantCount bool
	}{{"privatized", false}, {"publicized", true}} {
		u.send("repository", payload(t, "repository/"+step.action+".json", map[string]any{"installation": map[string]any{"id": 1}}))
		u.waitLogLine("repository " + step.action + "; its tracking items follow")
		u.waitIdle()
		api := getJSON(t, u.env, "/api/upstream")
		dash := strings.Join(u.dashboards(), "\n")
		if (api.Count > 0) != step.wantCount || strings.Contains(dash, "903172") != step.wantCount {
			t.Errorf("after %s: API count %d, dashboard lists 903172 %v; want listed %v", step.action, api.Count, strings.Contains(dash, "903172"), step.wantCount)
		}
	}
}

// GitHub stores the status comment but the answer is lost (502 from the
// gateway); with comments read when tracking began, contribot knew the item
// had none, yet the retry must find the one GitHub stored, not post again.
func TestUpstreamStatusCommentOnceWhenGitHubAppliedAFailedPost(t *testing.T) {
	t.Parallel()
	u := startUpstream(t, "")
	var lost atomic.Bool
	u.fake.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		if r.Method != http.MethodPost || r.URL.Path != "/repos/Codertocat/Hello-World/issues/1/comments" || !lost.CompareAndSwap(false, true) {
			return nil
		}
		var in struct{ Body string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return &fakegithub.Fault{Status: http.StatusBadRequest}
		}
		u.fake.AddComment(owner, repo, trackingIssue, "contribot[bot]", in.Body)
		return fakegithub.BadGateway()
	})
	u.send("issues", trackingEvent(t, "opened", trackingBody, "upstream"))
	u.waitCount(1, "status comment updated")
	u.waitIdle()
	if !lost.Load() {
		t.Fatal("the status comment was never posted")
	}
	if n := len(u.statusComments()); n != 1 {
		t.Errorf("%d status comments, want 1", n)
	}
}
