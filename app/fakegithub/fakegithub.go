// Package fakegithub is a fake of the GitHub REST API for tests, served over
// real HTTP (httptest) so that the code under test runs its whole stack:
// go-github, the transports in app/githubapp (token cache, retry, rate limit,
// ETag cache) and the JSON decoding. Like Kubernetes Prow's fakegithub it keeps
// a small in-memory model of the repositories it is told about; unlike it, it
// answers with GitHub's JSON shapes and headers (Link, ETag, X-RateLimit-*,
// X-GitHub-Request-Id) and enforces GitHub's authentication rules, so that
// mistakes a mock would let through (a missing token refresh, a pagination
// loop that never ends, a conditional request that costs quota) fail here.
//
// Every request is recorded, including those that were refused, so a test can
// assert the exact list of API calls an event caused:
//
//	gh := fakegithub.New(t)
//	gh.SetPRCommits("o", "r", 1, commits)
//	... run the handler with GITHUB_API_URL=gh.URL() ...
//	want := []string{"GET /repos/o/r/pulls/1/commits?per_page=100", "POST /repos/o/r/check-runs"}
//	if got := gh.Calls(); !slices.Equal(got, want) { ... }
//
// Endpoints served (anything else answers 404 and is recorded):
//
//	GET    /app                                             (App JWT)
//	GET    /orgs/{org}/installation                         (App JWT, see SetOrgInstallation)
//	POST   /app/installations/{id}/access_tokens            (App JWT)
//	GET    /app/hook/deliveries                             (App JWT, cursor pagination, see AddHookDelivery)
//	POST   /app/hook/deliveries/{id}/attempts               (App JWT, see Redelivered)
//	GET    /rate_limit                                      (costs no quota)
//	GET    /repos/{o}/{r}                                   (see SetRepoPrivate, SetRepoMoved)
//	GET    /repos/{o}/{r}/pulls/{n}
//	GET    /repos/{o}/{r}/pulls/{n}/commits                 (at most 250)
//	GET    /repos/{o}/{r}/pulls/{n}/files                   (at most 3000)
//	GET    /repos/{o}/{r}/compare/{base}...{head}
//	GET    /repos/{o}/{r}/commits?sha=
//	POST   /repos/{o}/{r}/check-runs
//	GET    /repos/{o}/{r}/check-runs/{id}
//	PATCH  /repos/{o}/{r}/check-runs/{id}
//	GET    /repos/{o}/{r}/contents/{path}                   (JSON or raw media type)
//	GET    /orgs/{org}/members/{login}
//	GET    /repos/{o}/{r}/collaborators/{login}/permission
//	GET    /repos/{o}/{r}/issues                            (state, creator, labels, since, sort, direction)
//	POST   /repos/{o}/{r}/issues
//	GET    /repos/{o}/{r}/issues/{n}
//	PATCH  /repos/{o}/{r}/issues/{n}
//	GET    /repos/{o}/{r}/issues/{n}/comments
//	POST   /repos/{o}/{r}/issues/{n}/comments
//	PATCH  /repos/{o}/{r}/issues/comments/{id}
//	GET    /repos/{o}/{r}/issues/{n}/labels
//	POST   /repos/{o}/{r}/issues/{n}/labels
//	DELETE /repos/{o}/{r}/issues/{n}/labels/{name}
//	GET    /repos/{o}/{r}/labels
//	POST   /repos/{o}/{r}/labels
//	GET    /search/issues                                   (search quota, see AddSearchItem)
//
// Labels are modelled as on GitHub: a repository has labels (name, colour,
// description; names compare ignoring case) and issues carry some of them.
// Adding a name the repository lacks to an issue creates it with colour
// "ededed" and no description, so code that wants its own colours must
// create labels first. Path parameters are matched escaped, so a label named
// "area/iaas" is addressed as .../labels/area%2Fiaas, as on GitHub; Calls
// shows paths decoded.
//
// Issues and pull requests as the issues endpoints and the search see them
// live in one store (see SearchItem, AddSearchItem, SetIssue, Issue): an
// issue the App opens is found by the next search, a change a test makes is
// served by the next GET, with a new ETag.
//
// All others need an installation token (Authorization "token X" or
// "Bearer X") that the fake issued, has not revoked and has not expired, and
// whose permissions cover the endpoint. Repositories are public unless
// SetRepoPrivate; which ones an installation was granted is known only
// after SetOrgInstallation. List endpoints take per_page (default
// 30, at most 100) and page, and answer with GitHub's Link header. GETs carry
// an ETag and answer 304, free of quota, to a matching If-None-Match.
package fakegithub

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one HTTP request the server received, with the status it answered.
type Request struct {
	Method   string
	Path     string // decoded URL path, e.g. /repos/o/r/contents/.github/contribot.yml
	RawQuery string
	Header   http.Header
	Body     []byte
	// Status is the HTTP status sent back; 0 while the request is still being
	// answered, or when the client gave up during an injected Delay.
	Status int
	// Installation is the installation the request's token belongs to (for
	// token creation: the installation in the path); 0 for App (JWT) calls and
	// for requests without a valid token.
	Installation int64
}

