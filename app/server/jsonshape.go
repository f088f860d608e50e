package server

import "bytes"

// The shape a payload may have, checked before any parser sees it. GitHub's
// own payloads are far inside these bounds; each is set so that what a
// parser or go-github's decoder builds from a payload that passes stays
// small, whatever the sender put in it.
const (
	// MaxDepth is how deeply a payload may nest arrays and objects.
	// GitHub's payloads nest at most 7 levels (the 134 octokit/webhooks
	// examples in fixtures/github); 64 leaves room for shapes GitHub adds
	// later, and is far from where a recursive parser's stack could matter.
	MaxDepth = 64
	// MaxElements is the most elements one array, or members one object,
	// may hold. GitHub documents its largest arrays: a push lists at most
	// 2048 commits, and at most 3000 changed files per commit; a pull
	// request carries at most 100 labels. The examples' largest array holds
	// 43 elements and their largest object 81 members. Without a bound,
	// 8 million `{}` in a pull request's labels (23 MiB) became 8 million
	// structs in go-github's decoder: 861 MiB.
	MaxElements = 10_000
	// MaxValues is the most values (objects, arrays, strings, numbers,
	// literals) a payload may hold in all. The busiest example holds 562; a
	// push at GitHub's 2048-commit cap holds about 50,000 with its file
	// lists. A payload at both bounds costs go-github's decoder at most
	// 17 MiB for any event a feature decodes (app's
	// TestDecode_AnyoneWithTheSecret_WorstShapeWithinBounds fills every
	// slice and map of each with empty elements), and no more than
	// 100,000 of its largest struct (880 bytes) in any case.
	MaxValues = 100_000
)

// shapeLimits are the bounds checkShape enforces; tests lower them.
type shapeLimits struct {
	depth, elements, values int
}

var defaultShape = shapeLimits{depth: MaxDepth, elements: MaxElements, values: MaxValues}

// shapeProblem is the first bound a payload exceeds.
type shapeProblem int

const (
	shapeOK shapeProblem = iota
	shapeTooDeep
	shapeTooManyElements
	shapeTooManyValues
)

// checkShape reports the first of l's bounds that b exceeds. It scans once,
// without recursion, without allocating and without validating: brackets
// and commas inside strings (with escaped quotes) do not count, and
// malformed JSON is left to the parser, which only ever sees input within
// the bounds. A depth above MaxDepth is treated as MaxDepth.
func checkShape(b []byte, l shapeLimits) shapeProblem {
	l.depth = min(l.depth, MaxDepth)
	// elements[d] counts the elements (or members) of the open container
	// at depth d; depth 0 is outside any.
	var elements [MaxDepth + 1]int
	depth, values := 0, 1 // the document itself is a value
	for i := 0; i < len(b); i++ {
		// Most bytes outside strings are indentation, digits and keywords;
		// one table lookup each skips them.
		for !structural[b[i]] {
			if i++; i == len(b) {
				return shapeOK
			}
		}
		switch b[i] {
		case '"':
			// Skip to the closing quote: one not preceded by an odd run of
			// backslashes. Runs are counted back to the previous quote at
			// most, so the scan stays linear.
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return shapeOK // unterminated string: the parser rejects it
				}
				i += j + 1
				k := i - 1
				for b[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
		case '[', '{':
			depth++
			if depth > l.depth {
				return shapeTooDeep
			}
			// A container holds one element more than it has commas,
			// unless it is empty.
			j := i + 1
			for j < len(b) && whitespace[b[j]] {
				j++
			}
			elements[depth] = 0
			if j < len(b) && b[j] != ']' && b[j] != '}' {
				elements[depth] = 1
				values++
			}
			i = j - 1
		case ',':
			elements[depth]++
			if depth > 0 && elements[depth] > l.elements {
				return shapeTooManyElements
			}
			values++
		case ']', '}':
			// Closers without openers are malformed; not going below zero
			// keeps the count of what follows them.
			if depth > 0 {
				depth--
			}
		}
		if values > l.values {
			return shapeTooManyValues
		}
	}
	return shapeOK
}

// structural marks the bytes checkShape stops at.
var structural = [256]bool{'"': true, '[': true, ']': true, '{': true, '}': true, ',': true}

// whitespace is JSON's insignificant whitespace.
var whitespace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (p shapeProblem) String() string {
	return [...]string{"ok", "too deep", "too many elements", "too many values"}[p]
}
