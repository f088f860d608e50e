package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/google/go-github/v60/github"
)

// Endpoints overrides where providers' APIs are reached, for tests,
// mirrors and self-hosted servers.
type Endpoints struct {
	// Gerrit maps a link host ("review.opendev.org") to its API base.
	Gerrit map[string]string
	// GitLab maps a link host ("gitlab.com") to its API base, which ends in
	// "/api/v4/".
	GitLab map[string]string
	// Launchpad is the web service base; DefaultLaunchpadAPI when empty.
	Launchpad string
}

// launchpadKeys are the keys that name Launchpad in ParseEndpoints.
var launchpadKeys = map[string]bool{"launchpad": true, "api.launchpad.net": true, "bugs.launchpad.net": true}

// ParseEndpoints reads a comma-separated list of host=base entries, such as
//
//	review.opendev.org=http://127.0.0.1:9001/,api.launchpad.net=http://127.0.0.1:9002/,gitlab.com=http://127.0.0.1:9003/api/v4/
//
// The key "launchpad" (or "api.launchpad.net", "bugs.launchpad.net") sets
// the Launchpad web service. Any other key is a link host: a base whose
// path ends in "/api/v4" is a GitLab, any other a Gerrit. A "gerrit:" or
// "gitlab:" prefix on the key ("gitlab:git.example.org=https://…/") says
// which, whatever the path. Spaces around entries and empty entries are
// ignored; hosts are matched case-insensitively.
func ParseEndpoints(s string) (Endpoints, error) {
	e := Endpoints{Gerrit: map[string]string{}, GitLab: map[string]string{}}
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, base, ok := strings.Cut(entry, "=")
		key, base = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(base)
		if !ok || key == "" || base == "" {
			return Endpoints{}, fmt.Errorf("endpoint %q: want host=URL", entry)
		}
		kind, host := "", key
		if k, h, ok := strings.Cut(key, ":"); ok && (k == "gerrit" || k == "gitlab") {
			kind, host = k, h
		}
		if host == "" || strings.ContainsAny(host, "/?#@ ") || strings.Contains(host, "://") {
			return Endpoints{}, fmt.Errorf("endpoint %q: %q is not a host name", entry, host)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Endpoints{}, fmt.Errorf("endpoint %q: %q is not an http(s) URL", entry, base)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return Endpoints{}, fmt.Errorf("endpoint %q: a base URL takes no query or fragment", entry)
		}
		if kind == "" && launchpadKeys[host] {
			kind = "launchpad"
		}
		if kind == "" {
			kind = "gerrit"
			if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v4") {
				kind = "gitlab"
			}
		}
		id := kind + ":" + host
		if kind == "launchpad" {
			id = kind
		}
		if seen[id] {
			return Endpoints{}, fmt.Errorf("endpoint %q: %s given twice", entry, id)
		}
		seen[id] = true
		switch kind {
		case "launchpad":
			e.Launchpad = withSlash(base)
		case "gitlab":
			e.GitLab[host] = withSlash(base)
		default:
			e.Gerrit[host] = withSlash(base)
		}
	}
	return e, nil
}

// SetOptions configures a Set. Zero values take the defaults.
type SetOptions struct {
	// HTTP, when set, is the client for Gerrit, Launchpad and GitLab,
	// whatever org a read is for (tests, a proxy of the caller's own).
	// When nil, the Set makes a client per org with the guarded transport
	// (TransportFor): public addresses, and what Allowance lets that org
	// reach. Either gets a per-host limit on top.
	HTTP *http.Client
	// Allowance is the operator's UPSTREAM_ALLOW_INTERNAL. A reference
	// scoped to an org on a host it names for that org (see OrgScoped) is
	// read with that org's client, and what is read is the org's private
	// data (Status.Private); shared references are read with what it
	// allows for every org.
	Allowance Allowance
	Endpoints Endpoints
	// PerSecond and Burst set the per-host request rate for Gerrit,
	// Launchpad and GitLab: 5 a second with a burst of 5 by default,
	// unlimited when PerSecond is negative.
	PerSecond float64
	Burst     int
	// GerritBatch is how many changes one Gerrit query asks for
	// (DefaultGerritBatch).
	GerritBatch int
	// GitHub gives the client for the GitHub refs of one org (Ref.Scope):
	// that org's installation, never another's. Without it they fail with
	// an error.
	GitHub func(ctx context.Context, org string) (*github.Client, error)
	// Concurrency bounds how many hosts are asked at once (4), and apart
	// from them how many orgs' GitHub references are read at once (4).
	Concurrency int
	// Timeout bounds each request (DefaultTimeout).
	Timeout time.Duration
}

// Set checks references of every provider, each host through its own
// fetcher.
type Set struct {
	opts SetOptions
	// afterFunc runs f after d and returns what stops it: time.AfterFunc,
	// but for tests, which do not wait for a time share to pass.
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	limits    *limits         // nil: unpaced
	public    *http.Transport // the public-only pool every org's client shares

	mu       sync.Mutex
	clients  map[string]*http.Client // by org; "" for shared reads
	fetchers map[string]Fetcher      // by GroupKey
}

