package rules

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Path globs are matched with RE2, not with doublestar's matcher: RE2
// matches in time linear in the program's size times the path's length,
// where doublestar backtracks (a glob of 200 bytes against 3,000 paths of
// 1 KB took seconds). globRegexp translates a glob into an expression that
// matches exactly the paths doublestar.Match matches, quirks included;
// TestGlobRegexp and FuzzGlobRegexp hold the two to each other.
//
// doublestar.Match(pattern, name) works on the pattern text left to right,
// with one backtrack point for the last "*" and one for the last "**/":
//
//   - "*" matches any run without "/", "?" one character other than "/",
//     a class one character it lists (or does not list, with ^ or !);
//   - "**" at the start of a segment and before "/" matches any run of
//     whole directories ("(?:.*/)?"); at the start of a segment at the end
//     of the pattern, anything ("a/**" matches "a/b/c"); elsewhere it is "*";
//   - "{a,b}" is expanded where the matcher reaches it, each alternative
//     followed by the rest of the pattern;
//   - the name runs out inside a token that takes its last character, and
//     then matches only if the pattern text left is "", "*", "**", "/**",
//     "**/" or "/**/" ("a/**" matches "a"; "a*/**" does not), or starts
//     with "{" and an alternative with the rest is such text. A "*" or
//     "**/" right before another one takes nothing: the later one is the
//     backtrack point.
//
// With one backtrack point per kind, doublestar's search is complete only
// while a class cannot match "/": "*[^a]*x" would match "b/cx" as a
// regular expression but not in doublestar. Its "**/" commits to the first
// run of directories after which the pattern reaches the next "**/", which
// matters only where the name then runs out before a pattern ending in
// "**/" ("**/*/**/" does not match "/0"): a glob ending in "/" matches no
// file anyway. And reading "{" where the
// matcher reaches it differs from reading each expansion on its own only
// where "{" follows "*" ("**{/a,b}" reads "**" as "*") or follows "/" with
// an alternative that leaves only "*" and "/" ("a/{**,b}" does not match
// "a", "a/**" does). Globs with such classes, braces or ends are refused when
// the rules load (globMatchProblem), so the translation of each expansion is exact
// for every glob a rules file may hold.

// globRegexp is the RE2 expression for the non-empty names p matches, as
// doublestar.Match matches them. p must pass doublestar.ValidatePattern
// and globMatchProblem.
func globRegexp(p string) (string, error) {
	var alts []string
	for _, e := range braceExpansions(p) {
		toks, err := globTokens(e)
		if err != nil {
			return "", err
		}
		// The tokens after which the name may run out, in runs.
		var ends []int
		flush := func() {
			if len(ends) > 0 {
				alts = append(alts, concat(toks[:ends[0]])+endingAt(toks, ends))
			}
			ends = ends[:0]
		}
		for i, t := range toks {
			rest := len(e)
			if i+1 < len(toks) {
				rest = toks[i+1].start
			}
			switch {
			case i+1 < len(toks) && t.kind != tokOne && toks[i+1].kind != tokOne && !(t.kind == tokDirs && toks[i+1].kind == tokStar):
				// The next "*" or "**" is the backtrack point: t takes nothing.
				flush()
			case zeroLength(e[rest:]):
				ends = append(ends, i)
			default:
				flush()
			}
		}
		flush()
	}
	if len(alts) == 0 {
		return `^[^\x00-\x{10FFFF}]$`, nil // matches nothing
	}
	return `^(?s:` + strings.Join(alts, "|") + `)$`, nil
}

// Kinds of glob tokens.
const (
	tokOne      = iota // a literal, "?" or a class: exactly one character
	tokStar            // "*", or "**" inside a segment
	tokDirs            // "**/" at the start of a segment
	tokAnything        // "**" at the start of a segment at the pattern's end
)

type globTok struct {
	kind int
	re   string
	// start is where the token starts in the pattern text.
	start int
}

// nonEmptyRE is t's expression for non-empty text.
func (t globTok) nonEmptyRE() string {
	switch t.kind {
	case tokStar:
		return `[^/]+`
	case tokDirs:
		return `.*/`
	case tokAnything:
		return `.+`
	}
	return t.re
}

