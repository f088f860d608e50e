// Package server is contribot's HTTP surface: webhook intake, health and
// metrics. Intake verifies, persists and answers; it never calls GitHub, so
// GitHub's 10-second delivery timeout is never at risk.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

// MaxBody is GitHub's own cap on webhook payloads; anything larger cannot be
// a genuine delivery.
const MaxBody = 25 << 20

// DefaultBodyBudget bounds the memory held by webhook bodies across all
// requests at once, before and while they are verified. GitHub's largest
// delivery (MaxBody) needs 41 MiB at its last growth step (16 MiB copied
// into 25 MiB), which must fit; the rest leaves room for ordinary
// deliveries of tens of KiB. Go's collector lets the heap reach about twice
// what is live, so the worst case stays near 100 MiB above the idle
// process, well inside the 256 MB VM of fly.toml.
const DefaultBodyBudget = 48 << 20

// firstRead is the buffer a body is first read into, before any of it has
// arrived. It is charged to the budget only once filled, so that a sender
// that announces 25 MiB and sends nothing holds no budget at all: the
// 16 KiB it does hold are bounded per connection (MaxConns). A delivery
// of up to 16 KiB is read into one exact allocation, a larger one grows
// from there by doubling.
const firstRead = 16 << 10

// BodyReadTimeout is how long a webhook body may take to arrive. GitHub
// gives up on a delivery after 10 seconds, so a body still arriving after
// 15 is no delivery GitHub waits for; cutting it off frees its connection
// and its share of the budget long before the server's ReadTimeout.
const BodyReadTimeout = 15 * time.Second

// RetryAfter is what a refused delivery is told to wait: by then every
// body held now has arrived or been cut off (BodyReadTimeout). GitHub does
// not read it, nor retry on its own; it is for whoever redelivers.
const RetryAfter = BodyReadTimeout

// maxEcho is the most of a header value (delivery id, event, content
// type) that logs and answers repeat: anyone can send one of 16 KiB, and
// GitHub's are a few dozen bytes.
const maxEcho = 100

// Enqueuer persists accepted deliveries.
type Enqueuer interface {
	Enqueue(ctx context.Context, delivery, event string, payload []byte, routes []queue.Route) (int, error)
	Ping(ctx context.Context) error
}

// Router decides, from the payload alone, which features want a delivery.
// It must be pure and fast: it runs inside the request. An error means the
// payload is malformed; its text is sent back to the sender.
type Router func(event string, payload []byte) ([]queue.Route, error)

// Config configures the handler.
type Config struct {
	// Secrets are tried in order; the second is the previous secret during a
	// rotation.
	Secrets [][]byte
	Queue   Enqueuer
	Route   Router
	// Accepted, if set, sees each verified, well-formed delivery after it is
	// queued, for cheap in-memory reactions such as dropping cached rules
	// after a push.
	Accepted func(event string, payload []byte)
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// MetricsToken, when set, must be sent as a bearer token to /metrics.
	MetricsToken string
	// BodyBudget is the most memory webhook bodies may hold at once across
	// all requests (DefaultBodyBudget when zero). A request whose body does
	// not fit is answered 503 with Retry-After.
	BodyBudget int64
	// BodyReadTimeout bounds the time a webhook body may take to arrive
	// (the package's BodyReadTimeout when zero); tests shorten it.
	BodyReadTimeout time.Duration
	// Extra mounts more routes (pages, APIs) on the same mux.
	Extra map[string]http.Handler
}

type server struct {
	cfg        Config
	budget     *budget
	deliveries *prometheus.CounterVec
	panics     *prometheus.CounterVec
	ackSeconds prometheus.Histogram
}

// New returns the service's HTTP handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.BodyBudget <= 0 {
		cfg.BodyBudget = DefaultBodyBudget
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = BodyReadTimeout
	}
	s := &server{
		cfg:    cfg,
		budget: &budget{limit: cfg.BodyBudget},
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_deliveries_total",
			Help: "Webhook deliveries by event (GitHub's event names, else \"other\") and result (queued, duplicate, ignored, ping, unauthorized, too_large, timeout, too_deep, too_many_values, overloaded, bad_request, error, panic).",
		}, []string{"event", "result"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_webhook_panics_total",
			Help: "Panics recovered in the webhook handler, by stage (intake: the delivery was answered 500; accepted: the in-memory reaction after queueing, the delivery was answered as queued).",
		}, []string{"stage"}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "contribot_webhook_ack_seconds",
			Help:    "Time from request start to the webhook response.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	bodyBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "contribot_webhook_body_bytes",
		Help: "Memory held by webhook bodies being read, verified or queued, across all requests.",
	}, func() float64 { return float64(s.budget.used.Load()) })
	bodyBudget := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "contribot_webhook_body_budget_bytes",
		Help: "The most contribot_webhook_body_bytes may reach; past it deliveries are answered 503 with Retry-After.",
	})
	bodyBudget.Set(float64(cfg.BodyBudget))
	cfg.Registry.MustRegister(s.deliveries, s.panics, s.ackSeconds, bodyBytes, bodyBudget)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhook", s.webhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	metrics := promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", requireToken(cfg.MetricsToken, metrics))
	for pattern, h := range cfg.Extra {
		mux.Handle(pattern, h)
	}
	return mux
}

