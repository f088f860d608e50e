// Package markdown puts text that other people wrote (commit authors,
// issue titles, upstream hosts) into the Markdown contribot posts on
// GitHub, so that GitHub shows it as written and does nothing with it: no
// formatting or HTML, no links, no @mentions that notify, no issue, pull
// request or commit references that link elsewhere or add "mentioned this"
// events, and no invisible characters that change how the text reads.
//
// GitHub acts on Markdown in two passes, and both must find nothing:
//
//   - cmark-gfm parses CommonMark plus GFM's tables, strikethrough, HTML and
//     extended autolinks (bare "www.", "http://", "https://", "ftp://" and
//     email addresses). Backslash escapes and entities turn the syntax
//     characters into text.
//   - GitHub then rewrites the text nodes outside links and code:
//     "@login" and "@org/team" mentions; "#26", "GH-26" and
//     "owner/repo#26" references; "user@sha" and "owner/repo@sha" commit
//     links; ":name:" emoji shortcodes. These patterns match the decoded
//     text, so escapes do not stop them (cmark turns "\#26" and "&#35;26"
//     back into "#26"). A zero-width joiner (U+200D) inside the pattern
//     does: GitHub's patterns want a digit or a letter right after "#", "@"
//     and "GH-", its emoji names ([a-z0-9_+-]) right after the ":", and
//     cmark-gfm's autolinks want "www." and "://" unbroken. The joiner is
//     invisible and does not change how the characters around it look.
//
// GitHub also renders "$...$" as math. Whether it honours "\$" outside math
// is not documented (its docs suggest "<span>$</span>", and reports differ),
// so "$" is written as the entity "&#36;": the math syntax is made of
// literal "$" characters in the source, and an entity is none.
//
// The joiner is inserted only where a pattern would otherwise match, so
// ordinary names, addresses and titles come out byte for byte as they
// were, escapes aside.
package markdown

import (
	"strings"
	"unicode"
)

// zwj is the zero-width joiner that breaks GitHub's reference, mention and
// autolink patterns.
const zwj = '\u200d'

// backslashed are the ASCII characters that start or end Markdown or GFM
// syntax anywhere in a line: emphasis, code, links and images, tables,
// strikethrough, an ATX heading's closing "#"s, and backslash itself. "<",
// ">" and "&" are written as entities instead, which also stops HTML and
// entity references, and so is "$" (see the package comment).
const backslashed = "\\`*_[]()~|!{}#"

// entities are the characters written as HTML entities.
var entities = map[rune]string{'&': "&amp;", '<': "&lt;", '>': "&gt;", '$': "&#36;"}

