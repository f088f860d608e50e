package setup

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Paths the handler serves. CallbackPath is also the manifest's
// redirect_url, below the public URL.
const (
	SetupPath    = "/setup"
	CallbackPath = "/setup/callback"
)

// Defaults for HandlerOptions.
const (
	DefaultAPIURL = "https://api.github.com/"
	DefaultWebURL = "https://github.com/"
	// DefaultStateTTL matches GitHub's limit: the whole manifest flow must
	// finish within an hour, so a state cannot usefully live longer.
	DefaultStateTTL = time.Hour
)

// stateCookie binds a state to the browser that was shown the form: it
// holds the nonce whose hash the state carries, so a state fetched by
// someone else cannot complete a flow in the admin's browser (and hand the
// admin an App the attacker owns).
const stateCookie = "contribot_setup_state"

// maxConversionBody bounds GitHub's answer; the real one is a few KiB.
const maxConversionBody = 1 << 20

// conversionTimeout bounds the one GitHub call; the admin is waiting.
const conversionTimeout = 30 * time.Second

// HandlerOptions configure the registration flow.
//
// The flow is meant to be mounted only while an App is being registered:
// the service mounts it when SETUP_ENABLED=true. Anyone who can reach /setup can register an App of
// their own from it; that gives them nothing of this deployment, but there
// is no reason to offer it once the App exists.
type HandlerOptions struct {
	// Manifest describes the App to register; its URL must be the public
	// URL this handler is reachable under.
	Manifest Options
	// APIURL is GitHub's REST base: https://api.github.com/ (the default),
	// or https://HOST/api/v3/ for GitHub Enterprise Server.
	APIURL string
	// WebURL is GitHub's web base: https://github.com/ (the default), or
	// https://HOST/ for GitHub Enterprise Server.
	WebURL string
	// HTTPClient makes the conversion call; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Logger gets one line per registration, never a secret; slog.Default
	// when nil.
	Logger *slog.Logger
	// StateTTL is how long a form stays usable; DefaultStateTTL when zero.
	StateTTL time.Duration
	// Secret signs the form's states, through a key derived from it; it
	// must be the same on every replica and known to nobody else. The
	// service passes GITHUB_WEBHOOK_SECRET. Required.
	Secret []byte
}

type handler struct {
	manifest     AppManifest
	manifestJSON string
	api, web     *url.URL
	client       *http.Client
	log          *slog.Logger
	states       *states
	secure       bool
	cookiePath   string
	csp          string
	mux          *http.ServeMux
}

// Handler serves GET /setup (the registration form) and GET
// /setup/callback (where GitHub sends the admin back with a code). Options
// that cannot work (typically PUBLIC_URL unset or plain http) do not stop
// the service: /setup then answers 503 and says what to fix, since that is
// where the admin is looking.
func Handler(o HandlerOptions) http.Handler {
	h, err := NewHandler(o)
	if err != nil {
		log := o.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Error("setup: the registration page is off", slog.Any("error", err))
		return misconfigured{err}
	}
	return h
}

// NewHandler is Handler for callers that would rather refuse to start.
func NewHandler(o HandlerOptions) (http.Handler, error) {
	if err := o.Manifest.Validate(); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	api, err := parseBase(o.APIURL, DefaultAPIURL, "APIURL")
	if err != nil {
		return nil, err
	}
	web, err := parseBase(o.WebURL, DefaultWebURL, "WebURL")
	if err != nil {
		return nil, err
	}
	h := &handler{
		manifest: Manifest(o.Manifest),
		api:      api,
		web:      web,
		client:   o.HTTPClient,
		log:      o.Logger,
		secure:   strings.HasPrefix(o.Manifest.URL, "https:"),
	}
	// The browser sees the public path, prefix included.
	if u, err := url.Parse(h.manifest.URL); err == nil {
		h.cookiePath = u.Path + SetupPath
	}
	if h.client == nil {
		h.client = http.DefaultClient
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	ttl := o.StateTTL
	if ttl <= 0 {
		ttl = DefaultStateTTL
	}
	if len(o.Secret) == 0 {
		return nil, errors.New("setup: no secret to sign the registration state with (GITHUB_WEBHOOK_SECRET is empty)")
	}
	h.states = newStates(o.Secret, ttl, time.Now)
	b, err := json.Marshal(h.manifest)
	if err != nil {
		return nil, fmt.Errorf("setup: encode the manifest: %w", err)
	}
	h.manifestJSON = string(b)
	// No script runs on these pages, and forms may go only here or to GitHub.
	h.csp = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' " + h.web.Scheme + "://" + h.web.Host
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET "+SetupPath, h.form)
	h.mux.HandleFunc("GET "+CallbackPath, h.callback)
	return h, nil
}

func parseBase(raw, def, field string) (*url.URL, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("setup: %s %q is not an http(s) base URL", field, raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// misconfigured explains on the page why registration is off.
type misconfigured struct{ err error }

func (m misconfigured) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, "The registration page is not configured: %v.\nSet PUBLIC_URL to the https URL GitHub reaches this service at, and restart.\n", m.err)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// The callback page carries the App's private key; nothing here may
	// be stored, framed or leak its URL (which holds the code) onwards.
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	h.mux.ServeHTTP(w, r)
}

// orgLogin is GitHub's rule for account names: letters, digits and single
// inner hyphens, at most 39 characters.
var orgLogin = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)

