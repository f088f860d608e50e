package fakeupstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LaunchpadTime is how Launchpad's web service writes timestamps.
const LaunchpadTime = "2006-01-02T15:04:05.000000-07:00"

// Task is one bug task (a bug's status in one project) as the fake serves
// it. Zero dates are sent as null.
type Task struct {
	// Target is the bug_target_name, e.g. "keystone".
	Target string
	// DisplayName is the bug_target_display_name; Target when empty.
	DisplayName string
	// Status is Launchpad's wording, e.g. "Fix Released"; "New" when empty.
	Status string
	// Importance defaults to "Undecided".
	Importance string
	// Title is the bug's title; the task title is built from it the way
	// Launchpad does.
	Title string

	Created, Assigned, Confirmed, Triaged, InProgress, FixCommitted,
	FixReleased, Closed, LeftNew, Incomplete, LeftClosed time.Time
}

// Launchpad is a fake Launchpad web service serving GET
// /bugs/<n>/bug_tasks, with or without a "/1.0" or "/devel" prefix.
type Launchpad struct {
	base
	dataMu  sync.RWMutex
	bugs    map[int64][]Task
	private map[int64]bool
}

// NewLaunchpad starts a fake Launchpad; Close it when done.
func NewLaunchpad() *Launchpad {
	l := &Launchpad{bugs: map[int64][]Task{}, private: map[int64]bool{}}
	l.start(http.HandlerFunc(l.serve))
	return l
}

// APIBase is the base URL to give a Launchpad client.
func (l *Launchpad) APIBase() string { return l.URL() + "/1.0/" }

// SetBug adds or replaces bug n with its tasks, in Launchpad's order.
func (l *Launchpad) SetBug(n int64, tasks ...Task) {
	l.dataMu.Lock()
	defer l.dataMu.Unlock()
	l.bugs[n] = append([]Task(nil), tasks...)
}

// SetPrivate makes bug n answer 401, as a private bug does to anonymous
// callers.
func (l *Launchpad) SetPrivate(n int64, private bool) {
	l.dataMu.Lock()
	defer l.dataMu.Unlock()
	l.private[n] = private
}

// BugTaskCollection is Launchpad's page of bug_task entries.
type BugTaskCollection struct {
	TotalSize        int            `json:"total_size"`
	Start            int            `json:"start"`
	ResourceTypeLink string         `json:"resource_type_link"`
	Entries          []BugTaskEntry `json:"entries"`
}

// BugTaskEntry is one bug_task entry. Dates and unset links are null.
type BugTaskEntry struct {
	SelfLink                   string  `json:"self_link"`
	WebLink                    string  `json:"web_link"`
	ResourceTypeLink           string  `json:"resource_type_link"`
	HTTPEtag                   string  `json:"http_etag"`
	BugLink                    string  `json:"bug_link"`
	BugTargetName              string  `json:"bug_target_name"`
	BugTargetDisplayName       string  `json:"bug_target_display_name"`
	TargetLink                 string  `json:"target_link"`
	RelatedTasksCollectionLink string  `json:"related_tasks_collection_link"`
	OwnerLink                  string  `json:"owner_link"`
	AssigneeLink               *string `json:"assignee_link"`
	BugWatchLink               *string `json:"bug_watch_link"`
	MilestoneLink              *string `json:"milestone_link"`
	Status                     string  `json:"status"`
	Importance                 string  `json:"importance"`
	Title                      string  `json:"title"`
	IsComplete                 bool    `json:"is_complete"`
	DateCreated                *string `json:"date_created"`
	DateAssigned               *string `json:"date_assigned"`
	DateConfirmed              *string `json:"date_confirmed"`
	DateTriaged                *string `json:"date_triaged"`
	DateInProgress             *string `json:"date_in_progress"`
	DateFixCommitted           *string `json:"date_fix_committed"`
	DateFixReleased            *string `json:"date_fix_released"`
	DateClosed                 *string `json:"date_closed"`
	DateLeftNew                *string `json:"date_left_new"`
	DateIncomplete             *string `json:"date_incomplete"`
	DateLeftClosed             *string `json:"date_left_closed"`
}

