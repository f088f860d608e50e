package report

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

const staleAfter = 90 * 24 * time.Hour

func TestComment(t *testing.T) {
	iss := issue("SovereignCloudStack/issues", 12, true, "IaaS")
	pr := iss
	pr.PR = true
	closed := iss
	closed.Open = false
	o := Options{Now: now, StaleAfter: staleAfter}

	review := gerrit("openstack/keystone", 903172, provider.InReview, "NEW", day(2025, 6, 2), iss)
	quiet := githubRef("kubernetes-sigs/cluster-api", 123, provider.Open, "open", day(2025, 1, 2), iss)
	merged := launchpad("keystone", 2045974, provider.Merged, "Fix Committed", day(2025, 5, 1), iss)
	released := githubRef("osism/ansible", 9, provider.Released, "", day(2025, 5, 3), iss)
	link := untracked("https://example.org/notes", iss)
	failing := review
	failing.CheckError, failing.CheckFailedSince = "gerrit: 503", day(2025, 6, 29)
	failingNoDate := review
	failingNoDate.CheckError = "gerrit: 503"
	hostile := githubRef("a/b", 1, provider.Open, "open", day(2025, 6, 1), iss)
	hostile.Title = "Fix | <b>x</b> @alice\n[link](http://x)"
	upstreamHost := gerrit("openstack/nova", 1, provider.InReview, "NEW @alice\u202e GH-1", day(2025, 6, 1), iss)
	upstreamHost.Title = "Fixes GH-26, victim/private#4, u@a5c3785ed and\u2066 www.evil.example"

	const head = CommentMarker + "\n**Upstream status**\n\n| upstream | state | last activity |\n| --- | --- | --- |\n"
	const (
		rowReview   = "| [openstack/keystone change 903172](https://review.opendev.org/c/openstack/keystone/+/903172): Change 903172 | in review (NEW) | 2025-06-02 |\n"
		rowQuiet    = "| [kubernetes-sigs/cluster-api#123](https://redirect.github.com/kubernetes-sigs/cluster-api/pull/123): PR 123 | open | 2025-01-02 **stale** |\n"
		rowMerged   = "| [Launchpad bug 2045974](https://bugs.launchpad.net/keystone/+bug/2045974): Bug 2045974 | merged/done (Fix Committed) | 2025-05-01 |\n"
		rowReleased = "| [osism/ansible#9](https://redirect.github.com/osism/ansible/pull/9): PR 9 | released | 2025-05-03 |\n"
		rowLink     = "| [example.org/notes](https://example.org/notes) | not tracked | – |\n"
		staleNote   = "\n**Stale**: no upstream activity for 90 days or more. Ask upstream for a review, or abandon it upstream if the work is dropped.\n"
		nudgeIssue  = "\nAll upstream work here is merged. If nothing is left to do, close this issue.\n"
		nudgePR     = "\nAll upstream work here is merged. If nothing is left to do, merge or close this pull request.\n"
	)
	tests := []struct {
		name    string
		tracker Tracker
		refs    []Reference
		want    string
	}{
		{
			name: "mixed, sorted by state", tracker: iss,
			refs: []Reference{link, merged, quiet, review},
			want: head + rowReview + rowQuiet + rowMerged + rowLink + staleNote,
		},
		{
			name: "any GitHub user names more references than an item tracks", tracker: Tracker{Repo: iss.Repo, Number: iss.Number, Open: true, Untracked: 1853},
			refs: []Reference{review},
			want: head + rowReview + "\n1853 more references are not tracked: the limit is 50 per item.\n",
		},
		{
			name: "all merged: nudge to close the issue", tracker: iss,
			refs: []Reference{released, merged, link},
			want: head + rowMerged + rowReleased + rowLink + nudgeIssue,
		},
		{
			name: "all merged on a pull request", tracker: pr,
			refs: []Reference{merged},
			want: head + rowMerged + nudgePR,
		},
		{
			name: "no nudge on a closed tracker", tracker: closed,
			refs: []Reference{merged},
			want: head + rowMerged,
		},
		{
			name: "no nudge for untracked links only", tracker: iss,
			refs: []Reference{link},
			want: head + rowLink,
		},
		{
			name: "no nudge while work is open", tracker: iss,
			refs: []Reference{merged, review},
			want: head + rowReview + rowMerged,
		},
		{
			name: "failed check shows the day failures began", tracker: iss,
			refs: []Reference{failing},
			want: head + "| [openstack/keystone change 903172](https://review.opendev.org/c/openstack/keystone/+/903172): Change 903172 | in review (NEW) (could not check since 2025-06-29) | 2025-06-02 |\n",
		},
		{
			name: "failed check without a start day", tracker: iss,
			refs: []Reference{failingNoDate},
			want: head + "| [openstack/keystone change 903172](https://review.opendev.org/c/openstack/keystone/+/903172): Change 903172 | in review (NEW) (could not check) | 2025-06-02 |\n",
		},
		{
			name: "hostile title stays in its cell", tracker: iss,
			refs: []Reference{hostile},
			want: head + "| [a/b#1](https://redirect.github.com/a/b/pull/1): Fix \\| &lt;b&gt;x&lt;/b&gt; @" + zwj + "alice \\[link\\]\\(http:" + zwj + "//x\\) | open | 2025-06-01 |\n",
		},
		{
			name: "upstream host: references, autolinks and bidi in title and state", tracker: iss,
			refs: []Reference{upstreamHost},
			want: head + "| [openstack/nova change 1](https://review.opendev.org/c/openstack/nova/+/1): Fixes GH-" + zwj + "26, victim/private\\#" + zwj + "4, u@" + zwj +
				"a5c3785ed and www" + zwj + ".evil.example | in review (NEW @" + zwj + "alice GH-" + zwj + "1) | 2025-06-01 |\n",
		},
		{
			name: "no references", tracker: iss,
			want: CommentMarker + "\n**Upstream status**\n\nNo upstream links found here.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Comment(tt.tracker, tt.refs, o)
			if got != tt.want {
				t.Errorf("Comment:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestCommentStableAcrossPolls checks that what changes on every poll
// (the check time, the error text, the order of the data) leaves the
// comment's bytes alone, so that it is not rewritten on every poll.
func TestCommentStableAcrossPolls(t *testing.T) {
	iss := issue("SovereignCloudStack/issues", 12, true, "IaaS")
	refs := []Reference{
		gerrit("openstack/keystone", 903172, provider.InReview, "NEW", day(2025, 6, 2), iss),
		githubRef("kubernetes-sigs/cluster-api", 123, provider.Open, "open", day(2025, 1, 2), iss),
		launchpad("keystone", 2045974, provider.Merged, "Fix Committed", day(2025, 5, 1), iss),
		untracked("https://example.org/notes", iss),
	}
	refs[0].CheckError, refs[0].CheckFailedSince = "timeout after 10s", day(2025, 6, 29)
	o := Options{Now: now, StaleAfter: staleAfter}
	want := Comment(iss, refs, o)

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		later := make([]Reference, len(refs))
		copy(later, refs)
		for j := range later {
			later[j].LastChecked = now.Add(time.Duration(i) * time.Hour)
		}
		later[0].CheckError = "HTTP 429, retry after " + itoa(i) + "s"
		rng.Shuffle(len(later), func(a, b int) { later[a], later[b] = later[b], later[a] })
		if got := Comment(iss, later, o); got != want {
			t.Fatalf("poll %d changed the comment:\n%s\nwant:\n%s", i, got, want)
		}
	}
	if strings.Contains(want, "retry") || strings.Contains(want, "timeout") {
		t.Errorf("the comment shows the error text, which changes between polls:\n%s", want)
	}
}

// TestComment_StaysWithinGitHubsLimit: a status comment over 65,536
// characters is refused by GitHub for good, so the item's status would
// never be written again. Whatever its references hold, it stays within
// the limit, leaving out the last rows (the least important) and saying
// how many.
func TestComment_StaysWithinGitHubsLimit(t *testing.T) {
	iss := issue("SovereignCloudStack/issues", 12, true, "IaaS")
	o := Options{Now: now, StaleAfter: staleAfter}
	hostileState := gerrit("openstack/nova", 1, provider.InReview, strings.Repeat("x", 70000), day(2025, 6, 1), iss)
	var longURLs []Reference
	for i := range MaxRefsPerItem {
		longURLs = append(longURLs, untracked(fmt.Sprintf("https://example.org/%05d/%s", i, strings.Repeat("a", 2000)), iss))
	}
	tests := []struct {
		attacker string
		refs     []Reference
		o        Options
		wantRows int // rows shown; -1: all
	}{
		{"a Gerrit an org admin names sent a 70,000-character state, stored before the provider cut it", []Reference{hostileState}, o, -1},
		{"any GitHub user names 50 links of 2,000 characters each (the longest made links) in an issue and its comments", longURLs, o, 30},
		{"any GitHub user names 50 links, on a smaller limit", longURLs, Options{Now: now, StaleAfter: staleAfter, MaxChars: 20000}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.attacker, func(t *testing.T) {
			got := Comment(iss, tt.refs, tt.o)
			limit := cmp.Or(tt.o.MaxChars, DefaultMaxChars)
			if n := utf8.RuneCountInString(got); n > limit {
				t.Fatalf("%d characters, over the limit of %d", n, limit)
			}
			rows := strings.Count(got, "\n| ") - 2 // less the header and its separator
			if tt.wantRows < 0 {
				if rows != len(tt.refs) || strings.Contains(got, "not shown") {
					t.Errorf("%d rows of %d shown, want all:\n%.500s", rows, len(tt.refs), got)
				}
				return
			}
			if rows != tt.wantRows {
				t.Errorf("%d rows shown, want %d", rows, tt.wantRows)
			}
			note := fmt.Sprintf("\n%d more references are not shown: the comment would be longer than GitHub allows.\n", len(tt.refs)-rows)
			if !strings.Contains(got, note) {
				t.Errorf("no note %q in:\n%.300s…%s", note, got, got[max(0, len(got)-300):])
			}
			// The rows shown are the first in order.
			for i := range rows {
				if !strings.Contains(got, fmt.Sprintf("example.org/%05d/", i)) {
					t.Errorf("row %d is not shown", i)
				}
			}
		})
	}
}
