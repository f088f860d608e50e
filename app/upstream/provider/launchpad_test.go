package provider

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

func TestLaunchpadStates(t *testing.T) {
	created := time.Date(2023, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		status string
		want   State
	}{
		{"New", Open},
		{"Incomplete", Open},
		{"Confirmed", Open},
		{"Triaged", Open},
		{"In Progress", InReview},
		{"Fix Committed", Merged},
		{"Fix Released", Released},
		{"Invalid", Abandoned},
		{"Won't Fix", Abandoned},
		{"Opinion", Abandoned},
		{"Expired", Abandoned},
		{"Does Not Exist", Abandoned},
		{"Unknown", Unknown},
	}
	fake := fakeupstream.NewLaunchpad()
	defer fake.Close()
	var refs []link.Ref
	for i, tt := range tests {
		n := int64(2045000 + i)
		fake.SetBug(n, fakeupstream.Task{Target: "keystone", DisplayName: "OpenStack Identity (keystone)", Status: tt.status, Title: "Bug " + tt.status, Created: created})
		refs = append(refs, lpRef("keystone", n))
	}
	got := NewLaunchpad(client(), fake.APIBase()).Fetch(context.Background(), refs)
	for i, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			want := Status{State: tt.want, Raw: tt.status, Title: "Bug " + tt.status, LastActivity: created}
			if r := got[refs[i].Key()]; r.Err != nil || r.Status != want {
				t.Errorf("got %+v (err %v), want %+v", r.Status, r.Err, want)
			}
		})
	}
	if n := fake.Calls(); n != int64(len(tests)) {
		t.Errorf("made %d requests, want %d", n, len(tests))
	}
}

func TestLaunchpadTaskChoice(t *testing.T) {
	ks := fakeupstream.Task{Target: "keystone", Status: "Fix Released", Title: "T"}
	ksSeries := fakeupstream.Task{Target: "keystone/2023.2", Status: "Fix Committed", Title: "T"}
	ubuntu := fakeupstream.Task{Target: "keystone (Ubuntu)", Status: "Won't Fix", Title: "T"}
	nova := fakeupstream.Task{Target: "nova", Status: "New", Title: "T"}
	novaTriaged := fakeupstream.Task{Target: "nova", Status: "Triaged", Title: "T"}
	cinder := fakeupstream.Task{Target: "cinder", Status: "Triaged", Title: "T"}
	tests := []struct {
		name    string
		project string
		tasks   []fakeupstream.Task
		want    Status
	}{
		{"project matches", "nova", []fakeupstream.Task{ks, nova}, Status{State: Open, Raw: "New", Title: "T"}},
		{"match ignores case", "Nova", []fakeupstream.Task{ks, nova}, Status{State: Open, Raw: "New", Title: "T"}},
		{"no project: most advanced", "", []fakeupstream.Task{nova, ubuntu, ks, ksSeries}, Status{State: Released, Raw: "keystone: Fix Released", Title: "T"}},
		{"no match: most advanced", "glance", []fakeupstream.Task{nova, ksSeries}, Status{State: Merged, Raw: "keystone/2023.2: Fix Committed", Title: "T"}},
		{"live beats rejected", "", []fakeupstream.Task{ubuntu, nova}, Status{State: Open, Raw: "nova: New", Title: "T"}},
		{"tie keeps Launchpad's order", "", []fakeupstream.Task{cinder, novaTriaged}, Status{State: Open, Raw: "cinder: Triaged", Title: "T"}},
		{"single task, other project", "glance", []fakeupstream.Task{ubuntu}, Status{State: Abandoned, Raw: "keystone (Ubuntu): Won't Fix", Title: "T"}},
	}
	fake := fakeupstream.NewLaunchpad()
	defer fake.Close()
	var refs []link.Ref
	for i, tt := range tests {
		n := int64(100 + i)
		fake.SetBug(n, tt.tasks...)
		refs = append(refs, lpRef(tt.project, n))
	}
	got := NewLaunchpad(client(), fake.APIBase()).Fetch(context.Background(), refs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := got[refs[i].Key()]; r.Err != nil || r.Status != tt.want {
				t.Errorf("got %+v (err %v), want %+v", r.Status, r.Err, tt.want)
			}
		})
	}
}

