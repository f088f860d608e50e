package admin

import (
	"bytes"
	"database/sql"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/dbtest"
)

// sessionDB is a fresh SQLite database with the sessions table, as
// queue.Open creates it for the service.
func sessionDB(t *testing.T) *sql.DB {
	t.Helper()
	return openSessionDB(t, "sqlite", sqliteDSN(filepath.Join(t.TempDir(), "admin.db")))
}

func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"
}

// openSessionDB opens a database and creates the sessions table in it;
// opening the same DSN twice gives two replicas over one database.
func openSessionDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, stmt := range Schema {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return db
}

// csrfFor is the CSRF token the admin page hands the session of cookie c.
func csrfFor(c *http.Cookie, action ...string) string {
	return (&handler{token: []byte(token)}).csrf(session{value: c.Value}, action...)
}

// backends are the databases contribot runs on: several replicas share
// PostgreSQL; SQLite is one process, opened twice here to prove that the
// check reads the database rather than memory.
var backends = []struct {
	name string
	dsn  func(t *testing.T) (driver, dsn string)
}{
	{"sqlite", func(t *testing.T) (string, string) {
		return "sqlite", sqliteDSN(filepath.Join(t.TempDir(), "admin.db"))
	}},
	{"postgres", func(t *testing.T) (string, string) { return "pgx", dbtest.FreshPostgres(t) }},
}

// replicas are two admin handlers over one database, with one clock.
type replicas struct {
	a, b  http.Handler
	store *fakeStore
	db    *sql.DB
}

func newReplicas(t *testing.T, driver, dsn string, now func() time.Time) replicas {
	t.Helper()
	store := &fakeStore{}
	dbA, dbB := openSessionDB(t, driver, dsn), openSessionDB(t, driver, dsn)
	return replicas{
		a:     newHandler(store, Options{Token: token, DB: dbA, Logger: quiet()}, now),
		b:     newHandler(store, Options{Token: token, DB: dbB, Logger: quiet()}, now),
		store: store,
		db:    dbA,
	}
}

// signedIn reports what a request with cookie c gets from h: the page, the
// JSON and the retry (with the CSRF token a page of that session carried)
// must all agree, and a refused retry must not reach the queue.
func signedIn(t *testing.T, h http.Handler, store *fakeStore, c *http.Cookie) bool {
	t.Helper()
	cookies := []*http.Cookie{c}
	page := do(h, request{method: "GET", path: "/admin/jobs", cookies: cookies})
	api := do(h, request{method: "GET", path: "/admin/jobs.json", cookies: cookies})
	store.mu.Lock()
	before := len(store.retried)
	store.mu.Unlock()
	retry := do(h, request{method: "POST", path: "/admin/jobs/7/retry", form: url.Values{"csrf": {csrfFor(c, "retry", "7")}}, cookies: cookies})
	store.mu.Lock()
	retried := len(store.retried) > before
	store.mu.Unlock()
	in := page.StatusCode == http.StatusOK
	if (api.StatusCode == http.StatusOK) != in || (retry.StatusCode == http.StatusSeeOther) != in || retried != in {
		t.Fatalf("page %d, JSON %d, retry %d (queue called: %v) disagree on whether the session is valid",
			page.StatusCode, api.StatusCode, retry.StatusCode, retried)
	}
	if !in {
		if page.StatusCode != http.StatusUnauthorized || !strings.Contains(readBody(t, page), `action="/admin/login"`) {
			t.Fatalf("not signed in, but the page is %d without the sign-in form", page.StatusCode)
		}
	}
	return in
}

func logout(t *testing.T, h http.Handler, c *http.Cookie) *http.Response {
	t.Helper()
	return do(h, request{method: "POST", path: "/admin/logout", form: url.Values{"csrf": {csrfFor(c, "logout")}}, cookies: []*http.Cookie{c}})
}

