package githubapp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	remaining *prometheus.GaugeVec
}

// newMetrics registers the collectors, reusing ones already registered
// with the same registerer so that building a second App in one process
// (tests, a config reload) does not panic.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contribot_github_requests_total",
			Help: "HTTP requests sent to the GitHub API, each retry counted, by route template and status (\"error\" for no response).",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contribot_github_request_duration_seconds",
			Help:    "Latency of single GitHub API requests (one attempt) by route template.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "contribot_github_rate_limit_remaining",
			Help: "X-RateLimit-Remaining of the latest GitHub response, by X-RateLimit-Resource.",
		}, []string{"resource"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.remaining, err = register(reg, m.remaining); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("registering GitHub client metrics: %w", err)
}

// metricsTransport is the innermost layer, so it sees every attempt
// including retries and 304s (which cost no quota).
type metricsTransport struct {
	next    http.RoundTripper
	metrics *metrics
	base    string
	now     func() time.Time
}

func (t *metricsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route := Route(stripBase(req.URL.EscapedPath(), t.base))
	start := t.now()
	resp, err := t.next.RoundTrip(req)
	t.metrics.latency.WithLabelValues(req.Method, route).Observe(t.now().Sub(start).Seconds())
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
		if v := resp.Header.Get("X-RateLimit-Remaining"); v != "" {
			if n, perr := strconv.ParseFloat(v, 64); perr == nil {
				resource := resp.Header.Get("X-RateLimit-Resource")
				if resource == "" {
					resource = "unknown"
				}
				t.metrics.remaining.WithLabelValues(resource).Set(n)
			}
		}
	}
	t.metrics.requests.WithLabelValues(req.Method, route, status).Inc()
	return resp, err
}