type ack struct {
	Delivery  string   `json:"delivery,omitempty"`
	Event     string   `json:"event,omitempty"`
	Queued    []string `json:"queued,omitempty"`
	Duplicate bool     `json:"duplicate,omitempty"`
	Ignored   string   `json:"ignored,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func (s *server) webhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.ackSeconds.Observe(time.Since(start).Seconds()) }()

	event := r.Header.Get(github.EventTypeHeader)
	delivery := r.Header.Get(github.DeliveryIDHeader)
	// Anyone can send these headers; what logs and answers repeat of them
	// is cut short.
	echoEvent, echoDelivery := clip(event), clip(delivery)
	// Attributes are passed per call rather than with Logger.With, which
	// would format them on every request, logged or not.
	ids := []slog.Attr{slog.String("delivery", echoDelivery), slog.String("event", echoEvent)}
	log := func(level slog.Level, msg string, attrs ...slog.Attr) {
		if s.cfg.Logger.Enabled(r.Context(), level) {
			s.cfg.Logger.LogAttrs(r.Context(), level, msg, append(ids, attrs...)...)
		}
	}
	// reject answers a delivery that is not taken. Rejections of requests
	// nobody has authenticated yet are logged at Debug: anyone can send
	// them by the thousand, and contribot_deliveries_total counts them.
	reject := func(level slog.Level, status int, result, msg string) {
		s.deliveries.WithLabelValues(label(event), result).Inc()
		log(level, "webhook rejected", slog.Int("status", status), slog.String("reason", msg))
		writeJSON(w, status, ack{Delivery: echoDelivery, Event: echoEvent, Error: msg})
	}
	fail := func(status int, result, msg string) { reject(slog.LevelWarn, status, result, msg) }

	// held is what this request's body holds of the shared budget, given
	// back once the answer is written (deferred first, so it runs last).
	var held int64
	defer func() { s.budget.give(held) }()
	// No payload shape may drop the connection without an answer: GitHub
	// would record a timeout and nothing would say why. Every call that can
	// panic (Route, the queue) comes before the answer is written.
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.panics.WithLabelValues("intake").Inc()
		s.deliveries.WithLabelValues(label(event), "panic").Inc()
		log(slog.LevelError, "webhook handler panicked; delivery answered 500 and not queued",
			slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
		writeJSON(w, http.StatusInternalServerError, ack{Delivery: echoDelivery, Event: echoEvent,
			Error: "internal error while handling this delivery; it was not queued (the error is logged with the delivery id)"})
	}()

	body, err := s.readBody(w, r, &held)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			reject(slog.LevelDebug, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("payload exceeds %d bytes", MaxBody))
		case errors.Is(err, errOverBudget):
			// GitHub does not retry a failed delivery by itself: it is sent
			// again only by the periodic redelivery (when REDELIVER_INTERVAL
			// is set), by `contribot redeliver`, or from the App's settings
			// page.
			w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
			w.Header().Set("Connection", "close")
			fail(http.StatusServiceUnavailable, "overloaded", fmt.Sprintf("too many webhook bodies in flight (more than %d bytes held); retry after %d seconds", s.budget.limit, int(RetryAfter/time.Second)))
		case errors.Is(err, os.ErrDeadlineExceeded):
			w.Header().Set("Connection", "close")
			reject(slog.LevelDebug, http.StatusRequestTimeout, "timeout", fmt.Sprintf("body not received within %s", s.cfg.BodyReadTimeout))
		default:
			reject(slog.LevelDebug, http.StatusBadRequest, "bad_request", "could not read body: "+err.Error())
		}
		return
	}
	if !s.signed(r, body) {
		reject(slog.LevelDebug, http.StatusUnauthorized, "unauthorized", "missing or invalid X-Hub-Signature-256")
		return
	}
	// Signed: from here on the sender holds the secret.
	contentType := r.Header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(contentType)
	payload := body
	switch mediaType {
	case "application/json":
	case "application/x-www-form-urlencoded":
		if payload, err = formPayload(body); err != nil {
			fail(http.StatusBadRequest, "bad_request", err.Error())
			return
		}
	default:
		fail(http.StatusUnsupportedMediaType, "bad_request", fmt.Sprintf("Content-Type %q is not supported; set the webhook's content type to application/json", clip(contentType)))
		return
	}
	if event == "" {
		fail(http.StatusBadRequest, "bad_request", "missing X-GitHub-Event header")
		return
	}
	// Before any parser: gjson (Route) and encoding/json (Accepted,
	// workers) recurse per level, and a deep enough document overflows the
	// stack, which is fatal, not a panic; go-github's decoder builds a
	// struct for every element it is given.
	switch checkShape(payload, defaultShape) {
	case shapeTooDeep:
		fail(http.StatusBadRequest, "too_deep", fmt.Sprintf("JSON nesting deeper than %d levels; GitHub's payloads nest fewer than 10, so this is not a delivery contribot reads", MaxDepth))
		return
	case shapeTooManyElements:
		fail(http.StatusBadRequest, "too_many_values", fmt.Sprintf("a JSON array or object with more than %d elements; GitHub's payloads hold at most 3000 (the files of one pushed commit), so this is not a delivery contribot reads", MaxElements))
		return
	case shapeTooManyValues:
		fail(http.StatusBadRequest, "too_many_values", fmt.Sprintf("more than %d JSON values; GitHub's payloads hold far fewer, so this is not a delivery contribot reads", MaxValues))
		return
	}
	if event == "ping" {
		s.deliveries.WithLabelValues(event, "ping").Inc()
		writeJSON(w, http.StatusOK, ack{Delivery: echoDelivery, Event: echoEvent, Ignored: "pong"})
		return
	}
	routes, err := s.cfg.Route(event, payload)
	if err != nil {
		fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(routes) == 0 {
		s.deliveries.WithLabelValues(label(event), "ignored").Inc()
		s.accepted(r, event, payload, ids)
		writeJSON(w, http.StatusOK, ack{Delivery: echoDelivery, Event: echoEvent, Ignored: "no feature uses this event or action"})
		return
	}
	if delivery == "" {
		fail(http.StatusBadRequest, "bad_request", "missing X-GitHub-Delivery header")
		return
	}
	n, err := s.cfg.Queue.Enqueue(r.Context(), delivery, event, payload, routes)
	if err != nil {
		// 503 makes the delivery show as failed in GitHub, from where the
		// periodic redelivery (when REDELIVER_INTERVAL is set), `contribot
		// redeliver` or an admin sends it again; nothing else does.
		s.deliveries.WithLabelValues(label(event), "error").Inc()
		log(slog.LevelError, "could not queue delivery", slog.String("error", err.Error()))
		writeJSON(w, http.StatusServiceUnavailable, ack{Delivery: echoDelivery, Event: echoEvent, Error: "could not queue the delivery; retry later"})
		return
	}
	s.accepted(r, event, payload, ids)
	features := make([]string, len(routes))
	for i, rt := range routes {
		features[i] = rt.Feature
	}
	result := "queued"
	if n == 0 {
		result = "duplicate"
	}
	s.deliveries.WithLabelValues(label(event), result).Inc()
	log(slog.LevelDebug, "delivery accepted", slog.String("result", result), slog.Any("features", features))
	writeJSON(w, http.StatusAccepted, ack{Delivery: echoDelivery, Event: echoEvent, Queued: features, Duplicate: n == 0})
}

