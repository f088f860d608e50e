package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/google/go-github/v60/github"
)

// hangGuard bounds how long a test waits for something that must happen
// while hosts hang. It is no time budget: on time, it happens at once.
const hangGuard = 30 * time.Second

// hungHosts are Gerrit hosts that answer nothing until released or until
// the request is cancelled, the worst a host named in rules can do short
// of the request timeout.
func hungHosts(t *testing.T, eps Endpoints, names ...string) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ch:
			w.Write([]byte(")]}'\n[]"))
		case <-r.Context().Done():
		}
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(srv.Close)
	t.Cleanup(release)
	for _, h := range names {
		eps.Gerrit[h] = srv.URL + "/"
	}
	return release
}

// servedServer answers Gerrit queries and GitHub issue and repository
// reads, and says on served each time it answers one.
func servedServer(t *testing.T) (*httptest.Server, chan string) {
	t.Helper()
	served := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/changes/"):
			fmt.Fprint(w, ")]}'\n"+`[{"_number":1,"project":"p","status":"NEW","subject":"B's change"}]`)
		case strings.Contains(r.URL.Path, "/issues/"):
			fmt.Fprint(w, `{"number":1,"state":"open","title":"B's work","repository_url":"https://api.github.com/repos/up/stream"}`)
		default:
			fmt.Fprint(w, `{"private":false,"visibility":"public"}`)
		}
		served <- r.URL.Path
	}))
	t.Cleanup(srv.Close)
	return srv, served
}

func gerritOn(host string, n int64, scope string) link.Ref {
	return link.Ref{Provider: link.Gerrit, Host: host, Kind: link.Change, Number: n, URL: "https://" + host + "/c/" + strconv.FormatInt(n, 10), Scope: scope}
}

// TestSet_SlowHostsOfOneOrg_DoNotStarveAnother: a repository maintainer of
// org A names four Gerrit hosts that hang, each with a thousand changes:
// enough to hold every slot for a whole poll. Org B's references are
// still asked while A's hosts hang: its GitHub references in slots of
// their own, and its internal Gerrit (a group of B's) in the first round,
// since groups take turns by org.
func TestSet_SlowHostsOfOneOrg_DoNotStarveAnother(t *testing.T) {
	tests := []struct {
		victim string
		refs   func(gerrit string) []link.Ref
	}{
		{"org B's GitHub references", func(string) []link.Ref {
			var refs []link.Ref
			for n := range 3 {
				r := ghRef("up/stream", link.Issue, int64(n+1))
				r.Scope = "org-b"
				refs = append(refs, r)
			}
			return refs
		}},
		{"org B's references on its own internal Gerrit", func(string) []link.Ref {
			return []link.Ref{gerritOn("gerrit.b.internal", 1, "org-b")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.victim, func(t *testing.T) {
			eps := Endpoints{Gerrit: map[string]string{}}
			release := hungHosts(t, eps, "a.evil", "b.evil", "c.evil", "d.evil")
			good, served := servedServer(t)
			eps.Gerrit["gerrit.b.internal"] = good.URL + "/"
			var refs []link.Ref
			for _, h := range []string{"a.evil", "b.evil", "c.evil", "d.evil"} {
				for n := range 1000 {
					refs = append(refs, gerritOn(h, int64(n+1), ""))
				}
			}
			victims := tt.refs(good.URL)
			s := NewSet(SetOptions{HTTP: client(), Endpoints: eps, PerSecond: -1, GitHub: func(context.Context, string) (*github.Client, error) {
				c := github.NewClient(nil)
				c.BaseURL, _ = c.BaseURL.Parse(good.URL + "/")
				return c, nil
			}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			results := make(chan map[string]Result, 1)
			go func() { results <- s.Fetch(ctx, append(refs, victims...)) }()

			for range victims {
				select {
				case <-served:
				case <-time.After(hangGuard):
					t.Fatalf("%s were not asked while org A's hosts hung", tt.victim)
				}
			}
			release()
			got := <-results
			for _, r := range victims {
				if res := got[r.Key()]; res.Err != nil || res.Status.State == Unknown {
					t.Errorf("%s: %+v %v, want it checked", r.Key(), res.Status, Detail(res.Err))
				}
			}
		})
	}
}

// TestSet_HungHost_YieldsItsSlotAfterItsShare: a host named in rules
// hangs, and another host waits for the only slot. With the poll's
// deadline an hour away, the hung host's group gets half of it (two
// groups, one slot: two rounds) and is then stopped for the waiting one,
// whose share is all that is left. What the hung host did not answer
// fails with the context's error, which the poll hands back to the next
// poll. The shares pass at once here: the test does not wait for them.
func TestSet_HungHost_YieldsItsSlotAfterItsShare(t *testing.T) {
	eps := Endpoints{Gerrit: map[string]string{}}
	hungHosts(t, eps, "a.evil")
	good, _ := servedServer(t)
	eps.Gerrit["review.opendev.org"] = good.URL + "/"
	s := NewSet(SetOptions{HTTP: client(), Endpoints: eps, PerSecond: -1, Concurrency: 1})
	var (
		mu     sync.Mutex
		shares []time.Duration
	)
	s.afterFunc = func(d time.Duration, f func()) func() bool {
		mu.Lock()
		shares = append(shares, d)
		mu.Unlock()
		go f()
		return func() bool { return false }
	}
	hung, fine := gerritOn("a.evil", 1, ""), gerritOn("review.opendev.org", 1, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	results := make(chan map[string]Result, 1)
	go func() { results <- s.Fetch(ctx, []link.Ref{fine, hung}) }()
	var got map[string]Result
	select {
	case got = <-results:
	case <-time.After(hangGuard):
		t.Fatal("the hung host kept the only slot; the other host was never asked")
	}
	if res := got[fine.Key()]; res.Err != nil || res.Status.State != InReview {
		t.Errorf("the waiting host: %+v %v, want it checked", res.Status, Detail(res.Err))
	}
	if res := got[hung.Key()]; !errors.Is(res.Err, context.Canceled) {
		t.Errorf("the hung host: %v, want the context's error, so that the poll hands it back", Detail(res.Err))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(shares) != 2 || shares[0] > 30*time.Minute || shares[0] < 29*time.Minute || shares[1] > time.Hour || shares[1] < 59*time.Minute {
		t.Errorf("shares %v, want half the hour, then what is left of it", shares)
	}
}

func TestTakeTurns(t *testing.T) {
	var groups []*group
	for _, k := range []string{"gerrit:d.evil", "gerrit:a.evil", "github@b", "gerrit:c.evil@a", "gerrit:b.evil@a", "gitlab:x@b", "launchpad"} {
		org := ""
		if _, o, ok := strings.Cut(k, "@"); ok {
			org = o
		}
		groups = append(groups, &group{key: k, org: org})
	}
	var got []string
	for _, g := range takeTurns(groups) {
		got = append(got, g.key)
	}
	want := []string{"gerrit:a.evil", "gerrit:b.evil@a", "github@b", "gerrit:d.evil", "gerrit:c.evil@a", "gitlab:x@b", "launchpad"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("takeTurns: %q, want %q", got, want)
	}
}
