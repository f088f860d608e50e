package provider

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimitPerHost uses a rate so slow that a second token is a quarter of
// an hour away: the limiter refuses at once when the context's deadline
// comes sooner, so nothing here waits.
func TestLimitPerHost(t *testing.T) {
	var hitsA, hitsB atomic.Int64
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hitsA.Add(1) }))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hitsB.Add(1) }))
	defer b.Close()
	c := Limit(client(), 0.001, 1)

	do := func(url string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	steps := []struct {
		url     string
		allowed bool
	}{
		{a.URL, true},  // burst of 1
		{a.URL, false}, // next token in 1000 s, deadline in 60 s
		{b.URL, true},  // another host has its own bucket
		{b.URL, false},
	}
	for i, s := range steps {
		err := do(s.url)
		if (err == nil) != s.allowed {
			t.Errorf("step %d: err = %v, want allowed=%v", i, err, s.allowed)
		}
	}
	if hitsA.Load() != 1 || hitsB.Load() != 1 {
		t.Errorf("servers saw %d and %d requests, want 1 and 1", hitsA.Load(), hitsB.Load())
	}
}

func TestLimitCancelled(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := Limit(client(), 1, 1).Do(req)
	if !errors.Is(err, context.Canceled) || hits.Load() != 0 {
		t.Errorf("err = %v, hits = %d; want context.Canceled and no request", err, hits.Load())
	}
}

func TestLimitOff(t *testing.T) {
	c := client()
	if Limit(c, 0, 5) != c || Limit(c, -1, 5) != c {
		t.Error("perSecond <= 0 must return the client unchanged")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		"-5":                            0,
		"soon":                          0,
		"Mon, 01 Jan 2024 12:01:30 GMT": 90 * time.Second,
		"Mon, 01 Jan 2024 11:00:00 GMT": 0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
