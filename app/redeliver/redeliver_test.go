package redeliver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
	"github.com/SovereignCloudStack/contribot/app/githubapp"
	"github.com/SovereignCloudStack/contribot/app/redeliver"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// newClient is the production Client (App JWT through the githubapp stack)
// against a fake that checks the JWT; waits are skipped.
func newClient(t *testing.T) (*fakegithub.Server, redeliver.GitHub) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	gh := fakegithub.New(t)
	gh.SetAppPublicKey(&testKey.PublicKey)
	gh.SetAppID(42, "contribot")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey)})
	app, err := githubapp.New(githubapp.Config{AppID: 42, PrivateKey: pemKey, BaseURL: gh.URL()},
		githubapp.WithRegisterer(prometheus.NewRegistry()),
		githubapp.WithWritePacing(0, 0),
		githubapp.WithSleep(func(context.Context, time.Duration) error { return nil }),
	)
	if err != nil {
		t.Fatal(err)
	}
	return gh, redeliver.GitHub{C: app.AppClient()}
}

// attempt is one entry of a scenario's delivery log.
type attempt struct {
	guid       string
	ago        time.Duration
	code       int
	redelivery bool
	status     string
}

// seed adds the attempts, oldest first as GitHub would have made them, and
// returns their ids by "guid@ago".
func seed(gh *fakegithub.Server, now time.Time, log []attempt) map[string]int64 {
	slices.SortStableFunc(log, func(a, b attempt) int { return int(b.ago - a.ago) })
	ids := map[string]int64{}
	for _, a := range log {
		d := gh.AddHookDelivery(fakegithub.HookDelivery{
			GUID: a.guid, Event: "pull_request", Action: "opened", StatusCode: a.code, Status: a.status,
			DeliveredAt: now.Add(-a.ago), Redelivery: a.redelivery, InstallationID: 1,
		})
		ids[a.guid+"@"+a.ago.String()] = d.ID
	}
	return ids
}

