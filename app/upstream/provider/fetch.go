package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

// Fetcher checks references of one provider on one host. It returns one
// Result per ref, keyed by Ref.Key(). A ref that does not exist or is not
// visible gets State Unavailable (Raw says why, e.g. "not found (404)"); an
// outage or rate limit gives Err (last known state is kept by the caller).
type Fetcher interface {
	Fetch(ctx context.Context, refs []link.Ref) map[string]Result
}

// Defaults shared by the fetchers.
const (
	// MaxBody is the most any one answer may be, whatever was asked:
	// each fetcher caps its answers lower, to what its request can need
	// (see get), so that a misbehaving or hostile upstream cannot make the
	// poller hold more than the request is worth.
	MaxBody = 10 << 20
	// DefaultTimeout bounds one request, so one stuck connection cannot hold
	// a whole poll.
	DefaultTimeout = 30 * time.Second
	userAgent      = "contribot (+https://github.com/SovereignCloudStack/contribot)"
)

// RateLimitError is an upstream saying "slow down" (HTTP 429, GitHub's rate
// limits) or "not now" (HTTP 503). The fetcher stops calling that host for
// the rest of the Fetch; refs it skipped carry the same error.
type RateLimitError struct {
	Provider string
	Host     string
	Status   int
	// RetryAfter is the upstream's Retry-After, zero if it sent none.
	RetryAfter time.Duration
	// Skipped is set on the copies given to refs that were never asked for.
	Skipped bool
}

func (e *RateLimitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Provider, e.Host)
	if e.Status == http.StatusServiceUnavailable {
		b.WriteString("unavailable (503)")
	} else if e.Status != 0 {
		fmt.Fprintf(&b, "rate limited (%d)", e.Status)
	} else {
		b.WriteString("rate limited")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Skipped {
		b.WriteString("; not asked in this poll")
	}
	return b.String()
}

// skipped is the error for a ref left unasked because of e.
func (e *RateLimitError) skipped() error {
	c := *e
	c.Skipped = true
	return &c
}

// StatusError is an HTTP answer that says nothing about the item itself
// (a 5xx, an unexpected 4xx).
type StatusError struct {
	Code int
	// Body is the start of the answer, for the log.
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("HTTP %d", e.Code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body)
}

// ErrTooLarge is an answer over the cap of its request.
var ErrTooLarge = errors.New("answer larger than its request can need")

// response is a read, size-capped answer.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// getter holds what every HTTP fetcher shares: the client, the request
// timeout, the call counter and the host's public name.
type getter struct {
	client  *http.Client
	timeout time.Duration
	calls   *atomic.Int64
	// name is the host as links name it ("review.opendev.org"), for the
	// public text of failures: never the API base an operator may have
	// pointed elsewhere (UPSTREAM_ENDPOINTS), which is theirs to know.
	name string
}

// newGetter returns a getter for the API at base. A nil client gets the
// guarded Transport with no allowance, so a fetcher built without thought
// still cannot reach internal addresses.
func newGetter(c *http.Client, base string) getter {
	if c == nil {
		c = &http.Client{Transport: Transport(Allowance{})}
	}
	return getter{client: c, timeout: DefaultTimeout, calls: new(atomic.Int64), name: hostOf(base)}
}

// get performs one GET and reads at most limit bytes of the answer (never
// more than MaxBody): the caller sizes it to what it asked for, so what a
// host sends beyond that costs nothing. Any status is returned as a
// response; only transport failures are errors, and they are Failures that
// name the host and nothing else.
func (g getter) get(ctx context.Context, url string, limit int64) (response, error) {
	limit = min(limit, MaxBody)
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return response{}, unreachable(g.name, fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	g.calls.Add(1)
	resp, err := g.client.Do(req)
	if err != nil {
		return response{}, unreachable(g.name, err)
	}
	defer resp.Body.Close()
	// A length the host announces beyond the cap is refused unread.
	if resp.ContentLength > limit {
		return response{}, tooLarge(g.name, limit, url)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return response{}, unreachable(g.name, fmt.Errorf("read answer: %w", err))
	}
	if int64(len(body)) > limit {
		return response{}, tooLarge(g.name, limit, url)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: body}, nil
}

// tooLarge is the failure of an answer over limit bytes.
func tooLarge(host string, limit int64, url string) *Failure {
	return &Failure{Public: host + " sent an answer over " + size(limit), Cause: fmt.Errorf("GET %s: %w (%d bytes)", url, ErrTooLarge, limit)}
}

// size writes a byte count for people: "800 KiB", "4 MiB".
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Calls is the number of HTTP requests the fetcher has made.
func (g getter) Calls() int64 { return g.calls.Load() }

// statusError describes an unexpected answer: publicly by its status,
// with a short excerpt of the body for the log only (an internal service's
// answer must not reach the public page).
func (g getter) statusError(r response) error {
	body := strings.TrimSpace(string(r.body))
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return answered(g.name, r.code, &StatusError{Code: r.code, Body: body})
}

// throttled reports whether the answer asks us to stop calling the host
// (429, and 503 when also503) and builds the error for it.
func throttled(provider, host string, r response, also503 bool) (*RateLimitError, bool) {
	if r.code != http.StatusTooManyRequests && (!also503 || r.code != http.StatusServiceUnavailable) {
		return nil, false
	}
	return &RateLimitError{
		Provider:   provider,
		Host:       host,
		Status:     r.code,
		RetryAfter: parseRetryAfter(r.header.Get("Retry-After"), time.Now()),
	}, true
}

// parseRetryAfter reads both forms HTTP allows: delay-seconds and an
// HTTP-date. Zero when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// unavailable is the Result for a ref the upstream says does not exist or
// is not visible.
func unavailable(raw string) Result {
	return Result{Status: Status{State: Unavailable, Raw: raw}}
}

// oneByOne asks for each ref with fetchOne, into out. When fetchOne says
// stop (a rate limit, an outage), the rest get that error unasked: every
// further request would fail the same way, and spend what quota is left.
func oneByOne(out map[string]Result, refs []link.Ref, fetchOne func(link.Ref) (Result, error)) map[string]Result {
	for i, r := range refs {
		res, stop := fetchOne(r)
		out[r.Key()] = res
		if stop != nil {
			failAll(out, refs[i+1:], stop)
			break
		}
	}
	return out
}

// failAll gives err to every ref in refs not yet in out.
func failAll(out map[string]Result, refs []link.Ref, err error) {
	for _, r := range refs {
		if _, ok := out[r.Key()]; !ok {
			out[r.Key()] = Result{Err: err}
		}
	}
}

// dedupe drops refs with the same key, keeping the first: two spellings of
// one link must not cost two requests.
func dedupe(refs []link.Ref) []link.Ref {
	seen := make(map[string]bool, len(refs))
	out := make([]link.Ref, 0, len(refs))
	for _, r := range refs {
		k := r.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// withSlash makes a base URL end in "/", so paths can be appended.
func withSlash(base string) string {
	if strings.HasSuffix(base, "/") {
		return base
	}
	return base + "/"
}
