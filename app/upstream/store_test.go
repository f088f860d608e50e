package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
	"github.com/SovereignCloudStack/contribot/app/upstream/report"
)

// asLinkToNothing is what a reference shows but for which item it names.
func asLinkToNothing(r report.Reference) string {
	r.Key, r.URL, r.Number = "", "", 0
	return fmt.Sprintf("%+v", r)
}

// stores runs a test against a fresh store on each database.
func stores(t *testing.T, test func(t *testing.T, s *upstream.Store)) {
	replicas(t, func(t *testing.T, open func() *upstream.Store) { test(t, open()) })
}

// replicas runs a test against a fresh database of each kind; open gives
// another store on it, as another replica has: on PostgreSQL with a pool
// of its own, on SQLite on the one connection the process holds (a second
// process is refused).
func replicas(t *testing.T, test func(t *testing.T, open func() *upstream.Store)) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "c.db") }},
		{"postgres", dbtest.FreshPostgres},
	} {
		t.Run(b.name, func(t *testing.T) {
			url := b.url(t)
			var sqlite *upstream.Store
			test(t, func() *upstream.Store {
				if sqlite != nil {
					return &upstream.Store{DB: sqlite.DB}
				}
				q, err := queue.Open(context.Background(), url, queue.Options{NoWork: true, Schema: upstream.Schema})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = q.Stop(context.Background()) })
				s := &upstream.Store{DB: q.DB()}
				if b.name == "sqlite" {
					sqlite = s
				}
				return s
			})
		})
	}
}

var (
	change  = link.Ref{Provider: link.Gerrit, Host: "review.opendev.org", Project: "openstack/nova", Kind: link.Change, Number: 1, URL: "https://review.opendev.org/c/openstack/nova/+/1"}
	bug     = link.Ref{Provider: link.Launchpad, Host: "bugs.launchpad.net", Project: "nova", Kind: link.Bug, Number: 2, URL: "https://bugs.launchpad.net/nova/+bug/2"}
	page    = link.Ref{Provider: link.Other, Kind: link.Page, URL: "https://example.org/doc"}
	tracker = upstream.Item{Repo: "o/r", Number: 7, Installation: 1, Title: "Nova", URL: "https://github.com/o/r/issues/7", Author: "alice", Open: true, Listed: true, Modules: []string{"iaas"}}
)

// claimed are the keys of the references a poll claimed.
func claimed(cs []upstream.Claim) []string {
	refs := make([]link.Ref, len(cs))
	for i, c := range cs {
		refs[i] = c.Ref
	}
	return keys(refs)
}

func keys(refs []link.Ref) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Key())
	}
	slices.Sort(out)
	return out
}

func TestStoreTrackingAndVersions(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		steps := []struct {
			name        string
			do          func() (bool, error)
			wantChanged bool
			wantRefs    int
			wantTracked bool
		}{
			{"first links", func() (bool, error) { return s.Track(ctx, tracker, upstream.SourceBody, []link.Ref{change, page}) }, true, 2, true},
			{"same links again", func() (bool, error) { return s.Track(ctx, tracker, upstream.SourceBody, []link.Ref{page, change}) }, false, 2, true},
			{"a comment adds a bug", func() (bool, error) { return s.Track(ctx, tracker, "comment:9", []link.Ref{bug}) }, true, 3, true},
			{"the body drops the page", func() (bool, error) { return s.Track(ctx, tracker, upstream.SourceBody, []link.Ref{change}) }, true, 2, true},
			{"a new title", func() (bool, error) {
				it := tracker
				it.Title = "Nova quota"
				return s.Track(ctx, it, upstream.SourceBody, []link.Ref{change})
			}, true, 2, true},
			{"untracked", func() (bool, error) { return s.Untrack(ctx, tracker) }, true, 0, false},
			{"untracked again", func() (bool, error) { return s.Untrack(ctx, tracker) }, false, 0, false},
		}
		var version int64
		for _, st := range steps {
			changed, err := st.do()
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if changed != st.wantChanged {
				t.Errorf("%s: changed = %v, want %v", st.name, changed, st.wantChanged)
			}
			it, err := s.Item(ctx, tracker.Repo, tracker.Number)
			if err != nil || it == nil {
				t.Fatalf("%s: item %v, %v", st.name, it, err)
			}
			if (it.Version > version) != st.wantChanged {
				t.Errorf("%s: version %d after %d; a change must bump it, nothing else", st.name, it.Version, version)
			}
			version = it.Version
			refs, err := s.ItemReferences(ctx, tracker.Repo, tracker.Number)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != st.wantRefs || it.Tracked != st.wantTracked {
				t.Errorf("%s: %d references, tracked %v; want %d, %v", st.name, len(refs), it.Tracked, st.wantRefs, st.wantTracked)
			}
		}
	})
}

