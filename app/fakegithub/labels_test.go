package fakegithub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/fakegithub"
)

func label(name, color, desc string) *github.Label {
	l := &github.Label{Name: github.String(name)}
	if color != "" {
		l.Color = github.String(color)
	}
	if desc != "" {
		l.Description = github.String(desc)
	}
	return l
}

// rawLabels decodes a label list keeping nulls visible.
func rawLabels(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return out
}

func TestRepoLabelsListAndPaginate(t *testing.T) {
	s := fakegithub.New(t)
	var set []*github.Label
	for i := range 45 {
		set = append(set, label(fmt.Sprintf("l%02d", i), "", ""))
	}
	set[0] = label("good first issue", "7057ff", "Good for newcomers")
	set[1] = &github.Label{Name: github.String("bug"), Color: github.String("d73a4a"), Default: github.Bool(true), ID: github.Int64(208045946)}
	s.SetRepoLabels("o", "r", set...)
	gh := client(t, s, 1)
	ctx := context.Background()

	first, resp, err := gh.Issues.ListLabels(ctx, "o", "r", nil)
	if err != nil || len(first) != 30 || resp.NextPage != 2 || resp.LastPage != 2 {
		t.Fatalf("default page: %d labels, next %d, last %d, %v", len(first), resp.NextPage, resp.LastPage, err)
	}
	all, resp, err := gh.Issues.ListLabels(ctx, "o", "r", &github.ListOptions{PerPage: 1000})
	if err != nil || len(all) != 45 || resp.NextPage != 0 || all[44].GetName() != "l44" {
		t.Fatalf("per_page=1000: %d labels, %v", len(all), err)
	}
	if got := s.RepoLabels("O", "R"); len(got) != 45 || got[2].GetURL() != all[2].GetURL() || got[2].GetID() != all[2].GetID() {
		t.Errorf("RepoLabels differs from the API: %v", got[:3])
	}

	_, body := do(t, s, "GET", "/repos/o/r/labels?per_page=3", s.IssueToken(1), nil, "")
	got := rawLabels(t, body)
	api := s.URL() + "repos/o/r/labels/"
	want := []map[string]any{
		{"name": "good first issue", "color": "7057ff", "description": "Good for newcomers", "default": false, "url": api + "good%20first%20issue"},
		{"name": "bug", "color": "d73a4a", "description": nil, "default": true, "url": api + "bug", "id": float64(208045946)},
		{"name": "l02", "color": "ededed", "description": nil, "default": false, "url": api + "l02"},
	}
	for i, w := range want {
		for k, v := range w {
			if gv, ok := got[i][k]; !ok || gv != v {
				t.Errorf("label %d %s = %v (present %v), want %v", i, k, gv, ok, v)
			}
		}
		id, _ := got[i]["id"].(float64)
		node, _ := got[i]["node_id"].(string)
		if id <= 0 || node == "" {
			t.Errorf("label %d: id %v node_id %q", i, got[i]["id"], node)
		}
	}

	// A repository the test never set up has no labels.
	if l, _, err := gh.Issues.ListLabels(ctx, "o", "empty", nil); err != nil || len(l) != 0 {
		t.Errorf("unknown repository: %v %v", l, err)
	}
}

