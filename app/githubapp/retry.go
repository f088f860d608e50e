package githubapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// RetryPolicy bounds how hard one request tries. The zero value of each
// field means its default.
type RetryPolicy struct {
	// MaxAttempts counts the first try (default 3).
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt; it doubles per
	// attempt, with jitter (default 250ms).
	BaseDelay time.Duration
	// MaxDelay caps one backoff sleep (default 5s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest secondary-rate-limit wait that is slept
	// through in process (default 10s). Longer waits are returned as
	// *RateLimitError so that the job goes back to the queue instead of
	// holding a worker.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 10 * time.Second
	}
	return p
}

// RateLimitError says GitHub refused a request because of a rate limit and
// when it is worth trying again. It is returned instead of waiting whenever
// the wait is longer than RetryPolicy.MaxRetryAfter.
type RateLimitError struct {
	// Reset is when the request may be made again.
	Reset time.Time
	// Secondary is true for GitHub's abuse-protection limits (concurrency,
	// points per minute, content creation), false for the hourly quota.
	Secondary bool
	// RequestID is X-GitHub-Request-Id; empty when no request was sent
	// because the installation was already known to be paused.
	RequestID string
	// StatusCode is 403 or 429; 0 when no request was sent.
	StatusCode int
	// Resource is X-RateLimit-Resource ("core", "search", ...), if given.
	Resource string
	Method   string
	Path     string
}

func (e *RateLimitError) Error() string {
	kind := "primary rate limit"
	if e.Secondary {
		kind = "secondary rate limit"
	}
	if e.Resource != "" {
		kind += " (" + e.Resource + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GitHub %s", kind)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": answered %d", e.StatusCode)
	} else {
		b.WriteString(": request held back")
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	if e.Method != "" {
		fmt.Fprintf(&b, " for %s %s", e.Method, e.Path)
	}
	fmt.Fprintf(&b, "; retry after %s", e.Reset.UTC().Format(time.RFC3339))
	return b.String()
}

// RetryAfter tells the job layer how long to snooze after err, for the rate
// limit errors this package and go-github produce. ok is false for any other
// error. The result is at least one second so that a reset that has just
// passed does not turn into a hot loop.
func RetryAfter(err error) (time.Duration, bool) {
	return retryAfterAt(err, time.Now())
}

// Refused reports GitHub answering a request with a 4xx that is no rate
// limit (a missing permission, a locked or deleted item, a validation
// error): asking again gives the same answer, so a job should stop.
func Refused(err error) (status int, ok bool) {
	if _, limited := RetryAfter(err); limited {
		return 0, false
	}
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response == nil || ge.Response.StatusCode < 400 || ge.Response.StatusCode >= 500 {
		return 0, false
	}
	return ge.Response.StatusCode, true
}

func retryAfterAt(err error, now time.Time) (time.Duration, bool) {
	var (
		ours    *RateLimitError
		primary *github.RateLimitError
		abuse   *github.AbuseRateLimitError
	)
	var d time.Duration
	switch {
	case errors.As(err, &ours):
		d = ours.Reset.Sub(now)
	case errors.As(err, &primary):
		d = primary.Rate.Reset.Time.Sub(now)
	case errors.As(err, &abuse):
		d = secondaryDefaultWait
		if abuse.RetryAfter != nil {
			d = *abuse.RetryAfter
		}
	default:
		return 0, false
	}
	return max(d, time.Second), true
}

// GitHub: on a secondary rate limit without Retry-After, "wait for at least
// one minute before retrying".
const secondaryDefaultWait = time.Minute

type limitKind int

const (
	notLimited limitKind = iota
	primaryLimit
	secondaryLimit
)

// rateLimit classifies a 403/429 response following GitHub's rules:
// Retry-After wins; then a body that names the secondary limit; then
// X-RateLimit-Remaining: 0 for the primary quota. A bare 429 is treated as
// secondary. Any other 403 is a permission problem, not a limit.
// It may peek at the body and then restores it.
func rateLimit(resp *http.Response, now time.Time) (limitKind, time.Time) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return notLimited, time.Time{}
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		return secondaryLimit, now.Add(d)
	}
	reset, hasReset := parseReset(resp.Header.Get("X-RateLimit-Reset"))
	exhausted := resp.Header.Get("X-RateLimit-Remaining") == "0"
	if mentionsSecondary(resp) {
		if exhausted && hasReset {
			return secondaryLimit, reset
		}
		return secondaryLimit, now.Add(secondaryDefaultWait)
	}
	if exhausted {
		if !hasReset {
			reset = now.Add(secondaryDefaultWait)
		}
		return primaryLimit, reset
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return secondaryLimit, now.Add(secondaryDefaultWait)
	}
	return notLimited, time.Time{}
}

func mentionsSecondary(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	peek, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	lower := bytes.ToLower(peek)
	return bytes.Contains(lower, []byte("secondary rate limit")) ||
		bytes.Contains(lower, []byte("secondary-rate-limits")) ||
		bytes.Contains(lower, []byte("abuse detection"))
}

