package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

// DefaultLaunchpadAPI is Launchpad's web service root.
const DefaultLaunchpadAPI = "https://api.launchpad.net/1.0/"

// Launchpad answers a collection a page of lpPage entries at a time (its
// default size); one bug_task entry is 2-3 KiB, so lpPerTask leaves ample
// room per entry.
const (
	lpPage    = 75
	lpPerTask = 16 << 10
)

// Launchpad checks bugs through Launchpad's anonymous web service.
type Launchpad struct {
	getter
	base string
}

// NewLaunchpad returns a fetcher for the Launchpad web service at apiBase
// (DefaultLaunchpadAPI when empty).
func NewLaunchpad(c *http.Client, apiBase string) *Launchpad {
	if apiBase == "" {
		apiBase = DefaultLaunchpadAPI
	}
	return &Launchpad{getter: newGetter(c, apiBase), base: withSlash(apiBase)}
}

// lpTask is the part of a Launchpad bug_task entry that matters here.
type lpTask struct {
	BugTargetName    string     `json:"bug_target_name"`
	Status           string     `json:"status"`
	Title            string     `json:"title"`
	WebLink          string     `json:"web_link"`
	DateCreated      *time.Time `json:"date_created"`
	DateAssigned     *time.Time `json:"date_assigned"`
	DateConfirmed    *time.Time `json:"date_confirmed"`
	DateTriaged      *time.Time `json:"date_triaged"`
	DateInProgress   *time.Time `json:"date_in_progress"`
	DateFixCommitted *time.Time `json:"date_fix_committed"`
	DateFixReleased  *time.Time `json:"date_fix_released"`
	DateClosed       *time.Time `json:"date_closed"`
	DateIncomplete   *time.Time `json:"date_incomplete"`
	DateLeftNew      *time.Time `json:"date_left_new"`
	DateLeftClosed   *time.Time `json:"date_left_closed"`
}

// lpStates maps Launchpad's task statuses. rank orders them by how far the
// work has come, for choosing among tasks: any live status outranks a
// rejection, because a fix released for one target is the upstream work
// done even if another target declined it.
var lpStates = map[string]struct {
	state State
	rank  int
}{
	"Fix Released":   {Released, 10},
	"Fix Committed":  {Merged, 9},
	"In Progress":    {InReview, 8},
	"Triaged":        {Open, 7},
	"Confirmed":      {Open, 6},
	"Incomplete":     {Open, 5},
	"New":            {Open, 4},
	"Deferred":       {Open, 3},
	"Won't Fix":      {Abandoned, 2},
	"Opinion":        {Abandoned, 2},
	"Invalid":        {Abandoned, 1},
	"Expired":        {Abandoned, 1},
	"Does Not Exist": {Abandoned, 1},
}

// Fetch asks for each bug's tasks, one request per bug (Launchpad has no
// batch read). After a 429, a 503 or a transport failure it stops calling
// the host for this Fetch: that is an outage, and thousands of requests
// would only wait on it.
func (l *Launchpad) Fetch(ctx context.Context, refs []link.Ref) map[string]Result {
	refs = dedupe(refs)
	return oneByOne(make(map[string]Result, len(refs)), refs, func(r link.Ref) (Result, error) { return l.fetchOne(ctx, r) })
}

// fetchOne checks one bug; stop is non-nil when the rest must not be asked,
// and is the error they get.
func (l *Launchpad) fetchOne(ctx context.Context, r link.Ref) (res Result, stop error) {
	resp, err := l.get(ctx, l.base+"bugs/"+strconv.FormatInt(r.Number, 10)+"/bug_tasks", lpPage*lpPerTask)
	if err != nil {
		err = fmt.Errorf("get Launchpad bug %d tasks: %w", r.Number, err)
		if errors.Is(err, ErrTooLarge) {
			return Result{Err: err}, nil
		}
		return Result{Err: err}, fmt.Errorf("launchpad %s: not asked after an earlier failure: %w", l.name, err)
	}
	if rl, ok := throttled("launchpad", l.name, resp, true); ok {
		return Result{Err: rl}, rl.skipped()
	}
	switch resp.code {
	case http.StatusOK:
	case http.StatusNotFound:
		return unavailable("not found (404)"), nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return unavailable("private"), nil
	default:
		return Result{Err: fmt.Errorf("get Launchpad bug %d tasks: %w", r.Number, l.statusError(resp))}, nil
	}
	// The first page holds 75 entries; no bug has that many targets, so
	// further pages (total_size > len(entries)) are not asked for.
	tasks, err := decodeTasks(resp.body, lpPage)
	if err != nil {
		return Result{Err: unreadable(l.name, fmt.Errorf("decode Launchpad bug %d tasks: %w", r.Number, err))}, nil
	}
	if len(tasks) == 0 {
		return unavailable("no bug tasks"), nil
	}
	return Result{Status: launchpadStatus(tasks, r.Project)}, nil
}

// decodeTasks reads the entries of a bug_tasks collection one at a time,
// the first max of them: a page never holds more, and decoded whole, a
// hostile answer of a million empty entries would take hundreds of
// megabytes. The collection's other members are skipped.
func decodeTasks(body []byte, max int) ([]lpTask, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var tasks []lpTask
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key, _ := tok.(string); key != "entries" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return nil, err
		}
		for dec.More() {
			if len(tasks) == max {
				return tasks, nil
			}
			var t lpTask
			if err := dec.Decode(&t); err != nil {
				return nil, err
			}
			tasks = append(tasks, t)
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
	}
	return tasks, expectDelim(dec, '}')
}

// launchpadStatus picks the task for project, or else the most advanced
// task, naming it in Raw since it is not the one the link pointed at.
func launchpadStatus(tasks []lpTask, project string) Status {
	t, matched := chooseTask(tasks, project)
	s := Status{Raw: t.Status, Title: bugTitle(t.Title), LastActivity: t.lastActivity()}
	if !matched {
		s.Raw = t.BugTargetName + ": " + t.Status
	}
	if m, ok := lpStates[t.Status]; ok {
		s.State = m.state
	}
	return s
}

func chooseTask(tasks []lpTask, project string) (lpTask, bool) {
	if project != "" {
		for _, t := range tasks {
			if strings.EqualFold(t.BugTargetName, project) {
				return t, true
			}
		}
	}
	best := tasks[0]
	for _, t := range tasks[1:] {
		// Strictly greater keeps Launchpad's order on ties; it lists the
		// bug's original target first.
		if lpStates[t.Status].rank > lpStates[best.Status].rank {
			best = t
		}
	}
	return best, false
}

func (t lpTask) lastActivity() time.Time {
	var last time.Time
	for _, d := range []*time.Time{
		t.DateCreated, t.DateAssigned, t.DateConfirmed, t.DateTriaged,
		t.DateInProgress, t.DateFixCommitted, t.DateFixReleased, t.DateClosed,
		t.DateIncomplete, t.DateLeftNew, t.DateLeftClosed,
	} {
		if d != nil && d.After(last) {
			last = *d
		}
	}
	if last.IsZero() {
		return last
	}
	return last.UTC()
}

// bugTitle takes the bug's own title out of a task title, which Launchpad
// writes as `Bug #2045974 in OpenStack Identity (keystone): "Title"`.
func bugTitle(taskTitle string) string {
	if !strings.HasPrefix(taskTitle, "Bug #") {
		return taskTitle
	}
	i := strings.Index(taskTitle, `: "`)
	if i < 0 || !strings.HasSuffix(taskTitle, `"`) || len(taskTitle) < i+4 {
		return taskTitle
	}
	return taskTitle[i+3 : len(taskTitle)-1]
}
