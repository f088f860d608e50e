package fakeupstream

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GitLabTime is how GitLab writes timestamps.
const GitLabTime = "2006-01-02T15:04:05.000Z07:00"

// MR is a GitLab merge request as the fake serves it.
type MR struct {
	// State is "opened", "closed", "locked" or "merged"; "opened" when
	// empty.
	State     string
	Draft     bool
	Title     string
	UpdatedAt time.Time
}

// Issue is a GitLab issue as the fake serves it.
type Issue struct {
	// State is "opened" or "closed"; "opened" when empty.
	State     string
	Title     string
	UpdatedAt time.Time
}

// GitLab is a fake GitLab REST API (v4) serving GET
// /api/v4/projects/<url-escaped path>/merge_requests/<iid> and
// /api/v4/projects/<url-escaped path>/issues/<iid>.
type GitLab struct {
	base
	dataMu   sync.RWMutex
	projects map[string]*glProject // by lower-case path
	nextID   int64
}

type glProject struct {
	id     int64
	path   string
	mrs    map[int64]MR
	issues map[int64]Issue
}

// NewGitLab starts a fake GitLab; Close it when done.
func NewGitLab() *GitLab {
	g := &GitLab{projects: map[string]*glProject{}, nextID: 278964}
	g.start(http.HandlerFunc(g.serve))
	return g
}

// APIBase is the base URL to give a GitLab client.
func (g *GitLab) APIBase() string { return g.URL() + "/api/v4/" }

// SetMR adds or replaces merge request iid of the project at path
// ("group/sub/project").
func (g *GitLab) SetMR(path string, iid int64, mr MR) {
	g.dataMu.Lock()
	defer g.dataMu.Unlock()
	g.project(path).mrs[iid] = mr
}

// SetIssue adds or replaces issue iid of the project at path.
func (g *GitLab) SetIssue(path string, iid int64, is Issue) {
	g.dataMu.Lock()
	defer g.dataMu.Unlock()
	g.project(path).issues[iid] = is
}

// project returns the project at path, creating it; dataMu must be held.
func (g *GitLab) project(path string) *glProject {
	k := strings.ToLower(path)
	p, ok := g.projects[k]
	if !ok {
		g.nextID++
		p = &glProject{id: g.nextID, path: path, mrs: map[int64]MR{}, issues: map[int64]Issue{}}
		g.projects[k] = p
	}
	return p
}

