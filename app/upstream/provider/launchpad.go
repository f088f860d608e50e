package provider

import (
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

type lpTasks struct {
	TotalSize int      `json:"total_size"`
	Start     int      `json:"start"`
	Entries   []lpTask `json:"entries"`
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
	resp, err := l.get(ctx, l.base+"bugs/"+strconv.FormatInt(r.Number, 10)+"/bug_tasks")
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
	var tasks lpTasks
	if err := json.Unmarshal(resp.body, &tasks); err != nil {
		return Result{Err: unreadable(l.name, fmt.Errorf("decode Launchpad bug %d tasks: %w", r.Number, err))}, nil
	}
	if len(tasks.Entries) == 0 {
		return unavailable("no bug tasks"), nil
	}
	return Result{Status: launchpadStatus(tasks.Entries, r.Project)}, nil
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
