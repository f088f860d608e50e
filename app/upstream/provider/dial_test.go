package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

// countingServer is a Gerrit on a loopback address that counts the
// connections it accepts: a refused dial never reaches it.
type countingServer struct {
	*httptest.Server
	accepted atomic.Int64
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func newCountingServer(t *testing.T, network, addr string, h http.Handler) *countingServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	s := &countingServer{}
	s.Server = httptest.NewUnstartedServer(h)
	s.Listener = countingListener{Listener: ln, n: &s.accepted}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// port is the server's port.
func (s *countingServer) port() string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

var gerritEmpty = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte(")]}'\n[]"))
})

// TestGuardRefusesInternalHosts: upstream hosts named in rules are dialled
// only on public addresses, checked after resolution; the refusal happens
// before any connection, and the public text names the host and nothing
// of the error. What the operator allows is reached on the port it names,
// or the scheme's, never on any port.
func TestGuardRefusesInternalHosts(t *testing.T) {
	v4 := newCountingServer(t, "tcp4", "127.0.0.1:0", gerritEmpty)
	v6 := newCountingServer(t, "tcp6", "[::1]:0", gerritEmpty)
	// A host that looks public to the guard because the operator allowed
	// it, and redirects to the loopback Gerrit.
	redirector := func(to string) *countingServer {
		return newCountingServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to+r.URL.RequestURI(), http.StatusFound)
		}))
	}
	toIP := redirector("http://127.0.0.1:" + v4.port())
	toName := redirector("http://localhost:" + v4.port())

	tests := []struct {
		attacker string
		host     string // the host as rules and links name it
		allow    string // UPSTREAM_ALLOW_INTERNAL
		target   *countingServer
		// listeners that must see no connection; target must see one when
		// allowed
		wantAllowed bool
	}{
		{attacker: "an org admin points upstream.gerrit at loopback", host: "127.0.0.1:" + v4.port(), target: v4},
		{attacker: "a repository maintainer names localhost, which resolves to loopback", host: "localhost:" + v4.port(), target: v4},
		{attacker: "an org admin names IPv6 loopback", host: "[::1]:" + v6.port(), target: v6},
		{attacker: "an org admin names loopback as an IPv4-mapped IPv6 address", host: "[::ffff:127.0.0.1]:" + v4.port(), target: v4},
		{attacker: "an org admin points upstream.gerrit at the metadata service", host: "169.254.169.254"},
		{attacker: "a repository maintainer names a private address", host: "10.0.0.1"},
		{attacker: "a repository maintainer names the unspecified address", host: "0.0.0.0:" + v4.port(), target: v4},
		{attacker: "an org admin names a carrier-grade NAT address", host: "100.64.0.1"},
		{attacker: "an org admin names a NAT64 address that embeds the metadata service", host: "[64:ff9b::a9fe:a9fe]"},
		{attacker: "an org admin's host redirects to loopback", host: "127.0.0.1:" + toIP.port(), allow: "*=127.0.0.1:" + toIP.port(), target: v4},
		{attacker: "an org admin's host redirects to localhost", host: "127.0.0.1:" + toName.port(), allow: "*=127.0.0.1:" + toName.port(), target: v4},
		{attacker: "an allowed port does not allow the host's other ports", host: "127.0.0.1:" + v4.port(), allow: "*=127.0.0.1:1", target: v4},
		{attacker: "a repository maintainer names another port of a host the operator allowed by name", host: "localhost:" + v4.port(), allow: "*=localhost", target: v4},
		{attacker: "a repository maintainer names another port of an address the operator allowed", host: "127.0.0.1:" + v4.port(), allow: "*=127.0.0.1", target: v4},
		{attacker: "a repository maintainer names a port in an allowed prefix", host: "127.0.0.1:" + v4.port(), allow: "*=127.0.0.0/8", target: v4},
		{attacker: "a name that resolves into an allowed prefix", host: "localhost:" + v4.port(), allow: "*=127.0.0.1:" + v4.port(), target: v4},
		{attacker: "another org's allowance", host: "127.0.0.1:" + v4.port(), allow: "bob-org=127.0.0.1:" + v4.port(), target: v4},
		// What the operator allows is reached.
		{attacker: "none: the operator allows the address and port", host: "127.0.0.1:" + v4.port(), allow: "*=127.0.0.1:" + v4.port(), target: v4, wantAllowed: true},
		{attacker: "none: the operator allows the name and port", host: "localhost:" + v4.port(), allow: "*=localhost:" + v4.port(), target: v4, wantAllowed: true},
		{attacker: "none: the operator allows an IPv6 address and port", host: "[::1]:" + v6.port(), allow: "*=[::1]:" + v6.port(), target: v6, wantAllowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.attacker, func(t *testing.T) {
			allow, err := ParseAllowance(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			before := int64(0)
			if tt.target != nil {
				before = tt.target.accepted.Load()
			}
			// http, as an Endpoints base would be; the Set builds https
			// URLs from rules, which the guard refuses all the same.
			g := NewGerrit(&http.Client{Transport: Transport(allow)}, "http://"+tt.host+"/", 0)
			g.name = tt.host
			ref := gerritRef(1)
			ref.Host = tt.host
			res := g.Fetch(context.Background(), []link.Ref{ref})[ref.Key()]
			var got int64
			if tt.target != nil {
				got = tt.target.accepted.Load() - before
			}
			if tt.wantAllowed {
				if res.Err != nil || got == 0 {
					t.Fatalf("allowed host: err %v, %d connections; want it reached", res.Err, got)
				}
				return
			}
			if got != 0 {
				t.Errorf("%d connections reached the internal listener, want none", got)
			}
			if !Blocked(res.Err) {
				t.Errorf("err = %v, want a connection refused by the guard", Detail(res.Err))
			}
			if pub, want := PublicText(res.Err), "could not reach "+tt.host; pub != want {
				t.Errorf("public text %q, want %q", pub, want)
			}
		})
	}
}

