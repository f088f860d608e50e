// Package redeliver finds webhook deliveries that GitHub could not deliver
// to the App and asks GitHub to send them again.
//
// GitHub does not retry a failed delivery by itself: while contribot was
// down, unreachable or answering 5xx, the events it missed are lost unless
// someone presses "Redeliver". Run does that for every event of a recent
// window, through the App's webhook delivery log (GET /app/hook/deliveries,
// POST /app/hook/deliveries/{id}/attempts, both with the App JWT).
//
// # Which deliveries are missed
//
// The log lists attempts; a redelivery is a new attempt with the original's
// GUID (X-GitHub-Delivery). Attempts are grouped by GUID, and a GUID is
// missed when none of its attempts in the window got a 2xx answer. A later
// successful redelivery, by anyone, means it is not missed. Because a
// redelivery is always newer than the attempt it repeats and the log is read
// newest first, every attempt that could fix a failure inside the window is
// inside the window too: cutting the listing off at Since never hides a
// success.
//
// A missed GUID is left alone (counted as skipped) when
//   - its newest attempt is still pending, so that two runs in quick
//     succession do not send one event twice; or
//   - it has already been redelivered MaxAttempts times inside the window
//     and every one failed: the receiver rejects this event for a reason
//     another try will not fix, and retrying it each run would only add
//     noise and use quota.
//
// Otherwise its newest attempt is redelivered, oldest GUID first so that
// events reach the service in roughly their original order, at most Max per
// run. A redelivery carries the original GUID, so the receiver can tell it
// from a new event.
package redeliver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/githubapp"
)

// Client is the part of GitHub's API that Run needs.
type Client interface {
	// ListDeliveries returns one page of the App's webhook delivery log,
	// newest first, starting at cursor ("" for the newest); next is ""
	// after the last page.
	ListDeliveries(ctx context.Context, cursor string) (deliveries []*github.HookDelivery, next string, err error)
	// Redeliver asks GitHub to send delivery id again.
	Redeliver(ctx context.Context, id int64) error
}

// GitHub implements Client with a go-github client authenticated as the App
// (githubapp.App.AppClient): installation tokens cannot read the log.
type GitHub struct{ C *github.Client }

// ListDeliveries reads pages of 100, GitHub's maximum, to keep the number
// of requests per run small.
func (g GitHub) ListDeliveries(ctx context.Context, cursor string) ([]*github.HookDelivery, string, error) {
	ds, resp, err := g.C.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 100, Cursor: cursor})
	if err != nil {
		return nil, "", fmt.Errorf("list the App's webhook deliveries: %w", err)
	}
	return ds, resp.Cursor, nil
}

// Redeliver treats GitHub's 202 Accepted, which go-github reports as an
// *github.AcceptedError, as the success it is.
func (g GitHub) Redeliver(ctx context.Context, id int64) error {
	_, _, err := g.C.Apps.RedeliverHookDelivery(ctx, id)
	var accepted *github.AcceptedError
	if err != nil && !errors.As(err, &accepted) {
		return fmt.Errorf("redeliver webhook delivery %d: %w", id, err)
	}
	return nil
}

// Defaults for Options.
const (
	DefaultMax         = 100
	DefaultMaxAttempts = 3
)

// Options tune Run.
type Options struct {
	// Since is how far back to look; required. GitHub keeps deliveries for
	// 3 days, so a longer window finds nothing more.
	Since time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Max bounds the redeliveries of one run (default DefaultMax); missed
	// deliveries beyond it are left for the next run and counted as
	// remaining.
	Max int
	// MaxAttempts is how many failed redeliveries of one GUID inside the
	// window make Run give up on it (default DefaultMaxAttempts).
	MaxAttempts int
	// DryRun decides and logs but sends no redelivery.
	DryRun bool
	// Log receives one line per missed delivery (default: discard).
	Log *slog.Logger
}

// Outcome is what Run did with one missed delivery.
type Outcome string

// Outcomes, as shown by the CLI.
const (
	OutcomeRedelivered    Outcome = "redelivered"
	OutcomeWouldRedeliver Outcome = "would redeliver"
	OutcomePending        Outcome = "skipped: a redelivery is pending"
	OutcomeGaveUp         Outcome = "skipped: its redeliveries failed too"
	OutcomeOverMax        Outcome = "left for the next run: over the maximum per run"
	OutcomeRateLimited    Outcome = "left for the next run: GitHub rate limit"
	OutcomeRefused        Outcome = "refused by GitHub"
)

// Missed is one GUID none of whose attempts succeeded.
type Missed struct {
	GUID          string
	Event, Action string
	// ID is the newest attempt, the one redelivered; StatusCode its
	// answer (0: none, e.g. a timeout) and DeliveredAt its time.
	ID          int64
	StatusCode  int
	DeliveredAt time.Time
	// FirstDeliveredAt is the oldest attempt inside the window.
	FirstDeliveredAt time.Time
	// Attempts counts the attempts inside the window, Redeliveries those
	// of them that were redeliveries.
	Attempts, Redeliveries int
	Outcome                Outcome
}

