package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// Welcome templates are text/template sources that a repository
// maintainer writes and contribot renders in its own process, for every
// newcomer of the repository. text/template has no step or memory limit of
// its own, so a greeting is held to a small language whose cost is bounded
// by construction, checked on the parse tree that is executed (compiled in
// one place, compileGreeting, for the load check and for every render):
//
//   - one template: no {{define}}, {{block}} or {{template}}, so what the
//     load check walks is what runs, whatever name it is rendered under;
//   - range only over .Modules or .Links, not nested: a node runs at most
//     as often as the longer of the two has entries (100 labels on a pull
//     request, 50 links a file);
//   - no variables but a range's own ({{range $name, $url := .Links}}), so
//     no value is kept to be doubled or compared over and over;
//   - only the functions in greetingFuncs; those that build text (printf,
//     print, println, join, html, js, urlquery) charge what they build to
//     one budget per render, maxGreetingBuild, before they build it, and
//     stop when the job's context ends;
//   - printf only with its format in quotes, widths and precisions up to
//     999, and no argument indexes (%[1]s would repeat one argument).
//
// Output is bounded apart from that, by limitWriter; the values templates
// read are bounded by the rules (links at most maxLinkURL bytes) and by
// GitHub (titles, logins, labels).

// maxGreetingBuild bounds the bytes that a greeting's functions build while
// it renders: four times the longest greeting, so that joining the modules
// or formatting a few values never comes near it.
const maxGreetingBuild = 4 * MaxGreeting

// ErrGreetingTooCostly is RenderWelcome's error for a greeting whose
// functions build more text than maxGreetingBuild; nothing is posted.
var ErrGreetingTooCostly = errors.New("the greeting builds more text than contribot renders for one greeting")

// greetingFuncs are the functions a welcome template may call: text/template's
// own, except call, and join (strings.Join), as in {{join .Modules ", "}}.
var greetingFuncs = []string{
	"and", "or", "not", "len", "index", "slice",
	"eq", "ne", "lt", "le", "gt", "ge",
	"print", "printf", "println", "html", "js", "urlquery", "join",
}

// meter charges the text a render's functions build to one budget, and
// ends the render when its context ends.
type meter struct {
	ctx  context.Context
	left int
}

// build runs f, which returns at most est bytes, if the budget has room
// for est: the check comes before anything is allocated.
func (m *meter) build(est int, f func() string) (string, error) {
	if err := m.ctx.Err(); err != nil {
		return "", err
	}
	if est > m.left {
		m.left = 0
		return "", ErrGreetingTooCostly
	}
	s := f()
	m.left -= len(s)
	return s, nil
}

// funcs are the text-building functions, charged to m; they replace
// text/template's own under the same names.
func (m *meter) funcs() template.FuncMap {
	return template.FuncMap{
		"join": func(elems []string, sep string) (string, error) {
			est := len(sep) * max(len(elems)-1, 0)
			for _, e := range elems {
				est = addCapped(est, len(e))
			}
			return m.build(est, func() string { return strings.Join(elems, sep) })
		},
		"print": func(args ...any) (string, error) {
			return m.build(argsCost(args, 0), func() string { return fmt.Sprint(args...) })
		},
		"println": func(args ...any) (string, error) {
			return m.build(argsCost(args, 0), func() string { return fmt.Sprintln(args...) })
		},
		"printf": func(format string, args ...any) (string, error) {
			pad, err := printfPad(format)
			if err != nil {
				return "", err
			}
			// Every verb writes at most its argument's cost plus the
			// width and precision, or a short %!verb(MISSING).
			est := addCapped(len(format)+64*(strings.Count(format, "%")+1), argsCost(args, pad))
			return m.build(est, func() string { return fmt.Sprintf(format, args...) })
		},
		// The escapers write at most 6 bytes per byte (js: \u003C), which
		// argsCost counts.
		"html": func(args ...any) (string, error) {
			return m.build(argsCost(args, 0), func() string { return template.HTMLEscaper(args...) })
		},
		"js": func(args ...any) (string, error) {
			return m.build(argsCost(args, 0), func() string { return template.JSEscaper(args...) })
		},
		"urlquery": func(args ...any) (string, error) {
			return m.build(argsCost(args, 0), func() string { return template.URLQueryEscaper(args...) })
		},
	}
}

// costCap keeps cost sums from overflowing; anything near it is far over
// any budget.
const costCap = 1 << 40

func addCapped(a, b int) int { return min(a+b, costCap) }

// argsCost bounds the bytes fmt writes for args, each leaf value padded
// by pad (a verb's width and precision), for any verb and flag: a byte of
// text takes at most 6 (%q, "% #x", js), a number at most 330 (%f of
// 1e308), and %v, %#v and %!verb(…) add at most the per-value overhead.
func argsCost(args []any, pad int) int {
	n := 16
	for _, a := range args {
		n = addCapped(n, valueCost(reflect.ValueOf(a), pad, 0))
	}
	return n
}