type counter interface{ Calls() int64 }

// Provider names used by Calls.
const (
	CallsGerrit    = "gerrit"
	CallsLaunchpad = "launchpad"
	CallsGitLab    = "gitlab"
	CallsGitHub    = "github"
)

// NewSet returns a Set with opts.
func NewSet(opts SetOptions) *Set {
	if opts.PerSecond == 0 {
		opts.PerSecond = 5
	}
	if opts.Burst < 1 {
		opts.Burst = 5
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	opts.Allowance.UseEndpoints(opts.Endpoints)
	s := &Set{opts: opts, public: publicTransport(), clients: map[string]*http.Client{}, fetchers: map[string]Fetcher{},
		afterFunc: func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }}
	if opts.PerSecond > 0 {
		s.limits = newLimits(opts.PerSecond, opts.Burst)
	}
	return s
}

// OrgScoped reports whether references on host are read per org: the
// hook for link.Ref.ScopedBy, which the store applies to every reference
// an item names.
func (s *Set) OrgScoped(host string) bool { return s.opts.Allowance.OrgScoped(host) }

// client is the HTTP client for reads made for org ("" for shared
// references); the caller holds s.mu. Orgs the allowance does not name
// share the client for every org.
func (s *Set) client(org string) *http.Client {
	if s.opts.HTTP != nil || !s.opts.Allowance.Names(org) {
		org = ""
	}
	if c, ok := s.clients[org]; ok {
		return c
	}
	c := s.opts.HTTP
	if c == nil {
		c = &http.Client{Transport: newGuard(s.opts.Allowance.trustOf(org), s.public)}
	}
	if s.limits != nil {
		c = s.limits.client(c)
	}
	s.clients[org] = c
	return c
}

type group struct {
	key  string
	f    Fetcher
	refs []link.Ref
	// org is the org the group reads for ("" when it reads for no org in
	// particular), by which groups take turns.
	org string
}

// Fetch checks refs, grouped by provider and host, different hosts at the
// same time. Refs no provider can check (link.Other) are left out of the
// answer.
//
// No org's hosts may keep another org's references from being checked:
// the GitHub groups (one per org) and the other hosts' groups each have
// Concurrency slots of their own, groups take their turns round-robin by
// org, and when ctx has a deadline, a group that has used its share of
// the time left while others wait for a slot is stopped. What it had not
// checked fails with the context's error, which the poll hands back to
// the next poll.
func (s *Set) Fetch(ctx context.Context, refs []link.Ref) map[string]Result {
	groups := map[string]*group{}
	var github, hosts []*group
	for _, r := range refs {
		if !r.Tracked() {
			continue
		}
		k := GroupKey(r)
		g, ok := groups[k]
		if !ok {
			g = &group{key: k, f: s.fetcher(k, r), org: r.Scope}
			groups[k] = g
			if r.Provider == link.GitHub {
				github = append(github, g)
			} else {
				hosts = append(hosts, g)
			}
		}
		g.refs = append(g.refs, r)
	}

	out := make(map[string]Result, len(refs))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	done := func(g *group, res map[string]Result) {
		host := publicHost(g.refs[0])
		// What is read for one org from a host allowed for it is that
		// org's, as a private repository's items are.
		private := g.refs[0].Scope != "" && g.refs[0].Provider != link.GitHub
		mu.Lock()
		defer mu.Unlock()
		for key, r := range res {
			r.Status = r.Status.bounded()
			if private && r.Err == nil {
				r.Status.Private = true
			}
			if r.Err != nil {
				// Whatever a fetcher returns, only a public text is
				// ever shown.
				r.Err = public(host, r.Err)
			}
			out[key] = r
		}
	}
	for _, pool := range [][]*group{github, hosts} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(ctx, takeTurns(pool), done)
		}()
	}
	wg.Wait()
	return out
}

// run checks the groups of one pool in order, Concurrency at a time, and
// gives each answer to done. With a deadline on ctx, each group as it
// starts gets an even share of the time left among itself and the groups
// still waiting, in as many rounds as the slots make: past it, the group
// is stopped if a group waits for a slot that no group stopped before it
// is about to free, and else runs on.
func (s *Set) run(ctx context.Context, pool []*group, done func(*group, map[string]Result)) {
	slots := s.opts.Concurrency
	sem := make(chan struct{}, slots)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		waiting  = len(pool) // groups not started
		yielding int         // groups stopped that still hold their slot
	)
	for _, g := range pool {
		sem <- struct{}{}
		mu.Lock()
		waiting--
		left := waiting
		mu.Unlock()
		gctx, cancel := context.WithCancel(ctx)
		stop := func() bool { return false }
		yielded, finished := false, false // under mu
		if deadline, ok := ctx.Deadline(); ok {
			rounds := (left + slots) / slots // ceil((left+1) / slots)
			stop = s.afterFunc(time.Until(deadline)/time.Duration(rounds), func() {
				mu.Lock()
				defer mu.Unlock()
				if !finished && waiting > yielding {
					yielding++
					yielded = true
					cancel()
				}
			})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			done(g, s.fetchGroup(gctx, g))
			stop()
			// The slot is counted free before it is: a moment of one
			// group stopped too many beats one waiting for ever.
			mu.Lock()
			finished = true
			if yielded {
				yielding--
			}
			mu.Unlock()
			<-sem
		}()
	}
	wg.Wait()
}

