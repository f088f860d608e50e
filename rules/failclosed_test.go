package rules

import (
	"reflect"
	"testing"
)

// An org admin's broken file, with no good version known: what it locks.
// The lock must hold wherever the admin wrote it, or a repository
// maintainer turns DCO off until the file is fixed (issue 11 review, B6);
// a file that names no lock anywhere locks nothing.
func TestFailClosed_OrgAdminsBrokenFile(t *testing.T) {
	tests := []struct {
		name, file string
		want       Salvage
		locked     []string
	}{
		{"a typo beside locked", "locked: [labels]\ndco: {enabled: ture}\n", SalvageListed, []string{"labels"}},
		{"no lock anywhere", "dco: {enabled: ture}\nlabels: {sync: x}\n", SalvageListed, nil},
		{"a module named dco, implied", "modules:\n  a: {implies: [dco]}\ndco: {enabled: ture}\n", SalvageListed, nil},
		{"locked indented under dco", "dco:\n  enabled: ture\n  locked: [dco]\n", SalvageMentioned, []string{"dco"}},
		{"locked under a section names another", "labels:\n  locked: [welcome]\n", SalvageMentioned, []string{"dco", "labels", "welcome"}},
		{"lockd inside a section", "welcome:\n  lockd: [upstream]\n", SalvageMentioned, []string{"dco", "welcome", "upstream"}},
		{"Locked at the top", "Locked: [labels]\n", SalvageMentioned, []string{"dco", "labels"}},
		{"lcoked, two typos", "dco:\n  lcoekd: [dco]\n", SalvageMentioned, []string{"dco"}},
		{"a list of sections under an unknown key", "dco:\n  protect: [labels]\n", SalvageMentioned, []string{"dco", "labels"}},
		{"locked in a second document", "dco: {}\n---\nlocked: [welcome]\n", SalvageMentioned, []string{"dco", "welcome"}},
		{"a second document that is not YAML", "locked: [labels]\n---\nx: [\n", SalvageMentioned, []string{"dco", "labels"}},
		{"a top-level list beside a misspelt one", "locked: [welcome]\nlockd: [labels]\n", SalvageMentioned, []string{"dco", "labels", "welcome"}},
		{"not YAML", "locked: [dco\n", SalvageAll, Lockable()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, how := FailClosed(orgFile, []byte(tt.file))
			if how != tt.want || !reflect.DeepEqual(f.Rules.Locked, tt.locked) {
				t.Errorf("FailClosed = %v, locks %q; want %v, %q", how, f.Rules.Locked, tt.want, tt.locked)
			}
		})
	}
}
