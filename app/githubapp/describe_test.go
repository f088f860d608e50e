package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestDescribe(t *testing.T) {
	req := &http.Request{Method: "POST", URL: &url.URL{Scheme: "https", Host: "api.github.com", Path: "/repos/o/r/check-runs"},
		Header: http.Header{"Authorization": {"token ghs_secret"}}}
	resp := func(status int, statusText string) *http.Response {
		return &http.Response{StatusCode: status, Status: statusText,
			Header: http.Header{"X-Github-Request-Id": {"1234:ABCD"}}, Request: req}
	}
	ninety := 90 * time.Second
	reset := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "bad gateway", err: &github.ErrorResponse{Response: resp(502, "502 Bad Gateway")},
			want: "GitHub answered 502 Bad Gateway (request 1234:ABCD) for POST /repos/o/r/check-runs"},
		{name: "validation failed with message", err: fmt.Errorf("dco: %w", &github.ErrorResponse{Response: resp(422, ""), Message: "Validation Failed"}),
			want: "GitHub answered 422 Unprocessable Entity (request 1234:ABCD) for POST /repos/o/r/check-runs: Validation Failed"},
		{name: "go-github primary limit", err: &github.RateLimitError{Response: resp(403, "403 Forbidden"), Rate: github.Rate{Reset: github.Timestamp{Time: reset}}},
			want: "GitHub primary rate limit: GitHub answered 403 Forbidden (request 1234:ABCD) for POST /repos/o/r/check-runs; retry after 2026-03-01T13:00:00Z"},
		{name: "go-github secondary limit", err: &github.AbuseRateLimitError{Response: resp(403, "403 Forbidden"), RetryAfter: &ninety},
			want: "GitHub secondary rate limit: GitHub answered 403 Forbidden (request 1234:ABCD) for POST /repos/o/r/check-runs; retry in 1m30s"},
		{name: "ours, inside url.Error", err: &url.Error{Op: "Post", URL: "https://api.github.com/repos/o/r/check-runs",
			Err: &RateLimitError{Reset: reset, Secondary: true, RequestID: "1234:ABCD", StatusCode: 403, Method: "POST", Path: "/repos/o/r/check-runs"}},
			want: "GitHub secondary rate limit: answered 403 (request 1234:ABCD) for POST /repos/o/r/check-runs; retry after 2026-03-01T13:00:00Z"},
		{name: "held back by pacing", err: &RateLimitError{Reset: reset, Secondary: true, Method: "POST", Path: "/repos/o/r/issues/1/comments"},
			want: "GitHub secondary rate limit: request held back for POST /repos/o/r/issues/1/comments; retry after 2026-03-01T13:00:00Z"},
		{name: "primary, ours", err: &RateLimitError{Reset: reset, RequestID: "R", StatusCode: 403, Resource: "core", Method: "GET", Path: "/repos/o/r"},
			want: "GitHub primary rate limit (core): answered 403 (request R) for GET /repos/o/r; retry after 2026-03-01T13:00:00Z"},
		{name: "network", err: &url.Error{Op: "Get", URL: "https://api.github.com/repos/o/r?per_page=100", Err: errors.New("after 3 attempts: connection reset by peer")},
			want: "GitHub request GET /repos/o/r failed: after 3 attempts: connection reset by peer"},
		{name: "deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded),
			want: "GitHub request abandoned: x: context deadline exceeded"},
		{name: "other", err: errors.New("boom"), want: "GitHub request failed: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.err); got != tt.want {
				t.Errorf("Describe =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}
