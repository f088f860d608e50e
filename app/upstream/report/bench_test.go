package report

import "testing"

// BenchmarkDashboard renders an org-sized dashboard that overflows
// GitHub's limit, so it includes the search for what to leave out.
func BenchmarkDashboard(b *testing.B) {
	refs := genRefs(5000, 500)
	o := Options{Now: now, StaleAfter: staleAfter, PageURL: "https://contribot.example/upstream"}
	b.ReportAllocs()
	for b.Loop() {
		Dashboard(refs, o)
	}
}

// BenchmarkComment renders the comment of a tracker with a typical
// handful of references.
func BenchmarkComment(b *testing.B) {
	refs := genRefs(8, 2)
	t := refs[0].Trackers[0]
	o := Options{Now: now, StaleAfter: staleAfter}
	b.ReportAllocs()
	for b.Loop() {
		Comment(t, refs, o)
	}
}
