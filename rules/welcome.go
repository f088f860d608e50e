package rules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// welcomeTemplates are the keys of the welcome section that hold templates.
var welcomeTemplates = []string{"first_issue", "first_pr", "first_merged_pr"}

// CheckWelcomeTemplate reports the problems of a welcome template that
// Parse reports for the rules: syntax, unknown fields of WelcomeData,
// constructs outside the greeting language (see compileGreeting), and a
// failure to render sample data. Each problem is a *TemplateError; several
// are joined.
func CheckWelcomeTemplate(name, src string) error {
	var errs []error
	for _, e := range checkWelcomeTemplate(name, src) {
		errs = append(errs, e)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// TemplateError is a problem in a welcome template, positioned within the
// template's own text.
type TemplateError struct {
	Name string
	// Line and Column are 1-based; Column 0 means only the line is known
	// (text/template reports syntax errors by line), Line 0 neither.
	Line, Column int
	Msg          string
	// plain says the same as Msg without the template's text, for files
	// whose text messages must not show (see ParseRedacted); empty when
	// Msg holds none.
	plain string
}

// text is Msg, or plain for a redacted file.
func (e *TemplateError) text(redact bool) string {
	if redact && e.plain != "" {
		return e.plain
	}
	return e.Msg
}

func (e *TemplateError) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Column, e.Msg)
}

// maxWelcomeBytes bounds a greeting rendered from sample data: GitHub
// comments hold at most 65536 characters, and real data is longer.
const maxWelcomeBytes = 60000

// Bounds on a welcome section, which keep rendering cheap: a template
// ranges only over .Modules and .Links, never nested, so its cost is its
// size times theirs. The modules a pull request touches are module
// labels, as many as the rules define at most.
const (
	// MaxWelcomeTemplate bounds one template's source, in bytes.
	MaxWelcomeTemplate = 16 << 10
	// MaxWelcomeLinks bounds the links of one file's welcome.links.
	MaxWelcomeLinks = 50
)

// MaxWelcomeLinkURL bounds one link of welcome.links, in bytes: templates
// print and compare links, and real URLs are far shorter.
const MaxWelcomeLinkURL = 2048

// MaxComment is the most characters GitHub accepts in a comment.
const MaxComment = 65536

// MaxGreeting is the most characters a rendered greeting may have: a
// comment, less room for contribot's marker.
const MaxGreeting = MaxComment - 64

// ErrGreetingTooLong is RenderWelcome's error for a greeting longer than
// its bound; the greeting must not be posted.
var ErrGreetingTooLong = errors.New("the greeting is longer than GitHub accepts in a comment")

// RenderWelcome renders a welcome template as contribot posts it, writing
// at most maxChars characters: at the bound it stops, so memory never
// holds more, and returns ErrGreetingTooLong. Its functions build at most
// maxGreetingBuild bytes (ErrGreetingTooCostly past that), and it stops
// once ctx ends. The template is checked again here, on the tree that
// runs, so no template escapes the greeting language whatever name it is
// rendered under.
func RenderWelcome(ctx context.Context, name, src string, data WelcomeData, maxChars int) (string, error) {
	g, errs := compileGreeting(ctx, name, src, "zero")
	if len(errs) > 0 {
		return "", errs[0]
	}
	return g.render(data, maxChars)
}

func checkWelcomeTemplate(name, src string) []*TemplateError {
	g, errs := compileGreeting(context.Background(), name, src, "error")
	if len(errs) > 0 {
		return errs
	}
	// Links may come from another layer, so every link the template names
	// exists here; Merge warns about those that no layer defines.
	links := map[string]string{}
	for _, r := range g.links {
		links[r.name] = "https://example.org/" + r.name
	}
	samples := []WelcomeData{{
		Login: "octocat", Repo: "octo-org/hello-world", Org: "octo-org", Kind: "pull request", Number: 42,
		Title: "Fix the typo", URL: "https://github.com/octo-org/hello-world/pull/42",
		Modules: []string{"IaaS", "area/storage"}, Links: links,
	}, {
		// Without modules, for the other branch of {{if .Modules}}.
		Login: "octocat", Repo: "octo-org/hello-world", Org: "octo-org", Kind: "issue", Number: 7,
		Title: "Question", URL: "https://github.com/octo-org/hello-world/issues/7", Links: links,
	}}
	for i, data := range samples {
		// One budget for both renders, as for one greeting.
		var out strings.Builder
		if err := g.t.Execute(&limitWriter{w: &out, n: maxWelcomeBytes, ctx: g.m.ctx}, data); err != nil {
			return []*TemplateError{execError(name, src, err)}
		}
		if i == 0 && strings.TrimSpace(out.String()) == "" {
			return []*TemplateError{{Name: name, Msg: `renders as empty text; write "" to greet nobody on this occasion`}}
		}
	}
	return nil
}

