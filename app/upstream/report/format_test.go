package report

import (
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

func TestEscape(t *testing.T) {
	const z = zwj
	tests := []struct{ name, in, want string }{
		{"plain", "Fix token expiry", "Fix token expiry"},
		{"empty", "", ""},
		{"table pipe", "a | b", `a \| b`},
		{"newlines and spaces", "  line one\r\nline\ttwo\n\n", "line one line two"},
		{"html", `<img src=x onerror="alert(1)">`, `\<img src=x onerror="alert(1)"\>`},
		{"html comment", "<!-- contribot:upstream -->", `\<\!-- contribot:upstream --\>`},
		{"link", "[click](https://evil.example)", `\[click\](https:` + z + `//evil.example)`},
		{"image", "![x](y)", `\!\[x\](y)`},
		{"code span", "`rm -rf`", "\\`rm -rf\\`"},
		{"emphasis", "**bold** _it_ ~~gone~~", `\*\*bold\*\* \_it\_ \~\~gone\~\~`},
		{"backslash escapes itself", `a\|b`, `a\\\|b`},
		{"mentions", "cc @alice and @org/team", "cc @" + z + "alice and @" + z + "org/team"},
		{"lone at", "meet @ noon", "meet @ noon"},
		{"issue reference", "fixes #123 and owner/repo#4", "fixes #" + z + "123 and owner/repo#" + z + "4"},
		{"html entity", "&#64;alice", `\&#` + z + "64;alice"},
		{"bare url", "see http://evil.example", "see http:" + z + "//evil.example"},
		{"www autolink", "see www.evil.example", "see www." + z + "evil.example"},
		{"hidden bare url", "http:\u200b//evil.example", "http:" + z + "//evil.example"},
		{"bidi override dropped", "abc\u202egnp.exe", "abcgnp.exe"},
		{"zero width dropped", "@\u200balice", "@" + z + "alice"},
		{"invalid utf-8 dropped", "a\xffb", "ab"},
		{"unicode kept", "Übergröße für Nova", "Übergröße für Nova"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escape(tt.in); got != tt.want {
				t.Errorf("escape(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMDLink(t *testing.T) {
	tests := []struct{ name, url, want string }{
		{"plain", "https://review.opendev.org/c/openstack/nova/+/1", "[x](https://review.opendev.org/c/openstack/nova/+/1)"},
		{"github without backlink", "https://github.com/a/b/pull/1", "[x](https://redirect.github.com/a/b/pull/1)"},
		{"github any case", "https://GitHub.com/a/b/pull/1", "[x](https://redirect.github.com/a/b/pull/1)"},
		{"github enterprise kept", "https://github.example.com/a/b/pull/1", "[x](https://github.example.com/a/b/pull/1)"},
		{"breakout characters", "https://x.example/a)b|c d<e>[f]`g", "[x](https://x.example/a%29b%7Cc%20d%3Ce%3E%5Bf%5D%60g)"},
		{"javascript", "javascript:alert(1)", "x"},
		{"credentials", "https://user:pw@x.example/", "x"},
		{"relative", "/c/1", "x"},
		{"not a url", "http://[::1", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mdLink("x", tt.url); got != tt.want {
				t.Errorf("mdLink(%q)\n got %q\nwant %q", tt.url, got, tt.want)
			}
		})
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
		{"hostile project", Reference{Provider: "gerrit", Host: "h", Project: "x](javascript:y)", Number: 1}, `x\](javascript:y) change 1`},
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
