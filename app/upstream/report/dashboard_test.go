package report

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// dashboardFixture has each grouping case: two modules, no module, a
// closed-only tracker, an untracked link, a stale and a failing reference.
func dashboardFixture() ([]Reference, Options) {
	a := issue("SovereignCloudStack/issues", 12, true, "IaaS")
	b := issue("SovereignCloudStack/cluster-stacks", 3, true, "Container", "IaaS")
	closed := issue("SovereignCloudStack/issues", 7, false, "Ops")
	bare := issue("SovereignCloudStack/docs", 5, true)
	refs := []Reference{
		gerrit("openstack/keystone", 903172, provider.InReview, "NEW", day(2025, 6, 2), a),
		launchpad("keystone", 2045974, provider.Merged, "Fix Committed", day(2025, 5, 1), b, a),
		githubRef("kubernetes-sigs/cluster-api", 123, provider.Open, "open", day(2025, 1, 2), b),
		githubRef("osism/ansible", 9, provider.Abandoned, "closed", day(2024, 1, 2), closed),
		gerrit("openstack/nova", 2, provider.Unknown, "", zero, bare),
		untracked("https://example.org/notes", a),
	}
	refs[0].CheckError, refs[0].CheckFailedSince = "timeout", day(2025, 6, 29)
	refs[4].LastChecked = zero
	return refs, Options{Now: now, StaleAfter: staleAfter, PageURL: "https://contribot.example/upstream"}
}

const (
	dashHead = DashboardMarker + `
# Upstream work

**4 references**: 1 in review, 1 open, 1 merged/done, 1 not checked yet · **1 stale** · 1 link not tracked
`
	dashStale = `
## Stale (1)

No upstream activity for 90 days or more.

- [kubernetes-sigs/cluster-api#123](https://redirect.github.com/kubernetes-sigs/cluster-api/pull/123): PR 123 · open · 2025-01-02 · [SovereignCloudStack/cluster-stacks#3](https://redirect.github.com/SovereignCloudStack/cluster-stacks/issues/3)
`
	dashReview = `
## In review (1)

### IaaS

#### review.opendev.org/openstack/keystone

- [openstack/keystone change 903172](https://review.opendev.org/c/openstack/keystone/+/903172): Change 903172 · 2025-06-02 · could not check since 2025-06-29 · [SovereignCloudStack/issues#12](https://redirect.github.com/SovereignCloudStack/issues/issues/12)
`
	dashRest = `
## Open (1)

### Container

#### github.com/kubernetes-sigs/cluster-api

- [kubernetes-sigs/cluster-api#123](https://redirect.github.com/kubernetes-sigs/cluster-api/pull/123): PR 123 · 2025-01-02 · **stale** · [SovereignCloudStack/cluster-stacks#3](https://redirect.github.com/SovereignCloudStack/cluster-stacks/issues/3)

### IaaS

#### github.com/kubernetes-sigs/cluster-api

- [kubernetes-sigs/cluster-api#123](https://redirect.github.com/kubernetes-sigs/cluster-api/pull/123): PR 123 · 2025-01-02 · **stale** · [SovereignCloudStack/cluster-stacks#3](https://redirect.github.com/SovereignCloudStack/cluster-stacks/issues/3)

## Merged/done (1)

### Container

#### bugs.launchpad.net/keystone

- [Launchpad bug 2045974](https://bugs.launchpad.net/keystone/+bug/2045974): Bug 2045974 · 2025-05-01 · [SovereignCloudStack/cluster-stacks#3](https://redirect.github.com/SovereignCloudStack/cluster-stacks/issues/3), [SovereignCloudStack/issues#12](https://redirect.github.com/SovereignCloudStack/issues/issues/12)

### IaaS

#### bugs.launchpad.net/keystone

- [Launchpad bug 2045974](https://bugs.launchpad.net/keystone/+bug/2045974): Bug 2045974 · 2025-05-01 · [SovereignCloudStack/cluster-stacks#3](https://redirect.github.com/SovereignCloudStack/cluster-stacks/issues/3), [SovereignCloudStack/issues#12](https://redirect.github.com/SovereignCloudStack/issues/issues/12)

## Not checked yet (1)

### no module

#### review.opendev.org/openstack/nova

- [openstack/nova change 2](https://review.opendev.org/c/openstack/nova/+/2): Change 2 · [SovereignCloudStack/docs#5](https://redirect.github.com/SovereignCloudStack/docs/issues/5)

## Links not tracked (1)

### IaaS

#### example.org

- [example.org/notes](https://example.org/notes) · [SovereignCloudStack/issues#12](https://redirect.github.com/SovereignCloudStack/issues/issues/12)
`
)

