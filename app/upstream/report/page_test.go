package report

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

type sourceFunc func(context.Context) ([]Reference, error)

func (f sourceFunc) References(ctx context.Context) ([]Reference, error) { return f(ctx) }

func staticSource(refs []Reference) Source {
	return sourceFunc(func(context.Context) ([]Reference, error) { return refs, nil })
}

var failingSource = sourceFunc(func(context.Context) ([]Reference, error) {
	return nil, errors.New("database is locked")
})

// pageFixture is dashboardFixture with a reference whose title and URL
// try to inject HTML and script.
func pageFixture() []Reference {
	refs, _ := dashboardFixture()
	evil := githubRef("evil/repo", 666, provider.Draft, "draft", day(2025, 6, 20), issue("SovereignCloudStack/issues", 99, true, "IaaS"))
	evil.Title = `<script>alert(1)</script>`
	evil.URL = "javascript:alert(1)"
	return append(refs, evil)
}

var pageOpts = PageOptions{Now: func() time.Time { return now }, StaleAfter: staleAfter}

var rowRE = regexp.MustCompile(`<tr class="([^"]*)">\s*<td><a href="([^"]*)">([^<]*)</a>`)

// rows returns each table row as "class|label".
func rows(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+"|"+m[3])
	}
	return out
}

func TestPage(t *testing.T) {
	const (
		review   = "state-in_review|openstack/keystone change 903172"
		evil     = "state-draft|evil/repo#666"
		capi     = "state-open stale|kubernetes-sigs/cluster-api#123"
		merged   = "state-merged|Launchpad bug 2045974"
		osism    = "state-abandoned|osism/ansible#9"
		nova     = "state-unknown|openstack/nova change 2"
		notes    = "state-untracked|example.org/notes"
		selected = ` selected>`
	)
	tests := []struct {
		name     string
		method   string
		query    string
		src      Source
		wantCode int
		wantRows []string
		want     []string // substrings of the body
	}{
		{
			name: "all", query: "",
			wantCode: 200, wantRows: []string{evil, review, capi, merged, osism, nova, notes},
			want: []string{`<p id="count">7 of 7 references</p>`, `<option value="all" selected>all modules</option>`},
		},
		{
			name: "module", query: "?module=IaaS&state=all&project=all",
			wantCode: 200, wantRows: []string{evil, review, capi, merged, notes},
			want: []string{`<p id="count">5 of 7 references</p>`, `<option value="IaaS"` + selected + `IaaS</option>`},
		},
		{
			name: "no module", query: "?module=%28none%29",
			wantCode: 200, wantRows: []string{nova},
			want: []string{`<option value="(none)"` + selected + `no module</option>`},
		},
		{
			name: "module of a closed tracker", query: "?module=Ops",
			wantCode: 200, wantRows: []string{osism},
		},
		{
			name: "state", query: "?state=in_review",
			wantCode: 200, wantRows: []string{review},
			want: []string{`<option value="in_review"` + selected + `in review</option>`},
		},
		{
			name: "untracked links", query: "?state=untracked",
			wantCode: 200, wantRows: []string{notes},
		},
		{
			name: "project and module", query: "?project=github.com%2Fkubernetes-sigs%2Fcluster-api&module=Container",
			wantCode: 200, wantRows: []string{capi},
			want: []string{`<option value="github.com/kubernetes-sigs/cluster-api"` + selected},
		},
		{
			name: "a module no longer in the data stays selected", query: "?module=Gone",
			wantCode: 200, wantRows: nil,
			want: []string{`<option value="Gone"` + selected + `Gone</option>`, `<p id="count">0 of 7 references</p>`},
		},
		{
			name: "unknown state", query: "?state=bogus&module=IaaS",
			wantCode: 400, wantRows: []string{evil, review, capi, merged, notes},
			want: []string{`<p class="error">unknown state &#34;bogus&#34;; use one of: draft, in_review, open, merged, released, abandoned, unavailable, unknown, untracked</p>`},
		},
		{
			name: "hostile title and URL are inert", query: "?state=draft",
			wantCode: 200, wantRows: []string{evil},
			want: []string{`<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>`, `<a href="#ZgotmplZ">evil/repo#666</a>`},
		},
		{
			name: "source down", src: failingSource,
			wantCode: 503,
			want:     []string{"upstream references are unavailable right now; try again in a minute"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == nil {
				src = staticSource(pageFixture())
			}
			rec := httptest.NewRecorder()
			Page(src, pageOpts).ServeHTTP(rec, httptest.NewRequest(cmpOr(tt.method, "GET"), "/upstream"+tt.query, nil))
			body := rec.Body.String()
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tt.wantCode, body)
			}
			checkHeaders(t, rec.Header(), map[string]string{
				"Cache-Control":           "no-cache",
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
			})
			if got := rows(body); !slices.Equal(got, tt.wantRows) {
				t.Errorf("rows\n got %q\nwant %q", got, tt.wantRows)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("body has a script tag")
			}
			wantType := "text/html; charset=utf-8"
			if tt.wantCode == 503 {
				wantType = "text/plain; charset=utf-8"
			}
			if got := rec.Header().Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type %q, want %q", got, wantType)
			}
		})
	}
}

