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
)

// SearchItem is an issue or pull request in the index that
// GET /search/issues ("Search issues and pull requests") searches; tests
// fill it with AddSearchItem. Number and Author are required; the rest have
// GitHub-like defaults. The index is separate from the pull requests of
// AddPullRequest: a test that wants a pull request both served and found
// adds it to both.
//
// What the fake models of GitHub's search:
//
//   - The query is whitespace-separated qualifiers, all of which must hold
//     (AND): is:pr, is:pull-request, is:issue, type:pr, type:pull-request,
//     type:issue, is:open, is:closed, state:open, state:closed, is:merged,
//     is:unmerged (a pull request not merged, open or closed), author:LOGIN,
//     org:ORG, user:OWNER and repo:OWNER/NAME. Values compare ignoring case,
//     as on GitHub. Repeated org:, user: and repo: qualifiers widen the scope
//     (an item in any of them matches), as GitHub does for repo:.
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
//
// What it does not model, and answers instead:
//
//   - Free text (GitHub searches titles, bodies and comments for it), any
//     other qualifier (label:, in:, draft:, sort:, ...), negation (-author:),
//     quoting, parentheses, AND/OR/NOT, and qualifier names not in lower
//     case (IS:pr; values may be in any case): 422 "Validation Failed" with
//     errors [{resource: Search, field: q, code: invalid, message: ...}],
//     the message starting "fakegithub:", so a test cannot silently get
//     results the real search would not give.
//   - Visibility: GitHub only returns items the installation can see (and
//     answers 422 for org:, user: or repo: values that do not exist or are
//     not visible); the fake searches every item it knows, and an unknown
//     scope just matches nothing.
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
}

type searchEntry struct {
	SearchItem
	id  int64
	seq int // order added, breaking ties between equal timestamps
}

// searchResultLimit: GitHub serves at most the first 1000 results of a search.
const searchResultLimit = 1000

// AddSearchItem adds an issue or pull request to the search index of
// GET /search/issues, replacing one with the same number in the repository.
// Labels shown on it are those the repository's issue number has (SetLabels,
// the labels endpoints), comments counts the comments the fake holds for it.
// It panics on a missing Number or Author, an unknown State, or Merged on an
// issue.
func (s *Server) AddSearchItem(owner, repo string, item SearchItem) {
	switch {
	case item.Number <= 0:
		panic("fakegithub: AddSearchItem: Number must be positive")
	case item.Author == "":
		panic("fakegithub: AddSearchItem: Author is required")
	case item.State != "" && item.State != "open" && item.State != "closed":
		panic(fmt.Sprintf("fakegithub: AddSearchItem: State %q is neither open nor closed", item.State))
	case item.Merged && !item.PR:
		panic("fakegithub: AddSearchItem: only pull requests can be merged")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
		item.CreatedAt = s.now()
	}
	item.CreatedAt = item.CreatedAt.UTC().Truncate(time.Second)
	if item.State == "closed" && item.ClosedAt.IsZero() {
		item.ClosedAt = item.CreatedAt
	}
	item.ClosedAt = item.ClosedAt.UTC().Truncate(time.Second)
	s.nextID++
	s.searchSeq++
	s.repoState(owner, repo).search[item.Number] = &searchEntry{SearchItem: item, id: s.nextID, seq: s.searchSeq}
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
	scopes []string // lower case "owner" or "owner/name"; any one suffices
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
	for _, term := range strings.Fields(q) {
		key, val, ok := strings.Cut(term, ":")
		if !ok || val == "" {
			return nil, fmt.Sprintf("fakegithub: free text %q is not supported (GitHub would search titles, bodies and comments for it); use qualifiers", term)
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
	return f, ""
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
	for _, a := range f.author {
		if !strings.EqualFold(a, e.Author) {
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

func (h searchHit) updated() time.Time {
	if h.e.ClosedAt.After(h.e.CreatedAt) {
		return h.e.ClosedAt
	}
	return h.e.CreatedAt
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
			sortKey = func(h searchHit) int64 { return h.updated().Unix() }
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

// searchItemObject renders an item as GitHub's search answers do: an issue
// object (URLs under /issues/N even for pull requests), with pull_request
// links for pull requests.
func (s *Server) searchItemObject(rs *repoState, e *searchEntry) object {
	n := e.Number
	api, html := s.apiRepo(rs.owner, rs.name), htmlRepo(rs.owner, rs.name)
	issueAPI := fmt.Sprintf("%s/issues/%d", api, n)
	htmlURL := fmt.Sprintf("%s/issues/%d", html, n)
	nodeID := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("05:Issue%d", e.id)))
	if e.PR {
		htmlURL = fmt.Sprintf("%s/pull/%d", html, n)
		nodeID = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("011:PullRequest%d", e.id)))
	}
	var body, closedAt, stateReason any
	if e.Body != "" {
		body = e.Body
	}
	if e.State == "closed" {
		closedAt = timeOrNull(e.ClosedAt)
		if !e.PR {
			stateReason = "completed"
		}
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
		"updated_at":               timeOrNull(searchHit{rs, e}.updated()),
		"closed_at":                closedAt,
		"author_association":       e.AuthorAssociation,
		"active_lock_reason":       nil,
		"body":                     body,
		"reactions":                emptyReactions(issueAPI + "/reactions"),
		"timeline_url":             issueAPI + "/timeline",
		"performed_via_github_app": nil,
		"state_reason":             stateReason,
		"score":                    1.0,
	}
	if e.PR {
		var mergedAt any
		if e.Merged {
			mergedAt = timeOrNull(e.ClosedAt)
		}
		o["draft"] = false
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
