package rules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// welcomeTemplates are the keys of the welcome section that hold templates.
var welcomeTemplates = []string{"first_issue", "first_pr", "first_merged_pr"}

// WelcomeFuncs are the functions welcome templates may call besides
// text/template's own: join (strings.Join), as in {{join .Modules ", "}}.
func WelcomeFuncs() template.FuncMap {
	return template.FuncMap{"join": strings.Join}
}

// ParseWelcomeTemplate parses a welcome template as contribot runs it: with
// WelcomeFuncs, and a link that welcome.links lacks rendering as empty text
// (Merge warns about such links).
func ParseWelcomeTemplate(name, src string) (*template.Template, error) {
	return template.New(name).Funcs(WelcomeFuncs()).Option("missingkey=zero").Parse(src)
}

// CheckWelcomeTemplate reports the problems of a welcome template that
// Parse reports for the rules: syntax, unknown fields of WelcomeData, a
// failure to render sample data, and constructs that could make rendering
// run away. Each problem is a *TemplateError; several are joined.
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
// holds more, and returns ErrGreetingTooLong. It also stops at the next
// write once ctx ends. text/template has no step limit; what bounds the
// work between writes is that templates range only over .Modules and
// .Links, never nested (checked at load), and the rules bound both.
func RenderWelcome(ctx context.Context, name, src string, data WelcomeData, maxChars int) (string, error) {
	t, err := ParseWelcomeTemplate(name, src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&limitWriter{w: &b, n: maxChars, ctx: ctx}, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// linkRef is a use of {{.Links.name}} at a byte offset of the template.
type linkRef struct {
	name string
	pos  int
}

func checkWelcomeTemplate(name, src string) []*TemplateError {
	t, err := template.New(name).Funcs(WelcomeFuncs()).Option("missingkey=error").Parse(src)
	if err != nil {
		return []*TemplateError{parseError(name, err)}
	}
	w := &templateWalker{name: name, src: src}
	if t.Tree != nil {
		w.list(t.Tree.Root, true, false)
	}
	if len(w.errs) > 0 {
		return w.errs
	}
	// Links may come from another layer, so every link the template names
	// exists here; Merge warns about those that no layer defines.
	links := map[string]string{}
	for _, r := range w.refs {
		links[r.name] = "https://example.org/" + r.name
	}
	samples := []WelcomeData{{
		Login: "octocat", Repo: "octo-org/hello-world", Org: "octo-org", Kind: "pull request", Number: 42,
		Title: "`Fix the typo`", URL: "https://github.com/octo-org/hello-world/pull/42",
		Modules: []string{"IaaS", "area/storage"}, Links: links,
	}, {
		// Without modules, for the other branch of {{if .Modules}}.
		Login: "octocat", Repo: "octo-org/hello-world", Org: "octo-org", Kind: "issue", Number: 7,
		Title: "`Question`", URL: "https://github.com/octo-org/hello-world/issues/7", Links: links,
	}}
	for i, data := range samples {
		var out strings.Builder
		if err := t.Execute(&limitWriter{w: &out, n: maxWelcomeBytes, ctx: context.Background()}, data); err != nil {
			return []*TemplateError{execError(name, src, err)}
		}
		if i == 0 && strings.TrimSpace(out.String()) == "" {
			return []*TemplateError{{Name: name, Msg: `renders as empty text; write "" to greet nobody on this occasion`}}
		}
	}
	return nil
}

// welcomeLinks lists the links a template names, in order; nil when it does
// not parse.
func welcomeLinks(name, src string) []linkRef {
	t, err := template.New(name).Funcs(WelcomeFuncs()).Parse(src)
	if err != nil || t.Tree == nil {
		return nil
	}
	w := &templateWalker{name: name, src: src}
	w.list(t.Tree.Root, true, false)
	return w.refs
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
	if errors.Is(err, ErrGreetingTooLong) {
		return &TemplateError{Name: name, Msg: fmt.Sprintf("renders more than %d characters of sample data; GitHub comments hold at most %d", maxWelcomeBytes, MaxComment)}
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

// limitWriter fails past n characters, so that a template such as
// {{range .Links}}{{printf "%999s" ""}}…{{end}} cannot fill memory, and
// once ctx ends. A character split across two writes counts twice, which
// errs on the short side.
type limitWriter struct {
	w   io.Writer
	n   int
	ctx context.Context
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	c := utf8.RuneCount(p)
	if c > l.n {
		return 0, ErrGreetingTooLong
	}
	l.n -= c
	return l.w.Write(p)
}

// welcomeFields are the fields of WelcomeData, which templates name.
var welcomeFields = func() []string {
	t := reflect.TypeFor[WelcomeData]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}()

// templateWalker checks a template's parse tree: the fields it names on
// WelcomeData in every branch (execution sees only the branches the sample
// data takes), and that rendering stays bounded: no {{template}}, range
// only over .Modules or .Links, not nested (text/template ranges over
// integers, so {{range 1000000000}} would stall a worker), and no huge
// printf widths.
type templateWalker struct {
	name string
	src  string
	errs []*TemplateError
	refs []linkRef
}

func (w *templateWalker) errorAt(pos parse.Pos, format string, args ...any) {
	line, col := offsetPos(w.src, int(pos))
	w.errs = append(w.errs, &TemplateError{Name: w.name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// errorPlain is errorAt for a message that quotes the template, with the
// same message without the quote.
func (w *templateWalker) errorPlain(pos parse.Pos, plain, format string, args ...any) {
	w.errorAt(pos, format, args...)
	w.errs[len(w.errs)-1].plain = plain
}

// list walks a list of nodes; root says whether dot is the WelcomeData.
func (w *templateWalker) list(l *parse.ListNode, root, inRange bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			w.pipe(n.Pipe, root)
		case *parse.IfNode:
			w.pipe(n.Pipe, root)
			w.list(n.List, root, inRange)
			w.list(n.ElseList, root, inRange)
		case *parse.WithNode:
			w.pipe(n.Pipe, root)
			w.list(n.List, false, inRange)
			w.list(n.ElseList, root, inRange)
		case *parse.RangeNode:
			switch {
			case inRange:
				w.errorAt(n.Pipe.Position(), "a range inside a range is not supported")
			case !rangeable(n.Pipe, root):
				w.errorAt(n.Pipe.Position(), "range only over .Modules or .Links")
			}
			w.pipe(n.Pipe, root)
			w.list(n.List, false, true)
			w.list(n.ElseList, root, inRange)
		case *parse.TemplateNode:
			w.errorAt(n.Position(), "{{template}} is not supported in welcome messages; write the text out")
		}
	}
}

// rangeable reports whether a range pipeline is .Modules or .Links.
func rangeable(p *parse.PipeNode, root bool) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	var ident []string
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		if !root {
			return false
		}
		ident = a.Ident
	case *parse.VariableNode:
		if len(a.Ident) < 2 || a.Ident[0] != "$" {
			return false
		}
		ident = a.Ident[1:]
	}
	return len(ident) == 1 && (ident[0] == "Modules" || ident[0] == "Links")
}

func (w *templateWalker) pipe(p *parse.PipeNode, root bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		if isIdent(c.Args[0], "printf") {
			w.printf(c)
		}
		// {{index .Links "name"}} names a link too.
		if len(c.Args) == 3 && isIdent(c.Args[0], "index") && w.isLinks(c.Args[1], root) {
			if s, ok := c.Args[2].(*parse.StringNode); ok {
				w.refs = append(w.refs, linkRef{name: s.Text, pos: int(s.Position())})
			}
		}
		for _, a := range c.Args {
			w.arg(a, root)
		}
	}
}

// printfSpec is a verb's flags, width and precision.
var printfSpec = regexp.MustCompile(`%[-+# 0-9.*\[\]]*`)

// printf allows only a quoted format whose widths stay below 1000: fmt
// builds each verb in memory first, up to a million bytes wide, so
// {{printf "%999999s%999999s…"}} could take gigabytes before any limit on
// the output sees it.
func (w *templateWalker) printf(c *parse.CommandNode) {
	if len(c.Args) < 2 {
		return
	}
	format, ok := c.Args[1].(*parse.StringNode)
	if !ok {
		w.errorAt(c.Args[1].Position(), "printf: write the format in quotes")
		return
	}
	for _, spec := range printfSpec.FindAllString(format.Text, -1) {
		if strings.Contains(spec, "*") || wideNumber.MatchString(spec) {
			w.errorPlain(format.Position(), "printf: a width or precision is too large; they go up to 999", "printf: %q is too wide; widths and precisions go up to 999", spec)
			return
		}
	}
}

var wideNumber = regexp.MustCompile(`[0-9]{4}`)

func isIdent(n parse.Node, name string) bool {
	id, ok := n.(*parse.IdentifierNode)
	return ok && id.Ident == name
}

func (w *templateWalker) isLinks(n parse.Node, root bool) bool {
	switch a := n.(type) {
	case *parse.FieldNode:
		return root && len(a.Ident) == 1 && a.Ident[0] == "Links"
	case *parse.VariableNode:
		return len(a.Ident) == 2 && a.Ident[0] == "$" && a.Ident[1] == "Links"
	}
	return false
}

func (w *templateWalker) arg(n parse.Node, root bool) {
	switch a := n.(type) {
	case *parse.FieldNode:
		if !root {
			return
		}
		// A chain's position is that of its second field.
		start := int(a.Position())
		if len(a.Ident) > 1 {
			start -= 1 + len(a.Ident[0])
		}
		w.field(a.Ident, start, int(a.Position()))
	case *parse.VariableNode:
		// $ is the WelcomeData everywhere; the position is that of the
		// field after it.
		if len(a.Ident) > 1 && a.Ident[0] == "$" {
			w.field(a.Ident[1:], int(a.Position()), int(a.Position())+1+len(a.Ident[1]))
		}
	case *parse.PipeNode:
		w.pipe(a, root)
	case *parse.ChainNode:
		w.arg(a.Node, root)
	}
}

// field checks .A.B… at start; next is where .B begins.
func (w *templateWalker) field(ident []string, start, next int) {
	switch {
	case !slices.Contains(welcomeFields, ident[0]):
		w.errorPlain(parse.Pos(start), "unknown field (known: ."+strings.Join(welcomeFields, ", .")+")", "unknown field .%s (known: .%s)", ident[0], strings.Join(welcomeFields, ", ."))
	case ident[0] == "Links" && len(ident) > 1:
		w.refs = append(w.refs, linkRef{name: ident[1], pos: next})
	}
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
		known = "(known: " + strings.Join(slices.Sorted(maps.Keys(links)), ", ") + ")"
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
			res.Warnings = append(res.Warnings, e)
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
	// A title of 256 backticks becomes a span fenced by 257 on each side.
	fence := strings.Repeat("`", 257)
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
		Title: fence + " " + strings.Repeat("`", 256) + " " + fence,
		URL:   "https://github.com/" + repo + "/pull/2147483647", Modules: modules, Links: r.Welcome.Links,
	}
}