// TestGuard_RedirectIntoAllowedHost: the operator allows an org's internal
// Gerrit. A host that org's repository maintainer names, or any public
// host behind one, answers with a redirect into it, on another port and
// path: it is refused before any connection, and the page says only that
// the host could not be reached. A redirect within the allowed host
// itself is followed.
func TestGuard_RedirectIntoAllowedHost(t *testing.T) {
	internal := newCountingServer(t, "tcp4", "127.0.0.1:0", gerritEmpty)
	// The internal Gerrit moved its API under /r/.
	moved := newCountingServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/r/") {
			http.Redirect(w, r, "/r"+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		gerritEmpty(w, r)
	}))
	hostile := newCountingServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+internal.port()+"/admin/delete?all=1", http.StatusFound)
	}))
	tests := []struct {
		attacker string
		allow    string // the hostile host (127.0.0.1) stands for a public one, so it is allowed too
		org      string
		base     *countingServer
		target   *countingServer
		reached  bool
	}{
		{"a host the allowed org's repository maintainer names redirects into the org's internal Gerrit",
			"bob-org=localhost:" + internal.port() + ",bob-org=127.0.0.1:" + hostile.port(), "bob-org", hostile, internal, false},
		{"a host any org names redirects into a host allowed for every org",
			"*=localhost:" + internal.port() + ",*=127.0.0.1:" + hostile.port(), "codertocat", hostile, internal, false},
		{"none: the internal Gerrit redirects within itself",
			"bob-org=127.0.0.1:" + moved.port(), "bob-org", moved, moved, true},
	}
	for _, tt := range tests {
		t.Run(tt.attacker, func(t *testing.T) {
			allow, err := ParseAllowance(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			before := tt.target.accepted.Load()
			g := NewGerrit(&http.Client{Transport: TransportFor(allow, tt.org)}, tt.base.URL+"/", 0)
			g.name = "review.example.org"
			res := g.Fetch(context.Background(), []link.Ref{gerritRef(1)})[gerritRef(1).Key()]
			got := tt.target.accepted.Load() - before
			if tt.reached {
				if res.Err != nil || got == 0 {
					t.Fatalf("err %v, %d connections; want the redirect followed", Detail(res.Err), got)
				}
				return
			}
			if got != 0 {
				t.Errorf("%d connections reached the allowed internal host through a redirect", got)
			}
			var re *RedirectError
			if !errors.As(res.Err, &re) || !Blocked(res.Err) {
				t.Errorf("err = %v, want the redirect refused", Detail(res.Err))
			}
			if pub := PublicText(res.Err); pub != "could not reach review.example.org" {
				t.Errorf("public text %q", pub)
			}
		})
	}
}