// welcomeLinks lists the links a template names, in order; nil when it is
// not a valid greeting.
func welcomeLinks(name, src string) []linkRef {
	g, errs := compileGreeting(context.Background(), name, src, "zero")
	if len(errs) > 0 {
		return nil
	}
	return g.links
}

var (
	templateParseError = regexp.MustCompile(`(?s)^(\d+): (.*)$`)
	templateExecError  = regexp.MustCompile(`(?s)^(\d+):(\d+): executing ".*?" at <(.*?)>: (.*)$`)
)

// parseError drops Go's "template: name:line:" from a syntax error and
// keeps the line.
func parseError(name string, err error) *TemplateError {
	msg := strings.TrimPrefix(err.Error(), "template: "+name+":")
	if m := templateParseError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &TemplateError{Name: name, Line: line, Msg: m[2], plain: "not a valid template"}
	}
	return &TemplateError{Name: name, Msg: strings.TrimSpace(msg), plain: "not a valid template"}
}

// execError drops Go's "template: name:line:col: executing name" from an
// execution error and keeps the position; text/template reports the
// column as a 0-based byte offset within the line.
func execError(name, src string, err error) *TemplateError {
	switch {
	case errors.Is(err, ErrGreetingTooLong):
		return &TemplateError{Name: name, Msg: fmt.Sprintf("renders more than %d characters of sample data; GitHub comments hold at most %d", maxWelcomeBytes, MaxComment)}
	case errors.Is(err, ErrGreetingTooCostly):
		return &TemplateError{Name: name, Msg: fmt.Sprintf("its functions (printf, join, …) build more than %d bytes of text for sample data; write the text out", maxGreetingBuild)}
	}
	const plain = "fails to render sample data"
	msg := strings.TrimPrefix(err.Error(), "template: "+name+":")
	m := templateExecError.FindStringSubmatch(msg)
	if m == nil {
		return &TemplateError{Name: name, Msg: strings.TrimSpace(msg), plain: plain}
	}
	line, _ := strconv.Atoi(m[1])
	off, _ := strconv.Atoi(m[2])
	e := &TemplateError{Name: name, Line: line, Msg: fmt.Sprintf("{{%s}}: %s", m[3], m[4]), plain: plain}
	if lines := strings.Split(src, "\n"); line >= 1 && line <= len(lines) && off <= len(lines[line-1]) {
		e.Column = utf8.RuneCountInString(lines[line-1][:off]) + 1
	}
	return e
}

// offsetPos is the 1-based line and column (in runes) of a byte offset.
func offsetPos(src string, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	line = strings.Count(before, "\n") + 1
	col = utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// templatePos maps a line and column of a template to the rules file whose
// node n holds the template; src is the file's text. A literal block
// scalar (|) starts on the line after n, any other scalar on n's line. The
// position is verified against src, because folding and escapes move text;
// ok is false when it cannot be (then the caller cites n and the template's
// own line).
func templatePos(src []byte, n *yaml.Node, line, col int) (fileLine, fileCol int, ok bool) {
	if line < 1 || src == nil {
		return 0, 0, false
	}
	tmplLines := strings.Split(n.Value, "\n")
	if line > len(tmplLines) {
		return 0, 0, false
	}
	text := tmplLines[line-1]
	off := len(text)
	if col > 0 {
		off = runeOffset(text, col)
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		fileLine = n.Line + line
		s, found := sourceLine(src, fileLine)
		indent, found2 := strings.CutSuffix(s, text)
		if !found || !found2 || strings.Trim(indent, " ") != "" {
			return 0, 0, false
		}
		if col == 0 {
			return fileLine, 0, true
		}
		return fileLine, utf8.RuneCountInString(indent) + col, true
	}
	if line != 1 {
		return 0, 0, false
	}
	s, found := sourceLine(src, n.Line)
	start := runeOffset(s, n.Column)
	if !found || start > len(s) {
		return 0, 0, false
	}
	quote := 0
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
		quote = 1
	}
	if start+quote > len(s) || !strings.HasPrefix(s[start+quote:], text[:off]) {
		return 0, 0, false
	}
	if col == 0 {
		return n.Line, 0, true
	}
	return n.Line, n.Column + quote + col - 1, true
}

// runeOffset is the byte offset of the col-th (1-based) rune of s.
func runeOffset(s string, col int) int {
	off := 0
	for i := 1; i < col && off < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// sourceLine is the 1-based line of src without its line break.
func sourceLine(src []byte, line int) (string, bool) {
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return "", false
		}
		src = src[j+1:]
	}
	s, _, _ := bytes.Cut(src, []byte("\n"))
	return strings.TrimSuffix(string(s), "\r"), true
}

