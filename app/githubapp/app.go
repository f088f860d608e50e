// Package githubapp authenticates contribot as a GitHub App and builds the
// go-github clients every feature uses.
//
// One App holds one transport stack and one installation-token cache for
// the whole process. A request from a client returned by Installation or
// AppClient passes through, outermost first:
//
//	auth     adds the installation token or App JWT; on 401 renews it and replays once
//	etag     makes GETs conditional; a 304 (free of quota) is served as the cached 200
//	retry    backoff on 5xx/network errors; rate limits → short wait or *RateLimitError
//	pacing   per-installation token bucket for each write attempt; pauses after Retry-After
//	metrics  counts and times every attempt, records X-RateLimit-Remaining
//
// Tokens, the JWT and the private key never appear in errors or logs.
package githubapp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBaseURL is GitHub.com's REST API, used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.github.com/"

// Config holds the App's identity; tuning goes through Options.
type Config struct {
	// AppID is GITHUB_APP_ID.
	AppID int64
	// PrivateKey is the PEM (PKCS#1 or PKCS#8) from GITHUB_PRIVATE_KEY or
	// the file at GITHUB_PRIVATE_KEY_PATH.
	PrivateKey []byte
	// BaseURL is GITHUB_API_URL. Empty means DefaultBaseURL. An https URL
	// of a host's root (https://ghes.example.com/) is taken as GitHub
	// Enterprise Server and gets /api/v3/ appended, as go-github's
	// WithEnterpriseURLs does. Plain http URLs and loopback hosts are used
	// as given, so a fake GitHub at http://127.0.0.1:8080/ serves /repos/…
	// at its root.
	BaseURL string
	// UserAgent is sent with every request (GitHub requires one); default
	// "contribot".
	UserAgent string
}

// String keeps the private key out of logs and %v output.
func (c Config) String() string {
	return fmt.Sprintf("githubapp.Config{AppID: %d, PrivateKey: %s, BaseURL: %q, UserAgent: %q}",
		c.AppID, redacted(c.PrivateKey), c.BaseURL, c.UserAgent)
}

// GoString covers %#v, which would otherwise print the key bytes.
func (c Config) GoString() string { return c.String() }

// LogValue covers slog.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("app_id", c.AppID),
		slog.String("private_key", redacted(c.PrivateKey)),
		slog.String("base_url", c.BaseURL),
	)
}

func redacted(b []byte) string {
	if len(b) == 0 {
		return "(unset)"
	}
	return "(redacted)"
}

// Option tunes an App.
type Option func(*options)

type options struct {
	registerer  prometheus.Registerer
	transport   http.RoundTripper
	logger      *slog.Logger
	now         func() time.Time
	sleep       SleepFunc
	jitter      func() float64
	retry       RetryPolicy
	writeRate   float64
	writeBurst  int
	etagMaxSize int64
}

