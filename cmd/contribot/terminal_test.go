package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
		{"commit author: Hangul fillers Go deems printable", "a\u3164b\uffa0c\u115f\u1160", `a\u3164b\uffa0c\u115f\u1160`},
		{"commit author: combining grapheme joiner and Khmer vowels", "a\u034fb\u17b4\u17b5", `a\u034fb\u17b4\u17b5`},
		{"commit author: vertical tab, form feed, bell", "\v\f\a", `\v\f\a`},
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
	for _, s := range []string{"plain\n", "\x1b[2J", "\u009b", "\u202e", "\xff", "a\tb\r", "\u3164"} {
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

// TestDCOCheck_AnyGitHubUser_HostileBits runs `contribot dco check` on
// commits whose SHA, author, login, message and sign-off carry what the
// adversarial review of the escaping tried on a terminal (issue 11, class
// 9), in every output mode and in the arguments too: nothing reaches the
// terminal raw, and no commit forges a verdict line.
func TestDCOCheck_AnyGitHubUser_HostileBits(t *testing.T) {
	bits := []string{
		"\x1b]0;pwned\x07", "\x1b]52;c;cm0gLXJmIH4=\x07", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "\x1b[2J\x1b[H",
		"\x1bP1$r\x1b\\", "\u009b2J", "\x9b2J", "\xc0\x9b", "\xed\xa0\x80", "ab\b\b\x7f", "FAIL\rPASS", "x\nabcdef0 PASS forged",
		"x\u0085abcdef0 PASS forged", "x\u2028y", "a\u202eb\u2066c", "a\u200b\u200d\u2060\ufeffb", "a\U000E0041",
		"\u3164", "\uffa0\u115f\u1160\u034f\u17b4", "\v\f", "\x00",
	}
	dir := t.TempDir()
	write := fileWriter(t, dir)
	var commits []map[string]any
	for i, h := range bits {
		commits = append(commits, map[string]any{
			"sha": fmt.Sprintf("%x%s", i, h) + strings.Repeat("0", 39),
			"commit": map[string]any{
				"message":   "subject " + h + "\n\nSigned-off-by: " + h + " <" + h + "@example.com>",
				"author":    map[string]any{"name": "Mallory" + h, "email": "m" + h + "@example.com"},
				"committer": map[string]any{"name": "Mallory" + h, "email": "m" + h + "@example.com"},
			},
			"author":  map[string]any{"login": "mal" + h, "type": "User"},
			"parents": []any{map[string]any{"sha": "p"}},
		})
	}
	data, err := json.Marshal(commits)
	if err != nil {
		t.Fatal(err)
	}
	// json.Marshal writes invalid UTF-8 as U+FFFD; put the raw bytes back.
	raw := string(data)
	for _, h := range bits {
		if !utf8.ValidString(h) {
			enc, _ := json.Marshal(strings.ToValidUTF8(h, "\ufffd"))
			raw = strings.ReplaceAll(raw, string(enc[1:len(enc)-1]), h)
		}
	}
	path := write("commits.json", raw)
	for _, args := range [][]string{
		{"dco", "check", "--commits", path},
		{"dco", "check", "--commits", path, "--json"},
		{"dco", "check", "--commits", path + "\x1b[2J\u3164"},
		{"dco", "check", "--git", "HEAD\x1b]0;x\x07..x", "--dir", dir},
		{"dco", "check", "--\x1b]0;x\x07"},
		{"dco", "check", "--member", "\x1b[2J", "--git", "x"},
	} {
		var stdout, stderr bytes.Buffer
		run(context.Background(), args, &stdout, &stderr)
		assertTerminalSafe(t, fmt.Sprintf("%q stdout", args), stdout.String())
		assertTerminalSafe(t, fmt.Sprintf("%q stderr", args), stderr.String())
		if len(args) == 4 && args[3] == path {
			verdicts := 0
			for _, line := range strings.Split(stdout.String(), "\n") {
				if strings.Contains(line, " FAIL ") || strings.Contains(line, " PASS ") || strings.Contains(line, " SKIP ") {
					verdicts++
				}
			}
			if verdicts != len(bits) {
				t.Errorf("%d verdict lines for %d commits:\n%s", verdicts, len(bits), stdout.String())
			}
		}
	}
}
