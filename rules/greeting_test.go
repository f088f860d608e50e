package rules

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// greetingFile is a repository's rules file whose first_issue is tmpl, as
// a literal block.
func greetingFile(tmpl string) string {
	var b strings.Builder
	b.WriteString("welcome:\n  enabled: true\n  first_issue: |\n")
	for _, l := range strings.Split(tmpl, "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// defineTree is a template whose load-time name renders a harmless line
// while the name the service renders under calls 2^levels templates.
func defineTree(levels int) string {
	var b strings.Builder
	b.WriteString(`{{define "welcome.first_issue"}}Hi @{{.Login}}{{end}}{{define "welcome.issue"}}{{template "l0" .}}{{end}}`)
	for i := range levels {
		fmt.Fprintf(&b, `{{define "l%d"}}{{template "l%d" .}}{{template "l%d" .}}{{end}}`, i, i+1, i+1)
	}
	fmt.Fprintf(&b, `{{define "l%d"}}{{len .Login}}{{end}}`, levels)
	return b.String()
}

// printfIndexBomb repeats its argument 100 times per level with %[1]s,
// only for issue #1, which sample data never is.
func printfIndexBomb(levels int) string {
	expr := `(printf "%999s" "")`
	for range levels {
		expr = fmt.Sprintf(`(printf "%s" %s)`, strings.Repeat("%[1]s", 100), expr)
	}
	return `Hi @{{.Login}}{{if eq .Number 1}}{{len ` + expr + `}}{{end}}`
}

// A repository maintainer writes a greeting that passes a check of sample
// data but runs away for real items: the load check refuses everything
// outside the greeting language, where it is written.
func TestParse_RepositoryMaintainersGreetingOutsideTheLanguageIsRefused(t *testing.T) {
	tests := []struct{ name, tmpl, want string }{
		{"a define named for the load check, another for the service (issue 11 B1)",
			`{{define "welcome.first_issue"}}Welcome, @{{.Login}}!{{end}}{{define "welcome.issue"}}{{range 2000000000}}{{end}}{{end}}`,
			".github/contribot.yml:4:5: welcome.first_issue: {{define}} and {{block}} are not supported in welcome messages; write the text out"},
		{"2^40 template calls behind a define", defineTree(40),
			".github/contribot.yml:4:5: welcome.first_issue: {{define}} and {{block}} are not supported in welcome messages; write the text out"},
		{"a define of the template's own name as its whole text", `{{define "welcome.first_issue"}}Hi @{{.Login}}{{end}}`,
			".github/contribot.yml:4:5: welcome.first_issue: {{define}} and {{block}} are not supported in welcome messages; write the text out"},
		{"a block", `Hi {{block "b" .}}@{{.Login}}{{end}}`,
			".github/contribot.yml:4:16: welcome.first_issue: {{template}} and {{block}} are not supported in welcome messages; write the text out"},
		{"printf argument indexes, 100 times per level (issue 11 B2)", printfIndexBomb(4),
			`.github/contribot.yml:4:52: welcome.first_issue: printf: "%[1]" argument indexes are not supported; write each argument out`},
		{"a variable doubled by assignment",
			`Hi @{{.Login}}{{$a := printf "%999s" ""}}{{$a = printf "%s%s" $a $a}}{{len $a}}`,
			".github/contribot.yml:4:21: welcome.first_issue: variables are not supported in welcome messages, except a range's own: {{range $name, $url := .Links}}"},
		{"a variable doubled by declaring it again",
			`Hi @{{.Login}}{{range .Links}}{{end}}{{if .Login}}{{$a := .Title}}{{$a := printf "%s%s" $a $a}}{{end}}`,
			".github/contribot.yml:4:57: welcome.first_issue: variables are not supported in welcome messages, except a range's own: {{range $name, $url := .Links}}"},
		{"a format piped into printf", `Hi @{{.Login}}{{"%999s%999s" | printf}}`,
			".github/contribot.yml:4:36: welcome.first_issue: printf: write the format in quotes right after printf"},
		{"call", `Hi @{{.Login}}{{call .Login}}`,
			`.github/contribot.yml:4:21: welcome.first_issue: function "call" is not supported in welcome messages (supported: and, or, not, len, index, slice, eq, ne, lt, le, gt, ge, print, printf, println, html, js, urlquery, join)`},
		{"printf called without arguments", `Hi @{{.Login}}{{len printf}}`,
			".github/contribot.yml:4:25: welcome.first_issue: printf as an argument is not supported; write (printf …) with its arguments"},
		{"range over an integer", `Hi @{{.Login}}{{range 2000000000}}{{end}}`,
			".github/contribot.yml:4:27: welcome.first_issue: range only over .Modules or .Links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if alloc := allocated(func() { _, err = Parse(repoFile, []byte(greetingFile(tt.tmpl))) }); alloc > 16<<20 {
				t.Errorf("the load check allocated %d MB", alloc>>20)
			}
			if err == nil {
				t.Fatalf("accepted; want %q", tt.want)
			}
			// Every such construct is reported; the first is enough here.
			if got := asErrors(repoFile, err); got[0].Error() != tt.want {
				t.Errorf("errors = %q\nwant first %q", got, tt.want)
			}
		})
	}
}

