package link

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options say which hosts are which and what the org is.
type Options struct {
	// Org is the GitHub organisation itself: links to github.com/<Org>/...
	// (any case) are the org's own work, never upstream.
	Org string
	// Each host list defaults to the public instance when empty, because
	// rules files rarely name hosts and an empty list would silently drop
	// every reference of that provider. Entries may be written as URLs
	// ("https://review.opendev.org/"); they are reduced to the host.
	GitHubHosts    []string // default ["github.com"]
	GerritHosts    []string // default ["review.opendev.org"]
	GitLabHosts    []string // default ["gitlab.com"]
	LaunchpadHosts []string // default ["bugs.launchpad.net", "launchpad.net"]
}

// WithDefaults returns o with every empty host list set to its default and
// every host normalised, so callers (providers, the poller) see the same
// hosts the parser matched against.
func (o Options) WithDefaults() Options {
	o.GitHubHosts = hostList(o.GitHubHosts, "github.com")
	o.GerritHosts = hostList(o.GerritHosts, "review.opendev.org")
	o.GitLabHosts = hostList(o.GitLabHosts, "gitlab.com")
	o.LaunchpadHosts = hostList(o.LaunchpadHosts, "bugs.launchpad.net", "launchpad.net")
	return o
}

func hostList(in []string, def ...string) []string {
	out := make([]string, 0, len(in))
	for _, h := range in {
		if h = normHost(h); h != "" {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return append(out, def...)
	}
	return out
}

func normHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimPrefix(h, "https://")
	h = strings.TrimPrefix(h, "http://")
	if i := strings.IndexAny(h, "/?#"); i >= 0 {
		h = h[:i]
	}
	return h
}

// Found is a reference and where it was first seen.
type Found struct {
	Ref
	Line         int  // 1-based line in the text
	UpstreamLine bool // found on an "Upstream:" line
}

// Parsed is everything Parse found in one text.
type Parsed struct {
	// Refs are deduplicated by Ref.Key(), in text order of their first
	// occurrence.
	Refs []Found
	// HasUpstreamLines is true when some "Upstream:" line holds at least
	// one well-formed http(s) URL, even if that URL is the org's own: the
	// author meant to declare upstream work, and the caller may want to say
	// that nothing trackable was found.
	HasUpstreamLines bool
}

// Parse finds the upstream references in issue or pull request text.
//
// Fenced code blocks, inline code spans and HTML comments are skipped:
// issue templates put example URLs there. Indented code blocks are not
// skipped, because in lists four-space indentation is ordinary text. An
// unclosed fence or comment runs to the end of the text, as GitHub renders
// it.
//
// When a reference recurs, its first occurrence is kept; a later one only
// fills in a project the first form did not name (Gerrit's "#/c/N",
// Launchpad's "/bugs/N"), and marks it UpstreamLine if it was on one.
func Parse(text string, o Options) Parsed {
	p := newParser(o)
	masked := mask(text)
	var out Parsed
	index := map[string]int{}
	lineNo := 0
	for start := 0; start <= len(masked); {
		end := start
		for end < len(masked) && masked[end] != '\n' {
			end++
		}
		lineNo++
		line := masked[start:end]
		rest, upstream := upstreamLine(line)
		if !upstream {
			rest = line
		}
		forEachURL(rest, func(raw string) {
			r, ok, valid := p.ref(raw, upstream)
			if upstream && valid {
				out.HasUpstreamLines = true
			}
			if !ok {
				return
			}
			k := r.Key()
			if i, seen := index[k]; seen {
				f := &out.Refs[i]
				if f.Project == "" && r.Project != "" {
					f.Project, f.URL = r.Project, r.URL
				}
				f.UpstreamLine = f.UpstreamLine || upstream
				return
			}
			index[k] = len(out.Refs)
			out.Refs = append(out.Refs, Found{Ref: r, Line: lineNo, UpstreamLine: upstream})
		})
		start = end + 1
	}
	return out
}