func TestDashboard(t *testing.T) {
	refs, o := dashboardFixture()
	noURL := o
	noURL.PageURL = ""
	small := o
	small.MaxChars = 1100
	smallNoURL := small
	smallNoURL.PageURL = ""
	closedOnly := refs[3:4]
	tests := []struct {
		name string
		refs []Reference
		o    Options
		want string
	}{
		{"everything fits", refs, o, dashHead + dashStale + dashReview + dashRest},
		{"cut to the limit", refs, small, dashHead + dashStale + dashReview + "\n4 more references: see https://contribot.example/upstream\n"},
		{"cut without a page", refs, smallNoURL, dashHead + dashStale + dashReview + "\n4 more references not shown.\n"},
		{"only closed trackers", closedOnly, o, DashboardMarker + "\n# Upstream work\n\nNo open issue or pull request tracks upstream work.\n"},
		{"nothing", nil, noURL, DashboardMarker + "\n# Upstream work\n\nNo open issue or pull request tracks upstream work.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Dashboard(tt.refs, tt.o)
			if got != tt.want {
				t.Errorf("Dashboard:\n%s\nwant:\n%s", got, tt.want)
			}
			if max := tt.o.MaxChars; max > 0 && utf8.RuneCountInString(got) > max {
				t.Errorf("%d runes, over the limit of %d", utf8.RuneCountInString(got), max)
			}
		})
	}
}

// TestDashboardEscapes renders what outsiders write: a GitHub user's
// module-less title reaches the dashboard through an upstream item, whose
// title any user of the upstream host writes, and a maintainer names the
// modules.
func TestDashboardEscapes(t *testing.T) {
	a := issue("SovereignCloudStack/issues", 1, true, "IaaS <b>")
	r := githubRef("a/b", 1, provider.Open, "open", day(2025, 6, 1), a)
	r.Title = "Ping @alice\n## heading | <script> GH-7 other/repo#8 www.evil.example\u202e"
	got := Dashboard([]Reference{r}, Options{Now: now})
	for _, want := range []string{
		"\n### IaaS &lt;b&gt;\n",
		"\n- [a/b#1](https://redirect.github.com/a/b/pull/1): Ping @" + zwj + "alice \\#\\# heading \\| &lt;script&gt; GH-" + zwj + "7 other/repo\\#" + zwj + "8 www" + zwj +
			".evil.example · 2025-06-01 · [SovereignCloudStack/issues#1](https://redirect.github.com/SovereignCloudStack/issues/issues/1)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Dashboard:\n%s\nlacks:\n%s", got, want)
		}
	}
}

func TestDashboardDeterministic(t *testing.T) {
	refs := genRefs(300, 40)
	o := Options{Now: now, StaleAfter: staleAfter, PageURL: "https://contribot.example/upstream", MaxChars: 20000}
	want := Dashboard(refs, o)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 10 {
		shuffled := make([]Reference, len(refs))
		for j, r := range refs {
			r.Trackers = append([]Tracker(nil), r.Trackers...)
			rng.Shuffle(len(r.Trackers), func(a, b int) { r.Trackers[a], r.Trackers[b] = r.Trackers[b], r.Trackers[a] })
			r.LastChecked = now.Add(-time.Duration(i) * time.Minute)
			shuffled[j] = r
		}
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := Dashboard(shuffled, o); got != want {
			t.Fatalf("shuffle %d changed the dashboard", i)
		}
	}
}

// TestDashboardLimit renders more references than fit, and checks that
// the body stays within the limit, is still well-formed, leaves out the
// least important groups first and counts what it leaves out.
func TestDashboardLimit(t *testing.T) {
	refs := genRefs(5000, 500)
	o := Options{Now: now, StaleAfter: staleAfter, PageURL: "https://contribot.example/upstream"}
	got := Dashboard(refs, o)
	if n := utf8.RuneCountInString(got); n > DefaultMaxChars {
		t.Fatalf("%d runes, over GitHub's limit of %d", n, DefaultMaxChars)
	}
	checkWellFormed(t, got)

	// Sections in cut order: wholly left out, then at most one partly,
	// then whole.
	sections := map[string][2]int{} // title → total, shown
	for _, m := range regexp.MustCompile(`(?m)^## (.+) \((\d+)(?:, (\d+) shown)?\)$`).FindAllStringSubmatch(got, -1) {
		total, _ := strconv.Atoi(m[2])
		shown := total
		if m[3] != "" {
			shown, _ = strconv.Atoi(m[3])
		}
		sections[m[1]] = [2]int{total, shown}
	}
	phase := 0 // 0: left out, 1: partly shown, 2: whole
	for _, k := range cutOrder {
		title := "Stale"
		if k != "stale" {
			title = sectionTitle(k)
		}
		s, ok := sections[title]
		switch {
		case !ok:
			if phase > 0 {
				t.Errorf("section %q is left out, but a less important one is shown", title)
			}
		case s[1] < s[0]:
			if phase > 0 {
				t.Errorf("section %q is cut, but a less important one is shown", title)
			}
			phase = 1
		default:
			phase = 2
		}
	}
	if _, ok := sections[sectionTitle(string(provider.InReview))]; !ok {
		t.Errorf("the most important section is left out: %v", sections)
	}

	// The footer counts the references missing from their state section.
	want := 0
	lines := strings.Split(got, "\n")
	seen := map[string]int{}
	inStale := false
	for _, l := range lines {
		if strings.HasPrefix(l, "## ") {
			inStale = strings.HasPrefix(l, "## Stale")
		}
		if !inStale && strings.HasPrefix(l, "- [") {
			seen[l[:strings.Index(l, ")")]]++
		}
	}
	for _, r := range refs {
		if !r.HasOpenTracker() {
			continue
		}
		lines := max(1, len(modulesOf(r.Trackers, true)))
		dest, _ := linkDest(r.URL)
		if seen["- ["+label(r)+"]("+dest] < lines {
			want++
		}
	}
	footer := fmt.Sprintf("\n%d more references: see https://contribot.example/upstream\n", want)
	if want == 0 || !strings.HasSuffix(got, footer) {
		t.Errorf("the body ends with\n%q\nwant\n%q", got[max(0, len(got)-100):], footer)
	}
}

