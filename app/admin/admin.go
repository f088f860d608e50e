// Package admin serves the operators' view of failed jobs at /admin/jobs,
// with a button to run each again. It is a small server-rendered page
// rather than River's UI: that would need a module contribot does not
// carry, and two pages (a list and a retry) are all an operator needs when
// a delivery failed.
//
// The view is off unless a token is configured. Scripts send it as
// "Authorization: Bearer TOKEN"; browsers sign in once with a form that
// sets a session cookie: a random session ID signed with the token and
// recorded in the database. The token itself is never stored in the
// browser, changing it signs everyone out, and signing out deletes the
// session's row, so a copy of the cookie stops working on every replica.
package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

// JobStore is what the view needs of the queue; *queue.Queue has it.
type JobStore interface {
	FailedJobs(ctx context.Context, limit int) ([]queue.FailedJob, error)
	RetryJob(ctx context.Context, id int64) error
}

// Options configures Handler.
type Options struct {
	// Token guards every page; empty disables the view (every path 404s),
	// so a deployment without one exposes nothing.
	Token string
	// DB holds the live browser sessions (the tables of Schema), shared by
	// every replica. Without it browsers cannot sign in; bearer tokens
	// still work.
	DB     *sql.DB
	Logger *slog.Logger
}

const (
	sessionCookie = "contribot_admin"
	flashCookie   = "contribot_admin_flash"
	cookiePath    = "/admin"
	// A stolen cookie is worth at most a working day; signing in again is
	// one paste of the token.
	sessionLifetime = 12 * time.Hour
	defaultLimit    = 200
	maxLimit        = 1000
	maxForm         = 4 << 10
)

// constantTimeCompare is subtle.ConstantTimeCompare, a variable so the
// tests can prove every secret goes through it.
var constantTimeCompare = subtle.ConstantTimeCompare

// Handler serves /admin/jobs (HTML), /admin/jobs.json, POST
// /admin/jobs/{id}/retry, and /admin/login and /admin/logout. Mount it
// at "/admin/".
func Handler(store JobStore, o Options) http.Handler {
	return newHandler(store, o, time.Now)
}

// newHandler is Handler with a clock, for tests that let sessions expire.
func newHandler(store JobStore, o Options, now func() time.Time) http.Handler {
	if o.Token == "" {
		return http.NotFoundHandler()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &handler{store: store, token: []byte(o.Token), sessions: sessions{o.DB}, now: now, log: o.Logger.With("component", "admin")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/jobs", h.page)
	mux.HandleFunc("GET /admin/jobs.json", h.jobsJSON)
	mux.HandleFunc("POST /admin/jobs/{id}/retry", h.retry)
	mux.HandleFunc("GET /admin/login", h.loginForm)
	mux.HandleFunc("POST /admin/login", h.login)
	mux.HandleFunc("POST /admin/logout", h.logout)
	mux.HandleFunc("GET /admin/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/jobs", http.StatusSeeOther)
	})
	return secure(mux)
}

// secure sets the headers every answer carries: nothing cached (the page
// shows job arguments and errors), no framing (the retry button must not
// be clickjacked), no scripts or outside resources at all.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

type handler struct {
	store    JobStore
	token    []byte
	sessions sessions
	now      func() time.Time
	log      *slog.Logger
}

// How a request proved it knows the token.
type auth int

const (
	authNone auth = iota
	authBearer
	authCookie
)

// equal compares secrets in constant time; hashing first hides their
// lengths too, which ConstantTimeCompare alone would leak.
func equal(a, b []byte) bool {
	ha, hb := sha256.Sum256(a), sha256.Sum256(b)
	return constantTimeCompare(ha[:], hb[:]) == 1
}

