package upstream_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// bugs are n Launchpad references numbered from first.
func bugs(first, n int) []link.Ref {
	var refs []link.Ref
	for i := range n {
		b := bug
		b.Number = int64(first + i)
		b.URL = fmt.Sprintf("https://bugs.launchpad.net/nova/+bug/%d", b.Number)
		refs = append(refs, b)
	}
	return refs
}

// count runs a count query.
func count(t *testing.T, s *upstream.Store, query string) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStore_ItemAuthorPostsCommentsAtOnce_CapHolds: the author of a
// tracking item (or any GitHub user, on their own issue) posts eight
// comments at once, each with 50 new Upstream: lines; their jobs apply side
// by side. The item still tracks at most report.MaxRefsPerItem references:
// on PostgreSQL each Apply waits for the item's other changes (an advisory
// lock), so each sees what the others track.
func TestStore_ItemAuthorPostsCommentsAtOnce_CapHolds(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		if _, err := s.Track(ctx, tracker, upstream.SourceBody, nil); err != nil {
			t.Fatal(err)
		}
		const comments = 8
		var wg sync.WaitGroup
		start := make(chan struct{})
		for c := range comments {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := s.Apply(ctx, upstream.Change{Item: tracker, Source: fmt.Sprintf("comment:%d", c+1),
					Refs: bugs(c*1000+1, report.MaxRefsPerItem), IfTracked: true}); err != nil {
					t.Errorf("comment %d: %v", c+1, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		refs, err := s.ItemReferences(ctx, tracker.Repo, tracker.Number)
		if err != nil {
			t.Fatal(err)
		}
		saved, err := s.Item(ctx, tracker.Repo, tracker.Number)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != report.MaxRefsPerItem || saved.Untracked != (comments-1)*report.MaxRefsPerItem {
			t.Errorf("%d comments at once: the item tracks %d references and counts %d more; want %d and %d",
				comments, len(refs), saved.Untracked, report.MaxRefsPerItem, (comments-1)*report.MaxRefsPerItem)
		}
	})
}

// TestStore_OutsiderEditsAgainAndAgain_NoReferenceOutlivesItsLinks: any
// GitHub user edits their issue again and again, each time naming new
// references, then deletes comments, loses the label, and has the issue or
// the repository deleted. A reference that no link names any more is
// deleted at once, so the table (and what the polls look at) stays as
// large as what is named now; one another item still names stays.
func TestStore_OutsiderEditsAgainAndAgain_NoReferenceOutlivesItsLinks(t *testing.T) {
	other := tracker
	other.Repo, other.Number = "o/elsewhere", 1
	outsider := tracker
	outsider.Number = 8
	shared := bugs(9000, 1)
	steps := []struct {
		name string
		do   func(ctx context.Context, s *upstream.Store) error
	}{
		{"another item names a reference", func(ctx context.Context, s *upstream.Store) error {
			_, err := s.Track(ctx, other, upstream.SourceBody, shared)
			return err
		}},
		{"an edit names ten", func(ctx context.Context, s *upstream.Store) error {
			_, err := s.Track(ctx, outsider, upstream.SourceBody, append(bugs(1, 10), shared...))
			return err
		}},
		{"ten edits name ten new ones each", func(ctx context.Context, s *upstream.Store) error {
			for e := range 10 {
				if _, err := s.Track(ctx, outsider, upstream.SourceBody, append(bugs(100*(e+1), 10), shared...)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"a comment names ten, then is deleted", func(ctx context.Context, s *upstream.Store) error {
			if _, err := s.Apply(ctx, upstream.Change{Item: outsider, Source: "comment:1", Refs: bugs(5000, 10), IfTracked: true}); err != nil {
				return err
			}
			_, err := s.Apply(ctx, upstream.Change{Item: outsider, Source: "comment:1", IfTracked: true})
			return err
		}},
		{"the label and the lines go", func(ctx context.Context, s *upstream.Store) error {
			_, err := s.Untrack(ctx, outsider)
			return err
		}},
		{"tracked again, then the issue is deleted", func(ctx context.Context, s *upstream.Store) error {
			if _, err := s.Track(ctx, outsider, upstream.SourceBody, bugs(7000, 10)); err != nil {
				return err
			}
			_, err := s.Forget(ctx, outsider.Repo, outsider.Number)
			return err
		}},
		{"tracked again, then the repository is deleted", func(ctx context.Context, s *upstream.Store) error {
			if _, err := s.Track(ctx, outsider, upstream.SourceBody, bugs(8000, 10)); err != nil {
				return err
			}
			_, err := s.ForgetRepo(ctx, outsider.Repo)
			return err
		}},
		{"rows an older release kept go with the full poll's sweep", func(ctx context.Context, s *upstream.Store) error {
			for _, r := range bugs(9100, 3) {
				if _, err := s.DB.ExecContext(ctx, `INSERT INTO contribot_upstream_ref (key, provider, host, project, kind, number, url)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.Key(), string(r.Provider), r.Host, r.Project, string(r.Kind), r.Number, r.URL); err != nil {
					return err
				}
			}
			if n, err := s.Sweep(ctx); err != nil || n != 3 {
				return fmt.Errorf("the sweep deleted %d, want 3 (%v)", n, err)
			}
			return nil
		}},
	}
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		for _, st := range steps {
			if err := st.do(ctx, s); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			rows := count(t, s, `SELECT count(*) FROM contribot_upstream_ref`)
			named := count(t, s, `SELECT count(DISTINCT ref_key) FROM contribot_upstream_link`)
			if rows != named {
				t.Errorf("%s: %d reference rows, %d named", st.name, rows, named)
			}
		}
		if refs, err := s.ItemReferences(ctx, other.Repo, other.Number); err != nil || len(refs) != 1 {
			t.Errorf("the other item's reference: %+v (%v), want it kept", refs, err)
		}
	})
}

// TestStore_PruneNeverDeletesAReferenceBeingLinked: one item stops naming
// a reference (which prunes it) while another starts naming it. Whatever
// the interleaving, a reference an item names is never deleted under it:
// Apply holds the reference's advisory lock until its link is committed,
// and prune checks for links under that lock.
func TestStore_PruneNeverDeletesAReferenceBeingLinked(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		a, b := tracker, tracker
		b.Number = 8
		r := bugs(1, 1)
		const rounds = 150
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for _, refs := range [][]link.Ref{r, nil} {
					if _, err := s.Track(ctx, a, upstream.SourceBody, refs); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
		for i := range rounds {
			if _, err := s.Track(ctx, b, upstream.SourceBody, r); err != nil {
				t.Fatal(err)
			}
			if refs, err := s.ItemReferences(ctx, b.Repo, b.Number); err != nil || len(refs) != 1 {
				t.Errorf("round %d: the item names the reference, but it is gone: %+v (%v)", i, refs, err)
				break
			}
			if _, err := s.Track(ctx, b, upstream.SourceBody, nil); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		if n := count(t, s, `SELECT count(*) FROM contribot_upstream_link l WHERE NOT EXISTS (SELECT 1 FROM contribot_upstream_ref r WHERE r.key = l.ref_key)`); n != 0 {
			t.Errorf("%d links name a deleted reference", n)
		}
	})
}

// TestStore_HostileUpstreamAnswer_StoredBounded: any host a maintainer
// names in the rules answers what it likes. Whatever the provider let
// through, the store keeps at most MaxTitleRunes of a title and
// MaxRawRunes of a raw state, as valid UTF-8 without NUL (which
// PostgreSQL refuses: one such subject failed the whole poll's save).
func TestStore_HostileUpstreamAnswer_StoredBounded(t *testing.T) {
	tests := []struct {
		name               string
		st                 provider.Status
		wantTitle, wantRaw string // "" means cut to the limit
	}{
		{"a Gerrit subject of 2 MiB", provider.Status{State: provider.InReview, Raw: "NEW", Title: strings.Repeat("A", 2<<20)}, "", "NEW"},
		{"a raw state of 70,000 characters", provider.Status{State: provider.InReview, Raw: strings.Repeat("x", 70000), Title: "t"}, "t", ""},
		{"a subject with NUL", provider.Status{State: provider.InReview, Raw: "NEW\x00", Title: "a\x00b"}, "ab", "NEW"},
		{"invalid UTF-8", provider.Status{State: provider.InReview, Raw: "NEW", Title: "a\xffb"}, "a\uFFFDb", "NEW"},
		{"runes of several bytes at the cut", provider.Status{State: provider.InReview, Raw: strings.Repeat("ü", 100), Title: strings.Repeat("漢", 1000)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stores(t, func(t *testing.T, s *upstream.Store) {
				ctx := context.Background()
				if _, err := s.Track(ctx, tracker, upstream.SourceBody, []link.Ref{change}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Save(ctx, map[string]provider.Result{change.Key(): {Status: tt.st}}); err != nil {
					t.Fatalf("save: %v", err)
				}
				refs, err := s.ItemReferences(ctx, tracker.Repo, tracker.Number)
				if err != nil || len(refs) != 1 {
					t.Fatalf("%+v %v", refs, err)
				}
				for _, f := range []struct {
					what, got, want string
					limit           int
				}{{"title", refs[0].Title, tt.wantTitle, upstream.MaxTitleRunes}, {"raw state", refs[0].RawState, tt.wantRaw, upstream.MaxRawRunes}} {
					n := utf8.RuneCountInString(f.got)
					switch {
					case !utf8.ValidString(f.got) || strings.ContainsRune(f.got, 0):
						t.Errorf("%s %q is not text either database keeps", f.what, f.got)
					case f.want == "" && (n != f.limit || !strings.HasSuffix(f.got, "…")):
						t.Errorf("%s of %d runes, want cut to %d with an ellipsis", f.what, n, f.limit)
					case f.want != "" && f.got != f.want:
						t.Errorf("%s %q, want %q", f.what, f.got, f.want)
					}
				}
			})
		})
	}
}

// pollNew runs a poll for new references with h, as an event schedules one:
// no time passes, and it is not full.
func (e *pollEnv) pollNew(t *testing.T, h *upstream.Handler) {
	t.Helper()
	if err := h.Poll(context.Background(), false); err != nil {
		t.Error(err)
	}
}

// requests counts the fake GitHub's requests under prefix since its last
// Reset.
func (e *pollEnv) requests(prefix string) int {
	n := 0
	for _, r := range e.gh.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// TestPoll_OutsiderEditsSpendOneBudgetPerWindow: any GitHub user edits
// their issue six times within one poll interval, each time with eight new
// GitHub links, and each edit's poll runs on one of two replicas, both at
// once. Together they read no more than the org's budget for the window:
// the budget is booked in the database, not given afresh to each poll.
// The references left over are read first in the next window.
func TestPoll_OutsiderEditsSpendOneBudgetPerWindow(t *testing.T) {
	const budget, edits, perEdit = 10, 6, 8
	replicas(t, func(t *testing.T, open func() *upstream.Store) {
		e := newPollEnv(t, open(), upstream.Budget{GitHub: budget})
		other := *e.h
		other.Store = open()
		other.Store.Now = e.store.Now
		it := item("o", 1, 1)
		e.gh.Reset()
		for ed := range edits {
			e.track(t, it, links(fmt.Sprintf("https://github.com/victim-%d/r/issues/%%d", ed), perEdit))
			var wg sync.WaitGroup
			for _, h := range []*upstream.Handler{e.h, &other} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e.pollNew(t, h)
				}()
			}
			wg.Wait()
		}
		if reads := e.requests("/repos/victim-"); reads > budget {
			t.Errorf("%d edits in one window cost %d GitHub reads, over the org's budget of %d", edits, reads, budget)
		}
		e.now = e.now.Add(time.Hour)
		e.gh.Reset()
		e.pollNew(t, e.h)
		if n := e.requests("/repos/victim-"); n == 0 || n > budget {
			t.Errorf("the next window read %d, want the leftovers up to the budget of %d", n, budget)
		}
		if done, all := e.checked(t, it.Repo, it.Number); done != all {
			t.Errorf("%d of the %d references the issue names now are checked", done, all)
		}
	})
}
