package labels

import (
	"slices"
	"strings"
	"testing"

	"github.com/SovereignCloudStack/contribot/rules"
)

// FuzzDecide runs Decide on fuzzed rules files, paths, titles and labels,
// and checks what must hold for any input: it never panics, never adds
// and removes the same label, removes only owned labels contribot added,
// and never adds a label the PR has.
func FuzzDecide(f *testing.F) {
	f.Add("labels:\n  sync: managed\n  owned:\n    prefixes: [\"area/\"]\n  rules:\n    - files:\n        any: [\"**/*.md\"]\n      modules: [documentation]\n",
		"SovereignCloudStack/docs", "docs/a.md,src/b.go", "Fix docs", "area/old,bug", "area/old")
	f.Add("labels:\n  max_labels: 1\n  size:\n    enabled: true\n", "SovereignCloudStack/standards", "Standards/scs-0110-v1-x.md,Tests/kaas/x=>Tests/iaas/x", "Ceph", "size/S", "size/s")
	f.Add("", "SovereignCloudStack/cluster-stacks", "", "", "", "")
	f.Fuzz(func(t *testing.T, yml, repo, paths, title, current, ours string) {
		file, err := rules.Parse("fuzz.yml", []byte(yml))
		if err != nil {
			return
		}
		res := rules.Merge(rules.BuiltinLayer(), rules.Layer{Kind: rules.LayerRepo, File: file})
		in := Input{Repo: repo, Title: title, FilesListed: true, Ours: map[string]bool{}}
		for _, p := range strings.Split(paths, ",") {
			old, nw, _ := strings.Cut(p, "=>")
			if nw == "" {
				nw, old = old, ""
			}
			in.Files = append(in.Files, File{Path: nw, Previous: old})
		}
		in.ChangedFiles = len(in.Files)
		in.Current = strings.Split(current, ",")
		for _, l := range strings.Split(ours, ",") {
			in.Ours[strings.ToLower(l)] = true
		}
		d := Decide(&res.Rules, in)
		lower := func(ls []string) []string {
			out := make([]string, len(ls))
			for i, l := range ls {
				out[i] = strings.ToLower(l)
			}
			return out
		}
		for _, l := range d.Remove {
			if slices.Contains(lower(d.Add), strings.ToLower(l)) {
				t.Errorf("%q both added and removed", l)
			}
			if !Owns(res.Rules.Labels.Owned, l) || !in.Ours[strings.ToLower(l)] || res.Rules.Labels.Sync != rules.SyncManaged {
				t.Errorf("removes %q: owned %v, ours %v, sync %s", l, Owns(res.Rules.Labels.Owned, l), in.Ours[strings.ToLower(l)], res.Rules.Labels.Sync)
			}
		}
		for _, l := range d.Add {
			if slices.Contains(lower(in.Current), strings.ToLower(l)) {
				t.Errorf("adds %q, which the PR has", l)
			}
		}
		_ = Explain(d, "fuzz.yml")
	})
}