func valueCost(v reflect.Value, pad, depth int) int {
	const overhead = 64 // a type's name, braces, separators, %!verb()
	if depth > 4 {
		return costCap // template data is two levels deep
	}
	leaf := func(size int) int { return addCapped(6*size+pad, overhead) }
	switch v.Kind() {
	case reflect.Invalid:
		return leaf(5) // <nil>
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return leaf(5)
		}
		return valueCost(v.Elem(), pad, depth+1)
	case reflect.String:
		return leaf(v.Len())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return leaf(24)
	case reflect.Float32, reflect.Float64:
		return leaf(330)
	case reflect.Complex64, reflect.Complex128:
		return leaf(660)
	case reflect.Slice, reflect.Array:
		n := overhead
		for i := range v.Len() {
			n = addCapped(n, valueCost(v.Index(i), pad, depth+1))
		}
		return n
	case reflect.Map:
		n := overhead
		for it := v.MapRange(); it.Next(); {
			n = addCapped(n, addCapped(valueCost(it.Key(), pad, depth+1), valueCost(it.Value(), pad, depth+1)))
		}
		return n
	case reflect.Struct:
		n := overhead
		for i := range v.NumField() {
			n = addCapped(n, addCapped(len(v.Type().Field(i).Name), valueCost(v.Field(i), pad, depth+1)))
		}
		return n
	}
	return costCap // functions, channels: nothing a greeting prints
}

// printfPad checks a printf format as greetings may write it and returns
// the largest width plus precision of its verbs. fmt builds each verb in
// memory first, up to a million bytes wide, so widths go up to 999; *
// would take the width from an argument, and %[n] repeats an argument as
// often as the format says. It scans by hand: it runs on every printf of
// every render.
func printfPad(format string) (int, error) {
	pad := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		start := i
		if i++; i < len(format) && format[i] == '%' {
			continue // a literal %
		}
		end := i
		for end < len(format) && strings.IndexByte("-+# 0123456789.*[]", format[end]) >= 0 {
			end++
		}
		spec := format[start:end]
		total, n, num := 0, 0, 0 // width plus precision; the number read; its digits
		for ; i < end; i++ {
			switch c := format[i]; {
			case c == '*':
				return 0, &printfProblem{spec, "takes a width or precision from an argument; write it out, up to 999"}
			case c == '[' || c == ']':
				return 0, &printfProblem{spec, "argument indexes are not supported; write each argument out"}
			case c >= '0' && c <= '9':
				if num++; num > 3 {
					return 0, &printfProblem{spec, "is too wide; widths and precisions go up to 999"}
				}
				n = n*10 + int(c-'0')
			default:
				total, n, num = total+n, 0, 0
			}
		}
		pad = max(pad, total+n)
		i-- // the verb itself
	}
	return pad, nil
}

// printfProblem is a verb that greetings may not write.
type printfProblem struct{ spec, msg string }

// Error leaves the verb out: greetings of other repositories' files are
// shown without their text.
func (p *printfProblem) Error() string { return "printf: a verb " + p.msg }

// greeting is a welcome template compiled for one render or check.
type greeting struct {
	t *template.Template
	m *meter
	// links are the links it names.
	links []linkRef
}

