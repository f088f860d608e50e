package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/SovereignCloudStack/contribot/app"
)

// The operations surface as the service mounts it: the admin view only
// with its token, the registration flow only when enabled, and the queue's
// depth among the metrics.
func TestOperationsSurfaceIsMounted(t *testing.T) {
	get := func(t *testing.T, url, bearer string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Run("defaults", func(t *testing.T) {
		e := start(t, setup{})
		for path, want := range map[string]int{"/admin/jobs": http.StatusNotFound, "/setup": http.StatusNotFound} {
			if code, _ := get(t, e.url+path, ""); code != want {
				t.Errorf("GET %s = %d, want %d (off unless configured)", path, code, want)
			}
		}
		// One delivery worked end to end, then every family the operators
		// watch is on /metrics.
		e.send("pull_request", payload(t, "pull_request/opened.json", map[string]any{"pull_request.labels": []any{}}))
		e.waitChecks(1)
		_, body := get(t, e.url+"/metrics", "")
		for _, family := range []string{
			`contribot_deliveries_total{event="pull_request",result="queued"}`,
			`contribot_queue_depth{queue="priority",state="available"}`,
			`contribot_job_latency_seconds_count{feature="dco"}`,
			`contribot_github_requests_total{`,
			`contribot_github_rate_limit_remaining{resource="core"}`,
		} {
			if !strings.Contains(body, family) {
				t.Errorf("/metrics lacks %s", family)
			}
		}
	})
	t.Run("configured", func(t *testing.T) {
		e := start(t, setup{configure: func(c *app.Config) {
			c.AdminToken = "admin-token-for-tests"
			c.SetupEnabled = true
			c.PublicURL = "https://contribot.example.org"
			c.GitHubWebURL = "https://github.com/"
		}})
		if code, _ := get(t, e.url+"/admin/jobs", ""); code != http.StatusUnauthorized {
			t.Errorf("admin without the token = %d, want 401", code)
		}
		if code, body := get(t, e.url+"/admin/jobs", "admin-token-for-tests"); code != http.StatusOK || !strings.Contains(body, "<table") && !strings.Contains(strings.ToLower(body), "no failed jobs") {
			t.Errorf("admin with the token = %d:\n%.300s", code, body)
		}
		code, body := get(t, e.url+"/setup", "")
		if code != http.StatusOK || !strings.Contains(body, `name="manifest"`) || !strings.Contains(body, "https://contribot.example.org/webhook") {
			t.Errorf("/setup = %d, want the registration form carrying the manifest:\n%.400s", code, body)
		}
	})
}