// templateError positions a template problem in the rules file; redact
// leaves the template's text out.
func templateError(file string, src []byte, n *yaml.Node, path string, e *TemplateError, redact bool) *Error {
	msg := e.text(redact)
	out := &Error{File: file, Line: n.Line, Column: n.Column, Msg: path + ": " + msg}
	if line, col, ok := templatePos(src, n, e.Line, e.Column); ok {
		out.Line, out.Column = line, col
	} else if e.Line > 0 {
		where := fmt.Sprintf("line %d", e.Line)
		if e.Column > 0 {
			where += fmt.Sprintf(", column %d", e.Column)
		}
		out.Msg = fmt.Sprintf("%s: %s of the template: %s", path, where, msg)
	}
	return out
}

// checkWelcomeLinks warns about links that templates name but no layer
// defines: a file may name a link that another layer defines, so only the
// merged rules can tell.
func (res *Result) checkWelcomeLinks(merged *yaml.Node, layers []Layer) {
	links := res.Rules.Welcome.Links
	known := "(no links are defined)"
	if len(links) > 0 {
		known = "(known: " + shortList(slices.Sorted(maps.Keys(links))) + ")"
	}
	_, section := lookup(merged, "welcome")
	for _, key := range welcomeTemplates {
		n := stringAt(section, key)
		if n == nil || n.Value == "" {
			continue
		}
		path := "welcome." + key
		o := res.Sources[path]
		var src []byte
		for _, l := range layers {
			if l.File != nil && l.File.Name == o.File && l.Kind == o.Layer {
				src = l.File.src
			}
		}
		seen := map[string]bool{}
		for _, r := range welcomeLinks(path, n.Value) {
			if _, ok := links[r.name]; ok || seen[r.name] {
				continue
			}
			seen[r.name] = true
			line, col := offsetPos(n.Value, r.pos)
			e := templateError(o.File, src, n, path, &TemplateError{Line: line, Column: col,
				Msg: fmt.Sprintf("link %q is not in welcome.links %s; it renders as empty text", r.name, known)}, false)
			e.Section = "welcome"
			res.addWarning(e)
		}
	}
}

// checkWelcomeSize renders each effective greeting with the largest data
// it can meet: a title of GitHub's 256 characters (as a code span of
// backticks, its longest form), the longest login and repository name,
// every module (up to the 100 labels a pull request can carry) and every
// link. A greeting that exceeds MaxGreeting then is
// not used, with a warning at its file and line: Parse saw only sample
// data and its own file's links. RenderWelcome bounds every greeting
// again when it is posted, for data this cannot foresee.
func (res *Result) checkWelcomeSize() {
	w := &res.Rules.Welcome
	if !w.Enabled {
		return
	}
	data := worstWelcomeData(&res.Rules)
	for _, t := range []struct {
		key string
		src *string
	}{{"first_issue", &w.FirstIssue}, {"first_pr", &w.FirstPR}, {"first_merged_pr", &w.FirstMerged}} {
		if *t.src == "" {
			continue
		}
		path := "welcome." + t.key
		_, err := RenderWelcome(context.Background(), path, *t.src, data, MaxGreeting)
		if !errors.Is(err, ErrGreetingTooLong) {
			// Any other error was reported by Parse, or depends on the item.
			continue
		}
		res.warnMerged(path, nil, fmt.Sprintf("%s: renders more than %d characters for an item with a long title, every module and every link; GitHub refuses such comments, so this greeting is not used", path, MaxGreeting))
		*t.src = ""
	}
}

// worstWelcomeData is the largest data a greeting can be rendered with.
func worstWelcomeData(r *Rules) WelcomeData {
	const login = 39 // GitHub's longest login
	owner := strings.Repeat("o", login)
	repo := owner + "/" + strings.Repeat("r", 100)
	// A title is at most 256 characters, and app/markdown.Text writes one
	// in at most five bytes ("&" as "&amp;").
	title := strings.Repeat("&amp;", 256)
	// .Modules are the pull request's labels that mark modules, and
	// GitHub puts at most 100 labels on a pull request.
	const maxLabels = 100
	var modules []string
	for _, name := range slices.Sorted(maps.Keys(r.Modules)) {
		if len(modules) == maxLabels {
			break
		}
		modules = append(modules, r.Modules[name].LabelOf(name))
	}
	return WelcomeData{
		Login: strings.Repeat("l", login), Repo: repo, Org: owner, Kind: "pull request", Number: 2147483647,
		Title: title,
		URL:   "https://github.com/" + repo + "/pull/2147483647", Modules: modules, Links: r.Welcome.Links,
	}
}
