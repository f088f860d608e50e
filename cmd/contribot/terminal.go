package main

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/markdown"
)

// The offline commands print what others wrote: commit authors, sign-offs
// and messages (dco check), file names from a pull request (labels
// explain), rules files (rules check), errors and logs that quote GitHub
// (upstream backfill). A terminal acts on some characters instead of
// showing them: ESC starts sequences that set the window title, clear the
// screen, move the cursor or, in some terminals, write files; C1 controls
// (U+0080–U+009F) do the same in one character; a carriage return
// overwrites the line. Bidi overrides and zero-width characters make text
// read as other text. Every command's output goes through a terminal
// writer, which writes such characters as Go escapes (\x1b, \r, \u202e),
// visibly and without effect. Backslashes already in the text stay as they
// are: the escapes are for people to read, not for programs to parse back
// (programs read --json).

// terminal wraps a command's human output: line breaks and tabs lay it
// out and pass, everything else that a terminal would act on or that
// hides itself is escaped. Every Write must hold whole characters, as
// fmt's and encoding/json's do.
func terminal(w io.Writer) io.Writer { return terminalWriter{w: w} }

// terminalJSON wraps JSON output. encoding/json escapes C0 controls and
// U+2028/U+2029 but writes C1 controls, bidi overrides and zero-width
// characters as they are; this escapes them the JSON way (\u009b,
// surrogate pairs above U+FFFF), so the document decodes to the same
// values and is safe on a terminal.
func terminalJSON(w io.Writer) io.Writer { return terminalWriter{w: w, json: true} }

// terminalText is s for a single line of human output: as terminal
// writes it, and line breaks and tabs escaped too, so a name or a reason
// cannot start a line that looks like the command's own.
func terminalText(s string) string {
	return string(appendTerminal(nil, []byte(s), false, false))
}

type terminalWriter struct {
	w    io.Writer
	json bool
}

func (t terminalWriter) Write(p []byte) (int, error) {
	if terminalSafe(p) {
		return t.w.Write(p)
	}
	if _, err := t.w.Write(appendTerminal(make([]byte, 0, len(p)+16), p, true, t.json)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// terminalSafe reports whether p needs no escaping, so that ordinary
// output is written as it is, in one piece.
func terminalSafe(p []byte) bool {
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if (c < ' ' && c != '\n' && c != '\t') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if (r == utf8.RuneError && size == 1) || unsafeInTerminal(r) {
			return false
		}
		i += size
	}
	return true
}

// unsafeInTerminal reports whether a terminal would act on r rather than
// show it, or would show it as nothing: C0 and C1 controls, DEL, line and
// paragraph separators, and what markdown.Invisible names.
func unsafeInTerminal(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || markdown.Invisible(r)
}

// appendTerminal appends p to b with unsafe characters and invalid UTF-8
// escaped; layout keeps line breaks and tabs.
func appendTerminal(b, p []byte, layout, json bool) []byte {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if json {
				b = append(b, `\ufffd`...) // encoding/json writes none, but stay valid
			} else {
				b = fmt.Appendf(b, `\x%02x`, p[i])
			}
		case layout && (r == '\n' || r == '\t'):
			b = append(b, byte(r))
		case !unsafeInTerminal(r):
			b = append(b, p[i:i+size]...)
		case json && r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			b = fmt.Appendf(b, `\u%04x\u%04x`, r1, r2)
		case json:
			b = fmt.Appendf(b, `\u%04x`, r)
		default:
			b = appendEscape(b, r)
		}
		i += size
	}
	return b
}

// shortEscapes are the C0 controls Go writes with a letter.
var shortEscapes = map[rune]string{'\a': `\a`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`, '\v': `\v`}

// appendEscape writes r as a Go escape: \x1b, \r, \u202e, \U000e0041.
// strconv.QuoteRune would do for controls, but writes the characters it
// deems printable as they are, and some that unsafeInTerminal flags are:
// the Hangul fillers U+3164, U+FFA0, U+115F, U+1160, U+034F, U+17B4.
func appendEscape(b []byte, r rune) []byte {
	switch {
	case shortEscapes[r] != "":
		return append(b, shortEscapes[r]...)
	case r < utf8.RuneSelf:
		return fmt.Appendf(b, `\x%02x`, r)
	case r <= 0xffff:
		return fmt.Appendf(b, `\u%04x`, r)
	}
	return fmt.Appendf(b, `\U%08x`, r)
}
