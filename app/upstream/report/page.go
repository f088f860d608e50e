package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// Source gives the references to show. It has already left out private
// items that the rules do not allow on the page.
type Source interface {
	References(ctx context.Context) ([]Reference, error)
}

// PageOptions configure Page and API.
type PageOptions struct {
	// Now is the clock staleness is measured with; nil means time.Now.
	Now func() time.Time
	// StaleAfter is as in Options.
	StaleAfter time.Duration
	// Title heads the page; empty means "Upstream work".
	Title string
	// PageSize is how many references the page shows at once; zero means
	// DefaultPageSize.
	PageSize int
}

// Bounds of one answer. Anyone on the internet may ask, and any GitHub
// user can add references (50 an issue, in as many issues as they like):
// no answer may grow with them. The rest is a filter or a page away.
const (
	DefaultPageSize = 100
	// DefaultLimit and MaxLimit are the API's references per answer
	// (?limit=).
	DefaultLimit = 100
	MaxLimit     = 500
	// MaxTrackersShown are the tracking items one reference lists; the
	// rest are counted.
	MaxTrackersShown = 20
	// maxOptions are the modules or projects the page's form offers; the
	// rest can still be named in the address.
	maxOptions = 200
)

func (o PageOptions) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Filter values beyond the data: every value, and references without a
// module. "(none)" cannot be confused with a module, which is a label name.
const (
	filterAll      = "all"
	filterNoModule = "(none)"
)

// filters are the query parameters of the page and the API; empty means
// all.
type filters struct {
	Module  string `json:"module"`
	State   string `json:"state"`
	Project string `json:"project"`
}

// parseFilters reads module, state and project. A state is one of a fixed
// list, so a wrong one is an error; a module or project that is not in the
// data just matches nothing, since the data changes under bookmarks.
func parseFilters(q url.Values) (filters, error) {
	get := func(k string) string {
		v := strings.TrimSpace(q.Get(k))
		if v == filterAll {
			return ""
		}
		return v
	}
	f := filters{Module: get("module"), State: get("state"), Project: get("project")}
	if f.State != "" && !slices.Contains(stateKeys(), f.State) {
		return f, &stateError{f.State}
	}
	return f, nil
}

// paging is which slice of the matching references an answer shows.
type paging struct {
	Page  int `json:"page"`
	Limit int `json:"limit"`
	// Pages is how many pages the matching references fill (at least 1).
	Pages int `json:"pages"`
}

