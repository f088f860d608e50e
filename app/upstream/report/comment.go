package report

import (
	"fmt"
	"strings"

	"github.com/SovereignCloudStack/contribot/app/markdown"
)

// CommentMarker starts the sticky status comment, so that contribot finds
// and edits its own comment instead of adding another.
const CommentMarker = "<!-- contribot:upstream -->"

// Comment renders the sticky status comment of one tracking item about the
// references it links to. It holds no time that moves on its own, so the
// caller can skip the edit when the text is unchanged.
func Comment(t Tracker, refs []Reference, o Options) string {
	var b strings.Builder
	b.WriteString(CommentMarker + "\n**Upstream status**\n\n")
	if len(refs) == 0 {
		b.WriteString("No upstream links found here.\n")
		return b.String()
	}
	b.WriteString("| upstream | state | last activity |\n| --- | --- | --- |\n")
	tracked, done, stale := 0, 0, 0
	for _, r := range sortRefs(refs) {
		b.WriteString("| " + titled(refLink(r), r.Title) + " | " + commentState(r) + " | ")
		if !r.Tracked() {
			b.WriteString("– |\n")
			continue
		}
		tracked++
		if r.State.Done() {
			done++
		}
		b.WriteString(date(r.LastActivity))
		if Stale(r, o.Now, o.StaleAfter) {
			stale++
			b.WriteString(" **stale**")
		}
		b.WriteString(" |\n")
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
		s += " (" + markdown.Text(r.RawState) + ")"
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
