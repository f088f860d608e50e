package setup

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGitHub serves POST /app-manifests/{code}/conversions with GitHub's
// documented bodies: the code "good" converts, once, as GitHub's codes do
// (then it is unknown); "gone" is unknown (404), "refused" fails
// validation (422).
type fakeGitHub struct {
	*httptest.Server
	calls   atomic.Int32
	authHdr atomic.Value // Authorization of the last call
	spent   atomic.Bool  // "good" was converted
	pem     string
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeGitHub{pem: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))}
	created := readFixture(t, "testdata/apps-create-from-manifest.json")
	var app map[string]any
	if err := json.Unmarshal(created, &app); err != nil {
		t.Fatal(err)
	}
	app["pem"] = f.pem
	created, _ = json.Marshal(app)
	invalid := readFixture(t, "testdata/recorded.error-422-validation-failed.json")

	mux := http.NewServeMux()
	mux.HandleFunc("POST /app-manifests/{code}/conversions", func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.authHdr.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch code := r.PathValue("code"); {
		case code == "good" && !f.spent.Swap(true):
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(created)
		case code == "refused":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write(invalid)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest","status":"404"}`)
		}
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testSecret is the deployment's GITHUB_WEBHOOK_SECRET, which every
// replica shares.
const testSecret = "e2e-webhook-secret-of-this-deployment"

// env is the service under test as a browser reaches it: one public
// address in front of two replicas, like a load balancer.
type env struct {
	gh   *fakeGitHub
	srv  *httptest.Server
	h, b *handler // replicas A and B, with the same options
	// next is the replica the load balancer sends the next request to; A
	// unless a test says otherwise.
	next    atomic.Pointer[handler]
	logs    *bytes.Buffer
	browser *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{gh: newFakeGitHub(t), logs: &bytes.Buffer{}}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.next.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.h, e.b = e.replica(t, testSecret), e.replica(t, testSecret)
	e.next.Store(e.h)
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// replica is one contribot process serving the flow at e's address.
func (e *env) replica(t *testing.T, secret string) *handler {
	t.Helper()
	hh := Handler(HandlerOptions{
		Manifest: Options{Name: "contribot", URL: e.srv.URL},
		APIURL:   e.gh.URL + "/", WebURL: "https://ghes.example.org/",
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Secret: []byte(secret),
	})
	h, ok := hh.(*handler)
	if !ok {
		t.Fatalf("the handler is misconfigured: %T", hh)
	}
	return h
}

func (e *env) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := e.browser.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var (
	actionRE   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	manifestRE = regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]*)">`)
)

// startFlow opens the form and returns the state GitHub would send back.
func (e *env) startFlow(t *testing.T, query string) string {
	t.Helper()
	resp, body := e.get(t, "/setup"+query)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /setup%s: %d\n%s", query, resp.StatusCode, body)
	}
	m := actionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no POST form in:\n%s", body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

func TestSetupForm(t *testing.T) {
	tests := []struct {
		name, query, wantAction string
	}{
		{"personal account", "", "https://ghes.example.org/settings/apps/new"},
		{"organization", "?org=SovereignCloudStack", "https://ghes.example.org/organizations/SovereignCloudStack/settings/apps/new"},
		{"organization with hyphen, spaces trimmed", "?org=+scs-test+", "https://ghes.example.org/organizations/scs-test/settings/apps/new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			resp, body := e.get(t, "/setup"+tt.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d\n%s", resp.StatusCode, body)
			}
			for k, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://ghes.example.org") {
				t.Errorf("CSP %q does not let the form go to GitHub", csp)
			}
			if !strings.Contains(body, "Register contribot on GitHub") {
				t.Errorf("no title in:\n%s", body)
			}
			if strings.Contains(body, "<script") {
				t.Error("the page has a script")
			}
			m := actionRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no POST form in:\n%s", body)
			}
			action, err := url.Parse(html.UnescapeString(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			state := action.Query().Get("state")
			if action.Scheme+"://"+action.Host+action.Path != tt.wantAction || len(state) < 40 {
				t.Errorf("form action = %s, want %s?state=<random>", action, tt.wantAction)
			}
			var cookie *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == stateCookie {
					cookie = c
				}
			}
			// The state travels through GitHub's URL; the cookie must not be
			// readable from it.
			if cookie == nil || len(cookie.Value) < 40 || strings.Contains(state, cookie.Value) || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge != 3600 {
				t.Errorf("state cookie = %+v, want a random nonce apart from the state, HttpOnly, SameSite=Lax, for an hour", cookie)
			}
			mm := manifestRE.FindStringSubmatch(body)
			if mm == nil {
				t.Fatalf("no manifest input in:\n%s", body)
			}
			var got struct {
				HookAttributes struct{ URL string } `json:"hook_attributes"`
				RedirectURL    string               `json:"redirect_url"`
				Permissions    map[string]string    `json:"default_permissions"`
				Events         []string             `json:"default_events"`
			}
			if err := json.Unmarshal([]byte(html.UnescapeString(mm[1])), &got); err != nil {
				t.Fatalf("manifest input: %v", err)
			}
			if got.HookAttributes.URL != e.srv.URL+"/webhook" || got.RedirectURL != e.srv.URL+"/setup/callback" {
				t.Errorf("manifest hook %q, redirect %q", got.HookAttributes.URL, got.RedirectURL)
			}
			checkGrants(t, got.Permissions, got.Events)
		})
	}
}

