package provider

import (
	"net/http"
	"sync"

	"golang.org/x/time/rate"
)

// Limit returns a copy of c whose requests wait for a per-host token bucket
// of perSecond requests a second with the given burst: upstreams are shared
// community infrastructure, and a poll of thousands of items must not look
// like an attack. The wait ends early when the request's context does.
// perSecond <= 0 returns c unchanged; burst < 1 counts as 1.
func Limit(c *http.Client, perSecond float64, burst int) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	if perSecond <= 0 {
		return c
	}
	if burst < 1 {
		burst = 1
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	lc := *c
	lc.Transport = &limitTransport{next: next, every: rate.Limit(perSecond), burst: burst, hosts: map[string]*rate.Limiter{}}
	return &lc
}

type limitTransport struct {
	next  http.RoundTripper
	every rate.Limit
	burst int

	mu    sync.Mutex
	hosts map[string]*rate.Limiter
}

func (t *limitTransport) limiter(host string) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.hosts[host]
	if !ok {
		l = rate.NewLimiter(t.every, t.burst)
		t.hosts[host] = l
	}
	return l
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter(req.URL.Host).Wait(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}
