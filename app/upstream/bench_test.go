package upstream_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// Scale of the benchmarks: 500 tracking issues in one org, each naming 10
// upstream references, 5,000 distinct references in all.
const (
	scaleItems   = 500
	scaleRepos   = 25 // the org's repositories the items are in
	scaleOrg     = "SovereignCloudStack"
	scaleInstall = 1
	// Per item: 5 Gerrit changes, 2 Launchpad bugs, 2 GitHub pull requests
	// or issues in other orgs, 1 GitLab merge request.
	perItemGerrit, perItemLaunchpad, perItemGitHub, perItemGitLab = 5, 2, 2, 1
)

var (
	scaleGerritProjects = []string{"openstack/nova", "openstack/keystone", "openstack/neutron", "openstack/cinder",
		"openstack/octavia", "openstack/kolla-ansible", "openstack/openstack-ansible", "starlingx/config"}
	scaleLaunchpadTargets = []string{"nova", "keystone", "neutron", "cinder", "octavia", "kolla-ansible"}
	scaleGitHubRepos      = []string{"kubernetes-sigs/cluster-api", "kubernetes-sigs/cluster-api-provider-openstack",
		"kubernetes/kubernetes", "kubernetes/cloud-provider-openstack", "cert-manager/cert-manager",
		"flatcar/Flatcar", "ceph/ceph", "rook/rook", "cilium/cilium", "helm/helm"}
	scaleGitLabProjects = []string{"gitlab-org/gitlab", "fdroid/fdroidserver", "openconnect/openconnect",
		"gnutls/gnutls", "cryptsetup/cryptsetup"}
	gerritStates    = []string{"NEW", "NEW", "MERGED", "MERGED", "ABANDONED"}
	launchpadStates = []string{"New", "Triaged", "In Progress", "Fix Committed", "Fix Released"}
	gitlabStates    = []string{"opened", "merged", "merged", "closed"}
)

// clock is the handler's and store's time, moved on by the benchmark so
// every reference is due at each poll.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingQueue records what a poll schedules, and runs nothing.
type countingQueue struct{ n atomic.Int64 }

func (q *countingQueue) Schedule(context.Context, string, string, time.Duration) error {
	q.n.Add(1)
	return nil
}

// timedFetcher measures the providers' share of a poll.
type timedFetcher struct {
	*provider.Set
	took time.Duration
}

func (f *timedFetcher) Fetch(ctx context.Context, refs []link.Ref) map[string]provider.Result {
	start := time.Now()
	defer func() { f.took += time.Since(start) }()
	return f.Set.Fetch(ctx, refs)
}

type scaleEnv struct {
	ctx       context.Context
	clock     *clock
	store     *upstream.Store
	handler   *upstream.Handler
	set       *provider.Set
	fetch     *timedFetcher
	queue     *countingQueue
	github    *fakegithub.Server
	gerrit    *fakeupstream.Gerrit
	launchpad *fakeupstream.Launchpad
	gitlab    *fakeupstream.GitLab
	refs      int
}

// scaleBody writes item i's body with its ten "Upstream:" lines and
// fills the fakes with the references it names.
func (e *scaleEnv) scaleBody(i int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Upstream work for feature %d.\n\n", i)
	then := e.clock.Now().Add(-time.Duration(i%90) * 24 * time.Hour)
	for j := range perItemGerrit {
		k := i*perItemGerrit + j
		n := int64(800000 + k)
		p := scaleGerritProjects[k%len(scaleGerritProjects)]
		e.gerrit.SetChange(n, fakeupstream.Change{Project: p, Status: gerritStates[k%len(gerritStates)],
			Subject: fmt.Sprintf("Fix %d in %s", k, p), Updated: then})
		fmt.Fprintf(&sb, "Upstream: https://review.opendev.org/c/%s/+/%d\n", p, n)
	}
	for j := range perItemLaunchpad {
		k := i*perItemLaunchpad + j
		n := int64(2000000 + k)
		t := scaleLaunchpadTargets[k%len(scaleLaunchpadTargets)]
		e.launchpad.SetBug(n, fakeupstream.Task{Target: t, Status: launchpadStates[k%len(launchpadStates)],
			Title: fmt.Sprintf("Bug %d in %s", k, t), Created: then.Add(-24 * time.Hour), Triaged: then})
		fmt.Fprintf(&sb, "Upstream: https://bugs.launchpad.net/%s/+bug/%d\n", t, n)
	}
	for j := range perItemGitHub {
		k := i*perItemGitHub + j
		owner, repo, _ := strings.Cut(scaleGitHubRepos[k%len(scaleGitHubRepos)], "/")
		n := 10000 + k
		it := fakegithub.SearchItem{Number: n, PR: k%4 != 3, Author: "alice", Title: fmt.Sprintf("Upstream change %d", k),
			CreatedAt: then.Add(-72 * time.Hour)}
		switch k % 4 {
		case 1:
			it.State, it.Merged, it.ClosedAt = "closed", true, then
		case 2:
			it.Draft = true
		}
		e.github.AddSearchItem(owner, repo, it)
		kind := "pull"
		if !it.PR {
			kind = "issues"
		}
		fmt.Fprintf(&sb, "Upstream: https://github.com/%s/%s/%s/%d\n", owner, repo, kind, n)
	}
	for j := range perItemGitLab {
		k := i*perItemGitLab + j
		p := scaleGitLabProjects[k%len(scaleGitLabProjects)]
		n := int64(1000 + k)
		e.gitlab.SetMR(p, n, fakeupstream.MR{State: gitlabStates[k%len(gitlabStates)], Title: fmt.Sprintf("MR %d", k), UpdatedAt: then})
		fmt.Fprintf(&sb, "Upstream: https://gitlab.com/%s/-/merge_requests/%d\n", p, n)
	}
	return sb.String()
}

