package fakegithub

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

// Issues are one store (repoState.search, see SearchItem) shared by the
// search and the issues endpoints, so that an issue the App creates is found
// by the next search and a state a test changes with SetIssue shows in the
// next GET.

// orgInstallation is an installation of the App on an organisation.
type orgInstallation struct {
	login string // spelled as set, for the account object
	id    int64
}

// SetOrgInstallation records that the App is installed on org as
// installation id, for GET /orgs/{org}/installation; id 0 removes it. It
// also tells the fake which repositories the installation's tokens were
// granted (those owned by org), which GitHub uses to decide:
//
//   - a private repository (SetRepoPrivate) of another owner answers 404 to
//     the installation's tokens, on every repository endpoint and in search;
//   - a public repository of another owner can be read (GitHub serves public
//     data to any token; the issue GETs then need no permission) but not
//     written: POST, PATCH and DELETE answer 403 "Resource not accessible by
//     integration".
//
// Installations never set are granted every repository, so tests that do
// not call it see no such refusals.
func (s *Server) SetOrgInstallation(org string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == 0 {
		delete(s.orgInsts, strings.ToLower(org))
		return
	}
	s.orgInsts[strings.ToLower(org)] = orgInstallation{login: org, id: id}
}

// SetRepoPrivate marks a repository private (or public again, the default).
// A private repository is seen only by the installation on its owner (see
// SetOrgInstallation); for every other token it answers 404, as GitHub
// hides private repositories from those who cannot see them.
func (s *Server) SetRepoPrivate(owner, repo string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoState(owner, repo).private = private
}

// SetRepoMoved records that owner/repo was renamed or transferred to
// toOwner/toRepo: GETs under its old path answer 301 with the new path in
// Location, which clients follow, as GitHub does for a moved repository
// (GitHub's Location names /repositories/{id}/…, the fake's the new
// owner/repo path). An installation that may not see the new repository
// gets 404 instead, so the redirect tells it nothing. Other methods are not
// redirected.
func (s *Server) SetRepoMoved(owner, repo, toOwner, toRepo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.moved[strings.ToLower(owner+"/"+repo)] = toOwner + "/" + toRepo
}

// redirectMoved answers a GET under a moved repository's old path.
func (s *Server) redirectMoved(c *call) *response {
	to, ok := s.moved[strings.ToLower(c.owner()+"/"+c.repo())]
	if !ok || c.r.Method != http.MethodGet {
		return nil
	}
	toOwner, toRepo, _ := strings.Cut(to, "/")
	if rs := s.lookupRepo(toOwner, toRepo); rs == nil || !s.canSee(rs, c.inst) {
		return notFound(c.route.doc)
	}
	old := "/repos/" + c.owner() + "/" + c.repo()
	loc := s.base + "repos/" + to + strings.TrimPrefix(c.r.URL.EscapedPath(), old)
	if c.r.URL.RawQuery != "" {
		loc += "?" + c.r.URL.RawQuery
	}
	resp := errorResponse(http.StatusMovedPermanently, "Moved Permanently", c.route.doc)
	resp.header = http.Header{"Location": {loc}}
	return resp
}

// canSee tells whether installation inst may see the repository.
func (s *Server) canSee(rs *repoState, inst int64) bool {
	if !rs.private {
		return true
	}
	oi, ok := s.orgInsts[strings.ToLower(rs.owner)]
	return ok && inst != 0 && oi.id == inst
}

// outside tells whether owner's repositories lie outside what installation
// inst was granted; false when the fake does not know inst's organisation.
func (s *Server) outside(owner string, inst int64) bool {
	known := false
	for key, oi := range s.orgInsts {
		if oi.id == inst {
			if key == strings.ToLower(owner) {
				return false
			}
			known = true
		}
	}
	return known
}

// checkRepoAccess runs before the permission check, because GitHub hides a
// private repository (404) whatever the token's permissions. skipPerms is
// set for reads of public repositories outside the installation, which
// GitHub serves to any token on endpoints that document it.
func (s *Server) checkRepoAccess(c *call) (resp *response, skipPerms bool) {
	owner, repo := c.owner(), c.repo()
	if owner == "" || repo == "" {
		return nil, false
	}
	if rs := s.lookupRepo(owner, repo); rs != nil && !s.canSee(rs, c.inst) {
		return notFound(c.route.doc), false
	}
	if !s.outside(owner, c.inst) {
		return nil, false
	}
	if c.r.Method != http.MethodGet {
		return errorResponse(http.StatusForbidden, "Resource not accessible by integration", c.route.doc), false
	}
	return nil, c.route.publicRead
}