// The service renders a greeting under another name than the load check
// (welcome.issue, not welcome.first_issue): whatever the name, the tree
// that runs is checked where it runs, so a greeting that smuggles another
// body past the load check renders nothing.
func TestRenderWelcome_RepositoryMaintainersGreetingIsCheckedWhereItRuns(t *testing.T) {
	src := `{{define "welcome.first_issue"}}Welcome, @{{.Login}}!{{end}}{{define "welcome.issue"}}{{range 3}}spam {{end}}{{end}}`
	out, err := RenderWelcome(t.Context(), "welcome.issue", src, WelcomeData{Login: "octocat"}, MaxGreeting)
	var te *TemplateError
	if !errors.As(err, &te) || out != "" {
		t.Errorf("RenderWelcome = %q, %v; want nothing and the template's problem", out, err)
	}
}

// A repository maintainer writes a greeting within the language whose
// functions build far more text than it writes, for some items only.
// What they build is charged to one budget per render, before it is
// built: the render stops there, memory holds no more, and nothing is
// posted.
func TestRenderWelcome_RepositoryMaintainersTextBuildingIsBounded(t *testing.T) {
	modules := make([]string, 100)
	for i := range modules {
		modules[i] = "m"
	}
	doubling := `{{if eq .Number 1}}{{with printf "%999s" ""}}` + strings.Repeat(`{{with printf "%s%s" . .}}`, 20) + `{{len .}}` + strings.Repeat("{{end}}", 22)
	tests := []struct {
		name, src string
		want      error
	}{
		{"nested join over 100 modules (issue 11 B2)", `Hi @{{.Login}}{{len (join .Modules (join .Modules (join .Modules (printf "%999s" ""))))}}`, ErrGreetingTooCostly},
		{"a dot doubled by with, 20 times", `Hi @{{.Login}}` + doubling, ErrGreetingTooCostly},
		{"html of a join, 6 bytes a byte", `Hi @{{.Login}}{{len (html (join .Modules (printf "%999s" "<")))}}`, ErrGreetingTooCostly},
		{"a wide printf over every module", `Hi @{{.Login}}{{printf "%999s" .Modules}}`, ErrGreetingTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(repoFile, []byte(greetingFile(tt.src))); err != nil {
				t.Fatalf("the greeting is within the language, and sample data within the budget: %v", err)
			}
			var out string
			var err error
			alloc := allocated(func() {
				out, err = RenderWelcome(t.Context(), "welcome.issue", tt.src, WelcomeData{Login: "octocat", Number: 1, Modules: modules}, MaxGreeting)
			})
			if !errors.Is(err, tt.want) || out != "" {
				t.Errorf("RenderWelcome = %d characters, %v; want nothing and %v", len(out), err, tt.want)
			}
			if alloc > 4*maxGreetingBuild {
				t.Errorf("rendering allocated %d KB; the budget is %d KB", alloc>>10, maxGreetingBuild>>10)
			}
		})
	}
	// A cancelled job stops at the next function, even one that writes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RenderWelcome(ctx, "welcome.issue", `{{len (printf "%s" .Login)}}`, WelcomeData{}, MaxGreeting); !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: %v, want context.Canceled", err)
	}
}