func TestSetupFormRejectsBadOrg(t *testing.T) {
	for _, org := range []string{"scs/../evil", "-scs", "scs-", "a--b", "sc s", "<b>x</b>", "s%3Fstate%3Dx", strings.Repeat("a", 40)} {
		t.Run(org, func(t *testing.T) {
			e := newEnv(t)
			resp, body := e.get(t, "/setup?org="+url.QueryEscape(org))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if !strings.Contains(body, "not a GitHub organization name") || actionRE.MatchString(body) {
				t.Errorf("want an explanation and no form:\n%s", body)
			}
			if len(resp.Cookies()) != 0 {
				t.Error("a refused request minted a state")
			}
		})
	}
}

// tamper rewrites the signed part of a state without re-signing it.
func tamper(t *testing.T, state string, edit func(payload []byte)) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || len(b) != stateLen {
		t.Fatalf("state %q is not %d bytes of base64url", state, stateLen)
	}
	edit(b[:statePayload])
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestCallbackRefusesBadState(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the callback query after preparing the browser.
		setup func(t *testing.T, e *env) string
		// reason is what the log says, for the operator.
		reason error
	}{
		{"no state", func(t *testing.T, e *env) string { e.startFlow(t, ""); return "?code=good" }, errStateForged},
		{"anyone: an unknown state", func(t *testing.T, e *env) string { e.startFlow(t, ""); return "?code=good&state=forged" }, errStateForged},
		{"anyone: a garbled state of the right length", func(t *testing.T, e *env) string {
			e.startFlow(t, "")
			return "?code=good&state=" + strings.Repeat("A", base64.RawURLEncoding.EncodedLen(stateLen))
		}, errStateForged},
		{"anyone: a state signed with another secret (their own contribot)", func(t *testing.T, e *env) string {
			e.next.Store(e.replica(t, "another deployment's webhook secret"))
			st := e.startFlow(t, "")
			e.next.Store(e.h)
			return "?code=good&state=" + st
		}, errStateForged},
		{"someone who got the admin's state extends its expiry", func(t *testing.T, e *env) string {
			st := tamper(t, e.startFlow(t, ""), func(p []byte) { p[1]++ })
			e.h.states.now = func() time.Time { return time.Now().Add(DefaultStateTTL + time.Second) }
			return "?code=good&state=" + st
		}, errStateForged},
		{"someone who got the admin's state binds it to their own cookie", func(t *testing.T, e *env) string {
			st := e.startFlow(t, "")
			jar, _ := cookiejar.New(nil)
			e.browser.Jar = jar
			e.startFlow(t, "") // the attacker's browser, with a cookie of its own
			u, _ := url.Parse(e.srv.URL + "/setup")
			own := nonceHash(jar.Cookies(u)[0].Value)
			return "?code=good&state=" + tamper(t, st, func(p []byte) { copy(p[9:], own[:]) })
		}, errStateForged},
		{"expired state", func(t *testing.T, e *env) string {
			st := e.startFlow(t, "")
			e.h.states.now = func() time.Time { return time.Now().Add(DefaultStateTTL + time.Second) }
			return "?code=good&state=" + st
		}, errStateExpired},
		{"someone who got the admin's state replays it from another browser", func(t *testing.T, e *env) string {
			st := e.startFlow(t, "")
			jar, _ := cookiejar.New(nil)
			e.browser.Jar = jar // this browser never saw the form
			return "?code=good&state=" + st
		}, errStateNoCookie},
		{"someone who got the admin's state replays it from a browser with a form of its own", func(t *testing.T, e *env) string {
			st := e.startFlow(t, "")
			jar, _ := cookiejar.New(nil)
			e.browser.Jar = jar
			e.startFlow(t, "")
			return "?code=good&state=" + st
		}, errStateCookie},
		{"cookie of an older form", func(t *testing.T, e *env) string {
			old := e.startFlow(t, "")
			e.startFlow(t, "?org=scs") // a second form replaces the cookie
			return "?code=good&state=" + old
		}, errStateCookie},
		{"state used twice in the same browser", func(t *testing.T, e *env) string {
			st := e.startFlow(t, "")
			if resp, body := e.get(t, "/setup/callback?code=good&state="+st); resp.StatusCode != http.StatusOK {
				t.Fatalf("first use: %d\n%s", resp.StatusCode, body)
			}
			e.gh.calls.Store(0)
			// The first callback deleted the cookie.
			return "?code=good&state=" + st
		}, errStateNoCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			q := tt.setup(t, e)
			resp, body := e.get(t, "/setup/callback"+q)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400\n%s", resp.StatusCode, body)
			}
			if n := e.gh.calls.Load(); n != 0 {
				t.Errorf("GitHub was called %d times", n)
			}
			if !strings.Contains(body, "This registration link is not valid") || !strings.Contains(body, "was started in another browser") ||
				!strings.Contains(body, "Start again at "+e.srv.URL+"/setup") || strings.Contains(body, e.gh.pem[40:80]) {
				t.Errorf("want the start-again page without credentials:\n%s", body)
			}
			if !strings.Contains(e.logs.String(), tt.reason.Error()) {
				t.Errorf("the log does not say %q:\n%s", tt.reason, e.logs.String())
			}
		})
	}
}