// compileGreeting parses a welcome template and checks its parse tree
// against the greeting language above, with the text-building functions
// charged to a budget that ends with ctx. missingKey is text/template's
// option: "error" for the load check, "zero" to render a link the rules
// lack as empty text. This is the only way to a template that runs.
func compileGreeting(ctx context.Context, name, src, missingKey string) (*greeting, []*TemplateError) {
	m := &meter{ctx: ctx, left: maxGreetingBuild}
	t, err := template.New(name).Funcs(m.funcs()).Option("missingkey=" + missingKey).Parse(src)
	if err != nil {
		return nil, []*TemplateError{parseError(name, err)}
	}
	w := &templateWalker{name: name, src: src}
	if t.Tree != nil {
		w.list(t.Tree.Root, true, false)
	}
	if len(t.Templates()) != 1 || t.Tree == nil || definesOwnName(src) {
		// A {{block}} was reported as the {{template}} it also is.
		if e := defineError(name, src); e.define || !w.sawTemplate {
			w.errs = append(w.errs, &e.TemplateError)
		}
	}
	if len(w.errs) > 0 {
		slices.SortStableFunc(w.errs, func(a, b *TemplateError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, w.errs
	}
	return &greeting{t: t, m: m, links: w.refs}, nil
}

// definesOwnName reports a template whose whole text is a {{define}} of
// the name it is parsed under, which text/template takes as its body: it
// is parsed once more under another name, where such a define stands out
// as a second template.
func definesOwnName(src string) bool {
	t, err := template.New("greeting check").Funcs(template.FuncMap{"join": strings.Join}).Parse(src)
	return err != nil || len(t.Templates()) != 1
}

var defineAction = regexp.MustCompile(`\{\{-?\s*(define|block)\b`)

type defineProblem struct {
	TemplateError
	// define says the template has a {{define}}, not only {{block}}s.
	define bool
}

func defineError(name, src string) defineProblem {
	e := defineProblem{TemplateError: TemplateError{Name: name, Msg: "{{define}} and {{block}} are not supported in welcome messages; write the text out"}}
	for _, loc := range defineAction.FindAllStringSubmatchIndex(src, -1) {
		if e.Line == 0 {
			e.Line, e.Column = offsetPos(src, loc[0])
		}
		e.define = e.define || src[loc[2]:loc[3]] == "define"
	}
	if e.Line == 0 {
		e.define = true // spelt in a way the pattern misses
	}
	return e
}

// render executes the greeting, writing at most maxChars characters.
func (g *greeting) render(data WelcomeData, maxChars int) (string, error) {
	var b strings.Builder
	if err := g.t.Execute(&limitWriter{w: &b, n: maxChars, ctx: g.m.ctx}, data); err != nil {
		for _, sentinel := range []error{ErrGreetingTooLong, ErrGreetingTooCostly, context.Canceled, context.DeadlineExceeded} {
			if errors.Is(err, sentinel) {
				return "", sentinel
			}
		}
		return "", err
	}
	return b.String(), nil
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

// linkRef is a use of {{.Links.name}} at a byte offset of the template.
type linkRef struct {
	name string
	pos  int
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

// templateWalker checks a template's parse tree against the greeting
// language, node by node: anything it does not know is refused. It also
// checks the fields named on WelcomeData in every branch (execution sees
// only the branches the sample data takes) and collects the links named.
type templateWalker struct {
	name string
	src  string
	errs []*TemplateError
	refs []linkRef
	// sawTemplate is set by a {{template}} or {{block}}.
	sawTemplate bool
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
		case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		case *parse.ActionNode:
			w.pipe(n.Pipe, root, false)
		case *parse.IfNode:
			w.pipe(n.Pipe, root, false)
			w.list(n.List, root, inRange)
			w.list(n.ElseList, root, inRange)
		case *parse.WithNode:
			w.pipe(n.Pipe, root, false)
			w.list(n.List, false, inRange)
			w.list(n.ElseList, root, inRange)
		case *parse.RangeNode:
			switch {
			case inRange:
				w.errorAt(n.Pipe.Position(), "a range inside a range is not supported")
			case !rangeable(n.Pipe, root):
				w.errorAt(n.Pipe.Position(), "range only over .Modules or .Links")
			}
			w.pipe(n.Pipe, root, true)
			w.list(n.List, false, true)
			w.list(n.ElseList, root, inRange)
		case *parse.TemplateNode:
			w.sawTemplate = true
			w.errorAt(n.Position(), "{{template}} and {{block}} are not supported in welcome messages; write the text out")
		default:
			w.errorAt(n.Position(), "this action is not supported in welcome messages")
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

// pipe checks a pipeline; only a range's may declare variables, and none
// may assign one.
func (w *templateWalker) pipe(p *parse.PipeNode, root, isRange bool) {
	if p == nil {
		return
	}
	switch {
	case p.IsAssign:
		w.errorAt(p.Position(), "assigning variables ($x = …) is not supported in welcome messages")
	case len(p.Decl) > 0 && !isRange:
		w.errorAt(p.Decl[0].Position(), "variables are not supported in welcome messages, except a range's own: {{range $name, $url := .Links}}")
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
		for j, a := range c.Args {
			if id, ok := a.(*parse.IdentifierNode); ok {
				w.function(id, j == 0)
				continue
			}
			w.arg(a, root)
		}
	}
}

// function checks a function's name; one that is not first in its command
// is called without arguments (text/template allows {{len printf}}).
func (w *templateWalker) function(id *parse.IdentifierNode, first bool) {
	switch {
	case !slices.Contains(greetingFuncs, id.Ident):
		w.errorPlain(id.Position(), "a function that is not supported in welcome messages (supported: "+strings.Join(greetingFuncs, ", ")+")",
			"function %q is not supported in welcome messages (supported: %s)", id.Ident, strings.Join(greetingFuncs, ", "))
	case !first:
		w.errorPlain(id.Position(), "a function as an argument; call it in parentheses with its arguments",
			"%s as an argument is not supported; write (%s …) with its arguments", id.Ident, id.Ident)
	}
}

// printf allows only a format in quotes, written right after printf (not
// piped into it), that printfPad accepts.
func (w *templateWalker) printf(c *parse.CommandNode) {
	if len(c.Args) < 2 {
		// {{"%s%s" | printf}}: the format would be the piped value.
		w.errorAt(c.Args[0].Position(), "printf: write the format in quotes right after printf")
		return
	}
	format, ok := c.Args[1].(*parse.StringNode)
	if !ok {
		w.errorAt(c.Args[1].Position(), "printf: write the format in quotes")
		return
	}
	var p *printfProblem
	if _, err := printfPad(format.Text); errors.As(err, &p) {
		w.errorPlain(format.Position(), p.Error(), "printf: %q %s", p.spec, p.msg)
	}
}

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
		w.pipe(a, root, false)
	case *parse.ChainNode:
		w.arg(a.Node, root)
	case *parse.DotNode, *parse.NilNode, *parse.BoolNode, *parse.NumberNode, *parse.StringNode:
	default:
		w.errorAt(n.Position(), "this argument is not supported in welcome messages")
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
