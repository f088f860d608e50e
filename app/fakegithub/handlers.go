package fakegithub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

func notFound(doc string) *response { return errorResponse(http.StatusNotFound, "Not Found", doc) }

func (s *Server) apiRepo(owner, repo string) string { return s.base + "repos/" + owner + "/" + repo }

func htmlRepo(owner, repo string) string { return htmlBase + owner + "/" + repo }

// --- App endpoints ---

func (s *Server) appObject() object {
	owner := s.userObject("octo-org")
	owner["type"] = "Organization"
	return object{
		"id":           s.appID,
		"slug":         s.appSlug,
		"node_id":      base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("03:Integration%d", s.appID))),
		"owner":        owner,
		"name":         s.appSlug,
		"description":  "",
		"external_url": "https://example.com",
		"html_url":     htmlBase + "apps/" + s.appSlug,
		"created_at":   "2024-01-01T00:00:00Z",
		"updated_at":   "2024-01-01T00:00:00Z",
		"permissions":  defaultPermissions(),
		"events":       []string{"check_run", "issue_comment", "issues", "merge_group", "pull_request"},
	}
}

func (s *Server) getApp(*call) *response { return jsonResponse(http.StatusOK, s.appObject()) }

func (s *Server) createToken(c *call) *response {
	id, ok := c.intParam("installation_id")
	if !ok {
		return notFound(c.route.doc)
	}
	var in struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	if len(bytes.TrimSpace(c.body)) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return errorResponse(http.StatusBadRequest, "Problems parsing JSON", c.route.doc)
		}
	}
	granted := s.installationPermissions(id)
	perms := granted
	if len(in.Permissions) > 0 {
		for name, level := range in.Permissions {
			if permLevel(level) == 0 || permLevel(granted[name]) < permLevel(level) {
				return errorResponse(http.StatusUnprocessableEntity,
					"The permissions requested are not granted to this installation.", c.route.doc)
			}
		}
		perms = maps.Clone(in.Permissions)
	}
	tok, t := s.issueToken(id, perms, c.now)
	selection := "all"
	if len(in.Repositories) > 0 || len(in.RepositoryIDs) > 0 {
		selection = "selected"
	}
	return jsonResponse(http.StatusCreated, object{
		"token":                tok,
		"expires_at":           t.expires.UTC().Format(time.RFC3339),
		"permissions":          perms,
		"repository_selection": selection,
	})
}

// --- rate limit ---

func (s *Server) getRateLimit(c *call) *response {
	core := s.bucket(c.inst, c.now).object()
	other := func(name string, limit int) object {
		return object{"limit": limit, "used": 0, "remaining": limit, "reset": c.now.Add(time.Hour).Unix(), "resource": name}
	}
	resp := jsonResponse(http.StatusOK, object{
		"resources": object{
			"core":    core,
			"search":  s.searchBucket(c.inst, c.now).object(),
			"graphql": other("graphql", 5000),
		},
		"rate": core,
	})
	resp.free = true
	return resp
}

// --- pagination ---

// paginate applies ?per_page= and ?page= as GitHub does (junk and values
// out of range fall back to defaults or are clamped) and sets the Link
// header; it returns the bounds of the page within total items.
func (s *Server) paginate(c *call, total, defPer, maxPer int) (lo, hi int) {
	per, page := pageParams(c, defPer, maxPer)
	last := max(1, (total+per-1)/per)
	lo = min((page-1)*per, total)
	hi = min(lo+per, total)
	if link := s.link(c, page, last); link != "" {
		c.header.Set("Link", link)
	}
	return lo, hi
}