func TestStorePollClaimsAndSaves(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		if _, err := s.Track(ctx, tracker, upstream.SourceBody, []link.Ref{change, bug, page}); err != nil {
			t.Fatal(err)
		}
		due, _, err := s.Due(ctx, now.Add(-time.Hour), now, upstream.Budget{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := claimed(due), keys([]link.Ref{change, bug}); !slices.Equal(got, want) {
			t.Fatalf("due = %q, want %q (untracked links are never polled)", got, want)
		}
		// A second poll at the same moment finds them claimed.
		if again, _, err := s.Due(ctx, now.Add(-time.Hour), now, upstream.Budget{}); err != nil || len(again) != 0 {
			t.Fatalf("a concurrent poll got %q (%v), want nothing: the first claimed them", claimed(again), err)
		}
		before, _ := s.Item(ctx, tracker.Repo, tracker.Number)
		items, err := s.Save(ctx, map[string]provider.Result{
			change.Key(): {Status: provider.Status{State: provider.InReview, Raw: "NEW", Title: "Quota", LastActivity: now.Add(-time.Hour)}},
			// An error that is not the provider's public kind is stored
			// without its text: it could hold anything the host said.
			bug.Key(): {Err: errors.New("HTTP 503: <html>db at 10.1.2.3</html>")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].Repo != "o/r" || items[0].Number != 7 {
			t.Errorf("changed items = %v, want o/r#7", items)
		}
		after, _ := s.Item(ctx, tracker.Repo, tracker.Number)
		if after.Version != before.Version+1 {
			t.Errorf("version %d → %d, want one bump for one save", before.Version, after.Version)
		}
		refs, _ := s.ItemReferences(ctx, tracker.Repo, tracker.Number)
		got := map[string]string{}
		for _, r := range refs {
			got[r.Key] = string(r.State) + "|" + r.RawState + "|" + r.CheckError + "|" + r.CheckFailedSince.Format(time.DateOnly)
		}
		want := map[string]string{
			change.Key(): "in_review|NEW||0001-01-01",
			bug.Key():    "||could not check|2026-11-02",
			page.Key():   "|||0001-01-01",
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %q, want %q", k, got[k], w)
			}
		}
		// Saving the same again changes nothing: no version bump.
		items, err = s.Save(ctx, map[string]provider.Result{
			change.Key(): {Status: provider.Status{State: provider.InReview, Raw: "NEW", Title: "Quota", LastActivity: now.Add(-time.Hour)}},
			bug.Key():    {Err: errors.New("HTTP 503 again")},
		})
		if err != nil || len(items) != 0 {
			t.Errorf("an unchanged save reported %v (%v), want no item", items, err)
		}
		// The whole list, with trackers, for the page and the dashboard.
		all, err := s.References(ctx, "o")
		if err != nil || len(all) != 3 || len(all[0].Trackers) != 1 || all[0].Trackers[0].Number != 7 {
			t.Errorf("References = %+v (%v), want 3 references each tracked by o/r#7", all, err)
		}
		if other, _ := s.References(ctx, "p"); len(other) != 0 {
			t.Errorf("another org sees %d references, want 0", len(other))
		}
	})
}

func TestStorePrivateItemsStayOffTheReports(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		hidden := tracker
		hidden.Repo, hidden.Private, hidden.Listed = "o/secret", true, false
		if _, err := s.Track(ctx, hidden, upstream.SourceBody, []link.Ref{bug}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Track(ctx, tracker, upstream.SourceBody, []link.Ref{change}); err != nil {
			t.Fatal(err)
		}
		all, err := s.References(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].Key != change.Key() {
			t.Errorf("reports list %d references, want only the public item's change", len(all))
		}
	})
}

func TestStoreLockIsExclusive(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		var won atomic.Int64
		var token atomic.Value
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := s.Lock(ctx, "sync:o/r#7", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if tok != "" {
					won.Add(1)
					token.Store(tok)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d of 16 took the lease, want 1", won.Load())
		}
		if err := s.Unlock(ctx, "sync:o/r#7", "not the holder"); err != nil {
			t.Fatal(err)
		}
		if tok, _ := s.Lock(ctx, "sync:o/r#7", time.Minute); tok != "" {
			t.Error("someone else's Unlock ended the lease")
		}
		if err := s.Unlock(ctx, "sync:o/r#7", token.Load().(string)); err != nil {
			t.Fatal(err)
		}
		if tok, err := s.Lock(ctx, "sync:o/r#7", time.Minute); err != nil || tok == "" {
			t.Errorf("after the holder's Unlock the lease was not free: %q %v", tok, err)
		}
		if tok, _ := s.Lock(ctx, "sync:o/r#8", -time.Second); tok == "" {
			t.Fatal("another name's lease was not free")
		}
		if tok, _ := s.Lock(ctx, "sync:o/r#8", time.Minute); tok == "" {
			t.Error("an expired lease was not taken over")
		}
	})
}