// Call renders the request as "METHOD /path?query", the form Calls returns.
func (r Request) Call() string {
	if r.RawQuery == "" {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + "?" + r.RawQuery
}

// isTokenCreation tells Calls which requests to leave out: a token cache
// decides when to mint tokens, and tests of a feature should not depend on it.
func (r Request) isTokenCreation() bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/app/installations/") &&
		strings.HasSuffix(r.Path, "/access_tokens")
}

// Fault replaces or delays the answer to one request. See Server.Fault.
type Fault struct {
	Status int         // 0: no replacement, handle normally after Delay
	Header http.Header // added to the usual headers, replacing those of the same name
	Body   string
	Delay  time.Duration // wait before answering; ends early if the client gives up
}

// Server is the fake. All methods are safe for concurrent use, also while
// requests are being served.
type Server struct {
	srv  *httptest.Server
	base string // srv.URL + "/"

	mu       sync.Mutex
	now      func() time.Time
	requests []*Request
	seq      int // requests received since New or the last Reset
	reqIDs   int // never reset, so request ids stay unique
	fault    func(*http.Request, int) *Fault

	appPub    *rsa.PublicKey
	appID     int64
	appSlug   string
	tokens    map[string]*token
	tokenSeq  int
	instPerms map[int64]map[string]string

	rates       map[int64]*rateBucket
	searchRates map[int64]*rateBucket
	rateLimit   int

	repos     map[string]*repoState // key: lower-case "owner/repo"
	members   map[string]map[string]bool
	orgInsts  map[string]orgInstallation // key: lower-case org
	moved     map[string]string          // lower-case "owner/repo" → the "owner/repo" it was renamed or transferred to
	nextID    int64                      // ids of check runs, comments, labels: unique across repos like GitHub's
	searchSeq int                        // order in which search items were added
	hooks     hookState                  // the App webhook's delivery log
}

// New starts a fake on a loopback port; tb.Cleanup closes it.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		now:         time.Now,
		appID:       1,
		appSlug:     "contribot",
		tokens:      map[string]*token{},
		instPerms:   map[int64]map[string]string{},
		rates:       map[int64]*rateBucket{},
		searchRates: map[int64]*rateBucket{},
		rateLimit:   5000,
		repos:       map[string]*repoState{},
		members:     map[string]map[string]bool{},
		orgInsts:    map[string]orgInstallation{},
		moved:       map[string]string{},
		nextID:      1000,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.base = s.srv.URL + "/"
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the API base URL ending in "/", as GITHUB_API_URL expects and as
// go-github's Client.BaseURL requires.
func (s *Server) URL() string { return s.base }

// Client returns an HTTP client for the fake (plain, no auth).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// SetClock replaces the fake's clock (default time.Now). Token expiry, JWT
// checks, rate-limit windows and timestamps in bodies all read it, so a test
// can let a token expire without sleeping.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Requests returns a copy of the requests received since New or Reset, in
// the order they arrived.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

// Calls lists the requests as "METHOD /path?query", leaving out installation
// token creation (see AllCalls).
func (s *Server) Calls() []string {
	var out []string
	for _, r := range s.Requests() {
		if !r.isTokenCreation() {
			out = append(out, r.Call())
		}
	}
	return out
}

// AllCalls is Calls including POST /app/installations/{id}/access_tokens.
func (s *Server) AllCalls() []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Call())
	}
	return out
}

// Reset forgets the recorded requests and restarts the sequence numbers that
// Fault sees, so setup traffic does not shift a test's expectations. State
// (tokens, files, check runs, rate limits) stays.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.seq = 0
}

// Fault installs f, consulted for every request before normal handling
// (before authentication, so it also sees token creation). n is the request's
// sequence number: 1 for the first request after New or Reset. f runs on the
// server's goroutine without the server's lock held, so it may call the
// Server's methods; it must be safe for concurrent use. A nil result, or a
// Fault with Status 0, lets the request through (after the Fault's Delay).
// Fault(nil) removes it.
func (s *Server) Fault(f func(r *http.Request, n int) *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// response is what a handler produces; serveHTTP adds the common headers,
// the ETag and rate-limit bookkeeping.
type response struct {
	status int
	header http.Header
	body   []byte
	// free marks answers that cost no quota (GET /rate_limit, like GitHub).
	free bool
}

// call is one request being handled.
type call struct {
	r      *http.Request
	body   []byte
	p      map[string]string // path parameters
	q      url.Values
	inst   int64
	tok    *token
	now    time.Time
	route  *route
	header http.Header // extra response headers a handler wants, e.g. Link
	// skipPerms: a read of a public repository outside the installation,
	// which GitHub serves without the route's permissions.
	skipPerms bool
}

func (c *call) owner() string { return c.p["owner"] }
func (c *call) repo() string  { return c.p["repo"] }

const maxBody = 25 << 20 // GitHub refuses larger REST payloads too

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		body = nil
	}
	rec := &Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
	}
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.requests = append(s.requests, rec)
	faultFn := s.fault
	s.mu.Unlock()

	if faultFn != nil {
		// The fault function may read the body; give it its own copy.
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		if f := faultFn(r2, n); f != nil {
			if f.Delay > 0 {
				t := time.NewTimer(f.Delay)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			if f.Status != 0 {
				s.mu.Lock()
				h := s.commonHeaders()
				rec.Status = f.Status
				s.mu.Unlock()
				for k, v := range f.Header {
					h[http.CanonicalHeaderKey(k)] = v
				}
				writeResponse(w, &response{status: f.Status, header: h, body: []byte(f.Body)})
				return
			}
		}
	}

	s.mu.Lock()
	resp := s.handle(r, body, rec)
	rec.Status = resp.status
	s.mu.Unlock()
	writeResponse(w, resp)
}