func TestPageMethods(t *testing.T) {
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"page", Page(staticSource(pageFixture()), pageOpts)}, {"api", API(staticSource(pageFixture()), pageOpts)}} {
		t.Run(h.name, func(t *testing.T) {
			srv := httptest.NewServer(h.h)
			defer srv.Close()
			for _, m := range []string{"POST", "PUT", "DELETE"} {
				req, _ := http.NewRequest(m, srv.URL+"/upstream", strings.NewReader("x"))
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
					t.Errorf("%s: status %d, Allow %q; want 405, \"GET, HEAD\"", m, resp.StatusCode, resp.Header.Get("Allow"))
				}
			}
			resp, err := srv.Client().Head(srv.URL + "/upstream")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(b) != 0 {
				t.Errorf("HEAD: status %d, %d body bytes; want 200 and none", resp.StatusCode, len(b))
			}
		})
	}
}

func TestAPI(t *testing.T) {
	type answer struct {
		References []struct {
			Key      string    `json:"key"`
			State    string    `json:"state"`
			Stale    bool      `json:"stale"`
			Modules  []string  `json:"modules"`
			Trackers []Tracker `json:"trackers"`
		} `json:"references"`
		Count       int      `json:"count"`
		Filters     *filters `json:"filters"`
		Error       string   `json:"error"`
		ValidStates []string `json:"valid_states"`
	}
	const (
		evil   = "github:github.com:evil/repo:pr:666"
		review = "gerrit:review.opendev.org:903172"
		capi   = "github:github.com:kubernetes-sigs/cluster-api:pr:123"
		merged = "launchpad:bugs.launchpad.net:2045974"
		osism  = "github:github.com:osism/ansible:pr:9"
		nova   = "gerrit:review.opendev.org:2"
		notes  = "link:https://example.org/notes"
	)
	tests := []struct {
		name        string
		query       string
		src         Source
		wantCode    int
		wantKeys    []string
		wantFilters *filters
		wantError   string
	}{
		{name: "all", wantCode: 200, wantKeys: []string{evil, review, capi, merged, osism, nova, notes}, wantFilters: &filters{}},
		{name: "module", query: "?module=Container", wantCode: 200, wantKeys: []string{capi, merged}, wantFilters: &filters{Module: "Container"}},
		{name: "all is empty", query: "?module=all&state=all&project=all", wantCode: 200, wantKeys: []string{evil, review, capi, merged, osism, nova, notes}, wantFilters: &filters{}},
		{name: "state and project", query: "?state=merged&project=bugs.launchpad.net/keystone", wantCode: 200, wantKeys: []string{merged}, wantFilters: &filters{State: "merged", Project: "bugs.launchpad.net/keystone"}},
		{name: "not checked yet", query: "?state=unknown", wantCode: 200, wantKeys: []string{nova}, wantFilters: &filters{State: "unknown"}},
		{name: "nothing matches", query: "?project=nowhere", wantCode: 200, wantKeys: []string{}, wantFilters: &filters{Project: "nowhere"}},
		{name: "empty source", src: staticSource(nil), wantCode: 200, wantKeys: []string{}, wantFilters: &filters{}},
		{name: "unknown state", query: "?state=Merged", wantCode: 400,
			wantError: `unknown state "Merged"; use one of: draft, in_review, open, merged, released, abandoned, unavailable, unknown, untracked`},
		{name: "source down", src: failingSource, wantCode: 503, wantError: "upstream references are unavailable right now; try again in a minute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == nil {
				src = staticSource(pageFixture())
			}
			rec := httptest.NewRecorder()
			API(src, pageOpts).ServeHTTP(rec, httptest.NewRequest("GET", "/api/upstream"+tt.query, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tt.wantCode, rec.Body)
			}
			checkHeaders(t, rec.Header(), map[string]string{
				"Content-Type": "application/json", "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
			})
			var a answer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, rec.Body)
			}
			if a.Error != tt.wantError {
				t.Errorf("error %q, want %q", a.Error, tt.wantError)
			}
			if tt.wantCode == 400 && !slices.Equal(a.ValidStates, stateKeys()) {
				t.Errorf("valid_states %q", a.ValidStates)
			}
			if tt.wantCode != 200 {
				return
			}
			var keys []string
			for _, r := range a.References {
				keys = append(keys, r.Key)
				if r.Trackers == nil {
					t.Errorf("%s: trackers is null", r.Key)
				}
			}
			if !strings.Contains(rec.Body.String(), `"references":[`) {
				t.Errorf("references is not a list: %s", rec.Body)
			}
			if !slices.Equal(keys, tt.wantKeys) && len(keys)+len(tt.wantKeys) > 0 {
				t.Errorf("keys\n got %q\nwant %q", keys, tt.wantKeys)
			}
			if a.Count != len(tt.wantKeys) || *a.Filters != *tt.wantFilters {
				t.Errorf("count %d, filters %+v; want %d, %+v", a.Count, *a.Filters, len(tt.wantKeys), *tt.wantFilters)
			}
		})
	}
}

