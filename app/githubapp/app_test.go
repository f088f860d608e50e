package githubapp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestAPIURLs(t *testing.T) {
	tests := []struct {
		in, base, upload string
	}{
		{"", "https://api.github.com/", "https://uploads.github.com/"},
		{"https://api.github.com", "https://api.github.com/", "https://uploads.github.com/"},
		// GitHub Enterprise Server, as go-github's WithEnterpriseURLs does it.
		{"https://ghes.example.com", "https://ghes.example.com/api/v3/", "https://ghes.example.com/api/uploads/"},
		{"https://ghes.example.com/", "https://ghes.example.com/api/v3/", "https://ghes.example.com/api/uploads/"},
		{"https://ghes.example.com/api/v3/", "https://ghes.example.com/api/v3/", "https://ghes.example.com/api/uploads/"},
		{"https://ghes.example.com/api/v3", "https://ghes.example.com/api/v3/", "https://ghes.example.com/api/uploads/"},
		// GHE.com data residency hosts are already API hosts.
		{"https://api.octocorp.ghe.com/", "https://api.octocorp.ghe.com/", "https://uploads.octocorp.ghe.com/"},
		// Fakes and tests: used as given.
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"https://127.0.0.1:8443/", "https://127.0.0.1:8443/", "https://127.0.0.1:8443/"},
		{"http://[::1]:9/", "http://[::1]:9/", "http://[::1]:9/"},
		{"http://fakegithub:3001/", "http://fakegithub:3001/", "http://fakegithub:3001/"},
		{" https://ghes.example.com/?x=1#f ", "https://ghes.example.com/api/v3/", "https://ghes.example.com/api/uploads/"},
	}
	for _, tt := range tests {
		base, upload, err := apiURLs(tt.in)
		if err != nil {
			t.Errorf("apiURLs(%q): %v", tt.in, err)
			continue
		}
		if base.String() != tt.base || upload.String() != tt.upload {
			t.Errorf("apiURLs(%q) = %s, %s; want %s, %s", tt.in, base, upload, tt.base, tt.upload)
		}
	}
}

// TestEnterpriseServerRequests sends real requests for a GHES base URL and
// checks the paths that reach the server.
func TestEnterpriseServerRequests(t *testing.T) {
	env := newTestEnv(t)
	env.gh.setAPI(okRepo)
	target, _ := url.Parse(env.gh.srv.URL)

	var mu sync.Mutex
	var seen []string
	// Stands in for DNS and TLS: everything for ghes.example.com goes to the
	// fake, after recording what was asked for. The fake serves at its root.
	redirect := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		mu.Unlock()
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
		out.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v3")
		out.Host = ""
		return http.DefaultTransport.RoundTrip(out)
	})
	reg := prometheus.NewRegistry()
	app, err := New(Config{AppID: testAppID, PrivateKey: pkcs1PEM(), BaseURL: "https://ghes.example.com/"},
		WithBaseTransport(redirect), WithRegisterer(reg), WithClock(env.clock.Now), WithWritePacing(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if app.BaseURL() != "https://ghes.example.com/api/v3/" {
		t.Errorf("BaseURL = %s", app.BaseURL())
	}
	if _, _, err := app.Installation(8).Repositories.Get(context.Background(), "octocat", "Hello-World"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST https://ghes.example.com/api/v3/app/installations/8/access_tokens",
		"GET https://ghes.example.com/api/v3/repos/octocat/Hello-World",
	}
	if !slices.Equal(seen, want) {
		t.Errorf("requests = %q, want %q", seen, want)
	}
	// Routes in metrics are the same as on github.com.
	if got := metricValue(t, reg, "contribot_github_requests_total",
		map[string]string{"method": "GET", "route": "/repos/{owner}/{repo}", "status": "200"}); got != 1 {
		t.Errorf("GHES request not counted under the github.com route template")
	}
}

func TestCredentialsStayOnTheAPIHost(t *testing.T) {
	env := newTestEnv(t)
	var gotAuth []string
	var mu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		writeJSON(w, http.StatusOK, `{}`)
	}))
	defer other.Close()

	for _, c := range []struct {
		name string
		do   func() error
	}{
		{"installation", func() error {
			client := env.app.Installation(1)
			req, err := client.NewRequest("GET", other.URL+"/codeload/archive.tar.gz", nil)
			if err != nil {
				return err
			}
			_, err = client.Do(context.Background(), req, nil)
			return err
		}},
		{"app", func() error {
			client := env.app.AppClient()
			req, err := client.NewRequest("GET", other.URL+"/elsewhere", nil)
			if err != nil {
				return err
			}
			_, err = client.Do(context.Background(), req, nil)
			return err
		}},
	} {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	for i, a := range gotAuth {
		if a != "" {
			t.Errorf("request %d to a foreign host carried Authorization", i)
		}
	}
	if n := env.gh.tokenCalls.Load(); n != 0 {
		t.Errorf("a foreign-host request fetched %d tokens", n)
	}
}

func TestAppClientUsesJWT(t *testing.T) {
	env := newTestEnv(t)
	var auth string
	env.gh.setAPI(func(w http.ResponseWriter, r *http.Request, _ string) {
		auth = r.Header.Get("Authorization")
		if r.URL.Path != "/app/hook/deliveries" {
			t.Errorf("path = %s", r.URL.Path)
		}
		writeJSON(w, http.StatusOK, `[{"id":12345678,"guid":"0b989ba4-242f-11e5-81e1-c7b6966d2516","delivered_at":"2019-06-03T00:57:16Z","redelivery":false,"duration":0.27,"status":"OK","status_code":200,"event":"issues","action":"opened","installation_id":123,"repository_id":456}]`)
	})
	deliveries, _, err := env.app.AppClient().Apps.ListHookDeliveries(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 1 || deliveries[0].GetGUID() != "0b989ba4-242f-11e5-81e1-c7b6966d2516" {
		t.Errorf("deliveries = %+v", deliveries)
	}
	jwtText, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		t.Fatalf("Authorization scheme = %q, want Bearer", strings.SplitN(auth, " ", 2)[0])
	}
	if err := verifyAppJWT(jwtText, env.clock.Now()); err != nil {
		t.Errorf("JWT: %v", err)
	}
	if env.gh.tokenCalls.Load() != 0 {
		t.Error("the App client fetched an installation token")
	}
}

func TestInstallationClientsAreCachedPerInstallation(t *testing.T) {
	env := newTestEnv(t)
	a, b := env.app.Installation(1), env.app.Installation(1)
	if a != b {
		t.Error("same installation, different clients")
	}
	if env.app.Installation(2) == a {
		t.Error("different installations share a client")
	}
	env.app.InvalidateInstallation(1)
	if env.app.Installation(1) == a {
		t.Error("client survived InvalidateInstallation")
	}
	if got := a.BaseURL.String(); got != env.gh.srv.URL+"/" {
		t.Errorf("client BaseURL = %s", got)
	}
	if a.UserAgent != "contribot" {
		t.Errorf("UserAgent = %q", a.UserAgent)
	}
}