// --- test setters and accessors ---

// Issue returns issue or pull request number of the issue store as
// GET /repos/{o}/{r}/issues/{n} would answer it, or nil if there is none.
func (s *Server) Issue(owner, repo string, number int) *github.Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.lookupRepo(owner, repo)
	if rs == nil || rs.search[number] == nil {
		return nil
	}
	return s.toIssue(rs, rs.search[number])
}

// Issues returns the repository's issues and pull requests of the issue
// store, by number, including those not yet indexed for search.
func (s *Server) Issues(owner, repo string) []*github.Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.lookupRepo(owner, repo)
	if rs == nil {
		return nil
	}
	var out []*github.Issue
	for _, n := range slices.Sorted(maps.Keys(rs.search)) {
		out = append(out, s.toIssue(rs, rs.search[n]))
	}
	return out
}

func (s *Server) toIssue(rs *repoState, e *searchEntry) *github.Issue {
	var is github.Issue
	if err := json.Unmarshal([]byte(mustJSON(s.issueObject(rs, e))), &is); err != nil {
		panic(fmt.Sprintf("fakegithub: issue %d: %v", e.Number, err))
	}
	return &is
}

// SetIssue changes issue or pull request number of the issue store, as if
// someone had edited it on GitHub between two polls. mutate gets a copy with
// the current labels in Labels (nil or empty afterwards removes them all);
// what it leaves is stored with the defaults of AddSearchItem. As on GitHub, a change bumps updated_at to the fake's
// clock unless mutate sets UpdatedAt itself; closing without a ClosedAt
// closes now; reopening clears closed_at and, unless mutate sets
// StateReason, makes the state reason "reopened" (closing: "completed").
// It panics if there is no such item, or on what AddSearchItem refuses.
func (s *Server) SetIssue(owner, repo string, number int, mutate func(*SearchItem)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.lookupRepo(owner, repo)
	if rs == nil || rs.search[number] == nil {
		panic(fmt.Sprintf("fakegithub: SetIssue: no issue %s/%s#%d", owner, repo, number))
	}
	e := rs.search[number]
	before := e.SearchItem
	item := before
	item.Labels = append([]string{}, rs.labels[number]...)
	mutate(&item)
	if item.Labels == nil {
		item.Labels = []string{} // mutate cleared them
	}
	if item.Number != number {
		panic("fakegithub: SetIssue: Number cannot change")
	}
	if item.Merged {
		item.State = "closed"
	}
	if item.State != before.State && item.StateReason == before.StateReason && !item.PR {
		item.StateReason = ""
		if item.State == "open" {
			item.StateReason = "reopened"
		}
	}
	if msg := checkItem(item); msg != "" {
		panic("fakegithub: SetIssue: " + msg)
	}
	if item.UpdatedAt.Equal(before.UpdatedAt) {
		item.UpdatedAt = s.now()
	}
	if item.State == "open" {
		e.closedBy = ""
	}
	s.storeItem(rs, e, item, s.now(), true)
}

// --- endpoints ---

// checkIssuePerm narrows the route's "issues or pull_requests" permissions
// to issues for an issue: GitHub accepts the pull_requests permission only
// for pull requests.
func checkIssuePerm(c *call, pr bool, level string) *response {
	if pr || c.tok == nil || c.skipPerms || permLevel(c.tok.perms["issues"]) >= permLevel(level) {
		return nil
	}
	resp := errorResponse(http.StatusForbidden, "Resource not accessible by integration", c.route.doc)
	resp.header = http.Header{"X-Accepted-Github-Permissions": {"issues=" + level}}
	return resp
}

func (s *Server) findIssue(c *call) (*repoState, *searchEntry, *response) {
	n, ok := c.intParam("number")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil || rs.search[int(n)] == nil {
		return nil, nil, notFound(c.route.doc)
	}
	return rs, rs.search[int(n)], nil
}