// TestAPIDerivedFields checks what the API adds to a Reference.
func TestAPIDerivedFields(t *testing.T) {
	rec := httptest.NewRecorder()
	API(staticSource(pageFixture()), pageOpts).ServeHTTP(rec, httptest.NewRequest("GET", "/api/upstream?project=github.com/kubernetes-sigs/cluster-api", nil))
	const want = `{"references":[{"key":"github:github.com:kubernetes-sigs/cluster-api:pr:123",` +
		`"url":"https://github.com/kubernetes-sigs/cluster-api/pull/123","provider":"github","host":"github.com",` +
		`"project":"kubernetes-sigs/cluster-api","kind":"pr","number":123,"state":"open","raw_state":"open","title":"PR 123",` +
		`"last_activity":"2025-01-02T09:30:00Z","last_checked":"2025-06-30T12:00:00Z",` +
		`"trackers":[{"repo":"SovereignCloudStack/cluster-stacks","number":3,"title":"Track SovereignCloudStack/cluster-stacks",` +
		`"url":"https://github.com/SovereignCloudStack/cluster-stacks/issues/3","pull_request":false,"open":true,"private":false,` +
		`"modules":["Container","IaaS"]}],"modules":["Container","IaaS"],"stale":true}],` +
		`"count":1,"page":1,"limit":100,"pages":1,"filters":{"module":"","state":"","project":"github.com/kubernetes-sigs/cluster-api"}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("API answer\n got %s\nwant %s", got, want)
	}
}

func checkHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
