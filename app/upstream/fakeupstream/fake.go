// Package fakeupstream serves fake Gerrit, Launchpad and GitLab APIs over
// httptest, answering with the JSON shapes the real services send, for
// tests and benchmarks of the upstream providers.
package fakeupstream

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// base is what every fake shares: the server, outage and rate-limit
// switches, and the request log.
type base struct {
	srv   *httptest.Server
	calls atomic.Int64

	mu         sync.Mutex
	down       bool
	retryAfter time.Duration
	requests   []string
}

func (b *base) start(h http.Handler) {
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.calls.Add(1)
		b.mu.Lock()
		// RequestURI is the target as sent, so tests can assert escaping.
		b.requests = append(b.requests, r.Method+" "+r.RequestURI)
		down, retryAfter := b.down, b.retryAfter
		b.mu.Unlock()
		switch {
		case retryAfter > 0:
			secs := int((retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		case down:
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		default:
			h.ServeHTTP(w, r)
		}
	}))
}

// URL is the server's root, e.g. "http://127.0.0.1:41234".
func (b *base) URL() string { return b.srv.URL }

// Close shuts the server down.
func (b *base) Close() { b.srv.Close() }

// Down makes every request answer 503 until Down(false).
func (b *base) Down(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = down
}

// RateLimit makes every request answer 429 with Retry-After (whole seconds,
// rounded up) until RateLimit(0).
func (b *base) RateLimit(retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.retryAfter = retryAfter
}

// Calls is the number of requests served, failed ones included.
func (b *base) Calls() int64 { return b.calls.Load() }

// Requests lists the requests served, in order, as "GET /path?query" with
// the path and query as sent.
func (b *base) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Reset forgets calls and requests and ends Down and RateLimit. The items
// stay.
func (b *base) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls.Store(0)
	b.requests = nil
	b.down = false
	b.retryAfter = 0
}