// upstreamLine reports whether line is an "Upstream:" line and returns what
// follows the key. Quote markers are allowed because a quoted declaration
// is still one, and list markers and bold because people format it so.
func upstreamLine(line []byte) ([]byte, bool) {
	i := 0
	skipSpace := func() {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
	}
	skipSpace()
	for i < len(line) && line[i] == '>' {
		i++
		skipSpace()
	}
	if i+1 < len(line) && (line[i] == '-' || line[i] == '*' || line[i] == '+') && (line[i+1] == ' ' || line[i+1] == '\t') {
		i++
		skipSpace()
	}
	emph := ""
	for _, e := range []string{"**", "__"} {
		if hasPrefix(line[i:], e) {
			emph = e
			i += len(e)
			break
		}
	}
	const key = "upstream"
	if !hasPrefixFold(line[i:], key) {
		return nil, false
	}
	i += len(key)
	// Both "**Upstream:**" and "**Upstream**:" are common.
	if emph != "" && hasPrefix(line[i:], emph) {
		i += len(emph)
	}
	if i >= len(line) || line[i] != ':' {
		return nil, false
	}
	i++
	if emph != "" && hasPrefix(line[i:], emph) {
		i += len(emph)
	}
	return line[i:], true
}

// forEachURL calls f with every http(s) URL in line, its trailing
// punctuation removed.
func forEachURL(line []byte, f func(string)) {
	for i := 0; i+len("http://") <= len(line); i++ {
		if c := line[i]; c != 'h' && c != 'H' {
			continue
		}
		if !hasPrefixFold(line[i:], "http://") && !hasPrefixFold(line[i:], "https://") {
			continue
		}
		j := i
		for j < len(line) && !urlStop(line[j]) {
			if line[j] < utf8.RuneSelf {
				j++
				continue
			}
			// A no-break space or ideographic space ends a URL like a
			// space does; pasted prose is full of them.
			r, size := utf8.DecodeRune(line[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += size
		}
		if u := trimURL(line[i:j]); len(u) > 0 {
			f(string(u))
		}
		i = j - 1
	}
}

// urlStop marks the bytes that cannot be inside a URL as people write them
// in Markdown: whitespace, and the brackets, quotes and pipes of links,
// autolinks, HTML attributes and tables.
func urlStop(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return true
	}
	switch c {
	case '<', '>', '"', '`', '[', ']', '{', '}', '|', '\\':
		return true
	}
	return false
}

// trimURL drops the sentence punctuation that ends a URL in prose, and a
// closing parenthesis with no opening one in the URL, which belongs to a
// Markdown link or to the sentence (GitHub's autolink rule).
func trimURL(u []byte) []byte {
	for len(u) > 0 {
		switch c := u[len(u)-1]; c {
		case '.', ',', ':', ';', '!', '?', '\'', '*', '_', '~':
			u = u[:len(u)-1]
			continue
		case ')':
			open, closed := 0, 0
			for _, b := range u {
				switch b {
				case '(':
					open++
				case ')':
					closed++
				}
			}
			if closed > open {
				u = u[:len(u)-1]
				continue
			}
		default:
			// Closing quotes and full stops of other scripts ("”", "。")
			// end a sentence, not a URL.
			if c >= utf8.RuneSelf {
				if r, size := utf8.DecodeLastRune(u); unicode.IsPunct(r) {
					u = u[:len(u)-size]
					continue
				}
			}
		}
		break
	}
	return u
}

type parser struct {
	org   string
	hosts map[string]Provider
	// lpCanon maps each Launchpad host to the one its bugs are keyed under,
	// so "launchpad.net/bugs/N" and "bugs.launchpad.net/bugs/N" dedupe.
	lpCanon map[string]string
}

func newParser(o Options) *parser {
	o = o.WithDefaults()
	p := &parser{org: strings.ToLower(strings.TrimSpace(o.Org)), hosts: map[string]Provider{}, lpCanon: map[string]string{}}
	// Later lists do not override earlier ones, so a host named twice
	// belongs to the first provider in this order.
	for _, l := range []struct {
		p     Provider
		hosts []string
	}{{GitHub, o.GitHubHosts}, {Gerrit, o.GerritHosts}, {GitLab, o.GitLabHosts}, {Launchpad, o.LaunchpadHosts}} {
		for _, h := range l.hosts {
			if _, dup := p.hosts[h]; !dup {
				p.hosts[h] = l.p
			}
		}
	}
	for h, prov := range p.hosts {
		if prov != Launchpad {
			continue
		}
		p.lpCanon[h] = h
		if !strings.HasPrefix(h, "bugs.") && p.hosts["bugs."+h] == Launchpad {
			p.lpCanon[h] = "bugs." + h
		}
	}
	return p
}

// ref turns one URL into a reference. valid says the URL is well formed;
// ok says it is a reference: recognised, or any URL on an Upstream line,
// and not the org's own.
func (p *parser) ref(raw string, upstream bool) (r Ref, ok, valid bool) {
	u, valid := splitURL(raw)
	if !valid {
		return Ref{}, false, false
	}
	host, prov := u.host, p.hosts[u.host]
	if prov == "" && strings.HasPrefix(host, "www.") {
		if pr := p.hosts[host[len("www."):]]; pr != "" {
			host, prov = host[len("www."):], pr
		}
	}
	segs := segments(u.path)
	switch prov {
	case GitHub:
		if p.isOrg(segs) {
			return Ref{}, false, true
		}
		r, ok = github(host, segs)
	case Gerrit:
		r, ok = gerrit(host, u)
	case GitLab:
		r, ok = gitlab(host, segs)
	case Launchpad:
		r, ok = launchpad(p.lpCanon[host], segs)
	}
	if ok {
		return r, true, true
	}
	if !upstream {
		return Ref{}, false, true
	}
	return Ref{Provider: Other, Kind: Page, Host: u.host, URL: u.clean}, true, true
}

// isOrg reports a path into the org: its repos, its profile, and its
// project boards under /orgs/<Org>.
func (p *parser) isOrg(segs []string) bool {
	if p.org == "" || len(segs) == 0 {
		return false
	}
	owner := segs[0]
	if owner == "orgs" && len(segs) > 1 {
		owner = segs[1]
	}
	// An escaped owner ("SovereignCloudStack%2Fx") is still the org when
	// GitHub decodes it.
	if dec, err := url.PathUnescape(owner); err == nil {
		owner, _, _ = strings.Cut(dec, "/")
	}
	return strings.EqualFold(strings.TrimSpace(owner), p.org)
}

type splitted struct {
	host, path, fragment string
	clean                string // scheme and host lower-case, rest as written
}

func splitURL(raw string) (splitted, bool) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return splitted{}, false
	}
	scheme := strings.ToLower(raw[:i])
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := strings.ToLower(rest[:end])
	if !validHost(host) {
		return splitted{}, false
	}
	s := splitted{host: host, clean: scheme + "://" + host + rest[end:]}
	rest = rest[end:]
	if j := strings.IndexByte(rest, '#'); j >= 0 {
		rest, s.fragment = rest[:j], rest[j+1:]
	}
	if j := strings.IndexByte(rest, '?'); j >= 0 {
		rest = rest[:j]
	}
	s.path = rest
	return s, true
}

