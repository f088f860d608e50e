package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

func TestGerritStates(t *testing.T) {
	upd := time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC)
	tests := []struct {
		name   string
		change *fakeupstream.Change // nil: not on the server
		want   Status
	}{
		{"new", &fakeupstream.Change{Status: "NEW", Subject: "Add x"}, Status{State: InReview, Raw: "NEW", Title: "Add x", LastActivity: upd}},
		{"new wip", &fakeupstream.Change{Status: "NEW", WIP: true, Subject: "WIP x"}, Status{State: Draft, Raw: "NEW (WIP)", Title: "WIP x", LastActivity: upd}},
		{"merged", &fakeupstream.Change{Status: "MERGED", Subject: "Done"}, Status{State: Merged, Raw: "MERGED", Title: "Done", LastActivity: upd}},
		{"merged wip flag ignored", &fakeupstream.Change{Status: "MERGED", WIP: true, Subject: "Done"}, Status{State: Merged, Raw: "MERGED", Title: "Done", LastActivity: upd}},
		{"abandoned", &fakeupstream.Change{Status: "ABANDONED", Subject: "Nope"}, Status{State: Abandoned, Raw: "ABANDONED", Title: "Nope", LastActivity: upd}},
		{"missing", nil, Status{State: Unavailable, Raw: "not found"}},
	}
	fake := fakeupstream.NewGerrit()
	defer fake.Close()
	var refs []link.Ref
	for i, tt := range tests {
		n := int64(900000 + i)
		if tt.change != nil {
			c := *tt.change
			c.Project, c.Updated = "openstack/keystone", upd
			fake.SetChange(n, c)
		}
		refs = append(refs, gerritRef(n))
	}
	got := NewGerrit(client(), fake.APIBase(), 0).Fetch(context.Background(), refs)
	if len(got) != len(tests) {
		t.Errorf("got %d results, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := got[refs[i].Key()]
			if res.Err != nil || res.Status != tt.want {
				t.Errorf("got %+v (err %v), want %+v", res.Status, res.Err, tt.want)
			}
		})
	}
	if n := fake.Calls(); n != 1 {
		t.Errorf("made %d requests, want 1 batch", n)
	}
}

// TestGerritXSSI feeds the decoder the variants of Gerrit's ")]}'" line.
func TestGerritXSSI(t *testing.T) {
	const change = `[{"_number":7,"project":"p","status":"MERGED","subject":"s","updated":"2024-01-02 03:04:05.000000000"}]`
	tests := []struct {
		name  string
		body  string
		state State
		err   bool
	}{
		{"prefix line", ")]}'\n" + change + "\n", Merged, false},
		{"prefix with CRLF", ")]}'\r\n" + change, Merged, false},
		{"no prefix", change, Merged, false},
		{"prefix only", ")]}'\n", "", true},
		{"html error page", "<html>oops</html>", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			ref := gerritRef(7)
			res := NewGerrit(client(), srv.URL, 10).Fetch(context.Background(), []link.Ref{ref})[ref.Key()]
			if (res.Err != nil) != tt.err || res.Status.State != tt.state {
				t.Errorf("got %+v, err %v; want state %q, err %v", res.Status, res.Err, tt.state, tt.err)
			}
			if !tt.err && !res.Status.LastActivity.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("LastActivity = %v", res.Status.LastActivity)
			}
		})
	}
}

func refsFrom(first, count int64) []link.Ref {
	refs := make([]link.Ref, count)
	for i := range refs {
		refs[i] = gerritRef(first + int64(i))
	}
	return refs
}

func gerritQuery(first, count int64, n int) string {
	terms := make([]string, count)
	for i := range terms {
		terms[i] = fmt.Sprintf("change:%d", first+int64(i))
	}
	return fmt.Sprintf("GET /changes/?q=%s&n=%d", strings.Join(terms, "+OR+"), n)
}

