package dco

import "testing"

func TestMergeQueueBranch(t *testing.T) {
	sha := "380387fbc80638b734a49e1be1c4dfec1c01b33c"
	tests := []struct {
		branch, ref, sha string
		ok               bool
	}{
		{"gh-readonly-queue/main/pr-42-" + sha, "main", sha, true},
		{"gh-readonly-queue/release/v1.2/pr-7-" + sha, "release/v1.2", sha, true},
		{"gh-readonly-queue/main/pr-42-nothex", "", "", false},
		{"gh-readonly-queue/main/pr-42-" + sha[:12], "", "", false},
		{"feature/gh-readonly-queue/main/pr-42-" + sha, "", "", false},
		{"main", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		ref, s, ok := MergeQueueBranch(tt.branch)
		if ref != tt.ref || s != tt.sha || ok != tt.ok {
			t.Errorf("MergeQueueBranch(%q) = %q, %q, %v; want %q, %q, %v", tt.branch, ref, s, ok, tt.ref, tt.sha, tt.ok)
		}
	}
}
