package report

import (
	"cmp"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/markdown"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// CommentMarker starts the sticky status comment, so that contribot finds
// and edits its own comment instead of adding another.
const CommentMarker = "<!-- contribot:upstream -->"

// StartsWithMarker reports whether body is one contribot wrote with this
// marker: the marker is its first line. Anywhere else it is quoted text.
func StartsWithMarker(body, marker string) bool {
	return strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), marker)
}

// Comment renders the sticky status comment of one tracking item about the
// references it links to. It holds no time that moves on its own, so the
// caller can skip the edit when the text is unchanged.
//
// It stays within o.MaxChars runes (DefaultMaxChars, GitHub's limit on a
// comment, when zero): a comment over it is refused for good, and an item
// names up to MaxRefsPerItem references, each with a URL, title and state
// that others wrote. Past the limit it leaves out the last rows, the least
// important (untracked links, then unchecked, unavailable and abandoned
// work), and says how many.
func Comment(t Tracker, refs []Reference, o Options) string {
	if len(refs) == 0 {
		return commentHead + "No upstream links found here.\n"
	}
	limit := cmp.Or(o.MaxChars, DefaultMaxChars)
	sorted := sortRefs(refs)
	full := renderComment(t, sorted, len(sorted), o)
	if utf8.RuneCountInString(full) <= limit {
		return full
	}
	// Each row left out is longer than the digits its count adds to the
	// note, so the body shrinks as fewer rows are shown: search for the
	// most rows that fit.
	lo, hi := 0, len(sorted)-1
	for lo < hi {
		k := hi - (hi-lo)/2
		if utf8.RuneCountInString(renderComment(t, sorted, k, o)) <= limit {
			lo = k
		} else {
			hi = k - 1
		}
	}
	return renderComment(t, sorted, lo, o)
}

const commentHead = CommentMarker + "\n**Upstream status**\n\n"

// renderComment writes the comment with the first shown of refs (sorted)
// as rows. The notes below count all of them.
func renderComment(t Tracker, refs []Reference, shown int, o Options) string {
	var b strings.Builder
	b.WriteString(commentHead)
	b.WriteString("| upstream | state | last activity |\n| --- | --- | --- |\n")
	tracked, done, stale := 0, 0, 0
	for i, r := range refs {
		isStale := r.Tracked() && Stale(r, o.Now, o.StaleAfter)
		if r.Tracked() {
			tracked++
			if r.State.Done() {
				done++
			}
			if isStale {
				stale++
			}
		}
		if i >= shown {
			continue
		}
		b.WriteString("| " + titled(refLink(r), r.Title) + " | " + commentState(r) + " | ")
		if !r.Tracked() {
			b.WriteString("– |\n")
			continue
		}
		b.WriteString(date(r.LastActivity))
		if isStale {
			b.WriteString(" **stale**")
		}
		b.WriteString(" |\n")
	}
	if n := len(refs) - shown; n > 0 {
		fmt.Fprintf(&b, "\n%s not shown: the comment would be longer than GitHub allows.\n", plural(n, "more reference is", "more references are"))
	}
	if t.Untracked > 0 {
		// Anyone can write a thousand links into an issue; the tracker
		// checks the first MaxRefsPerItem and says what it left out.
		fmt.Fprintf(&b, "\n%d more references are not tracked: the limit is %d per item.\n", t.Untracked, MaxRefsPerItem)
	}
	if stale > 0 {
		b.WriteString("\n**Stale**: no upstream activity for " + duration(o.StaleAfter) +
			" or more. Ask upstream for a review, or abandon it upstream if the work is dropped.\n")
	}
	if t.Open && tracked > 0 && done == tracked {
		what := "close this issue"
		if t.PR {
			what = "merge or close this pull request"
		}
		b.WriteString("\nAll upstream work here is merged. If nothing is left to do, " + what + ".\n")
	}
	return b.String()
}

// commentState is the state cell: the state, the provider's wording when
// it says more, and a failed check with the day the failures began.
func commentState(r Reference) string {
	s := stateText(r)
	if !r.Tracked() {
		return s
	}
	if rawAddsInfo(r) {
		// The provider cuts it already; a row is kept short whatever the
		// store holds.
		s += " (" + markdown.Text(truncate(r.RawState, provider.MaxRaw)) + ")"
	}
	if r.CheckError != "" {
		if r.CheckFailedSince.IsZero() {
			s += " (could not check)"
		} else {
			s += " (could not check since " + date(r.CheckFailedSince) + ")"
		}
	}
	return s
}
