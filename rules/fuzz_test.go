package rules

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(Builtin())
	for _, s := range []string{
		"",
		"dco:\n  enabled: yes\n",
		"extends: a/b:c.yml\nlocked: [dco]\n",
		"dco: &a {allow: *a}\n",
		"dco:\n  allow:\n    logins: [a, [b], {c: d}]\n",
		"a: [1, 2\n",
		"- a\nb: 1\n",
		"dco: {}\n---\nx: 1\n",
		"require:\n  members: false\nallowRemediationCommits: {thirdParty: true}\n",
		"\xef\xbb\xbfdco: {}\n",
		"? !!binary aGk=\n: !!int x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(string, []byte) (*File, error){Parse, ParseProbotDCO} {
			file, err := parse("f.yml", data)
			if err != nil {
				var errs Errors
				if !errors.As(err, &errs) || len(errs) == 0 {
					t.Fatalf("error %v (%T) is not a non-empty Errors", err, err)
				}
				for _, e := range errs {
					// Only the size error concerns the whole file.
					if e.Line < 1 && len(data) <= MaxFileSize {
						t.Fatalf("error without a position: %v", e)
					}
					if e.File != "f.yml" {
						t.Fatalf("error names file %q: %v", e.File, e)
					}
				}
				continue
			}
			// Whatever parses must merge cleanly over the built-in rules.
			res := Merge(BuiltinLayer(), Layer{Kind: LayerRepo, File: file})
			if len(res.Problems) > 0 {
				t.Fatalf("parsed file does not merge: %v", res.Problems)
			}
		}
	})
}
