// Package provider reads the state of upstream items from GitHub, Gerrit,
// Launchpad and GitLab, and normalises it.
package provider

import (
	"strings"
	"time"
	"unicode"
)

// State is a normalised upstream state.
type State string

// States, in the order a contribution moves through them. Unknown means not
// checked yet.
const (
	Unknown     State = ""
	Draft       State = "draft"
	InReview    State = "in_review"
	Open        State = "open"
	Merged      State = "merged"
	Released    State = "released"
	Abandoned   State = "abandoned"
	Unavailable State = "unavailable"
)

// States lists every state but Unknown, in display order.
var States = []State{Draft, InReview, Open, Merged, Released, Abandoned, Unavailable}

// Text is how a state is written for people.
func (s State) Text() string {
	switch s {
	case Draft:
		return "draft"
	case InReview:
		return "in review"
	case Open:
		return "open"
	case Merged:
		return "merged/done"
	case Released:
		return "released"
	case Abandoned:
		return "abandoned/rejected"
	case Unavailable:
		return "unavailable"
	}
	return "not checked yet"
}

// Done reports whether the upstream work is finished successfully.
func (s State) Done() bool { return s == Merged || s == Released }

// Status is what a provider reports about one reference.
type Status struct {
	State State
	// Raw is the provider's own wording, e.g. "NEW", "Fix Committed",
	// "closed (not_planned)".
	Raw   string
	Title string
	// LastActivity is the provider's last-updated time; zero if unknown.
	LastActivity time.Time
	// Private: the item is in a GitHub repository that is not public,
	// read with the installation of the org that tracks it, or on a host
	// the operator lets only some orgs reach (UPSTREAM_ALLOW_INTERNAL),
	// read for one of them. Only that org's private places may show what
	// was read.
	Private bool
	// Repo is the GitHub repository ("owner/name") that answered, which
	// may not be the one the link names: GitHub follows a renamed or
	// transferred repository. The tracker matches a repository made
	// private on it. Never shown: it may name a private repository.
	Repo string
}

// Caps on the text an upstream sends, applied before a Status leaves the
// package: a host anyone can name in rules could otherwise send a
// subject of megabytes, to be stored and served on every anonymous GET
// of the public page. Real titles are far shorter (GitHub's are at most
// 256 characters); states are a word or two.
const (
	MaxTitle = 512
	MaxRaw   = 64
)

// bounded is s with its texts cut to MaxTitle and MaxRaw runes.
func (s Status) bounded() Status {
	s.Title, s.Raw = clip(s.Title, MaxTitle), clip(s.Raw, MaxRaw)
	return s
}

// clip cuts s to at most n runes, the last of them "…" when it cut. The
// cut text is a copy, so that a huge answer's string is not kept alive by
// its first runes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s // n bytes are at most n runes
	}
	cut, runes := 0, 0 // cut: the end of the first n-1 runes
	for i := range s {
		if runes == n-1 {
			cut = i
		}
		if runes == n {
			return strings.Clone(strings.TrimRightFunc(s[:cut], unicode.IsSpace)) + "…"
		}
		runes++
	}
	return s
}

// Result is the outcome of checking one reference. Err set means it could
// not be checked this time (outage, rate limit): the last known state
// stays. A reference that does not exist, or is not visible, is a Status
// with State Unavailable and a nil Err.
type Result struct {
	Status Status
	Err    error
}