// pageParams reads ?per_page= and ?page= as paginate applies them.
func pageParams(c *call, defPer, maxPer int) (per, page int) {
	per, err := strconv.Atoi(c.q.Get("per_page"))
	if err != nil || per <= 0 {
		per = defPer
	}
	per = min(per, maxPer)
	page, err = strconv.Atoi(c.q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	return per, page
}

// link builds GitHub's Link header: the request's own URL with page=N, in
// GitHub's order prev, next, last, first, each only where it applies.
func (s *Server) link(c *call, page, last int) string {
	if page == 1 && last == 1 {
		return ""
	}
	var kept []string
	for _, kv := range strings.Split(c.r.URL.RawQuery, "&") {
		if kv != "" && !strings.HasPrefix(kv, "page=") {
			kept = append(kept, kv)
		}
	}
	u := func(p int) string {
		q := strings.Join(append(slices.Clone(kept), "page="+strconv.Itoa(p)), "&")
		return "<" + s.base + strings.TrimPrefix(c.r.URL.EscapedPath(), "/") + "?" + q + ">"
	}
	var rels []string
	if page > 1 {
		rels = append(rels, u(page-1)+`; rel="prev"`)
	}
	if page < last {
		rels = append(rels, u(page+1)+`; rel="next"`, u(last)+`; rel="last"`)
	}
	if page > 1 {
		rels = append(rels, u(1)+`; rel="first"`)
	}
	return strings.Join(rels, ", ")
}

func (s *Server) commitList(owner, repo string, cs []*github.RepositoryCommit) []object {
	out := make([]object, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.commitObject(owner, repo, c))
	}
	return out
}

// --- pull requests and commits ---

func (s *Server) getPull(c *call) *response {
	n, ok := c.intParam("number")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil || rs.pulls[int(n)] == nil {
		return notFound(c.route.doc)
	}
	o := toObject(rs.pulls[int(n)])
	api, html := s.apiRepo(rs.owner, rs.name), htmlRepo(rs.owner, rs.name)
	o.def("number", n)
	o.def("url", fmt.Sprintf("%s/pulls/%d", api, n))
	o.def("html_url", fmt.Sprintf("%s/pull/%d", html, n))
	o.def("issue_url", fmt.Sprintf("%s/issues/%d", api, n))
	o.def("commits_url", fmt.Sprintf("%s/pulls/%d/commits", api, n))
	o.def("state", "open")
	s.fillUser(o.obj("user"))
	return jsonResponse(http.StatusOK, o)
}

// prCommitsLimit is GitHub's cap on the PR commits list: larger pull requests
// need the compare endpoint.
const prCommitsLimit = 250

func (s *Server) listPRCommits(c *call) *response {
	n, ok := c.intParam("number")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return notFound(c.route.doc)
	}
	commits, set := rs.prCommits[int(n)]
	if !set && rs.pulls[int(n)] == nil {
		return notFound(c.route.doc)
	}
	if len(commits) > prCommitsLimit {
		commits = commits[:prCommitsLimit]
	}
	lo, hi := s.paginate(c, len(commits), 30, 100)
	return jsonResponse(http.StatusOK, s.commitList(rs.owner, rs.name, commits[lo:hi]))
}

// prFilesLimit is GitHub's cap on the PR files list: "Responses include a
// maximum of 3000 files"; pages beyond them are empty.
const prFilesLimit = 3000

// prFilePatchLimit: the fake makes up patches up to this many lines and
// leaves larger ones out, as GitHub leaves out patches of large diffs.
const prFilePatchLimit = 1000

func (s *Server) listPRFiles(c *call) *response {
	n, ok := c.intParam("number")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return notFound(c.route.doc)
	}
	files, set := rs.prFiles[int(n)]
	if !set && rs.pulls[int(n)] == nil {
		return notFound(c.route.doc)
	}
	if len(files) > prFilesLimit {
		files = files[:prFilesLimit]
	}
	lo, hi := s.paginate(c, len(files), 30, 100)
	out := make([]object, 0, hi-lo)
	for _, f := range files[lo:hi] {
		out = append(out, s.prFileObject(rs, int(n), f))
	}
	return jsonResponse(http.StatusOK, out)
}

