package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
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
	return fmt.Sprintf("refused to connect to %s, which is not a public address; the operator can allow it with UPSTREAM_ALLOW_INTERNAL", e.Addr)
}

// Allowance lists the internal hosts and addresses the operator lets
// upstream reads reach, such as a self-hosted Gerrit. The zero value allows
// none.
type Allowance struct {
	hosts    map[string]bool // lower-case "name" (any port) or "name:port"
	prefixes []netip.Prefix
}

// ParseAllowance reads UPSTREAM_ALLOW_INTERNAL: a comma-separated list of
// host names, IP addresses and CIDR prefixes, names and addresses with an
// optional port ("gerrit.internal.example", "10.0.0.5", "10.1.0.0/16",
// "gerrit.internal.example:8443", "[fd00::5]:8080"). A name is allowed
// whatever it resolves to; an address or prefix also when a name resolves
// to it, but an address with a port only when the URL names that address.
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
	if a.hosts == nil {
		a.hosts = map[string]bool{}
	}
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return fmt.Errorf("%q is not a host, an address or a CIDR prefix", entry)
		}
		a.prefixes = append(a.prefixes, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(entry, "[]")); err == nil {
		a.hosts[ip.String()] = true
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	host, port, err := net.SplitHostPort(entry)
	if err != nil {
		host, port = entry, ""
	}
	if host == "" || strings.ContainsAny(host, "@?#[] ") || (port != "" && !isPort(port)) {
		return fmt.Errorf("%q is not a host, an address or a CIDR prefix", entry)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	if port == "" {
		a.hosts[host] = true
	} else {
		a.hosts[net.JoinHostPort(host, port)] = true
	}
	return nil
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

// AllowEndpoints trusts the hosts, with their ports, of the API bases the
// operator set in UPSTREAM_ENDPOINTS: the operator wrote those URLs, so
// refusing them would only make the operator repeat them. A redirect from
// such a host to another internal one is still refused.
func (a *Allowance) AllowEndpoints(e Endpoints) {
	bases := []string{e.Launchpad}
	for _, b := range e.Gerrit {
		bases = append(bases, b)
	}
	for _, b := range e.GitLab {
		bases = append(bases, b)
	}
	for _, b := range bases {
		if hp := hostPort(b); hp != "" {
			if a.hosts == nil {
				a.hosts = map[string]bool{}
			}
			a.hosts[hp] = true
		}
	}
}

// hostPort is a base URL's "host:port", the port from the scheme when the
// URL has none; "" if it does not parse.
func hostPort(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	host := strings.ToLower(u.Hostname())
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	return net.JoinHostPort(host, port)
}

// allowsHost reports whether the operator allowed addr ("host:port", as
// the URL names it, before resolution).
func (a Allowance) allowsHost(addr string) bool {
	if len(a.hosts) == 0 {
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	host = strings.ToLower(host)
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	return a.hosts[host] || a.hosts[net.JoinHostPort(host, port)]
}

func (a Allowance) allowsIP(ip netip.Addr) bool {
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// control runs after resolution, on the address about to be connected.
func (a Allowance) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
	}
	ip := ap.Addr().WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if Public(ip) || a.allowsIP(ip) {
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

// Transport returns the transport for Gerrit, GitLab and Launchpad reads:
// it connects only to public addresses, checked after resolution on the
// address actually dialled, and to what a allows. It uses no proxy from the
// environment, since a proxy would dial the upstream host itself, out of
// reach of the check.
func Transport(a Allowance) *http.Transport {
	guarded := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: a.control}
	trusted := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if a.allowsHost(addr) {
				return trusted.DialContext(ctx, network, addr)
			}
			return guarded.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   tlsTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// Blocked reports whether err is a connection the guard refused.
func Blocked(err error) bool {
	var b *BlockedError
	return errors.As(err, &b)
}
