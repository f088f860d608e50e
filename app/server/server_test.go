package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/server"
)

const secret, previous = "s3cret", "old-s3cret"

func fixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "github", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// countingQueue wraps the real SQLite queue and counts inserted jobs.
type countingQueue struct {
	*queue.Queue
	inserted int
}

func (c *countingQueue) Enqueue(ctx context.Context, d, e string, p []byte, r []queue.Route) (int, error) {
	n, err := c.Queue.Enqueue(ctx, d, e, p, r)
	c.inserted += n
	return n, err
}

func newServer(t *testing.T) (*httptest.Server, *countingQueue) {
	t.Helper()
	srv, q, _ := newServerWith(t, nil)
	return srv, q
}

// newServerWith is newServer with the config changed by configure, and
// its metrics registry.
func newServerWith(t *testing.T, configure func(*server.Config)) (*httptest.Server, *countingQueue, *prometheus.Registry) {
	t.Helper()
	q, err := queue.Open(context.Background(), filepath.Join(t.TempDir(), "contribot.db"), queue.Options{NoWork: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	cq := &countingQueue{Queue: q}
	// The real router (app.Route) would make this an import cycle; this one
	// has the same contract: decode, report malformed JSON, pick features.
	route := func(event string, payload []byte) ([]queue.Route, error) {
		var ev struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			if se, ok := err.(*json.SyntaxError); ok {
				return nil, fmt.Errorf("malformed JSON payload: %v at byte %d", se, se.Offset)
			}
			return nil, err
		}
		if event == "pull_request" && ev.Action == "opened" {
			return []queue.Route{{Feature: "dco", Queue: queue.QueuePriority}}, nil
		}
		return nil, nil
	}
	cfg := server.Config{
		Secrets:  [][]byte{[]byte(secret), []byte(previous)},
		Queue:    cq,
		Route:    route,
		Registry: prometheus.NewRegistry(),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv := httptest.NewServer(server.New(cfg))
	t.Cleanup(srv.Close)
	return srv, cq, cfg.Registry
}

type delivery struct {
	event, id, sig, contentType string
	body                        []byte
}

func post(t *testing.T, url string, d delivery) (int, map[string]any) {
	t.Helper()
	status, _, body := postH(t, url, d)
	return status, body
}

// postH is post that also returns the answer's headers.
func postH(t *testing.T, url string, d delivery) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(d.body))
	if d.event != "" {
		req.Header.Set("X-GitHub-Event", d.event)
	}
	if d.id != "" {
		req.Header.Set("X-GitHub-Delivery", d.id)
	}
	if d.sig != "" {
		req.Header.Set("X-Hub-Signature-256", d.sig)
	}
	ct := d.contentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func TestWebhookIntake(t *testing.T) {
	opened := fixture(t, "pull_request/opened.json")
	labeled := fixture(t, "pull_request/labeled.json")
	ping := fixture(t, "ping/payload.json")
	malformed := []byte(`{"action": "opened", "number": 2,,}`)
	tests := []struct {
		name       string
		d          delivery
		wantStatus int
		wantQueued int
		wantInBody string
	}{
		{"valid signature is queued", delivery{event: "pull_request", id: "d-1", sig: sign(secret, opened), body: opened}, 202, 1, ""},
		{"previous secret during rotation is accepted", delivery{event: "pull_request", id: "d-2", sig: sign(previous, opened), body: opened}, 202, 1, ""},
		{"missing signature is 401", delivery{event: "pull_request", id: "d-3", body: opened}, 401, 0, "X-Hub-Signature-256"},
		{"wrong secret is 401", delivery{event: "pull_request", id: "d-4", sig: sign("guess", opened), body: opened}, 401, 0, "invalid"},
		{"sha1-style signature is 401", delivery{event: "pull_request", id: "d-5", sig: "sha1=" + strings.Repeat("0", 40), body: opened}, 401, 0, ""},
		{"tampered body is 401", delivery{event: "pull_request", id: "d-6", sig: sign(secret, opened), body: append([]byte(" "), opened...)}, 401, 0, ""},
		{"charset parameter does not break the signature", delivery{event: "pull_request", id: "d-12", sig: sign(secret, opened), body: opened, contentType: "application/json; charset=utf-8"}, 202, 1, ""},
		{"unsupported content type is 415 and says which", delivery{event: "pull_request", id: "d-13", sig: sign(secret, opened), body: opened, contentType: "text/plain"}, 415, 0, "text/plain"},
		{"anyone with the secret: a form that does not parse is 400, not 401", delivery{event: "pull_request", id: "d-14", sig: sign(secret, []byte("payload=%zz")), body: []byte("payload=%zz"), contentType: "application/x-www-form-urlencoded"}, 400, 0, "form-encoded body does not parse"},
		{"anyone with the secret: a form without payload is 400", delivery{event: "pull_request", id: "d-15", sig: sign(secret, []byte("a=1")), body: []byte("a=1"), contentType: "application/x-www-form-urlencoded"}, 400, 0, "no payload field"},
		{"missing event header is 400", delivery{id: "d-7", sig: sign(secret, opened), body: opened}, 400, 0, "X-GitHub-Event"},
		{"malformed JSON is 400 with the reason", delivery{event: "pull_request", id: "d-8", sig: sign(secret, malformed), body: malformed}, 400, 0, "at byte"},
		{"ping is answered", delivery{event: "ping", id: "d-9", sig: sign(secret, ping), body: ping}, 200, 0, "pong"},
		{"unused action is acknowledged and dropped", delivery{event: "pull_request", id: "d-10", sig: sign(secret, labeled), body: labeled}, 200, 0, "no feature"},
		{"unknown event type is acknowledged and dropped", delivery{event: "sponsorship", id: "d-11", sig: sign(secret, opened), body: opened}, 200, 0, "no feature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, q := newServer(t)
			status, body := post(t, srv.URL, tt.d)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %v)", status, tt.wantStatus, body)
			}
			if q.inserted != tt.wantQueued {
				t.Errorf("queued %d jobs, want %d", q.inserted, tt.wantQueued)
			}
			if tt.wantInBody != "" {
				b, _ := json.Marshal(body)
				if !strings.Contains(string(b), tt.wantInBody) {
					t.Errorf("body %s does not mention %q", b, tt.wantInBody)
				}
			}
		})
	}
}