type readCloser struct {
	io.Reader
	io.Closer
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return max(time.Duration(secs)*time.Second, 0), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func parseReset(v string) (time.Time, bool) {
	secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

// retryTransport retries transient failures and turns rate limits into
// either a short in-process wait or a *RateLimitError.
//
// Which requests are replayed: any request whose body can be produced again
// (no body, or GetBody set; go-github always sets it), including POST and
// PATCH. That is a deliberate choice for contribot's writes: a second DCO
// check run for the same head SHA is harmless (GitHub shows the newest),
// adding labels is idempotent. Features that post comments send them with
// WithoutReplay and look for their own marked comment before a retry, so
// a comment GitHub applied but answered 502 for is not posted twice.
// A write that failed with a plain 500 may have been applied, so writes are
// replayed only on the gateway statuses 502/503/504 and on connection
// errors; idempotent methods also on other 5xx (not 501/505).
type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
	now    func() time.Time
	sleep  SleepFunc
	jitter func() float64 // in [0,1)
	log    *slog.Logger
	base   string // API base path, stripped from logged routes
}

// noReplayKey marks a request context: see WithoutReplay.
type noReplayKey struct{}

// WithoutReplay marks the writes made with ctx as ones the transport must
// send once: a failed attempt goes back to the caller, whose retry can
// look first whether GitHub applied it (a comment, found by its marker).
// Idempotent methods are still retried.
func WithoutReplay(ctx context.Context) context.Context {
	return context.WithValue(ctx, noReplayKey{}, true)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	_, replayable := replayBody(req)
	if ctx.Value(noReplayKey{}) != nil && !idempotent(req.Method) {
		replayable = false
	}
	cur := req
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(cur)
		if ctx.Err() != nil {
			// The caller gave up; the outcome of this attempt is moot.
			if resp != nil {
				drain(resp)
			}
			return nil, ctx.Err()
		}
		last := attempt >= t.policy.MaxAttempts || !replayable

		var wait time.Duration
		var held *RateLimitError
		switch {
		case errors.As(err, &held):
			// Pacing refused to send: the installation is paused for longer
			// than we would wait. Retrying here would only be refused again.
			return nil, err
		case err != nil:
			// Connection errors are retried for every method; see the type
			// comment for why that is acceptable for writes.
			if last {
				if attempt > 1 {
					return nil, fmt.Errorf("after %d attempts: %w", attempt, err)
				}
				return nil, err
			}
			wait = t.backoff(attempt)
			t.log.DebugContext(ctx, "retrying GitHub request after network error",
				"method", req.Method, "route", Route(stripBase(req.URL.EscapedPath(), t.base)),
				"attempt", attempt, "wait", wait, "error", err)
		default:
			kind, reset := rateLimit(resp, t.now())
			switch {
			case kind == primaryLimit:
				drain(resp)
				return nil, t.limitError(req, resp, reset, false)
			case kind == secondaryLimit:
				wait = max(reset.Sub(t.now()), 0)
				if last || wait > t.policy.MaxRetryAfter {
					drain(resp)
					return nil, t.limitError(req, resp, reset, true)
				}
				t.log.InfoContext(ctx, "GitHub secondary rate limit, waiting",
					"method", req.Method, "route", Route(stripBase(req.URL.EscapedPath(), t.base)),
					"wait", wait, "request_id", resp.Header.Get("X-GitHub-Request-Id"))
			case retryableStatus(req.Method, resp.StatusCode):
				if last {
					// go-github turns it into an *github.ErrorResponse
					// carrying status and request id.
					return resp, nil
				}
				wait = t.backoff(attempt)
				if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.now()); ok && d <= t.policy.MaxRetryAfter {
					wait = max(wait, d)
				}
				t.log.DebugContext(ctx, "retrying GitHub request",
					"method", req.Method, "route", Route(stripBase(req.URL.EscapedPath(), t.base)),
					"status", resp.StatusCode, "attempt", attempt, "wait", wait,
					"request_id", resp.Header.Get("X-GitHub-Request-Id"))
			default:
				return resp, nil
			}
			drain(resp)
		}

		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
		body, ok := replayBody(req)
		if !ok {
			return nil, fmt.Errorf("replaying %s request body for retry: body cannot be re-read", req.Method)
		}
		cur = req.Clone(ctx)
		cur.Body = body
	}
}

func (t *retryTransport) limitError(req *http.Request, resp *http.Response, reset time.Time, secondary bool) *RateLimitError {
	return &RateLimitError{
		Reset:      reset,
		Secondary:  secondary,
		RequestID:  resp.Header.Get("X-GitHub-Request-Id"),
		StatusCode: resp.StatusCode,
		Resource:   resp.Header.Get("X-RateLimit-Resource"),
		Method:     req.Method,
		Path:       req.URL.Path,
	}
}

// backoff is exponential with "equal jitter": half the delay is fixed so
// retries are never immediate, half random so that many workers hit by the
// same outage do not come back in lockstep.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.policy.BaseDelay << (attempt - 1)
	if d > t.policy.MaxDelay || d <= 0 {
		d = t.policy.MaxDelay
	}
	half := d / 2
	return half + time.Duration(t.jitter()*float64(d-half))
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func retryableStatus(method string, status int) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500 && status <= 599 && idempotent(method)
}

// SleepFunc waits for d or until ctx is done, returning ctx.Err() then.
// Tests inject one that records the wait and returns at once.
type SleepFunc func(ctx context.Context, d time.Duration) error

func realSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func defaultJitter() float64 { return rand.Float64() }
