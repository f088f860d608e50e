package rules

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// hostileLinks is a welcome.links section of n links.
func hostileLinks(n int) string {
	var b strings.Builder
	b.WriteString("  links:\n")
	for i := range n {
		fmt.Fprintf(&b, "    l%d: https://example.org/%d\n", i, i)
	}
	return b.String()
}

// wideRange writes 999 spaces n times for every link: about n KB per link.
func wideRange(n int) string {
	return "{{range .Links}}" + strings.Repeat(`{{printf "%999s" ""}}`, n) + "{{end}}"
}

// A repository maintainer writes a greeting that renders tens of megabytes
// for some item (here: only for one login, which sample data never has).
// Rendering stops at the bound: memory never holds more than it, and the
// greeting is an error, not a cut comment.
func TestRenderWelcome_RepositoryMaintainersHugeGreetingStopsAtTheBound(t *testing.T) {
	links := map[string]string{}
	for i := range MaxWelcomeLinks * 3 {
		links[fmt.Sprint("l", i)] = "https://example.org/"
	}
	src := `Hi @{{.Login}}{{if eq .Login "mallory"}}` + wideRange(700) + "{{end}}"
	if len(src) > MaxWelcomeTemplate {
		t.Fatalf("the template has %d bytes, over the load limit", len(src))
	}
	data := WelcomeData{Login: "mallory", Links: links}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := RenderWelcome(context.Background(), "welcome.first_pr", src, data, MaxGreeting)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrGreetingTooLong) || out != "" {
		t.Fatalf("RenderWelcome = %d characters, %v; want nothing and ErrGreetingTooLong", len(out), err)
	}
	// Unbounded, this renders 150 × 700 × 999 bytes = 105 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("rendering allocated %d MB; the bound keeps it near %d KB", alloc>>20, MaxGreeting>>10)
	}
	// The same template greets anyone else.
	data.Login = "octocat"
	if out, err := RenderWelcome(context.Background(), "welcome.first_pr", src, data, MaxGreeting); err != nil || out != "Hi @octocat" {
		t.Errorf("RenderWelcome = %q, %v", out, err)
	}
	// And stops once the job's time is up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data.Login = "mallory"
	if _, err := RenderWelcome(ctx, "welcome.first_pr", src, data, MaxGreeting); !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: %v, want context.Canceled", err)
	}
}

// A repository maintainer's greeting that exceeds GitHub's limit for the
// largest item (a long title, every module and link) is not used, with a
// warning at its line; within the limit it is kept.
func TestMerge_RepositoryMaintainersGreetingTooLongForTheLargestItem(t *testing.T) {
	tests := []struct {
		name, file string
		warning    string
	}{
		{"every link, 70 KB each",
			"welcome:\n" + hostileLinks(MaxWelcomeLinks) + "  first_pr: '" + wideRange(70) + "x'\n",
			".github/contribot.yml:53:13: welcome.first_pr: renders more than 65472 characters for an item with a long title, every module and every link; GitHub refuses such comments, so this greeting is not used"},
		{"every link, 1 KB each", "welcome:\n" + hostileLinks(MaxWelcomeLinks) + "  first_pr: '" + wideRange(1) + "x'\n", ""},
		{"the title repeated", "welcome:\n  first_pr: '" + strings.Repeat("{{.Title}}", 100) + "'\n",
			".github/contribot.yml:2:13: welcome.first_pr: renders more than 65472 characters for an item with a long title, every module and every link; GitHub refuses such comments, so this greeting is not used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(repoFile, []byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res := Merge(BuiltinLayer(), Layer{Kind: LayerRepo, File: f})
			var got []string
			for _, w := range res.Warnings {
				got = append(got, w.Error())
			}
			switch {
			case tt.warning == "" && (len(got) > 0 || res.Rules.Welcome.FirstPR == ""):
				t.Errorf("warnings %q, first_pr %d bytes; want it kept", got, len(res.Rules.Welcome.FirstPR))
			case tt.warning != "" && (len(got) != 1 || got[0] != tt.warning || res.Rules.Welcome.FirstPR != ""):
				t.Errorf("warnings %q, first_pr %d bytes; want dropped with %q", got, len(res.Rules.Welcome.FirstPR), tt.warning)
			}
		})
	}
}

func TestParse_RepositoryMaintainersWelcomeSizeLimits(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"51 links", "welcome:\n" + hostileLinks(MaxWelcomeLinks+1),
			".github/contribot.yml:53:5: welcome.links: 51 links; a rules file may have at most 50"},
		{"a template of 16 KiB and a byte", "welcome:\n  first_issue: '" + strings.Repeat("x", MaxWelcomeTemplate+1) + "'\n",
			".github/contribot.yml:2:16: welcome.first_issue: 16385 bytes; a welcome template may have at most 16384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(repoFile, []byte(tt.in))
			got := asErrors(repoFile, err)
			if len(got) != 1 || got[0].Error() != tt.want {
				t.Errorf("errors = %q\nwant %q", got, tt.want)
			}
		})
	}
}