func writeResponse(w http.ResponseWriter, resp *response) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	if resp.status == http.StatusNoContent || resp.status == http.StatusNotModified {
		w.Header().Del("Content-Type")
		w.WriteHeader(resp.status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// handle runs with s.mu held.
func (s *Server) handle(r *http.Request, body []byte, rec *Request) *response {
	c := &call{r: r, body: body, q: r.URL.Query(), now: s.now().UTC().Truncate(time.Second), header: http.Header{}}
	rt, params := matchRoute(r.Method, r.URL.EscapedPath())
	c.route, c.p = rt, params

	bucketKey := bucketUnauthenticated
	var resp *response
	switch {
	case rt != nil && rt.app:
		bucketKey = bucketApp
		if msg := s.checkAppAuth(r, c.now); msg != "" {
			bucketKey = bucketUnauthenticated
			resp = errorResponse(http.StatusUnauthorized, msg, docREST)
		}
	default:
		tok := s.lookupToken(r, c.now)
		if tok != nil {
			c.tok, c.inst = tok, tok.installation
			rec.Installation = tok.installation
			bucketKey = tok.installation
		} else if rt != nil {
			resp = errorResponse(http.StatusUnauthorized, "Bad credentials", docREST)
		}
	}

	b := s.bucket(bucketKey, c.now)
	if rt != nil && rt.resource == resourceSearch {
		b = s.searchBucket(bucketKey, c.now)
	}
	if resp == nil && bucketKey != bucketUnauthenticated && b.remaining() <= 0 {
		resp = s.primaryExhausted(bucketKey)
	}
	if resp == nil && rt != nil && c.tok != nil {
		resp = s.redirectMoved(c)
	}
	if resp == nil && rt != nil && c.tok != nil {
		resp, c.skipPerms = s.checkRepoAccess(c)
		if resp == nil && !c.skipPerms {
			resp = s.checkPermission(c)
		}
	}
	if resp == nil {
		if rt == nil {
			resp = errorResponse(http.StatusNotFound, "Not Found", docREST)
		} else {
			resp = rt.handle(s, c)
		}
	}
	if rt != nil && rt.app && c.p["installation_id"] != "" {
		rec.Installation, _ = strconv.ParseInt(c.p["installation_id"], 10, 64)
	}

	h := s.commonHeaders()
	for k, v := range c.header {
		h[k] = v
	}
	for k, v := range resp.header {
		h[k] = v
	}
	resp.header = h
	if r.Method == http.MethodGet && resp.status == http.StatusOK {
		// GitHub's ETags are weak validators over the representation; hashing
		// the body gives the same property: unchanged data, unchanged ETag.
		sum := sha256.Sum256(resp.body)
		etag := `W/"` + hex.EncodeToString(sum[:]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			resp.status, resp.body, resp.free = http.StatusNotModified, nil, true
		}
	}
	// GitHub charges every authenticated answer except 304s (and the rate
	// limit endpoint itself), errors included.
	if !resp.free && resp.status != http.StatusUnauthorized {
		b.used++
	}
	b.setHeaders(h)
	return resp
}

func etagMatches(inm, etag string) bool {
	if inm == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// commonHeaders are those GitHub sends on every REST answer.
func (s *Server) commonHeaders() http.Header {
	s.reqIDs++
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
	h.Set("Server", "github.com")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	// Same layout as GitHub's ids (e.g. "C0DE:1B2F:9A3C01:A1B2C3:65F0A1B2"); the
	// counter in the middle keeps them unique within the process.
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("%04X:%04X:%06X:%06X:%08X",
		int(rnd[0])<<8|int(rnd[1]), int(rnd[2])<<8|int(rnd[3]), s.reqIDs,
		int(rnd[4])<<16|int(rnd[5])<<8|int(rnd[6]), s.now().Unix()))
	h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "deny")
	return h
}

// GitHub's error bodies: a message and a documentation link.
const (
	docREST = "https://docs.github.com/rest"
)

type errorBody struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
}

type fieldError struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Field    string `json:"field"`
	Message  string `json:"message,omitempty"`
}

func errorResponse(status int, msg, doc string) *response {
	return jsonResponse(status, errorBody{Message: msg, DocumentationURL: doc})
}

func jsonResponse(status int, v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the fake's own values are marshalled; failing loudly beats a
		// silently wrong body.
		panic(fmt.Sprintf("fakegithub: marshal %T: %v", v, err))
	}
	return &response{status: status, body: b}
}