// prFileObject renders a changed file as the PR files list does, filling in
// what the test left out (see SetPRFiles).
func (s *Server) prFileObject(rs *repoState, number int, f *github.CommitFile) object {
	o := toObject(f)
	name := f.GetFilename()
	status := f.GetStatus()
	if status == "" {
		status = "modified"
	}
	o["status"] = status
	adds, dels := f.GetAdditions(), f.GetDeletions()
	if f.Additions == nil && f.Deletions == nil {
		switch status {
		case "added":
			adds = 1
		case "removed":
			dels = 1
		case "modified", "changed":
			adds, dels = 1, 1
		}
	}
	o.def("additions", adds)
	o.def("deletions", dels)
	o.def("changes", adds+dels)
	o.def("sha", fakeSHA("blob", name))
	// Removed files are shown at the base, where they still exist.
	ref := rs.pulls[number].GetHead().GetSHA()
	if ref == "" {
		ref = fakeSHA("head", strconv.Itoa(number))
	}
	if status == "removed" {
		ref = rs.pulls[number].GetBase().GetSHA()
		if ref == "" {
			ref = fakeSHA("base", strconv.Itoa(number))
		}
	}
	// GitHub escapes the whole filename, slashes included.
	esc := url.PathEscape(name)
	html := htmlRepo(rs.owner, rs.name)
	o.def("blob_url", html+"/blob/"+ref+"/"+esc)
	o.def("raw_url", html+"/raw/"+ref+"/"+esc)
	o.def("contents_url", s.apiRepo(rs.owner, rs.name)+"/contents/"+esc+"?ref="+ref)
	if f.Patch == nil && adds+dels > 0 && adds+dels <= prFilePatchLimit {
		o["patch"] = makePatch(adds, dels)
	}
	return o
}

// makePatch makes up a unified-diff hunk with dels removed and adds added
// lines, in the form GitHub sends (no trailing newline).
func makePatch(adds, dels int) string {
	rng := func(start, n int) string {
		if n == 0 {
			return "0,0"
		}
		if n == 1 {
			return strconv.Itoa(start)
		}
		return fmt.Sprintf("%d,%d", start, n)
	}
	lines := []string{"@@ -" + rng(1, dels) + " +" + rng(1, adds) + " @@"}
	for i := 1; i <= dels; i++ {
		lines = append(lines, fmt.Sprintf("-old line %d", i))
	}
	for i := 1; i <= adds; i++ {
		lines = append(lines, fmt.Sprintf("+new line %d", i))
	}
	return strings.Join(lines, "\n")
}

// compareUnpagedLimit: without paging parameters GitHub answers at most 250
// commits, the most recent ones of the comparison.
const compareUnpagedLimit = 250

func (s *Server) compare(c *call) *response {
	basehead := c.p["basehead"]
	base, head, ok := strings.Cut(basehead, "...")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return notFound(c.route.doc)
	}
	all, set := rs.compares[basehead]
	if !set {
		return notFound(c.route.doc)
	}
	page := all
	paged := c.q.Has("per_page") || c.q.Has("page")
	if paged {
		lo, hi := s.paginate(c, len(all), 30, 100)
		page = all[lo:hi]
	} else if len(all) > compareUnpagedLimit {
		page = all[len(all)-compareUnpagedLimit:]
	}
	baseSHA := base
	if len(all) > 0 && len(all[0].Parents) > 0 {
		baseSHA = all[0].Parents[0].GetSHA()
	} else if !isSHA(base) {
		baseSHA = fakeSHA("ref", base)
	}
	baseCommit := s.commitObject(rs.owner, rs.name, Commit(baseSHA, "Base commit", nil, nil, ""))
	api, html := s.apiRepo(rs.owner, rs.name), htmlRepo(rs.owner, rs.name)
	status := "ahead"
	if len(all) == 0 {
		status = "identical"
	}
	o := object{
		"url":               api + "/compare/" + basehead,
		"html_url":          html + "/compare/" + basehead,
		"permalink_url":     html + "/compare/" + rs.owner + ":" + baseSHA[:min(7, len(baseSHA))] + "..." + rs.owner + ":" + head,
		"diff_url":          html + "/compare/" + basehead + ".diff",
		"patch_url":         html + "/compare/" + basehead + ".patch",
		"base_commit":       baseCommit,
		"merge_base_commit": baseCommit,
		"status":            status,
		"ahead_by":          len(all),
		"behind_by":         0,
		"total_commits":     len(all),
		"commits":           s.commitList(rs.owner, rs.name, page),
	}
	// GitHub lists changed files on the first page only.
	if p, _ := strconv.Atoi(c.q.Get("page")); p <= 1 {
		o["files"] = []any{}
	}
	return jsonResponse(http.StatusOK, o)
}