func TestDashboardFits(t *testing.T) {
	refs := genRefs(300, 40)
	for i := range refs {
		// Runes, not bytes, count: these titles have more bytes than runes.
		refs[i].Title = "Größenänderung für Volumes in Cinder " + itoa(i)
	}
	o := Options{Now: now, StaleAfter: staleAfter, PageURL: "https://contribot.example/upstream", MaxChars: 1 << 30}
	full := Dashboard(refs, o)
	runes := utf8.RuneCountInString(full)
	if len(full) <= runes+100 || strings.Contains(full, "more reference") {
		t.Fatalf("the fixture does not test rune counting: %d bytes, %d runes", len(full), runes)
	}
	checkWellFormed(t, full)

	o.MaxChars = runes
	if got := Dashboard(refs, o); got != full {
		t.Errorf("a body of exactly MaxChars runes was cut")
	}
	o.MaxChars = runes - 1
	got := Dashboard(refs, o)
	if n := utf8.RuneCountInString(got); n > o.MaxChars || !strings.Contains(got, " more reference") {
		t.Errorf("one rune over: got %d runes, want a cut body of at most %d", n, o.MaxChars)
	}
	checkWellFormed(t, got)
}

// checkWellFormed checks the dashboard's Markdown line by line: each line
// is of a known kind, every heading has content under it, and every list
// item's brackets are balanced.
func checkWellFormed(t *testing.T, body string) {
	t.Helper()
	if !strings.HasPrefix(body, DashboardMarker+"\n# Upstream work\n\n**") || !strings.HasSuffix(body, "\n") {
		t.Fatalf("bad start or end:\n%.300s", body)
	}
	kinds := []*regexp.Regexp{
		regexp.MustCompile(`^$`),
		regexp.MustCompile(`^` + regexp.QuoteMeta(DashboardMarker) + `$`),
		regexp.MustCompile(`^# Upstream work$`),
		regexp.MustCompile(`^\*\*\d+ references?\*\*: .+$`),
		regexp.MustCompile(`^## [A-Z][a-z /]+ \(\d+(, \d+ shown)?\)$`),
		regexp.MustCompile(`^No upstream activity for \d+ days or more\.$`),
		regexp.MustCompile(`^### \S.*$`),
		regexp.MustCompile(`^#### \S+$`),
		regexp.MustCompile(`^- \[.+?\]\(https://[^\s()<>|]+\).*$`),
		regexp.MustCompile(`^\d+ more references?(: see \S+| not shown\.)$`),
	}
	escaped := regexp.MustCompile(`\\.`)
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	level := func(l string) int {
		n := len(l) - len(strings.TrimLeft(l, "#"))
		if n > 0 && strings.HasPrefix(l[n:], " ") {
			return n
		}
		return 0
	}
	for i, l := range lines {
		if !slices.ContainsFunc(kinds, func(re *regexp.Regexp) bool { return re.MatchString(l) }) {
			t.Fatalf("line %d is malformed: %q", i+1, l)
		}
		if strings.HasPrefix(l, "- ") {
			bare := escaped.ReplaceAllString(l, "")
			if strings.Count(bare, "[") != strings.Count(bare, "]") || strings.Count(bare, "(") != strings.Count(bare, ")") {
				t.Fatalf("line %d has unbalanced brackets: %q", i+1, l)
			}
		}
		if h := level(l); h > 1 {
			j := i + 1
			for j < len(lines) && lines[j] == "" {
				j++
			}
			if j == len(lines) || (level(lines[j]) > 0 && level(lines[j]) <= h) || strings.Contains(lines[j], "more reference") {
				t.Fatalf("heading on line %d has nothing under it: %q", i+1, l)
			}
		}
	}
}
