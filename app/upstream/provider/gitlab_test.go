package provider

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

func TestGitLabStates(t *testing.T) {
	upd := time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)
	const path = "group/sub/project"
	tests := []struct {
		name  string
		kind  link.Kind
		mr    fakeupstream.MR
		issue fakeupstream.Issue
		want  Status
	}{
		{"mr draft", link.MR, fakeupstream.MR{State: "opened", Draft: true, Title: "Draft: x"}, fakeupstream.Issue{}, Status{State: Draft, Raw: "opened (draft)", Title: "Draft: x", LastActivity: upd}},
		{"mr opened", link.MR, fakeupstream.MR{State: "opened", Title: "x"}, fakeupstream.Issue{}, Status{State: InReview, Raw: "opened", Title: "x", LastActivity: upd}},
		{"mr locked", link.MR, fakeupstream.MR{State: "locked", Title: "x"}, fakeupstream.Issue{}, Status{State: InReview, Raw: "locked", Title: "x", LastActivity: upd}},
		{"mr merged", link.MR, fakeupstream.MR{State: "merged", Title: "x"}, fakeupstream.Issue{}, Status{State: Merged, Raw: "merged", Title: "x", LastActivity: upd}},
		{"mr closed", link.MR, fakeupstream.MR{State: "closed", Title: "x"}, fakeupstream.Issue{}, Status{State: Abandoned, Raw: "closed", Title: "x", LastActivity: upd}},
		{"issue opened", link.Issue, fakeupstream.MR{}, fakeupstream.Issue{State: "opened", Title: "i"}, Status{State: Open, Raw: "opened", Title: "i", LastActivity: upd}},
		{"issue closed", link.Issue, fakeupstream.MR{}, fakeupstream.Issue{State: "closed", Title: "i"}, Status{State: Merged, Raw: "closed", Title: "i", LastActivity: upd}},
	}
	fake := fakeupstream.NewGitLab()
	defer fake.Close()
	var refs []link.Ref
	for i, tt := range tests {
		n := int64(i + 1)
		if tt.kind == link.MR {
			tt.mr.UpdatedAt = upd
			fake.SetMR(path, n, tt.mr)
		} else {
			tt.issue.UpdatedAt = upd
			fake.SetIssue(path, n, tt.issue)
		}
		refs = append(refs, glRef(path, tt.kind, n))
	}
	got := NewGitLab(client(), fake.APIBase()).Fetch(context.Background(), refs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := got[refs[i].Key()]; r.Err != nil || r.Status != tt.want {
				t.Errorf("got %+v (err %v), want %+v", r.Status, r.Err, tt.want)
			}
		})
	}
}

// TestGitLabWorkInProgress: servers before GitLab 14 only send
// work_in_progress.
func TestGitLabWorkInProgress(t *testing.T) {
	got := gitlabMRStatus(gitlabItem{State: "opened", WorkInProgress: true})
	if got.State != Draft || got.Raw != "opened (draft)" {
		t.Errorf("got %+v", got)
	}
}

func TestGitLabPathEscaping(t *testing.T) {
	fake := fakeupstream.NewGitLab()
	defer fake.Close()
	fake.SetMR("Group/Sub Group/project.go", 42, fakeupstream.MR{State: "merged"})
	fake.SetIssue("a/b", 7, fakeupstream.Issue{State: "opened"})
	refs := []link.Ref{glRef("Group/Sub Group/project.go", link.MR, 42), glRef("a/b", link.Issue, 7)}
	got := NewGitLab(client(), fake.APIBase()).Fetch(context.Background(), refs)
	want := []string{
		"GET /api/v4/projects/Group%2FSub%20Group%2Fproject.go/merge_requests/42",
		"GET /api/v4/projects/a%2Fb/issues/7",
	}
	if reqs := fake.Requests(); !reflect.DeepEqual(reqs, want) {
		t.Errorf("requests:\n got %q\nwant %q", reqs, want)
	}
	if got[refs[0].Key()].Status.State != Merged || got[refs[1].Key()].Status.State != Open {
		t.Errorf("got %+v", got)
	}
}

func TestGitLabNotFound(t *testing.T) {
	fake := fakeupstream.NewGitLab()
	defer fake.Close()
	fake.SetMR("a/b", 1, fakeupstream.MR{})
	refs := []link.Ref{glRef("a/b", link.MR, 2), glRef("x/y", link.Issue, 1), glRef("", link.Issue, 1)}
	got := NewGitLab(client(), fake.APIBase()).Fetch(context.Background(), refs)
	want := []Status{
		{State: Unavailable, Raw: "not found (404)"},
		{State: Unavailable, Raw: "not found (404)"},
		{State: Unavailable, Raw: "no project path in link"},
	}
	for i, w := range want {
		if r := got[refs[i].Key()]; r.Err != nil || r.Status != w {
			t.Errorf("%d: got %+v (err %v), want %+v", i, r.Status, r.Err, w)
		}
	}
	if n := fake.Calls(); n != 2 {
		t.Errorf("made %d requests, want 2", n)
	}
}

func TestGitLabStopsCalling(t *testing.T) {
	for _, down := range []bool{false, true} {
		fake := fakeupstream.NewGitLab()
		fake.SetMR("a/b", 1, fakeupstream.MR{})
		if down {
			fake.Down(true)
		} else {
			fake.RateLimit(time.Minute)
		}
		refs := []link.Ref{glRef("a/b", link.MR, 1), glRef("a/b", link.MR, 2), glRef("a/b", link.Issue, 3)}
		got := NewGitLab(client(), fake.APIBase()).Fetch(context.Background(), refs)
		checkErrOnly(t, got, refs)
		if n := fake.Calls(); n != 1 {
			t.Errorf("down=%v: made %d requests, want 1", down, n)
		}
		var rl *RateLimitError
		if !errors.As(got[refs[2].Key()].Err, &rl) || !rl.Skipped {
			t.Errorf("down=%v: err = %v", down, got[refs[2].Key()].Err)
		} else if want := map[bool]int{false: http.StatusTooManyRequests, true: http.StatusServiceUnavailable}[down]; rl.Status != want {
			t.Errorf("down=%v: status %d, want %d", down, rl.Status, want)
		}
		fake.Close()
	}
}
