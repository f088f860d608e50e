package report

import (
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

func TestLinkDest(t *testing.T) {
	tests := []struct {
		name, url, want string
		ok              bool
	}{
		{"plain", "https://review.opendev.org/c/openstack/nova/+/1", "https://review.opendev.org/c/openstack/nova/+/1", true},
		{"github without backlink", "https://github.com/a/b/pull/1", "https://redirect.github.com/a/b/pull/1", true},
		{"github any case", "https://GitHub.com/a/b/pull/1", "https://redirect.github.com/a/b/pull/1", true},
		{"any GitHub user: github with a port keeps the backlink", "https://github.com:443/victim/repo/issues/3", "https://redirect.github.com/victim/repo/issues/3", true},
		{"any GitHub user: github with the root's dot keeps the backlink", "https://github.com./victim/repo/issues/4", "https://redirect.github.com/victim/repo/issues/4", true},
		{"any GitHub user: www.github.com keeps the backlink", "http://WWW.github.com/victim/repo/issues/5", "http://redirect.github.com/victim/repo/issues/5", true},
		{"gist is not an issue host", "https://gist.github.com/victim/abc", "https://gist.github.com/victim/abc", true},
		{"github enterprise kept", "https://github.example.com/a/b/pull/1", "https://github.example.com/a/b/pull/1", true},
		{"breakout characters", "https://x.example/a)b|c d<e>[f]`g", "https://x.example/a%29b%7Cc%20d%3Ce%3E%5Bf%5D%60g", true},
		{"javascript", "javascript:alert(1)", "", false},
		{"credentials", "https://user:pw@x.example/", "", false},
		{"relative", "/c/1", "", false},
		{"not a url", "http://[::1", "", false},
		{"at the cap", "https://x.example/" + strings.Repeat("a", maxDest-18), "https://x.example/" + strings.Repeat("a", maxDest-18), true},
		{"any GitHub user: escaping takes it past the cap", "https://x.example/" + strings.Repeat("a", maxDest-20) + "(", "", false},
		{"any GitHub user: 30,000 parentheses in an Upstream: link", "https://evil.example/" + strings.Repeat("(", 30000), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := linkDest(tt.url); got != tt.want || ok != tt.ok {
				t.Errorf("linkDest(%q) = %q, %v; want %q, %v", tt.url, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// Without a usable URL a label is plain text, where its own "#123" would
// be a live reference: it must be neutralised like any other text.
func TestRefLinkWithoutURL(t *testing.T) {
	tests := []struct {
		name string
		ref  Reference
		want string
	}{
		{"github reference", Reference{Provider: "github", Host: "github.com", Project: "victim/private", Number: 4, URL: "javascript:x"},
			"victim/private\\#" + zwj + "4"},
		{"any GitHub user: link to a www host", Reference{Provider: "link", URL: "www.evil.example/x"}, "www" + zwj + ".evil.example/x"},
		{"any GitHub user: 30,000 parentheses in an Upstream: link", Reference{Provider: "link", URL: "https://evil.example/" + strings.Repeat("(", 30000)},
			`evil.example/` + strings.Repeat(`\(`, 66) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refLink(tt.ref); got != tt.want {
				t.Errorf("refLink = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTrackerLink(t *testing.T) {
	tr := issue("SovereignCloudStack/issues", 7, true)
	if got, want := trackerLink(tr), "[SovereignCloudStack/issues#7](https://redirect.github.com/SovereignCloudStack/issues/issues/7)"; got != want {
		t.Errorf("trackerLink = %q, want %q", got, want)
	}
	tr.URL = ""
	if got, want := trackerLink(tr), "SovereignCloudStack/issues\\#"+zwj+"7"; got != want {
		t.Errorf("trackerLink without URL = %q, want %q", got, want)
	}
}

func TestLabel(t *testing.T) {
	tests := []struct {
		name string
		ref  Reference
		want string
	}{
		{"gerrit", Reference{Provider: "gerrit", Host: "review.opendev.org", Project: "openstack/keystone", Number: 903172}, "openstack/keystone change 903172"},
		{"gerrit without project", Reference{Provider: "gerrit", Host: "review.opendev.org", Number: 903172}, "review.opendev.org change 903172"},
		{"github", Reference{Provider: "github", Host: "github.com", Project: "kubernetes-sigs/cluster-api", Kind: "pr", Number: 123}, "kubernetes-sigs/cluster-api#123"},
		{"github enterprise", Reference{Provider: "github", Host: "git.example.com", Project: "a/b", Kind: "issue", Number: 4}, "git.example.com a/b#4"},
		{"launchpad", Reference{Provider: "launchpad", Host: "bugs.launchpad.net", Project: "keystone", Number: 2045974}, "Launchpad bug 2045974"},
		{"gitlab mr", Reference{Provider: "gitlab", Host: "gitlab.com", Project: "group/project", Kind: "mr", Number: 12}, "gitlab.com group/project!12"},
		{"gitlab issue", Reference{Provider: "gitlab", Host: "gitlab.com", Project: "group/project", Kind: "issue", Number: 12}, "gitlab.com group/project#12"},
		{"link", Reference{Provider: "link", URL: "https://docs.example.org/a_b"}, `docs.example.org/a\_b`},
		{"hostile project", Reference{Provider: "gerrit", Host: "h", Project: "x](javascript:y)", Number: 1}, `x\]\(javascript:y\) change 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := label(tt.ref); got != tt.want {
				t.Errorf("label = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRawAddsInfo(t *testing.T) {
	tests := []struct {
		state provider.State
		raw   string
		want  bool
	}{
		{provider.InReview, "NEW", true},
		{provider.InReview, "in_review", false},
		{provider.InReview, "In Review", false},
		{provider.Merged, "MERGED", false},
		{provider.Merged, "done", false},
		{provider.Merged, "Fix Committed", true},
		{provider.Abandoned, "ABANDONED", false},
		{provider.Abandoned, "closed (not_planned)", true},
		{provider.Open, "open", false},
		{provider.Open, "", false},
	}
	for _, tt := range tests {
		if got := rawAddsInfo(Reference{State: tt.state, RawState: tt.raw}); got != tt.want {
			t.Errorf("rawAddsInfo(%s, %q) = %v, want %v", tt.state, tt.raw, got, tt.want)
		}
	}
}

func TestStale(t *testing.T) {
	const after = 90 * 24 * time.Hour
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name  string
		ref   Reference
		after time.Duration
		want  bool
	}{
		{"in review, quiet too long", Reference{Provider: "gerrit", State: provider.InReview, LastActivity: ago(after + time.Hour)}, after, true},
		{"exactly at the threshold", Reference{Provider: "gerrit", State: provider.Open, LastActivity: ago(after)}, after, true},
		{"just under", Reference{Provider: "gerrit", State: provider.Draft, LastActivity: ago(after - time.Second)}, after, false},
		{"merged", Reference{Provider: "gerrit", State: provider.Merged, LastActivity: ago(2 * after)}, after, false},
		{"released", Reference{Provider: "gerrit", State: provider.Released, LastActivity: ago(2 * after)}, after, false},
		{"abandoned", Reference{Provider: "gerrit", State: provider.Abandoned, LastActivity: ago(2 * after)}, after, false},
		{"unavailable", Reference{Provider: "gerrit", State: provider.Unavailable, LastActivity: ago(2 * after)}, after, false},
		{"activity unknown", Reference{Provider: "gerrit", State: provider.InReview}, after, false},
		{"staleness off", Reference{Provider: "gerrit", State: provider.InReview, LastActivity: ago(2 * after)}, 0, false},
		{"untracked link", Reference{Provider: "link", LastActivity: ago(2 * after)}, after, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Stale(tt.ref, now, tt.after); got != tt.want {
				t.Errorf("Stale = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTitled(t *testing.T) {
	long := strings.Repeat("ä", 120)
	tests := []struct{ name, title, want string }{
		{"no title", "", "L"},
		{"short", "Fix it", "L: Fix it"},
		{"at the cap", strings.Repeat("a", maxTitle), "L: " + strings.Repeat("a", maxTitle)},
		{"over the cap, in runes", long, "L: " + strings.Repeat("ä", maxTitle-1) + "…"},
		{"cut before a space", strings.Repeat("a", maxTitle-2) + " bbbb", "L: " + strings.Repeat("a", maxTitle-2) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := titled("L", tt.title); got != tt.want {
				t.Errorf("titled\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
