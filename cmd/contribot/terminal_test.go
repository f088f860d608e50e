package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTerminalWriter(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain output stays", "18aebfa PASS Signed off by the author, \"Ada <ada@example.com>\".\n", "18aebfa PASS Signed off by the author, \"Ada <ada@example.com>\".\n"},
		{"layout stays", "a\tb\n\nc\n", "a\tb\n\nc\n"},
		{"unicode stays", "Übergröße 日本語 ❤️ −21\n", "Übergröße 日本語 ❤️ −21\n"},
		{"commit author: window title by OSC", "Mallory\x1b]0;pwned\x07\n", `Mallory\x1b]0;pwned\a` + "\n"},
		{"commit author: clear screen by CSI", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"commit author: CSI as one C1 character", "\u009b2J", `\u009b2J`},
		{"commit author: OSC 52 writes the clipboard", "\u009d52;c;cm0gLXJmIH4=\u009c", `\u009d52;c;cm0gLXJmIH4=\u009c`},
		{"commit author: carriage return overwrites the line", "FAIL\rPASS", `FAIL\rPASS`},
		{"commit author: backspace and DEL", "ab\b\x7f", `ab\b\x7f`},
		{"commit author: NUL", "a\x00b", `a\x00b`},
		{"commit author: bidi override", "invoice\u202efdp.exe", `invoice\u202efdp.exe`},
		{"commit author: bidi isolate", "a\u2066b\u2069", `a\u2066b\u2069`},
		{"commit author: zero-width characters", "ad\u200bmin\ufeff", `ad\u200bmin\ufeff`},
		{"commit author: line separator", "a\u2028b", `a\u2028b`},
		{"commit author: tag characters", "hi\U000e0041", `hi\U000e0041`},
		{"commit author: invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			n, err := terminal(&b).Write([]byte(tt.in))
			if err != nil || n != len(tt.in) {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(tt.in))
			}
			if b.String() != tt.want {
				t.Errorf("wrote %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestTerminalText(t *testing.T) {
	for in, want := range map[string]string{
		"Ada <ada@example.com>":             "Ada <ada@example.com>",
		"x\nabcdef1 PASS forged line":       `x\nabcdef1 PASS forged line`,
		"tab\there\x1b[31m":                 `tab\there\x1b[31m`,
		"Signed off by \"Ada\u202e\u2066\"": `Signed off by "Ada\u202e\u2066"`,
	} {
		if got := terminalText(in); got != want {
			t.Errorf("terminalText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTerminalJSON checks that JSON output, which encoding/json already
// escapes for C0 controls, U+2028/U+2029 and HTML, also carries no C1
// control or invisible character raw, and still decodes to the same value.
func TestTerminalJSON(t *testing.T) {
	for _, s := range []string{
		"plain", "Mallory\x1b]0;pwned\x07", "\u009b2J", "invoice\u202efdp.exe", "a\u2028b\u2029", "hi\U000e0041", "<b>&", "a\xffb",
	} {
		var b bytes.Buffer
		if err := json.NewEncoder(terminalJSON(&b)).Encode(map[string]string{"reason": s}); err != nil {
			t.Fatal(err)
		}
		if !terminalSafe(b.Bytes()) {
			t.Errorf("%q: JSON output %q is not safe on a terminal", s, b.String())
		}
		var back map[string]string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatalf("%q: output %q is no JSON: %v", s, b.String(), err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back["reason"] != want {
			t.Errorf("%q: decodes to %q, want %q", s, back["reason"], want)
		}
	}
}

// FuzzTerminal checks what holds for any output: nothing unsafe reaches
// the terminal, plain text passes unchanged, and the result is valid
// UTF-8.
func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"plain\n", "\x1b[2J", "\u009b", "\u202e", "\xff", "a\tb\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var b bytes.Buffer
		if _, err := terminal(&b).Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !utf8.ValidString(out) || !terminalSafe(b.Bytes()) {
			t.Fatalf("terminal(%q) wrote %q", in, out)
		}
		if terminalSafe([]byte(in)) && out != in {
			t.Fatalf("terminal(%q) changed safe text to %q", in, out)
		}
		if line := terminalText(in); strings.ContainsAny(line, "\n\t") || !terminalSafe([]byte(line)) {
			t.Fatalf("terminalText(%q) = %q", in, line)
		}
	})
}

// assertTerminalSafe fails the test when out, a command's output, would
// make a terminal act or would hide characters.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !terminalSafe([]byte(out)) {
		t.Errorf("%s reaches the terminal raw:\n%q", what, out)
	}
}
