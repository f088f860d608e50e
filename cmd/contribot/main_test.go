package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestRun_PanicIsReportedEscaped: a panic in a command ends it with exit
// status 2 and a short report through the terminal writer, never Go's raw
// report, which would print what the panic value quotes (a commit author,
// a file's content) as it is.
func TestRun_PanicIsReportedEscaped(t *testing.T) {
	t.Run("a command that panics", func(t *testing.T) {
		var stderr bytes.Buffer
		// A nil stdout makes `contribot version` panic in fmt.
		code := run(context.Background(), []string{"version"}, nil, &stderr)
		if code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		for _, want := range []string{"contribot: internal error: runtime error: invalid memory address", "This is a bug", "goroutine "} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
			}
		}
		assertTerminalSafe(t, "stderr", stderr.String())
	})
	t.Run("commit author: a panic value quoting escapes", func(t *testing.T) {
		var stderr bytes.Buffer
		code := reportPanic(&stderr, "bad name Mallory\x1b]0;pwned\x07\u202e", []byte("goroutine 1 [running]:\nmain.f({0x1b, \x1b[2J})\n"))
		if code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		if want := `contribot: internal error: bad name Mallory\x1b]0;pwned\a\u202e` + "\n"; !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
		assertTerminalSafe(t, "stderr", stderr.String())
	})
}

// TestRun_AnyoneWhoWritesArguments_FlagErrorsEscaped: a flag error quotes
// the flag as given. Commands that do not wrap their own stderr (redeliver,
// manifest) once printed it raw, escapes and all.
func TestRun_AnyoneWhoWritesArguments_FlagErrorsEscaped(t *testing.T) {
	for _, args := range [][]string{
		{"redeliver", "--\x1b]0;x\x07"},
		{"redeliver", "--since", "\x1b[2J"},
		{"manifest", "--\x1b]0;x\x07"},
		{"manifest", "--url", "\x1b[2J\u3164"},
		{"\x1b]0;x\x07"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		assertTerminalSafe(t, fmt.Sprintf("%q stdout", args), stdout.String())
		assertTerminalSafe(t, fmt.Sprintf("%q stderr", args), stderr.String())
	}
}
