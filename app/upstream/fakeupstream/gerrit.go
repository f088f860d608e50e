package fakeupstream

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GerritTime is how Gerrit writes timestamps (always UTC).
const GerritTime = "2006-01-02 15:04:05.000000000"

// gerritDefaultLimit is Gerrit's default query limit for anonymous users.
const gerritDefaultLimit = 500

// Change is a Gerrit change as the fake serves it.
type Change struct {
	Project string
	// Status is "NEW", "MERGED" or "ABANDONED"; "NEW" when empty.
	Status  string
	WIP     bool
	Subject string
	Updated time.Time
	// Optional: Branch defaults to "master", Created to Updated minus a
	// day.
	Branch     string
	Created    time.Time
	Insertions int
	Deletions  int
}

// Gerrit is a fake Gerrit REST API serving GET /changes/?q=change:A OR
// change:B…&n=N, with the ")]}'" prefix real Gerrit sends.
type Gerrit struct {
	base
	dataMu  sync.RWMutex
	changes map[int64]Change
}

// NewGerrit starts a fake Gerrit; Close it when done.
func NewGerrit() *Gerrit {
	g := &Gerrit{changes: map[int64]Change{}}
	g.start(http.HandlerFunc(g.serve))
	return g
}

// APIBase is the base URL to give a Gerrit client.
func (g *Gerrit) APIBase() string { return g.URL() + "/" }

// SetChange adds or replaces change n.
func (g *Gerrit) SetChange(n int64, c Change) {
	g.dataMu.Lock()
	defer g.dataMu.Unlock()
	g.changes[n] = c
}

// DeleteChange removes change n, as if it were made private or deleted.
func (g *Gerrit) DeleteChange(n int64) {
	g.dataMu.Lock()
	defer g.dataMu.Unlock()
	delete(g.changes, n)
}

// ChangeInfo is Gerrit's ChangeInfo entity, as far as the fake fills it.
type ChangeInfo struct {
	ID                     string        `json:"id"`
	TripletID              string        `json:"triplet_id"`
	Project                string        `json:"project"`
	Branch                 string        `json:"branch"`
	Hashtags               []string      `json:"hashtags"`
	ChangeID               string        `json:"change_id"`
	Subject                string        `json:"subject"`
	Status                 string        `json:"status"`
	Created                string        `json:"created"`
	Updated                string        `json:"updated"`
	Submitted              string        `json:"submitted,omitempty"`
	Submitter              *AccountInfo  `json:"submitter,omitempty"`
	Insertions             int           `json:"insertions"`
	Deletions              int           `json:"deletions"`
	TotalCommentCount      int           `json:"total_comment_count"`
	UnresolvedCommentCount int           `json:"unresolved_comment_count"`
	HasReviewStarted       bool          `json:"has_review_started"`
	MetaRevID              string        `json:"meta_rev_id"`
	Number                 int64         `json:"_number"`
	VirtualIDNumber        int64         `json:"virtual_id_number"`
	Owner                  AccountInfo   `json:"owner"`
	Requirements           []interface{} `json:"requirements"`
	WorkInProgress         bool          `json:"work_in_progress,omitempty"`
	MoreChanges            bool          `json:"_more_changes,omitempty"`
}

// AccountInfo is Gerrit's AccountInfo without detail options.
type AccountInfo struct {
	AccountID int64 `json:"_account_id"`
}

func (g *Gerrit) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path != "/changes/" && r.URL.Path != "/changes" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	nums, err := parseChangeQuery(q.Get("q"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	limit := gerritDefaultLimit
	if s := q.Get("n"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			http.Error(w, fmt.Sprintf("\"%s\" is not a valid value for \"-n\"", s), http.StatusBadRequest)
			return
		}
		if limit == 0 {
			limit = gerritDefaultLimit
		}
	}

	g.dataMu.RLock()
	found := make([]ChangeInfo, 0, len(nums))
	seen := make(map[int64]bool, len(nums))
	for _, n := range nums {
		c, ok := g.changes[n]
		if !ok || seen[n] {
			continue
		}
		seen[n] = true
		found = append(found, changeInfo(n, c))
	}
	g.dataMu.RUnlock()

	// Gerrit sorts by last update, newest first.
	sort.Slice(found, func(i, j int) bool {
		if found[i].Updated != found[j].Updated {
			return found[i].Updated > found[j].Updated
		}
		return found[i].Number > found[j].Number
	})
	if len(found) > limit {
		found = found[:limit]
		found[limit-1].MoreChanges = true
	}
	body, err := json.Marshal(found)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", "attachment")
	fmt.Fprintf(w, ")]}'\n%s\n", body)
}

// parseChangeQuery reads "change:A OR change:B …" (a bare number is a
// change too), optionally in parentheses; anything else is an error, as a
// query the fake cannot answer truthfully.
func parseChangeQuery(q string) ([]int64, error) {
	q = strings.TrimSpace(q)
	if strings.HasPrefix(q, "(") && strings.HasSuffix(q, ")") {
		q = q[1 : len(q)-1]
	}
	words := strings.Fields(q)
	if len(words) == 0 {
		return nil, fmt.Errorf("missing query field")
	}
	var nums []int64
	for i, w := range words {
		if i%2 == 1 {
			if w != "OR" {
				return nil, fmt.Errorf("line 1:%d unsupported operator %q", i, w)
			}
			continue
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(w, "change:"), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("line 1:%d unsupported query term %q", i, w)
		}
		nums = append(nums, n)
	}
	if len(words)%2 == 0 {
		return nil, fmt.Errorf("query ends in an operator")
	}
	return nums, nil
}

func changeInfo(n int64, c Change) ChangeInfo {
	if c.Status == "" {
		c.Status = "NEW"
	}
	if c.Branch == "" {
		c.Branch = "master"
	}
	if c.Updated.IsZero() {
		c.Updated = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Created.IsZero() {
		c.Created = c.Updated.Add(-24 * time.Hour)
	}
	sum := sha1.Sum([]byte("change " + strconv.FormatInt(n, 10)))
	changeID := "I" + hex.EncodeToString(sum[:])
	project := url.PathEscape(c.Project)
	ci := ChangeInfo{
		ID:           project + "~" + strconv.FormatInt(n, 10),
		TripletID:    project + "~" + c.Branch + "~" + changeID,
		Project:      c.Project,
		Branch:       c.Branch,
		Hashtags:     []string{},
		ChangeID:     changeID,
		Subject:      c.Subject,
		Status:       c.Status,
		Created:      c.Created.UTC().Format(GerritTime),
		Updated:      c.Updated.UTC().Format(GerritTime),
		Insertions:   c.Insertions,
		Deletions:    c.Deletions,
		MetaRevID:    hex.EncodeToString(sum[:]),
		Number:       n,
		Owner:        AccountInfo{AccountID: 1000000 + n%1000},
		Requirements: []interface{}{},
		// Only sent when true, like Gerrit.
		WorkInProgress:   c.WIP && c.Status == "NEW",
		HasReviewStarted: !c.WIP,
		VirtualIDNumber:  n,
	}
	if c.Status == "MERGED" {
		ci.Submitted = ci.Updated
		ci.Submitter = &AccountInfo{AccountID: 1000000}
	}
	return ci
}