func TestGerritBatching(t *testing.T) {
	fake := fakeupstream.NewGerrit()
	defer fake.Close()
	for n := int64(1000); n < 1120; n++ {
		fake.SetChange(n, fakeupstream.Change{Project: "openstack/nova", Status: "MERGED", Subject: "c"})
	}
	refs := refsFrom(1000, 120)
	refs = append(refs, gerritRef(1000)) // the same change twice costs nothing
	got := NewGerrit(client(), fake.APIBase(), 50).Fetch(context.Background(), refs)

	want := []string{gerritQuery(1000, 50, 50), gerritQuery(1050, 50, 50), gerritQuery(1100, 20, 20)}
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("made %d requests, want 3", len(reqs))
	}
	for i := range want {
		if reqs[i] != want[i] {
			t.Errorf("request %d:\n got %s\nwant %s", i, reqs[i], want[i])
		}
	}
	if len(got) != 120 {
		t.Errorf("got %d results, want 120", len(got))
	}
	for k, r := range got {
		if r.Err != nil || r.Status.State != Merged {
			t.Errorf("%s: %+v %v", k, r.Status, r.Err)
		}
	}
}

func TestGerritOutage(t *testing.T) {
	fake := fakeupstream.NewGerrit()
	defer fake.Close()
	fake.SetChange(1, fakeupstream.Change{Project: "p", Status: "MERGED"})
	fake.Down(true)
	refs := refsFrom(1, 3)
	got := NewGerrit(client(), fake.APIBase(), 2).Fetch(context.Background(), refs)
	checkErrOnly(t, got, refs)
	var se *StatusError
	if !errors.As(got[refs[0].Key()].Err, &se) || se.Code != http.StatusServiceUnavailable {
		t.Errorf("err = %v, want a StatusError 503", got[refs[0].Key()].Err)
	}
	// A 503 fails only its batch: both batches are still asked.
	if n := fake.Calls(); n != 2 {
		t.Errorf("made %d requests, want 2", n)
	}
}

// TestGerritBatchFailure: a failed batch leaves the others' answers intact.
func TestGerritBatchFailure(t *testing.T) {
	fake := fakeupstream.NewGerrit()
	defer fake.Close()
	for n := int64(1); n <= 6; n++ {
		fake.SetChange(n, fakeupstream.Change{Project: "p", Status: "ABANDONED"})
	}
	var calls atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 2 {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		resp, err := http.Get(fake.URL() + r.RequestURI)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	refs := refsFrom(1, 6)
	got := NewGerrit(client(), proxy.URL+"/", 2).Fetch(context.Background(), refs)
	for i, r := range refs {
		res := got[r.Key()]
		if i == 2 || i == 3 {
			if res.Err == nil || !strings.Contains(res.Err.Error(), "HTTP 500") {
				t.Errorf("%d: got %+v %v, want HTTP 500 error", i, res.Status, res.Err)
			}
			continue
		}
		if res.Err != nil || res.Status.State != Abandoned {
			t.Errorf("%d: got %+v %v, want abandoned", i, res.Status, res.Err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("made %d requests, want 3", n)
	}
}

func TestGerritRateLimit(t *testing.T) {
	fake := fakeupstream.NewGerrit()
	defer fake.Close()
	fake.RateLimit(30 * time.Second)
	refs := refsFrom(1, 120)
	got := NewGerrit(client(), fake.APIBase(), 50).Fetch(context.Background(), refs)
	checkErrOnly(t, got, refs)
	if n := fake.Calls(); n != 1 {
		t.Errorf("made %d requests, want 1: a 429 ends the Fetch", n)
	}
	for i, r := range refs {
		var rl *RateLimitError
		if !errors.As(got[r.Key()].Err, &rl) {
			t.Fatalf("%d: err = %v, want a RateLimitError", i, got[r.Key()].Err)
		}
		if rl.Status != http.StatusTooManyRequests || rl.RetryAfter != 30*time.Second || rl.Skipped != (i >= 50) || rl.Host != strings.TrimPrefix(fake.URL(), "http://") {
			t.Errorf("%d: %+v", i, *rl)
		}
	}
}

// TestGerritCutShort: when Gerrit says it left changes out, a missing
// change is not proof that it does not exist.
func TestGerritCutShort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, ")]}'\n"+`[{"_number":1,"project":"p","status":"NEW","updated":"2024-01-02 03:04:05.000000000","_more_changes":true}]`)
	}))
	defer srv.Close()
	refs := refsFrom(1, 2)
	got := NewGerrit(client(), srv.URL, 10).Fetch(context.Background(), refs)
	if r := got[refs[0].Key()]; r.Err != nil || r.Status.State != InReview {
		t.Errorf("change 1: %+v %v", r.Status, r.Err)
	}
	if r := got[refs[1].Key()]; r.Err == nil || r.Status.State != Unknown {
		t.Errorf("change 2: %+v %v, want an error", r.Status, r.Err)
	}
}
