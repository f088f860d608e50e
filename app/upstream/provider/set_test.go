package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/google/go-github/v60/github"
)

func TestParseEndpoints(t *testing.T) {
	tests := []struct {
		in      string
		want    Endpoints
		wantErr string
	}{
		{
			in: "review.opendev.org=http://127.0.0.1:9001/,api.launchpad.net=http://127.0.0.1:9002/,gitlab.com=http://127.0.0.1:9003/api/v4/",
			want: Endpoints{
				Gerrit:    map[string]string{"review.opendev.org": "http://127.0.0.1:9001/"},
				GitLab:    map[string]string{"gitlab.com": "http://127.0.0.1:9003/api/v4/"},
				Launchpad: "http://127.0.0.1:9002/",
			},
		},
		{
			in: " launchpad=https://lp.example/1.0 , Review.Example.org=https://r.example/gerrit , gitlab:git.example.org=https://git.example.org/x , gerrit:g.example=https://g.example/api/v4 ,",
			want: Endpoints{
				Gerrit:    map[string]string{"review.example.org": "https://r.example/gerrit/", "g.example": "https://g.example/api/v4/"},
				GitLab:    map[string]string{"git.example.org": "https://git.example.org/x/"},
				Launchpad: "https://lp.example/1.0/",
			},
		},
		{in: "", want: Endpoints{Gerrit: map[string]string{}, GitLab: map[string]string{}}},
		{in: "review.opendev.org", wantErr: `endpoint "review.opendev.org": want host=URL`},
		{in: "a=http://x/,=http://y/", wantErr: `endpoint "=http://y/": want host=URL`},
		{in: "review.opendev.org=127.0.0.1:9001", wantErr: `endpoint "review.opendev.org=127.0.0.1:9001": "127.0.0.1:9001" is not an http(s) URL`},
		{in: "review.opendev.org=ftp://x/", wantErr: `endpoint "review.opendev.org=ftp://x/": "ftp://x/" is not an http(s) URL`},
		{in: "https://review.opendev.org=http://x/", wantErr: `endpoint "https://review.opendev.org=http://x/": "https://review.opendev.org" is not a host name`},
		{in: "r.org=http://x/?a=b", wantErr: `endpoint "r.org=http://x/?a=b": a base URL takes no query or fragment`},
		{in: "launchpad=http://a/,api.launchpad.net=http://b/", wantErr: `endpoint "api.launchpad.net=http://b/": launchpad given twice`},
		{in: "r.org=http://a/,R.org=http://b/", wantErr: `endpoint "R.org=http://b/": gerrit:r.org given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEndpoints(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSetFetch(t *testing.T) {
	ger := fakeupstream.NewGerrit()
	defer ger.Close()
	lp := fakeupstream.NewLaunchpad()
	defer lp.Close()
	gl := fakeupstream.NewGitLab()
	defer gl.Close()
	gh := newGHServer(t, map[string]ghItem{"o/r#5": {fields: map[string]any{"state": "open"}}})

	ger.SetChange(903172, fakeupstream.Change{Project: "openstack/keystone", Status: "MERGED"})
	ger.SetChange(903173, fakeupstream.Change{Project: "openstack/keystone", Status: "NEW"})
	lp.SetBug(2045974, fakeupstream.Task{Target: "keystone", Status: "Fix Released"})
	gl.SetMR("a/b", 3, fakeupstream.MR{State: "merged"})

	eps, err := ParseEndpoints("review.opendev.org=" + ger.APIBase() + ",launchpad=" + lp.APIBase() + ",gitlab.com=" + gl.APIBase())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(SetOptions{HTTP: client(), Endpoints: eps, PerSecond: -1, GitHub: func(ctx context.Context, _ string) (*github.Client, error) { return gh.client(ctx) }})
	other := link.Ref{Provider: link.Other, URL: "https://tracker.ceph.com/issues/1"}
	refs := []link.Ref{
		gerritRef(903172), gerritRef(903173), lpRef("keystone", 2045974), lpRef("keystone", 1),
		glRef("a/b", link.MR, 3), ghRef("o/r", link.Issue, 5), other,
	}
	// The same bug under launchpad.net instead of bugs.launchpad.net is the
	// same service.
	alt := lpRef("nova", 7)
	alt.Host = "launchpad.net"
	refs = append(refs, alt)

	got := s.Fetch(context.Background(), refs)
	want := map[string]State{
		refs[0].Key(): Merged, refs[1].Key(): InReview, refs[2].Key(): Released, refs[3].Key(): Unavailable,
		refs[4].Key(): Merged, refs[5].Key(): Open, alt.Key(): Unavailable,
	}
	if len(got) != len(want) {
		t.Errorf("got %d results, want %d (link.Other is skipped)", len(got), len(want))
	}
	for k, w := range want {
		if r := got[k]; r.Err != nil || r.Status.State != w {
			t.Errorf("%s: %+v %v, want %s", k, r.Status, r.Err, w)
		}
	}
	wantCalls := map[string]int64{"gerrit": 1, "launchpad": 3, "gitlab": 1, "github": 2} // GitHub: the item and its repository's visibility
	if c := s.Calls(); !reflect.DeepEqual(c, wantCalls) {
		t.Errorf("Calls() = %v, want %v", c, wantCalls)
	}
	// Counts add up over Fetches.
	s.Fetch(context.Background(), refs[:1])
	if c := s.Calls()["gerrit"]; c != 2 {
		t.Errorf("Calls()[gerrit] after a second Fetch = %d, want 2", c)
	}
}

// recorder answers every request with 404 and notes its URL, so default
// endpoints can be checked without the network.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func TestSetDefaultEndpoints(t *testing.T) {
	rec := &recorder{}
	s := NewSet(SetOptions{HTTP: &http.Client{Transport: rec}})
	gl := glRef("a/b", link.MR, 3)
	gl.Host = "GitLab.Example.org"
	ger := gerritRef(5)
	ger.Host = "review.example.org"
	s.Fetch(context.Background(), []link.Ref{gl, ger, lpRef("nova", 7)})
	sort.Strings(rec.urls)
	want := []string{
		"https://api.launchpad.net/1.0/bugs/7/bug_tasks",
		"https://gitlab.example.org/api/v4/projects/a%2Fb/merge_requests/3",
		"https://review.example.org/changes/?q=change:5&n=1",
	}
	if !reflect.DeepEqual(rec.urls, want) {
		t.Errorf("requested\n %q\nwant\n %q", rec.urls, want)
	}
}

func TestSetWithoutGitHub(t *testing.T) {
	s := NewSet(SetOptions{})
	r := ghRef("o/r", link.PR, 1)
	got := s.Fetch(context.Background(), []link.Ref{r})
	if e := got[r.Key()].Err; e == nil || e.Error() != "github: no client configured" {
		t.Errorf("err = %v", e)
	}
}

// A fetcher that panics on an answer nobody foresaw (any upstream host or
// GitHub writes the answers) fails its references for this poll instead
// of ending the process from its goroutine.
func TestSetFetch_PanickingFetcherFailsItsReferences(t *testing.T) {
	s := NewSet(SetOptions{GitHub: func(context.Context, string) (*github.Client, error) { panic("an answer nobody foresaw") }})
	r := ghRef("o/r", link.PR, 1).Scoped("acme")
	got := s.Fetch(context.Background(), []link.Ref{r})
	err := got[r.Key()].Err
	if err == nil || err.Error() != "could not check this reference" {
		t.Fatalf("err = %v, want the public text", err)
	}
	if !strings.Contains(fmt.Sprint(errors.Unwrap(err)), "an answer nobody foresaw") {
		t.Errorf("cause %v lacks the panic", errors.Unwrap(err))
	}
}

// TestSetHostsConcurrently: a slow host does not hold up another. The
// Gerrit fake blocks until the GitLab request has been served, which only
// finishes if both run at once.
func TestSetHostsConcurrently(t *testing.T) {
	glServed := make(chan struct{})
	var once sync.Once
	gl := fakeupstream.NewGitLab()
	defer gl.Close()
	gl.SetIssue("a/b", 1, fakeupstream.Issue{})
	glProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer once.Do(func() { close(glServed) })
		resp, err := http.Get(gl.URL() + r.RequestURI)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	}))
	defer glProxy.Close()
	var blocked atomic.Bool
	ger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-glServed:
		case <-time.After(10 * time.Second): // only a hang guard
			blocked.Store(true)
		}
		io.WriteString(w, ")]}'\n[]")
	}))
	defer ger.Close()
	eps, err := ParseEndpoints("review.opendev.org=" + ger.URL + ",gitlab.com=" + glProxy.URL + "/api/v4/")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(SetOptions{HTTP: client(), Endpoints: eps, PerSecond: -1})
	refs := []link.Ref{gerritRef(1), glRef("a/b", link.Issue, 1)}
	got := s.Fetch(context.Background(), refs)
	if blocked.Load() {
		t.Fatal("hosts were asked one after the other")
	}
	if got[refs[0].Key()].Status.State != Unavailable || got[refs[1].Key()].Status.State != Open {
		t.Errorf("got %+v", got)
	}
}