func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

func (s *Server) listCommits(c *call) *response {
	rs := s.lookupRepo(c.owner(), c.repo())
	if rs == nil {
		return notFound(c.route.doc)
	}
	ref := c.q.Get("sha")
	commits, ok := rs.commits[ref]
	if !ok {
		if ref == "" {
			return errorResponse(http.StatusConflict, "Git Repository is empty.", c.route.doc)
		}
		return errorResponse(http.StatusNotFound, "No commit found for SHA: "+ref, c.route.doc)
	}
	lo, hi := s.paginate(c, len(commits), 30, 100)
	return jsonResponse(http.StatusOK, s.commitList(rs.owner, rs.name, commits[lo:hi]))
}

// --- contents ---

// contentsMaxInline: above 1 MB the contents API sends no content
// ("encoding": "none"); clients must use the raw media type.
const contentsMaxInline = 1 << 20

func (s *Server) getContents(c *call) *response {
	rs := s.lookupRepo(c.owner(), c.repo())
	p := c.p["path"]
	if rs == nil {
		return notFound(c.route.doc)
	}
	content, ok := rs.files[p]
	if !ok {
		return notFound(c.route.doc)
	}
	accept := c.r.Header.Get("Accept")
	if strings.Contains(accept, "application/vnd.github.raw") || strings.Contains(accept, "application/vnd.github.v3.raw") {
		mt := "application/vnd.github.raw"
		if strings.Contains(accept, "v3.raw") {
			mt = "application/vnd.github.v3.raw"
		}
		return &response{status: http.StatusOK, body: slices.Clone(content), header: http.Header{
			"Content-Type":        {mt + "; charset=utf-8"},
			"X-Github-Media-Type": {"github.v3; param=raw"},
		}}
	}
	ref := c.q.Get("ref")
	if ref == "" {
		ref = "main"
	}
	sha := gitBlobSHA(content)
	api, html := s.apiRepo(rs.owner, rs.name), htmlRepo(rs.owner, rs.name)
	self := api + "/contents/" + p + "?ref=" + ref
	gitURL := api + "/git/blobs/" + sha
	htmlURL := html + "/blob/" + ref + "/" + p
	enc, body := "base64", wrapBase64(content)
	if len(content) > contentsMaxInline {
		enc, body = "none", ""
	}
	return jsonResponse(http.StatusOK, object{
		"type":         "file",
		"encoding":     enc,
		"size":         len(content),
		"name":         path.Base(p),
		"path":         p,
		"content":      body,
		"sha":          sha,
		"url":          self,
		"git_url":      gitURL,
		"html_url":     htmlURL,
		"download_url": "https://raw.githubusercontent.com/" + rs.owner + "/" + rs.name + "/" + ref + "/" + p,
		"_links":       object{"self": self, "git": gitURL, "html": htmlURL},
	})
}