// A greeting that builds too much for every item is refused when the
// rules load, and the load check itself stays within the budget.
func TestParse_RepositoryMaintainersGreetingThatBuildsTooMuchForSampleData(t *testing.T) {
	src := `Hi @{{.Login}}{{with printf "%999s" ""}}` + strings.Repeat(`{{with printf "%s%s" . .}}`, 30) + `{{len .}}` + strings.Repeat("{{end}}", 31)
	var err error
	if alloc := allocated(func() { _, err = Parse(repoFile, []byte(greetingFile(src))) }); alloc > 4*maxGreetingBuild {
		t.Errorf("the load check allocated %d KB", alloc>>10)
	}
	want := ".github/contribot.yml:3:16: welcome.first_issue: its functions (printf, join, …) build more than 261888 bytes of text for sample data; write the text out"
	if got := asErrors(repoFile, err); len(got) != 1 || got[0].Error() != want {
		t.Errorf("errors = %q\nwant %q", got, want)
	}
}

// What the greeting language keeps: everything the README and the
// built-in rules write, and the usual forms of text/template.
func TestRenderWelcome_GreetingLanguage(t *testing.T) {
	data := WelcomeData{Login: "alice", Kind: "pull request", Number: 7, Title: "`Fix`", Modules: []string{"IaaS", "area/storage"},
		Links: map[string]string{"dco": "https://example.org/dco", "faq": "https://example.org/faq"}}
	tests := []struct{ src, want string }{
		{`Welcome, @{{.Login}}! {{- if .Modules}} This touches {{join .Modules ", "}}.{{end}}`, "Welcome, @alice! This touches IaaS, area/storage."},
		{`Links: {{range $name, $url := .Links}}[{{$name}}]({{$url}}) {{end}}`, "Links: [dco](https://example.org/dco) [faq](https://example.org/faq) "},
		{`{{range $i, $m := $.Modules}}{{if $i}}, {{end}}{{$m}}{{else}}none{{end}}`, "IaaS, area/storage"},
		{`{{with .Title}}{{.}}{{end}} {{printf "#%d %-5s|" .Number .Kind}}`, "`Fix` #7 pull request|"},
		{`{{if and (eq .Kind "pull request") (gt (len .Modules) 1)}}many{{else if .Modules}}one{{end}}`, "many"},
		{`{{index .Links "faq"}} {{.Links.dco | urlquery}} {{html "<b>"}} {{print .Number "x"}}`, "https://example.org/faq https%3A%2F%2Fexample.org%2Fdco &lt;b&gt; 7x"},
		{`{{range .Modules}}{{if eq . "IaaS"}}{{continue}}{{end}}{{.}}{{break}}{{end}}`, "area/storage"},
		{`{{slice .Login 1 3}}{{/* a comment */}}{{js "'"}}{{println}}`, "li\\'\n"},
	}
	for _, tt := range tests {
		if err := CheckWelcomeTemplate("t", tt.src); err != nil {
			t.Errorf("CheckWelcomeTemplate(%q) = %v", tt.src, err)
		}
		if got, err := RenderWelcome(t.Context(), "welcome.pr", tt.src, data, MaxGreeting); err != nil || got != tt.want {
			t.Errorf("RenderWelcome(%q) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
}
