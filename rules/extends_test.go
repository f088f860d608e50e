package rules

import "testing"

// A repository maintainer writes extends; the file it names is read with
// the org's installation. Only the org's own .github repository may be
// named: "another org's repo" and "a private repo of the same org" are the
// attacks (the maintainer may not be able to read either).
func TestResolveExtends(t *testing.T) {
	tests := []struct {
		in     string
		want   Target
		none   bool
		errMsg string
	}{
		{in: "", want: Target{"SovereignCloudStack", ".github", ".github/contribot.yml"}},
		{in: "none", none: true},
		{in: "SovereignCloudStack/.github", want: Target{"SovereignCloudStack", ".github", ".github/contribot.yml"}},
		{in: "sovereigncloudstack/.GitHub:.github/strict.yml", want: Target{"sovereigncloudstack", ".GitHub", ".github/strict.yml"}},
		{in: "SovereignCloudStack/.github:.github/x.yaml", want: Target{"SovereignCloudStack", ".github", ".github/x.yaml"}},
		// A repository maintainer names a file of the org's .github that
		// is no rules file: nothing is read (issue 11 review).
		{in: "SovereignCloudStack/.github:secret.json", errMsg: `path in "SovereignCloudStack/.github:secret.json": only rules files can be extended, a .yml or .yaml file in the .github directory such as ".github/strict.yml"`},
		{in: "SovereignCloudStack/.github:rules/strict.yml", errMsg: `path in "SovereignCloudStack/.github:rules/strict.yml": only rules files can be extended, a .yml or .yaml file in the .github directory such as ".github/strict.yml"`},
		{in: "SovereignCloudStack/.github:.github/workflows/deploy.yml", errMsg: `path in "SovereignCloudStack/.github:.github/workflows/deploy.yml": only rules files can be extended, a .yml or .yaml file in the .github directory such as ".github/strict.yml"`},
		{in: "SovereignCloudStack/.github:.github/.yml", errMsg: `path in "SovereignCloudStack/.github:.github/.yml": only rules files can be extended, a .yml or .yaml file in the .github directory such as ".github/strict.yml"`},
		{in: "SovereignCloudStack/.github:.github/x.YML", errMsg: `path in "SovereignCloudStack/.github:.github/x.YML": only rules files can be extended, a .yml or .yaml file in the .github directory such as ".github/strict.yml"`},
		// A repository maintainer names another org's repository.
		{in: "osism/.github", errMsg: `osism/.github:.github/contribot.yml is in another organisation than SovereignCloudStack; only SovereignCloudStack/.github can be extended, so nothing was read from it`},
		{in: "victim/secret:.env", errMsg: `"victim/secret" is not the org's .github repository; only files there can be extended ("owner/.github" or "owner/.github:path")`},
		// A repository maintainer names a (perhaps private) repository of the same org.
		{in: "SovereignCloudStack/standards:rules/contribot.yml", errMsg: `"SovereignCloudStack/standards" is not the org's .github repository; only files there can be extended ("owner/.github" or "owner/.github:path")`},
		{in: "None", errMsg: `want "none", "owner/.github" or "owner/.github:path", got "None"`},
		{in: "SovereignCloudStack", errMsg: `want "none", "owner/.github" or "owner/.github:path", got "SovereignCloudStack"`},
		{in: "a/b/c", errMsg: `want "none", "owner/.github" or "owner/.github:path", got "a/b/c"`},
		{in: "-a/b", errMsg: `want "none", "owner/.github" or "owner/.github:path", got "-a/b"`},
		{in: "a/..", errMsg: `want "none", "owner/.github" or "owner/.github:path", got "a/.."`},
		{in: "a/.github:", errMsg: `path in "a/.github:": empty path`},
		{in: "a/.github:/etc/passwd", errMsg: `path in "a/.github:/etc/passwd": want a path relative to the repository root, without a leading /`},
		{in: "a/.github:x/../../y", errMsg: `path in "a/.github:x/../../y": want a clean path inside the repository (no ., .. or //)`},
		{in: "a/.github:./x", errMsg: `path in "a/.github:./x": want a clean path inside the repository (no ., .. or //)`},
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