// parsePaging reads ?page= (from 1) and, where limitOK, ?limit= (1 to
// MaxLimit); absent, they are 1 and limit.
func parsePaging(q url.Values, limit int, limitOK bool) (paging, error) {
	p := paging{Page: 1, Limit: limit}
	if v := strings.TrimSpace(q.Get("page")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, errors.New("page must be a whole number from 1")
		}
		p.Page = n
	}
	if v := strings.TrimSpace(q.Get("limit")); v != "" && limitOK {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return p, fmt.Errorf("limit must be a whole number from 1 to %d", MaxLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// slice returns the references of p's page, and sets p.Pages.
func (p *paging) slice(refs []Reference) []Reference {
	p.Pages = max(1, (len(refs)+p.Limit-1)/p.Limit)
	// A page past the last is empty; capped first, so a huge page number
	// does not overflow.
	start := min(p.Page, p.Pages+1) - 1
	lo := min(start*p.Limit, len(refs))
	return refs[lo:min(lo+p.Limit, len(refs))]
}

// shownTrackers are the trackers a reference lists, and how many more
// there are.
func shownTrackers(ts []Tracker) ([]Tracker, int) {
	ts = sortTrackers(ts)
	if len(ts) <= MaxTrackersShown {
		return ts, 0
	}
	return ts[:MaxTrackersShown], len(ts) - MaxTrackersShown
}

type stateError struct{ value string }

func (e *stateError) Error() string {
	return "unknown state " + strconv.Quote(e.value) + "; use one of: " + strings.Join(stateKeys(), ", ")
}

func (f filters) match(r Reference) bool {
	if f.State != "" && stateKey(r) != f.State {
		return false
	}
	if f.Project != "" && projectKey(r) != f.Project {
		return false
	}
	switch m := r.Modules(); f.Module {
	case "":
		return true
	case filterNoModule:
		return len(m) == 0
	default:
		return slices.Contains(m, f.Module)
	}
}

// filter returns the matching references in display order.
func (f filters) filter(refs []Reference) []Reference {
	var out []Reference
	for _, r := range sortRefs(refs) {
		if f.match(r) {
			out = append(out, r)
		}
	}
	return out
}

// setCommon sets the headers of every answer: the data changes with each
// poll, and the type is never to be guessed.
func setCommon(h http.Header) {
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
}

// allowRead answers 405 to anything but GET and HEAD.
func allowRead(w http.ResponseWriter, r *http.Request, fail func(int, string)) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	fail(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use GET")
	return false
}

const unavailable = "upstream references are unavailable right now; try again in a minute"

// API serves GET /api/upstream: the references matching the query
// parameters module, state and project, as JSON, at most limit (default
// DefaultLimit, at most MaxLimit) from page (default 1); count is how
// many match in all, pages how many pages they fill. Each lists at most
// MaxTrackersShown trackers, and trackers_more counts the rest. A Source
// error is a 503; the caller's Source logs it.
func API(src Source, o PageOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setCommon(w.Header())
		fail := func(code int, msg string) {
			body := map[string]any{"error": msg}
			if code == http.StatusBadRequest {
				body["valid_states"] = stateKeys()
			}
			writeJSON(w, code, body)
		}
		if !allowRead(w, r, fail) {
			return
		}
		f, err := parseFilters(r.URL.Query())
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		p, err := parsePaging(r.URL.Query(), DefaultLimit, true)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		refs, err := src.References(r.Context())
		if err != nil {
			fail(http.StatusServiceUnavailable, unavailable)
			return
		}
		now := o.now()
		matching := f.filter(refs)
		page := p.slice(matching)
		out := make([]apiRef, 0, len(page))
		for _, ref := range page {
			// Modules from every tracker, before the list is cut.
			a := apiRef{Reference: ref, Modules: ref.Modules(), Stale: Stale(ref, now, o.StaleAfter)}
			a.Trackers, a.TrackersMore = shownTrackers(ref.Trackers)
			if a.Trackers == nil {
				a.Trackers = []Tracker{}
			}
			out = append(out, a)
		}
		writeJSON(w, http.StatusOK, apiAnswer{References: out, Count: len(matching), paging: p, Filters: f})
	})
}

type apiAnswer struct {
	References []apiRef `json:"references"`
	Count      int      `json:"count"`
	paging
	Filters filters `json:"filters"`
}