func (s *Server) getIssue(c *call) *response {
	rs, e, resp := s.findIssue(c)
	if resp != nil {
		return resp
	}
	if resp := checkIssuePerm(c, e.PR, "read"); resp != nil {
		return resp
	}
	return jsonResponse(http.StatusOK, s.issueObject(rs, e))
}

// validationFailed is GitHub's 422 for a request whose fields are wrong.
func validationFailed(c *call, errs ...fieldError) *response {
	return jsonResponse(http.StatusUnprocessableEntity, errorBody{
		Message: "Validation Failed", Errors: errs, DocumentationURL: c.route.doc,
	})
}

// listIssuesUnsupported are parameters of "List repository issues" the fake
// does not model; refusing them beats answering as if they were not sent.
var listIssuesUnsupported = []string{"milestone", "assignee", "type", "mentioned"}

func (s *Server) listIssues(c *call) *response {
	for _, p := range listIssuesUnsupported {
		if c.q.Has(p) {
			return validationFailed(c, fieldError{Resource: "Issue", Code: "invalid", Field: p,
				Message: "fakegithub: parameter " + p + " is not supported"})
		}
	}
	// The enum checks are GitHub's; the error wording is the fake's.
	enum := func(name, def string, allowed ...string) (string, *response) {
		v := c.q.Get(name)
		if v == "" {
			return def, nil
		}
		if !slices.Contains(allowed, v) {
			return "", validationFailed(c, fieldError{Resource: "Issue", Code: "invalid", Field: name,
				Message: fmt.Sprintf("%q is not one of %q", v, allowed)})
		}
		return v, nil
	}
	state, resp := enum("state", "open", "open", "closed", "all")
	if resp != nil {
		return resp
	}
	sortBy, resp := enum("sort", "created", "created", "updated", "comments")
	if resp != nil {
		return resp
	}
	dir, resp := enum("direction", "desc", "asc", "desc")
	if resp != nil {
		return resp
	}
	var since time.Time
	if v := c.q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return validationFailed(c, fieldError{Resource: "Issue", Code: "invalid", Field: "since"})
		}
		since = t
	}
	var wantLabels []string
	for _, l := range strings.Split(c.q.Get("labels"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			wantLabels = append(wantLabels, l)
		}
	}
	creator := c.q.Get("creator")

	rs := s.lookupRepo(c.owner(), c.repo())
	if rs == nil {
		return notFound(c.route.doc)
	}
	var hits []*searchEntry
	for _, e := range rs.search {
		switch {
		case state != "all" && e.State != state,
			creator != "" && !strings.EqualFold(creator, e.Author),
			!since.IsZero() && e.updated().Before(since),
			!hasAllLabels(rs.labels[e.Number], wantLabels):
			continue
		}
		hits = append(hits, e)
	}
	key := func(e *searchEntry) int64 {
		switch sortBy {
		case "updated":
			return e.updated().Unix()
		case "comments":
			return int64(len(rs.comments[e.Number]))
		}
		return e.CreatedAt.Unix()
	}
	slices.SortFunc(hits, func(a, b *searchEntry) int {
		n := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.Number, b.Number))
		if dir == "desc" {
			return -n
		}
		return n
	})
	lo, hi := s.paginate(c, len(hits), 30, 100)
	out := make([]object, 0, hi-lo)
	for _, e := range hits[lo:hi] {
		out = append(out, s.issueObject(rs, e))
	}
	return jsonResponse(http.StatusOK, out)
}