// Someone who copied the admin's cookie (a shared machine, a proxy log, a
// screenshot of the developer tools) replays it after the admin signed
// out: on the replica that signed out and on any other, it is dead.
func TestSession_CopiedCookieReplayedAfterLogout(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			driver, dsn := be.dsn(t)
			r := newReplicas(t, driver, dsn, time.Now)
			tests := []struct {
				name            string
				signIn, signOut http.Handler
				replay          http.Handler
			}{
				{"someone who copied the admin's cookie replays it after logout, same replica", r.a, r.a, r.a},
				{"someone who copied the admin's cookie replays it after logout on replica A, at replica B", r.a, r.a, r.b},
				{"someone who copied the admin's cookie replays it at replica A after logout on replica B", r.a, r.b, r.a},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					stolen := signIn(t, tt.signIn)
					if !signedIn(t, tt.replay, r.store, stolen) {
						t.Fatal("the fresh session does not work on the replay replica")
					}
					if resp := logout(t, tt.signOut, stolen); resp.StatusCode != http.StatusSeeOther {
						t.Fatalf("logout = %d; want 303", resp.StatusCode)
					}
					if signedIn(t, tt.replay, r.store, stolen) {
						t.Error("the copied cookie still works after logout")
					}
					// Signing out again with the dead cookie changes nothing.
					if resp := logout(t, tt.replay, stolen); resp.StatusCode != http.StatusSeeOther {
						t.Errorf("second logout = %d; want 303 to the sign-in page", resp.StatusCode)
					}
					// The admin's next session is unaffected.
					if again := signIn(t, tt.signIn); !signedIn(t, tt.replay, r.store, again) {
						t.Error("a new session after logout does not work")
					}
				})
			}
		})
	}
}

// Cookies nobody signed in with, or that outlived their session, never
// sign anyone in, and the ones without a valid signature cost no query.
func TestSession_ForgedExpiredGarbledCookies(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newReplicas(t, "sqlite", sqliteDSN(filepath.Join(t.TempDir(), "admin.db")), clock)
	real := signIn(t, r.a)
	exp, id, sig := func() (string, string, string) {
		p := strings.Split(real.Value, ".")
		return p[0], p[1], p[2]
	}()
	if !signedIn(t, r.b, r.store, real) {
		t.Fatal("the admin's own session does not work")
	}
	later := strconv.FormatInt(now.Add(30*24*time.Hour).Unix(), 10)
	otherID, _ := newSessionID()
	hd := &handler{token: []byte(token)}

	tests := []struct {
		name  string
		value string
		// after moves the clock before the replay.
		after time.Duration
	}{
		{"anyone: a cookie signed with a guessed token", (&handler{token: []byte("guess")}).sessionValue(exp, id), 0},
		{"anyone: garbage", "garbage", 0},
		{"anyone: empty", "", 0},
		{"anyone: the pre-revocation format EXPIRY.SIGNATURE", exp + "." + hd.mac("session", exp), 0},
		{"anyone: four parts", real.Value + ".x", 0},
		{"anyone: the token itself", token, 0},
		{"someone who copied the cookie extends its expiry", later + "." + id + "." + sig, 0},
		{"someone who copied the cookie swaps in another session ID", exp + "." + otherID + "." + sig, 0},
		{"someone who copied the cookie strips the signature", exp + "." + id + ".", 0},
		{"a session from a database restored to before the sign-in", hd.sessionValue(exp, otherID), 0},
		{"someone who copied the cookie replays it after it expired", real.Value, sessionLifetime + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			now = now.Add(tt.after)
			mu.Unlock()
			if signedIn(t, r.b, r.store, &http.Cookie{Name: sessionCookie, Value: tt.value}) {
				t.Error("the cookie signs in")
			}
		})
	}
}

