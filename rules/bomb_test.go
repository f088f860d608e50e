package rules

import (
	"fmt"
	"strings"
	"testing"
)

// A "billion laughs" file (each level doubles the one before, 2^30 values
// if expanded) is refused at its first anchor, without being expanded; a
// file over MaxFileSize is refused before it is parsed at all.
func TestParseRefusesAliasBombsAndOversizedFiles(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("a0: &a0 [lol, lol]\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
	}
	big := "dco:\n  allow:\n    logins: [" + strings.Repeat("x,", MaxFileSize/2) + "x]\n"
	tests := []struct {
		name, in, want string
	}{
		{"alias bomb", bomb.String(), ".github/contribot.yml:1:5: YAML anchor &a0: aliases and anchors are not allowed in rules files; write the value out"},
		{"oversized file", big, fmt.Sprintf(".github/contribot.yml: file is %d bytes; rules files may be at most 256 KiB", len(big))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(".github/contribot.yml", []byte(tt.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if first := strings.Split(err.Error(), "\n")[0]; first != tt.want {
				t.Errorf("first error = %q, want %q", first, tt.want)
			}
		})
	}
}

// An org admin's file of 65,000 aliases (or any file of another
// repository a repository extends) gives as many problems as any other
// broken file: maxErrors and a count, not one per alias, each logged by
// every feature on every event of the org.
func TestParse_OrgAdminsAliasFloodGivesBoundedProblems(t *testing.T) {
	flood := "a: &a x\nb: [" + strings.Repeat("*a, ", (MaxFileSize-64)/4) + "]\n"
	for name, parse := range map[string]func(string, []byte) (*File, error){"own": Parse, "redacted": ParseRedacted} {
		_, err := parse(orgFile, []byte(flood))
		got := asErrors(orgFile, err)
		if len(got) != maxErrors+1 || !strings.HasSuffix(got[maxErrors].Msg, "more problems from here on are not shown") {
			t.Errorf("%s: %d problems, the last %q; want %d and a count", name, len(got), got[len(got)-1], maxErrors+1)
		}
	}
}
