package fakegithub

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
)

// SearchItem is an issue or pull request in the fake's issue store: what
// GET /search/issues ("Search issues and pull requests") searches and what
// GET, POST and PATCH /repos/{o}/{r}/issues[/{n}] serve and change. Tests
// fill it with AddSearchItem and change it with SetIssue. Number and Author
// are required; the rest have GitHub-like defaults. The store is separate
// from the pull requests of AddPullRequest: a test that wants a pull request
// both served by the pulls endpoints and found as an issue adds it to both.
//
// What the fake models of GitHub's search:
//
//   - The query is whitespace-separated qualifiers, all of which must hold
//     (AND): is:pr, is:pull-request, is:issue, type:pr, type:pull-request,
//     type:issue, is:open, is:closed, state:open, state:closed, is:merged,
//     is:unmerged (a pull request not merged, open or closed), draft:true,
//     draft:false (pull requests only), author:LOGIN, label:NAME,
//     org:ORG, user:OWNER and repo:OWNER/NAME. Values compare ignoring case,
//     as on GitHub. Repeated org:, user: and repo: qualifiers widen the scope
//     (an item in any of them matches), as GitHub does for repo:. Repeated
//     label: qualifiers must all hold, and label:a,b matches either, as on
//     GitHub; a label name with spaces is quoted: label:"good first issue".
//   - A query naming neither issues nor pull requests (is:issue, is:pr,
//     is:pull-request, type:issue, type:pr) answers 422 "Query must include
//     'is:issue' or 'is:pull-request'", as GitHub now does.
//   - A missing or blank q answers GitHub's 422 "Validation Failed" with
//     errors [{resource: Search, field: q, code: missing}].
//   - Results are sorted newest first (created_at, then the order added)
//     where GitHub's default is "best match", which a fake cannot imitate;
//     ?sort=created|updated|comments with ?order=asc|desc sort as GitHub does,
//     other sort values keep the default order. Every item scores 1.
//   - per_page (default 30, at most 100) and page, with GitHub's Link header;
//     total_count counts all matches, but as on GitHub only the first 1000
//     can be paged to, and a page starting beyond them answers 422 "Only the
//     first 1000 search results are available".
//   - The search quota: 30 requests a minute per installation, apart from
//     the core quota (X-RateLimit-Resource "search"; see SetSearchRemaining).
//   - Index lag: GitHub's index trails new issues and pull requests by a few
//     seconds. An item added with Unindexed set exists but is not found until
//     CatchUpSearchIndex is called.
//   - Visibility: items in a private repository (SetRepoPrivate) are found
//     only by the installation of the repository's owner (SetOrgInstallation).
//
// What it does not model, and answers instead:
//
//   - Free text (GitHub searches titles, bodies and comments for it) but a
//     quoted phrase with in:body, any other qualifier (in:title, sort:,
//     is:draft, ...), negation (-author:), parentheses, AND/OR/NOT, and qualifier names
//     not in lower case (IS:pr; values may be in any case): 422 "Validation
//     Failed" with errors [{resource: Search, field: q, code: invalid,
//     message: ...}], the message starting "fakegithub:", so a test cannot
//     silently get results the real search would not give.
//   - GitHub answers 422 for org:, user: or repo: values that do not exist
//     or are not visible; the fake's unknown scopes just match nothing.
type SearchItem struct {
	Number int    // issue or pull request number in its repository
	Author string // login of the author; "…[bot]" logins are Bots
	PR     bool   // a pull request rather than an issue
	// Title defaults to "Issue N" or "Pull request N"; an empty Body is
	// sent as null.
	Title, Body string
	// State is "open" (default) or "closed". A merged pull request is
	// closed whatever State says.
	State  string
	Merged bool // pull requests only: merged, so pull_request.merged_at is set
	// AuthorAssociation defaults to "NONE".
	AuthorAssociation string
	// CreatedAt defaults to the fake's clock when the item is added;
	// ClosedAt (also the merge time) to CreatedAt, for closed items.
	CreatedAt, ClosedAt time.Time
	// Unindexed adds the item as GitHub's search index lags behind a new
	// issue or pull request: it exists, but searches do not find it until
	// CatchUpSearchIndex.
	Unindexed bool
	// Labels, when not nil, replace the labels the number has (see
	// SetLabels; names the repository lacks are created in it). A nil
	// Labels keeps them, so labels set before AddSearchItem stay.
	Labels []string
	Draft  bool // pull requests only: a draft
	// StateReason is "completed" or "not_planned" for a closed issue
	// (default "completed"), "reopened" or "" for an open one; pull requests
	// have none, as on GitHub.
	StateReason string
	// UpdatedAt defaults to the latest of CreatedAt and ClosedAt.
	UpdatedAt time.Time
}

