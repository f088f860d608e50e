package labels

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/SovereignCloudStack/contribot/app/markdown"
)

// Describe says in one line why a cause gives its label. rulesFile is the
// file that wrote labels.rules, for file:line citations.
func (c Cause) Describe(rulesFile string) string {
	var b strings.Builder
	switch c.Kind {
	case CauseSize:
		return "size: " + c.Detail
	case CauseFallback:
		return "tree-wide change: " + c.Detail
	case CauseImplied:
		fmt.Fprintf(&b, "module %s, implied by module %s, which ", c.Module, c.ImpliedBy)
	default:
		fmt.Fprintf(&b, "module %s: ", c.Module)
	}
	b.WriteString(c.rule(rulesFile))
	switch {
	case c.File != "" && c.Detail != "":
		fmt.Fprintf(&b, " matched %s (%s)", showPath(c.File), c.Detail)
	case c.File != "":
		fmt.Fprintf(&b, " matched %s", showPath(c.File))
	case c.Detail != "":
		fmt.Fprintf(&b, ": %s", c.Detail)
	default:
		b.WriteString(" names this repository")
	}
	return b.String()
}

// showPath is a changed file's path for one line of an explanation. Any
// GitHub user names the files of their pull request, and a path may hold
// a line break or a control character that would forge a line of its own
// in a log or a terminal: such a path is shown Go-quoted, others as they
// are.
func showPath(p string) string {
	for _, r := range p {
		if unicode.IsControl(r) || markdown.Invisible(r) || r == '\u2028' || r == '\u2029' {
			return strconv.QuoteToASCII(p)
		}
	}
	return p
}

func (c Cause) rule(rulesFile string) string {
	s := fmt.Sprintf("labels.rules[%d]", c.Rule)
	if c.RuleName != "" {
		s += fmt.Sprintf(" %q", c.RuleName)
	}
	if rulesFile != "" && c.Pos.Line > 0 {
		s += fmt.Sprintf(" (%s:%d)", rulesFile, c.Pos.Line)
	}
	return s
}

// Explain renders a decision for people: each wanted label with every
// cause, then what changes and what is left alone.
func Explain(d *Decision, rulesFile string) string {
	var b strings.Builder
	if len(d.Want) == 0 {
		b.WriteString("no labels: no rule matches\n")
	}
	width := 0
	for _, w := range d.Want {
		width = max(width, len(w.Label))
	}
	for _, w := range d.Want {
		for i, c := range w.Causes {
			label := w.Label
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(&b, "%-*s  %s\n", width, label, c.Describe(rulesFile))
		}
	}
	if d.TreeWide != "" && !d.hasFallback() {
		fmt.Fprintf(&b, "path labels left out, no fallback label set: %s\n", d.TreeWide)
	}
	for _, h := range d.Held {
		fmt.Fprintf(&b, "left alone: %s (%s)\n", h.Label, h.Reason)
	}
	if len(d.Add) > 0 {
		fmt.Fprintf(&b, "add: %s\n", strings.Join(d.Add, ", "))
	}
	if len(d.Remove) > 0 {
		fmt.Fprintf(&b, "remove: %s\n", strings.Join(d.Remove, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

func (d *Decision) hasFallback() bool {
	for _, w := range d.Want {
		for _, c := range w.Causes {
			if c.Kind == CauseFallback {
				return true
			}
		}
	}
	return false
}
