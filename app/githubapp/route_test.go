package githubapp

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestRoute(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/repos/octocat/Hello-World/pulls/1347/commits", "/repos/{owner}/{repo}/pulls/{number}/commits"},
		{"/repos/octocat/Hello-World/pulls/1347/files?per_page=100&page=2", "/repos/{owner}/{repo}/pulls/{number}/files"},
		{"/repos/octocat/Hello-World/pulls/1347", "/repos/{owner}/{repo}/pulls/{number}"},
		{"/repos/octocat/Hello-World/check-runs", "/repos/{owner}/{repo}/check-runs"},
		{"/repos/octocat/Hello-World/check-runs/4", "/repos/{owner}/{repo}/check-runs/{check_run_id}"},
		{"/repos/octocat/Hello-World/issues/comments/1", "/repos/{owner}/{repo}/issues/comments/{comment_id}"},
		{"/repos/octocat/Hello-World/issues/7/comments", "/repos/{owner}/{repo}/issues/{number}/comments"},
		{"/repos/octocat/Hello-World/issues/7/labels/area%2Fiaas", "/repos/{owner}/{repo}/issues/{number}/labels/{name}"},
		{"/repos/octocat/Hello-World/contents/.github/contribot.yml", "/repos/{owner}/{repo}/contents/{path...}"},
		{"/repos/octocat/Hello-World/contents", "/repos/{owner}/{repo}/contents"},
		{"/repos/octocat/Hello-World/commits/6dcb09b/status", "/repos/{owner}/{repo}/commits/{ref}/status"},
		{"/repos/octocat/Hello-World/git/refs/heads/feature/x", "/repos/{owner}/{repo}/git/refs/{ref...}"},
		{"/repos/octocat/Hello-World", "/repos/{owner}/{repo}"},
		{"/app/installations/99/access_tokens", "/app/installations/{installation_id}/access_tokens"},
		{"/app/hook/deliveries", "/app/hook/deliveries"},
		{"/app/hook/deliveries/12345/attempts", "/app/hook/deliveries/{delivery_id}/attempts"},
		{"/orgs/SovereignCloudStack/members/alice", "/orgs/{org}/members/{username}"},
		{"/search/issues", "/search/issues"},
		{"/", "/"},
		{"", "/"},
		// Unknown paths keep their API nouns and hide names and ids.
		{"/repos/octocat/Hello-World/branches/main/protection", "/repos/{owner}/{repo}/branches/…"},
		{"/repos/octocat/Hello-World/Zzz", "/repos/{owner}/{repo}/…"},
		{"/users/octocat/repos", "/users/{username}/repos"},
		{"/orgs/scs/teams/x/y/z", "/orgs/{org}/teams/…"},
		{"/gists/aa5a315d61ae9438b18d", "/gists/…"},
		{"/notifications", "/notifications"},
		{"/12345/abc", "/…"},
	}
	for _, tt := range tests {
		if got := Route(tt.path); got != tt.want {
			t.Errorf("Route(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestStripBase(t *testing.T) {
	tests := []struct{ path, base, want string }{
		{"/api/v3/repos/o/r", "/api/v3", "/repos/o/r"},
		{"/repos/o/r", "", "/repos/o/r"},
		{"/api/v3x/repos", "/api/v3", "/api/v3x/repos"},
	}
	for _, tt := range tests {
		if got := stripBase(tt.path, tt.base); got != tt.want {
			t.Errorf("stripBase(%q, %q) = %q, want %q", tt.path, tt.base, got, tt.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	env := newTestEnv(t)
	s := &scripted{t: t, replies: []reply{
		{status: 502},
		{status: 200, header: map[string]string{"X-RateLimit-Remaining": "4321", "X-RateLimit-Resource": "core"}},
	}}
	env.gh.setAPI(s.serve)
	if _, _, err := env.app.Installation(1).PullRequests.ListCommits(context.Background(), "octocat", "Hello-World", 1347, nil); err != nil {
		t.Fatal(err)
	}
	route := "/repos/{owner}/{repo}/pulls/{number}/commits"
	tokenRoute := "/app/installations/{installation_id}/access_tokens"
	counts := []struct {
		method, route, status string
		want                  float64
	}{
		{"GET", route, "502", 1},
		{"GET", route, "200", 1},
		{"POST", tokenRoute, "201", 1},
	}
	for _, c := range counts {
		if got := metricValue(t, env.reg, "contribot_github_requests_total",
			map[string]string{"method": c.method, "route": c.route, "status": c.status}); got != c.want {
			t.Errorf("requests_total{%s %s %s} = %v, want %v", c.method, c.route, c.status, got, c.want)
		}
	}
	if got := metricValue(t, env.reg, "contribot_github_request_duration_seconds",
		map[string]string{"method": "GET", "route": route}); got != 2 {
		t.Errorf("latency observations = %v, want 2 (one per attempt)", got)
	}
	if got := metricValue(t, env.reg, "contribot_github_rate_limit_remaining",
		map[string]string{"resource": "core"}); got != 4321 {
		t.Errorf("rate_limit_remaining{core} = %v, want 4321", got)
	}

	// A second App on the same registerer reuses the collectors.
	if _, err := New(Config{AppID: testAppID, PrivateKey: pkcs1PEM()}, WithRegisterer(env.reg)); err != nil {
		t.Fatalf("second New on one registry: %v", err)
	}
}

// metricValue returns a counter's or gauge's value, or a histogram's sample
// count, for the series with exactly these labels.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return valueOf(m)
		}
	}
	return 0
}

func valueOf(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}