// braceExpansions are the patterns p's braces expand to, in doublestar's
// order: the first "{" outside a class, each alternative with the rest,
// and so on.
func braceExpansions(p string) []string {
	open := firstBrace(p)
	if open < 0 {
		return []string{p}
	}
	closing := closingBrace(p, open)
	if closing < 0 {
		return []string{p} // ValidatePattern refuses it
	}
	var out []string
	for _, alt := range braceAlternatives(p[open+1 : closing]) {
		out = append(out, braceExpansions(p[:open]+alt+p[closing+1:])...)
	}
	return out
}

// firstBrace is the index of the first "{" outside a class, not escaped;
// -1 if none.
func firstBrace(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			if _, end, err := globClass(s, i); err == nil {
				i = end - 1
			}
		case '{':
			return i
		}
	}
	return -1
}

// braceProblem says why p's braces read differently where doublestar
// reaches them than each expansion on its own (see above), or "".
func braceProblem(p string) string {
	open := firstBrace(p)
	if open < 0 {
		return ""
	}
	closing := closingBrace(p, open)
	if closing < 0 {
		return ""
	}
	before := byte(0)
	if open > 0 {
		before = p[open-1]
	}
	for _, alt := range braceAlternatives(p[open+1 : closing]) {
		rest := alt + p[closing+1:]
		switch {
		case before == '*':
			return `"{" right after "*": doublestar reads "*{" and "**{" differently from the patterns they expand to; write the "*" inside each alternative`
		case before == '/' && strings.Trim(rest, "*/") == "":
			return `an alternative after "/" that leaves only "*" and "/" (such as "a/{**,b}"): doublestar matches it differently from the pattern it expands to; write it as two globs`
		}
		if problem := braceProblem(p[:open] + rest); problem != "" {
			return problem
		}
	}
	return ""
}

// endingAt is the expression for the tokens from ends[0] on that end
// after one of ends, a run of consecutive token indexes, with the last
// token taking at least one character: where the name runs out. One
// expression for the run, not one per end, keeps the program small:
// "a/**" is a(?:/(?:.+)?)?, not a|a/|a/.+.
func endingAt(toks []globTok, ends []int) string {
	t := toks[ends[0]]
	if len(ends) == 1 {
		return t.nonEmptyRE()
	}
	rest := endingAt(toks, ends[1:])
	if t.kind == tokOne {
		return t.re + "(?:" + rest + ")?"
	}
	return "(?:" + t.nonEmptyRE() + "|" + t.re + rest + ")"
}

// concat is the expression for toks in a row; runs of "*" are one, which
// matches the same and compiles smaller.
func concat(toks []globTok) string {
	var b strings.Builder
	for i, t := range toks {
		if t.kind == tokStar && i > 0 && toks[i-1].kind == tokStar {
			continue
		}
		b.WriteString(t.re)
	}
	return b.String()
}

// globTokens reads a brace-free pattern as doublestar's matcher does.
func globTokens(s string) ([]globTok, error) {
	var toks []globTok
	sos := true // at the start of a segment
	for i := 0; i < len(s); {
		start := i
		switch s[i] {
		case '*':
			i++
			if i < len(s) && s[i] == '*' {
				i++
				switch {
				case sos && i >= len(s):
					toks = append(toks, globTok{tokAnything, `.*`, start})
					continue
				case sos && s[i] == '/':
					i++
					toks = append(toks, globTok{tokDirs, `(?:.*/)?`, start})
					continue // a segment starts after it, still
				}
			}
			toks = append(toks, globTok{tokStar, `[^/]*`, start})
			sos = false
		case '?':
			i++
			toks = append(toks, globTok{tokOne, `[^/]`, start})
			sos = false
		case '[':
			class, end, err := globClass(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, globTok{tokOne, class.re(), start})
			i, sos = end, false
		default:
			if s[i] == '\\' {
				if i++; i >= len(s) {
					return nil, errors.New(`a lone \ at the end`)
				}
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			toks = append(toks, globTok{tokOne, regexp.QuoteMeta(string(r)), start})
			sos = r == '/'
		}
	}
	return toks, nil
}

// runeClass is a glob's character class: the ranges it lists.
type runeClass struct {
	negate bool
	ranges [][2]rune
}

func (c runeClass) has(r rune) bool {
	for _, rg := range c.ranges {
		if rg[0] <= r && r <= rg[1] {
			return true
		}
	}
	return false
}

// matchesSlash reports whether the class can match "/", which makes
// doublestar's search incomplete (see above).
func (c runeClass) matchesSlash() bool { return c.has('/') != c.negate }

func (c runeClass) re() string {
	var listed []string
	for _, rg := range c.ranges {
		if rg[0] <= rg[1] { // doublestar's lo-hi with lo above hi matches nothing
			listed = append(listed, fmt.Sprintf(`\x{%x}-\x{%x}`, rg[0], rg[1]))
		}
	}
	switch {
	case len(listed) == 0 && c.negate:
		return `[\x{0}-\x{10FFFF}]`
	case len(listed) == 0:
		return `[^\x{0}-\x{10FFFF}]`
	case c.negate:
		return "[^" + strings.Join(listed, "") + "]"
	}
	return "[" + strings.Join(listed, "") + "]"
}

// globClass reads the class at s[i] ("["), as doublestar's matcher scans
// it, and returns where it ends.
func globClass(s string, i int) (runeClass, int, error) {
	var c runeClass
	i++
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		c.negate = true
		i++
	}
	if i >= len(s) || s[i] == ']' {
		return c, 0, errors.New("an empty or unclosed class")
	}
	last := utf8.MaxRune
	for i < len(s) && s[i] != ']' {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if last < utf8.MaxRune && r == '-' && i < len(s) && s[i] != ']' {
			if s[i] == '\\' {
				i++
			}
			hi, size := utf8.DecodeRuneInString(s[i:])
			i += size
			c.ranges = append(c.ranges, [2]rune{last, hi})
			last = utf8.MaxRune
			continue
		}
		if r == '\\' {
			r, size = utf8.DecodeRuneInString(s[i:])
			i += size
		}
		c.ranges = append(c.ranges, [2]rune{r, r})
		last = r
	}
	if i >= len(s) {
		return c, 0, errors.New("an unclosed class")
	}
	return c, i + 1, nil
}

