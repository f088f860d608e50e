// Package dco decides whether the commits of a pull request carry a
// Developer Certificate of Origin sign-off, and renders the verdict as a
// check run. Everything except localgit.go is pure: the handler gathers the
// inputs and applies the outcome.
package dco

import (
	"strings"
)

// Trailer is one "Key: value" line of a commit message's trailer block, as
// `git interpret-trailers --parse` prints it: key and value trimmed,
// continuation lines folded into the value with single spaces.
type Trailer struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Identity is a person as written in a sign-off: "Name <email>".
type Identity struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// String renders the identity the way git writes it in a sign-off.
func (id Identity) String() string { return id.Name + " <" + id.Email + ">" }

// The rest of this file mirrors git's trailer.c (v2.39) closely, because a
// sign-off only counts where git itself would find it: contributors check
// their commits with git, and a check that disagrees with git is a check
// nobody can satisfy on purpose. Index arithmetic follows git's so that each
// rule can be compared line by line with the C source.

const (
	commentChar = '#'
	// cutLine is git's scissors line; everything below it is not message.
	cutLine = "# ------------------------ >8 ------------------------\n"
)

// gitGeneratedPrefixes are the trailers git writes itself. Only these, matched
// case-sensitively, let a block that is mostly prose still count as trailers.
var gitGeneratedPrefixes = []string{"Signed-off-by: ", "(cherry picked from commit "}

// isSpace is git's isspace: its ctype table has only these four, so a
// vertical tab or form feed is text, not blank.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isAlnum is git's isalnum: ASCII only, so a key with non-ASCII letters is
// not a trailer key.
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// nextLine returns the start of the line after the one containing i.
func nextLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(s)
}

// lastLine returns the start of the last line of s[:n], where a final
// newline belongs to that line; -1 when n is 0.
func lastLine(s string, n int) int {
	if n == 0 {
		return -1
	}
	if n == 1 {
		return 0
	}
	if j := strings.LastIndexByte(s[:n-1], '\n'); j >= 0 {
		return j + 1
	}
	return 0
}

func isBlankLine(s string, i int) bool {
	for i < len(s) && s[i] != '\n' && isSpace(s[i]) {
		i++
	}
	return i >= len(s) || s[i] == '\n'
}

// findSeparator returns the offset of the ':' that ends a trailer key at
// s[i:], or -1. A key is ASCII letters, digits and '-', optionally followed
// by blanks before the separator ("Key : value" is a trailer).
func findSeparator(s string, i int) int {
	whitespace := false
	for c := i; c < len(s); c++ {
		switch ch := s[c]; {
		case ch == ':':
			return c - i
		case !whitespace && (isAlnum(ch) || ch == '-'):
			continue
		case c != i && (ch == ' ' || ch == '\t'):
			whitespace = true
		default:
			return -1
		}
	}
	return -1
}

// findPatchStart finds git's "---" divider: the message ends at the first
// line that starts with three dashes followed by whitespace.
func findPatchStart(s string) int {
	for i := 0; i < len(s); i = nextLine(s, i) {
		if strings.HasPrefix(s[i:], "---") && i+3 < len(s) && isSpace(s[i+3]) {
			return i
		}
	}
	return len(s)
}

// trailerEnd drops what follows the trailers at the end of the message:
// trailing comment lines, empty lines, an old-style "Conflicts:" block and
// anything below a scissors line (git's ignore_non_trailer).
func trailerEnd(s string, n int) int {
	cutoff := n
	if strings.HasPrefix(s, cutLine) {
		cutoff = 0
	} else if p := strings.Index(s, "\n"+cutLine); p >= 0 && p+1 < n {
		// git searches the whole buffer and may run past the divider when the
		// scissors come after it; clamping keeps us inside the message, which
		// git commit guarantees anyway by cutting at the scissors.
		cutoff = p + 1
	}
	boc, inConflicts := 0, false
	for bol := 0; bol < cutoff; {
		next := n
		if j := strings.IndexByte(s[bol:n], '\n'); j >= 0 {
			next = bol + j + 1
		}
		switch {
		case s[bol] == commentChar || s[bol] == '\n':
			if boc == 0 {
				boc = bol
			}
		case strings.HasPrefix(s[bol:], "Conflicts:\n"):
			inConflicts = true
			if boc == 0 {
				boc = bol
			}
		case inConflicts && s[bol] == '\t':
		case boc != 0:
			boc, inConflicts = 0, false
		}
		bol = next
	}
	// git returns "boc ? len - boc : len - cutoff"; a run that starts at
	// offset 0 is therefore indistinguishable from none, and so it is here.
	if boc != 0 {
		return boc
	}
	return cutoff
}