// validHost accepts a DNS name with an optional port. User info is refused
// because "https://github.com@evil.example/" would show one host and open
// another.
func validHost(h string) bool {
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || name[0] == '.' || name[0] == '-' || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	if hasPort {
		if port == "" || len(port) > 5 {
			return false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	return true
}

// segments splits a path into its parts, dropping the empty ones a leading,
// trailing or doubled slash leaves.
func segments(path string) []string {
	var out []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// number parses a positive int64 written in decimal digits only.
func number(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func github(host string, segs []string) (Ref, bool) {
	if len(segs) < 4 || !ghOwner(segs[0]) || !ghRepo(segs[1]) {
		return Ref{}, false
	}
	var kind Kind
	switch segs[2] {
	case "pull":
		kind = PR
	case "issues":
		kind = Issue
	default:
		return Ref{}, false
	}
	n, ok := number(segs[3])
	if !ok {
		return Ref{}, false
	}
	project := segs[0] + "/" + segs[1]
	return Ref{Provider: GitHub, Host: host, Project: project, Kind: kind, Number: n,
		URL: "https://" + host + "/" + project + "/" + segs[2] + "/" + strconv.FormatInt(n, 10)}, true
}

func ghOwner(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

func ghRepo(s string) bool {
	if s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return s != ""
}

// gerrit reads "/c/<project>/+/<n>", "/c/<n>" and the bare "/<n>" from the
// path, and the same from the fragment of the old UI's "/#/c/...".
func gerrit(host string, u splitted) (Ref, bool) {
	segs := segments(u.path)
	if len(segs) == 0 && strings.HasPrefix(u.fragment, "/") {
		segs = segments(u.fragment)
	}
	var project string
	var n int64
	var ok bool
	switch {
	case len(segs) == 1:
		n, ok = number(segs[0])
	case len(segs) >= 2 && segs[0] == "c":
		plus := -1
		for i, s := range segs {
			if s == "+" {
				plus = i
				break
			}
		}
		if plus < 0 {
			// "/c/<n>" and the old "#/c/<n>/<patchset>".
			n, ok = number(segs[1])
			break
		}
		if plus+1 >= len(segs) || !gerritProject(segs[1:plus]) {
			return Ref{}, false
		}
		project = strings.Join(segs[1:plus], "/")
		n, ok = number(segs[plus+1])
	}
	if !ok {
		return Ref{}, false
	}
	canon := "https://" + host + "/c/"
	if project != "" {
		canon += project + "/+/"
	}
	return Ref{Provider: Gerrit, Host: host, Project: project, Kind: Change, Number: n,
		URL: canon + strconv.FormatInt(n, 10)}, true
}

// gerritProject refuses parts that are Gerrit's own path words, so a
// query or dashboard URL is not read as a change.
func gerritProject(parts []string) bool {
	if len(parts) == 0 {
		return false
	}
	for _, s := range parts {
		if s == "." || s == ".." || strings.HasPrefix(s, "+") {
			return false
		}
	}
	return true
}

// gitlab reads "<path>/-/merge_requests/<n>" and "<path>/-/issues/<n>", and
// the same without the "-" separator that older GitLab used. A GitLab
// project is always inside a group or user namespace, so the path has at
// least two parts.
func gitlab(host string, segs []string) (Ref, bool) {
	for i := 2; i+1 < len(segs); i++ {
		var kind Kind
		var word string
		switch segs[i] {
		case "merge_requests":
			kind, word = MR, "merge_requests"
		case "issues":
			kind, word = Issue, "issues"
		default:
			continue
		}
		end := i
		if segs[i-1] == "-" {
			end = i - 1
		}
		if end < 2 || !gitlabPath(segs[:end]) {
			return Ref{}, false
		}
		n, ok := number(segs[i+1])
		if !ok {
			return Ref{}, false
		}
		project := strings.Join(segs[:end], "/")
		return Ref{Provider: GitLab, Host: host, Project: project, Kind: kind, Number: n,
			URL: "https://" + host + "/" + project + "/-/" + word + "/" + strconv.FormatInt(n, 10)}, true
	}
	return Ref{}, false
}

func gitlabPath(parts []string) bool {
	for _, s := range parts {
		if s == "-" || s == "." || s == ".." {
			return false
		}
	}
	return true
}

// launchpad reads "/<target>/+bug/<n>" and "/bugs/<n>". The project is the
// bug target's path as it ends Launchpad's API target_link: "keystone" for
// a project, "ubuntu/+source/nova" for a distribution source package. That
// keeps an Ubuntu package apart from the upstream project of the same
// name, lets a provider pick the matching bug task, and keeps the
// canonical URL "https://<host>/<project>/+bug/<n>" for every target.
func launchpad(host string, segs []string) (Ref, bool) {
	if len(segs) >= 2 && segs[0] == "bugs" {
		if n, ok := number(segs[1]); ok {
			return Ref{Provider: Launchpad, Host: host, Kind: Bug, Number: n,
				URL: "https://" + host + "/bugs/" + strconv.FormatInt(n, 10)}, true
		}
	}
	for i := 1; i+1 < len(segs) && i <= 4; i++ {
		if segs[i] != "+bug" {
			continue
		}
		if !launchpadTarget(segs[:i]) {
			return Ref{}, false
		}
		n, ok := number(segs[i+1])
		if !ok {
			return Ref{}, false
		}
		project := strings.Join(segs[:i], "/")
		return Ref{Provider: Launchpad, Host: host, Project: project, Kind: Bug, Number: n,
			URL: "https://" + host + "/" + project + "/+bug/" + strconv.FormatInt(n, 10)}, true
	}
	return Ref{}, false
}

// launchpadTarget accepts a project ("nova"), a project series
// ("nova/zed"), a distribution source package ("ubuntu/+source/nova") or
// its series form ("ubuntu/jammy/+source/nova").
func launchpadTarget(parts []string) bool {
	for i, s := range parts {
		if s == "." || s == ".." {
			return false
		}
		if strings.HasPrefix(s, "+") && (s != "+source" || i == 0 || i != len(parts)-2) {
			return false
		}
	}
	return true
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// hasPrefixFold compares ASCII case-insensitively; p must be lower-case.
func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}
