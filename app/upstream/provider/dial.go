package provider

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Upstream hosts come from rules that org admins and repository
// maintainers write (upstream.gerrit, upstream.gitlab), so the service must
// not become their way into its own network: the cloud's metadata service
// at 169.254.169.254, a database on a private address, a port on loopback.
// The check is made when connecting, on the address actually dialled after
// DNS resolution: a name that resolves, or rebinds between two lookups, to
// an internal address is refused like the address itself, and so is a
// redirect to one, since every redirect dials anew.

// nonPublic are the address ranges no upstream host is ever reached on,
// beyond what netip's predicates (loopback, private, link-local, multicast,
// unspecified) cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT, often a provider's internal network
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),       // documentation
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"),    // documentation
	netip.MustParsePrefix("203.0.113.0/24"),     // documentation
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, and the broadcast address
	netip.MustParsePrefix("::/96"),              // IPv4-compatible IPv6, deprecated
	netip.MustParsePrefix("64:ff9b::/96"),       // NAT64 well-known prefix: embeds any IPv4 address, internal ones too
	netip.MustParsePrefix("64:ff9b:1::/48"),     // NAT64 local use
	netip.MustParsePrefix("100::/64"),           // discard
	netip.MustParsePrefix("2001::/32"),          // Teredo: embeds an IPv4 address
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("2002::/16"),          // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("fec0::/10"),          // site-local, deprecated but still routed in places
	netip.MustParsePrefix("::ffff:0:0:0/96"),    // IPv4-translated
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast
}

// Public reports whether ip is an address on the public internet: not
// loopback, private (RFC 1918, unique-local), link-local, carrier-grade NAT,
// unspecified, multicast, reserved or documentation, and not an IPv6 form
// that embeds an IPv4 address (mapped, NAT64, 6to4, Teredo), which could
// carry an internal one.
func Public(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// BlockedError is a connection refused because the address is not public
// and the operator did not allow it. It is for the log: the public pages
// say only that the host could not be reached.
type BlockedError struct {
	Addr netip.Addr
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("refused to connect to %s, which is not a public address; the operator can allow a host for an org with UPSTREAM_ALLOW_INTERNAL=ORG=HOST", e.Addr)
}

// RedirectError is a redirect into a host the operator allows internally,
// from another host. Only a request made for that host itself reaches it:
// otherwise any host that can answer with a redirect (one that rules
// name, or a public one behind them) could send the service to the
// allowed host, on any path, and learn from the public page how it
// answered.
type RedirectError struct {
	From, To string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused to follow a redirect from %s to %s: an internal host the operator allows is reached only when asked for directly", e.From, e.To)
}

// Allowance is what the operator lets upstream reads reach beyond public
// addresses (UPSTREAM_ALLOW_INTERNAL), such as a self-hosted Gerrit, each
// entry for the orgs it names: an internal host serves the org that runs
// it, and another tenant of the same deployment must not read it through
// its own rules. The zero value allows nothing.
//
// Every entry is decided on the host and port a URL names, before
// resolution: a name is reached whatever it resolves to, an address or
// prefix only when the URL is written with that address. So a name that
// anyone can point into an allowed network is dialled like any other,
// public addresses only.
type Allowance struct {
	entries []allowed
	// endpoints are the API bases of UPSTREAM_ENDPOINTS, by the link host
	// they serve (see linkName).
	endpoints map[string]*url.URL
}

// allowed is one entry of an Allowance.
type allowed struct {
	org    string // lower case; "*" for every org
	host   string // lower-case name or canonical address; "" for a prefix
	port   string // "" for the default port of the URL's scheme
	prefix netip.Prefix
}

// everyOrg is the org of an entry that holds for every org.
const everyOrg = "*"

// ParseAllowance reads UPSTREAM_ALLOW_INTERNAL: a comma-separated list of
// ORG=HOST entries, HOST a name, an IP address or a CIDR prefix, names and
// addresses with an optional port ("bob-org=gerrit.internal.example",
// "bob-org=10.0.0.5:8443", "bob-org=[fd00::5]:8080", "*=10.1.0.0/16").
// ORG "*" means every org, and has to be written out: the old form
// without an org is refused, since it let every tenant reach the host.
// Without a port, an entry allows the default port of the URL's scheme
// (443, or 80 for http) and, for a host of UPSTREAM_ENDPOINTS, that
// endpoint's own port (see UseEndpoints).
func ParseAllowance(s string) (Allowance, error) {
	var a Allowance
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if err := a.Allow(entry); err != nil {
			return Allowance{}, err
		}
	}
	return a, nil
}