type permissionRow struct {
	Key, Title, Access, Why string
	Organization            bool
}

type formPage struct {
	Name, URL, Org, Action, ManifestJSON, ManifestPretty string
	Permissions                                          []permissionRow
	Events                                               []Event
}

// form renders the registration page. Without ?org= it offers the
// personal account (a POST straight to GitHub) and an org name field that
// comes back here as GET, because a form's action cannot follow a text
// field without JavaScript.
func (h *handler) form(w http.ResponseWriter, r *http.Request) {
	org := strings.TrimSpace(r.URL.Query().Get("org"))
	if org != "" && (len(org) > 39 || !orgLogin.MatchString(org)) {
		h.render(w, http.StatusBadRequest, "error", errorPage{
			Title:   "Not an organization name",
			Message: fmt.Sprintf("%q is not a GitHub organization name: use letters, digits and single hyphens, at most 39 characters.", org),
		})
		return
	}
	state, nonce, err := h.states.issue()
	if err != nil {
		h.log.Error("setup: cannot start a registration", slog.Any("error", err))
		h.render(w, http.StatusInternalServerError, "error", errorPage{Title: "Cannot start", Message: "The server could not create a registration token. Try again."})
		return
	}
	target := h.web.JoinPath("settings", "apps", "new")
	if org != "" {
		target = h.web.JoinPath("organizations", org, "settings", "apps", "new")
	}
	target.RawQuery = url.Values{"state": {state}}.Encode()
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: nonce, Path: h.cookiePath,
		MaxAge: int(h.states.ttl / time.Second), HttpOnly: true, Secure: h.secure,
		// Lax: GitHub's redirect back is a top-level GET from another site.
		SameSite: http.SameSiteLaxMode,
	})
	pretty, err := json.MarshalIndent(h.manifest, "", "  ")
	if err != nil {
		h.log.Error("setup: encode the manifest", slog.Any("error", err))
	}
	h.render(w, http.StatusOK, "form", formPage{
		Name: h.manifest.Name, URL: h.manifest.URL, Org: org, Action: target.String(),
		ManifestJSON: h.manifestJSON, ManifestPretty: string(pretty),
		Permissions: permissionRows(), Events: Events,
	})
}

func permissionRows() []permissionRow {
	rows := make([]permissionRow, 0, len(Permissions))
	for k, p := range Permissions {
		rows = append(rows, permissionRow{k, p.Title, accessTitle(p.Access), p.Why, p.Organization})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Organization != rows[j].Organization {
			return !rows[i].Organization
		}
		return rows[i].Title < rows[j].Title
	})
	return rows
}

// conversion is GitHub's answer to POST /app-manifests/{code}/conversions:
// the App as GET /app shows it, plus its credentials, which GitHub hands
// out this one time.
type conversion struct {
	ID      int64  `json:"id"`
	Slug    string `json:"slug"`
	NodeID  string `json:"node_id"`
	Name    string `json:"name"`
	HTMLURL string `json:"html_url"`
	Owner   struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	} `json:"owner"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	WebhookSecret string `json:"webhook_secret"`
	PEM           string `json:"pem"`
}

// conversionError is a refusal by GitHub, kept apart from transport
// failures because the admin's remedy differs.
type conversionError struct {
	Status  int
	Message string
}

func (e *conversionError) Error() string {
	return fmt.Sprintf("GitHub answered %d: %s", e.Status, e.Message)
}

// code is what GitHub puts in the redirect; anything else is refused
// before it reaches a URL path.
var codeRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,256}$`)

type errorPage struct{ Title, Message, StartURL string }

