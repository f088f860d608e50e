package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPageInBrowser drives /upstream in headless Chromium: the table, then
// the filter form submitted by a click, as a visitor without JavaScript
// on the page would use it. It leaves screenshots in the test's artifact
// folder (kept with go test -artifacts).
func TestPageInBrowser(t *testing.T) {
	browser, required := chromiumPath()
	if browser == "" {
		t.Skip("no Chromium: run `apt-get install chromium` (.ci/run does), or set CONTRIBOT_TEST_CHROMIUM to its path")
	}

	mux := http.NewServeMux()
	mux.Handle("GET /upstream", Page(staticSource(pageFixture()), pageOpts))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// This machine's network is closed: without these flags Chromium waits
	// on refused connections for updates, sync and QUIC.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(userDataDir(t)),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 900)); err != nil {
		if required {
			t.Fatalf("Chromium %s (CONTRIBOT_TEST_CHROMIUM) does not start: %v", browser, err)
		}
		t.Skipf("Chromium %s does not start: %v; set CONTRIBOT_TEST_CHROMIUM to a working one", browser, err)
	}

	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+"/upstream"))
	if err != nil || resp.Status != 200 {
		t.Fatalf("loading /upstream: %v, %v", resp, err)
	}
	check(ctx, t, "no filter", page{
		rows: []string{
			"evil/repo#666", "openstack/keystone change 903172", "kubernetes-sigs/cluster-api#123", "Launchpad bug 2045974",
			"osism/ansible#9", "openstack/nova change 2", "example.org/notes",
		},
		module: "all", state: "all", project: "all", count: "7 of 7 references",
	})
	screenshot(ctx, t, "upstream.png")

	submit(ctx, t, map[string]string{"module": "IaaS"})
	check(ctx, t, "module IaaS", page{
		rows: []string{
			"evil/repo#666", "openstack/keystone change 903172", "kubernetes-sigs/cluster-api#123", "Launchpad bug 2045974",
			"example.org/notes",
		},
		module: "IaaS", state: "all", project: "all", count: "5 of 7 references", eachModule: "IaaS",
	})

	submit(ctx, t, map[string]string{"state": "merged"})
	check(ctx, t, "module IaaS, state merged", page{
		rows:   []string{"Launchpad bug 2045974"},
		module: "IaaS", state: "merged", project: "all", count: "1 of 7 references", eachModule: "IaaS",
	})
	screenshot(ctx, t, "upstream-filtered.png")
}

// chromiumPath finds the browser: CONTRIBOT_TEST_CHROMIUM, which makes the
// test required, or chromium on PATH.
func chromiumPath() (path string, required bool) {
	if p := os.Getenv("CONTRIBOT_TEST_CHROMIUM"); p != "" {
		return p, true
	}
	p, _ := exec.LookPath("chromium")
	return p, false
}

// userDataDir is a fresh profile. Chromium's helpers can still write to it
// for a moment after the browser stops, so removal is retried rather than
// left to t.TempDir, which would fail the test.
func userDataDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "contribot-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove %s", dir)
	})
	return dir
}

// page is what the test expects to see.
type page struct {
	rows                   []string // the reference column, top to bottom
	module, state, project string   // the selected options
	count                  string
	eachModule             string // a module every row must have
}

func check(ctx context.Context, t *testing.T, step string, want page) {
	t.Helper()
	type seen struct {
		Rows    []string `json:"rows"`
		Modules []string `json:"modules"`
		Module  string   `json:"module"`
		State   string   `json:"state"`
		Project string   `json:"project"`
		Count   string   `json:"count"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[seen](`(() => {
		const rows = [...document.querySelectorAll("tbody tr")];
		const sel = n => document.querySelector('select[name="' + n + '"]').value;
		return {
			rows: rows.map(r => r.querySelector("td a").textContent),
			modules: rows.map(r => r.querySelector("td.modules").textContent),
			module: sel("module"), state: sel("state"), project: sel("project"),
			count: document.getElementById("count").textContent,
		};
	})()`))
	if err != nil {
		t.Fatalf("%s: reading the page: %v", step, err)
	}
	if !slices.Equal(got.Rows, want.rows) {
		t.Errorf("%s: rows\n got %q\nwant %q", step, got.Rows, want.rows)
	}
	if got.Module != want.module || got.State != want.state || got.Project != want.project {
		t.Errorf("%s: selected module %q, state %q, project %q; want %q, %q, %q",
			step, got.Module, got.State, got.Project, want.module, want.state, want.project)
	}
	if got.Count != want.count {
		t.Errorf("%s: count %q, want %q", step, got.Count, want.count)
	}
	for i, m := range got.Modules {
		if want.eachModule != "" && !slices.Contains(strings.Split(m, ", "), want.eachModule) {
			t.Errorf("%s: row %q has modules %q, not %s", step, got.Rows[i], m, want.eachModule)
		}
	}
}

// submit picks options in the form and clicks its button, as a visitor
// would, then waits for the new page.
func submit(ctx context.Context, t *testing.T, choose map[string]string) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for name, v := range choose {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(`select[name="`+name+`"]`), v))
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("choosing %v: %v", choose, err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if err != nil || resp.Status != 200 {
		t.Fatalf("submitting %v: %v, %v", choose, resp, err)
	}
	for name, v := range choose {
		if !strings.Contains(resp.URL, name+"="+v) {
			t.Errorf("submitting %v went to %s", choose, resp.URL)
		}
	}
}

func screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
