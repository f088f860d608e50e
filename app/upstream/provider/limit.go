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
	return newLimits(perSecond, burst).client(c)
}

// limits are per-host token buckets, shared by every client made from
// them: a host is paced once, however many orgs' clients ask it.
type limits struct {
	every rate.Limit
	burst int

	mu    sync.Mutex
	hosts map[string]*rate.Limiter
}

func newLimits(perSecond float64, burst int) *limits {
	if burst < 1 {
		burst = 1
	}
	return &limits{every: rate.Limit(perSecond), burst: burst, hosts: map[string]*rate.Limiter{}}
}

// client is a copy of c whose requests wait for l.
func (l *limits) client(c *http.Client) *http.Client {
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	lc := *c
	lc.Transport = &limitTransport{next: next, limits: l}
	return &lc
}

func (l *limits) limiter(host string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.hosts[host]
	if !ok {
		lim = rate.NewLimiter(l.every, l.burst)
		l.hosts[host] = lim
	}
	return lim
}

type limitTransport struct {
	next   http.RoundTripper
	limits *limits
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limits.limiter(req.URL.Host).Wait(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// CloseIdleConnections passes on to the transport it wraps.
func (t *limitTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