// TestSetDefaultClientIsGuarded: a Set built without a client still
// refuses internal addresses.
func TestSetDefaultClientIsGuarded(t *testing.T) {
	srv := newCountingServer(t, "tcp4", "127.0.0.1:0", gerritEmpty)
	eps := Endpoints{Gerrit: map[string]string{}}
	s := NewSet(SetOptions{Endpoints: eps, PerSecond: -1})
	ref := gerritRef(1)
	ref.Host = "127.0.0.1:" + srv.port()
	res := s.Fetch(context.Background(), []link.Ref{ref})[ref.Key()]
	if !Blocked(res.Err) || srv.accepted.Load() != 0 {
		t.Errorf("err %v, %d connections; want refused before connecting", res.Err, srv.accepted.Load())
	}
	if pub := PublicText(res.Err); pub != "could not reach "+ref.Host {
		t.Errorf("public text %q", pub)
	}
}

// TestSet_InternalHostIsReadOnlyForItsOrg: the operator points
// gerrit.corp.internal at bob-org's internal Gerrit (UPSTREAM_ENDPOINTS)
// and allows it for bob-org. Any GitHub user in another org's public
// repository, whose rules name the same host, names one of its changes:
// that org's copy of the reference is refused before connecting, and so
// is a copy read for no org. bob-org's own copy is read, marked private,
// so that it shows only where bob-org's private data may go. The
// endpoint answers on its own port only, and the public text names the
// link's host, never the endpoint.
func TestSet_InternalHostIsReadOnlyForItsOrg(t *testing.T) {
	internal := newCountingServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, ")]}'\n"+`[{"_number":4242,"project":"corp/secret-infra","status":"NEW","subject":"INTERNAL-SUBJECT","updated":"2026-10-01 00:00:00.000000000"}]`)
	}))
	eps, err := ParseEndpoints("gerrit:gerrit.corp.internal=" + internal.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	ref := link.Ref{Provider: link.Gerrit, Host: "gerrit.corp.internal", Project: "corp/secret-infra", Kind: link.Change, Number: 4242,
		URL: "https://gerrit.corp.internal/c/corp/secret-infra/+/4242"}
	tests := []struct {
		name  string
		allow string
		org   string // "" for a shared copy
		want  bool   // read, and private
	}{
		{"any GitHub user in another org names the change", "bob-org=gerrit.corp.internal", "Codertocat", false},
		{"a copy read for no org, as one stored before the allowance named the host", "bob-org=gerrit.corp.internal", "", false},
		{"an endpoint no allowance names", "", "bob-org", false},
		{"an endpoint allowed for another port only", "bob-org=gerrit.corp.internal:8443", "bob-org", false},
		{"none: bob-org's own item names it", "bob-org=gerrit.corp.internal", "bob-org", true},
		{"none: the endpoint's address allowed for bob-org", "bob-org=" + strings.TrimPrefix(internal.URL, "http://"), "bob-org", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allow, err := ParseAllowance(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			s := NewSet(SetOptions{Allowance: allow, Endpoints: eps, PerSecond: -1})
			r := ref
			if tt.org != "" {
				r = ref.ScopedBy(tt.org, s.OrgScoped)
			}
			before := internal.accepted.Load()
			res := s.Fetch(context.Background(), []link.Ref{r})[r.Key()]
			got := internal.accepted.Load() - before
			if !tt.want {
				if got != 0 || res.Status.Title != "" || !Blocked(res.Err) {
					t.Errorf("%d connections, status %+v, err %v; want refused before connecting", got, res.Status, Detail(res.Err))
				}
				if pub := PublicText(res.Err); pub != "could not reach gerrit.corp.internal" {
					t.Errorf("public text %q", pub)
				}
				return
			}
			if res.Err != nil || res.Status.Title != "INTERNAL-SUBJECT" || !res.Status.Private {
				t.Errorf("status %+v, err %v; want bob-org's change read and marked private", res.Status, Detail(res.Err))
			}
			if r.Scope != "bob-org" {
				t.Errorf("scope %q: an internal host's references must be read per org", r.Scope)
			}
		})
	}
}