func TestWebhookFormEncoded(t *testing.T) {
	srv, q := newServer(t)
	opened := fixture(t, "pull_request/opened.json")
	form := []byte("payload=" + urlEncode(opened))
	status, body := post(t, srv.URL, delivery{event: "pull_request", id: "f-1", sig: sign(secret, form), body: form, contentType: "application/x-www-form-urlencoded"})
	if status != 202 || q.inserted != 1 {
		t.Fatalf("form-encoded delivery: status %d, queued %d, body %v", status, q.inserted, body)
	}
}

func TestWebhookDuplicateDeliveryQueuedOnce(t *testing.T) {
	srv, q := newServer(t)
	opened := fixture(t, "pull_request/opened.json")
	d := delivery{event: "pull_request", id: "72d3162e-cc78-11e3-81ab-4c9367dc0958", sig: sign(secret, opened), body: opened}
	for i := 0; i < 3; i++ {
		status, body := post(t, srv.URL, d)
		if status != 202 {
			t.Fatalf("delivery %d: status %d, body %v", i, status, body)
		}
		if dup, _ := body["duplicate"].(bool); dup != (i > 0) {
			t.Errorf("delivery %d: duplicate = %v, want %v", i, dup, i > 0)
		}
	}
	if q.inserted != 1 {
		t.Fatalf("queued %d jobs for one delivery sent 3 times, want 1", q.inserted)
	}
}

func TestWebhookOversizeIs413(t *testing.T) {
	srv, q := newServer(t)
	big := bytes.Repeat([]byte("a"), server.MaxBody+1)
	status, body := post(t, srv.URL, delivery{event: "pull_request", id: "big", sig: sign(secret, big), body: big})
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413 (body %v)", status, body)
	}
	if q.inserted != 0 {
		t.Fatalf("oversize body queued %d jobs", q.inserted)
	}
}

func TestHealthAndReady(t *testing.T) {
	srv, _ := newServer(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestMetricsToken(t *testing.T) {
	q, err := queue.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), queue.Options{NoWork: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	h := server.New(server.Config{Secrets: [][]byte{[]byte(secret)}, Queue: q, Route: func(string, []byte) ([]queue.Route, error) { return nil, nil }, MetricsToken: "tok"})
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer nope", 401}, {"Bearer tok", 200}} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, rec.Code, tt.want)
		}
	}
}

func urlEncode(b []byte) string { return url.QueryEscape(string(b)) }

func TestReadyzChecksTheDatabase(t *testing.T) {
	q, err := queue.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), queue.Options{NoWork: true})
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Config{Secrets: [][]byte{[]byte(secret)}, Queue: q, Route: func(string, []byte) ([]queue.Route, error) { return nil, nil }})
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("/readyz with the database up = %d, want 200", code)
	}
	if err := q.Stop(context.Background()); err != nil { // closes the database
		t.Fatal(err)
	}
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed = %d, want 503", code)
	}
}