// hasAllLabels: the labels filter of the issues list needs every name,
// ignoring case.
func hasAllLabels(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

// issueInput is the body of POST and PATCH /repos/{o}/{r}/issues[/{n}];
// raw values tell a field sent as null from one left out.
type issueInput map[string]json.RawMessage

func (in issueInput) has(k string) bool { return in[k] != nil }

func (in issueInput) null(k string) bool { return string(in[k]) == "null" }

// str reads a string field; GitHub also takes a number for title.
func (in issueInput) str(k string) (string, bool) {
	var v string
	if json.Unmarshal(in[k], &v) == nil {
		return v, true
	}
	var n json.Number
	if k == "title" && json.Unmarshal(in[k], &n) == nil {
		return n.String(), true
	}
	return "", false
}

// labels reads the labels field: names, or objects with a name, as GitHub
// takes both.
func (in issueInput) labels() ([]string, bool) {
	var raw []json.RawMessage
	if json.Unmarshal(in["labels"], &raw) != nil {
		return nil, false
	}
	names := []string{}
	for _, r := range raw {
		var name string
		if json.Unmarshal(r, &name) != nil {
			var o struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(r, &o) != nil {
				return nil, false
			}
			name = o.Name
		}
		names = append(names, name)
	}
	return names, true
}

// readIssueInput decodes and checks the fields both POST and PATCH take.
func (s *Server) readIssueInput(c *call) (issueInput, *response) {
	var in issueInput
	if err := json.Unmarshal(c.body, &in); err != nil || in == nil {
		return nil, errorResponse(http.StatusBadRequest, "Problems parsing JSON", c.route.doc)
	}
	if in.has("title") && !in.null("title") {
		if _, ok := in.str("title"); !ok {
			return nil, errorResponse(http.StatusUnprocessableEntity,
				invalid("For 'properties/title', %s is not a string or integer.", in["title"]), c.route.doc)
		}
	}
	if in.has("body") && !in.null("body") {
		body, ok := in.str("body")
		if !ok {
			return nil, errorResponse(http.StatusUnprocessableEntity,
				invalid("For 'properties/body', %s is not a string or null.", in["body"]), c.route.doc)
		}
		if utf8.RuneCountInString(body) > commentLimit {
			return nil, validationFailed(c, fieldError{Resource: "Issue", Code: "custom", Field: "body",
				Message: fmt.Sprintf("body is too long (maximum is %d characters)", commentLimit)})
		}
	}
	if in.has("labels") && !in.null("labels") {
		names, ok := in.labels()
		if !ok {
			return nil, errorResponse(http.StatusUnprocessableEntity,
				invalid("For 'properties/labels', %s is not an array.", in["labels"]), c.route.doc)
		}
		for _, name := range names {
			if strings.TrimSpace(name) == "" {
				return nil, validationFailed(c, fieldError{Resource: "Label", Code: "invalid", Field: "name"})
			}
		}
	}
	return in, nil
}

// nextIssueNumber is the number GitHub gives the next issue or pull request:
// one past the highest the repository has. Numbers with only labels or
// comments count too, as the fake lets tests use them without an issue.
func nextIssueNumber(rs *repoState) int {
	n := 0
	for _, keys := range [][]int{
		slices.Collect(maps.Keys(rs.search)), slices.Collect(maps.Keys(rs.pulls)),
		slices.Collect(maps.Keys(rs.labels)), slices.Collect(maps.Keys(rs.comments)),
	} {
		for _, k := range keys {
			n = max(n, k)
		}
	}
	return n + 1
}

func (s *Server) createIssue(c *call) *response {
	in, resp := s.readIssueInput(c)
	if resp != nil {
		return resp
	}
	if !in.has("title") || in.null("title") {
		return errorResponse(http.StatusUnprocessableEntity, notSupplied("title"), c.route.doc)
	}
	title, _ := in.str("title")
	if strings.TrimSpace(title) == "" {
		return validationFailed(c, fieldError{Resource: "Issue", Code: "missing_field", Field: "title"})
	}
	body, _ := in.str("body")
	rs := s.repoState(c.owner(), c.repo())
	item := SearchItem{
		Number:    nextIssueNumber(rs),
		Author:    s.appSlug + "[bot]",
		Title:     title,
		Body:      body,
		CreatedAt: c.now,
	}
	if in.has("labels") && !in.null("labels") {
		item.Labels, _ = in.labels()
	}
	s.nextID++
	s.searchSeq++
	e := &searchEntry{id: s.nextID, seq: s.searchSeq, viaApp: true}
	s.storeItem(rs, e, item, c.now, false)
	o := s.issueObject(rs, e)
	resp = jsonResponse(http.StatusCreated, o)
	resp.header = http.Header{"Location": {o["url"].(string)}}
	return resp
}

var issueStates = []string{"open", "closed"}

func (s *Server) updateIssue(c *call) *response {
	rs, e, resp := s.findIssue(c)
	if resp != nil {
		return resp
	}
	if resp := checkIssuePerm(c, e.PR, "write"); resp != nil {
		return resp
	}
	in, resp := s.readIssueInput(c)
	if resp != nil {
		return resp
	}
	item := e.SearchItem
	if in.has("title") {
		title, _ := in.str("title")
		if strings.TrimSpace(title) == "" {
			return validationFailed(c, fieldError{Resource: "Issue", Code: "missing_field", Field: "title"})
		}
		item.Title = title
	}
	if in.has("body") {
		item.Body, _ = in.str("body") // null clears it
	}
	state := item.State
	if in.has("state") {
		v, ok := in.str("state")
		if !ok || !slices.Contains(issueStates, v) {
			return errorResponse(http.StatusUnprocessableEntity,
				invalid("For 'properties/state', %s is not a member of %q.", in["state"], issueStates), c.route.doc)
		}
		state = v
	}
	reason := ""
	if in.has("state_reason") && !in.null("state_reason") {
		v, ok := in.str("state_reason")
		if !ok || !slices.Contains(stateReasons, v) {
			return errorResponse(http.StatusUnprocessableEntity,
				invalid("For 'properties/state_reason', %s is not a member of %q.", in["state_reason"], stateReasons), c.route.doc)
		}
		reason = v
	}
	// GitHub ignores state_reason unless the state changes.
	if state != item.State {
		if item.Merged {
			// The wording is the fake's; GitHub refuses to reopen merged pull requests.
			return validationFailed(c, fieldError{Resource: "Issue", Code: "custom", Field: "state",
				Message: "state cannot be changed. The pull request has been merged."})
		}
		if reason != "" && (state == "open") != (reason == "reopened") {
			return validationFailed(c, fieldError{Resource: "Issue", Code: "invalid", Field: "state_reason",
				Message: fmt.Sprintf("state_reason %q does not fit state %q", reason, state)})
		}
		item.State = state
		switch {
		case item.PR:
			item.StateReason = ""
		case state == "open":
			item.StateReason = "reopened"
		case reason == "":
			item.StateReason = "completed"
		default:
			item.StateReason = reason
		}
		e.closedBy = ""
		if state == "closed" {
			item.ClosedAt = c.now
			e.closedBy = s.appSlug + "[bot]"
		}
	}
	if in.has("labels") {
		item.Labels, _ = in.labels() // null: none
		if item.Labels == nil {
			item.Labels = []string{}
		}
	}
	item.UpdatedAt = c.now
	s.storeItem(rs, e, item, c.now, true)
	return jsonResponse(http.StatusOK, s.issueObject(rs, e))
}

// --- installations ---

func (s *Server) getOrgInstallation(c *call) *response {
	oi, ok := s.orgInsts[strings.ToLower(c.p["org"])]
	if !ok {
		return notFound(c.route.doc)
	}
	account := s.userObject(oi.login)
	account["type"] = "Organization"
	account["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("012:Organization%d", userID(oi.login))))
	account["url"] = s.base + "orgs/" + oi.login
	account["repos_url"] = s.base + "orgs/" + oi.login + "/repos"
	account["events_url"] = s.base + "orgs/" + oi.login + "/events"
	id := strconv.FormatInt(oi.id, 10)
	return jsonResponse(http.StatusOK, object{
		"id":                        oi.id,
		"account":                   account,
		"repository_selection":      "all",
		"access_tokens_url":         s.base + "app/installations/" + id + "/access_tokens",
		"repositories_url":          s.base + "installation/repositories",
		"html_url":                  htmlBase + "organizations/" + oi.login + "/settings/installations/" + id,
		"app_id":                    s.appID,
		"app_slug":                  s.appSlug,
		"target_id":                 userID(oi.login),
		"target_type":               "Organization",
		"permissions":               s.installationPermissions(oi.id),
		"events":                    s.appObject()["events"],
		"created_at":                "2024-01-01T00:00:00Z",
		"updated_at":                "2024-01-01T00:00:00Z",
		"single_file_name":          nil,
		"has_multiple_single_files": false,
		"single_file_paths":         []string{},
		"suspended_at":              nil,
		"suspended_by":              nil,
	})
}
