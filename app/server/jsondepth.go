package server

import "bytes"

// MaxDepth is how deeply a payload may nest arrays and objects. GitHub's
// payloads nest at most 7 levels (the 155 examples in fixtures/github and
// octokit/webhooks); 64 leaves room for shapes GitHub adds later, and is
// far from where a recursive parser's stack could matter.
const MaxDepth = 64

// tooDeep reports whether b nests arrays and objects more than limit
// levels deep. It scans without recursion and without validating: brackets
// inside strings (with escaped quotes) do not count, and malformed JSON is
// left to the parser, which only ever sees shallow input.
func tooDeep(b []byte, limit int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		// Most bytes outside strings are indentation, digits, keywords
		// and separators; one table lookup each skips them.
		for !structural[b[i]] {
			if i++; i == len(b) {
				return false
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
					return false // unterminated string: the parser rejects it
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
			if depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// structural marks the bytes tooDeep stops at.
var structural = [256]bool{'"': true, '[': true, ']': true, '{': true, '}': true}
