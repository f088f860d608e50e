package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/tidwall/sjson"

	"github.com/SovereignCloudStack/contribot/app/queue"
	"github.com/SovereignCloudStack/contribot/app/server"
)

// Issue 11, class 3: what an unauthenticated caller (or one holding the
// secret) can make the intake spend, and that no payload leaves a request
// without an answer.

// series returns the values of one metric family by label set, e.g.
// "event=other,result=unauthorized" → 3.
func series(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(labels, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// heldBytes is contribot_webhook_body_bytes.
func heldBytes(t *testing.T, reg *prometheus.Registry) int64 {
	t.Helper()
	return int64(series(t, reg, "contribot_webhook_body_bytes")[""])
}

// waitHeld waits until the intake holds want bytes of the budget. The
// deadline only keeps a broken build from hanging; it decides nothing.
func waitHeld(t *testing.T, reg *prometheus.Registry, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for heldBytes(t, reg) != want {
		if time.Now().After(deadline) {
			t.Fatalf("intake holds %d body bytes, want %d", heldBytes(t, reg), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stall opens a connection that announces a body of contentLength bytes,
// sends the first send bytes of it and then nothing: the slow or hostile
// sender. The test's end closes it.
func stall(t *testing.T, srvURL string, contentLength, send int) net.Conn {
	t.Helper()
	u, _ := url.Parse(srvURL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n"+
		"X-GitHub-Delivery: stalled\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n",
		u.Host, strings.Repeat("0", 64), contentLength)
	if _, err := c.Write(bytes.Repeat([]byte(" "), send)); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads the response on a raw connection.
func answer(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer on the connection: %v", err)
	}
	return resp
}

func wantOverloaded(t *testing.T, status int, header http.Header, body map[string]any) {
	t.Helper()
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 (body %v)", status, body)
	}
	if header.Get("Retry-After") != "15" {
		t.Errorf("Retry-After = %q, want 15 (the body read timeout)", header.Get("Retry-After"))
	}
	if msg, _ := body["error"].(string); !strings.Contains(msg, "too many webhook bodies in flight") {
		t.Errorf("error %q does not say why", msg)
	}
}

// firstRead is server.firstRead: what a body is read into before it has
// arrived, charged once full.
const firstRead = 16 << 10

// TestWebhook_InternetCaller_EmptyBodiesHoldNoBudget: a connection that
// announces GitHub's largest body and sends none of it costs the budget
// nothing. Before, each was granted 64 KiB up front: 768 of them refused
// every delivery.
func TestWebhook_InternetCaller_EmptyBodiesHoldNoBudget(t *testing.T) {
	// Room for two genuine deliveries, and for no up-front grants at all.
	srv, q, reg := newServerWith(t, func(c *server.Config) { c.BodyBudget = 128 << 10 })
	for i := range 100 {
		stall(t, srv.URL, server.MaxBody, i%2*(firstRead-1)) // nothing, or just short of filling the first buffer
	}
	opened := fixture(t, "pull_request/opened.json")
	if status, body := post(t, srv.URL, delivery{event: "pull_request", id: "genuine", sig: sign(secret, opened), body: opened}); status != http.StatusAccepted {
		t.Fatalf("genuine delivery beside 100 stalled empty bodies: %d %v", status, body)
	}
	if q.inserted != 1 {
		t.Errorf("queued %d jobs, want 1", q.inserted)
	}
	waitHeld(t, reg, 0)
}

// TestWebhook_InternetCaller_StalledBodiesShareOneBudget: bodies that did
// arrive share one budget; past it, senders and deliveries alike are told
// to come back, with an answer, and a sender that leaves frees its share.
func TestWebhook_InternetCaller_StalledBodiesShareOneBudget(t *testing.T) {
	// A sender that filled its first buffer holds the next, twice as
	// large (and both while it copies); the budget has room for four of
	// them.
	const each = 2 * firstRead
	srv, q, reg := newServerWith(t, func(c *server.Config) { c.BodyBudget = 4*each + firstRead })
	opened := fixture(t, "pull_request/opened.json")
	genuine := delivery{event: "pull_request", id: "genuine", sig: sign(secret, opened), body: opened}

	var stalled []net.Conn
	for i := range 4 {
		stalled = append(stalled, stall(t, srv.URL, server.MaxBody, firstRead+1))
		waitHeld(t, reg, int64(i+1)*each)
	}

	late := stall(t, srv.URL, server.MaxBody, firstRead+1)
	resp := answer(t, late)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("sender past the budget: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	status, header, body := postH(t, srv.URL, genuine)
	wantOverloaded(t, status, header, body)
	if got := series(t, reg, "contribot_deliveries_total")["event=other,result=overloaded"]; got != 0 {
		t.Errorf("overloaded pull_request counted under \"other\"")
	}
	if got := series(t, reg, "contribot_deliveries_total")["event=push,result=overloaded"]; got != 1 {
		t.Errorf("overloaded push deliveries = %v, want 1", got)
	}

	// One sender leaves: its share returns, and GitHub's delivery fits.
	stalled[0].Close()
	waitHeld(t, reg, 3*each)
	if status, body := post(t, srv.URL, genuine); status != http.StatusAccepted {
		t.Fatalf("genuine delivery after a stalled sender left: %d %v", status, body)
	}
	if q.inserted != 1 {
		t.Errorf("queued %d jobs, want 1", q.inserted)
	}
	for _, c := range stalled[1:] {
		c.Close()
	}
	waitHeld(t, reg, 0)
}

func TestWebhook_InternetCaller_BodyHoldsAtMostTwiceWhatArrived(t *testing.T) {
	srv, _, reg := newServerWith(t, func(c *server.Config) { c.BodyBudget = 1 << 20 })
	tests := []struct {
		name      string
		sent      int
		wantHeld  int64
		announced int
	}{
		{"nothing sent yet", 0, 0, server.MaxBody},
		{"a little sent", 1000, 0, server.MaxBody},
		{"first buffer not yet full", firstRead - 1, 0, server.MaxBody},
		{"first buffer full: it and the next", firstRead + 1, 2 * firstRead, server.MaxBody},
		{"three buffers' worth", 3*firstRead + 1, 4 * firstRead, server.MaxBody},
		{"small announced body is held at its size once it arrived", 1000, 1000, 1000},
		{"small announced body is not held before", 999, 0, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := stall(t, srv.URL, tt.announced, tt.sent)
			if tt.sent == tt.announced {
				// A whole body is answered (401: unsigned), and its share
				// returned; what it held is seen in the metric only while
				// the handler runs, so the answer is what is checked.
				resp := answer(t, c)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("whole unsigned body: %d, want 401", resp.StatusCode)
				}
				waitHeld(t, reg, 0)
				return
			}
			waitHeld(t, reg, tt.wantHeld)
			c.Close()
			waitHeld(t, reg, 0)
		})
	}
}

// TestWebhook_InternetCaller_StalledBodyIsCutOff: a body that does not
// arrive within the body read timeout is answered 408 and its share of
// the budget returned, long before the server's 60 s ReadTimeout.
func TestWebhook_InternetCaller_StalledBodyIsCutOff(t *testing.T) {
	srv, _, reg := newServerWith(t, func(c *server.Config) { c.BodyReadTimeout = 200 * time.Millisecond })
	for _, sent := range []int{0, firstRead + 1} {
		c := stall(t, srv.URL, server.MaxBody, sent)
		resp := answer(t, c)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "not received within 200ms") {
			t.Errorf("body stalled after %d bytes: %d %s, want 408 saying so", sent, resp.StatusCode, b)
		}
		waitHeld(t, reg, 0)
	}
	if got := series(t, reg, "contribot_deliveries_total")["event=push,result=timeout"]; got != 2 {
		t.Errorf("timed-out deliveries = %v, want 2", got)
	}
}

// TestWebhook_InternetCaller_BodyPastBudgetMidway: a sender whose body
// outgrows what is left is refused while it sends, not after.
func TestWebhook_InternetCaller_BodyPastBudgetMidway(t *testing.T) {
	srv, _, reg := newServerWith(t, func(c *server.Config) { c.BodyBudget = 1 << 20 })
	u, _ := url.Parse(srv.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: %d\r\n\r\n", server.MaxBody)
	go func() {
		// Write until the server closes; the error is the expected end.
		buf := bytes.Repeat([]byte(" "), 32<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	resp := answer(t, c)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("25 MiB body against a 1 MiB budget: %d %s", resp.StatusCode, b)
	}
	waitHeld(t, reg, 0)
}

func TestWebhook_GitHub_ChunkedBodyIsRead(t *testing.T) {
	srv, q, _ := newServerWith(t, func(c *server.Config) { c.BodyBudget = 1 << 20 })
	opened := fixture(t, "pull_request/opened.json")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", io.MultiReader(bytes.NewReader(opened))) // no length: chunked
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", "chunked")
	req.Header.Set("X-Hub-Signature-256", sign(secret, opened))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || q.inserted != 1 {
		t.Fatalf("chunked delivery: %d, queued %d", resp.StatusCode, q.inserted)
	}
}

func TestWebhook_InternetCaller_ChunkedBodyOverCapIs413(t *testing.T) {
	srv, _, reg := newServerWith(t, nil)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", io.LimitReader(zeros{}, server.MaxBody+1))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked body past 25 MiB: %d, want 413", resp.StatusCode)
	}
	waitHeld(t, reg, 0)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestWebhook_InternetCaller_EventLabelsAreGitHubsNames(t *testing.T) {
	srv, _, reg := newServerWith(t, nil)
	opened := fixture(t, "pull_request/opened.json")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 150 {
		name := make([]byte, 8+rng.IntN(20))
		for j := range name {
			name[j] = "abcdefghijklmnopqrstuvwxyz_"[rng.IntN(27)]
		}
		// Unsigned: anyone on the internet can send these.
		if status, _ := post(t, srv.URL, delivery{event: string(name), id: fmt.Sprint(i), body: opened}); status != http.StatusUnauthorized {
			t.Fatalf("unsigned delivery: %d", status)
		}
	}
	// Signed deliveries of an event GitHub has, and of one it has not.
	post(t, srv.URL, delivery{event: "pull_request", id: "pr", sig: sign(secret, opened), body: opened})
	post(t, srv.URL, delivery{event: "made_up_event", id: "x", sig: sign(secret, opened), body: opened})
	got := series(t, reg, "contribot_deliveries_total")
	want := map[string]float64{
		"event=other,result=unauthorized":  150,
		"event=pull_request,result=queued": 1,
		"event=other,result=ignored":       1,
	}
	if len(got) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestWebhook_AnyoneWithTheSecret_DeepJSON(t *testing.T) {
	deep := []byte(strings.Repeat("[", 8_000_000) + strings.Repeat("]", 8_000_000))
	deepObject := []byte(`{"action":"opened","x":` + strings.Repeat(`{"a":`, server.MaxDepth) + "1" + strings.Repeat("}", server.MaxDepth) + "}")
	var routed []string
	var mu sync.Mutex
	srv, q, reg := newServerWith(t, func(c *server.Config) {
		route := c.Route
		c.Route = func(event string, payload []byte) ([]queue.Route, error) {
			mu.Lock()
			routed = append(routed, event)
			mu.Unlock()
			return route(event, payload)
		}
	})
	form := []byte("payload=" + urlEncode(deepObject))
	tests := []struct {
		name string
		d    delivery
	}{
		{"an array 8 million levels deep", delivery{event: "push", id: "deep", sig: sign(secret, deep), body: deep}},
		{"an object one level past the limit", delivery{event: "pull_request", id: "deep-object", sig: sign(secret, deepObject), body: deepObject}},
		{"the same, form-encoded", delivery{event: "pull_request", id: "deep-form", sig: sign(secret, form), body: form, contentType: "application/x-www-form-urlencoded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL, tt.d)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (%v)", status, body)
			}
			if msg, _ := body["error"].(string); !strings.Contains(msg, fmt.Sprintf("nesting deeper than %d levels", server.MaxDepth)) {
				t.Errorf("error %q does not say the payload nests too deeply", msg)
			}
		})
	}
	if len(routed) != 0 || q.inserted != 0 {
		t.Errorf("deep payloads reached the router %d times and the queue %d times", len(routed), q.inserted)
	}
	if got := series(t, reg, "contribot_deliveries_total")["event=pull_request,result=too_deep"]; got != 2 {
		t.Errorf("too_deep pull_request deliveries = %v, want 2", got)
	}
	waitHeld(t, reg, 0)
}

// TestWebhook_AnyoneWithTheSecret_WideJSON: arrays and objects that no
// GitHub payload comes near are refused before any parser, like deep ones:
// 8 million empty objects in a pull request's labels became 8 million
// go-github structs in each job that decoded them (861 MiB).
func TestWebhook_AnyoneWithTheSecret_WideJSON(t *testing.T) {
	opened := fixture(t, "pull_request/opened.json")
	set := func(path, raw string) []byte {
		b, err := sjson.SetRawBytes(opened, path, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := func(elem string, n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	var routed []string
	var mu sync.Mutex
	srv, q, reg := newServerWith(t, func(c *server.Config) {
		route := c.Route
		c.Route = func(event string, payload []byte) ([]queue.Route, error) {
			mu.Lock()
			routed = append(routed, event)
			mu.Unlock()
			return route(event, payload)
		}
	})
	tests := []struct {
		name, want string
		body       []byte
	}{
		{"8 million empty objects as labels", fmt.Sprintf("more than %d elements", server.MaxElements), set("pull_request.labels", many("{}", 8_000_000))},
		{"a million keys in one object", fmt.Sprintf("more than %d elements", server.MaxElements),
			set("repository.permissions", "{"+strings.TrimSuffix(strings.Repeat(`"a":true,`, 1_000_000), ",")+"}")},
		{"arrays each within the element bound, past the value bound", fmt.Sprintf("more than %d JSON values", server.MaxValues),
			set("pull_request.requested_reviewers", many(many("{}", server.MaxElements), server.MaxValues/server.MaxElements+1))},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL, delivery{event: "pull_request", id: fmt.Sprint("wide-", i), sig: sign(secret, tt.body), body: tt.body})
			if msg, _ := body["error"].(string); status != http.StatusBadRequest || !strings.Contains(msg, tt.want) {
				t.Errorf("%d %q, want 400 saying %q", status, msg, tt.want)
			}
		})
	}
	// GitHub's own largest arrays pass: 2048 commits of 3000 files would
	// pass the element bound; a pull request with 100 labels does.
	labels := set("pull_request.labels", many(`{"id":1,"name":"x","color":"fff"}`, 100))
	if status, body := post(t, srv.URL, delivery{event: "pull_request", id: "labels-100", sig: sign(secret, labels), body: labels}); status != http.StatusAccepted {
		t.Errorf("pull request with 100 labels: %d %v", status, body)
	}
	if len(routed) != 1 || q.inserted != 1 {
		t.Errorf("wide payloads reached the router (%d calls for 1 delivery) or the queue (%d jobs for 1)", len(routed), q.inserted)
	}
	if got := series(t, reg, "contribot_deliveries_total")["event=pull_request,result=too_many_values"]; got != 3 {
		t.Errorf("too_many_values pull_request deliveries = %v, want 3", got)
	}
	waitHeld(t, reg, 0)
}

// TestWebhook_InternetCaller_HeaderValuesAreClipped: what anyone sends in
// the delivery, event and content-type headers is repeated in logs and
// answers only in part; an unsigned request is logged at Debug alone (the
// metric counts it).
func TestWebhook_InternetCaller_HeaderValuesAreClipped(t *testing.T) {
	var logs lockedBuffer
	level := new(slog.LevelVar)
	srv, _, reg := newServerWith(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level}))
	})
	opened := fixture(t, "pull_request/opened.json")
	long := strings.Repeat("é", 30_000) // 60 KB
	tests := []struct {
		name   string
		d      delivery
		level  slog.Level
		status int
		logged bool
		inLine string
	}{
		{"unsigned, at Info: counted, not logged", delivery{event: long, id: long, body: opened}, slog.LevelInfo, http.StatusUnauthorized, false, ""},
		{"unsigned, at Debug: logged in short", delivery{event: long, id: long, body: opened}, slog.LevelDebug, http.StatusUnauthorized, true, "(60000 bytes)"},
		{"signed with an odd content type: logged in short", delivery{event: "pull_request", id: long, sig: sign(secret, opened), body: opened, contentType: "text/" + long},
			slog.LevelInfo, http.StatusUnsupportedMediaType, true, "(60005 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level.Set(tt.level)
			before := len(logs.String())
			status, body := post(t, srv.URL, tt.d)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if b, _ := json.Marshal(body); len(b) > 1000 {
				t.Errorf("answer of %d bytes repeats the headers", len(b))
			}
			line := logs.String()[before:]
			if tt.logged != (line != "") {
				t.Fatalf("logged %q, want a line: %v", line, tt.logged)
			}
			if len(line) > 1000 || !strings.Contains(line, tt.inLine) {
				t.Errorf("log line of %d bytes, want under 1000 naming the length %q: %.300s", len(line), tt.inLine, line)
			}
		})
	}
	if got := series(t, reg, "contribot_deliveries_total")["event=other,result=unauthorized"]; got != 2 {
		t.Errorf("unauthorized deliveries = %v, want 2", got)
	}
}