func TestLaunchpadLastActivity(t *testing.T) {
	d := func(day int) time.Time { return time.Date(2024, 1, day, 10, 0, 0, 500000000, time.UTC) }
	fake := fakeupstream.NewLaunchpad()
	defer fake.Close()
	fake.SetBug(1, fakeupstream.Task{Target: "nova", Status: "Fix Released", Title: "T",
		Created: d(1), Confirmed: d(3), InProgress: d(5), FixCommitted: d(9), FixReleased: d(7), LeftNew: d(2)})
	ref := lpRef("nova", 1)
	r := NewLaunchpad(client(), fake.APIBase()).Fetch(context.Background(), []link.Ref{ref})[ref.Key()]
	if !r.Status.LastActivity.Equal(d(9)) {
		t.Errorf("LastActivity = %v, want %v", r.Status.LastActivity, d(9))
	}
}

func TestLaunchpadUnavailable(t *testing.T) {
	fake := fakeupstream.NewLaunchpad()
	defer fake.Close()
	fake.SetBug(2, fakeupstream.Task{Target: "nova", Status: "New", Title: "secret"})
	fake.SetPrivate(2, true)
	fake.SetBug(3)
	refs := []link.Ref{lpRef("nova", 1), lpRef("nova", 2), lpRef("nova", 3)}
	got := NewLaunchpad(client(), fake.APIBase()).Fetch(context.Background(), refs)
	want := []Status{
		{State: Unavailable, Raw: "not found (404)"},
		{State: Unavailable, Raw: "private"},
		{State: Unavailable, Raw: "no bug tasks"},
	}
	for i, w := range want {
		if r := got[refs[i].Key()]; r.Err != nil || r.Status != w {
			t.Errorf("bug %d: got %+v (err %v), want %+v", refs[i].Number, r.Status, r.Err, w)
		}
	}
}

func TestLaunchpadStopsCalling(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*fakeupstream.Launchpad)
		code  int
	}{
		{"rate limited", func(f *fakeupstream.Launchpad) { f.RateLimit(2 * time.Minute) }, http.StatusTooManyRequests},
		{"down", func(f *fakeupstream.Launchpad) { f.Down(true) }, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeupstream.NewLaunchpad()
			defer fake.Close()
			fake.SetBug(1, fakeupstream.Task{Target: "nova", Status: "New"})
			tt.setup(fake)
			refs := []link.Ref{lpRef("nova", 1), lpRef("nova", 2), lpRef("nova", 3)}
			got := NewLaunchpad(client(), fake.APIBase()).Fetch(context.Background(), refs)
			checkErrOnly(t, got, refs)
			if n := fake.Calls(); n != 1 {
				t.Errorf("made %d requests, want 1", n)
			}
			for i, r := range refs {
				var rl *RateLimitError
				if !errors.As(got[r.Key()].Err, &rl) || rl.Status != tt.code || rl.Skipped != (i > 0) {
					t.Errorf("%d: err = %v", i, got[r.Key()].Err)
				}
			}
		})
	}
}

// TestLaunchpadServerError: a 500 is about one bug; the rest are still asked.
func TestLaunchpadServerError(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "oops", http.StatusInternalServerError)
	}))
	defer srv.Close()
	refs := []link.Ref{lpRef("nova", 1), lpRef("nova", 2), lpRef("nova", 3)}
	got := NewLaunchpad(client(), srv.URL).Fetch(context.Background(), refs)
	checkErrOnly(t, got, refs)
	if n := calls.Load(); n != 3 {
		t.Errorf("made %d requests, want 3", n)
	}
	// The answer's body is for the log; the public text names the host
	// and the status only.
	err := got[refs[0].Key()].Err
	if pub, want := PublicText(err), hostOf(srv.URL)+" answered HTTP 500"; pub != want {
		t.Errorf("public text %q, want %q", pub, want)
	}
	if d := Detail(err); !strings.Contains(d, "get Launchpad bug 1 tasks") || !strings.Contains(d, "HTTP 500: oops") {
		t.Errorf("detail for the log = %q, want the request and the answer", d)
	}
}

func TestBugTitle(t *testing.T) {
	tests := map[string]string{
		`Bug #2045974 in OpenStack Identity (keystone): "Token leak"`: "Token leak",
		`Bug #1 in Ubuntu: "say "hi""`:                                `say "hi"`,
		`plain title`:                                                 "plain title",
		`Bug #1 without quotes`:                                       "Bug #1 without quotes",
	}
	for in, want := range tests {
		if got := bugTitle(in); got != want {
			t.Errorf("bugTitle(%q) = %q, want %q", in, got, want)
		}
	}
}