func TestCreateRepoLabel(t *testing.T) {
	const doc = "https://docs.github.com/rest/issues/labels#create-a-label"
	type fe = map[string]string
	cases := []struct {
		name   string
		body   string
		status int
		errs   []fe // for 422
	}{
		{"created", `{"name":"area/iaas","color":"BADA55","description":"IaaS layer"}`, 201, nil},
		{"no description", `{"name":"sig/ops","color":"663399"}`, 201, nil},
		{"exists", `{"name":"Bug","color":"663399"}`, 422, []fe{{"resource": "Label", "code": "already_exists", "field": "name"}}},
		{"missing name", `{"color":"663399"}`, 422, []fe{{"resource": "Label", "code": "missing_field", "field": "name"}}},
		{"blank name", `{"name":"  ","color":"663399"}`, 422, []fe{{"resource": "Label", "code": "missing_field", "field": "name"}}},
		{"missing color", `{"name":"x"}`, 422, []fe{{"resource": "Label", "code": "missing_field", "field": "color"}}},
		{"color with #", `{"name":"x","color":"#663399"}`, 422, []fe{{"resource": "Label", "code": "invalid", "field": "color"}}},
		{"short color", `{"name":"x","color":"fff"}`, 422, []fe{{"resource": "Label", "code": "invalid", "field": "color"}}},
		{"not hex", `{"name":"x","color":"gggggg"}`, 422, []fe{{"resource": "Label", "code": "invalid", "field": "color"}}},
		{"description too long", `{"name":"x","color":"663399","description":"` + strings.Repeat("é", 101) + `"}`, 422,
			[]fe{{"resource": "Label", "code": "custom", "field": "description", "message": "description is too long (maximum is 100 characters)"}}},
		{"several problems", `{"color":"nope"}`, 422, []fe{
			{"resource": "Label", "code": "missing_field", "field": "name"},
			{"resource": "Label", "code": "invalid", "field": "color"}}},
		{"not JSON", `{`, 400, nil},
	}
	s := fakegithub.New(t)
	s.SetRepoLabels("o", "r", label("bug", "d73a4a", ""))
	tok := s.IssueToken(1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, s, "POST", "/repos/o/r/labels", tok, nil, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			switch tc.status {
			case 201:
				var in, got map[string]any
				_ = json.Unmarshal([]byte(tc.body), &in)
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
				wantURL := s.URL() + "repos/o/r/labels/" + url.PathEscape(in["name"].(string))
				if got["name"] != in["name"] || got["color"] != in["color"] || got["description"] != in["description"] ||
					got["default"] != false || got["url"] != wantURL || resp.Header.Get("Location") != wantURL {
					t.Errorf("created %s, Location %s", body, resp.Header.Get("Location"))
				}
			case 422:
				var e struct {
					Message          string `json:"message"`
					Errors           []fe   `json:"errors"`
					DocumentationURL string `json:"documentation_url"`
				}
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatal(err)
				}
				if e.Message != "Validation Failed" || e.DocumentationURL != doc || !slices.EqualFunc(e.Errors, tc.errs, func(a, b fe) bool {
					return fmt.Sprint(a) == fmt.Sprint(b)
				}) {
					t.Errorf("got %s\nwant errors %v", body, tc.errs)
				}
			}
		})
	}
	names := func() []string {
		var out []string
		for _, l := range s.RepoLabels("o", "r") {
			out = append(out, l.GetName())
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"bug", "area/iaas", "sig/ops"}) {
		t.Errorf("repository labels %q", got)
	}

	// GitHub's recorded answer to an invalid colour, field by field.
	raw, err := readFixture("recorded.error-422-validation-failed.json")
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	_, body := do(t, s, "POST", "/repos/o/r/labels", tok, nil, `{"name":"foo","color":"invalid"}`)
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got["message"], got["errors"]) != fmt.Sprint(want["message"], want["errors"]) {
		t.Errorf("got %s\nGitHub %s", body, raw)
	}

	// go-github round trip.
	l, _, err := client(t, s, 1).Issues.CreateLabel(context.Background(), "o", "r", label("needs-triage", "e99695", ""))
	if err != nil || l.GetName() != "needs-triage" || l.GetColor() != "e99695" || l.Description != nil || l.GetID() == 0 {
		t.Errorf("CreateLabel %v %v", l, err)
	}
}