func countCalls(gh *fakegithub.Server, prefix string) int {
	n := 0
	for _, c := range gh.Calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

const (
	listCall = "GET /app/hook/deliveries"
	postCall = "POST /app/hook/deliveries/"
)

func TestRunDecides(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name string
		log  []attempt
		max  int
		// want: the attempts redelivered, in order, as "guid@ago"
		want                                []string
		scanned, missed, skipped, remaining int
	}{
		{
			name:    "a success after a failure is not redelivered",
			log:     []attempt{{guid: "a", ago: 3 * h, code: 502}, {guid: "a", ago: 2 * h, code: 200, redelivery: true}},
			scanned: 2,
		},
		{
			name:    "failures only: the newest attempt is redelivered once",
			log:     []attempt{{guid: "b", ago: 3 * h, code: 502}, {guid: "b", ago: 2 * h, code: 0, redelivery: true}},
			want:    []string{"b@2h0m0s"},
			scanned: 2, missed: 1,
		},
		{
			name: "oldest GUID first; other status codes count as failures",
			log: []attempt{
				{guid: "late", ago: h, code: 500}, {guid: "early", ago: 5 * h, code: 404},
				{guid: "ok", ago: 4 * h, code: 204}, {guid: "mid", ago: 3 * h, code: 301},
			},
			want:    []string{"early@5h0m0s", "mid@3h0m0s", "late@1h0m0s"},
			scanned: 4, missed: 3,
		},
		{
			name:    "attempts older than the window are not looked at",
			log:     []attempt{{guid: "old", ago: 7 * h, code: 502}, {guid: "new", ago: 5 * h, code: 502}},
			want:    []string{"new@5h0m0s"},
			scanned: 1, missed: 1,
		},
		{
			// Each redelivery is a new entry; counting only those in view
			// would redeliver an always-failing delivery for ever.
			name: "an original attempt out of the window: given up",
			log: []attempt{{guid: "gone", ago: 9 * h, code: 413},
				{guid: "gone", ago: 5 * h, code: 413, redelivery: true}, {guid: "gone", ago: 2 * h, code: 413, redelivery: true}},
			scanned: 2, missed: 1, skipped: 1,
		},
		{
			name: "a pending redelivery is left alone",
			log: []attempt{{guid: "p", ago: 3 * h, code: 502},
				{guid: "p", ago: time.Minute, code: 0, status: "pending", redelivery: true}},
			scanned: 2, missed: 1, skipped: 1,
		},
		{
			name: "after three failed redeliveries it gives up",
			log: []attempt{{guid: "g", ago: 5 * h, code: 502}, {guid: "g", ago: 4 * h, code: 502, redelivery: true},
				{guid: "g", ago: 3 * h, code: 502, redelivery: true}, {guid: "g", ago: 2 * h, code: 502, redelivery: true},
				{guid: "two", ago: 5 * h, code: 502}, {guid: "two", ago: 4 * h, code: 502, redelivery: true},
				{guid: "two", ago: 3 * h, code: 502, redelivery: true}},
			want:    []string{"two@3h0m0s"},
			scanned: 7, missed: 2, skipped: 1,
		},
		{
			name: "at most Max per run, the rest remain",
			log: []attempt{{guid: "1", ago: 5 * h, code: 500}, {guid: "2", ago: 4 * h, code: 500},
				{guid: "3", ago: 3 * h, code: 500}, {guid: "4", ago: 2 * h, code: 500}},
			max:     2,
			want:    []string{"1@5h0m0s", "2@4h0m0s"},
			scanned: 4, missed: 4, remaining: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh, c := newClient(t)
			now := time.Now().Truncate(time.Second)
			ids := seed(gh, now, tt.log)
			var logs bytes.Buffer
			rep, err := redeliver.Run(context.Background(), c, redeliver.Options{
				Since: 6 * time.Hour, Now: func() time.Time { return now }, Max: tt.max,
				Log: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, w := range tt.want {
				want = append(want, ids[w])
			}
			if got := gh.Redelivered(); !slices.Equal(got, want) {
				t.Errorf("redelivered %v, want %v %q", got, want, tt.want)
			}
			if rep.Scanned != tt.scanned || rep.Missed != tt.missed || rep.Redelivered != len(tt.want) ||
				rep.Skipped != tt.skipped || rep.Remaining != tt.remaining || rep.Failed != 0 {
				t.Errorf("report %+v\nwant scanned %d, missed %d, redelivered %d, skipped %d, remaining %d",
					rep, tt.scanned, tt.missed, len(tt.want), tt.skipped, tt.remaining)
			}
			if got := strings.Count(logs.String(), "missed webhook delivery"); got != tt.missed {
				t.Errorf("%d log lines for %d missed deliveries:\n%s", got, tt.missed, logs.String())
			}
			if tt.missed > 0 && !strings.Contains(logs.String(), "event=pull_request action=opened") {
				t.Errorf("log lacks event and action:\n%s", logs.String())
			}
		})
	}
}

// TestRunStopsPagingAtTheWindow: 300 successful deliveries a minute apart,
// a 2h window: the first page holds 100 of them, the second reaches past
// the window, the third is never asked for.
func TestRunStopsPagingAtTheWindow(t *testing.T) {
	gh, c := newClient(t)
	now := time.Now().Truncate(time.Second)
	var log []attempt
	for i := range 300 {
		log = append(log, attempt{guid: "g" + time.Duration(i).String(), ago: time.Duration(i)*time.Minute + 30*time.Second, code: 200})
	}
	seed(gh, now, log)
	gh.Reset()
	rep, err := redeliver.Run(context.Background(), c, redeliver.Options{Since: 2 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if got := countCalls(gh, listCall); got != 2 {
		t.Errorf("%d list calls, want 2: %q", got, gh.Calls())
	}
	if rep.Scanned != 120 || rep.Missed != 0 {
		t.Errorf("report %+v, want 120 scanned and none missed", rep)
	}
	if calls := gh.Calls(); len(calls) < 2 || !strings.Contains(calls[1], "cursor=v1_") || !strings.Contains(calls[0], "per_page=100") {
		t.Errorf("calls %q: want pages of 100 followed by cursor", calls)
	}
}

func TestRunStopsAtRateLimit(t *testing.T) {
	tests := []struct {
		name  string
		fault *fakegithub.Fault
	}{
		{"secondary", fakegithub.SecondaryRateLimit(60)},
		{"primary", fakegithub.PrimaryRateLimit(time.Now().Add(time.Hour))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh, c := newClient(t)
			now := time.Now().Truncate(time.Second)
			seed(gh, now, []attempt{{guid: "1", ago: 4 * time.Hour, code: 500}, {guid: "2", ago: 3 * time.Hour, code: 500},
				{guid: "3", ago: 2 * time.Hour, code: 500}, {guid: "4", ago: time.Hour, code: 500}})
			posts := 0
			gh.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/attempts") {
					posts++
					if posts == 2 {
						return tt.fault
					}
				}
				return nil
			})
			gh.Reset()
			rep, err := redeliver.Run(context.Background(), c, redeliver.Options{Since: 6 * time.Hour, Now: func() time.Time { return now }})
			if err == nil || !redeliver.RateLimited(err) {
				t.Fatalf("err = %v, want a rate limit", err)
			}
			if rep.Redelivered != 1 || rep.Remaining != 3 || !strings.Contains(err.Error(), "3 missed deliveries left") {
				t.Errorf("report %+v, err %v; want 1 redelivered and 3 remaining", rep, err)
			}
			if got := countCalls(gh, postCall); got != 2 {
				t.Errorf("%d redelivery requests, want 2: nothing after the limit", got)
			}
			if !strings.HasSuffix(rep.String(), "redelivered 1; 3 left for the next run") {
				t.Errorf("summary %q", rep.String())
			}
			// The periodic task ends quietly; the next period goes on.
			if err := redeliver.RunTask(context.Background(), c, 6*time.Hour, 10, nil); err != nil {
				t.Errorf("RunTask after a rate limit: %v, want nil", err)
			}
		})
	}
}

