// Package report renders the upstream tracker's outputs from plain data:
// the sticky status comment on a tracking item, the org's dashboard issue,
// and the /upstream web page with its JSON twin. No GitHub I/O.
package report

import (
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

	Trackers []Tracker `json:"trackers"`
}

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
}