// wrapBase64 encodes like the contents API: base64 in lines of 60 characters,
// each ending in "\n".
func wrapBase64(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 60 {
		sb.WriteString(enc[:60])
		sb.WriteByte('\n')
		enc = enc[60:]
	}
	if enc != "" {
		sb.WriteString(enc)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// --- people ---

func (s *Server) checkMember(c *call) *response {
	if s.members[strings.ToLower(c.p["org"])][strings.ToLower(c.p["username"])] {
		return &response{status: http.StatusNoContent}
	}
	return errorResponse(http.StatusNotFound, "User does not exist or is not a member of the organization", c.route.doc)
}

func (s *Server) getPermission(c *call) *response {
	rs := s.lookupRepo(c.owner(), c.repo())
	login := c.p["username"]
	role := "none"
	if rs != nil {
		if r, ok := rs.perms[strings.ToLower(login)]; ok {
			role = r
		}
	}
	perm := role
	switch role {
	case "maintain":
		perm = "write"
	case "triage":
		perm = "read"
	}
	user := s.userObject(login)
	user["role_name"] = role
	return jsonResponse(http.StatusOK, object{"permission": perm, "role_name": role, "user": user})
}

// --- check runs ---

type checkRunInput struct {
	Name        *string                  `json:"name"`
	HeadSHA     *string                  `json:"head_sha"`
	DetailsURL  *string                  `json:"details_url"`
	ExternalID  *string                  `json:"external_id"`
	Status      *string                  `json:"status"`
	Conclusion  *string                  `json:"conclusion"`
	StartedAt   *github.Timestamp        `json:"started_at"`
	CompletedAt *github.Timestamp        `json:"completed_at"`
	Output      *github.CheckRunOutput   `json:"output"`
	Actions     []*github.CheckRunAction `json:"actions"`
}

var (
	checkStatuses    = []string{"queued", "in_progress", "completed", "waiting", "requested", "pending"}
	checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"}
	annotationLevels = []string{"notice", "warning", "failure"}
)

// GitHub's check-run limits; a check run that passes in tests but breaks one
// of these fails in production, so the fake enforces them.
const (
	checkTextLimit        = 65535
	checkAnnotationsLimit = 50
	checkActionsLimit     = 3
)

func invalid(format string, args ...any) string {
	return "Invalid request.\n\n" + fmt.Sprintf(format, args...)
}

func notSupplied(field string) string { return invalid("%q wasn't supplied.", field) }

// validateCheckRun returns GitHub's 422 message for the first problem, or "".
// The status codes and the "Invalid request." form are GitHub's; the detail
// wording of some messages is the fake's own.
func validateCheckRun(in *checkRunInput, create bool, prevConclusion *string) string {
	if create {
		if in.Name == nil || *in.Name == "" {
			return notSupplied("name")
		}
		if in.HeadSHA == nil || *in.HeadSHA == "" {
			return notSupplied("head_sha")
		}
	}
	if in.Status != nil && !slices.Contains(checkStatuses, *in.Status) {
		return invalid("For 'properties/status', %q is not a member of %q.", *in.Status, checkStatuses)
	}
	if in.Conclusion != nil && !slices.Contains(checkConclusions, *in.Conclusion) {
		return invalid("For 'properties/conclusion', %q is not a member of %q.", *in.Conclusion, checkConclusions)
	}
	if in.Status != nil && *in.Status == "completed" && in.Conclusion == nil && prevConclusion == nil {
		return notSupplied("conclusion")
	}
	if o := in.Output; o != nil {
		if o.Title == nil {
			return notSupplied("title")
		}
		if o.Summary == nil {
			return notSupplied("summary")
		}
		for _, t := range []*string{o.Summary, o.Text} {
			if n := utf8.RuneCountInString(t2s(t)); n > checkTextLimit {
				return invalid("Only %d characters are allowed; %d were supplied.", checkTextLimit, n)
			}
		}
		if len(o.Annotations) > checkAnnotationsLimit {
			return invalid("Only %d annotations are allowed per request; %d were supplied.", checkAnnotationsLimit, len(o.Annotations))
		}
		for _, a := range o.Annotations {
			switch {
			case a.Path == nil:
				return notSupplied("path")
			case a.StartLine == nil:
				return notSupplied("start_line")
			case a.EndLine == nil:
				return notSupplied("end_line")
			case a.Message == nil:
				return notSupplied("message")
			case a.AnnotationLevel == nil || !slices.Contains(annotationLevels, *a.AnnotationLevel):
				return invalid("For 'properties/annotation_level', %q is not a member of %q.", t2s(a.AnnotationLevel), annotationLevels)
			}
		}
	}
	if len(in.Actions) > checkActionsLimit {
		return invalid("Only %d actions are allowed; %d were supplied.", checkActionsLimit, len(in.Actions))
	}
	for _, a := range in.Actions {
		for _, f := range []struct {
			name, v string
			max     int
		}{{"label", a.Label, 20}, {"description", a.Description, 40}, {"identifier", a.Identifier, 20}} {
			if f.v == "" {
				return notSupplied(f.name)
			}
			if n := utf8.RuneCountInString(f.v); n > f.max {
				return invalid("For 'properties/%s', %q is too long (%d > %d characters).", f.name, f.v, n, f.max)
			}
		}
	}
	return ""
}

func t2s(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) decode(c *call, v any) *response {
	if err := json.Unmarshal(c.body, v); err != nil {
		return errorResponse(http.StatusBadRequest, "Problems parsing JSON", c.route.doc)
	}
	return nil
}

func (s *Server) createCheckRun(c *call) *response {
	var in checkRunInput
	if resp := s.decode(c, &in); resp != nil {
		return resp
	}
	if msg := validateCheckRun(&in, true, nil); msg != "" {
		return errorResponse(http.StatusUnprocessableEntity, msg, c.route.doc)
	}
	if !isSHA(*in.HeadSHA) {
		return errorResponse(http.StatusUnprocessableEntity, "No commit found for SHA: "+*in.HeadSHA, c.route.doc)
	}
	rs := s.repoState(c.owner(), c.repo())
	s.nextID++
	id := s.nextID
	api, html := s.apiRepo(rs.owner, rs.name), htmlRepo(rs.owner, rs.name)
	cr := &github.CheckRun{
		ID:         github.Int64(id),
		NodeID:     github.String(base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("012:CheckRun%d", id)))),
		HeadSHA:    in.HeadSHA,
		ExternalID: github.String(""),
		URL:        github.String(fmt.Sprintf("%s/check-runs/%d", api, id)),
		HTMLURL:    github.String(fmt.Sprintf("%s/runs/%d", html, id)),
		Status:     github.String("queued"),
		StartedAt:  &github.Timestamp{Time: c.now},
		Name:       in.Name,
		CheckSuite: &github.CheckSuite{ID: github.Int64(checkSuiteID(rs.id, *in.HeadSHA))},
		App:        &github.App{ID: github.Int64(s.appID), Slug: github.String(s.appSlug), Name: github.String(s.appSlug)},
	}
	// Without a details_url GitHub links the check run's own page.
	cr.DetailsURL = cr.HTMLURL
	applyCheckRun(cr, &in, c.now)
	for _, n := range slices.Sorted(maps.Keys(rs.pulls)) {
		if pr := rs.pulls[n]; pr.GetHead().GetSHA() == *in.HeadSHA {
			cr.PullRequests = append(cr.PullRequests, &github.PullRequest{
				URL:    github.String(fmt.Sprintf("%s/pulls/%d", api, n)),
				ID:     pr.ID,
				Number: github.Int(n),
				Head:   branchRef(pr.GetHead()),
				Base:   branchRef(pr.GetBase()),
			})
		}
	}
	rs.checkRuns = append(rs.checkRuns, cr)
	resp := jsonResponse(http.StatusCreated, s.checkRunObject(cr))
	resp.header = http.Header{"Location": {cr.GetURL()}}
	return resp
}