// newScaleEnv builds the store on SQLite (as queue.Open makes it), the
// fakes and a Handler whose GitHub client is a real githubapp client with
// its ETag cache.
func newScaleEnv(b *testing.B) *scaleEnv {
	b.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	q, err := queue.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "contribot.db"),
		queue.Options{NoWork: true, Schema: upstream.Schema, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = q.Stop(context.Background()) })

	e := &scaleEnv{
		ctx:       ctx,
		clock:     &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)},
		queue:     &countingQueue{},
		github:    fakegithub.New(b),
		gerrit:    fakeupstream.NewGerrit(),
		launchpad: fakeupstream.NewLaunchpad(),
		gitlab:    fakeupstream.NewGitLab(),
	}
	b.Cleanup(e.gerrit.Close)
	b.Cleanup(e.launchpad.Close)
	b.Cleanup(e.gitlab.Close)
	e.store = &upstream.Store{DB: q.DB(), Now: e.clock.Now}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	e.github.SetAppPublicKey(&key.PublicKey)
	e.github.SetRateLimit(1 << 30)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	gh, err := githubapp.New(githubapp.Config{AppID: 1, PrivateKey: pemKey, BaseURL: e.github.URL()},
		githubapp.WithRegisterer(prometheus.NewRegistry()), githubapp.WithLogger(log))
	if err != nil {
		b.Fatal(err)
	}

	eps, err := provider.ParseEndpoints("review.opendev.org=" + e.gerrit.APIBase() + ",launchpad=" + e.launchpad.APIBase() +
		",gitlab.com=" + e.gitlab.APIBase())
	if err != nil {
		b.Fatal(err)
	}
	e.set = provider.NewSet(provider.SetOptions{
		HTTP:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		Endpoints: eps,
		PerSecond: -1, // no pacing: measure the tracker, not the limiter
		// The org's own installation, looked up as the service does.
		GitHub: func(ctx context.Context, org string) (*github.Client, error) {
			inst, err := e.store.Installation(ctx, org)
			if err != nil || inst == 0 {
				return nil, fmt.Errorf("no installation of %s: %v", org, err)
			}
			return gh.Installation(inst), nil
		},
	})
	e.fetch = &timedFetcher{Set: e.set}
	e.handler = &upstream.Handler{
		Store:     e.store,
		Providers: e.fetch,
		Queue:     e.queue,
		Log:       log,
		PollEvery: time.Hour,
		Now:       e.clock.Now,
		// The full poll's check of each tracking repository's visibility.
		Client: func(inst int64) upstream.Client { return upstream.GitHub{C: gh.Installation(inst)} },
	}
	for r := range scaleRepos {
		e.github.SetRepoPrivate(scaleOrg, fmt.Sprintf("project-%d", r), false)
	}

	opts := link.Options{Org: scaleOrg}
	for i := range scaleItems {
		body := e.scaleBody(i)
		refs := make([]link.Ref, 0, 10)
		for _, f := range link.Parse(body, opts).Refs {
			refs = append(refs, f.Ref)
		}
		if len(refs) != perItemGerrit+perItemLaunchpad+perItemGitHub+perItemGitLab {
			b.Fatalf("item %d names %d references, want 10:\n%s", i, len(refs), body)
		}
		e.refs += len(refs)
		it := upstream.Item{Repo: fmt.Sprintf("%s/project-%d", scaleOrg, i%scaleRepos), Number: 100 + i, Installation: scaleInstall,
			Title: fmt.Sprintf("Feature %d upstream", i), URL: fmt.Sprintf("https://github.com/%s/project-%d/issues/%d", scaleOrg, i%scaleRepos, 100+i),
			Author: "Codertocat", Open: true, Listed: true, Modules: []string{fmt.Sprintf("module-%d", i%7)}}
		if _, err := e.store.Track(ctx, it, "body", refs); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// githubStatuses counts the fake GitHub's answers to issue GETs since its
// last Reset, by status, and the reads of the tracking repositories'
// visibility.
func (e *scaleEnv) githubStatuses() (ok, notModified, other, tracking int) {
	for _, r := range e.github.Requests() {
		if strings.HasPrefix(r.Path, "/repos/"+scaleOrg+"/") {
			tracking++
			continue
		}
		if r.Method != http.MethodGet || !strings.Contains(r.Path, "/issues/") {
			continue
		}
		switch r.Status {
		case http.StatusOK:
			ok++
		case http.StatusNotModified:
			notModified++
		default:
			other++
		}
	}
	return ok, notModified, other, tracking
}

func (e *scaleEnv) resetFakes() {
	e.github.Reset()
	e.gerrit.Reset()
	e.launchpad.Reset()
	e.gitlab.Reset()
}

// poll runs one poll with every reference due, and checks that all were
// checked.
func (e *scaleEnv) poll(b *testing.B) {
	e.clock.Add(2 * time.Hour)
	if err := e.handler.Poll(e.ctx, true); err != nil {
		b.Fatal(err)
	}
}

func (e *scaleEnv) checkAllChecked(b *testing.B) {
	b.Helper()
	var n int
	if err := e.store.DB.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM contribot_upstream_ref WHERE last_checked = $1 AND check_error = ''`,
		e.clock.Now().Unix()).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n != e.refs {
		b.Fatalf("%d of %d references checked without error in the last poll", n, e.refs)
	}
}

// BenchmarkPoll5000 polls 5,000 references (2,500 Gerrit changes, 1,000
// Launchpad bugs, 1,000 GitHub pull requests and issues in other orgs, 500
// GitLab merge requests) named by 500 tracking issues, ten each (under
// report.MaxRefsPerItem), from fakes and without pacing, with the default
// per-org read budget, which lets one poll check them all. The first
// (cold) poll is run before the timer and reported as cold-s; the timed
// polls are the steady state, where GitHub answers 304 to the client's
// conditional requests. github-calls counts the issue reads and one read of
// each of the ten upstream repositories' visibility; gh-tracking-repos the
// full poll's reads of the 25 tracking repositories' visibility (through
// the handler's client, 304 when unchanged).
func BenchmarkPoll5000(b *testing.B) {
	e := newScaleEnv(b)

	e.resetFakes()
	before := e.set.Calls()
	start := time.Now()
	e.poll(b)
	cold := time.Since(start)
	e.checkAllChecked(b)
	coldCalls := e.set.Calls()
	cold200, cold304, _, coldTracking := e.githubStatuses()

	var ok, notModified, other, tracking int
	b.ResetTimer()
	e.fetch.took = 0
	warmBefore := e.set.Calls()
	for range b.N {
		b.StopTimer()
		e.resetFakes()
		b.StartTimer()
		e.poll(b)
		b.StopTimer()
		o, nm, x, tr := e.githubStatuses()
		ok, notModified, other, tracking = ok+o, notModified+nm, other+x, tracking+tr
		b.StartTimer()
	}
	b.StopTimer()
	e.checkAllChecked(b)
	after := e.set.Calls()
	n := float64(b.N)
	for _, p := range []string{provider.CallsGerrit, provider.CallsLaunchpad, provider.CallsGitLab, provider.CallsGitHub} {
		b.ReportMetric(float64(after[p]-warmBefore[p])/n, p+"-calls/poll")
		b.ReportMetric(float64(coldCalls[p]-before[p]), p+"-calls/cold")
	}
	b.ReportMetric(cold.Seconds(), "cold-s")
	b.ReportMetric(float64(cold200), "gh-200/cold")
	b.ReportMetric(float64(cold304), "gh-304/cold")
	b.ReportMetric(float64(ok)/n, "gh-200/poll")
	b.ReportMetric(float64(notModified)/n, "gh-304/poll")
	b.ReportMetric(float64(coldTracking), "gh-tracking-repos/cold")
	b.ReportMetric(float64(tracking)/n, "gh-tracking-repos/poll")
	if other > 0 {
		b.ReportMetric(float64(other)/n, "gh-other/poll")
	}
	b.ReportMetric(e.fetch.took.Seconds()/n, "fetch-s/poll")
	b.ReportMetric(float64(e.refs), "refs")
}

// BenchmarkDashboard5000 renders the org's dashboard as the dashboard task
// does: the references from the store (after one poll, so all have a
// state), then report.Dashboard. It reports the two parts apart.
func BenchmarkDashboard5000(b *testing.B) {
	e := newScaleEnv(b)
	e.poll(b)
	e.checkAllChecked(b)
	o := report.Options{Now: e.clock.Now(), StaleAfter: 30 * 24 * time.Hour, PageURL: "https://contribot.example.org/upstream"}

	var query, render time.Duration
	var runes, refs int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		rs, err := e.store.References(e.ctx, scaleOrg)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		body := report.Dashboard(rs, o)
		render += time.Since(t1)
		query += t1.Sub(t0)
		runes, refs = utf8.RuneCountInString(body), len(rs)
	}
	b.StopTimer()
	if refs != e.refs {
		b.Fatalf("the store lists %d references, want %d", refs, e.refs)
	}
	n := float64(b.N)
	b.ReportMetric(query.Seconds()*1000/n, "store-ms/op")
	b.ReportMetric(render.Seconds()*1000/n, "render-ms/op")
	b.ReportMetric(float64(runes), "runes")
}
