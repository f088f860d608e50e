package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem (or warning) in a rules file, positioned so that an
// org admin can jump straight to it from a check run or `contribot rules check`.
type Error struct {
	File string
	// Line and Column are 1-based. Line 0 means the message is about the
	// whole file (it is too large); Column 0 means only the line is known,
	// which is all yaml.v3 tells about syntax errors.
	Line, Column int
	Msg          string
	// Section is the top-level section a warning concerns ("dco",
	// "labels"), so each feature shows only its own; empty concerns all.
	Section string
}

// Concerns reports whether the warning is about one of the sections, or
// about the file as a whole.
func (e *Error) Concerns(sections ...string) bool {
	return e.Section == "" || slices.Contains(sections, e.Section)
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
}

// Errors is every problem found in one go, so an admin fixes a file in one
// round trip instead of one push per typo.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// maxErrors keeps a hopeless file (say, a wrong file under the right name)
// from filling a check run, whose text GitHub caps at 65535 characters.
const maxErrors = 50

// report orders errors as they appear in the file (the decoder finds them in
// walk order) and cuts the list at maxErrors.
func (es Errors) report() Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	if len(es) <= maxErrors {
		return es
	}
	next := es[maxErrors]
	return append(es[:maxErrors:maxErrors], &Error{File: next.File, Line: next.Line, Column: next.Column,
		Msg: fmt.Sprintf("%d more problems from here on are not shown", len(es)-maxErrors)})
}

// asErrors flattens any error into positioned errors so that Result.Problems
// has one shape; a foreign error keeps its text under the given file name.
func asErrors(file string, err error) Errors {
	switch e := err.(type) {
	case nil:
		return nil
	case Errors:
		return e
	case *Error:
		return Errors{e}
	default:
		return Errors{{File: file, Msg: err.Error()}}
	}
}
