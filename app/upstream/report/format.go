package report

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/markdown"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// Options are the inputs of Comment and Dashboard besides the data.
type Options struct {
	// Now is the time staleness is measured at.
	Now time.Time
	// StaleAfter is how long without upstream activity makes a reference
	// stale; zero turns staleness off.
	StaleAfter time.Duration
	// PageURL is the /upstream page the dashboard points to for what it
	// leaves out.
	PageURL string
	// MaxChars caps the dashboard body, in runes; zero means
	// DefaultMaxChars.
	MaxChars int
}

// DefaultMaxChars is GitHub's limit on an issue body.
const DefaultMaxChars = 65536

// maxTitle caps an upstream title: some are whole paragraphs, and the
// dashboard has a size limit.
const maxTitle = 100

// Stale reports whether a reference still in progress has had no upstream
// activity for at least after. Finished, abandoned and unavailable items
// have nothing left to wait for, and an item whose activity is unknown
// cannot be judged.
func Stale(r Reference, now time.Time, after time.Duration) bool {
	if after <= 0 || !r.Tracked() || r.LastActivity.IsZero() {
		return false
	}
	switch r.State {
	case provider.Merged, provider.Released, provider.Abandoned, provider.Unavailable:
		return false
	}
	return now.Sub(r.LastActivity) >= after
}

// Filter values for a reference's state beyond provider.States: the state
// of an item not checked yet, and of a link that is never checked.
const (
	stateUnknown   = "unknown"
	stateUntracked = "untracked"
)

// stateKey is the reference's state as a filter value and CSS class.
func stateKey(r Reference) string {
	switch {
	case !r.Tracked():
		return stateUntracked
	case r.State == provider.Unknown:
		return stateUnknown
	}
	return string(r.State)
}

// stateKeys are the valid state filter values, in display order.
func stateKeys() []string {
	ks := make([]string, 0, len(provider.States)+2)
	for _, s := range provider.States {
		ks = append(ks, string(s))
	}
	return append(ks, stateUnknown, stateUntracked)
}

// stateText is stateKey for people.
func stateText(r Reference) string {
	if !r.Tracked() {
		return "not tracked"
	}
	return r.State.Text()
}

// stateRank orders states for display: provider.States, then not checked
// yet, then untracked links. Unknown states sort with not checked yet.
func stateRank(r Reference) int {
	if !r.Tracked() {
		return len(provider.States) + 1
	}
	if i := slices.Index(provider.States, r.State); i >= 0 {
		return i
	}
	return len(provider.States)
}

// sortRefs orders references by state, then key, so that the same input
// gives the same bytes.
func sortRefs(refs []Reference) []Reference {
	s := slices.Clone(refs)
	slices.SortStableFunc(s, func(a, b Reference) int {
		return cmp.Or(cmp.Compare(stateRank(a), stateRank(b)), strings.Compare(a.Key, b.Key))
	})
	return s
}

// rawAddsInfo reports whether the provider's wording says more than the
// normalised state: "NEW" does for "in review", "merged" does not for
// "merged/done".
func rawAddsInfo(r Reference) bool {
	norm := func(s string) string {
		return strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(s, "_", " "))), " ")
	}
	raw := norm(r.RawState)
	if raw == "" {
		return false
	}
	if raw == norm(string(r.State)) || raw == norm(r.State.Text()) {
		return false
	}
	return !slices.Contains(strings.Split(norm(r.State.Text()), "/"), raw)
}

// date is a day in UTC, or a dash when unknown.
func date(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format(time.DateOnly)
}

// duration says a staleness threshold in days where it is whole days.
func duration(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		if n := int(d / day); n != 1 {
			return strconv.Itoa(n) + " days"
		}
		return "1 day"
	}
	return d.String()
}

// projectKey names a reference's upstream project, host first because the
// same project name can live on several hosts.
func projectKey(r Reference) string {
	if r.Project == "" {
		return r.Host
	}
	return r.Host + "/" + r.Project
}

// label is a reference's short name in Markdown, the way its community
// writes it. It is link text: GitHub makes no references inside a link,
// so the "#123" that is ours stays as it is.
func label(r Reference) string { return labelWith(r, markdown.Text) }