// Allow adds one entry in a form ParseAllowance reads.
func (a *Allowance) Allow(entry string) error {
	entry = strings.ToLower(strings.TrimSpace(entry))
	org, target, ok := strings.Cut(entry, "=")
	org, target = strings.TrimSpace(org), strings.TrimSpace(target)
	if !ok {
		return fmt.Errorf("%q names no org: write ORG=%s to allow it for one org, or *=%s for every org", entry, entry, entry)
	}
	if org != everyOrg && !isLogin(org) {
		return fmt.Errorf("%q: %q is not a GitHub org name, nor * for every org", entry, org)
	}
	e := allowed{org: org}
	bad := fmt.Errorf("%q: %q is not a host, an address or a CIDR prefix", entry, target)
	switch {
	case strings.Contains(target, "/"):
		p, err := netip.ParsePrefix(target)
		if err != nil {
			return bad
		}
		e.prefix = p.Masked()
	default:
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			host, port = strings.Trim(target, "[]"), ""
		}
		if !isAddr(host) && !isHostName(host) || (port != "" && !isPort(port)) {
			return bad
		}
		e.host, e.port = canonHost(host), port
	}
	a.entries = append(a.entries, e)
	return nil
}

// isLogin reports whether s can be a GitHub account name: letters, digits
// and inner hyphens, at most 39.
func isLogin(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isHostName reports whether s can be a DNS name: letters, digits, dots,
// hyphens and underscores.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// canonHost is a host as entries and URLs are compared: lower case, an
// address in its canonical form (an IPv4-mapped one as IPv4).
func canonHost(h string) string {
	h = strings.ToLower(h)
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.WithZone("").Unmap().String()
	}
	return h
}

// linkName is the name an entry and UPSTREAM_ENDPOINTS give the host of a
// link: the host without its port, and "launchpad" for every name of
// Launchpad, which is one service whatever host a link names.
func linkName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = canonHost(strings.Trim(host, "[]"))
	if launchpadKeys[host] || host == "launchpad.net" {
		return "launchpad"
	}
	return host
}

// UseEndpoints records the API bases the operator set in
// UPSTREAM_ENDPOINTS, so that an entry naming an endpoint's link host
// without a port ("bob-org=gerrit.corp.internal") also allows that
// endpoint's base, on its own port, for the entry's orgs. An endpoint no
// entry names is dialled like any host, on public addresses only: that
// the operator wrote its URL says where the host's API is, not which
// tenants may read it.
func (a *Allowance) UseEndpoints(e Endpoints) {
	a.endpoints = map[string]*url.URL{}
	add := func(name, base string) {
		if u, err := url.Parse(base); err == nil && u.Host != "" {
			a.endpoints[name] = u
		}
	}
	if e.Launchpad != "" {
		add("launchpad", e.Launchpad)
	}
	for _, m := range []map[string]string{e.Gerrit, e.GitLab} {
		for host, base := range m {
			add(linkName(host), base)
		}
	}
}

// hostPort is a URL's "host:port" as it is dialled.
func hostPort(u *url.URL) string {
	return net.JoinHostPort(canonHost(u.Hostname()), effectivePort(u))
}

// effectivePort is the port a URL is dialled on.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

// defaultPort is the port of a scheme: upstream APIs are http(s).
func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// Names reports whether an entry names org itself, not only every org.
func (a Allowance) Names(org string) bool {
	org = strings.ToLower(org)
	for _, e := range a.entries {
		if e.org == org {
			return true
		}
	}
	return false
}

// OrgScoped reports whether what a link on host reads depends on the org
// asking: an entry for one org (not "*") names the host, its address, or
// its endpoint's. Such references are read per org (link.Ref.ScopedBy),
// each with the allowance of its own org, and what is read is that org's
// private data.
func (a Allowance) OrgScoped(host string) bool {
	name := linkName(host)
	hosts := []string{name}
	if base, ok := a.endpoints[name]; ok {
		hosts = append(hosts, canonHost(base.Hostname()))
	}
	for _, e := range a.entries {
		if e.org == everyOrg {
			continue
		}
		if e.host != "" && linkName(e.host) == name {
			return true
		}
		for _, h := range hosts {
			if e.matchesHost(h) {
				return true
			}
		}
	}
	return false
}

// matchesHost reports whether the entry names host (canonical), whatever
// the port.
func (e allowed) matchesHost(host string) bool {
	if e.prefix.IsValid() {
		ip, err := netip.ParseAddr(host)
		return err == nil && e.prefix.Contains(ip)
	}
	return e.host == host
}

