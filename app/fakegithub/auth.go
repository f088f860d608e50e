package fakegithub

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type token struct {
	installation int64
	expires      time.Time
	revoked      bool
	perms        map[string]string
}

// SetAppPublicKey makes /app/* endpoints demand a JWT signed with the
// matching private key (RS256), checked the way GitHub does: signature,
// "exp" in the future but at most 10 minutes ahead, "iat" not in the future,
// and "iss" equal to the App id (see SetAppID). Failures answer 401 with
// GitHub's messages. With no key set, any request to /app/* is accepted.
func (s *Server) SetAppPublicKey(pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appPub = pub
}

// SetAppID sets the App's id (default 1) and slug (default "contribot"): the
// JWT issuer the fake expects, and the App shown on check runs and as the
// "<slug>[bot]" author of comments.
func (s *Server) SetAppID(id int64, slug string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appID, s.appSlug = id, slug
}

// RevokeTokens makes every installation token issued so far answer 401 "Bad
// credentials", as after a key rotation or an uninstall; tokens issued later
// work.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// IssueToken mints an installation token without an HTTP call, for tests of
// code that is handed a token rather than creating one. It is not recorded.
func (s *Server) IssueToken(installation int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _ := s.issueToken(installation, nil, s.now())
	return tok
}

// SetInstallationPermissions replaces the permissions an installation was
// granted (default: checks, issues and pull_requests write; contents,
// members and metadata read). A token can be narrowed further when it is
// created; requests beyond a token's permissions answer 403 "Resource not
// accessible by integration", as on GitHub.
func (s *Server) SetInstallationPermissions(installation int64, perms map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instPerms[installation] = maps.Clone(perms)
}

func defaultPermissions() map[string]string {
	return map[string]string{
		"checks":        "write",
		"contents":      "read",
		"issues":        "write",
		"members":       "read",
		"metadata":      "read",
		"pull_requests": "write",
	}
}

func (s *Server) installationPermissions(id int64) map[string]string {
	if p, ok := s.instPerms[id]; ok {
		return maps.Clone(p)
	}
	return defaultPermissions()
}

func (s *Server) issueToken(installation int64, perms map[string]string, now time.Time) (string, *token) {
	s.tokenSeq++
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	// 40 characters like GitHub's ghs_ tokens; the counter makes them unique
	// per server, the random part across servers in one test binary.
	tok := fmt.Sprintf("ghs_fake%08d%s", s.tokenSeq, hex.EncodeToString(rnd[:]))
	if perms == nil {
		perms = s.installationPermissions(installation)
	}
	// expires_at has whole seconds on GitHub; truncating here keeps the
	// fake's own expiry check consistent with what the client was told.
	t := &token{installation: installation, expires: now.Add(time.Hour).Truncate(time.Second), perms: perms}
	s.tokens[tok] = t
	return tok, t
}

// credentials returns the token from "Authorization: token X" or "Bearer X".
func credentials(r *http.Request) string {
	a := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(a, " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "token", "bearer":
		return strings.TrimSpace(cred)
	}
	return ""
}

func (s *Server) lookupToken(r *http.Request, now time.Time) *token {
	t := s.tokens[credentials(r)]
	if t == nil || t.revoked || !now.Before(t.expires) {
		return nil
	}
	return t
}

// checkAppAuth returns GitHub's 401 message, or "" when the request may pass.
func (s *Server) checkAppAuth(r *http.Request, now time.Time) string {
	if s.appPub == nil {
		return ""
	}
	a := r.Header.Get("Authorization")
	scheme, jwt, _ := strings.Cut(a, " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "A JSON web token could not be decoded"
	}
	return verifyJWT(strings.TrimSpace(jwt), s.appPub, s.appID, now)
}

