package githubapp

import (
	"net/http"
	"sync"
	"time"
)

// pacer spaces the writes of each installation with its own token bucket.
// GitHub's secondary limits (points per minute, content creation) apply per
// installation and advise serial writes; a bucket per installation keeps one
// busy organisation from tripping them without making quiet organisations
// queue behind it (the Probot DCO app paces the whole app at 1/s).
// Reads are not paced, but do respect a pause: after a 403/429 with
// Retry-After, GitHub asks for no requests at all until it passes, and
// after one that says the quota is spent, none can succeed before its reset.
type pacer struct {
	next     http.RoundTripper
	rate     float64 // tokens per second; <= 0 disables pacing of writes
	burst    float64
	maxPause time.Duration // a longer pause is returned as *RateLimitError
	now      func() time.Time
	sleep    SleepFunc

	mu      sync.Mutex
	buckets map[identity]*bucket
}

type bucket struct {
	tokens      float64
	last        time.Time
	pausedUntil time.Time
	// primary: the pause is a spent quota, not a secondary limit, which
	// the error held-back requests get must say.
	primary bool
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	id := identityFrom(req.Context())
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	wait, err := p.reserve(id, write)
	if err != nil {
		closeRequestBody(req)
		err.Method, err.Path = req.Method, req.URL.Path
		return nil, err
	}
	// A pause can grow while this request sleeps (another request met a
	// limit): it is sent only once no pause holds.
	for wait > 0 {
		if err := p.sleep(req.Context(), wait); err != nil {
			if write {
				p.unreserve(id)
			}
			closeRequestBody(req)
			return nil, err
		}
		var held *RateLimitError
		if wait, held = p.pauseLeft(id, write); held != nil {
			if write {
				p.unreserve(id)
			}
			closeRequestBody(req)
			held.Method, held.Path = req.Method, req.URL.Path
			return nil, held
		}
	}
	resp, rtErr := p.next.RoundTrip(req)
	if rtErr == nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) {
		now := p.now()
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			p.pause(id, d)
		} else if reset, ok := parseReset(resp.Header.Get("X-RateLimit-Reset")); ok && resp.Header.Get("X-RateLimit-Remaining") == "0" {
			// The installation's core quota is spent: every other request
			// of it would meet the same 403 until the reset, so none is
			// sent. Search, code search and GraphQL have quotas of their
			// own; spending one stops nothing else.
			if res := resp.Header.Get("X-RateLimit-Resource"); res == "" || res == "core" {
				p.pausePrimary(id, reset.Sub(now))
			}
		}
	}
	return resp, rtErr
}

// pauseLeft is how much of the installation's pause is left, or the
// pause as a *RateLimitError when it is longer than a worker waits.
//
// A write waits at most maxWriteWait, as in reserve: past that it goes
// back to the queue rather than parking a worker.
func (p *pacer) pauseLeft(id identity, write bool) (time.Duration, *RateLimitError) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	b := p.bucketLocked(id, now)
	if !b.pausedUntil.After(now) {
		return 0, nil
	}
	limit := p.maxPause
	if write {
		limit = min(limit, maxWriteWait)
	}
	if left := b.pausedUntil.Sub(now); left <= limit {
		return left, nil
	}
	return 0, &RateLimitError{Reset: b.pausedUntil, Secondary: !b.primary}
}

// maxWriteWait is the longest a write sleeps in a worker for its turn.
const maxWriteWait = 2 * time.Second

// reserve takes a token (for writes) and says how long to wait before
// sending. The token is taken up front, possibly driving the bucket
// negative, so that concurrent writers queue in arrival order.
func (p *pacer) reserve(id identity, write bool) (time.Duration, *RateLimitError) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	b := p.bucketLocked(id, now)
	var wait time.Duration
	if b.pausedUntil.After(now) {
		wait = b.pausedUntil.Sub(now)
		if wait > p.maxPause {
			return 0, &RateLimitError{Reset: b.pausedUntil, Secondary: !b.primary}
		}
	}
	if write && p.rate > 0 {
		b.tokens += now.Sub(b.last).Seconds() * p.rate
		if b.tokens > p.burst {
			b.tokens = p.burst
		}
		b.last = now
		b.tokens--
		if b.tokens < 0 {
			wait = max(wait, time.Duration(-b.tokens/p.rate*float64(time.Second)))
		}
		// A busy installation must not park every worker in a sleep while
		// other installations' jobs wait: past a short wait, hand the job
		// back to the queue (snoozed until its turn) and keep no token.
		if wait > maxWriteWait {
			b.tokens++
			return 0, &RateLimitError{Reset: now.Add(wait)}
		}
	}
	return wait, nil
}

// unreserve returns the token of a write whose caller gave up waiting.
func (p *pacer) unreserve(id identity) {
	if p.rate <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if b, ok := p.buckets[id]; ok {
		b.tokens = min(b.tokens+1, p.burst)
	}
}

func (p *pacer) pause(id identity, d time.Duration) { p.pauseFor(id, d, false) }

func (p *pacer) pausePrimary(id identity, d time.Duration) { p.pauseFor(id, d, true) }

func (p *pacer) pauseFor(id identity, d time.Duration, primary bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	b := p.bucketLocked(id, now)
	if until := now.Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
		b.primary = primary
	}
}

func (p *pacer) forget(id identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.buckets, id)
}

func (p *pacer) bucketLocked(id identity, now time.Time) *bucket {
	b, ok := p.buckets[id]
	if !ok {
		b = &bucket{tokens: p.burst, last: now}
		p.buckets[id] = b
	}
	return b
}