// branchRef is the short form of a branch that check runs embed.
func branchRef(b *github.PullRequestBranch) *github.PullRequestBranch {
	if b == nil {
		return nil
	}
	return &github.PullRequestBranch{Ref: b.Ref, SHA: b.SHA}
}

// checkSuiteID is stable per repository and head SHA: GitHub puts all of an
// App's runs on one commit into one suite.
func checkSuiteID(repoID int64, sha string) int64 {
	return 1_000_000 + repoID*1000 + int64(userID(sha)%1000)
}

// applyCheckRun merges a create or update body into cr as GitHub does:
// given fields replace, a conclusion completes the run, annotations add up.
func applyCheckRun(cr *github.CheckRun, in *checkRunInput, now time.Time) {
	if in.Name != nil && *in.Name != "" {
		cr.Name = in.Name
	}
	if in.DetailsURL != nil {
		cr.DetailsURL = in.DetailsURL
	}
	if in.ExternalID != nil {
		cr.ExternalID = in.ExternalID
	}
	if in.StartedAt != nil {
		cr.StartedAt = in.StartedAt
	}
	if in.Status != nil {
		cr.Status = in.Status
	}
	if in.Conclusion != nil {
		cr.Conclusion = in.Conclusion
		cr.Status = github.String("completed")
	}
	if in.CompletedAt != nil {
		cr.CompletedAt = in.CompletedAt
	}
	if cr.GetStatus() == "completed" && cr.CompletedAt == nil {
		cr.CompletedAt = &github.Timestamp{Time: now}
	}
	if o := in.Output; o != nil {
		prev := cr.Output
		cr.Output = &github.CheckRunOutput{
			Title:          o.Title,
			Summary:        o.Summary,
			Text:           o.Text,
			Images:         o.Images,
			AnnotationsURL: github.String(cr.GetURL() + "/annotations"),
		}
		if prev != nil {
			cr.Output.Annotations = prev.Annotations
		}
		cr.Output.Annotations = append(cr.Output.Annotations, o.Annotations...)
		cr.Output.AnnotationsCount = github.Int(len(cr.Output.Annotations))
	}
}

