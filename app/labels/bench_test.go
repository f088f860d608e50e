package labels

import (
	"fmt"
	"testing"

	"github.com/SovereignCloudStack/contribot/rules"
)

// BenchmarkDecide measures one decision with the built-in SCS rules on
// the standards repository, whose path rules are the most numerous.
func BenchmarkDecide(b *testing.B) {
	r := rules.Merge(rules.BuiltinLayer()).Rules
	r.Labels.MaxFiles = 0
	for _, n := range []int{10, 300, 3000} {
		files := make([]File, n)
		for i := range files {
			files[i] = File{Path: fmt.Sprintf("Standards/scs-%04d-v1-x.md", i%600)}
		}
		in := Input{Repo: "SovereignCloudStack/standards", Files: files, ChangedFiles: n, FilesListed: true}
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			for b.Loop() {
				Decide(&r, in)
			}
		})
	}
}