func TestIssueLabelsFollowRepoLabels(t *testing.T) {
	s := fakegithub.New(t)
	s.SetRepoLabels("o", "r", label("Bug", "d73a4a", "Something isn't working"), label("area/iaas", "0e8a16", ""))
	gh := client(t, s, 1)
	ctx := context.Background()

	// Names compare ignoring case; the repository's spelling wins. Names the
	// repository lacks are created there with GitHub's default colour.
	got, _, err := gh.Issues.AddLabelsToIssue(ctx, "o", "r", 7, []string{"bug", "needs-triage", "BUG"})
	if err != nil {
		t.Fatal(err)
	}
	type lab struct{ name, color, desc string }
	flat := func(ls []*github.Label) []lab {
		var out []lab
		for _, l := range ls {
			out = append(out, lab{l.GetName(), l.GetColor(), l.GetDescription()})
		}
		return out
	}
	if want := []lab{{"Bug", "d73a4a", "Something isn't working"}, {"needs-triage", "ededed", ""}}; !slices.Equal(flat(got), want) {
		t.Errorf("added %v, want %v", flat(got), want)
	}
	if got := flat(s.RepoLabels("o", "r")); !slices.Equal(got, []lab{
		{"Bug", "d73a4a", "Something isn't working"}, {"area/iaas", "0e8a16", ""}, {"needs-triage", "ededed", ""}}) {
		t.Errorf("repository labels %v", got)
	}
	repoIDs := map[string]int64{}
	for _, l := range s.RepoLabels("o", "r") {
		repoIDs[l.GetName()] = l.GetID()
	}
	for _, l := range got {
		if l.GetID() != repoIDs[l.GetName()] || l.GetURL() != s.URL()+"repos/o/r/labels/"+l.GetName() {
			t.Errorf("issue label %s: id %d url %s; repository id %d", l.GetName(), l.GetID(), l.GetURL(), repoIDs[l.GetName()])
		}
	}

	// A name with a slash is addressed escaped, as on GitHub; go-github does
	// not escape it, so unescaped it does not reach the endpoint.
	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "o", "r", 7, []string{"area/iaas"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := gh.Issues.RemoveLabelForIssue(ctx, "o", "r", 7, "area/iaas"); resp == nil || resp.StatusCode != 404 {
		t.Errorf("unescaped slash: %v", resp)
	}
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, "o", "r", 7, url.PathEscape("AREA/IAAS")); err != nil {
		t.Errorf("escaped slash: %v", err)
	}
	listed, _, err := gh.Issues.ListLabelsByIssue(ctx, "o", "r", 7, nil)
	if want := []lab{{"Bug", "d73a4a", "Something isn't working"}, {"needs-triage", "ededed", ""}}; err != nil || !slices.Equal(flat(listed), want) {
		t.Errorf("listed %v %v", flat(listed), err)
	}
	_, body := do(t, s, "GET", "/repos/o/r/issues/7/labels", s.IssueToken(1), nil, "")
	if raw := rawLabels(t, body); len(raw) != 2 || raw[1]["description"] != nil {
		t.Errorf("description of a label without one: %s", body)
	} else if _, ok := raw[1]["description"]; !ok {
		t.Errorf("description missing, want null: %s", body)
	}

	// SetLabels creates missing repository labels too; SetRepoLabels drops
	// labels from issues when they leave the repository, as deleting does.
	s.SetLabels("o", "r", 8, []string{"bug", "wontfix"})
	if got := s.Labels("o", "r", 8); !slices.Equal(got, []string{"Bug", "wontfix"}) {
		t.Errorf("SetLabels kept %q", got)
	}
	s.SetRepoLabels("o", "r", label("BUG", "ff0000", ""), label("needs-triage", "", ""))
	if a, b := s.Labels("o", "r", 7), s.Labels("o", "r", 8); !slices.Equal(a, []string{"BUG", "needs-triage"}) || !slices.Equal(b, []string{"BUG"}) {
		t.Errorf("after SetRepoLabels: #7 %q, #8 %q", a, b)
	}

	want := []string{
		"POST /repos/o/r/issues/7/labels",
		"POST /repos/o/r/issues/7/labels",
		"DELETE /repos/o/r/issues/7/labels/area/iaas",
		"DELETE /repos/o/r/issues/7/labels/AREA/IAAS",
		"GET /repos/o/r/issues/7/labels",
		"GET /repos/o/r/issues/7/labels",
	}
	if got := s.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls\n got %q\nwant %q", got, want)
	}
}

func TestLabelPermissions(t *testing.T) {
	s := fakegithub.New(t)
	s.SetInstallationPermissions(1, map[string]string{"issues": "read", "metadata": "read"})
	s.SetInstallationPermissions(2, map[string]string{"pull_requests": "write", "metadata": "read"})
	s.SetInstallationPermissions(3, map[string]string{"contents": "read", "metadata": "read"})
	cases := []struct {
		inst           int64
		method, body   string
		status         int
		acceptedHeader string
	}{
		{1, "GET", "", 200, ""},
		{1, "POST", `{"name":"a","color":"000000"}`, 403, "issues=write; pull_requests=write"},
		{2, "GET", "", 200, ""},
		{2, "POST", `{"name":"b","color":"000000"}`, 201, ""},
		{3, "GET", "", 403, "issues=read; pull_requests=read"},
		{3, "POST", `{"name":"c","color":"000000"}`, 403, "issues=write; pull_requests=write"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d %s", tc.inst, tc.method), func(t *testing.T) {
			resp, body := do(t, s, tc.method, "/repos/o/r/labels", s.IssueToken(tc.inst), nil, tc.body)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Accepted-GitHub-Permissions") != tc.acceptedHeader {
				t.Errorf("%d %s (accepted %q), want %d", resp.StatusCode, body, resp.Header.Get("X-Accepted-GitHub-Permissions"), tc.status)
			}
			if tc.status == http.StatusForbidden && errorMessage(t, body) != "Resource not accessible by integration" {
				t.Errorf("body %s", body)
			}
		})
	}
	want := []string{"GET /repos/o/r/labels", "POST /repos/o/r/labels"}
	for i, c := range s.Calls() {
		if c != want[i%2] {
			t.Errorf("call %d %q, want %q", i, c, want[i%2])
		}
	}
}

func TestEscapedPathsReachTheirEndpoints(t *testing.T) {
	s := fakegithub.New(t)
	s.SetFile("o", "r", ".github/contribot.yml", []byte("x"))
	tok := s.IssueToken(1)
	// A contents_url from the PR files list escapes the slashes.
	for _, p := range []string{"/repos/o/r/contents/.github/contribot.yml", "/repos/o/r/contents/.github%2Fcontribot.yml"} {
		if resp, body := do(t, s, "GET", p, tok, nil, ""); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	if got, want := s.Calls(), []string{"GET /repos/o/r/contents/.github/contribot.yml", "GET /repos/o/r/contents/.github/contribot.yml"}; !slices.Equal(got, want) {
		t.Errorf("calls %q", got)
	}
}