type searchEntry struct {
	SearchItem // Labels is always nil here: repoState.labels holds them
	id         int64
	seq        int // order added, breaking ties between equal timestamps
	// viaApp marks issues the App created, which GitHub shows with
	// performed_via_github_app; closedBy is who closed it through the API.
	viaApp   bool
	closedBy string
}

// updated is updated_at: GitHub bumps it on every change, so it is never
// before the creation or closing.
func (e *searchEntry) updated() time.Time {
	t := e.CreatedAt
	if e.ClosedAt.After(t) {
		t = e.ClosedAt
	}
	if e.UpdatedAt.After(t) {
		t = e.UpdatedAt
	}
	return t
}

// searchResultLimit: GitHub serves at most the first 1000 results of a search.
const searchResultLimit = 1000

// AddSearchItem adds an issue or pull request to the issue store (see
// SearchItem), replacing one with the same number in the repository. Labels
// shown on it are those the repository's issue number has (SetLabels, the
// labels endpoints, or item.Labels), comments counts the comments the fake
// holds for it. It panics on a missing Number or Author, an unknown State or
// StateReason, or Merged or Draft on an issue.
func (s *Server) AddSearchItem(owner, repo string, item SearchItem) {
	if msg := checkItem(item); msg != "" {
		panic("fakegithub: AddSearchItem: " + msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoState(owner, repo)
	s.nextID++
	s.searchSeq++
	e := &searchEntry{id: s.nextID, seq: s.searchSeq}
	s.storeItem(rs, e, item, s.now(), false)
}

// checkItem returns why item cannot be stored, or "".
func checkItem(item SearchItem) string {
	switch {
	case item.Number <= 0:
		return "Number must be positive"
	case item.Author == "":
		return "Author is required"
	case item.State != "" && item.State != "open" && item.State != "closed":
		return fmt.Sprintf("State %q is neither open nor closed", item.State)
	case item.Merged && !item.PR:
		return "only pull requests can be merged"
	case item.Draft && !item.PR:
		return "only pull requests can be drafts"
	case item.StateReason != "" && item.PR:
		return "pull requests have no StateReason"
	case item.StateReason != "" && !slices.Contains(stateReasons, item.StateReason):
		return fmt.Sprintf("StateReason %q is none of %q", item.StateReason, stateReasons)
	}
	closed := item.State == "closed" || item.Merged
	if closed == (item.StateReason == "reopened") && item.StateReason != "" {
		return fmt.Sprintf("StateReason %q does not fit State %q", item.StateReason, item.State)
	}
	return ""
}

var stateReasons = []string{"completed", "not_planned", "reopened"}

// storeItem fills in item's defaults and stores it as e. A closed item
// without ClosedAt was closed when it was created (added) or now (changed).
func (s *Server) storeItem(rs *repoState, e *searchEntry, item SearchItem, now time.Time, changed bool) {
	if item.State == "" {
		item.State = "open"
	}
	if item.Merged {
		item.State = "closed"
	}
	if item.Title == "" {
		item.Title = fmt.Sprintf("Issue %d", item.Number)
		if item.PR {
			item.Title = fmt.Sprintf("Pull request %d", item.Number)
		}
	}
	if item.AuthorAssociation == "" {
		item.AuthorAssociation = "NONE"
	}
	if item.CreatedAt.IsZero() {
		item.CreatedAt = now
	}
	item.CreatedAt = item.CreatedAt.UTC().Truncate(time.Second)
	switch {
	case item.State == "open":
		item.ClosedAt = time.Time{}
	case item.ClosedAt.IsZero() && changed:
		item.ClosedAt = now
	case item.ClosedAt.IsZero():
		item.ClosedAt = item.CreatedAt
	}
	item.ClosedAt = item.ClosedAt.UTC().Truncate(time.Second)
	item.UpdatedAt = item.UpdatedAt.UTC().Truncate(time.Second)
	if item.Labels != nil {
		rs.labels[item.Number] = nil
		for _, name := range item.Labels {
			s.addIssueLabel(rs, item.Number, name)
		}
	}
	item.Labels = nil
	e.SearchItem = item
	rs.search[item.Number] = e
}

// CatchUpSearchIndex lets the search index catch up: every item added with
// Unindexed becomes findable.
func (s *Server) CatchUpSearchIndex() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range s.repos {
		for _, e := range rs.search {
			e.Unindexed = false
		}
	}
}

// isPull tells whether number is a pull request as far as the fake knows.
func (rs *repoState) isPull(number int) bool {
	if rs.pulls[number] != nil {
		return true
	}
	e := rs.search[number]
	return e != nil && e.PR
}

// searchFilter is a parsed query: every non-empty condition must hold.
type searchFilter struct {
	typed  bool     // names issues or pull requests, as GitHub demands
	pr     *bool    // is:pr / is:issue
	state  string   // "open", "closed" or ""
	merged *bool    // is:merged / is:unmerged (pull requests only)
	author []string // lower case; all must equal the author
	// labels: each set must share a name with the item's labels (label:a
	// label:b needs both, label:a,b either); lower case.
	labels [][]string
	draft  *bool    // draft:true / draft:false (pull requests only)
	scopes []string // lower case "owner" or "owner/name"; any one suffices
	// phrases are quoted terms searched in bodies only (in:body); lower case.
	phrases []string
	inBody  bool
	// none: two qualifiers contradict each other (is:pr is:issue, is:open
	// is:closed), so nothing matches, as on GitHub.
	none bool
}

func boolPtr(b bool) *bool { return &b }

// parseSearchQuery returns the filter, or why the fake refuses the query.
func parseSearchQuery(q string) (*searchFilter, string) {
	f := &searchFilter{}
	setBool := func(p **bool, v bool) {
		if *p != nil && **p != v {
			f.none = true
		}
		*p = boolPtr(v)
	}
	setState := func(v string) {
		if f.state != "" && f.state != v {
			f.none = true
		}
		f.state = v
	}
	terms, msg := splitQuery(q)
	if msg != "" {
		return nil, msg
	}
	for _, term := range terms {
		if len(term) > 2 && strings.HasPrefix(term, `"`) && strings.HasSuffix(term, `"`) && !strings.Contains(term[1:len(term)-1], `"`) {
			f.phrases = append(f.phrases, strings.ToLower(term[1:len(term)-1]))
			continue
		}
		if term == "in:body" {
			f.inBody = true
			continue
		}
		key, val, ok := strings.Cut(term, ":")
		if !ok || val == "" {
			return nil, fmt.Sprintf("fakegithub: free text %q is not supported (GitHub would search titles, bodies and comments for it); use qualifiers", term)
		}
		if key == "label" {
			names, ok := labelValues(val)
			if !ok {
				return nil, fmt.Sprintf("fakegithub: %q: label: takes NAME, \"NAME\" or a comma list of them", term)
			}
			f.labels = append(f.labels, names)
			continue
		}
		if strings.ContainsAny(term, `"()`) {
			return nil, fmt.Sprintf("fakegithub: quoting and grouping are not supported: %q", term)
		}
		v := strings.ToLower(val)
		switch key {
		case "is", "type":
			switch {
			case v == "pr" || v == "pull-request":
				f.typed = true
				setBool(&f.pr, true)
			case v == "issue":
				f.typed = true
				setBool(&f.pr, false)
			case key == "is" && (v == "open" || v == "closed"):
				setState(v)
			case key == "is" && v == "merged":
				setBool(&f.merged, true)
			case key == "is" && v == "unmerged":
				setBool(&f.merged, false)
			default:
				return nil, fmt.Sprintf("fakegithub: qualifier %q is not supported", term)
			}
		case "state":
			if v != "open" && v != "closed" {
				return nil, fmt.Sprintf("fakegithub: qualifier %q is not supported", term)
			}
			setState(v)
		case "author":
			f.author = append(f.author, v)
		case "draft":
			if v != "true" && v != "false" {
				return nil, fmt.Sprintf("fakegithub: qualifier %q is not supported", term)
			}
			setBool(&f.draft, v == "true")
		case "org", "user":
			if strings.Contains(v, "/") {
				return nil, fmt.Sprintf("fakegithub: %q: %s: takes an account name", term, key)
			}
			f.scopes = append(f.scopes, v)
		case "repo":
			owner, name, ok := strings.Cut(v, "/")
			if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
				return nil, fmt.Sprintf("fakegithub: %q: repo: takes OWNER/NAME", term)
			}
			f.scopes = append(f.scopes, v)
		default:
			return nil, fmt.Sprintf("fakegithub: qualifier %q is not supported", term)
		}
	}
	if len(f.phrases) > 0 && !f.inBody {
		return nil, "fakegithub: a quoted phrase is searched only with in:body (GitHub would also search titles and comments)"
	}
	return f, ""
}