// checkRunObject is a check run as GitHub sends it: absent values are null,
// and the output carries a count and a URL instead of the annotations.
func (s *Server) checkRunObject(cr *github.CheckRun) object {
	o := toObject(cr)
	o.def("conclusion", nil)
	o.def("completed_at", nil)
	o.def("pull_requests", []any{})
	out := o.obj("output")
	if out == nil {
		out = object{"annotations_count": 0, "annotations_url": cr.GetURL() + "/annotations"}
		o["output"] = out
	}
	delete(out, "annotations")
	delete(out, "images")
	out.def("title", nil)
	out.def("summary", nil)
	out.def("text", nil)
	out.def("annotations_count", 0)
	if app := o.obj("app"); app != nil {
		full := s.appObject()
		maps.Copy(full, app)
		o["app"] = full
	}
	return o
}

func (s *Server) findCheckRun(c *call) (*github.CheckRun, *response) {
	id, ok := c.intParam("id")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return nil, notFound(c.route.doc)
	}
	for _, cr := range rs.checkRuns {
		if cr.GetID() == id {
			return cr, nil
		}
	}
	return nil, notFound(c.route.doc)
}

func (s *Server) updateCheckRun(c *call) *response {
	cr, resp := s.findCheckRun(c)
	if resp != nil {
		return resp
	}
	var in checkRunInput
	if resp := s.decode(c, &in); resp != nil {
		return resp
	}
	if msg := validateCheckRun(&in, false, cr.Conclusion); msg != "" {
		return errorResponse(http.StatusUnprocessableEntity, msg, c.route.doc)
	}
	applyCheckRun(cr, &in, c.now)
	return jsonResponse(http.StatusOK, s.checkRunObject(cr))
}

