package fakeupstream_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/SovereignCloudStack/contribot/app/upstream/fakeupstream"
)

func get(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestGerritShape(t *testing.T) {
	g := fakeupstream.NewGerrit()
	defer g.Close()
	upd := time.Date(2024, 3, 1, 12, 30, 0, 5, time.UTC)
	g.SetChange(903172, fakeupstream.Change{Project: "openstack/keystone", Status: "NEW", WIP: true, Subject: "Fix it", Updated: upd})
	g.SetChange(903173, fakeupstream.Change{Project: "openstack/nova", Status: "MERGED", Subject: "Older", Updated: upd.Add(-time.Hour)})
	g.SetChange(903174, fakeupstream.Change{Project: "openstack/nova", Status: "ABANDONED", Subject: "Oldest", Updated: upd.Add(-2 * time.Hour)})

	code, _, body := get(t, g.URL()+"/changes/?q=change:903173+OR+change:903172+OR+change:903174+OR+change:1&n=2")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	rest, ok := bytes.CutPrefix(body, []byte(")]}'\n"))
	if !ok {
		t.Fatalf("no XSSI prefix line: %q", body)
	}
	var got []struct {
		ID             string `json:"id"`
		Project        string `json:"project"`
		Branch         string `json:"branch"`
		ChangeID       string `json:"change_id"`
		Subject        string `json:"subject"`
		Status         string `json:"status"`
		Created        string `json:"created"`
		Updated        string `json:"updated"`
		Number         int64  `json:"_number"`
		WorkInProgress *bool  `json:"work_in_progress"`
		MoreChanges    *bool  `json:"_more_changes"`
		Owner          struct {
			AccountID int64 `json:"_account_id"`
		} `json:"owner"`
	}
	if err := json.Unmarshal(rest, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d changes, want 2 (n=2)", len(got))
	}
	tr := true
	// Newest first, like Gerrit; the cut shows on the last item only.
	if got[0].Number != 903172 || got[0].Status != "NEW" || got[0].WorkInProgress == nil || !*got[0].WorkInProgress ||
		got[0].Updated != "2024-03-01 12:30:00.000000005" || got[0].Project != "openstack/keystone" ||
		got[0].ID != "openstack%2Fkeystone~903172" || got[0].Branch != "master" || len(got[0].ChangeID) != 41 ||
		got[0].Subject != "Fix it" || got[0].Owner.AccountID == 0 || got[0].Created == "" || got[0].MoreChanges != nil {
		t.Errorf("first change = %+v", got[0])
	}
	if got[1].Number != 903173 || got[1].Status != "MERGED" || got[1].WorkInProgress != nil || !reflect.DeepEqual(got[1].MoreChanges, &tr) {
		t.Errorf("second change = %+v", got[1])
	}

	for _, q := range []string{"status:open", "change:1+AND+change:2", "change:1+OR", ""} {
		if code, _, _ := get(t, g.URL()+"/changes/?q="+q); code != http.StatusBadRequest {
			t.Errorf("query %q: status %d, want 400", q, code)
		}
	}
	if n := g.Calls(); n != 5 {
		t.Errorf("Calls() = %d, want 5", n)
	}
	if r := g.Requests(); r[0] != "GET /changes/?q=change:903173+OR+change:903172+OR+change:903174+OR+change:1&n=2" {
		t.Errorf("Requests()[0] = %q", r[0])
	}
}

func TestLaunchpadShape(t *testing.T) {
	l := fakeupstream.NewLaunchpad()
	defer l.Close()
	rel := time.Date(2024, 2, 3, 4, 5, 6, 789000000, time.UTC)
	l.SetBug(2045974,
		fakeupstream.Task{Target: "keystone", DisplayName: "OpenStack Identity (keystone)", Status: "Fix Released", Title: "Token leak", Created: rel.Add(-time.Hour), FixReleased: rel},
		fakeupstream.Task{Target: "keystone (Ubuntu)", Status: "New", Title: "Token leak"},
	)
	code, _, body := get(t, l.APIBase()+"bugs/2045974/bug_tasks")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var got struct {
		TotalSize int                          `json:"total_size"`
		Start     int                          `json:"start"`
		Entries   []map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.TotalSize != 2 || got.Start != 0 || len(got.Entries) != 2 {
		t.Fatalf("collection = %d/%d/%d entries", got.TotalSize, got.Start, len(got.Entries))
	}
	want := map[string]string{
		"bug_target_name":         `"keystone"`,
		"bug_target_display_name": `"OpenStack Identity (keystone)"`,
		"status":                  `"Fix Released"`,
		"importance":              `"Undecided"`,
		"title":                   `"Bug #2045974 in OpenStack Identity (keystone): \"Token leak\""`,
		"web_link":                `"https://bugs.launchpad.net/keystone/+bug/2045974"`,
		"date_fix_released":       `"2024-02-03T04:05:06.789000+00:00"`,
		"date_created":            `"2024-02-03T03:05:06.789000+00:00"`,
		"date_fix_committed":      `null`,
		"date_closed":             `null`,
		"date_assigned":           `null`,
		"assignee_link":           `null`,
		"is_complete":             `true`,
	}
	for k, v := range want {
		if g := string(got.Entries[0][k]); g != v {
			t.Errorf("entries[0].%s = %s, want %s", k, g, v)
		}
	}
	for _, k := range []string{"self_link", "resource_type_link", "bug_link", "date_confirmed", "date_triaged",
		"date_in_progress", "date_left_new", "date_incomplete"} {
		if _, ok := got.Entries[0][k]; !ok {
			t.Errorf("entries[0] lacks %s", k)
		}
	}
	if code, h, body := get(t, l.URL()+"/bugs/99999999/bug_tasks"); code != http.StatusNotFound ||
		h.Get("Content-Type") != "text/plain;charset=utf-8" || !bytes.Contains(body, []byte("name: '99999999'")) {
		t.Errorf("unknown bug: %d %q %q", code, h.Get("Content-Type"), body)
	}
	l.SetPrivate(2045974, true)
	if code, _, _ := get(t, l.APIBase()+"bugs/2045974/bug_tasks"); code != http.StatusUnauthorized {
		t.Errorf("private bug: status %d, want 401", code)
	}
}

func TestGitLabShape(t *testing.T) {
	g := fakeupstream.NewGitLab()
	defer g.Close()
	upd := time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)
	g.SetMR("group/sub/project", 42, fakeupstream.MR{State: "opened", Draft: true, Title: "Draft: thing", UpdatedAt: upd})
	g.SetIssue("group/sub/project", 7, fakeupstream.Issue{State: "closed", Title: "Bug", UpdatedAt: upd})

	code, _, body := get(t, g.APIBase()+"projects/group%2Fsub%2Fproject/merge_requests/42")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var mr struct {
		IID            int64   `json:"iid"`
		ProjectID      int64   `json:"project_id"`
		State          string  `json:"state"`
		Draft          bool    `json:"draft"`
		WorkInProgress bool    `json:"work_in_progress"`
		Title          string  `json:"title"`
		UpdatedAt      string  `json:"updated_at"`
		MergedAt       *string `json:"merged_at"`
		WebURL         string  `json:"web_url"`
		References     struct {
			Full string `json:"full"`
		} `json:"references"`
	}
	if err := json.Unmarshal(body, &mr); err != nil {
		t.Fatal(err)
	}
	if mr.IID != 42 || mr.ProjectID == 0 || mr.State != "opened" || !mr.Draft || !mr.WorkInProgress || mr.Title != "Draft: thing" ||
		mr.UpdatedAt != "2024-05-06T07:08:09.123Z" || mr.MergedAt != nil ||
		mr.WebURL != "https://gitlab.com/group/sub/project/-/merge_requests/42" || mr.References.Full != "group/sub/project!42" {
		t.Errorf("MR = %+v", mr)
	}

	code, _, body = get(t, g.APIBase()+"projects/group%2Fsub%2Fproject/issues/7")
	var is struct {
		IID       int64   `json:"iid"`
		State     string  `json:"state"`
		ClosedAt  *string `json:"closed_at"`
		UpdatedAt string  `json:"updated_at"`
		IssueType string  `json:"issue_type"`
	}
	if err := json.Unmarshal(body, &is); err != nil || code != http.StatusOK {
		t.Fatalf("issue: %d %v", code, err)
	}
	if is.IID != 7 || is.State != "closed" || is.ClosedAt == nil || is.UpdatedAt != "2024-05-06T07:08:09.123Z" || is.IssueType != "issue" {
		t.Errorf("issue = %+v", is)
	}

	for path, want := range map[string]string{
		"projects/group%2Fsub%2Fproject/merge_requests/43": `{"message":"404 Not found"}`,
		"projects/other%2Fproject/issues/1":                `{"message":"404 Project Not Found"}`,
		"projects/group/sub/project/issues/7":              `{"message":"404 Not Found"}`,
	} {
		code, _, body := get(t, g.APIBase()+path)
		if code != http.StatusNotFound || string(bytes.TrimSpace(body)) != want {
			t.Errorf("%s: %d %s, want 404 %s", path, code, body, want)
		}
	}
}

func TestSwitches(t *testing.T) {
	g := fakeupstream.NewGitLab()
	defer g.Close()
	url := g.APIBase() + "projects/a%2Fb/issues/1"
	g.RateLimit(1500 * time.Millisecond)
	if code, h, _ := get(t, url); code != http.StatusTooManyRequests || h.Get("Retry-After") != "2" {
		t.Errorf("rate limited: %d Retry-After %q, want 429 2", code, h.Get("Retry-After"))
	}
	g.RateLimit(0)
	g.Down(true)
	if code, _, _ := get(t, url); code != http.StatusServiceUnavailable {
		t.Errorf("down: %d, want 503", code)
	}
	g.Reset()
	if code, _, _ := get(t, url); code != http.StatusNotFound {
		t.Errorf("after Reset: %d, want 404", code)
	}
	if got, want := g.Requests(), []string{"GET /api/v4/projects/a%2Fb/issues/1"}; !reflect.DeepEqual(got, want) || g.Calls() != 1 {
		t.Errorf("after Reset: Requests() = %q, Calls() = %d", got, g.Calls())
	}
}