func (l *Launchpad) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	version := "1.0"
	p := r.URL.Path
	for _, v := range []string{"1.0", "devel", "beta"} {
		if rest, ok := strings.CutPrefix(p, "/"+v+"/"); ok {
			version, p = v, "/"+rest
			break
		}
	}
	rest, ok := strings.CutPrefix(p, "/bugs/")
	num, tail, _ := strings.Cut(rest, "/")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || tail != "bug_tasks" {
		lpNotFound(w, p)
		return
	}
	l.dataMu.RLock()
	tasks, ok := l.bugs[n]
	private := l.private[n]
	l.dataMu.RUnlock()
	if private {
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "(<Bug at 0x7f3c2a1d9e50>, 'bug_tasks', 'launchpad.LimitedView')")
		return
	}
	if !ok {
		lpNotFound(w, num)
		return
	}
	root := l.URL() + "/" + version + "/"
	c := BugTaskCollection{
		TotalSize:        len(tasks),
		Start:            0,
		ResourceTypeLink: root + "#bug_task-page-resource",
		Entries:          make([]BugTaskEntry, len(tasks)),
	}
	for i, t := range tasks {
		c.Entries[i] = bugTaskEntry(root, n, t)
	}
	body, err := json.Marshal(c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// lpNotFound answers like Launchpad does for an unknown object: 404 with a
// plain-text traversal message.
func lpNotFound(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, "Object: <lp.bugs.model.bug.BugSet object at 0x7f3c2a1d9e50>, name: '%s'", name)
}

var lpComplete = map[string]bool{
	"Fix Released": true, "Invalid": true, "Won't Fix": true, "Opinion": true,
	"Expired": true, "Does Not Exist": true,
}

func bugTaskEntry(root string, n int64, t Task) BugTaskEntry {
	if t.DisplayName == "" {
		t.DisplayName = t.Target
	}
	if t.Status == "" {
		t.Status = "New"
	}
	if t.Importance == "" {
		t.Importance = "Undecided"
	}
	num := strconv.FormatInt(n, 10)
	return BugTaskEntry{
		SelfLink:                   root + t.Target + "/+bug/" + num,
		WebLink:                    "https://bugs.launchpad.net/" + t.Target + "/+bug/" + num,
		ResourceTypeLink:           root + "#bug_task",
		HTTPEtag:                   fmt.Sprintf(`"%x-%x"`, n, len(t.Status)),
		BugLink:                    root + "bugs/" + num,
		BugTargetName:              t.Target,
		BugTargetDisplayName:       t.DisplayName,
		TargetLink:                 root + t.Target,
		RelatedTasksCollectionLink: root + t.Target + "/+bug/" + num + "/related_tasks",
		OwnerLink:                  root + "~fake-reporter",
		Status:                     t.Status,
		Importance:                 t.Importance,
		Title:                      fmt.Sprintf("Bug #%d in %s: \"%s\"", n, t.DisplayName, t.Title),
		IsComplete:                 lpComplete[t.Status],
		DateCreated:                lpDate(t.Created),
		DateAssigned:               lpDate(t.Assigned),
		DateConfirmed:              lpDate(t.Confirmed),
		DateTriaged:                lpDate(t.Triaged),
		DateInProgress:             lpDate(t.InProgress),
		DateFixCommitted:           lpDate(t.FixCommitted),
		DateFixReleased:            lpDate(t.FixReleased),
		DateClosed:                 lpDate(t.Closed),
		DateLeftNew:                lpDate(t.LeftNew),
		DateIncomplete:             lpDate(t.Incomplete),
		DateLeftClosed:             lpDate(t.LeftClosed),
	}
}

func lpDate(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(LaunchpadTime)
	return &s
}
