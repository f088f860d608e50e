package app_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/SovereignCloudStack/contribot/app"
	"github.com/SovereignCloudStack/contribot/app/dbtest"
)

const adminToken = "admin-token-for-the-sessions-tests-0123456789"

// browserRequest sends one request as a browser would, without following
// redirects, and returns the answer with its body read.
func browserRequest(t *testing.T, method, target string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
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

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var logoutCSRF = regexp.MustCompile(`action="/admin/logout"><input type="hidden" name="csrf" value="([^"]+)"`)

// Someone who copied the admin's cookie replays it after the admin signed
// out: the service as deployed (its schema, its database, one SQLite
// process or two replicas on PostgreSQL) answers with the sign-in page.
func TestAdminSession_CopiedCookieReplayedAfterLogout_EveryReplica(t *testing.T) {
	admin := func(c *app.Config) { c.AdminToken = adminToken }
	tests := []struct {
		name string
		// replicas returns where the admin signs in, where they sign out,
		// and where the copy is replayed.
		replicas func(t *testing.T) (signIn, signOut, replay string)
	}{
		{"someone who copied the admin's cookie replays it after logout (SQLite, one process)", func(t *testing.T) (string, string, string) {
			e := start(t, setup{configure: admin})
			return e.url, e.url, e.url
		}},
		{"someone who copied the admin's cookie replays it at replica A after logout on replica B (PostgreSQL)", func(t *testing.T) (string, string, string) {
			db := dbtest.FreshPostgres(t)
			a := start(t, setup{databaseURL: db, configure: admin})
			b := start(t, setup{databaseURL: db, fake: a.fake, configure: admin})
			return a.url, b.url, a.url
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signIn, signOut, replay := tt.replicas(t)
			resp, _ := browserRequest(t, http.MethodPost, signIn+"/admin/login", url.Values{"token": {adminToken}})
			stolen := cookieNamed(resp, "contribot_admin")
			if resp.StatusCode != http.StatusSeeOther || stolen == nil {
				t.Fatalf("sign-in = %d with cookie %v; want 303 and a session", resp.StatusCode, stolen)
			}
			resp, page := browserRequest(t, http.MethodGet, signOut+"/admin/jobs", nil, stolen)
			m := logoutCSRF.FindStringSubmatch(page)
			if resp.StatusCode != http.StatusOK || m == nil {
				t.Fatalf("the session does not work on the replica that signs out: %d\n%.500s", resp.StatusCode, page)
			}
			resp, _ = browserRequest(t, http.MethodPost, signOut+"/admin/logout", url.Values{"csrf": {html.UnescapeString(m[1])}}, stolen)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout = %d; want 303", resp.StatusCode)
			}
			resp, page = browserRequest(t, http.MethodGet, replay+"/admin/jobs", nil, stolen)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, `action="/admin/login"`) {
				t.Errorf("the copied cookie after logout = %d; want 401 with the sign-in form\n%.500s", resp.StatusCode, page)
			}
		})
	}
}

var stateInForm = regexp.MustCompile(`<form method="post" action="[^"?]*\?state=([^"]+)"`)

// The registration flow behind two replicas: GitHub sends the admin back
// to whichever replica the load balancer picks, and it accepts the state
// the other issued; a copy of the state without the admin's cookie is
// refused before GitHub is asked.
func TestSetup_StateIssuedByOneReplicaAcceptedByAnother(t *testing.T) {
	enable := func(c *app.Config) {
		c.SetupEnabled = true
		c.PublicURL = "https://contribot.example.org"
		c.GitHubWebURL = "https://github.com/"
	}
	db := dbtest.FreshPostgres(t)
	a := start(t, setup{databaseURL: db, configure: enable})
	b := start(t, setup{databaseURL: db, fake: a.fake, configure: enable})

	resp, page := browserRequest(t, http.MethodGet, a.url+"/setup", nil)
	m := stateInForm.FindStringSubmatch(page)
	cookie := cookieNamed(resp, "contribot_setup_state")
	if resp.StatusCode != http.StatusOK || m == nil || cookie == nil {
		t.Fatalf("GET /setup at replica A = %d, cookie %v, no state in:\n%.600s", resp.StatusCode, cookie, page)
	}
	state, err := url.QueryUnescape(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	conversions := func() int {
		return a.countCalls(func(c string) bool { return strings.Contains(c, "/app-manifests/") })
	}
	callback := b.url + "/setup/callback?code=c0de&state=" + url.QueryEscape(state)

	// Anyone who saw the state (it travels in GitHub's URL) but not the
	// admin's cookie.
	resp, page = browserRequest(t, http.MethodGet, callback, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "This registration link is not valid") || conversions() != 0 {
		t.Errorf("the state without the admin's cookie at replica B = %d after %d conversions; want 400 before asking GitHub\n%.600s", resp.StatusCode, conversions(), page)
	}
	// The admin's browser. The fake GitHub does not know the code, so
	// GitHub's refusal shows that the state passed and GitHub was asked.
	resp, page = browserRequest(t, http.MethodGet, callback, nil, cookie)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(html.UnescapeString(page), "works once") || conversions() != 1 {
		t.Errorf("the admin's callback at replica B = %d after %d conversions; want the state accepted and GitHub asked once\n%.600s", resp.StatusCode, conversions(), page)
	}
}