// trailerStart finds where the trailer block in s[:n] begins, or n when the
// last paragraph is not a trailer block. The block is the last paragraph
// (never the first, which is the title) when all its lines are trailers, or
// when at least a quarter are and one was written by git.
func trailerStart(s string, n int) int {
	endOfTitle := 0
	for endOfTitle < n {
		if s[endOfTitle] != commentChar && isBlankLine(s, endOfTitle) {
			break
		}
		endOfTitle = nextLine(s, endOfTitle)
	}

	onlySpaces := true
	recognized := false
	trailers, nonTrailers, continuations := 0, 0, 0
	for l := lastLine(s, n); l >= endOfTitle; l = lastLine(s, l) {
		if s[l] == commentChar {
			nonTrailers += continuations
			continuations = 0
			continue
		}
		if isBlankLine(s, l) {
			if onlySpaces {
				continue
			}
			nonTrailers += continuations
			if recognized && trailers*3 >= nonTrailers {
				return nextLine(s, l)
			}
			if trailers > 0 && nonTrailers == 0 {
				return nextLine(s, l)
			}
			return n
		}
		onlySpaces = false

		generated := false
		for _, p := range gitGeneratedPrefixes {
			if strings.HasPrefix(s[l:], p) {
				generated = true
				break
			}
		}
		switch {
		case generated:
			trailers++
			continuations = 0
			recognized = true
		case findSeparator(s, l) >= 1 && !isSpace(s[l]):
			// git would also recognise keys configured as trailer.<key>.key;
			// contribot runs with no such configuration.
			trailers++
			continuations = 0
		case isSpace(s[l]):
			continuations++
		default:
			nonTrailers += 1 + continuations
			continuations = 0
		}
	}
	return n
}

// ParseTrailers returns the trailers of a commit message exactly as
// `git interpret-trailers --parse` would print them, in order. Comment lines
// ('#') are ignored, a line starting with "---" and whitespace ends the
// message, and lines starting with whitespace continue the previous trailer.
func ParseTrailers(msg string) []Trailer {
	// git works on C strings, so a NUL ends the message for it too.
	if i := strings.IndexByte(msg, 0); i >= 0 {
		msg = msg[:i]
	}
	end := trailerEnd(msg, findPatchStart(msg))
	start := trailerStart(msg, end)

	var lines []string
	last := -1
	for i := start; i < end; {
		j := nextLine(msg, i)
		if j > end {
			j = end
		}
		line := msg[i:j]
		i = j
		if last >= 0 && isSpace(line[0]) {
			lines[last] += line
			continue
		}
		lines = append(lines, line)
		last = -1
		if findSeparator(line, 0) >= 1 {
			last = len(lines) - 1
		}
	}

	var out []Trailer
	for _, line := range lines {
		if line[0] == commentChar {
			continue
		}
		sep := findSeparator(line, 0)
		if sep < 1 {
			continue
		}
		out = append(out, Trailer{
			Key:   trimSpace(line[:sep]),
			Value: unfold(trimSpace(line[sep+1:])),
		})
	}
	return out
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// unfold collapses each newline and the blanks after it into one space, as
// `git interpret-trailers --unfold` does.
func unfold(v string) string {
	if !strings.Contains(v, "\n") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		c := v[i]
		i++
		if c != '\n' {
			b.WriteByte(c)
			continue
		}
		for i < len(v) && isSpace(v[i]) {
			i++
		}
		b.WriteByte(' ')
	}
	return trimSpace(b.String())
}

// signOffKey is compared case-insensitively: git writes it capitalised, but
// people type it by hand and the Probot DCO app accepts any case.
const signOffKey = "Signed-off-by"

// signOff is one Signed-off-by trailer: the parsed identity when the value
// has the form "Name <email>", and the raw value for error messages.
type signOff struct {
	Identity
	Raw string
	OK  bool
}

func parseSignOffs(msg string) []signOff {
	var out []signOff
	for _, t := range ParseTrailers(msg) {
		if !strings.EqualFold(t.Key, signOffKey) {
			continue
		}
		id, ok := parseIdentity(t.Value)
		out = append(out, signOff{Identity: id, Raw: t.Value, OK: ok})
	}
	return out
}

// parseIdentity splits "Name <email>". Like the Probot DCO app it splits at
// the last '<' so a name may itself contain angle brackets; unlike it, blanks
// around the name and inside the brackets do not matter.
func parseIdentity(v string) (Identity, bool) {
	v = strings.TrimSpace(v)
	if !strings.HasSuffix(v, ">") {
		return Identity{}, false
	}
	i := strings.LastIndexByte(v, '<')
	if i < 0 {
		return Identity{}, false
	}
	id := Identity{
		Name:  strings.TrimSpace(v[:i]),
		Email: strings.TrimSpace(v[i+1 : len(v)-1]),
	}
	return id, id.Name != "" && id.Email != ""
}

// SignOffs returns the identities of the well-formed Signed-off-by trailers
// of msg, in order. Trailers whose value is not "Name <email>" are left out.
func SignOffs(msg string) []Identity {
	var out []Identity
	for _, s := range parseSignOffs(msg) {
		if s.OK {
			out = append(out, s.Identity)
		}
	}
	return out
}