func TestCallbackShowsCredentials(t *testing.T) {
	e := newEnv(t)
	st := e.startFlow(t, "?org=SovereignCloudStack")
	resp, raw := e.get(t, "/setup/callback?code=good&state="+st)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", resp.StatusCode, raw)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	if n, auth := e.gh.calls.Load(), e.gh.authHdr.Load(); n != 1 || auth != "" {
		t.Errorf("conversions called %d times with Authorization %q, want once without", n, auth)
	}
	body := html.UnescapeString(raw)
	for _, want := range []string{
		"App ID</th><td><code>1</code>",
		`<a href="https://github.com/apps/octoapp">octoapp</a>`,
		"e340154128314309424b7c8e90325147d99fdafa", // webhook_secret
		e.gh.pem,
		"GITHUB_APP_ID=1\nGITHUB_WEBHOOK_SECRET=e340154128314309424b7c8e90325147d99fdafa\nGITHUB_PRIVATE_KEY_PATH=",
		`fly secrets set GITHUB_APP_ID=1 GITHUB_WEBHOOK_SECRET=e340154128314309424b7c8e90325147d99fdafa GITHUB_PRIVATE_KEY="$(cat contribot.private-key.pem)"`,
		`href="https://github.com/apps/octoapp/installations/new"`,
		"GITHUB_API_URL=https://ghes.example.org/", // WebURL is not github.com
		"shown once",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	// The client secret is for OAuth, which contribot does not do.
	if strings.Contains(body, "1726be1638095a19edd134c77bde3aa2ece1e5d8") {
		t.Error("page shows the client secret")
	}
	// The download link carries the key as base64; it must decode to it.
	m := regexp.MustCompile(`href="data:application/x-pem-file;base64,([^"]+)" download="contribot.private-key.pem"`).FindStringSubmatch(raw)
	if m == nil {
		t.Errorf("no key download link in:\n%s", raw)
	}
	logs := e.logs.String()
	for _, secret := range []string{"e340154128314309424b7c8e90325147d99fdafa", "1726be1638095a19edd134c77bde3aa2ece1e5d8", e.gh.pem[40:80], "code=good", st} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "app_id=1") || !strings.Contains(logs, "slug=octoapp") {
		t.Errorf("logs lack the registration:\n%s", logs)
	}
}

