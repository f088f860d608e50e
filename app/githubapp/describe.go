package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Describe renders a GitHub client error as one sentence fit for check run
// text and logs, e.g.
//
//	GitHub answered 502 Bad Gateway (request 1234:ABCD) for POST /repos/o/r/check-runs
//
// It names status, X-GitHub-Request-Id (what GitHub support asks for),
// method and path. It never includes headers, so no credential can end up
// in it.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var (
		ours     *RateLimitError
		primary  *github.RateLimitError
		abuse    *github.AbuseRateLimitError
		response *github.ErrorResponse
		accepted *github.AcceptedError
		urlErr   *url.Error
	)
	switch {
	case errors.As(err, &ours):
		return ours.Error()
	case errors.As(err, &primary):
		return fmt.Sprintf("GitHub primary rate limit: %s; retry after %s",
			describeResponse(primary.Response), primary.Rate.Reset.UTC().Format("2006-01-02T15:04:05Z"))
	case errors.As(err, &abuse):
		s := "GitHub secondary rate limit: " + describeResponse(abuse.Response)
		if abuse.RetryAfter != nil {
			s += fmt.Sprintf("; retry in %s", *abuse.RetryAfter)
		}
		return s
	case errors.As(err, &response):
		s := describeResponse(response.Response)
		if response.Message != "" {
			s += ": " + response.Message
		}
		return s
	case errors.As(err, &accepted):
		return "GitHub accepted the request and is still processing it (202)"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "GitHub request abandoned: " + err.Error()
	case errors.As(err, &urlErr):
		path := urlErr.URL
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			path = u.Path
		}
		return fmt.Sprintf("GitHub request %s %s failed: %v", strings.ToUpper(urlErr.Op), path, urlErr.Err)
	}
	return "GitHub request failed: " + err.Error()
}

// describeResponse is "GitHub answered 502 Bad Gateway (request ID) for
// METHOD /path" from whatever parts the response has.
func describeResponse(resp *http.Response) string {
	if resp == nil {
		return "GitHub gave no response"
	}
	var b strings.Builder
	status := resp.Status
	if status == "" || !strings.HasPrefix(status, fmt.Sprint(resp.StatusCode)) {
		status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	b.WriteString("GitHub answered " + strings.TrimSpace(status))
	if id := requestIDOf(resp); id != "" {
		b.WriteString(" (request " + id + ")")
	}
	if req := resp.Request; req != nil && req.URL != nil {
		b.WriteString(" for " + req.Method + " " + req.URL.Path)
	}
	return b.String()
}

func requestIDOf(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	return resp.Header.Get("X-GitHub-Request-Id")
}
