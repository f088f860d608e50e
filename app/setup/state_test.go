package setup

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// finish runs the admin's callback and checks that the registration
// completed: GitHub converted the code once and the page shows the key.
func (e *env) finish(t *testing.T, state string) {
	t.Helper()
	resp, body := e.get(t, "/setup/callback?code=good&state="+url.QueryEscape(state))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback = %d, want 200 with the new App\n%s", resp.StatusCode, body)
	}
	if n := e.gh.calls.Load(); n != 1 {
		t.Errorf("GitHub was called %d times, want once", n)
	}
	if !strings.Contains(html.UnescapeString(body), e.gh.pem) {
		t.Errorf("the page lacks the new App's key:\n%s", body)
	}
}

// The state keeps nothing on the server: no number of other visitors can
// push the admin's registration out, and any replica sharing the webhook
// secret completes a flow another replica started.
func TestCallback_StateSurvivesFloodsAndReplicas(t *testing.T) {
	tests := []struct {
		name string
		// run starts the admin's flow and returns its state, leaving
		// e.next at the replica the callback lands on.
		run func(t *testing.T, e *env) string
	}{
		{"anyone on the internet sends 1,000 GET /setup while the admin is on GitHub", func(t *testing.T, e *env) string {
			st := e.startFlow(t, "?org=SovereignCloudStack")
			anyone := &http.Client{}
			for i := range 1000 {
				resp, err := anyone.Get(e.srv.URL + "/setup")
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /setup #%d = %d", i, resp.StatusCode)
				}
			}
			return st
		}},
		{"the form came from replica A, GitHub sends the admin back to replica B", func(t *testing.T, e *env) string {
			st := e.startFlow(t, "")
			e.next.Store(e.b)
			return st
		}},
		{"the form came from replica B, GitHub sends the admin back to replica A", func(t *testing.T, e *env) string {
			e.next.Store(e.b)
			st := e.startFlow(t, "")
			e.next.Store(e.h)
			return st
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.finish(t, tt.run(t, e))
		})
	}
}

// GitHub's code works once; a copy of the admin's finished callback (its
// URL from the history, the cookie copied before it was deleted) must not
// show the credentials a second time.
func TestCallback_CopiedFinishedCallbackReplayed(t *testing.T) {
	e := newEnv(t)
	st := e.startFlow(t, "")
	u, _ := url.Parse(e.srv.URL + "/setup")
	copied := e.browser.Jar.Cookies(u)
	e.finish(t, st)
	e.browser.Jar.SetCookies(u, copied)
	resp, raw := e.get(t, "/setup/callback?code=good&state="+url.QueryEscape(st))
	body := html.UnescapeString(raw)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "works once") {
		t.Errorf("replayed callback = %d, want 502 saying the code works once:\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, e.gh.pem[40:80]) || strings.Contains(body, "e340154128314309424b7c8e90325147d99fdafa") {
		t.Errorf("the replay shows the credentials again:\n%s", body)
	}
}

// Anyone can collect states from /setup. Were they signed with the webhook
// secret itself, each would be a valid webhook signature of its own bytes
// as a delivery body; the state key is derived from the secret instead.
func TestState_AnyoneCollectingStatesGetsNoWebhookSignature(t *testing.T) {
	e := newEnv(t)
	b, err := base64.RawURLEncoding.DecodeString(e.startFlow(t, ""))
	if err != nil || len(b) != stateLen {
		t.Fatalf("state is not %d bytes of base64url: %v", stateLen, err)
	}
	webhook := hmac.New(sha256.New, []byte(testSecret))
	webhook.Write(b[:statePayload])
	if hmac.Equal(webhook.Sum(nil), b[statePayload:]) {
		t.Error("the state is signed with the webhook secret itself")
	}
}