// Text returns s as inline Markdown that GitHub renders as the same
// characters and nothing else, safe anywhere in a line: a table cell, a
// list item, a heading, the middle of a sentence. s may be anything,
// including invalid UTF-8.
//
//   - Line breaks, tabs and other control characters become spaces, runs of
//     spaces become one, and the ends are trimmed, so s stays on its line
//     and in its table cell.
//   - Invisible characters (see Invisible), such as bidi overrides that show
//     "exe.txt" as "txt.exe", are dropped; invalid UTF-8 becomes U+FFFD.
//   - Markdown syntax is escaped, and a line-start marker ("-", "+", "=",
//     "1.") too, so that s cannot start a heading or a list either, nor
//     lose a trailing "#" as a heading's closing sequence.
//   - Mentions, issue and commit references, emoji shortcodes and bare
//     autolinks get a zero-width joiner that breaks the pattern (see the
//     package comment).
//
// The result is at most five times as long as s: no character grows by
// more than "&amp;", "&#36;" or "\#" plus a joiner.
func Text(s string) string {
	rs := clean(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	marker := lineStartMarker(rs)
	for i, r := range rs {
		switch {
		case entities[r] != "":
			b.WriteString(entities[r])
		case strings.ContainsRune(backslashed, r) || i == marker:
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		if breakAfter(rs, i) {
			b.WriteRune(zwj)
		}
	}
	return b.String()
}

// Code returns s as an inline code span on one line, where GitHub makes no
// mention, reference, link or HTML: the fence is longer than any run of
// backticks inside. Invisible characters are dropped as in Text, since
// they reorder and hide text inside code too. It is not for table cells,
// where GFM ends the cell at a "|" even inside code. Empty text gives "".
func Code(s string) string {
	rs := clean(s)
	if len(rs) == 0 {
		return ""
	}
	longest, run := 0, 0
	for _, r := range rs {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		// CommonMark strips one space on each side, so a backtick at either
		// end does not join the fence.
		return fence + " " + string(rs) + " " + fence
	}
	return fence + string(rs) + fence
}

// Invisible reports whether r shows as nothing, or changes how the
// characters around it show, without a visible mark of its own: Unicode's
// format characters (bidi embeddings, overrides and isolates U+202A–U+202E
// and U+2066–U+2069, the marks U+200E, U+200F and U+061C, zero-width space,
// joiners, word joiner, BOM, soft hyphen, tag characters) and the other
// default-ignorable code points (Hangul fillers, U+034F, variation
// selectors beyond the sixteen that choose between emoji and text style).
// Such characters let text pass for other text, so contribot drops them
// from Markdown and shows them as escapes in a terminal.
func Invisible(r rune) bool {
	if r >= 0xFE00 && r <= 0xFE0F {
		return false // VS1–VS16: "❤" vs "❤️", visible in effect and harmless
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// clean is s as valid UTF-8 on one line, without invisible characters,
// with each run of spaces and control characters as one space and none at
// the ends.
func clean(s string) []rune {
	s = strings.ToValidUTF8(s, "\ufffd")
	out := make([]rune, 0, len(s))
	space := false
	for _, r := range s {
		switch {
		case Invisible(r):
			continue
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, r)
	}
	return out
}

// lineStartMarker is the index of the character that would make text at
// the start of a line a heading, list item or setext underline ("#", "-",
// "+", "=", the "." or ")" after an ordered list's number), or -1.
// Quotes (">") are entities already.
func lineStartMarker(rs []rune) int {
	if len(rs) == 0 {
		return -1
	}
	if strings.ContainsRune("#-+=", rs[0]) {
		return 0
	}
	i := 0
	for i < len(rs) && i < 9 && isDigit(rs[i]) {
		i++
	}
	if i > 0 && i < len(rs) && (rs[i] == '.' || rs[i] == ')') {
		return i
	}
	return -1
}

// breakAfter reports whether rs[i] ends the part of a GitHub pattern after
// which a zero-width joiner stops it from matching.
func breakAfter(rs []rune, i int) bool {
	at := func(j int) rune {
		if j < 0 || j >= len(rs) {
			return 0
		}
		return rs[j]
	}
	r, prev, next := rs[i], at(i-1), at(i+1)
	switch {
	case r == '#':
		// "#26" and "owner/repo#26"; a letter is never a reference, but
		// breaking it costs nothing and leaves no case to reason about.
		return unicode.IsLetter(next) || unicode.IsDigit(next)
	case r == '@':
		if !isASCIIAlnum(next) {
			return false
		}
		// After a word character, "@" is no mention but an email address
		// (left alone: cmark-gfm makes it a mailto link, which GitHub's
		// filters skip) or "user@sha" and "owner/repo@sha", commit links.
		return !isASCIIWord(prev) || commitAt(rs, i+1)
	case r == '-':
		// "GH-26".
		return isDigit(next) && unicode.ToLower(prev) == 'h' && unicode.ToLower(at(i-2)) == 'g'
	case r == ':':
		// "http://", "https://", "ftp://": cmark-gfm autolinks at the ":".
		// ":+1:", ":white_check_mark:": GitHub shows an emoji.
		return next == '/' && at(i+2) == '/' || shortcodeAt(rs, i+1)
	case unicode.ToLower(r) == 'w':
		// "www." after a space, "*", "_", "~" or "(" is an autolink;
		// inside a word, a domain or an address it is not, and stays whole.
		// The joiner must come before the dot: cmark-gfm reads any letter,
		// the joiner included, as part of a domain after it.
		before := at(i - 3)
		return next == '.' && unicode.ToLower(prev) == 'w' && unicode.ToLower(at(i-2)) == 'w' &&
			!isASCIIAlnum(before) && !strings.ContainsRune(".-@", before)
	}
	return false
}

// shortcodeAt reports whether rs[j:] starts with the rest of an emoji
// shortcode: a name of GitHub's emoji name characters, then ":". GitHub
// matches only the names it knows; any such name is broken here, which
// costs an invisible joiner and keeps the list of names out of this
// package. The scan stops at the next ":", so Text stays linear.
func shortcodeAt(rs []rune, j int) bool {
	n := 0
	for j+n < len(rs) && (isASCIIWord(rs[j+n]) || rs[j+n] == '+' || rs[j+n] == '-') {
		n++
	}
	return n > 0 && j+n < len(rs) && rs[j+n] == ':'
}

// commitAt reports whether rs[j:] starts with what GitHub takes for a
// commit SHA: seven or more hex digits not followed by a word character.
func commitAt(rs []rune, j int) bool {
	n := 0
	for j+n < len(rs) && isHex(rs[j+n]) {
		n++
	}
	return n >= 7 && (j+n == len(rs) || !isASCIIWord(rs[j+n]))
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isHex(r rune) bool { return isDigit(r) || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F') }

func isASCIIAlnum(r rune) bool { return isDigit(r) || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }

// isASCIIWord is \w of the regular expressions GitHub's patterns are
// written in, which is ASCII only: after "é", "@alice" is a mention.
func isASCIIWord(r rune) bool { return isASCIIAlnum(r) || r == '_' }
