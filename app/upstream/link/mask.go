package link

import "bytes"

// mask returns a copy of text with fenced code blocks, inline code spans
// and HTML comments overwritten by spaces. Lengths and line breaks are
// kept, so line numbers still hold, and a masked region splits any URL
// around it.
//
// It follows CommonMark only as far as issue text needs: fences may be
// indented any amount and sit in block quotes (list items indent them),
// code spans end on their own line, and an unclosed fence or comment runs
// to the end of the text.
func mask(text string) []byte {
	b := []byte(text)
	var fence byte
	fenceLen := 0
	inComment := false
	for start := 0; start < len(b); {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start
		}
		line := b[start:end]
		switch {
		case inComment:
			inComment = maskInline(line, true)
		case fenceLen > 0:
			if c, n, info := fenceRun(line); c == fence && n >= fenceLen && len(bytes.TrimSpace(info)) == 0 {
				fenceLen = 0
			}
			blank(line)
		default:
			// A backtick fence's info string cannot hold a backtick, or
			// "```code```" on one line would open a block.
			if c, n, info := fenceRun(line); n >= 3 && (c == '~' || bytes.IndexByte(info, '`') < 0) {
				fence, fenceLen = c, n
				blank(line)
			} else {
				inComment = maskInline(line, false)
			}
		}
		start = end + 1
	}
	return b
}

// fenceRun returns the fence character and run length that start line
// after indentation and quote markers, and what follows the run.
func fenceRun(line []byte) (c byte, n int, rest []byte) {
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '>') {
		i++
	}
	if i == len(line) || (line[i] != '`' && line[i] != '~') {
		return 0, 0, nil
	}
	c = line[i]
	j := i
	for j < len(line) && line[j] == c {
		j++
	}
	return c, j - i, line[j:]
}

// maskInline masks the code spans and comments of one line and reports
// whether a comment is still open at its end. inComment says one was open
// at its start.
func maskInline(line []byte, inComment bool) bool {
	i := 0
	if inComment {
		j := bytes.Index(line, []byte("-->"))
		if j < 0 {
			blank(line)
			return true
		}
		blank(line[:j+3])
		i = j + 3
	}
	for i < len(line) {
		switch {
		case line[i] == '`':
			n := runLen(line, i)
			if i > 0 && line[i-1] == '\\' {
				// An escaped backtick is literal; the rest of its run
				// may still open a span.
				i++
				continue
			}
			if k := closingRun(line, i+n, n); k >= 0 {
				blank(line[i : k+n])
				i = k + n
			} else {
				i += n
			}
		case line[i] == '<' && hasPrefix(line[i:], "<!--"):
			// Searching from "--" accepts the empty comments "<!-->" and
			// "<!--->", as CommonMark does.
			j := bytes.Index(line[i+2:], []byte("-->"))
			if j < 0 {
				blank(line[i:])
				return true
			}
			end := i + 2 + j + 3
			blank(line[i:end])
			i = end
		default:
			i++
		}
	}
	return false
}

func runLen(line []byte, i int) int {
	j := i
	for j < len(line) && line[j] == line[i] {
		j++
	}
	return j - i
}

// closingRun finds the next run of exactly n backticks from i, which is
// what closes a code span.
func closingRun(line []byte, i, n int) int {
	for i < len(line) {
		if line[i] != '`' {
			i++
			continue
		}
		m := runLen(line, i)
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

func blank(b []byte) {
	for i := range b {
		b[i] = ' '
	}
}