// globMatchProblem says why a glob cannot be matched as doublestar
// matches it (see above), or "".
func globMatchProblem(p string) string {
	if problem := classProblem(p); problem != "" {
		return problem
	}
	if problem := braceProblem(p); problem != "" {
		return problem
	}
	for _, e := range braceExpansions(p) {
		if strings.HasSuffix(e, "/") {
			return `it ends in "/", and changed paths name files, never directories: drop the final "/" (write dir/** for what is under dir)`
		}
	}
	return ""
}

// classProblem says why a glob's classes keep it from being matched as
// doublestar matches it, or "".
func classProblem(p string) string {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			c, end, err := globClass(p, i)
			if err != nil {
				return ""
			}
			if c.matchesSlash() {
				if c.negate {
					return `a class [^…] or [!…] must list "/" among what it does not match, such as [^/.]: a class matches one character within a path segment`
				}
				return `a class [...] must not list "/": a class matches one character within a path segment`
			}
			i = end - 1
		}
	}
	return ""
}

// zeroLength is doublestar's isZeroLengthPattern: whether the pattern text
// left when the name runs out still matches.
func zeroLength(rest string) bool {
	switch rest {
	case "", "*", "**", "/**", "**/", "/**/":
		return true
	}
	if rest == "" || rest[0] != '{' {
		return false
	}
	closing := closingBrace(rest, 0)
	if closing < 0 {
		return false
	}
	for _, alt := range braceAlternatives(rest[1:closing]) {
		if zeroLength(alt + rest[closing+1:]) {
			return true
		}
	}
	return false
}

// closingBrace is the index of the "}" that closes the "{" at s[open], as
// doublestar finds it (classes and escapes skipped); -1 if none.
func closingBrace(s string, open int) int {
	depth := 1
	for i := open + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			i = classEnd(s, i)
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// classEnd is the index of the "]" that closes the class opening at
// open, skipping escapes, the way doublestar scans past a class when it
// looks for braces and commas (not the way it matches one); len(s) if none.
func classEnd(s string, open int) int {
	i := open + 1
	for ; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		} else if s[i] == ']' {
			break
		}
	}
	return i
}

// braceAlternatives splits the text inside braces at its top-level commas,
// as doublestar's indexNextAlt does.
func braceAlternatives(s string) []string {
	var alts []string
	depth, start := 1, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			i = classEnd(s, i)
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 1 {
				alts = append(alts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(alts, s[start:])
}

// globProgram compiles a glob's expression and returns it with the size of
// its program, which bounds what matching a path costs per byte.
func globProgram(p string) (*regexp.Regexp, int, error) {
	expr, err := globRegexp(p)
	if err != nil {
		return nil, 0, err
	}
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, 0, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, 0, err
	}
	compiled, err := regexp.Compile(expr)
	if err != nil {
		return nil, 0, err
	}
	return compiled, len(prog.Inst), nil
}