// GitLabUser is GitLab's basic user entity.
type GitLabUser struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Locked    bool   `json:"locked"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

// GitLabReferences is GitLab's references object.
type GitLabReferences struct {
	Short    string `json:"short"`
	Relative string `json:"relative"`
	Full     string `json:"full"`
}

// GitLabTimeStats is GitLab's time_stats object.
type GitLabTimeStats struct {
	TimeEstimate        int     `json:"time_estimate"`
	TotalTimeSpent      int     `json:"total_time_spent"`
	HumanTimeEstimate   *string `json:"human_time_estimate"`
	HumanTotalTimeSpent *string `json:"human_total_time_spent"`
}

// GitLabTaskStatus is GitLab's task_completion_status object.
type GitLabTaskStatus struct {
	Count          int `json:"count"`
	CompletedCount int `json:"completed_count"`
}

// GitLabMR is GitLab's merge request entity, as far as the fake fills it.
type GitLabMR struct {
	ID                          int64            `json:"id"`
	IID                         int64            `json:"iid"`
	ProjectID                   int64            `json:"project_id"`
	Title                       string           `json:"title"`
	Description                 string           `json:"description"`
	State                       string           `json:"state"`
	CreatedAt                   string           `json:"created_at"`
	UpdatedAt                   string           `json:"updated_at"`
	MergedBy                    *GitLabUser      `json:"merged_by"`
	MergeUser                   *GitLabUser      `json:"merge_user"`
	MergedAt                    *string          `json:"merged_at"`
	ClosedBy                    *GitLabUser      `json:"closed_by"`
	ClosedAt                    *string          `json:"closed_at"`
	TargetBranch                string           `json:"target_branch"`
	SourceBranch                string           `json:"source_branch"`
	UserNotesCount              int              `json:"user_notes_count"`
	Upvotes                     int              `json:"upvotes"`
	Downvotes                   int              `json:"downvotes"`
	Author                      GitLabUser       `json:"author"`
	Assignees                   []GitLabUser     `json:"assignees"`
	Assignee                    *GitLabUser      `json:"assignee"`
	Reviewers                   []GitLabUser     `json:"reviewers"`
	SourceProjectID             int64            `json:"source_project_id"`
	TargetProjectID             int64            `json:"target_project_id"`
	Labels                      []string         `json:"labels"`
	Draft                       bool             `json:"draft"`
	WorkInProgress              bool             `json:"work_in_progress"`
	Milestone                   *json.RawMessage `json:"milestone"`
	MergeWhenPipelineSucceeds   bool             `json:"merge_when_pipeline_succeeds"`
	MergeStatus                 string           `json:"merge_status"`
	DetailedMergeStatus         string           `json:"detailed_merge_status"`
	SHA                         string           `json:"sha"`
	MergeCommitSHA              *string          `json:"merge_commit_sha"`
	SquashCommitSHA             *string          `json:"squash_commit_sha"`
	DiscussionLocked            *bool            `json:"discussion_locked"`
	ShouldRemoveSourceBranch    *bool            `json:"should_remove_source_branch"`
	ForceRemoveSourceBranch     bool             `json:"force_remove_source_branch"`
	Reference                   string           `json:"reference"`
	References                  GitLabReferences `json:"references"`
	WebURL                      string           `json:"web_url"`
	TimeStats                   GitLabTimeStats  `json:"time_stats"`
	Squash                      bool             `json:"squash"`
	TaskCompletionStatus        GitLabTaskStatus `json:"task_completion_status"`
	HasConflicts                bool             `json:"has_conflicts"`
	BlockingDiscussionsResolved bool             `json:"blocking_discussions_resolved"`
}

// GitLabIssue is GitLab's issue entity, as far as the fake fills it.
type GitLabIssue struct {
	ID                   int64             `json:"id"`
	IID                  int64             `json:"iid"`
	ProjectID            int64             `json:"project_id"`
	Title                string            `json:"title"`
	Description          string            `json:"description"`
	State                string            `json:"state"`
	CreatedAt            string            `json:"created_at"`
	UpdatedAt            string            `json:"updated_at"`
	ClosedAt             *string           `json:"closed_at"`
	ClosedBy             *GitLabUser       `json:"closed_by"`
	Labels               []string          `json:"labels"`
	Milestone            *json.RawMessage  `json:"milestone"`
	Assignees            []GitLabUser      `json:"assignees"`
	Author               GitLabUser        `json:"author"`
	Type                 string            `json:"type"`
	Assignee             *GitLabUser       `json:"assignee"`
	UserNotesCount       int               `json:"user_notes_count"`
	MergeRequestsCount   int               `json:"merge_requests_count"`
	Upvotes              int               `json:"upvotes"`
	Downvotes            int               `json:"downvotes"`
	DueDate              *string           `json:"due_date"`
	Confidential         bool              `json:"confidential"`
	DiscussionLocked     *bool             `json:"discussion_locked"`
	IssueType            string            `json:"issue_type"`
	WebURL               string            `json:"web_url"`
	TimeStats            GitLabTimeStats   `json:"time_stats"`
	TaskCompletionStatus GitLabTaskStatus  `json:"task_completion_status"`
	HasTasks             bool              `json:"has_tasks"`
	Links                map[string]string `json:"_links"`
	References           GitLabReferences  `json:"references"`
	Severity             string            `json:"severity"`
	MovedToID            *int64            `json:"moved_to_id"`
}

func (g *GitLab) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		glError(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		return
	}
	// The escaped path keeps "%2F" apart from "/": the project is one
	// segment, as in GitLab.
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v4/projects/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || (parts[1] != "merge_requests" && parts[1] != "issues") {
		glError(w, http.StatusNotFound, "404 Not Found")
		return
	}
	path, err := url.PathUnescape(parts[0])
	iid, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || err2 != nil {
		glError(w, http.StatusNotFound, "404 Not Found")
		return
	}
	g.dataMu.RLock()
	p, ok := g.projects[strings.ToLower(path)]
	var (
		body  any
		found bool
	)
	if ok {
		if parts[1] == "merge_requests" {
			var mr MR
			if mr, found = p.mrs[iid]; found {
				body = gitlabMR(p, iid, mr)
			}
		} else {
			var is Issue
			if is, found = p.issues[iid]; found {
				body = gitlabIssue(p, iid, is)
			}
		}
	}
	g.dataMu.RUnlock()
	switch {
	case !ok:
		glError(w, http.StatusNotFound, "404 Project Not Found")
	case !found:
		glError(w, http.StatusNotFound, "404 Not found")
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	}
}

func glError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func glUser(id int64) GitLabUser {
	name := "user" + strconv.FormatInt(id, 10)
	return GitLabUser{ID: id, Username: name, Name: "User " + strconv.FormatInt(id, 10), State: "active",
		AvatarURL: "https://secure.gravatar.com/avatar/" + name, WebURL: "https://gitlab.com/" + name}
}

func glDate(t time.Time) string {
	if t.IsZero() {
		t = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC().Format(GitLabTime)
}

func glRefs(p *glProject, sep string, iid int64) GitLabReferences {
	n := strconv.FormatInt(iid, 10)
	// Relative to its own project, GitLab's relative reference is the short one.
	return GitLabReferences{Short: sep + n, Relative: sep + n, Full: p.path + sep + n}
}

func gitlabMR(p *glProject, iid int64, mr MR) GitLabMR {
	if mr.State == "" {
		mr.State = "opened"
	}
	updated := glDate(mr.UpdatedAt)
	author := glUser(1000 + iid%50)
	out := GitLabMR{
		ID:                   p.id*100000 + iid,
		IID:                  iid,
		ProjectID:            p.id,
		Title:                mr.Title,
		State:                mr.State,
		CreatedAt:            glDate(mr.UpdatedAt.Add(-48 * time.Hour)),
		UpdatedAt:            updated,
		TargetBranch:         "main",
		SourceBranch:         "feature-" + strconv.FormatInt(iid, 10),
		Author:               author,
		Assignees:            []GitLabUser{},
		Reviewers:            []GitLabUser{},
		SourceProjectID:      p.id,
		TargetProjectID:      p.id,
		Labels:               []string{},
		Draft:                mr.Draft,
		WorkInProgress:       mr.Draft,
		MergeStatus:          "can_be_merged",
		DetailedMergeStatus:  "mergeable",
		SHA:                  strings.Repeat("a", 40),
		Reference:            "!" + strconv.FormatInt(iid, 10),
		References:           glRefs(p, "!", iid),
		WebURL:               "https://gitlab.com/" + p.path + "/-/merge_requests/" + strconv.FormatInt(iid, 10),
		TaskCompletionStatus: GitLabTaskStatus{},
	}
	if mr.Draft {
		out.DetailedMergeStatus = "draft_status"
	}
	switch mr.State {
	case "merged":
		u := glUser(1)
		sha := strings.Repeat("b", 40)
		out.MergedBy, out.MergeUser, out.MergedAt, out.MergeCommitSHA = &u, &u, &updated, &sha
		out.DetailedMergeStatus = "not_open"
	case "closed":
		u := glUser(1)
		out.ClosedBy, out.ClosedAt = &u, &updated
		out.DetailedMergeStatus = "not_open"
	}
	return out
}

func gitlabIssue(p *glProject, iid int64, is Issue) GitLabIssue {
	if is.State == "" {
		is.State = "opened"
	}
	updated := glDate(is.UpdatedAt)
	n := strconv.FormatInt(iid, 10)
	self := "https://gitlab.com/api/v4/projects/" + strconv.FormatInt(p.id, 10) + "/issues/" + n
	out := GitLabIssue{
		ID:         p.id*100000 + iid,
		IID:        iid,
		ProjectID:  p.id,
		Title:      is.Title,
		State:      is.State,
		CreatedAt:  glDate(is.UpdatedAt.Add(-48 * time.Hour)),
		UpdatedAt:  updated,
		Labels:     []string{},
		Assignees:  []GitLabUser{},
		Author:     glUser(1000 + iid%50),
		Type:       "ISSUE",
		IssueType:  "issue",
		WebURL:     "https://gitlab.com/" + p.path + "/-/issues/" + n,
		References: glRefs(p, "#", iid),
		Severity:   "UNKNOWN",
		Links: map[string]string{
			"self":        self,
			"notes":       self + "/notes",
			"award_emoji": self + "/award_emoji",
			"project":     "https://gitlab.com/api/v4/projects/" + strconv.FormatInt(p.id, 10),
		},
	}
	if is.State == "closed" {
		u := glUser(1)
		out.ClosedBy, out.ClosedAt = &u, &updated
	}
	return out
}
