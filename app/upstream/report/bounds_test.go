package report

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// floodFixture is what any GitHub user can put on the public page: 1,234
// references in as many projects, titles as long as the store keeps, and
// one reference that 1,000 of their issues name.
const floodRefs, floodTrackers = 1234, 1000

func floodFixture() []Reference {
	long := strings.Repeat("é", 511) + "…"
	var refs []Reference
	for i := range floodRefs {
		r := githubRef(fmt.Sprintf("flood-%04d/repo", i), int64(i+1), provider.InReview, "open", now,
			issue("SovereignCloudStack/issues", i+1, true, "IaaS"))
		r.Title = long
		if i == 0 {
			r.Trackers = nil
			for n := range floodTrackers {
				r.Trackers = append(r.Trackers, issue("SovereignCloudStack/issues", 5000+n, true))
			}
		}
		refs = append(refs, r)
	}
	return refs
}

// TestPage_AnyGitHubUserFloodsReferences_AnswersStayBounded: any GitHub
// user can name 50 references an issue in as many issues as they like;
// anyone on the internet may then ask for /upstream. The page shows at
// most DefaultPageSize references with the way to the rest, a reference
// lists at most MaxTrackersShown trackers, and the form offers at most
// maxOptions projects, so one answer stays small however much was named.
func TestPage_AnyGitHubUserFloodsReferences_AnswersStayBounded(t *testing.T) {
	src := staticSource(floodFixture())
	tests := []struct {
		name     string
		query    string
		wantCode int
		wantRows int
		want     []string
	}{
		{"first page", "", 200, DefaultPageSize, []string{
			`<p id="count">1234 of 1234 references</p>`,
			`Showing 1–100; 1134 more: narrow the filter, or see the <a href="?page=2">next page</a>.`,
			` and 980 more</td>`,
			"1034 more projects can be named in the address",
		}},
		{"a later page keeps the filters", "?module=IaaS&state=in_review&page=2", 200, DefaultPageSize, []string{
			`Showing 101–200; 1033 more: narrow the filter, or see the <a href="?module=IaaS&amp;page=3&amp;state=in_review">next page</a>, or the <a href="?module=IaaS&amp;state=in_review">previous page</a>.`,
		}},
		{"the last page", "?page=13", 200, 34, []string{`Showing 1201–1234; the <a href="?page=12">previous page</a>.`}},
		{"past the last page", "?page=999999999999", 200, 0, []string{`Nothing on this page; the <a href="?page=13">previous page</a>.`}},
		{"a narrow filter fits on one page", "?project=github.com/flood-0007/repo", 200, 1, []string{`<p id="count">1 of 1234 references</p>`}},
		{"page 0", "?page=0", 400, DefaultPageSize, []string{`<p class="error">page must be a whole number from 1</p>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Page(src, pageOpts).ServeHTTP(rec, httptest.NewRequest("GET", "/upstream"+tt.query, nil))
			body := rec.Body.String()
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantCode)
			}
			if got := len(rows(body)); got != tt.wantRows {
				t.Errorf("%d rows, want %d", got, tt.wantRows)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			if n := strings.Count(body, "<option "); n > 2*maxOptions+20 {
				t.Errorf("the form offers %d options", n)
			}
			if len(body) > 1<<20 {
				t.Errorf("one page view is %d bytes", len(body))
			}
		})
	}
}

// TestAPI_AnyGitHubUserFloodsReferences_AnswersStayBounded: the same
// flood through /api/upstream: at most limit references (DefaultLimit,
// at most MaxLimit) from page, with count and pages to find the rest,
// and at most MaxTrackersShown trackers each, trackers_more counting the
// rest.
func TestAPI_AnyGitHubUserFloodsReferences_AnswersStayBounded(t *testing.T) {
	src := staticSource(floodFixture())
	type answer struct {
		References []struct {
			Number       int64     `json:"number"`
			Trackers     []Tracker `json:"trackers"`
			TrackersMore int       `json:"trackers_more"`
		} `json:"references"`
		Count int    `json:"count"`
		Page  int    `json:"page"`
		Limit int    `json:"limit"`
		Pages int    `json:"pages"`
		Error string `json:"error"`
	}
	tests := []struct {
		name      string
		query     string
		wantCode  int
		wantRefs  int
		wantPage  int
		wantLimit int
		wantPages int
		wantError string
	}{
		{name: "default", wantCode: 200, wantRefs: DefaultLimit, wantPage: 1, wantLimit: DefaultLimit, wantPages: 13},
		{name: "the most per answer", query: "?limit=500&page=3", wantCode: 200, wantRefs: 234, wantPage: 3, wantLimit: 500, wantPages: 3},
		{name: "past the last page", query: "?page=40", wantCode: 200, wantRefs: 0, wantPage: 40, wantLimit: DefaultLimit, wantPages: 13},
		{name: "more than the most", query: "?limit=501", wantCode: 400, wantError: "limit must be a whole number from 1 to 500"},
		{name: "no references", query: "?limit=0", wantCode: 400, wantError: "limit must be a whole number from 1 to 500"},
		{name: "not a page", query: "?page=two", wantCode: 400, wantError: "page must be a whole number from 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			API(src, pageOpts).ServeHTTP(rec, httptest.NewRequest("GET", "/api/upstream"+tt.query, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %.200s", rec.Code, tt.wantCode, rec.Body)
			}
			if rec.Body.Len() > 2<<20 {
				t.Errorf("one answer is %d bytes", rec.Body.Len())
			}
			var a answer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			if a.Error != tt.wantError {
				t.Errorf("error %q, want %q", a.Error, tt.wantError)
			}
			if tt.wantCode != 200 {
				return
			}
			if len(a.References) != tt.wantRefs || a.Count != floodRefs || a.Page != tt.wantPage || a.Limit != tt.wantLimit || a.Pages != tt.wantPages {
				t.Errorf("%d references, count %d, page %d, limit %d, pages %d; want %d, %d, %d, %d, %d",
					len(a.References), a.Count, a.Page, a.Limit, a.Pages, tt.wantRefs, floodRefs, tt.wantPage, tt.wantLimit, tt.wantPages)
			}
			for _, r := range a.References {
				if r.Number == 1 && (len(r.Trackers) != MaxTrackersShown || r.TrackersMore != floodTrackers-MaxTrackersShown) {
					t.Errorf("the reference 1,000 issues name lists %d trackers and %d more, want %d and %d",
						len(r.Trackers), r.TrackersMore, MaxTrackersShown, floodTrackers-MaxTrackersShown)
				}
			}
		})
	}
}