// clip cuts a value anyone may send to what logs and answers repeat of it.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

// accepted runs Config.Accepted. Its panic is logged and counted but does
// not fail the delivery: the jobs are already queued, and a 500 would have
// the periodic redelivery (REDELIVER_INTERVAL) send the same delivery
// again and again.
func (s *server) accepted(r *http.Request, event string, payload []byte, ids []slog.Attr) {
	if s.cfg.Accepted == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.panics.WithLabelValues("accepted").Inc()
			s.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "reaction to an accepted delivery panicked; the delivery stays queued",
				append(ids, slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))...)
		}
	}()
	s.cfg.Accepted(event, payload)
}

// errOverBudget is a body that does not fit in what the shared budget has
// left.
var errOverBudget = errors.New("webhook bodies in flight exceed the memory budget")

// readBody reads the capped body, charging the shared budget only for
// memory that bytes which have arrived fill: the first buffer (firstRead)
// once it is full, then each larger one, which replaces a full one, so a
// body holds at most twice what it has sent. Nothing is charged from
// Content-Length: a sender that announces 25 MiB and sends nothing holds
// none of the budget, and is cut off after BodyReadTimeout. The caller
// gives back *held.
func (s *server) readBody(w http.ResponseWriter, r *http.Request, held *int64) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, &http.MaxBytesError{Limit: MaxBody}
	}
	// Not supported by every ResponseWriter (httptest's recorder); the
	// server's own ReadTimeout still applies then.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout))
	// A known length is all there is to read (net/http ends the body
	// there); an unknown one (chunked) may grow to the cap, and the byte
	// past it makes MaxBytesReader fail.
	limit := int64(MaxBody) + 1
	if r.ContentLength >= 0 {
		limit = r.ContentLength
	}
	// charge has the budget hold n bytes for this body instead of what it
	// held; both count while a full buffer is copied into the next.
	var charged int64
	charge := func(n int64) bool {
		if !s.budget.take(n) {
			return false
		}
		s.budget.give(charged)
		*held += n - charged
		charged = n
		return true
	}
	// A body that fits the first buffer is read into an exact allocation
	// and kept; a larger one starts in a pooled buffer, given back once
	// its bytes are copied on.
	var buf []byte
	var pooled *[]byte
	if limit <= firstRead {
		buf = make([]byte, 0, limit)
	} else {
		pooled = firstBuffers.Get().(*[]byte)
		buf = (*pooled)[:0]
		defer func() {
			if pooled != nil {
				firstBuffers.Put(pooled)
			}
		}()
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	for {
		if len(buf) == cap(buf) {
			if charged < int64(cap(buf)) && !charge(int64(cap(buf))) {
				return nil, errOverBudget
			}
			if int64(len(buf)) >= limit {
				return buf, nil
			}
			grown := min(2*int64(cap(buf)), limit)
			if !charge(grown) {
				return nil, errOverBudget
			}
			next := make([]byte, len(buf), grown)
			copy(next, buf)
			buf = next
			if pooled != nil {
				firstBuffers.Put(pooled)
				pooled = nil
			}
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if pooled != nil {
				// A chunked body that ended inside the pooled buffer.
				buf = bytes.Clone(buf)
			}
			// A body that ended before filling its buffer.
			if charged < int64(cap(buf)) && !charge(int64(cap(buf))) {
				return nil, errOverBudget
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// firstBuffers hold the first firstRead bytes of bodies larger than that.
var firstBuffers = sync.Pool{New: func() any {
	b := make([]byte, firstRead)
	return &b
}}

// budget is a count of bytes shared by all requests.
type budget struct {
	limit int64
	used  atomic.Int64
}

func (b *budget) take(n int64) bool {
	for {
		cur := b.used.Load()
		if cur+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (b *budget) give(n int64) {
	if n != 0 {
		b.used.Add(-n)
	}
}

// signed checks the HMAC of the raw body against each configured secret
// in constant time (go-github compares with hmac.Equal), before anything
// else reads the body.
func (s *server) signed(r *http.Request, body []byte) bool {
	sig := r.Header.Get(github.SHA256SignatureHeader)
	if sig == "" {
		return false
	}
	for _, secret := range s.cfg.Secrets {
		if len(secret) != 0 && github.ValidateSignature(sig, body, secret) == nil {
			return true
		}
	}
	return false
}

// formPayload is the JSON payload of a form-encoded delivery, which GitHub
// sends when the App's content type is set to form.
func formPayload(body []byte) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form-encoded body does not parse (%s); set the webhook's content type to application/json", clip(err.Error()))
	}
	if !form.Has("payload") {
		return nil, errors.New("form-encoded body has no payload field")
	}
	return []byte(form.Get("payload")), nil
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Queue.Ping(ctx); err != nil {
		// The error names hosts and users; it goes to the log, not to an
		// unauthenticated caller.
		s.cfg.Logger.Warn("readiness check failed: database unavailable", slog.String("error", err.Error()))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// eventNames are GitHub's webhook event names, as go-github v60 maps them
// to types. An unauthenticated caller chooses the event header, so metric
// labels take it only from this fixed vocabulary.
var eventNames = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range github.MessageTypes() {
		m[e] = true
	}
	return m
}()

// label is the event's metric label: one of GitHub's event names, else
// "other".
func label(event string) string {
	if eventNames[event] {
		return event
	}
	return "other"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