// WithRegisterer sets where the metrics are registered (default
// prometheus.DefaultRegisterer). Registering twice with one registerer
// reuses the existing collectors.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// WithBaseTransport replaces the network transport under the stack.
func WithBaseTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithLogger sets the logger for retries and rate-limit waits (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock replaces time.Now for token expiry, pacing and rate-limit resets.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSleep replaces the waits of retry backoff, rate limits and pacing.
func WithSleep(s SleepFunc) Option { return func(o *options) { o.sleep = s } }

// WithRetryPolicy overrides retry bounds; zero fields keep their defaults.
func WithRetryPolicy(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithWritePacing sets each installation's write budget (default 1 per
// second, burst 10). perSecond <= 0 turns pacing off (Retry-After pauses
// still apply).
func WithWritePacing(perSecond float64, burst int) Option {
	return func(o *options) { o.writeRate, o.writeBurst = perSecond, burst }
}

// WithETagCacheSize bounds the conditional-request cache in bytes (default
// 32 MiB); 0 turns it off.
func WithETagCacheSize(maxBytes int64) Option { return func(o *options) { o.etagMaxSize = maxBytes } }

// App is a configured GitHub App. It is safe for concurrent use.
type App struct {
	appID     int64
	baseURL   *url.URL
	uploadURL *url.URL
	userAgent string
	jwt       *jwtSource
	tokens    *tokenCache
	shared    http.RoundTripper
	pacer     *pacer
	hosts     map[string]bool
	etag      *etagCache

	mu        sync.Mutex
	clients   map[int64]*github.Client
	appClient *github.Client
}

// New validates the configuration and builds the transport stack. It makes
// no network calls: the first token is fetched on first use.
func New(cfg Config, opts ...Option) (*App, error) {
	o := options{
		registerer:  prometheus.DefaultRegisterer,
		now:         time.Now,
		sleep:       realSleep,
		jitter:      defaultJitter,
		writeRate:   1,
		writeBurst:  10,
		etagMaxSize: 32 << 20,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.transport == nil {
		o.transport = defaultTransport()
	}
	o.retry = o.retry.withDefaults()

	switch {
	case cfg.AppID == 0:
		return nil, ErrMissingAppID
	case cfg.AppID < 0:
		return nil, fmt.Errorf("GITHUB_APP_ID must be a positive integer, got %d", cfg.AppID)
	}
	key, err := parsePrivateKey(cfg.PrivateKey)
	if err != nil {
		return nil, err
	}
	base, upload, err := apiURLs(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(o.registerer)
	if err != nil {
		return nil, err
	}
	userAgent := cfg.UserAgent
	if userAgent == "" {
		userAgent = "contribot"
	}

	basePath := strings.TrimSuffix(base.Path, "/")
	measured := &metricsTransport{next: o.transport, metrics: m, base: basePath, now: o.now}
	newRetry := func(next http.RoundTripper) *retryTransport {
		return &retryTransport{
			next: next, policy: o.retry, now: o.now, sleep: o.sleep, jitter: o.jitter,
			log: o.logger, base: basePath,
		}
	}
	// Pacing sits inside retry so that every attempt is paced and it sees
	// the 403/429 Retry-After answers that retry then consumes.
	p := &pacer{
		next: measured, rate: o.writeRate, burst: float64(max(o.writeBurst, 1)),
		maxPause: o.retry.MaxRetryAfter, now: o.now, sleep: o.sleep,
		buckets: make(map[identity]*bucket),
	}
	var shared http.RoundTripper = newRetry(p)
	var etag *etagCache
	if o.etagMaxSize > 0 {
		etag = newETagCache(o.etagMaxSize)
		shared = &etagTransport{next: shared, cache: etag}
	}
	// Token fetches skip the ETag cache and pacing: they are POSTs by the
	// App, not an installation's writes.
	tokenClient := &http.Client{Transport: newRetry(measured)}

	jwt := newJWTSource(cfg.AppID, key, o.now)
	a := &App{
		appID:     cfg.AppID,
		baseURL:   base,
		uploadURL: upload,
		userAgent: userAgent,
		jwt:       jwt,
		tokens:    newTokenCache(jwt, tokenClient, base, userAgent, o.now),
		shared:    shared,
		pacer:     p,
		hosts:     map[string]bool{strings.ToLower(base.Host): true, strings.ToLower(upload.Host): true},
		etag:      etag,
		clients:   make(map[int64]*github.Client),
	}
	return a, nil
}

// Installation returns a client acting as the installation. Clients are
// cached per installation so that go-github's own rate-limit bookkeeping
// persists between jobs; all of them share the App's token cache and
// transports.
func (a *App) Installation(id int64) *github.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[id]; ok {
		return c
	}
	c := a.newClient(&authTransport{
		next:  a.shared,
		creds: installationCredentials{cache: a.tokens, id: id},
		id:    identity(id),
		hosts: a.hosts,
	})
	a.clients[id] = c
	return c
}

// AppClient returns a client authenticated with the App JWT, for /app/...
// endpoints (installations, webhook deliveries and redelivery).
func (a *App) AppClient() *github.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.appClient == nil {
		a.appClient = a.newClient(&authTransport{
			next:  a.shared,
			creds: appCredentials{jwt: a.jwt},
			id:    appIdentity,
			hosts: a.hosts,
		})
	}
	return a.appClient
}

// InvalidateInstallation forgets the installation's token, client and write
// pacing state; call it on installation deleted or suspend. A later
// Installation(id) starts from scratch.
func (a *App) InvalidateInstallation(id int64) {
	a.tokens.Forget(id)
	a.pacer.forget(identity(id))
	a.mu.Lock()
	delete(a.clients, id)
	a.mu.Unlock()
}

// BaseURL is the resolved REST API base, e.g. https://ghes.example.com/api/v3/.
func (a *App) BaseURL() string { return a.baseURL.String() }

func (a *App) newClient(rt http.RoundTripper) *github.Client {
	c := github.NewClient(&http.Client{Transport: rt})
	base, upload := *a.baseURL, *a.uploadURL
	c.BaseURL, c.UploadURL = &base, &upload
	c.UserAgent = a.userAgent
	return c
}

func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// GitHub ends REST requests itself after 10s; a connection silent for
	// much longer than that is dead, and retrying beats waiting forever.
	t.ResponseHeaderTimeout = 30 * time.Second
	// Workers hit one host concurrently; the default of 2 idle connections
	// per host would make most requests open a new TLS connection.
	t.MaxIdleConnsPerHost = 16
	return t
}

// ResolveAPIURL is the REST base that GITHUB_API_URL stands for, as the
// App's clients use it (GHES gets /api/v3/), for callers without an App,
// such as the registration flow in dry-run.
func ResolveAPIURL(raw string) (string, error) {
	base, _, err := apiURLs(raw)
	if err != nil {
		return "", err
	}
	return base.String(), nil
}

// apiURLs resolves GITHUB_API_URL into the REST and upload bases.
func apiURLs(raw string) (base, upload *url.URL, err error) {
	if strings.TrimSpace(raw) == "" {
		raw = DefaultBaseURL
	}
	base, err = url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("GITHUB_API_URL %q does not parse: %w", raw, err)
	}
	if (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, nil, fmt.Errorf("GITHUB_API_URL %q is not an http(s) URL with a host", raw)
	}
	if base.User != nil {
		return nil, nil, errors.New("GITHUB_API_URL must not contain credentials")
	}
	base.RawQuery, base.Fragment = "", ""
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	base.RawPath = ""
	host := strings.ToLower(base.Hostname())
	apiHost := strings.HasPrefix(host, "api.") || strings.Contains(host, ".api.")
	verbatim := base.Scheme == "http" || isLoopback(host)
	if !verbatim && !apiHost && !strings.HasSuffix(base.Path, "/api/v3/") {
		base.Path += "api/v3/"
	}

	upload = new(url.URL)
	*upload = *base
	switch {
	case host == "api.github.com":
		upload.Host = "uploads.github.com"
	case strings.HasPrefix(host, "api.") && strings.HasSuffix(host, ".ghe.com"):
		// GitHub Enterprise Cloud with data residency: api.X.ghe.com / uploads.X.ghe.com.
		upload.Host = "uploads." + strings.TrimPrefix(base.Host, "api.")
	case strings.HasSuffix(base.Path, "/api/v3/"):
		upload.Path = strings.TrimSuffix(base.Path, "v3/") + "uploads/"
	}
	return base, upload, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
