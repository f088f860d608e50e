package fakegithub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

// appClient talks to the fake without credentials: with no App key set, the
// fake accepts any /app/* request.
func appClient(t *testing.T, s *fakegithub.Server) *github.Client {
	t.Helper()
	c := github.NewClient(s.Client())
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func TestHookDeliveryShape(t *testing.T) {
	s := fakegithub.New(t)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s.AddHookDelivery(fakegithub.HookDelivery{
		ID: 12345678, GUID: "0b989ba4-242f-11e5-81e1-c7b6966d2516", Event: "pull_request", Action: "opened",
		StatusCode: 502, DeliveredAt: at, Duration: 10.1, InstallationID: 7, RepositoryID: 9,
	})
	resp, body := do(t, s, "GET", "/app/hook/deliveries", "", nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 {
		t.Fatalf("body %s: %v", body, err)
	}
	// GitHub's hook-delivery-item: every key present, action and the ids
	// nullable.
	for _, k := range []string{"id", "guid", "delivered_at", "redelivery", "duration", "status", "status_code",
		"event", "action", "installation_id", "repository_id", "throttled_at"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("delivery lacks %q: %s", k, body)
		}
	}

	ds, _, err := appClient(t, s).Apps.ListHookDeliveries(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	duration := 10.1
	want := &github.HookDelivery{
		ID: github.Int64(12345678), GUID: github.String("0b989ba4-242f-11e5-81e1-c7b6966d2516"),
		DeliveredAt: &github.Timestamp{Time: at}, Redelivery: github.Bool(false), Duration: &duration,
		Status: github.String("Invalid HTTP Response: 502"), StatusCode: github.Int(502),
		Event: github.String("pull_request"), Action: github.String("opened"),
		InstallationID: github.Int64(7), RepositoryID: github.Int64(9),
	}
	if len(ds) != 1 || ds[0].String() != want.String() {
		t.Errorf("decoded %v\nwant    %v", ds, want)
	}
}

func TestHookDeliveriesCursorPagination(t *testing.T) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		n       int
		perPage int
		pages   []int // items per page
	}{
		{"default page size", 65, 0, []int{30, 30, 5}},
		{"100 at most", 250, 500, []int{100, 100, 50}},
		{"exact multiple has no empty last page", 20, 10, []int{10, 10}},
		{"empty log", 0, 100, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakegithub.New(t)
			for i := range tt.n {
				// Added oldest first; listed newest first.
				s.AddHookDelivery(fakegithub.HookDelivery{Event: "issues", StatusCode: 200, DeliveredAt: base.Add(time.Duration(i) * time.Minute)})
			}
			c := appClient(t, s)
			var (
				got  []int
				seen []int64
			)
			opts := &github.ListCursorOptions{PerPage: tt.perPage}
			for range 10 {
				ds, resp, err := c.Apps.ListHookDeliveries(context.Background(), opts)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, len(ds))
				for _, d := range ds {
					seen = append(seen, d.GetID())
				}
				if link := resp.Header.Get("Link"); link != "" && (strings.Contains(link, "page=") && !strings.Contains(link, "cursor=") || strings.Contains(link, `rel="last"`)) {
					t.Errorf("Link %q: GitHub paginates deliveries by cursor only", link)
				}
				if resp.Cursor == "" {
					break
				}
				opts.Cursor = resp.Cursor
			}
			if !slices.Equal(got, tt.pages) {
				t.Errorf("page sizes %v, want %v", got, tt.pages)
			}
			all := s.HookDeliveries()
			var want []int64
			for _, d := range all {
				want = append(want, d.ID)
			}
			if !slices.Equal(seen, want) {
				t.Errorf("paging saw %v\nwant newest first %v", seen, want)
			}
			for i := 1; i < len(all); i++ {
				if all[i].DeliveredAt.After(all[i-1].DeliveredAt) {
					t.Fatalf("HookDeliveries not newest first at %d", i)
				}
			}
		})
	}
}

func TestHookDeliveriesBadCursorAndFilter(t *testing.T) {
	s := fakegithub.New(t)
	d := s.AddHookDelivery(fakegithub.HookDelivery{Event: "issues", StatusCode: 500})
	s.AddHookDelivery(fakegithub.HookDelivery{GUID: d.GUID, Event: "issues", StatusCode: 200, Redelivery: true})
	for _, tc := range []struct {
		query  string
		status int
		n      int
	}{
		{"cursor=nonsense", http.StatusBadRequest, 0},
		{"cursor=v1_999999", http.StatusBadRequest, 0},
		{"redelivery=true", http.StatusOK, 1},
		{"redelivery=false", http.StatusOK, 1},
		{"", http.StatusOK, 2},
	} {
		resp, body := do(t, s, "GET", "/app/hook/deliveries?"+tc.query, "", nil, "")
		var items []any
		_ = json.Unmarshal(body, &items)
		if resp.StatusCode != tc.status || len(items) != tc.n {
			t.Errorf("?%s: %d with %d items, want %d with %d: %s", tc.query, resp.StatusCode, len(items), tc.status, tc.n, body)
		}
	}
}

func TestRedeliverHookDelivery(t *testing.T) {
	s := fakegithub.New(t)
	key := appKey(t)
	s.SetAppPublicKey(&key.PublicKey)
	now := time.Now()
	jwt := signJWT(t, key, map[string]any{"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(), "iss": "1"})
	c := appClient(t, s).WithAuthToken(jwt)
	ctx := context.Background()

	failed := s.AddHookDelivery(fakegithub.HookDelivery{Event: "pull_request", Action: "synchronize", StatusCode: 503, InstallationID: 3, DeliveredAt: now.Add(-time.Hour)})

	if resp, body := do(t, s, "POST", "/app/hook/deliveries/1/attempts", "", nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a JWT: %d %s, want 401", resp.StatusCode, body)
	}
	_, resp, err := c.Apps.RedeliverHookDelivery(ctx, failed.ID)
	var accepted *github.AcceptedError
	if !errors.As(err, &accepted) || resp.StatusCode != http.StatusAccepted || string(accepted.Raw) != "{}" {
		t.Fatalf("redeliver: %v (status %v), want 202 {}", err, resp)
	}
	_, resp, err = c.Apps.RedeliverHookDelivery(ctx, 424242)
	if resp == nil || resp.StatusCode != http.StatusNotFound || err == nil {
		t.Errorf("unknown id: %v, want 404", err)
	}
	s.SetRedeliveryStatusCode(502)
	if _, _, err := c.Apps.RedeliverHookDelivery(ctx, failed.ID); !errors.As(err, &accepted) {
		t.Fatal(err)
	}

	if got, want := s.Redelivered(), []int64{failed.ID, failed.ID}; !slices.Equal(got, want) {
		t.Errorf("Redelivered() = %v, want %v (the 404 left out)", got, want)
	}
	ds, _, err := c.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		if d.GetGUID() != failed.GUID || d.GetEvent() != "pull_request" || d.GetAction() != "synchronize" || d.GetInstallationID() != 3 {
			t.Errorf("attempt %v does not repeat the original's guid, event, action and installation", d)
		}
		got = append(got, d.GetStatus()+" redelivery="+map[bool]string{true: "yes", false: "no"}[d.GetRedelivery()])
	}
	want := []string{"Invalid HTTP Response: 502 redelivery=yes", "OK redelivery=yes", "Invalid HTTP Response: 503 redelivery=no"}
	if !slices.Equal(got, want) {
		t.Errorf("log after redeliveries:\n got %q\nwant %q", got, want)
	}
}