// Report sums up a run.
type Report struct {
	Since  time.Duration
	DryRun bool
	// Scanned counts the attempts inside the window.
	Scanned int
	// Missed counts the GUIDs that failed and never succeeded.
	Missed int
	// Redelivered counts the redeliveries GitHub accepted (in a dry run:
	// those that would have been asked for).
	Redelivered int
	// Skipped counts missed GUIDs deliberately left alone (see the package
	// documentation).
	Skipped int
	// Failed counts redeliveries GitHub refused (other than rate limits),
	// e.g. a delivery that aged out of the log.
	Failed int
	// Remaining counts missed GUIDs not redelivered because of Max or a
	// rate limit; the next run picks them up.
	Remaining int
	// Deliveries lists the missed GUIDs, oldest first, with their outcome.
	Deliveries []Missed
}

// String is the CLI's summary line, e.g. "scanned 240 deliveries in the
// last 6h: 3 failed and never succeeded; redelivered 3".
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scanned %s in the last %s: %d failed and never succeeded", plural(r.Scanned, "delivery", "deliveries"), shortDuration(r.Since), r.Missed)
	if r.DryRun {
		fmt.Fprintf(&b, "; would redeliver %d (dry run)", r.Redelivered)
	} else {
		fmt.Fprintf(&b, "; redelivered %d", r.Redelivered)
	}
	if r.Skipped > 0 {
		fmt.Fprintf(&b, "; skipped %d (a redelivery pending or failing)", r.Skipped)
	}
	if r.Failed > 0 {
		fmt.Fprintf(&b, "; GitHub refused %d", r.Failed)
	}
	if r.Remaining > 0 {
		fmt.Fprintf(&b, "; %d left for the next run", r.Remaining)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// shortDuration prints 6h rather than time.Duration's 6h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// isPending reports an attempt GitHub has accepted but not yet made.
func isPending(d *github.HookDelivery) bool {
	return d.GetStatusCode() == 0 && strings.EqualFold(d.GetStatus(), "pending")
}

func succeeded(d *github.HookDelivery) bool {
	return d.GetStatusCode() >= 200 && d.GetStatusCode() < 300
}

// rateLimited covers go-github's RateLimitError and AbuseRateLimitError and
// the transport's own githubapp.RateLimitError.
func rateLimited(err error) bool {
	_, ok := githubapp.RetryAfter(err)
	return ok
}

// Run reads the log back to Since and redelivers what was missed (see the
// package documentation). The report is valid also when err is not nil. A
// rate limit ends the run early with an error for which RateLimited is
// true; a refused redelivery does not stop the others and is reported in
// the joined error.
func Run(ctx context.Context, c Client, o Options) (Report, error) {
	if o.Since <= 0 {
		return Report{}, fmt.Errorf("redeliver: the window must be positive, got %s", o.Since)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Max <= 0 {
		o.Max = DefaultMax
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := Report{Since: o.Since, DryRun: o.DryRun}
	cutoff := o.Now().Add(-o.Since)

	groups, err := scan(ctx, c, cutoff, &rep)
	if err != nil {
		return rep, err
	}
	for _, attempts := range groups {
		if slices.ContainsFunc(attempts, succeeded) {
			continue
		}
		rep.Missed++
		newest, first := attempts[0], attempts[len(attempts)-1]
		m := Missed{
			GUID: newest.GetGUID(), Event: newest.GetEvent(), Action: newest.GetAction(),
			ID: newest.GetID(), StatusCode: newest.GetStatusCode(), DeliveredAt: newest.GetDeliveredAt().Time,
			FirstDeliveredAt: first.GetDeliveredAt().Time, Attempts: len(attempts),
		}
		for _, a := range attempts {
			if a.GetRedelivery() {
				m.Redeliveries++
			}
		}
		switch {
		case isPending(newest):
			m.Outcome = OutcomePending
		case m.Redeliveries >= o.MaxAttempts, first.GetRedelivery():
			// The original attempt is out of the window: only redeliveries
			// of it are left in view, and each is a new entry that never
			// ages out, so counting them would redeliver a delivery that
			// always fails every few hours for ever.
			m.Outcome = OutcomeGaveUp
		}
		rep.Deliveries = append(rep.Deliveries, m)
	}
	slices.SortFunc(rep.Deliveries, func(a, b Missed) int {
		return cmp.Or(a.FirstDeliveredAt.Compare(b.FirstDeliveredAt), cmp.Compare(a.ID, b.ID))
	})

	var (
		asked   int
		limit   error
		refused []error
	)
	for i := range rep.Deliveries {
		m := &rep.Deliveries[i]
		switch {
		case m.Outcome != "":
			rep.Skipped++
		case limit != nil:
			m.Outcome = OutcomeRateLimited
			rep.Remaining++
		case asked >= o.Max:
			m.Outcome = OutcomeOverMax
			rep.Remaining++
		case o.DryRun:
			asked++
			m.Outcome = OutcomeWouldRedeliver
			rep.Redelivered++
		default:
			asked++
			err := c.Redeliver(ctx, m.ID)
			switch {
			case err == nil:
				m.Outcome = OutcomeRedelivered
				rep.Redelivered++
			case ctx.Err() != nil:
				return rep, fmt.Errorf("redeliver: %w", ctx.Err())
			case rateLimited(err):
				limit = err
				m.Outcome = OutcomeRateLimited
				rep.Remaining++
			default:
				m.Outcome = OutcomeRefused
				rep.Failed++
				refused = append(refused, fmt.Errorf("%s (%s): %w", m.GUID, m.Event, err))
			}
		}
		level := slog.LevelInfo
		if m.Outcome != OutcomeRedelivered && m.Outcome != OutcomeWouldRedeliver {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "missed webhook delivery",
			slog.String("outcome", string(m.Outcome)),
			slog.String("guid", m.GUID), slog.String("event", m.Event), slog.String("action", m.Action),
			slog.Int64("delivery_id", m.ID), slog.Int("status_code", m.StatusCode),
			slog.Time("delivered_at", m.DeliveredAt), slog.Time("first_delivered_at", m.FirstDeliveredAt),
			slog.Int("attempts", m.Attempts))
	}
	if limit != nil {
		refused = append(refused, fmt.Errorf("stopped at a GitHub rate limit with %d missed deliveries left: %w", rep.Remaining, limit))
	}
	if err := errors.Join(refused...); err != nil {
		return rep, fmt.Errorf("redeliver: %w", err)
	}
	return rep, nil
}

// RateLimited reports whether Run stopped at a GitHub rate limit; the next
// run continues where it left off.
func RateLimited(err error) bool { return rateLimited(err) }

// key groups attempts by GUID; an attempt without one (never seen from
// GitHub, but the field is optional) stands alone.
func key(guid string, id int64) string {
	if guid == "" {
		return fmt.Sprintf("id:%d", id)
	}
	return guid
}

// scan pages through the log, newest first, and stops at the first page
// that reaches past cutoff: older attempts cannot change the verdict on
// newer ones. It returns the attempts inside the window by GUID, each
// newest first.
func scan(ctx context.Context, c Client, cutoff time.Time, rep *Report) (map[string][]*github.HookDelivery, error) {
	groups := map[string][]*github.HookDelivery{}
	cursor := ""
	for page := 1; ; page++ {
		ds, next, err := c.ListDeliveries(ctx, cursor)
		if err != nil {
			return groups, fmt.Errorf("redeliver: page %d of the delivery log: %w", page, err)
		}
		reachedCutoff := false
		for _, d := range ds {
			if d.GetDeliveredAt().Time.Before(cutoff) {
				reachedCutoff = true
				continue
			}
			rep.Scanned++
			k := key(d.GetGUID(), d.GetID())
			groups[k] = append(groups[k], d)
		}
		if reachedCutoff || next == "" || len(ds) == 0 {
			return groups, nil
		}
		if next == cursor {
			// A server that hands back the cursor it was given would keep
			// this loop going for ever.
			return groups, fmt.Errorf("redeliver: page %d of the delivery log points back at itself (cursor %q)", page, cursor)
		}
		cursor = next
	}
}

// RunTask is Run for a periodic job: it logs the summary and treats a rate
// limit as the end of this run rather than a failure, since retrying at
// once would meet the same limit; the next period continues.
func RunTask(ctx context.Context, c Client, since time.Duration, max int, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep, err := Run(ctx, c, Options{Since: since, Max: max, Log: log})
	switch {
	case err != nil && RateLimited(err):
		log.WarnContext(ctx, "webhook redelivery stopped at a rate limit", slog.String("summary", rep.String()), slog.Any("error", err))
		return nil
	case err != nil && rep.Scanned > 0:
		// Some redeliveries were refused: a retry of the whole run would
		// overlap the next period's; that one tries them again.
		log.WarnContext(ctx, "webhook redelivery: GitHub refused some", slog.String("summary", rep.String()), slog.Any("error", err))
		return nil
	case err != nil:
		return err
	}
	if rep.Missed > 0 {
		log.InfoContext(ctx, "webhook redelivery", slog.String("summary", rep.String()))
	} else {
		log.DebugContext(ctx, "webhook redelivery", slog.String("summary", rep.String()))
	}
	return nil
}
