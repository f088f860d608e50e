package rules

import "testing"

func TestResolveExtends(t *testing.T) {
	tests := []struct {
		in     string
		want   Target
		none   bool
		errMsg string
	}{
		{in: "", want: Target{"SovereignCloudStack", ".github", ".github/contribot.yml"}},
		{in: "none", none: true},
		{in: "osism/.github", want: Target{"osism", ".github", ".github/contribot.yml"}},
		{in: "SovereignCloudStack/standards:rules/contribot.yml", want: Target{"SovereignCloudStack", "standards", "rules/contribot.yml"}},
		{in: "a-b/c.d_e:x.yml", want: Target{"a-b", "c.d_e", "x.yml"}},
		{in: "None", errMsg: `want "none", "owner/repo" or "owner/repo:path", got "None"`},
		{in: "SovereignCloudStack", errMsg: `want "none", "owner/repo" or "owner/repo:path", got "SovereignCloudStack"`},
		{in: "a/b/c", errMsg: `want "none", "owner/repo" or "owner/repo:path", got "a/b/c"`},
		{in: "-a/b", errMsg: `want "none", "owner/repo" or "owner/repo:path", got "-a/b"`},
		{in: "a/..", errMsg: `want "none", "owner/repo" or "owner/repo:path", got "a/.."`},
		{in: "a/b:", errMsg: `path in "a/b:": empty path`},
		{in: "a/b:/etc/passwd", errMsg: `path in "a/b:/etc/passwd": want a path relative to the repository root, without a leading /`},
		{in: "a/b:x/../../y", errMsg: `path in "a/b:x/../../y": want a clean path inside the repository (no ., .. or //)`},
		{in: "a/b:./x", errMsg: `path in "a/b:./x": want a clean path inside the repository (no ., .. or //)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, none, err := ResolveExtends("SovereignCloudStack", tt.in)
			if tt.errMsg != "" {
				if err == nil || err.Error() != tt.errMsg {
					t.Fatalf("err = %v, want %q", err, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || none != tt.none {
				t.Errorf("= %+v, none=%v; want %+v, none=%v", got, none, tt.want, tt.none)
			}
		})
	}
}