func TestStoreApplyOrderAndGuards(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		steps := []struct {
			name        string
			change      upstream.Change
			wantChanged bool
			wantRefs    []link.Ref
			wantTracked bool
		}{
			{"a comment does not start tracking", upstream.Change{Item: tracker, Source: "comment:1", Refs: []link.Ref{bug}, IfTracked: true}, false, nil, false},
			{"the body does", upstream.Change{Item: tracker, Source: upstream.SourceBody, Refs: []link.Ref{change}, Seen: t0.Add(2 * time.Minute)}, true, []link.Ref{change}, true},
			{"an older payload arriving late is skipped", upstream.Change{Item: tracker, Source: upstream.SourceBody, Refs: []link.Ref{page}, Seen: t0.Add(time.Minute)}, false, []link.Ref{change}, true},
			{"a newer one applies", upstream.Change{Item: tracker, Source: upstream.SourceBody, Refs: []link.Ref{change, bug}, Seen: t0.Add(3 * time.Minute)}, true, []link.Ref{change, bug}, true},
			{"untracked by a newer payload", upstream.Change{Item: tracker, Untrack: true, Seen: t0.Add(4 * time.Minute)}, true, nil, false},
			{"a comment job that began before does not revive it", upstream.Change{Item: tracker, Source: "comment:1", Refs: []link.Ref{bug}, IfTracked: true}, false, nil, false},
		}
		for _, st := range steps {
			changed, err := s.Apply(ctx, st.change)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			refs, err := s.ItemReferences(ctx, tracker.Repo, tracker.Number)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, r.Key)
			}
			slices.Sort(got)
			it, _ := s.Item(ctx, tracker.Repo, tracker.Number)
			tracked := it != nil && it.Tracked
			if changed != st.wantChanged || !slices.Equal(got, keys(st.wantRefs)) || tracked != st.wantTracked {
				t.Errorf("%s: changed %v, refs %q, tracked %v; want %v, %q, %v", st.name, changed, got, tracked, st.wantChanged, keys(st.wantRefs), st.wantTracked)
			}
		}
		if gone, err := s.Forget(ctx, tracker.Repo, tracker.Number); err != nil || !gone {
			t.Fatalf("Forget = %v, %v", gone, err)
		}
		if it, _ := s.Item(ctx, tracker.Repo, tracker.Number); it != nil {
			t.Errorf("a forgotten item is still stored: %+v", it)
		}
	})
}

// TestStorePrivateReadsGoOnlyWhereTheOrgsPrivateDataGoes: what an org's
// installation read from a private repository shows in the status comment
// of the org's private items, and on the reports only with show_private;
// anywhere else the reference shows exactly as a link to an issue that
// does not exist: an outsider who names both must not learn which one
// exists (an existence oracle).
func TestStorePrivateReadsGoOnlyWhereTheOrgsPrivateDataGoes(t *testing.T) {
	ghRef := link.Ref{Provider: link.GitHub, Host: "github.com", Project: "o/secret", Kind: link.Issue, Number: 7, URL: "https://github.com/o/secret/issues/7"}
	missing := ghRef
	missing.Number, missing.URL = 99, "https://github.com/o/secret/issues/99"
	tests := []struct {
		name                  string
		itemPrivate, show     bool
		wantComment, wantPage bool // the title is shown there
	}{
		{"public item", false, false, false, false},
		{"public item, show_private", false, true, false, true},
		{"private item", true, false, true, false},
		{"private item, show_private", true, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stores(t, func(t *testing.T, s *upstream.Store) {
				ctx := context.Background()
				it := tracker
				it.Private, it.ShowPrivate, it.Listed = tt.itemPrivate, tt.show, !tt.itemPrivate || tt.show
				if _, err := s.Track(ctx, it, upstream.SourceBody, []link.Ref{ghRef, missing}); err != nil {
					t.Fatal(err)
				}
				key := ghRef.Scoped(it.Org()).Key()
				// As the GitHub provider answers: the issue read from a
				// private repository, and a 404.
				if _, err := s.Save(ctx, map[string]provider.Result{
					key: {Status: provider.Status{State: provider.InReview, Raw: "open", Title: "SECRET-TITLE", LastActivity: time.Unix(1e9, 0),
						Private: true, Repo: "o/secret"}},
					missing.Scoped(it.Org()).Key(): {Status: provider.Status{State: provider.Unavailable, Raw: "not found (404)"}},
				}); err != nil {
					t.Fatal(err)
				}
				own, err := s.ItemReferences(ctx, it.Repo, it.Number)
				if err != nil || len(own) != 2 {
					t.Fatalf("item references %+v (%v)", own, err)
				}
				page, err := s.References(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				for where, c := range map[string]struct {
					refs []report.Reference
					want bool
				}{"status comment": {own, tt.wantComment}, "reports": {page, tt.wantPage}} {
					var secret, nothing report.Reference
					for _, r := range c.refs {
						if r.Number == 7 {
							secret = r
						} else {
							nothing = r
						}
					}
					shown := secret.Title == "SECRET-TITLE"
					if shown != c.want {
						t.Errorf("%s shows the title: %v, want %v", where, shown, c.want)
					}
					if !shown && asLinkToNothing(secret) != asLinkToNothing(nothing) {
						t.Errorf("%s tells the private issue from a missing one:\n%+v\n%+v", where, secret, nothing)
					}
				}
			})
		})
	}
}