// TestSecondRunIsIdempotent: once the redeliveries succeeded, a second run
// finds nothing; when they failed again, the next run retries the newest
// attempt, until MaxAttempts.
func TestSecondRunIsIdempotent(t *testing.T) {
	tests := []struct {
		name     string
		code     int   // what the receiver answers redeliveries
		perRun   []int // redeliveries of each run
		lastMiss int
	}{
		{"redeliveries succeed", 200, []int{3, 0, 0}, 0},
		{"receiver still failing", 503, []int{3, 3, 3, 0}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh, c := newClient(t)
			gh.SetRedeliveryStatusCode(tt.code)
			now := time.Now().Truncate(time.Second)
			seed(gh, now, []attempt{{guid: "1", ago: 4 * time.Hour, code: 500}, {guid: "2", ago: 3 * time.Hour, code: 502},
				{guid: "3", ago: 2 * time.Hour, code: 0}, {guid: "4", ago: time.Hour, code: 200}})
			var rep redeliver.Report
			for i, want := range tt.perRun {
				gh.Reset()
				var err error
				rep, err = redeliver.Run(context.Background(), c, redeliver.Options{Since: 6 * time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Redelivered != want || countCalls(gh, postCall) != want {
					t.Errorf("run %d: redelivered %d (%d requests), want %d", i+1, rep.Redelivered, countCalls(gh, postCall), want)
				}
			}
			if rep.Missed != tt.lastMiss {
				t.Errorf("last run: %d missed, want %d", rep.Missed, tt.lastMiss)
			}
		})
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	gh, c := newClient(t)
	now := time.Now().Truncate(time.Second)
	seed(gh, now, []attempt{{guid: "1", ago: 4 * time.Hour, code: 500}, {guid: "2", ago: 3 * time.Hour, code: 502}})
	rep, err := redeliver.Run(context.Background(), c, redeliver.Options{Since: 6 * time.Hour, DryRun: true, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := countCalls(gh, postCall); got != 0 {
		t.Errorf("dry run sent %d redeliveries", got)
	}
	if len(rep.Deliveries) != 2 || rep.Deliveries[0].Outcome != redeliver.OutcomeWouldRedeliver || rep.Deliveries[1].Outcome != redeliver.OutcomeOverMax {
		t.Errorf("deliveries %+v", rep.Deliveries)
	}
	if want := "scanned 2 deliveries in the last 6h: 2 failed and never succeeded; would redeliver 1 (dry run); 1 left for the next run"; rep.String() != want {
		t.Errorf("summary %q\nwant    %q", rep.String(), want)
	}
}

func TestRefusedRedeliveryDoesNotStopTheOthers(t *testing.T) {
	gh, c := newClient(t)
	now := time.Now().Truncate(time.Second)
	seed(gh, now, []attempt{{guid: "1", ago: 4 * time.Hour, code: 500}, {guid: "2", ago: 3 * time.Hour, code: 502}})
	var mu sync.Mutex
	posts := 0
	gh.Fault(func(r *http.Request, _ int) *fakegithub.Fault {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPost {
			posts++
		}
		if r.Method == http.MethodPost && posts == 1 {
			return &fakegithub.Fault{Status: http.StatusUnprocessableEntity, Body: `{"message":"Validation Failed"}`}
		}
		return nil
	})
	rep, err := redeliver.Run(context.Background(), c, redeliver.Options{Since: 6 * time.Hour})
	if err == nil || redeliver.RateLimited(err) || !strings.Contains(err.Error(), "422") {
		t.Errorf("err = %v, want the 422 reported", err)
	}
	if rep.Failed != 1 || rep.Redelivered != 1 {
		t.Errorf("report %+v, want 1 refused and 1 redelivered", rep)
	}
	if err := redeliver.RunTask(context.Background(), c, 6*time.Hour, 10, nil); err != nil {
		t.Errorf("RunTask: %v", err)
	}
}

func TestReportString(t *testing.T) {
	tests := []struct {
		rep  redeliver.Report
		want string
	}{
		{redeliver.Report{Since: 6 * time.Hour, Scanned: 240, Missed: 3, Redelivered: 3},
			"scanned 240 deliveries in the last 6h: 3 failed and never succeeded; redelivered 3"},
		{redeliver.Report{Since: 90 * time.Minute, Scanned: 1},
			"scanned 1 delivery in the last 1h30m: 0 failed and never succeeded; redelivered 0"},
		{redeliver.Report{Since: 30 * time.Second, Scanned: 5, Missed: 4, Redelivered: 1, Skipped: 1, Failed: 1, Remaining: 1},
			"scanned 5 deliveries in the last 30s: 4 failed and never succeeded; redelivered 1; skipped 1 (a redelivery pending or failing); GitHub refused 1; 1 left for the next run"},
	}
	for _, tt := range tests {
		if got := tt.rep.String(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	_, c := newClient(t)
	if _, err := redeliver.Run(context.Background(), c, redeliver.Options{}); err == nil {
		t.Error("a zero window was accepted")
	}
}

// loopClient hands back the cursor it was given.
type loopClient struct{ calls int }

func (l *loopClient) ListDeliveries(context.Context, string) ([]*github.HookDelivery, string, error) {
	l.calls++
	return []*github.HookDelivery{{ID: github.Int64(1), GUID: github.String("x"), StatusCode: github.Int(200),
		DeliveredAt: &github.Timestamp{Time: time.Now()}}}, "same", nil
}
func (l *loopClient) Redeliver(context.Context, int64) error { return errors.New("unexpected") }

func TestRunStopsOnARepeatedCursor(t *testing.T) {
	l := &loopClient{}
	_, err := redeliver.Run(context.Background(), l, redeliver.Options{Since: time.Hour})
	if err == nil || l.calls != 2 {
		t.Errorf("err %v after %d calls, want an error after 2", err, l.calls)
	}
}
