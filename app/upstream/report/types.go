// Package report renders the upstream tracker's outputs from plain data:
// the sticky status comment on a tracking item, the org's dashboard issue,
// and the /upstream web page with its JSON twin. No GitHub I/O.
package report

import (
	"slices"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// Reference is one upstream item with its last known state and the org's
// issues and pull requests that point at it.
type Reference struct {
	Key      string `json:"key"`
	URL      string `json:"url"`
	Provider string `json:"provider"` // link.Provider
	Host     string `json:"host"`
	Project  string `json:"project,omitempty"`
	Kind     string `json:"kind"` // link.Kind
	Number   int64  `json:"number,omitempty"`

	State        provider.State `json:"state"`
	RawState     string         `json:"raw_state,omitempty"`
	Title        string         `json:"title,omitempty"`
	LastActivity time.Time      `json:"last_activity,omitzero"`
	LastChecked  time.Time      `json:"last_checked,omitzero"`
	// CheckError is why the last check failed; the state is then the last
	// known one.
	CheckError string `json:"check_error,omitempty"`
	// CheckFailedSince is when the checks started failing, zero while they
	// succeed. The comment and the dashboard show this date and not
	// LastChecked: they are rewritten only when their text changes, and a
	// time that moves on every poll would rewrite them on every poll.
	CheckFailedSince time.Time `json:"check_failed_since,omitzero"`

	Trackers []Tracker `json:"trackers"`
}

// MaxRefsPerItem is how many references one tracking item tracks at most,
// in its body and comments together; the tracker (upstream.Store) keeps to
// it, and Tracker.Untracked counts the rest.
const MaxRefsPerItem = 50

// Tracker is an issue or pull request in the org that tracks upstream work.
type Tracker struct {
	Repo    string   `json:"repo"` // "owner/name"
	Number  int      `json:"number"`
	Title   string   `json:"title"`
	URL     string   `json:"url"`
	PR      bool     `json:"pull_request"`
	Open    bool     `json:"open"`
	Private bool     `json:"private"`
	Modules []string `json:"modules,omitempty"`
	// Untracked counts the references the item names beyond
	// MaxRefsPerItem: neither checked nor listed. Its status comment says
	// "N more references are not tracked: the limit is M per item".
	Untracked int `json:"-"`
}

// providerLink is link.Other: a link no provider can check. The value is
// repeated here because report takes plain data and imports no parser.
const providerLink = "link"

// Tracked reports whether a provider checks the reference's state; an
// untracked link is only shown.
func (r Reference) Tracked() bool { return r.Provider != providerLink && r.Provider != "" }

// Modules is the sorted union of the modules of the reference's trackers.
func (r Reference) Modules() []string { return modulesOf(r.Trackers, false) }

// modulesOf is the sorted union of the trackers' modules, of the open
// trackers only when openOnly is set.
func modulesOf(ts []Tracker, openOnly bool) []string {
	var ms []string
	for _, t := range ts {
		if openOnly && !t.Open {
			continue
		}
		ms = append(ms, t.Modules...)
	}
	slices.Sort(ms)
	return slices.Compact(ms)
}

// HasOpenTracker reports whether an open issue or pull request still
// tracks the reference.
func (r Reference) HasOpenTracker() bool {
	return slices.ContainsFunc(r.Trackers, func(t Tracker) bool { return t.Open })
}