func (s *Server) getCheckRun(c *call) *response {
	cr, resp := s.findCheckRun(c)
	if resp != nil {
		return resp
	}
	return jsonResponse(http.StatusOK, s.checkRunObject(cr))
}

// --- comments ---

// commentLimit is GitHub's maximum comment length in characters.
const commentLimit = 65536

func (s *Server) addComment(rs *repoState, number int, user *github.User, body string) *github.IssueComment {
	s.nextID++
	id := s.nextID
	api := s.apiRepo(rs.owner, rs.name)
	kind := "issues"
	if rs.isPull(number) {
		kind = "pull"
	}
	now := &github.Timestamp{Time: s.now().UTC().Truncate(time.Second)}
	cm := &github.IssueComment{
		ID:                github.Int64(id),
		NodeID:            github.String(base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("012:IssueComment%d", id)))),
		URL:               github.String(fmt.Sprintf("%s/issues/comments/%d", api, id)),
		HTMLURL:           github.String(fmt.Sprintf("%s/%s/%d#issuecomment-%d", htmlRepo(rs.owner, rs.name), kind, number, id)),
		IssueURL:          github.String(fmt.Sprintf("%s/issues/%d", api, number)),
		Body:              github.String(body),
		User:              user,
		CreatedAt:         now,
		UpdatedAt:         now,
		AuthorAssociation: github.String("NONE"),
	}
	rs.comments[number] = append(rs.comments[number], cm)
	return cm
}

func (s *Server) commentObject(cm *github.IssueComment) object {
	o := toObject(cm)
	s.fillUser(o.obj("user"))
	return o
}

func (s *Server) commentBody(c *call) (string, *response) {
	var in struct {
		Body *string `json:"body"`
	}
	if resp := s.decode(c, &in); resp != nil {
		return "", resp
	}
	if in.Body == nil {
		return "", errorResponse(http.StatusUnprocessableEntity, notSupplied("body"), c.route.doc)
	}
	if utf8.RuneCountInString(*in.Body) > commentLimit {
		return "", jsonResponse(http.StatusUnprocessableEntity, errorBody{
			Message: "Validation Failed",
			Errors: []fieldError{{Resource: "IssueComment", Code: "unprocessable", Field: "data",
				Message: fmt.Sprintf("Body is too long (maximum is %d characters)", commentLimit)}},
			DocumentationURL: c.route.doc,
		})
	}
	return *in.Body, nil
}

func (s *Server) createComment(c *call) *response {
	n, ok := c.intParam("number")
	if !ok {
		return notFound(c.route.doc)
	}
	body, resp := s.commentBody(c)
	if resp != nil {
		return resp
	}
	rs := s.repoState(c.owner(), c.repo())
	cm := s.addComment(rs, int(n), NewUser(s.appSlug+"[bot]"), body)
	resp = jsonResponse(http.StatusCreated, s.commentObject(cm))
	resp.header = http.Header{"Location": {cm.GetURL()}}
	return resp
}

func (s *Server) listComments(c *call) *response {
	n, ok := c.intParam("number")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return notFound(c.route.doc)
	}
	all := rs.comments[int(n)]
	lo, hi := s.paginate(c, len(all), 30, 100)
	out := make([]object, 0, hi-lo)
	for _, cm := range all[lo:hi] {
		out = append(out, s.commentObject(cm))
	}
	return jsonResponse(http.StatusOK, out)
}

func (s *Server) updateComment(c *call) *response {
	id, ok := c.intParam("id")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return notFound(c.route.doc)
	}
	for _, list := range rs.comments {
		for _, cm := range list {
			if cm.GetID() != id {
				continue
			}
			body, resp := s.commentBody(c)
			if resp != nil {
				return resp
			}
			cm.Body = github.String(body)
			cm.UpdatedAt = &github.Timestamp{Time: c.now}
			return jsonResponse(http.StatusOK, s.commentObject(cm))
		}
	}
	return notFound(c.route.doc)
}