// verifyJWT checks an App JWT as GitHub does and returns GitHub's message for
// the first problem found. Written out rather than taken from a JWT library
// so that the fake does not share the code under test's assumptions.
func verifyJWT(jwt string, pub *rsa.PublicKey, appID int64, now time.Time) string {
	const undecodable = "A JSON web token could not be decoded"
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return undecodable
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "RS256" {
		return undecodable
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return undecodable
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return undecodable
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return undecodable
	}
	var claims struct {
		Iat json.Number `json:"iat"`
		Exp json.Number `json:"exp"`
		Iss any         `json:"iss"`
	}
	dec := json.NewDecoder(strings.NewReader(string(cb)))
	dec.UseNumber()
	if dec.Decode(&claims) != nil {
		return undecodable
	}
	// A key is looked up by issuer; with a foreign issuer the signature cannot
	// verify, which GitHub reports as an undecodable token.
	if iss := fmt.Sprint(claims.Iss); iss != strconv.FormatInt(appID, 10) {
		return undecodable
	}
	exp, err := claims.Exp.Int64()
	if err != nil || exp <= now.Unix() {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	if exp > now.Add(10*time.Minute).Unix() {
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	iat, err := claims.Iat.Int64()
	if err != nil || iat > now.Unix() {
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	}
	return ""
}

// checkPermission answers 403 when the token lacks every permission the
// route accepts, with GitHub's header naming what would have been enough.
func (s *Server) checkPermission(c *call) *response {
	accepted := c.route.perms
	if len(accepted) == 0 {
		return nil
	}
	for _, need := range accepted {
		name, level, _ := strings.Cut(need, "=")
		if permLevel(c.tok.perms[name]) >= permLevel(level) {
			return nil
		}
	}
	resp := errorResponse(http.StatusForbidden, "Resource not accessible by integration", c.route.doc)
	resp.header = http.Header{"X-Accepted-Github-Permissions": {strings.Join(accepted, "; ")}}
	return resp
}

func permLevel(p string) int {
	switch p {
	case "read":
		return 1
	case "write":
		return 2
	case "admin":
		return 3
	}
	return 0
}

// Rate-limit buckets: one per installation, like GitHub's quota, plus one for
// App (JWT) calls and one for unauthenticated calls.
const (
	bucketApp             int64 = 0
	bucketUnauthenticated int64 = -1
)

type rateBucket struct {
	limit    int
	used     int
	reset    time.Time
	resource string // X-RateLimit-Resource: "core" or "search"
}

func (b *rateBucket) remaining() int { return max(0, b.limit-b.used) }

func (s *Server) bucket(key int64, now time.Time) *rateBucket {
	b := s.rates[key]
	if b == nil || !now.Before(b.reset) {
		limit := s.rateLimit
		if key == bucketUnauthenticated {
			limit = 60
		}
		b = &rateBucket{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second), resource: resourceCore}
		s.rates[key] = b
	}
	return b
}

// Rate-limit resources (X-RateLimit-Resource): search has its own quota,
// apart from the core one.
const (
	resourceCore   = "core"
	resourceSearch = "search"
)

// GitHub's search quota: 30 requests a minute with a token, 10 without.
const (
	searchRateLimit                = 30
	searchRateLimitUnauthenticated = 10
	searchRateWindow               = time.Minute
)

// searchBucket is key's search quota, kept apart from its core quota as on
// GitHub: a search costs no core quota, and an exhausted core quota does not
// stop searches (nor the other way round).
func (s *Server) searchBucket(key int64, now time.Time) *rateBucket {
	b := s.searchRates[key]
	if b == nil || !now.Before(b.reset) {
		limit := searchRateLimit
		if key == bucketUnauthenticated {
			limit = searchRateLimitUnauthenticated
		}
		b = &rateBucket{limit: limit, reset: now.Add(searchRateWindow).Truncate(time.Second), resource: resourceSearch}
		s.searchRates[key] = b
	}
	return b
}

func (b *rateBucket) setHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(b.remaining()))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(min(b.used, b.limit)))
	h.Set("X-RateLimit-Resource", b.resource)
}