// When the database cannot say whether a session lives, the request is not
// signed in, and the operator reads why in the log.
func TestSession_DatabaseDownFailsClosed(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	db := sessionDB(t)
	store := &fakeStore{}
	h := Handler(store, Options{Token: token, DB: db, Logger: log})
	session := signIn(t, h)
	if !signedIn(t, h, store, session) {
		t.Fatal("the session does not work before the outage")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if signedIn(t, h, store, session) {
		t.Error("with the database down, the cookie still signs in")
	}
	mu.Lock()
	got := logs.String()
	mu.Unlock()
	if !strings.Contains(got, "admin session check failed") || !strings.Contains(got, "database is closed") {
		t.Errorf("the log does not say why the session was refused:\n%s", got)
	}
	// Anyone's forged cookie is refused on its signature, before any query:
	// it adds no failed check to the log.
	before := strings.Count(got, "admin session check failed")
	forged := (&handler{token: []byte("guess")}).sessionValue(strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), "x")
	do(h, request{method: "GET", path: "/admin/jobs", cookies: []*http.Cookie{{Name: sessionCookie, Value: forged}}})
	mu.Lock()
	after := strings.Count(logs.String(), "admin session check failed")
	mu.Unlock()
	if after != before {
		t.Error("a cookie with a wrong signature reached the database")
	}
	// Bearer tokens do not need the database.
	if resp := do(h, request{method: "GET", path: "/admin/jobs.json", header: map[string]string{"Authorization": "Bearer " + token}}); resp.StatusCode != http.StatusOK {
		t.Errorf("bearer with the database down = %d; want 200", resp.StatusCode)
	}
	// Nor does a new sign-in start without it.
	resp := do(h, request{method: "POST", path: "/admin/login", form: url.Values{"token": {token}}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "Could not start a session") {
		t.Errorf("sign-in with the database down = %d; want 500 saying so:\n%s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.MaxAge >= 0 {
			t.Errorf("a failed sign-in set a session cookie %v", c)
		}
	}
}

// A logout the database did not record says so and keeps the cookie, so
// that the admin can sign out again rather than believe the copy is dead.
func TestSession_LogoutThatCouldNotRevokeSaysSo(t *testing.T) {
	now := time.Now()
	db := sessionDB(t)
	hd := &handler{token: []byte(token), sessions: sessions{db}, now: func() time.Time { return now }, log: quiet()}
	id, err := newSessionID()
	if err != nil {
		t.Fatal(err)
	}
	if err := hd.sessions.create(t.Context(), id, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	c := &http.Cookie{Name: sessionCookie, Value: hd.sessionValue(strconv.FormatInt(now.Add(time.Hour).Unix(), 10), id)}
	// The check reads the row; then the database goes before the delete.
	if _, err := db.Exec(`CREATE TRIGGER refuse_delete BEFORE DELETE ON contribot_admin_session BEGIN SELECT RAISE(FAIL, 'disk I/O error'); END`); err != nil {
		t.Fatal(err)
	}
	h := newHandler(&fakeStore{}, Options{Token: token, DB: db, Logger: quiet()}, hd.now)
	resp := logout(t, h, c)
	if body := readBody(t, resp); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "you are still signed in") {
		t.Errorf("logout that failed = %d; want 500 saying the session lives:\n%s", resp.StatusCode, body)
	}
	for _, rc := range resp.Cookies() {
		if rc.Name == sessionCookie {
			t.Errorf("a logout that failed cleared the cookie: %v", rc)
		}
	}
}

// Rows live as long as their session: an admin signing in all day leaves
// at most one lifetime of sign-ins in the table.
func TestSession_TokenHolderSigningInRepeatedly_TableBounded(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := sessionDB(t)
	h := newHandler(&fakeStore{}, Options{Token: token, DB: db, Logger: quiet()}, clock)
	rows := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM contribot_admin_session`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 5 {
		signIn(t, h)
	}
	if n := rows(); n != 5 {
		t.Fatalf("%d rows after 5 sign-ins; want 5", n)
	}
	mu.Lock()
	now = now.Add(sessionLifetime + time.Minute)
	mu.Unlock()
	signIn(t, h)
	if n := rows(); n != 1 {
		t.Errorf("%d rows after the first five expired and one more sign-in; want 1", n)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Logout must revoke whatever the database could not confirm: with the
// lookup failing (a database blip), a logout that answered "signed out"
// while the row lived would let a copied cookie work again for hours.
func TestSession_LogoutDuringLookupFailureRevokesOrSaysSo(t *testing.T) {
	db := sessionDB(t)
	store := &fakeStore{}
	h := Handler(store, Options{Token: token, DB: db, Logger: quiet()})
	copied := signIn(t, h)
	if _, err := db.Exec(`ALTER TABLE contribot_admin_session RENAME TO contribot_admin_session_away`); err != nil {
		t.Fatal(err)
	}
	resp := logout(t, h, copied)
	if _, err := db.Exec(`ALTER TABLE contribot_admin_session_away RENAME TO contribot_admin_session`); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusSeeOther && signedIn(t, h, store, copied) {
		t.Fatal("logout answered signed out, yet the copied cookie works once the database is back")
	}
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("logout with the database away = %d; want 500 saying the session may live", resp.StatusCode)
	}
	// Once the database answers, signing out ends the session.
	if resp := logout(t, h, copied); resp.StatusCode != http.StatusSeeOther || signedIn(t, h, store, copied) {
		t.Errorf("second logout = %d; the session must end", resp.StatusCode)
	}
}

// An attacker page cannot sign the admin's browser out while the session
// lives on: a cross-site POST carries no SameSite=Strict cookie, and an
// answer that deleted the cookie anyway would leave the admin no way to end
// a copied one but rotating ADMIN_TOKEN.
func TestSession_CrossSiteLogoutLeavesTheAdminsCookie(t *testing.T) {
	h := Handler(&fakeStore{}, Options{Token: token, DB: sessionDB(t), Logger: quiet()})
	signIn(t, h)
	resp := do(h, request{method: http.MethodPost, path: "/admin/logout", header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			t.Errorf("a cross-site logout without the cookie set %v", c)
		}
	}
}