// TestEndpointsAreTrusted: an endpoint the operator allows for every org
// ("*=review.opendev.org") is reached, on its own port only, and the
// public text names the link's host, not the endpoint, nor what it said.
func TestEndpointsAreTrusted(t *testing.T) {
	srv := newCountingServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal detail: db=10.1.2.3", http.StatusBadGateway)
	}))
	eps, err := ParseEndpoints("review.opendev.org=" + srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	allow, err := ParseAllowance("*=review.opendev.org")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(SetOptions{Allowance: allow, Endpoints: eps, PerSecond: -1})
	ref := gerritRef(1)
	res := s.Fetch(context.Background(), []link.Ref{ref})[ref.Key()]
	if srv.accepted.Load() == 0 {
		t.Fatalf("the operator's endpoint was not reached: %v", res.Err)
	}
	if pub, want := PublicText(res.Err), "review.opendev.org answered HTTP 502"; pub != want {
		t.Errorf("public text %q, want %q", pub, want)
	}
	if d := Detail(res.Err); !strings.Contains(d, "db=10.1.2.3") {
		t.Errorf("the log detail lost the answer: %q", d)
	}
	allow.UseEndpoints(eps)
	for u, want := range map[string]bool{srv.URL + "/": true, "http://127.0.0.1:22/": false, "https://127.0.0.1/": false} {
		parsed, _ := url.Parse(u)
		if got := allow.trustOf("").allows(parsed); got != want {
			t.Errorf("allows(%s) = %v, want %v: an endpoint allows its own host and port only", u, got, want)
		}
	}
}