func TestCallbackConversionFailure(t *testing.T) {
	tests := []struct {
		code, want string
	}{
		{"gone", "works once, and only within an hour"},
		{"refused", "GitHub refused to hand out the new App's credentials (Validation Failed)"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			e := newEnv(t)
			st := e.startFlow(t, "")
			resp, raw := e.get(t, "/setup/callback?code="+tt.code+"&state="+st)
			body := html.UnescapeString(raw)
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("status %d, want 502", resp.StatusCode)
			}
			if e.gh.calls.Load() != 1 {
				t.Errorf("GitHub called %d times, want 1", e.gh.calls.Load())
			}
			if !strings.Contains(body, tt.want) || !strings.Contains(body, "Start again at "+e.srv.URL+"/setup") {
				t.Errorf("page lacks %q and the way to start again:\n%s", tt.want, body)
			}
		})
	}
}

func TestCallbackRefusesOddCode(t *testing.T) {
	e := newEnv(t)
	st := e.startFlow(t, "")
	resp, _ := e.get(t, "/setup/callback?state="+st+"&code="+url.QueryEscape("../../user"))
	if resp.StatusCode != http.StatusBadRequest || e.gh.calls.Load() != 0 {
		t.Errorf("status %d after %d calls, want 400 without calling GitHub", resp.StatusCode, e.gh.calls.Load())
	}
}

func TestCodeSpans(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"read `.github/contribot.yml` & more", "read <code>.github/contribot.yml</code> &amp; more"},
		{"`<b>` and `x`", "<code>&lt;b&gt;</code> and <code>x</code>"},
	}
	for _, tt := range tests {
		if got := string(code(tt.in)); got != tt.want {
			t.Errorf("code(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHandlerMisconfigured(t *testing.T) {
	tests := []struct {
		name    string
		o       HandlerOptions
		wantErr string
	}{
		{"no public URL", HandlerOptions{Manifest: Options{Name: "contribot"}}, "the public URL is empty"},
		{"plain http", HandlerOptions{Manifest: Options{Name: "contribot", URL: "http://bot.example.org"}}, "uses http"},
		{"bad API URL", HandlerOptions{Manifest: Options{Name: "contribot", URL: "https://bot.example.org"}, APIURL: "api.github.com"}, "APIURL"},
		{"bad web URL", HandlerOptions{Manifest: Options{Name: "contribot", URL: "https://bot.example.org"}, WebURL: "ftp://github.com/"}, "WebURL"},
		{"no secret to sign states with", HandlerOptions{Manifest: Options{Name: "contribot", URL: "https://bot.example.org"}}, "no secret to sign the registration state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHandler(tt.o); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewHandler error = %v, want one containing %q", err, tt.wantErr)
			}
			var logs bytes.Buffer
			tt.o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			srv := httptest.NewServer(Handler(tt.o))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/setup")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), tt.wantErr) {
				t.Errorf("GET /setup: %d %s", resp.StatusCode, b)
			}
			if !strings.Contains(logs.String(), tt.wantErr) {
				t.Errorf("the log does not say why: %s", logs.String())
			}
		})
	}
}

// A link an attacker lures the admin to while the admin is on GitHub must
// not end the pending registration: GitHub has created the App by the time
// the admin's own callback arrives, and refusing it then loses the key.
func TestCallback_LuredGarbageCallbackKeepsThePendingRegistration(t *testing.T) {
	e := newEnv(t)
	st := e.startFlow(t, "")
	if resp, _ := e.get(t, "/setup/callback?state=garbage&code=x"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("lured callback with a garbage state = %d; want 400", resp.StatusCode)
	}
	if resp, body := e.get(t, "/setup/callback?code=good&state="+url.QueryEscape(st)); resp.StatusCode != http.StatusOK {
		t.Errorf("the admin's own callback after a lured one = %d; want 200:\n%s", resp.StatusCode, body)
	}
}

// The code in the callback is a credential for the new App's private key
// until GitHub spends it; a transport error quotes the URL that holds it.
func TestCallback_TransportErrorKeepsTheCodeOutOfTheLogs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close()
	e := newEnv(t)
	h := e.replica(t, testSecret)
	api, err := url.Parse(dead)
	if err != nil {
		t.Fatal(err)
	}
	h.api = api
	e.next.Store(h)
	st := e.startFlow(t, "")
	const code = "v1.9f2c4a1b7e3d5c6a8b0f"
	_, body := e.get(t, "/setup/callback?code="+code+"&state="+url.QueryEscape(st))
	if strings.Contains(e.logs.String(), code) || strings.Contains(body, code) {
		t.Errorf("the unspent code is in the logs or the page:\n%s\n%s", e.logs.String(), body)
	}
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Errorf("the log should still say what failed:\n%s", e.logs.String())
	}
}