// mac signs msg with the token, so sessions, CSRF tokens and flash
// messages are worthless to anyone who does not know it.
func (h *handler) mac(parts ...string) string {
	m := hmac.New(sha256.New, h.token)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session is a browser's sign-in: value is the whole cookie, which the
// CSRF tokens are bound to; id names its row in the database.
type session struct{ value, id string }

// sessionValue is the cookie: "EXPIRY.ID.SIGNATURE", signed with the token
// so that only a token holder can make one.
func (h *handler) sessionValue(exp, id string) string {
	return exp + "." + id + "." + h.mac("session", exp, id)
}

// authenticate returns how r is authenticated and, for a cookie, its
// session. A cookie counts only while its session's row exists; when the
// database cannot say, the request is not signed in.
func (h *handler) authenticate(r *http.Request) (auth, session) {
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if equal([]byte(bearer), h.token) {
			return authBearer, session{}
		}
		return authNone, session{}
	}
	s, ok := h.signedCookie(r)
	if !ok {
		return authNone, session{}
	}
	id, now := s.id, h.now()
	live, err := h.sessions.live(r.Context(), id, now)
	if err != nil {
		h.log.Error("admin session check failed; the request is treated as not signed in",
			slog.String("error", err.Error()), slog.String("remote", r.RemoteAddr))
		return authNone, session{}
	}
	if !live {
		return authNone, session{}
	}
	return authCookie, s
}

// signedCookie is the request's session cookie when this deployment signed
// it and it has not expired; it does not ask the database.
func (h *handler) signedCookie(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	exp, rest, ok1 := strings.Cut(c.Value, ".")
	id, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return session{}, false
	}
	until, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || h.now().Unix() > until {
		return session{}, false
	}
	if !equal([]byte(sig), []byte(h.mac("session", exp, id))) {
		return session{}, false
	}
	return session{value: c.Value, id: id}, true
}

// csrf is the token a form of this session must send back for action.
// It is bound to the session, so one leaked from an old page dies with it.
func (h *handler) csrf(s session, action ...string) string {
	return h.mac(append([]string{"csrf", s.value}, action...)...)
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (h *handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteStrictMode,
	})
}

// row is one failed job as the page shows it.
type row struct {
	queue.FailedJob
	Error, FullError string
	When             string
	CSRF             string
}

type pageData struct {
	Jobs    []row
	Flash   string
	Limit   int
	Session bool
	Logout  string
	Error   string
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	how, sess := h.authenticate(r)
	if how == authNone {
		h.unauthorized(w, r, "")
		return
	}
	limit := parseLimit(r)
	jobs, err := h.store.FailedJobs(r.Context(), limit)
	status := http.StatusOK
	data := pageData{Limit: limit, Session: how == authCookie, Flash: h.takeFlash(w, r)}
	if err != nil {
		h.log.Error("could not list failed jobs", slog.String("error", err.Error()))
		data.Error = "Could not list the failed jobs; the logs say why."
		status = http.StatusInternalServerError
	}
	if how == authCookie {
		data.Logout = h.csrf(sess, "logout")
	}
	for _, j := range jobs {
		data.Jobs = append(data.Jobs, row{
			FailedJob: j,
			Error:     truncate(j.LastError, 200),
			FullError: truncate(j.LastError, 2000),
			When:      j.At.UTC().Format("2006-01-02 15:04:05 UTC"),
			CSRF:      h.csrf(sess, "retry", strconv.FormatInt(j.ID, 10)),
		})
	}
	h.render(w, status, "jobs", data)
}

