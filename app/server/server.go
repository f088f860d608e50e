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
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/SovereignCloudStack/contribot/app/queue"
)

// MaxBody is GitHub's own cap on webhook payloads; anything larger cannot be
// a genuine delivery.
const MaxBody = 25 << 20

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
	// Extra mounts more routes (pages, APIs) on the same mux.
	Extra map[string]http.Handler
}

type server struct {
	cfg        Config
	deliveries *prometheus.CounterVec
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
	s := &server{
		cfg: cfg,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_deliveries_total",
			Help: "Webhook deliveries by event and result (queued, duplicate, ignored, ping, unauthorized, too_large, bad_request, error).",
		}, []string{"event", "result"}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "contribot_webhook_ack_seconds",
			Help:    "Time from request start to the webhook response.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	cfg.Registry.MustRegister(s.deliveries, s.ackSeconds)

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
	// Attributes are passed per call rather than with Logger.With, which
	// would format them on every request, logged or not.
	ids := []slog.Attr{slog.String("delivery", delivery), slog.String("event", event)}
	log := func(level slog.Level, msg string, attrs ...slog.Attr) {
		if s.cfg.Logger.Enabled(r.Context(), level) {
			s.cfg.Logger.LogAttrs(r.Context(), level, msg, append(ids, attrs...)...)
		}
	}
	fail := func(status int, result, msg string) {
		s.deliveries.WithLabelValues(label(event), result).Inc()
		log(slog.LevelWarn, "webhook rejected", slog.Int("status", status), slog.String("reason", msg))
		writeJSON(w, status, ack{Delivery: delivery, Event: event, Error: msg})
	}

	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("payload exceeds %d bytes", MaxBody))
			return
		}
		fail(http.StatusBadRequest, "bad_request", "could not read body: "+err.Error())
		return
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "application/json" && mediaType != "application/x-www-form-urlencoded" {
		fail(http.StatusUnsupportedMediaType, "bad_request", fmt.Sprintf("Content-Type %q is not supported; set the webhook's content type to application/json", r.Header.Get("Content-Type")))
		return
	}
	payload, ok := s.verify(mediaType, r, body)
	if !ok {
		fail(http.StatusUnauthorized, "unauthorized", "missing or invalid X-Hub-Signature-256")
		return
	}
	if event == "" {
		fail(http.StatusBadRequest, "bad_request", "missing X-GitHub-Event header")
		return
	}
	if event == "ping" {
		s.deliveries.WithLabelValues(event, "ping").Inc()
		writeJSON(w, http.StatusOK, ack{Delivery: delivery, Event: event, Ignored: "pong"})
		return
	}
	routes, err := s.cfg.Route(event, payload)
	if err != nil {
		fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(routes) == 0 {
		s.deliveries.WithLabelValues(label(event), "ignored").Inc()
		if s.cfg.Accepted != nil {
			s.cfg.Accepted(event, payload)
		}
		writeJSON(w, http.StatusOK, ack{Delivery: delivery, Event: event, Ignored: "no feature uses this event or action"})
		return
	}
	if delivery == "" {
		fail(http.StatusBadRequest, "bad_request", "missing X-GitHub-Delivery header")
		return
	}
	n, err := s.cfg.Queue.Enqueue(r.Context(), delivery, event, payload, routes)
	if err != nil {
		// 503 makes the delivery show as failed in GitHub, where `contribot
		// redeliver` or an admin can send it again.
		s.deliveries.WithLabelValues(label(event), "error").Inc()
		log(slog.LevelError, "could not queue delivery", slog.String("error", err.Error()))
		writeJSON(w, http.StatusServiceUnavailable, ack{Delivery: delivery, Event: event, Error: "could not queue the delivery; retry later"})
		return
	}
	if s.cfg.Accepted != nil {
		s.cfg.Accepted(event, payload)
	}
	features := make([]string, len(routes))
	for i, rt := range routes {
		features[i] = rt.Feature
	}
	result := "queued"
	if n == 0 {
		result = "duplicate"
	}
	s.deliveries.WithLabelValues(event, result).Inc()
	log(slog.LevelDebug, "delivery accepted", slog.String("result", result), slog.Any("features", features))
	writeJSON(w, http.StatusAccepted, ack{Delivery: delivery, Event: event, Queued: features, Duplicate: n == 0})
}

// readBody reads the capped body into one buffer sized from Content-Length,
// instead of growing one by doubling: webhook bodies are tens of KiB, and
// the copies showed in intake's profile.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= MaxBody {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBody))
	return buf.Bytes(), err
}

// verify checks the HMAC against each configured secret in constant time
// (go-github compares with hmac.Equal) and returns the JSON payload, which
// GitHub may also send form-encoded.
func (s *server) verify(mediaType string, r *http.Request, body []byte) ([]byte, bool) {
	sig := r.Header.Get(github.SHA256SignatureHeader)
	if sig == "" || len(s.cfg.Secrets) == 0 {
		return nil, false
	}
	// go-github compares the Content-Type exactly; parameters such as
	// charset must not turn a valid signature into a 401.
	ct := mediaType
	for _, secret := range s.cfg.Secrets {
		if len(secret) == 0 {
			continue
		}
		payload, err := github.ValidatePayloadFromBody(ct, bytes.NewReader(body), sig, secret)
		if err == nil {
			return payload, true
		}
	}
	return nil, false
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

// label keeps metric cardinality bounded: an unauthenticated caller chooses
// the event header.
func label(event string) string {
	if event == "" || len(event) > 40 {
		return "invalid"
	}
	for _, c := range event {
		if (c < 'a' || c > 'z') && c != '_' {
			return "invalid"
		}
	}
	return event
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
