package rules

import (
	"fmt"
	"strings"
	"testing"
)

// modulesFile is a rules file with mods modules m0…, of which the first
// implies implied unknown modules, and rules label rules that each give
// perRule unknown modules.
func modulesFile(mods, implied, rules, perRule int) string {
	var b strings.Builder
	b.WriteString("modules:\n")
	for i := range mods {
		fmt.Fprintf(&b, "  m%d: {}\n", i)
	}
	if implied > 0 {
		fmt.Fprintf(&b, "  x:\n    implies: [%s]\n", strings.TrimSuffix(strings.Repeat("u,", implied), ","))
	}
	if rules > 0 {
		b.WriteString("labels:\n  rules:\n")
		for range rules {
			fmt.Fprintf(&b, "    - {title: x, modules: [%s]}\n", strings.TrimSuffix(strings.Repeat("v,", perRule), ","))
		}
	}
	return b.String()
}

// A repository maintainer lists thousands of modules, or names thousands
// of unknown ones (issue 11 B3: 8,000 modules and 65,000 references in a
// 220 KB file took Merge out of memory, each warning listing every module).
// Files are bounded where they are parsed.
func TestParse_RepositoryMaintainersModuleListsAreBounded(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"8,000 modules", modulesFile(8000, 0, 0, 0),
			".github/contribot.yml:202:3: modules: 8000 modules; a rules file may have at most 200"},
		{"65,000 implied modules", modulesFile(1, 65000, 0, 0),
			".github/contribot.yml:4:115: modules.x.implies: 65000 modules; a list of modules may have at most 50"},
		{"a rule with 51 modules", modulesFile(1, 0, 1, 51),
			".github/contribot.yml:5:128: labels.rules[0].modules: 51 modules; a list of modules may have at most 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.file) > MaxFileSize {
				t.Fatalf("the file has %d bytes, over the size limit", len(tt.file))
			}
			_, err := Parse(repoFile, []byte(tt.file))
			if got := asErrors(repoFile, err); len(got) != 1 || got[0].Error() != tt.want {
				t.Errorf("errors = %q\nwant %q", got, tt.want)
			}
		})
	}
}

// Within those bounds, a repository maintainer still names 10,050 unknown
// modules: Merge keeps 50 warnings per section, each naming a few known
// modules, not every one.
func TestMerge_RepositoryMaintainersUnknownModuleRefsAreBounded(t *testing.T) {
	file := modulesFile(MaxModules-1, MaxModuleList, MaxLabelRules, MaxModuleList)
	f := mustParse(t, repoFile, file)
	var res *Result
	alloc := allocated(func() { res = Merge(BuiltinLayer(), Layer{Kind: LayerRepo, File: f}) })
	perSection := map[string]int{}
	for _, w := range res.Warnings {
		perSection[w.Section]++
		if len(w.Msg) > 400 {
			t.Errorf("a warning of %d bytes: %s", len(w.Msg), w.Msg)
		}
	}
	if perSection["labels"] != maxErrors+1 || perSection["modules"] != maxErrors || len(res.Warnings) != 2*maxErrors+1 {
		t.Errorf("warnings per section %v, want %d for labels (with the count of the rest) and %d for modules", perSection, maxErrors+1, maxErrors)
	}
	if got, want := res.Warnings[len(res.Warnings)-1].Error(), ".github/contribot.yml:206:28: 9950 more warnings from here on are not shown"; got != want {
		t.Errorf("last warning %q, want %q", got, want)
	}
	if !strings.Contains(res.Warnings[0].Msg, "and 190 more)") {
		t.Errorf("first warning %q does not shorten the list of known modules", res.Warnings[0].Msg)
	}
	if alloc > 16<<20 {
		t.Errorf("Merge allocated %d MB", alloc>>20)
	}
}