// object is the bucket as GET /rate_limit lists it.
func (b *rateBucket) object() object {
	return object{"limit": b.limit, "used": b.used, "remaining": b.remaining(), "reset": b.reset.Unix(), "resource": b.resource}
}

// RateRemaining is the quota an installation has left in the current window.
func (s *Server) RateRemaining(installation int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bucket(installation, s.now()).remaining()
}

// SetRateRemaining sets how many requests an installation may still make in
// the current window; at 0 every further request answers GitHub's 403
// "API rate limit exceeded" until the window resets an hour after it began.
func (s *Server) SetRateRemaining(installation int64, remaining int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucket(installation, s.now())
	b.used = max(0, b.limit-remaining)
}

// SearchRemaining is the search quota an installation has left in the
// current window (GitHub's: 30 searches a minute, X-RateLimit-Resource
// "search"), apart from its core quota (RateRemaining).
func (s *Server) SearchRemaining(installation int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.searchBucket(installation, s.now()).remaining()
}

// SetSearchRemaining sets how many searches an installation may still make
// in the current window; at 0 every further GET /search/issues answers
// GitHub's 403 "API rate limit exceeded" with X-RateLimit-Resource "search"
// until the window resets a minute after it began. The core quota is not
// touched: other endpoints keep working.
func (s *Server) SetSearchRemaining(installation int64, remaining int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.searchBucket(installation, s.now())
	b.used = max(0, b.limit-remaining)
}

// SetRateLimit sets the hourly quota of installations and the App (default
// 5000) for windows that start afterwards.
func (s *Server) SetRateLimit(limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = limit
}

func (s *Server) primaryExhausted(key int64) *response {
	who := "installation ID " + strconv.FormatInt(key, 10)
	if key == bucketApp {
		who = "app ID " + strconv.FormatInt(s.appID, 10)
	}
	resp := errorResponse(http.StatusForbidden, "API rate limit exceeded for "+who+".", docPrimaryRateLimit)
	resp.free = true
	return resp
}

const (
	docPrimaryRateLimit   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"
	docSecondaryRateLimit = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// SecondaryRateLimit is GitHub's answer to too many requests or too much
// content created too fast: 403 with Retry-After (seconds) and a body whose
// documentation_url go-github recognises as an AbuseRateLimitError. With
// retryAfter <= 0 the header is left out, as GitHub sometimes does.
func SecondaryRateLimit(retryAfter int) *Fault {
	h := http.Header{}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	return &Fault{
		Status: http.StatusForbidden,
		Header: h,
		Body: mustJSON(errorBody{
			Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID in the X-GitHub-Request-Id header.",
			DocumentationURL: docSecondaryRateLimit,
		}),
	}
}

// PrimaryRateLimit is GitHub's answer once the hourly quota is spent: 403
// with X-RateLimit-Remaining 0 and the reset time, which go-github turns
// into a RateLimitError (and then refuses further calls until reset without
// asking the server). For a real exhausted quota, see SetRateRemaining.
func PrimaryRateLimit(reset time.Time) *Fault {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	return &Fault{
		Status: http.StatusForbidden,
		Header: h,
		// GitHub names the installation; a Fault is built before the request
		// is known, so this one cannot.
		Body: mustJSON(errorBody{Message: "API rate limit exceeded for installation.", DocumentationURL: docPrimaryRateLimit}),
	}
}

// BadGateway is the 502 GitHub's front end answers when a backend fails.
func BadGateway() *Fault {
	return &Fault{Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`}
}

// GatewayTimeout is GitHub's 504 for a request that took too long.
func GatewayTimeout() *Fault {
	return &Fault{Status: http.StatusGatewayTimeout, Body: mustJSON(errorBody{
		Message:          "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.",
		DocumentationURL: docREST,
	})}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