func parseLimit(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

func (h *handler) jobsJSON(w http.ResponseWriter, r *http.Request) {
	if how, _ := h.authenticate(r); how == authNone {
		w.Header().Set("WWW-Authenticate", `Bearer realm="contribot admin"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "send Authorization: Bearer <ADMIN_TOKEN>"})
		return
	}
	jobs, err := h.store.FailedJobs(r.Context(), parseLimit(r))
	if err != nil {
		h.log.Error("could not list failed jobs", slog.String("error", err.Error()))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not list the failed jobs; the logs say why"})
		return
	}
	if jobs == nil {
		jobs = []queue.FailedJob{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs})
}

func (h *handler) retry(w http.ResponseWriter, r *http.Request) {
	how, sess := h.authenticate(r)
	if how == authNone {
		h.unauthorized(w, r, "")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "job IDs are numbers", http.StatusBadRequest)
		return
	}
	// A browser attaches the cookie to any form that posts here; only a
	// page of this session knows the CSRF token. Browsers never add a
	// bearer token on their own, so scripts need none.
	if how == authCookie && !h.validForm(w, r, sess, "retry", r.PathValue("id")) {
		http.Error(w, "this form is stale or did not come from the admin page; reload it and try again", http.StatusForbidden)
		return
	}
	err = h.store.RetryJob(r.Context(), id)
	status, msg := http.StatusOK, fmt.Sprintf("Job %d will run again shortly.", id)
	switch {
	case err == nil:
		h.log.Info("admin retried a failed job", slog.Int64("job", id), slog.String("remote", r.RemoteAddr))
	case errors.Is(err, queue.ErrJobNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, queue.ErrNotRetryable), errors.Is(err, queue.ErrPayloadExpired), errors.Is(err, queue.ErrDuplicateWaiting):
		status, msg = http.StatusConflict, err.Error()
	default:
		status, msg = http.StatusInternalServerError, fmt.Sprintf("Could not retry job %d; the logs say why.", id)
	}
	if err != nil {
		h.log.Warn("admin could not retry a job", slog.Int64("job", id), slog.String("error", err.Error()))
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		body := map[string]any{"id": id, "retried": err == nil}
		if err != nil {
			body["error"] = msg
		}
		writeJSON(w, status, body)
		return
	}
	h.setFlash(w, r, msg)
	http.Redirect(w, r, "/admin/jobs", http.StatusSeeOther)
}

// validForm checks a cookie session's form: posted from this site and
// carrying the CSRF token for action.
func (h *handler) validForm(w http.ResponseWriter, r *http.Request, s session, action ...string) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	got := r.PostFormValue("csrf")
	want := h.csrf(s, action...)
	return got != "" && equal([]byte(got), []byte(want))
}

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if how, _ := h.authenticate(r); how != authNone {
		http.Redirect(w, r, "/admin/jobs", http.StatusSeeOther)
		return
	}
	h.render(w, http.StatusOK, "login", pageData{})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if !equal([]byte(r.PostFormValue("token")), h.token) {
		h.log.Warn("admin sign-in refused: wrong token", slog.String("remote", r.RemoteAddr))
		h.unauthorized(w, r, "Wrong token.")
		return
	}
	now := h.now()
	until := now.Add(sessionLifetime)
	id, err := newSessionID()
	if err == nil {
		err = h.sessions.create(r.Context(), id, until, now)
	}
	if err != nil {
		h.log.Error("admin sign-in failed: could not start a session", slog.String("error", err.Error()), slog.String("remote", r.RemoteAddr))
		h.render(w, http.StatusInternalServerError, "login", pageData{Error: "Could not start a session; the logs say why. Scripts can send Authorization: Bearer <ADMIN_TOKEN> meanwhile."})
		return
	}
	h.setCookie(w, r, sessionCookie, h.sessionValue(strconv.FormatInt(until.Unix(), 10), id), int(sessionLifetime/time.Second))
	h.log.Info("admin signed in", slog.String("remote", r.RemoteAddr))
	http.Redirect(w, r, "/admin/jobs", http.StatusSeeOther)
}

// logout ends the session on the server, not only in this browser: a copy
// of the cookie (a shared machine, a proxy log) must not outlive it.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.signedCookie(r); ok {
		if !h.validForm(w, r, s, "logout") {
			http.Error(w, "this form is stale or did not come from the admin page", http.StatusForbidden)
			return
		}
		if err := h.sessions.revoke(r.Context(), s.id); err != nil {
			// The cookie stays, so that signing out again can finish the job.
			h.log.Error("admin sign-out failed: the session is still valid", slog.String("error", err.Error()), slog.String("remote", r.RemoteAddr))
			http.Error(w, "Could not end the session on the server, so you are still signed in; the logs say why. Sign out again.", http.StatusInternalServerError)
			return
		}
		h.log.Info("admin signed out", slog.String("remote", r.RemoteAddr))
	}
	// Nothing to clear unless this browser sent the cookie: a cross-site
	// POST (SameSite=Strict sends none) must not drop the admin's session
	// from the browser while its row lives on.
	if _, err := r.Cookie(sessionCookie); err == nil {
		h.setCookie(w, r, sessionCookie, "", -1)
	}
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// unauthorized answers 401 with the sign-in form, so a browser that
// follows a link to the page can sign in right there.
func (h *handler) unauthorized(w http.ResponseWriter, _ *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="contribot admin"`)
	h.render(w, http.StatusUnauthorized, "login", pageData{Error: msg})
}

// The flash message survives the redirect after a retry in a short-lived
// cookie, signed so that nobody else can put words on the page.
func (h *handler) setFlash(w http.ResponseWriter, r *http.Request, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(msg))
	h.setCookie(w, r, flashCookie, v+"."+h.mac("flash", v), 60)
}

func (h *handler) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	h.setCookie(w, r, flashCookie, "", -1)
	v, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !equal([]byte(sig), []byte(h.mac("flash", v))) {
		return ""
	}
	msg, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return ""
	}
	return string(msg)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func (h *handler) render(w http.ResponseWriter, status int, name string, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		h.log.Error("could not render the admin page", slog.String("error", err.Error()))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>contribot · failed jobs</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
td.err{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-word;max-width:40em}
.flash{background:#eef6ee;border:1px solid #9c9;padding:.5em;margin-bottom:1em}
.error{background:#fbeeee;border:1px solid #c99;padding:.5em;margin-bottom:1em}
.cancelled,.discarded{color:#a00}.retryable{color:#a60}
form.inline{display:inline}
</style></head><body>{{end}}

{{define "login"}}{{template "head"}}
<h1>contribot admin</h1>
{{with .Error}}<p class="error">{{.}}</p>{{end}}
<form method="post" action="/admin/login">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button>
</form>
</body></html>{{end}}

{{define "jobs"}}{{template "head"}}
<h1>Failed jobs</h1>
{{if .Session}}<form class="inline" method="post" action="/admin/logout"><input type="hidden" name="csrf" value="{{.Logout}}"><button type="submit">Sign out</button></form>{{end}}
<p>Cancelled and discarded jobs will not run again unless retried here; retryable ones run again on River's schedule. Newest first, at most {{.Limit}}. <a href="/admin/jobs.json">JSON</a></p>
{{with .Flash}}<p class="flash" role="status">{{.}}</p>{{end}}
{{with .Error}}<p class="error">{{.}}</p>{{end}}
{{if .Jobs}}
<table>
<thead><tr><th>ID</th><th>Kind</th><th>Work</th><th>Queue</th><th>State</th><th>Attempts</th><th>Last error</th><th>When</th><th></th></tr></thead>
<tbody>
{{range .Jobs}}<tr>
<td>{{.ID}}</td><td>{{.Kind}}</td><td>{{.Args}}</td><td>{{.Queue}}</td>
<td class="{{.State}}">{{.State}}</td><td>{{.Attempt}}/{{.MaxAttempts}}</td>
<td class="err" title="{{.FullError}}">{{.Error}}</td><td>{{.When}}</td>
<td><form method="post" action="/admin/jobs/{{.ID}}/retry"><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">Retry</button></form></td>
</tr>
{{end}}</tbody></table>
{{else}}<p>No failed jobs.</p>{{end}}
</body></html>{{end}}
`))