// fetchGroup checks the references of one group. It runs on a goroutine
// of its own, where a panic would end the process: a fetcher that panics
// (on an answer shape nobody foresaw) fails its group's references for
// this poll instead, with the stack in the cause for the log.
func (s *Set) fetchGroup(ctx context.Context, g *group) (res map[string]Result) {
	defer func() {
		if p := recover(); p != nil {
			res = make(map[string]Result, len(g.refs))
			failAll(res, g.refs, &Failure{Public: "could not check this reference", Cause: fmt.Errorf("%s: the fetcher panicked: %v\n%s", g.key, p, debug.Stack())})
		}
	}()
	if g.f == nil {
		res := make(map[string]Result, len(g.refs))
		failAll(res, g.refs, &Failure{Public: "no provider can check this", Cause: fmt.Errorf("%s: no fetcher for this provider", g.key)})
		return res
	}
	return g.f.Fetch(ctx, g.refs)
}

// takeTurns orders groups round-robin by org: each org's first group (in
// key order), then each org's second, and so on, orgs in name order and
// the groups that read for no org first. So one org's twenty hosts do
// not all start before another org's first.
func takeTurns(groups []*group) []*group {
	byOrg := map[string][]*group{}
	var orgs []string
	for _, g := range groups {
		if _, ok := byOrg[g.org]; !ok {
			orgs = append(orgs, g.org)
		}
		byOrg[g.org] = append(byOrg[g.org], g)
	}
	sort.Strings(orgs)
	for _, gs := range byOrg {
		sort.Slice(gs, func(i, j int) bool { return gs[i].key < gs[j].key })
	}
	out := make([]*group, 0, len(groups))
	for turn := 0; len(out) < len(groups); turn++ {
		for _, org := range orgs {
			if gs := byOrg[org]; turn < len(gs) {
				out = append(out, gs[turn])
			}
		}
	}
	return out
}

// GroupKey is the fetcher a reference is checked by: one per provider and
// host, Launchpad being one service whatever host the link names, and one
// per org for GitHub and for a reference scoped to an org, since each is
// read with that org's own installation or allowance.
func GroupKey(r link.Ref) string {
	k := string(r.Provider) + ":" + strings.ToLower(r.Host)
	switch r.Provider {
	case link.Launchpad:
		k = string(r.Provider)
	case link.GitHub:
		return string(r.Provider) + "@" + r.Scope
	}
	if r.Scope != "" {
		k += "@" + r.Scope
	}
	return k
}

// publicHost names the host of r in public texts: the host the link names,
// never an API base the operator set.
func publicHost(r link.Ref) string {
	switch r.Provider {
	case link.Launchpad:
		return "launchpad.net"
	case link.GitHub:
		return githubHost
	}
	return strings.ToLower(r.Host)
}

// fetcher returns the fetcher for group key k, made once per Set so that
// call counts add up across Fetches.
func (s *Set) fetcher(k string, r link.Ref) Fetcher {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.fetchers[k]; ok {
		return f
	}
	host := strings.ToLower(r.Host)
	var f Fetcher
	switch r.Provider {
	case link.Gerrit:
		base, ok := s.opts.Endpoints.Gerrit[host]
		if !ok {
			base = "https://" + host + "/"
		}
		g := NewGerrit(s.client(r.Scope), base, s.opts.GerritBatch)
		g.timeout, g.name = s.opts.Timeout, publicHost(r)
		f = g
	case link.GitLab:
		base, ok := s.opts.Endpoints.GitLab[host]
		if !ok {
			base = "https://" + host + "/api/v4/"
		}
		g := NewGitLab(s.client(r.Scope), base)
		g.timeout, g.name = s.opts.Timeout, publicHost(r)
		f = g
	case link.Launchpad:
		l := NewLaunchpad(s.client(r.Scope), s.opts.Endpoints.Launchpad)
		l.timeout, l.name = s.opts.Timeout, publicHost(r)
		f = l
	case link.GitHub:
		var client func(ctx context.Context) (*github.Client, error)
		if s.opts.GitHub != nil {
			org := r.Scope
			client = func(ctx context.Context) (*github.Client, error) { return s.opts.GitHub(ctx, org) }
		}
		f = NewGitHub(client)
	default:
		return nil
	}
	s.fetchers[k] = f
	return f
}

// Calls counts the requests made so far, by provider name ("gerrit",
// "launchpad", "gitlab", "github"). Providers not yet used are absent.
func (s *Set) Calls() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for k, f := range s.fetchers {
		name, _, _ := strings.Cut(k, ":")
		name, _, _ = strings.Cut(name, "@")
		if c, ok := f.(counter); ok {
			out[name] += c.Calls()
		}
	}
	return out
}