func (h *handler) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	nonce := ""
	if c, err := r.Cookie(stateCookie); err == nil {
		nonce = c.Value
	}
	if err := h.states.check(state, nonce); err != nil {
		h.log.Warn("setup: callback with an unusable state", slog.String("reason", err.Error()))
		h.render(w, http.StatusBadRequest, "error", errorPage{
			Title:   "This registration link is not valid",
			Message: "It has expired (a registration must finish within an hour), was used already, or was started in another browser. Nothing was fetched from GitHub. Start again at " + h.startURL() + "; if GitHub created an App in the meantime, delete it in its settings first.",
		})
		return
	}
	// Only a state bound to this browser spends its cookie: a link with a
	// garbage state must not end the admin's pending registration.
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: h.cookiePath, MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	if !codeRE.MatchString(code) {
		h.render(w, http.StatusBadRequest, "error", errorPage{
			Title:   "GitHub sent no usable code",
			Message: "The link back from GitHub has no code. Start again at " + h.startURL() + ".",
		})
		return
	}
	app, err := h.convert(r.Context(), code)
	var ce *conversionError
	switch {
	case errors.As(err, &ce):
		h.log.Warn("setup: GitHub refused the manifest code", slog.Int("status", ce.Status))
		msg := "GitHub refused to hand out the new App's credentials (" + ce.Message + ")."
		if ce.Status == http.StatusNotFound {
			msg = "GitHub does not know this code any more: it works once, and only within an hour."
		}
		h.render(w, http.StatusBadGateway, "error", errorPage{
			Title:   "GitHub did not complete the registration",
			Message: msg + " Start again at " + h.startURL() + ". If GitHub did create the App, delete it in its settings first, or keep it and generate a private key and a webhook secret there by hand.",
		})
		return
	case err != nil:
		h.log.Error("setup: manifest conversion failed", slog.Any("error", err))
		h.render(w, http.StatusBadGateway, "error", errorPage{
			Title:   "Could not reach GitHub",
			Message: "The server could not fetch the new App's credentials from GitHub. Start again at " + h.startURL() + "; if GitHub created the App, delete it in its settings first.",
		})
		return
	}
	h.log.Info("setup: GitHub App registered", slog.Int64("app_id", app.ID), slog.String("slug", app.Slug), slog.String("owner", app.Owner.Login))
	h.render(w, http.StatusOK, "done", h.donePage(app))
}

// convert exchanges the code for the App and its credentials. The call
// needs no authentication: the code is the credential.
func (h *handler) convert(ctx context.Context, code string) (*conversion, error) {
	ctx, cancel := context.WithTimeout(ctx, conversionTimeout)
	defer cancel()
	u := h.api.JoinPath("app-manifests", code, "conversions")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build the conversion request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "contribot-setup")
	resp, err := h.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which holds the code: a credential
		// for the new App's key until GitHub has spent it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("POST app-manifests/…/conversions: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxConversionBody))
	if err != nil {
		return nil, fmt.Errorf("read the conversion response: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &e) // the message is a courtesy; the status decides
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return nil, &conversionError{Status: resp.StatusCode, Message: e.Message}
	}
	var app conversion
	if err := json.Unmarshal(body, &app); err != nil {
		return nil, fmt.Errorf("decode the conversion response: %w", err)
	}
	if app.ID == 0 || app.PEM == "" || app.WebhookSecret == "" || app.HTMLURL == "" {
		return nil, errors.New("the conversion response lacks the App ID, private key, webhook secret or page")
	}
	return &app, nil
}

// startURL is absolute because the public URL may carry a path prefix
// that relative links from either page would get wrong.
func (h *handler) startURL() string { return h.manifest.URL + SetupPath }

type donePage struct {
	App         *conversion
	InstallURL  string
	KeyFile     string
	KeyDownload template.URL
	FlyCommand  string
	EnvLines    string
	Enterprise  string
}

const keyFile = "contribot.private-key.pem"

func (h *handler) donePage(app *conversion) donePage {
	p := donePage{App: app, KeyFile: keyFile}
	if u, err := url.Parse(app.HTMLURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		p.InstallURL = u.JoinPath("installations", "new").String()
	}
	// A data: URL lets the admin save the key without copy-paste mistakes
	// in its line breaks; it is built here from base64, so it is safe.
	p.KeyDownload = template.URL("data:application/x-pem-file;base64," + base64.StdEncoding.EncodeToString([]byte(app.PEM)))
	p.FlyCommand = fmt.Sprintf("fly secrets set GITHUB_APP_ID=%d GITHUB_WEBHOOK_SECRET=%s GITHUB_PRIVATE_KEY=\"$(cat %s)\"", app.ID, app.WebhookSecret, keyFile)
	p.EnvLines = fmt.Sprintf("GITHUB_APP_ID=%d\nGITHUB_WEBHOOK_SECRET=%s\nGITHUB_PRIVATE_KEY_PATH=/path/to/%s", app.ID, app.WebhookSecret, keyFile)
	if h.web.String() != DefaultWebURL {
		p.Enterprise = h.web.String()
	}
	return p
}

// render executes into a buffer first, so a template failure becomes a
// 500 rather than half a page under a 200.
func (h *handler) render(w http.ResponseWriter, status int, name string, data any) {
	if e, ok := data.(errorPage); ok {
		e.StartURL = h.startURL()
		data = e
	}
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		h.log.Error("setup: render page", slog.String("page", name), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes()) // a client gone away is nothing to act on
}