// EndpointsAllowedForNone lists the link hosts of UPSTREAM_ENDPOINTS whose
// base is written as an address that is not public and that no entry
// allows for any org: no read could ever reach them. (A base written as a
// name cannot be judged before it is resolved.)
func (a Allowance) EndpointsAllowedForNone() []string {
	var out []string
	for name, base := range a.endpoints {
		ip, err := netip.ParseAddr(canonHost(base.Hostname()))
		if err != nil || Public(ip) {
			continue
		}
		if slices.ContainsFunc(a.entries, func(e allowed) bool { return a.trustOf(e.org).allows(base) }) {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// trust is what an Allowance lets one org's reads reach.
type trust struct {
	entries []allowed
	// bases are the endpoints' "host:port" an entry names by link host.
	bases map[string]bool
}

// trustOf is what a allows for org: its own entries and those for every
// org. Org "" is a read made for no org in particular (a shared
// reference): every-org entries only.
func (a Allowance) trustOf(org string) trust {
	org = strings.ToLower(org)
	t := trust{bases: map[string]bool{}}
	for _, e := range a.entries {
		if e.org != everyOrg && (org == "" || e.org != org) {
			continue
		}
		t.entries = append(t.entries, e)
		if e.host == "" || e.port != "" {
			continue
		}
		if base, ok := a.endpoints[linkName(e.host)]; ok {
			t.bases[hostPort(base)] = true
		}
	}
	return t
}

// allows reports whether u's host and port are allowed, before
// resolution.
func (t trust) allows(u *url.URL) bool {
	host, port := canonHost(u.Hostname()), effectivePort(u)
	if t.bases[net.JoinHostPort(host, port)] {
		return true
	}
	def := defaultPort(u.Scheme)
	for _, e := range t.entries {
		if (e.port == "" && port == def) || (e.port != "" && port == e.port) {
			if e.matchesHost(host) {
				return true
			}
		}
	}
	return false
}

// control runs after resolution, on the address about to be connected,
// for every host the operator did not allow.
func control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
	}
	ip := ap.Addr().WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if Public(ip) {
		return nil
	}
	return &BlockedError{Addr: ip}
}

// Dial timeouts of the upstream transport; a request's own timeout bounds
// the rest.
const (
	dialTimeout = 10 * time.Second
	tlsTimeout  = 10 * time.Second
)

// Transport returns the transport for reads made for no org in
// particular (references shared by every org that names them): it
// connects only to public addresses, checked after resolution on the
// address actually dialled, and to what a allows for every org ("*=").
// It uses no proxy from the environment, since a proxy would dial the
// upstream host itself, out of reach of the check.
func Transport(a Allowance) http.RoundTripper { return TransportFor(a, "") }

// TransportFor is Transport for the reads of one org: what a allows for
// that org is reached too. Its connections to allowed hosts are its own,
// never reused by another org's reads.
func TransportFor(a Allowance, org string) http.RoundTripper {
	return newGuard(a.trustOf(org), publicTransport())
}

// guard sends a request to an allowed host through inside, and every other
// through public, which dials public addresses only. Their connection
// pools are apart, so a connection to an allowed host is never reused for
// a request the allowance does not cover.
type guard struct {
	trust  trust
	public *http.Transport
	inside *http.Transport
}

func newGuard(t trust, public *http.Transport) *guard {
	inside := newTransport(&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second})
	return &guard{trust: t, public: public, inside: inside}
}

// publicTransport dials public addresses only.
func publicTransport() *http.Transport {
	return newTransport(&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: control})
}

func newTransport(d *net.Dialer) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   tlsTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !g.trust.allows(req.URL) {
		return g.public.RoundTrip(req)
	}
	// req.Response is set on a request the client makes to follow a
	// redirect: the answer that asked for it.
	if prev := req.Response; prev != nil && prev.Request != nil && !strings.EqualFold(prev.Request.URL.Hostname(), req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &RedirectError{From: prev.Request.URL.Host, To: req.URL.Host}
	}
	return g.inside.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach both
// pools.
func (g *guard) CloseIdleConnections() {
	g.public.CloseIdleConnections()
	g.inside.CloseIdleConnections()
}

// Blocked reports whether err is a connection, or a redirect, the guard
// refused.
func Blocked(err error) bool {
	var b *BlockedError
	var r *RedirectError
	return errors.As(err, &b) || errors.As(err, &r)
}
