package provider

import (
	"context"
	"testing"

	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
)

// BenchmarkSetFetch polls 5,000 Gerrit changes, 500 Launchpad bugs and 500
// GitLab merge requests from the fakes, without a rate limit.
func BenchmarkSetFetch(b *testing.B) {
	ger := fakeupstream.NewGerrit()
	defer ger.Close()
	lp := fakeupstream.NewLaunchpad()
	defer lp.Close()
	gl := fakeupstream.NewGitLab()
	defer gl.Close()
	var refs []link.Ref
	for n := int64(1); n <= 5000; n++ {
		ger.SetChange(n, fakeupstream.Change{Project: "openstack/nova", Status: "NEW"})
		refs = append(refs, gerritRef(n))
	}
	for n := int64(1); n <= 500; n++ {
		lp.SetBug(n, fakeupstream.Task{Target: "nova", Status: "Triaged"})
		gl.SetMR("a/b", n, fakeupstream.MR{State: "opened"})
		refs = append(refs, lpRef("nova", n), glRef("a/b", link.MR, n))
	}
	eps, err := ParseEndpoints("review.opendev.org=" + ger.APIBase() + ",launchpad=" + lp.APIBase() + ",gitlab.com=" + gl.APIBase())
	if err != nil {
		b.Fatal(err)
	}
	s := NewSet(SetOptions{HTTP: client(), Endpoints: eps, PerSecond: -1})
	for b.Loop() {
		got := s.Fetch(context.Background(), refs)
		if len(got) != len(refs) {
			b.Fatalf("got %d results, want %d", len(got), len(refs))
		}
		ger.Reset()
		lp.Reset()
		gl.Reset()
	}
	b.StopTimer()
	calls := s.Calls()
	b.ReportMetric(float64(calls["gerrit"])/float64(b.N), "gerrit-calls/op")
	b.ReportMetric(float64(calls["launchpad"]+calls["gitlab"])/float64(b.N), "lp+gl-calls/op")
}
