package upstream_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream"
	"github.com/SovereignCloudStack/contribot/app/upstream/link"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// slowFetcher answers the Gerrit change at once and hangs on the rest
// until the poll's time is up, as an upstream host in trouble does.
type slowFetcher struct{}

func (slowFetcher) Fetch(ctx context.Context, refs []link.Ref) map[string]provider.Result {
	out := map[string]provider.Result{}
	for _, r := range refs {
		if r.Provider == link.Gerrit {
			out[r.Key()] = provider.Result{Status: provider.Status{State: provider.Merged, Raw: "MERGED"}}
			continue
		}
		<-ctx.Done()
		out[r.Key()] = provider.Result{Err: ctx.Err()}
	}
	return out
}

// publicRepos answers that every repository is public, for the full
// poll's visibility check; it does nothing else.
type publicRepos struct{ upstream.Client }

func (publicRepos) Private(context.Context, string, string) (bool, error) { return false, nil }

type noSchedule struct{}

func (noSchedule) Schedule(context.Context, string, string, time.Duration) error { return nil }

func TestPollOutOfTimeSavesWhatItCheckedAndHandsBackTheRest(t *testing.T) {
	stores(t, func(t *testing.T, s *upstream.Store) {
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		ctx := context.Background()
		if _, err := s.Track(ctx, tracker, upstream.SourceBody, []link.Ref{change, bug}); err != nil {
			t.Fatal(err)
		}
		h := &upstream.Handler{Store: s, Providers: slowFetcher{}, Queue: noSchedule{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			PollEvery: time.Hour, Now: s.Now, Client: func(int64) upstream.Client { return publicRepos{} }}
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := h.Poll(pctx, true); err != nil {
			t.Fatal(err)
		}
		refs, err := s.ItemReferences(ctx, tracker.Repo, tracker.Number)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			switch r.Key {
			case change.Key():
				if r.State != provider.Merged {
					t.Errorf("the change checked in time was not saved: %+v", r)
				}
			case bug.Key():
				if r.CheckError != "" || !r.LastChecked.IsZero() {
					t.Errorf("the bug never reached was recorded as a failed check: %+v", r)
				}
			}
		}
		// Handed back: the next poll, a minute later, takes the bug again
		// and not the change.
		due, _, err := s.Due(ctx, now.Add(-time.Hour), now.Add(time.Minute), upstream.Budget{})
		if err != nil {
			t.Fatal(err)
		}
		if got := claimed(due); len(got) != 1 || got[0] != bug.Key() {
			t.Errorf("due after the slow poll = %q, want only the bug", got)
		}
	})
}