// splitQuery splits q at whitespace outside double quotes, so that
// label:"good first issue" stays one term; an unclosed quote is refused.
func splitQuery(q string) ([]string, string) {
	var terms []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case !quoted && unicode.IsSpace(r):
			if cur.Len() > 0 {
				terms = append(terms, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if quoted {
		return nil, fmt.Sprintf("fakegithub: unclosed quote in %q", q)
	}
	if cur.Len() > 0 {
		terms = append(terms, cur.String())
	}
	return terms, ""
}

// labelValues parses the value of label:, a comma list of names, each bare
// or in double quotes (which may hold spaces and commas); lower case.
func labelValues(val string) ([]string, bool) {
	var names []string
	for val != "" {
		var name string
		if rest, ok := strings.CutPrefix(val, `"`); ok {
			end := strings.IndexByte(rest, '"')
			name, val = rest[:end], rest[end+1:] // splitQuery saw the closing quote
		} else {
			end := strings.IndexByte(val, ',')
			if end < 0 {
				end = len(val)
			}
			name, val = val[:end], val[end:]
			if strings.ContainsAny(name, `"()`) {
				return nil, false
			}
		}
		if strings.TrimSpace(name) == "" {
			return nil, false
		}
		names = append(names, strings.ToLower(name))
		if val == "" {
			break
		}
		var ok bool
		if val, ok = strings.CutPrefix(val, ","); !ok || val == "" {
			return nil, false
		}
	}
	return names, len(names) > 0
}

func (f *searchFilter) match(rs *repoState, e *searchEntry) bool {
	if f.none {
		return false
	}
	if f.pr != nil && *f.pr != e.PR {
		return false
	}
	if f.state != "" && f.state != e.State {
		return false
	}
	if f.merged != nil && (!e.PR || *f.merged != e.Merged) {
		return false
	}
	if f.draft != nil && (!e.PR || *f.draft != e.Draft) {
		return false
	}
	for _, a := range f.author {
		if !strings.EqualFold(a, e.Author) {
			return false
		}
	}
	for _, p := range f.phrases {
		if !strings.Contains(strings.ToLower(e.Body), p) {
			return false
		}
	}
	for _, set := range f.labels {
		if !slices.ContainsFunc(rs.labels[e.Number], func(have string) bool {
			return slices.Contains(set, strings.ToLower(have))
		}) {
			return false
		}
	}
	if len(f.scopes) == 0 {
		return true
	}
	owner, full := strings.ToLower(rs.owner), strings.ToLower(rs.owner+"/"+rs.name)
	for _, sc := range f.scopes {
		if sc == owner || sc == full {
			return true
		}
	}
	return false
}

type searchHit struct {
	rs *repoState
	e  *searchEntry
}

func (s *Server) searchIssues(c *call) *response {
	q := c.q.Get("q")
	if strings.TrimSpace(q) == "" {
		return jsonResponse(http.StatusUnprocessableEntity, errorBody{
			Message:          "Validation Failed",
			Errors:           []fieldError{{Resource: "Search", Field: "q", Code: "missing"}},
			DocumentationURL: c.route.doc,
		})
	}
	f, msg := parseSearchQuery(q)
	if msg != "" {
		return jsonResponse(http.StatusUnprocessableEntity, errorBody{
			Message:          "Validation Failed",
			Errors:           []fieldError{{Resource: "Search", Field: "q", Code: "invalid", Message: msg}},
			DocumentationURL: c.route.doc,
		})
	}
	if !f.typed {
		return errorResponse(http.StatusUnprocessableEntity, "Query must include 'is:issue' or 'is:pull-request'", c.route.doc)
	}

	var hits []searchHit
	for _, key := range slices.Sorted(maps.Keys(s.repos)) {
		rs := s.repos[key]
		if !s.canSee(rs, c.inst) {
			continue
		}
		for _, e := range rs.search {
			if !e.Unindexed && f.match(rs, e) {
				hits = append(hits, searchHit{rs, e})
			}
		}
	}
	sortKey := func(h searchHit) int64 { return h.e.CreatedAt.Unix() }
	desc := true
	switch sort := c.q.Get("sort"); sort {
	case "created", "updated", "comments":
		desc = c.q.Get("order") != "asc"
		switch sort {
		case "updated":
			sortKey = func(h searchHit) int64 { return h.e.updated().Unix() }
		case "comments":
			sortKey = func(h searchHit) int64 { return int64(len(h.rs.comments[h.e.Number])) }
		}
	}
	slices.SortFunc(hits, func(a, b searchHit) int {
		n := cmp.Or(cmp.Compare(sortKey(a), sortKey(b)), cmp.Compare(a.e.seq, b.e.seq))
		if desc {
			return -n
		}
		return n
	})

	per, page := pageParams(c, 30, 100)
	if (page-1)*per >= searchResultLimit {
		return errorResponse(http.StatusUnprocessableEntity, "Only the first 1000 search results are available", c.route.doc)
	}
	lo, hi := s.paginate(c, min(len(hits), searchResultLimit), 30, 100)
	items := make([]object, 0, hi-lo)
	for _, h := range hits[lo:hi] {
		items = append(items, s.searchItemObject(h.rs, h.e))
	}
	return jsonResponse(http.StatusOK, object{
		"total_count":        len(hits),
		"incomplete_results": false,
		"items":              items,
	})
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

// searchItemObject renders an item as GitHub's search answers do: the
// issue object with a score.
func (s *Server) searchItemObject(rs *repoState, e *searchEntry) object {
	o := s.issueObject(rs, e)
	delete(o, "closed_by") // search items leave it out
	o["score"] = 1.0
	return o
}

// issueObject renders an item as GitHub's issues endpoints do: an issue
// object (URLs under /issues/N even for pull requests), with pull_request
// links and draft for pull requests.
func (s *Server) issueObject(rs *repoState, e *searchEntry) object {
	n := e.Number
	api, html := s.apiRepo(rs.owner, rs.name), htmlRepo(rs.owner, rs.name)
	issueAPI := fmt.Sprintf("%s/issues/%d", api, n)
	htmlURL := fmt.Sprintf("%s/issues/%d", html, n)
	nodeID := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("05:Issue%d", e.id)))
	if e.PR {
		htmlURL = fmt.Sprintf("%s/pull/%d", html, n)
		nodeID = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("011:PullRequest%d", e.id)))
	}
	var body, closedAt, stateReason, closedBy, viaApp any
	if e.Body != "" {
		body = e.Body
	}
	if e.StateReason != "" {
		stateReason = e.StateReason
	}
	if e.State == "closed" {
		closedAt = timeOrNull(e.ClosedAt)
		if !e.PR && stateReason == nil {
			stateReason = "completed"
		}
		if e.closedBy != "" {
			closedBy = s.userObject(e.closedBy)
		}
	}
	if e.viaApp {
		viaApp = s.appObject()
	}
	o := object{
		"url":                      issueAPI,
		"repository_url":           api,
		"labels_url":               issueAPI + "/labels{/name}",
		"comments_url":             issueAPI + "/comments",
		"events_url":               issueAPI + "/events",
		"html_url":                 htmlURL,
		"id":                       e.id,
		"node_id":                  nodeID,
		"number":                   n,
		"title":                    e.Title,
		"user":                     s.userObject(e.Author),
		"labels":                   s.issueLabelObjects(rs, rs.labels[n]),
		"state":                    e.State,
		"locked":                   false,
		"assignee":                 nil,
		"assignees":                []any{},
		"milestone":                nil,
		"comments":                 len(rs.comments[n]),
		"created_at":               timeOrNull(e.CreatedAt),
		"updated_at":               timeOrNull(e.updated()),
		"closed_at":                closedAt,
		"closed_by":                closedBy,
		"author_association":       e.AuthorAssociation,
		"active_lock_reason":       nil,
		"body":                     body,
		"reactions":                emptyReactions(issueAPI + "/reactions"),
		"timeline_url":             issueAPI + "/timeline",
		"performed_via_github_app": viaApp,
		"state_reason":             stateReason,
	}
	if e.PR {
		var mergedAt any
		if e.Merged {
			mergedAt = timeOrNull(e.ClosedAt)
		}
		o["draft"] = e.Draft
		o["pull_request"] = object{
			"url":       fmt.Sprintf("%s/pulls/%d", api, n),
			"html_url":  htmlURL,
			"diff_url":  htmlURL + ".diff",
			"patch_url": htmlURL + ".patch",
			"merged_at": mergedAt,
		}
	}
	return o
}

func emptyReactions(url string) object {
	return object{"url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
		"confused": 0, "heart": 0, "rocket": 0, "eyes": 0}
}
