package app_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// internalService is something on the service's own network that upstream
// reads must never reach: it counts the connections it accepts.
type internalService struct {
	*httptest.Server
	accepted atomic.Int64
}

type countAccepts struct {
	net.Listener
	n *atomic.Int64
}

func (l countAccepts) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func newInternalService(t *testing.T) *internalService {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &internalService{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(")]}'\n[]"))
	}))
	s.Listener = countAccepts{Listener: ln, n: &s.accepted}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// TestUpstreamSSRF_RulesNameInternalHosts: an org admin points
// upstream.gerrit at the metadata service, a repository maintainer points
// upstream.gitlab at localhost and a private address, and a hostile
// upstream host an org admin names redirects to a port on loopback. None
// is connected to; the page, the API, the status comment and the
// dashboard say only "could not reach HOST" (never the dial, DNS or TLS
// error, which would map the service's network), and the log says why.
func TestUpstreamSSRF_RulesNameInternalHosts(t *testing.T) {
	t.Parallel()
	internal := newInternalService(t)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(hostile.Close)
	// The hostile host stands for a public one: the operator's endpoint
	// override, allowed for every org, is the only way to reach a test
	// server, and is trusted (its own host and port only).
	u := startUpstream(t, "", func(c *app.Config) {
		c.UpstreamEndpoints += ",gerrit:review.example.org=" + hostile.URL + "/"
		c.UpstreamAllowInternal += ",*=review.example.org"
	})
	u.fake.SetFile(owner, ".github", ".github/contribot.yml", []byte(upstreamRules+"  gerrit: [review.opendev.org, review.example.org, 169.254.169.254]\n"))
	u.fake.SetFile(owner, repo, ".github/contribot.yml", []byte("upstream:\n  gitlab: [localhost, 10.0.0.1]\n"))
	body := "Upstream: https://169.254.169.254/c/meta/+/1\n" +
		"Upstream: https://review.example.org/c/x/+/2\n" +
		"Upstream: https://localhost/group/p/-/merge_requests/3\n" +
		"Upstream: https://10.0.0.1/group/p/-/issues/4\n"
	u.fake.AddSearchItem(owner, repo, fakegithub.SearchItem{Number: 30, Author: "Codertocat", Body: body})
	u.send("issues", itemEvent(t, 1, owner, repo, false, 30, "Codertocat", body))
	u.waitCount(1, "status comment posted")
	u.waitCount(1, "dashboard opened")
	u.waitIdle()

	if n := internal.accepted.Load(); n != 0 {
		t.Errorf("%d connections reached the internal service", n)
	}
	want := map[string]string{
		"169.254.169.254":    "could not reach 169.254.169.254",
		"review.example.org": "could not reach review.example.org",
		"localhost":          "could not reach localhost",
		"10.0.0.1":           "could not reach 10.0.0.1",
	}
	api := getJSON(t, u.env, "/api/upstream")
	for _, r := range api.References {
		if w, ok := want[r.Host]; ok {
			if r.CheckError != w {
				t.Errorf("%s: check_error %q, want %q", r.URL, r.CheckError, w)
			}
			delete(want, r.Host)
		}
	}
	if len(want) != 0 {
		t.Errorf("references missing from /api/upstream: %v", want)
	}
	for where, text := range map[string]string{
		"the status comment": u.statusOf(owner, repo, 30),
		"the dashboard":      u.dashboardOf(owner, repo),
		"/upstream":          u.get(t, "/upstream"),
		"/api/upstream":      u.get(t, "/api/upstream"),
	} {
		for _, raw := range []string{"dial", "tcp", "connect", "lookup", "refused", "tls", "x509", ":443", ":80", "127.0.0.1", internal.URL} {
			if strings.Contains(strings.ToLower(text), raw) {
				t.Errorf("%s shows %q of a raw error:\n%s", where, raw, text)
			}
		}
	}
	for _, host := range []string{"169.254.169.254", "localhost", "10.0.0.1", "review.example.org"} {
		if u.countLog("upstream check failed", `"host":"`+host+`"`, `"internal_address_refused":true`) == 0 {
			t.Errorf("the log does not say the connection to %s was refused as internal", host)
		}
	}
}
