package provider

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
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
// of the error.
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
		{attacker: "an org admin's host redirects to loopback", host: "127.0.0.1:" + toIP.port(), allow: "127.0.0.1:" + toIP.port(), target: v4},
		{attacker: "an org admin's host redirects to localhost", host: "127.0.0.1:" + toName.port(), allow: "127.0.0.1:" + toName.port(), target: v4},
		{attacker: "an allowed port does not allow the host's other ports", host: "127.0.0.1:" + v4.port(), allow: "127.0.0.1:1", target: v4},
		// What the operator allows is reached.
		{attacker: "none: the operator allows the address", host: "127.0.0.1:" + v4.port(), allow: "127.0.0.1", target: v4, wantAllowed: true},
		{attacker: "none: the operator allows the name", host: "localhost:" + v4.port(), allow: "localhost", target: v4, wantAllowed: true},
		{attacker: "none: the operator allows a prefix", host: "[::1]:" + v6.port(), allow: "::1/128", target: v6, wantAllowed: true},
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

// TestEndpointsAreTrusted: the operator's UPSTREAM_ENDPOINTS are reached,
// on their own port only, and the public text names the link's host, not
// the endpoint.
func TestEndpointsAreTrusted(t *testing.T) {
	srv := newCountingServer(t, "tcp4", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal detail: db=10.1.2.3", http.StatusBadGateway)
	}))
	eps, err := ParseEndpoints("review.opendev.org=" + srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	var allow Allowance
	allow.AllowEndpoints(eps)
	s := NewSet(SetOptions{HTTP: &http.Client{Transport: Transport(allow)}, Endpoints: eps, PerSecond: -1})
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
	if !allow.allowsHost("127.0.0.1:"+srv.port()) || allow.allowsHost("127.0.0.1:22") {
		t.Error("an endpoint must allow its own host and port only")
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
	a, err := ParseAllowance(" gerrit.internal.example, 10.0.0.5 ,10.1.0.0/16, git.example.org:8443, [fd00::5]:8080,, ")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"gerrit.internal.example:443": true, "GERRIT.internal.example:80": true,
		"10.0.0.5:443": true, "git.example.org:8443": true, "git.example.org:443": false,
		"[fd00::5]:8080": true, "[fd00::5]:80": false, "other.example:443": false,
	} {
		if got := a.allowsHost(addr); got != want {
			t.Errorf("allowsHost(%s) = %v, want %v", addr, got, want)
		}
	}
	for ip, want := range map[string]bool{"10.0.0.5": true, "10.1.200.3": true, "10.2.0.1": false, "fd00::5": false} {
		if got := a.allowsIP(netip.MustParseAddr(ip)); got != want {
			t.Errorf("allowsIP(%s) = %v, want %v", ip, got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "user@host", "host:port", "http://x/"} {
		if _, err := ParseAllowance(bad); err == nil {
			t.Errorf("ParseAllowance(%q): no error", bad)
		}
	}
}
