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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

var (
	appKeyOnce sync.Once
	appKey     *rsa.PrivateKey
)

// testAppKey is one App key for all tests: generating one takes a while.
func testAppKey(t *testing.T) *rsa.PrivateKey {
	appKeyOnce.Do(func() {
		var err error
		if appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return appKey
}

// pollEnv is a Handler wired as the service wires it: a real store, the
// fake GitHub read through the App's client with each org's own
// installation, and a fake Launchpad reached through the guarded transport
// with the fake's address allowed explicitly.
type pollEnv struct {
	store *upstream.Store
	h     *upstream.Handler
	gh    *fakegithub.Server
	lp    *fakeupstream.Launchpad
	now   time.Time
	reg   *prometheus.Registry
}

func newPollEnv(t *testing.T, s *upstream.Store, b upstream.Budget) *pollEnv {
	t.Helper()
	e := &pollEnv{store: s, gh: fakegithub.New(t), lp: fakeupstream.NewLaunchpad(), now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		reg: prometheus.NewRegistry()}
	t.Cleanup(e.lp.Close)
	s.Now = func() time.Time { return e.now }
	key := testAppKey(t)
	e.gh.SetAppPublicKey(&key.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := githubapp.New(githubapp.Config{AppID: 1, PrivateKey: pemKey, BaseURL: e.gh.URL()},
		githubapp.WithRegisterer(prometheus.NewRegistry()), githubapp.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	eps, err := provider.ParseEndpoints("launchpad=" + e.lp.APIBase())
	if err != nil {
		t.Fatal(err)
	}
	allow, err := provider.ParseAllowance("*=" + strings.TrimPrefix(e.lp.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	set := provider.NewSet(provider.SetOptions{
		HTTP:      &http.Client{Transport: provider.Transport(allow)},
		Endpoints: eps,
		PerSecond: -1,
		GitHub: func(ctx context.Context, org string) (*github.Client, error) {
			inst, err := s.Installation(ctx, org)
			if err != nil || inst == 0 {
				return nil, fmt.Errorf("no installation of %s: %v", org, err)
			}
			return app.Installation(inst), nil
		},
	})
	e.h = &upstream.Handler{Store: s, Providers: set, Queue: noSchedule{}, Log: log, Metrics: upstream.NewMetrics(e.reg),
		Client:    func(inst int64) upstream.Client { return upstream.GitHub{C: app.Installation(inst)} },
		PollEvery: time.Hour, Now: func() time.Time { return e.now }, Budget: b}
	return e
}

// track records item with the references its body names, as an event does,
// and makes its repository a public one on the fake.
func (e *pollEnv) track(t *testing.T, it upstream.Item, body string) {
	t.Helper()
	owner, name, _ := strings.Cut(it.Repo, "/")
	e.gh.SetRepoPrivate(owner, name, it.Private)
	var refs []link.Ref
	for _, f := range link.Parse(body, link.Options{Org: it.Org()}).Refs {
		refs = append(refs, f.Ref)
	}
	if _, err := e.store.Track(context.Background(), it, upstream.SourceBody, refs); err != nil {
		t.Fatal(err)
	}
}

// poll runs one poll two hours after the last, and returns the GitHub and
// Launchpad requests it made, GitHub's by installation.
func (e *pollEnv) poll(t *testing.T) (github map[int64]int, launchpad int) {
	t.Helper()
	e.gh.Reset()
	e.lp.Reset()
	e.now = e.now.Add(2 * time.Hour)
	if err := e.h.Poll(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	github = map[int64]int{}
	for _, r := range e.gh.Requests() {
		if strings.HasPrefix(r.Path, "/repos/") {
			github[r.Installation]++
		}
	}
	return github, int(e.lp.Calls())
}

// checked counts the references the item names that have been checked.
func (e *pollEnv) checked(t *testing.T, repo string, number int) (checked, all int) {
	t.Helper()
	refs, err := e.store.ItemReferences(context.Background(), repo, number)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if !r.LastChecked.IsZero() {
			checked++
		}
	}
	return checked, len(refs)
}

// counter is the value of a counter or gauge series in the registry.
func (e *pollEnv) counter(t *testing.T, name, provider string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "provider" && l.GetValue() == provider {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

func links(format string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "Upstream: "+format+"\n", i)
	}
	return b.String()
}

func item(org string, inst int64, number int) upstream.Item {
	return upstream.Item{Repo: org + "/public", Number: number, Installation: inst, Title: "Item", Author: "someone", Open: true, Listed: true,
		URL: fmt.Sprintf("https://github.com/%s/public/issues/%d", org, number)}
}

// TestPoll_AnyGitHubUserNames1903LinksInOneIssue: any GitHub user opens
// an issue in an org's public repository with 1,903 GitHub links. The item
// tracks report.MaxRefsPerItem of them, says how many more it names, and
// each poll reads GitHub at most that often for it (not 1,903 times).
func TestPoll_AnyGitHubUserNames1903LinksInOneIssue(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		e := newPollEnv(t, s, upstream.Budget{})
		it := item("o", 1, 1)
		e.track(t, it, links("https://github.com/k/k/issues/%d", 1903))
		saved, err := s.Item(context.Background(), it.Repo, it.Number)
		if err != nil {
			t.Fatal(err)
		}
		if _, all := e.checked(t, it.Repo, it.Number); all != report.MaxRefsPerItem || saved.Untracked != 1903-report.MaxRefsPerItem {
			t.Errorf("tracked %d, untracked %d; want %d and %d", all, saved.Untracked, report.MaxRefsPerItem, 1903-report.MaxRefsPerItem)
		}
		for poll := 1; poll <= 2; poll++ {
			// The issues do not exist: every reference costs one read; the
			// full poll adds one of the tracking repository's visibility.
			gh, _ := e.poll(t)
			if gh[1] > report.MaxRefsPerItem+1 {
				t.Errorf("poll %d read GitHub %d times for one item, want at most %d", poll, gh[1], report.MaxRefsPerItem+1)
			}
		}
	})
}

// TestPoll_OneOrgFloodsTheOtherIsStillChecked: the items of one org (any
// GitHub user can open them in its public repositories) name hundreds of
// references on one host. Each poll reads at most that org's budget for
// it, another org's references on the same host are checked in the first
// poll all the same, and what the budget left over comes first in the
// next polls until every reference has been checked.
func TestPoll_OneOrgFloodsTheOtherIsStillChecked(t *testing.T) {
	const budget, items = 30, 4 // 200 references in the flood
	tests := []struct {
		provider string
		flood    string // link format, one reference per number
		quiet    string
		reads    func(gh map[int64]int, lp int) int // the flood's reads of one poll
	}{
		{"github", "https://github.com/aa/flood/issues/%d", "https://github.com/zz/quiet/issues/%d",
			func(gh map[int64]int, _ int) int { return gh[1] }},
		{"launchpad", "https://bugs.launchpad.net/aa/+bug/%d", "https://bugs.launchpad.net/zz/+bug/9999%d",
			func(_ map[int64]int, lp int) int { return lp - 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			stores(t, func(t *testing.T, s *upstream.Store) {
				e := newPollEnv(t, s, upstream.Budget{GitHub: budget, Host: budget})
				for i := range items {
					var b strings.Builder
					for j := 1; j <= report.MaxRefsPerItem; j++ {
						fmt.Fprintf(&b, "Upstream: "+tt.flood+"\n", i*report.MaxRefsPerItem+j)
					}
					e.track(t, item("flood", 1, i+1), b.String())
				}
				quiet := item("quiet", 2, 1)
				e.track(t, quiet, links(tt.quiet, 3))

				gh, lp := e.poll(t)
				if n, all := e.checked(t, quiet.Repo, quiet.Number); n != all {
					t.Errorf("the quiet org's references checked in the first poll: %d of %d", n, all)
				}
				if r := tt.reads(gh, lp); r > budget {
					t.Errorf("the flooding org's first poll made %d reads, over its budget of %d", r, budget)
				}
				if e.counter(t, "contribot_upstream_budget_exhausted_total", tt.provider) == 0 ||
					e.counter(t, "contribot_upstream_deferred_references", tt.provider) == 0 {
					t.Error("the spent budget is not in the metrics")
				}
				// Leftovers first: every flood reference is checked within
				// the polls the budget needs for them, none twice before.
				floodChecked := func() int {
					done := 0
					for i := range items {
						n, _ := e.checked(t, "flood/public", i+1)
						done += n
					}
					return done
				}
				total := items * report.MaxRefsPerItem
				polls := 1
				for ; floodChecked() < total && polls < 20; polls++ {
					e.poll(t)
				}
				// budget-1 a poll at least: GitHub's budget also pays for
				// one read of the repository's visibility.
				if want := (total + budget - 2) / (budget - 1); polls > want {
					t.Errorf("the flood's %d references took %d polls to be checked once, want at most %d", total, polls, want)
				}
			})
		})
	}
}