// apiRef is a Reference with what the page derives from it.
type apiRef struct {
	Reference
	TrackersMore int      `json:"trackers_more,omitempty"`
	Modules      []string `json:"modules"`
	Stale        bool     `json:"stale"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain data goes in; a failure is a bug in this package.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// Page serves GET /upstream: the references as an HTML table with a filter
// form that works without JavaScript. The page loads nothing else and runs
// no script, which its Content-Security-Policy enforces.
func Page(src Source, o PageOptions) http.Handler {
	title := cmp.Or(o.Title, "Upstream work")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		setCommon(h)
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		fail := func(code int, msg string) {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(code)
			w.Write([]byte(msg + "\n"))
		}
		if !allowRead(w, r, fail) {
			return
		}
		refs, err := src.References(r.Context())
		if err != nil {
			fail(http.StatusServiceUnavailable, unavailable)
			return
		}
		code := http.StatusOK
		f, err := parseFilters(r.URL.Query())
		data := pageData{Title: title, Total: len(refs)}
		if err != nil {
			// The form stays usable, with the wrong state dropped.
			code, data.Error, f.State = http.StatusBadRequest, err.Error(), ""
		}
		p, err := parsePaging(r.URL.Query(), cmp.Or(o.PageSize, DefaultPageSize), false)
		if err != nil {
			code, data.Error = http.StatusBadRequest, err.Error()
		}
		data.options(refs, f)
		now := o.now()
		matching := f.filter(refs)
		data.Matching = len(matching)
		for _, ref := range p.slice(matching) {
			data.Rows = append(data.Rows, newRow(ref, Stale(ref, now, o.StaleAfter)))
		}
		data.pager(p, f, len(matching))
		var b bytes.Buffer
		if err := pageTemplate.Execute(&b, data); err != nil {
			fail(http.StatusInternalServerError, "internal error")
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		w.Write(b.Bytes())
	})
}

type pageData struct {
	Title                     string
	Error                     string
	Modules, States, Projects []option
	// MoreModules, MoreProjects are those the form leaves out.
	MoreModules, MoreProjects int
	Rows                      []row
	Total, Matching           int
	// First and Last number the rows shown, from 1; More counts the
	// matching references after them. Prev and Next link to the pages
	// around, "" when there is none.
	First, Last, More int
	Prev, Next        string
}

// pager says which rows of how many the page shows, and links the pages
// around with the same filters.
func (d *pageData) pager(p paging, f filters, matching int) {
	if len(d.Rows) > 0 {
		d.First = (p.Page-1)*p.Limit + 1
		d.Last = d.First + len(d.Rows) - 1
	}
	d.More = max(0, matching-max(d.Last, (p.Page-1)*p.Limit))
	link := func(page int) string {
		q := url.Values{}
		for k, v := range map[string]string{"module": f.Module, "state": f.State, "project": f.Project} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if page > 1 {
			q.Set("page", strconv.Itoa(page))
		}
		return "?" + q.Encode()
	}
	if p.Page > 1 {
		d.Prev = link(min(p.Page-1, p.Pages))
	}
	if d.More > 0 {
		d.Next = link(p.Page + 1)
	}
}

type option struct {
	Value, Label string
	Selected     bool
}

// options builds the form's choices from the data, keeping the current
// selection even when no reference has it any more.
func (d *pageData) options(refs []Reference, f filters) {
	var mods, projects []string
	states := map[string]bool{}
	noMod := false
	for _, r := range refs {
		m := r.Modules()
		noMod = noMod || len(m) == 0
		mods = append(mods, m...)
		projects = append(projects, projectKey(r))
		states[stateKey(r)] = true
	}
	build := func(values []string, current, all string, lbl func(string) string) []option {
		if current != "" && !slices.Contains(values, current) {
			values = append(values, current)
		}
		opts := []option{{Value: filterAll, Label: all, Selected: current == ""}}
		for _, v := range values {
			opts = append(opts, option{Value: v, Label: lbl(v), Selected: v == current})
		}
		return opts
	}
	same := func(s string) string { return s }
	mods, d.MoreModules = mostCommon(mods)
	if noMod {
		mods = append(mods, filterNoModule)
	}
	d.Modules = build(mods, f.Module, "all modules", func(v string) string {
		if v == filterNoModule {
			return noModule
		}
		return v
	})
	var sk []string
	for _, k := range stateKeys() {
		if states[k] {
			sk = append(sk, k)
		}
	}
	d.States = build(sk, f.State, "all states", stateLabel)
	projects, d.MoreProjects = mostCommon(projects)
	d.Projects = build(projects, f.Project, "all projects", same)
}

// mostCommon returns the distinct values, at most maxOptions of them (the
// most frequent), sorted, and how many it left out.
func mostCommon(values []string) ([]string, int) {
	n := map[string]int{}
	for _, v := range values {
		n[v]++
	}
	distinct := slices.Collect(maps.Keys(n))
	slices.SortFunc(distinct, func(a, b string) int { return cmp.Or(n[b]-n[a], strings.Compare(a, b)) })
	left := max(0, len(distinct)-maxOptions)
	distinct = distinct[:len(distinct)-left]
	slices.Sort(distinct)
	return distinct, left
}

// stateLabel is a state filter value for people.
func stateLabel(k string) string {
	switch k {
	case stateUntracked:
		return "not tracked"
	case stateUnknown:
		return "not checked yet"
	}
	return provider.State(k).Text()
}

type row struct {
	State, StateText, Raw, CheckError string
	URL, Label, Title                 string
	LastActivity, LastChecked         string
	Stale                             bool
	Trackers                          []trackerCell
	MoreTrackers                      int
	Modules                           string
}

type trackerCell struct {
	Label, URL, Title string
	Open              bool
}

func newRow(r Reference, stale bool) row {
	checked := "–"
	if !r.LastChecked.IsZero() {
		checked = r.LastChecked.UTC().Format("2006-01-02 15:04 UTC")
	}
	w := row{
		State: stateKey(r), StateText: stateText(r), Raw: r.RawState, CheckError: r.CheckError,
		URL: r.URL, Label: plainLabel(r), Title: r.Title,
		LastActivity: date(r.LastActivity), LastChecked: checked, Stale: stale,
		Modules: strings.Join(r.Modules(), ", "),
	}
	shown, more := shownTrackers(r.Trackers)
	w.MoreTrackers = more
	for _, t := range shown {
		w.Trackers = append(w.Trackers, trackerCell{
			Label: t.Repo + "#" + strconv.Itoa(t.Number), URL: t.URL, Title: t.Title, Open: t.Open,
		})
	}
	return w
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1f2328}
form{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin:1rem 0}
label{display:flex;flex-direction:column;font-weight:600;gap:.2rem}
select,button{font:inherit;padding:.25rem .4rem}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.error{color:#b42318;font-weight:600}
.state{white-space:nowrap;font-weight:600}
.date{white-space:nowrap}
.state-merged .state,.state-released .state{color:#1a7f37}
.state-in_review .state,.state-open .state{color:#0969da}
.state-draft .state,.state-unknown .state,.state-untracked .state{color:#59636e}
.state-abandoned .state,.state-unavailable .state{color:#b42318}
tr.stale{background:#fff8c5}
.closed{color:#59636e;text-decoration:line-through}
.note{color:#59636e;font-size:.9em}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<form method="get">
<label>Module <select name="module">{{range .Modules}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select></label>
<label>State <select name="state">{{range .States}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select></label>
<label>Project <select name="project">{{range .Projects}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select></label>
<button type="submit">Show</button>
</form>
{{if or .MoreModules .MoreProjects}}<p class="note">The form offers the most common modules and projects; {{.MoreModules}} more modules and {{.MoreProjects}} more projects can be named in the address (?module=…, ?project=…).</p>
{{end}}{{with .Error}}<p class="error">{{.}}</p>{{end}}
<p id="count">{{.Matching}} of {{.Total}} references</p>
{{if or .Prev .Next}}<p id="more">{{if .Rows}}Showing {{.First}}–{{.Last}}{{else}}Nothing on this page{{end}}{{if .More}}; {{.More}} more: narrow the filter, or see the <a href="{{.Next}}">next page</a>{{end}}{{with .Prev}}{{if $.More}}, or{{else}};{{end}} the <a href="{{.}}">previous page</a>{{end}}.</p>
{{end}}
<table>
<thead><tr><th>Reference</th><th>Title</th><th>State</th><th>Raw state</th><th>Last activity</th><th>Last checked</th><th>Tracked in</th><th>Modules</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="state-{{.State}}{{if .Stale}} stale{{end}}">
<td><a href="{{.URL}}">{{.Label}}</a></td>
<td>{{.Title}}</td>
<td class="state">{{.StateText}}{{if .Stale}} (stale){{end}}</td>
<td>{{.Raw}}{{with .CheckError}} <span class="note">could not check: {{.}}</span>{{end}}</td>
<td class="date">{{.LastActivity}}</td>
<td class="date">{{.LastChecked}}</td>
<td>{{range $i, $t := .Trackers}}{{if $i}}, {{end}}<a href="{{$t.URL}}" title="{{$t.Title}}"{{if not $t.Open}} class="closed"{{end}}>{{$t.Label}}</a>{{end}}{{with .MoreTrackers}} and {{.}} more{{end}}</td>
<td class="modules">{{.Modules}}</td>
</tr>
{{end}}</tbody>
</table>
</body>
</html>
`))