func TestPublic(t *testing.T) {
	tests := map[string]bool{
		"1.1.1.1": true, "2606:4700:4700::1111": true, "140.82.112.3": true,
		"127.0.0.1": false, "127.1.2.3": false, "::1": false,
		"10.0.0.1": false, "172.16.5.4": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fd00:ec2::254": false, "fc00::1": false,
		"100.64.0.1": false, "100.127.255.254": false,
		"0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "ff02::1": false, "255.255.255.255": false, "240.0.0.1": false,
		"::ffff:127.0.0.1": false, "::ffff:169.254.169.254": false, "::ffff:1.1.1.1": true,
		"64:ff9b::7f00:1": false, "64:ff9b:1::1": false, "2002:7f00:1::": false, "2001:0:4136:e378::1": false,
		"192.0.2.1": false, "198.18.0.1": false, "2001:db8::1": false, "::127.0.0.1": false,
	}
	for s, want := range tests {
		if got := Public(netip.MustParseAddr(s)); got != want {
			t.Errorf("Public(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestParseAllowance(t *testing.T) {
	a, err := ParseAllowance(" bob-org=gerrit.internal.example, *=10.0.0.5 ,Bob-Org=10.1.0.0/16, bob-org=git.example.org:8443, *=[fd00::5]:8080,, ")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		org, url string
		want     bool
	}{
		{"bob-org", "https://gerrit.internal.example/", true},
		{"BOB-ORG", "https://GERRIT.internal.example/a", true},
		{"bob-org", "http://gerrit.internal.example/", true},
		{"bob-org", "https://gerrit.internal.example:6379/", false},
		{"bob-org", "http://gerrit.internal.example:443/", false},
		{"codertocat", "https://gerrit.internal.example/", false},
		{"", "https://gerrit.internal.example/", false},
		{"codertocat", "https://10.0.0.5/", true},
		{"", "http://10.0.0.5/", true},
		{"", "https://[::ffff:10.0.0.5]/", true},
		{"", "https://10.0.0.5:6379/", false},
		{"bob-org", "https://10.1.200.3/", true},
		{"bob-org", "https://10.1.200.3:22/", false},
		{"codertocat", "https://10.1.200.3/", false},
		{"bob-org", "https://git.example.org:8443/", true},
		{"bob-org", "https://git.example.org/", false},
		{"", "http://[fd00::5]:8080/", true},
		{"", "http://[fd00::5]/", false},
		{"bob-org", "https://other.example/", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.trustOf(tt.org).allows(u); got != tt.want {
			t.Errorf("for %q: allows(%s) = %v, want %v", tt.org, tt.url, got, tt.want)
		}
	}
	for bad, want := range map[string]string{
		"gerrit.internal.example": `"gerrit.internal.example" names no org: write ORG=gerrit.internal.example to allow it for one org, or *=gerrit.internal.example for every org`,
		"10.0.0.5":                "names no org",
		"bob-org=10.0.0.0/33":     "is not a host, an address or a CIDR prefix",
		"bob-org=user@host":       "is not a host",
		"bob-org=host:port":       "is not a host",
		"bob-org=http://x/":       "is not a host",
		"bob org=x":               "is not a GitHub org name",
		"-bob=x":                  "is not a GitHub org name",
		"=x":                      "is not a GitHub org name",
		"bob-org=":                "is not a host",
		"bob-org=*":               "is not a host",
	} {
		_, err := ParseAllowance(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAllowance(%q): %v, want an error saying %q", bad, err, want)
		}
	}
}

// TestAllowanceOrgScoped: a host an entry names for one org (by name, by
// address, or through the endpoint that serves it) is read per org; a host
// only "*" names, and every other host, is shared.
func TestAllowanceOrgScoped(t *testing.T) {
	a, err := ParseAllowance("bob-org=gerrit.corp.internal,bob-org=10.1.0.0/16,*=mirror.internal,alice=bugs.launchpad.net,carol=10.9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	eps, err := ParseEndpoints("gitlab:git.corp.example=http://10.9.9.9:8080/api/v4/,review.opendev.org=https://review.opendev.org/")
	if err != nil {
		t.Fatal(err)
	}
	a.UseEndpoints(eps)
	for host, want := range map[string]bool{
		"gerrit.corp.internal": true, "GERRIT.corp.internal:8443": true, "10.1.2.3": true, "10.2.0.1": false,
		"mirror.internal": false, "review.opendev.org": false, "gitlab.com": false,
		"launchpad.net": true, "bugs.launchpad.net": true, "git.corp.example": true,
	} {
		if got := a.OrgScoped(host); got != want {
			t.Errorf("OrgScoped(%s) = %v, want %v", host, got, want)
		}
	}
	if !a.Names("Bob-Org") || a.Names("codertocat") {
		t.Error("Names: want bob-org named, codertocat not")
	}
}

// TestEndpointsAllowedForNone: an endpoint on an internal address that no
// entry allows can never be reached; the operator is told at start.
func TestEndpointsAllowedForNone(t *testing.T) {
	eps, err := ParseEndpoints("review.opendev.org=http://127.0.0.1:9001/,launchpad=http://127.0.0.1:9002/,gitlab.com=http://127.0.0.1:9003/api/v4/," +
		"gerrit:gerrit.corp.internal=http://10.0.0.5/,gerrit:mirror.example=https://mirror.example/,gerrit:public.example=https://1.1.1.1/")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAllowance("*=review.opendev.org,bob-org=gerrit.corp.internal,*=127.0.0.1:9002")
	if err != nil {
		t.Fatal(err)
	}
	a.UseEndpoints(eps)
	if got, want := a.EndpointsAllowedForNone(), []string{"gitlab.com"}; !slices.Equal(got, want) {
		t.Errorf("EndpointsAllowedForNone() = %q, want %q", got, want)
	}
}