func TestWebhook_AnyoneWithTheSecret_PanicIsAnswered(t *testing.T) {
	opened := fixture(t, "pull_request/opened.json")
	labeled := fixture(t, "pull_request/labeled.json")
	var logs lockedBuffer
	srv, q, reg := newServerWith(t, func(c *server.Config) {
		route := c.Route
		c.Route = func(event string, payload []byte) ([]queue.Route, error) {
			if event == "issues" {
				var m map[string]any
				_ = m["issue"].(map[string]any) // a nil map where a shape was assumed
			}
			return route(event, payload)
		}
		c.Accepted = func(event string, _ []byte) {
			if event == "pull_request" {
				panic("accepted: unexpected shape")
			}
		}
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	// A panic in routing: nothing was queued, so GitHub must see a failure.
	status, body := post(t, srv.URL, delivery{event: "issues", id: "route-panic", sig: sign(secret, opened), body: opened})
	if status != http.StatusInternalServerError {
		t.Fatalf("panic in Route: %d %v, want 500", status, body)
	}
	if msg, _ := body["error"].(string); !strings.Contains(msg, "internal error") || !strings.Contains(msg, "not queued") {
		t.Errorf("error %q does not say what happened", msg)
	}
	// A panic after queueing: the delivery is queued and answered so; the
	// panic is still logged and counted.
	for _, b := range [][]byte{opened, labeled} { // queued, then ignored
		status, body = post(t, srv.URL, delivery{event: "pull_request", id: "accepted-panic-" + fmt.Sprint(len(b)), sig: sign(secret, b), body: b})
		if status != http.StatusAccepted && status != http.StatusOK {
			t.Fatalf("panic in Accepted: %d %v, want the delivery's own answer", status, body)
		}
	}
	if q.inserted != 1 {
		t.Errorf("queued %d, want 1", q.inserted)
	}
	got := series(t, reg, "contribot_webhook_panics_total")
	if got["stage=intake"] != 1 || got["stage=accepted"] != 2 {
		t.Errorf("panics = %v, want intake 1, accepted 2", got)
	}
	for _, want := range []string{`"delivery":"route-panic"`, `"stack":"goroutine`, "webhook handler panicked", `"delivery":"accepted-panic-`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
	// The handler still works.
	if status, _ := post(t, srv.URL, delivery{event: "pull_request", id: "after", sig: sign(secret, opened), body: opened}); status != http.StatusAccepted {
		t.Errorf("delivery after the panics: %d", status)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