// plainLabel is label for HTML, where the template escapes.
func plainLabel(r Reference) string { return labelWith(r, func(s string) string { return s }) }

// labelWith builds a label, passing the untrusted parts through esc.
func labelWith(r Reference, esc func(string) string) string {
	n := strconv.FormatInt(r.Number, 10)
	p := esc(r.Project)
	switch r.Provider {
	case "gerrit":
		if p == "" {
			p = esc(r.Host)
		}
		return p + " change " + n
	case "github":
		if r.Host != "" && r.Host != "github.com" {
			p = esc(r.Host) + " " + p
		}
		return p + "#" + n
	case "launchpad":
		return "Launchpad bug " + n
	case "gitlab":
		sep := "#"
		if r.Kind == "mr" {
			sep = "!"
		}
		return esc(r.Host) + " " + p + sep + n
	}
	u := r.URL
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	return esc(truncate(u, 80))
}

// refLink is the reference's label linking to it, or the label as plain
// text when its URL is not plain http(s). Plain, the label's own "#123"
// would be a live reference again, so it is neutralised as a whole.
func refLink(r Reference) string {
	if dest, ok := linkDest(r.URL); ok {
		return "[" + label(r) + "](" + dest + ")"
	}
	return markdown.Text(plainLabel(r))
}

// maxDest caps a link destination, escaped. Browsers and servers commonly
// stop near 2,000 characters, so no real item's address is longer; a longer
// one is only someone's way to grow the text: escaping triples each "(",
// and 30,000 of them once made a 90,300-character status comment, which
// GitHub refuses for good.
const maxDest = 2048

// linkDest is a Markdown link destination for raw that cannot break out
// of the link or the table, and false when raw is not plain http(s) or its
// destination would be longer than maxDest; the caller then shows the
// label as text, which is bounded. GitHub links go through
// redirect.github.com, GitHub's documented way to link without a
// backlink: otherwise every comment and every dashboard edit would add a
// "mentioned this" event to the upstream item.
func linkDest(raw string) (string, bool) {
	if len(raw) > maxDest {
		return "", false // no need to parse what cannot fit
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	if githubHost(u.Hostname()) {
		// Any spelling that reaches github.com: a port ("github.com:443")
		// or the root's trailing dot ("github.com.") would otherwise keep
		// the backlink.
		u.Host = "redirect.github.com"
	}
	dest := destEscaper.Replace(u.String())
	if len(dest) > maxDest {
		return "", false
	}
	return dest, true
}

// githubHost reports whether host, without a port, is github.com or
// www.github.com in any case, with or without the trailing dot.
func githubHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "github.com" || host == "www.github.com"
}

var destEscaper = strings.NewReplacer(
	"(", "%28", ")", "%29", "|", "%7C", "<", "%3C", ">", "%3E", " ", "%20",
	"[", "%5B", "]", "%5D", "`", "%60", `\`, "%5C", `"`, "%22", "'", "%27",
)

// trackerLink is "owner/repo#1" linking to the tracking item, or the
// same as plain text without the reference when the URL is unusable.
func trackerLink(t Tracker) string {
	n := strconv.Itoa(t.Number)
	if dest, ok := linkDest(t.URL); ok {
		return "[" + markdown.Text(t.Repo) + "#" + n + "](" + dest + ")"
	}
	return markdown.Text(t.Repo + "#" + n)
}

// titled appends a neutralised, shortened title to a label.
func titled(lbl, title string) string {
	if t := markdown.Text(truncate(title, maxTitle)); t != "" {
		return lbl + ": " + t
	}
	return lbl
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), unicode.IsSpace) + "…"
}

// plural is "1 reference" or "n references".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// sortTrackers orders trackers by repository and number, whatever order
// the store returns them in.
func sortTrackers(ts []Tracker) []Tracker {
	s := slices.Clone(ts)
	slices.SortFunc(s, func(a, b Tracker) int {
		return cmp.Or(strings.Compare(a.Repo, b.Repo), cmp.Compare(a.Number, b.Number))
	})
	return s
}
