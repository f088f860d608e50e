package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/SovereignCloudStack/contribot/app/dco"
	"github.com/SovereignCloudStack/contribot/rules"
)

const dcoCheckUsage = `usage:
  contribot dco check --commits FILE.json [--rules FILE] [--member LOGIN]... [--json]
  contribot dco check --git RANGE [--dir DIR] [--rules FILE] [--json]

Checks commits for a Developer Certificate of Origin sign-off with the same
rules as the DCO check run, and prints one line per commit.

  --commits FILE.json  commits as GitHub lists them: the body of "list commits
                       on a pull request" (or of "compare two commits")
  --git RANGE          commits of a local repository, e.g. origin/main..HEAD
  --dir DIR            the repository for --git (default: the current directory)
  --rules FILE         a contribot.yml (or a Probot dco.yml) applied over the
                       built-in rules; without it, the built-in rules apply
  --member LOGIN       treat LOGIN as an org member (repeatable); matters when
                       the rules exempt verified commits by members
  --json               print {"conclusion", "commits": [{sha, status, reason, rule}]}

Exit status: 0 when every commit passes, 1 when the DCO check fails, 2 on a
usage or input error.
`

// logins collects repeated --member flags.
type logins []string

func (l *logins) String() string     { return strings.Join(*l, ",") }
func (l *logins) Set(v string) error { *l = append(*l, v); return nil }

// runDCOCheck runs `contribot dco check`; args are those after "dco check".
func runDCOCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stderr = terminal(stderr)
	fs := newSubcommand("contribot dco check", dcoCheckUsage, stdout, stderr)
	commitsFile := fs.String("commits", "", "")
	gitRange := fs.String("git", "", "")
	dir := fs.String("dir", "", "")
	rulesFile := fs.String("rules", "", "")
	asJSON := fs.Bool("json", false, "")
	var members logins
	fs.Var(&members, "member", "")

	if code, done := fs.parse(args); done {
		return code
	}
	if *asJSON {
		stdout = terminalJSON(stdout)
	} else {
		stdout = terminal(stdout)
	}
	switch {
	case *commitsFile == "" && *gitRange == "":
		return fs.usageError("give the commits to check with --commits FILE.json or --git RANGE")
	case *commitsFile != "" && *gitRange != "":
		return fs.usageError("--commits and --git cannot be used together")
	case *dir != "" && *gitRange == "":
		return fs.usageError("--dir only applies to --git")
	case len(members) > 0 && *gitRange != "":
		return fs.usageError("--member needs --commits: a local git range has no GitHub logins or signature verification")
	}

	cfg, err := loadDCORules(*rulesFile, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if !cfg.Enabled {
		fmt.Fprintln(stderr, "note: dco.enabled is false in these rules, so the service would not check; checking anyway")
	}

	in := dco.Input{Config: cfg, Members: map[string]bool{}}
	for _, m := range members {
		in.Members[m] = true
	}
	rctx := dco.RenderContext{}
	if *gitRange != "" {
		d := *dir
		if d == "" {
			d = "."
		}
		in.Commits, err = dco.ReadGitRange(ctx, d, *gitRange)
		if err != nil {
			fmt.Fprintf(stderr, "contribot dco check: %v\n", err)
			return 2
		}
		in.Expected = len(in.Commits)
		if base, _, ok := strings.Cut(*gitRange, ".."); ok && base != "" && !strings.HasPrefix(*gitRange, base+"...") {
			rctx.Base = base
		}
	} else {
		list, total, err := readCommitsJSON(*commitsFile)
		if err != nil {
			fmt.Fprintf(stderr, "contribot dco check: %v\n", err)
			return 2
		}
		in.Commits, in.Expected = dco.FromGitHub(list), max(total, len(list))
		if total == 0 && len(list) == 250 {
			fmt.Fprintf(stderr, "note: %s lists 250 commits, the most GitHub returns for a pull request; if the pull request has more, the rest were not checked\n", *commitsFile)
		}
	}

	if !cfg.Require.Members {
		var unknown []string
		for _, login := range dco.MembershipNeeded(in.Commits, cfg) {
			if !in.Members[login] {
				unknown = append(unknown, login)
			}
		}
		if len(unknown) > 0 {
			fmt.Fprintf(stderr, "note: verified commits by %s would pass if they are org members; say so with --member %s\n",
				terminalText(strings.Join(unknown, ", ")), terminalText(unknown[0]))
		}
	}

	res := dco.Evaluate(in)
	if *asJSON {
		if err := printJSON(stdout, res); err != nil {
			fmt.Fprintf(stderr, "contribot dco check: %v\n", err)
			return 2
		}
	} else {
		printHuman(stdout, res, rctx)
	}
	if res.Conclusion != dco.ConclusionSuccess {
		return 1
	}
	return 0
}

// loadDCORules is the dco section of loadRules.
func loadDCORules(path string, stderr io.Writer) (rules.DCO, error) {
	res, err := loadRules("", path, stderr)
	if err != nil {
		return rules.DCO{}, err
	}
	return res.Rules.DCO, nil
}

// loadRules merges the given files over the built-in rules, as the service
// does for an org default and a repository's own file; either may be
// empty. Parse errors come back as file:line:column, warnings go to stderr.
func loadRules(orgPath, repoPath string, stderr io.Writer) (*rules.Result, error) {
	layers := []rules.Layer{rules.BuiltinLayer()}
	for _, l := range []struct {
		path string
		kind rules.LayerKind
	}{{orgPath, rules.LayerOrg}, {repoPath, rules.LayerRepo}} {
		if l.path == "" {
			continue
		}
		f, err := readRulesFile(l.path)
		if err != nil {
			return nil, err
		}
		layers = append(layers, rules.Layer{Kind: l.kind, File: f})
	}
	res := rules.Merge(layers...)
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if len(res.Problems) > 0 {
		return nil, res.Problems
	}
	return res, nil
}

// readCommitsJSON reads GitHub's commit list: the array that "list commits
// on a pull request" returns, or the object of "compare two commits", whose
// total_commits says how many there should be.
func readCommitsJSON(path string) (list []*github.RepositoryCommit, total int, _ error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	trimmed := strings.TrimLeft(string(data), " \t\r\n\ufeff")
	if strings.HasPrefix(trimmed, "{") {
		var cmp struct {
			Commits      []*github.RepositoryCommit `json:"commits"`
			TotalCommits int                        `json:"total_commits"`
		}
		if err := json.Unmarshal(data, &cmp); err != nil {
			return nil, 0, jsonError(path, data, err)
		}
		if cmp.Commits == nil {
			return nil, 0, fmt.Errorf("%s: expected a JSON array of commits (or a compare response with \"commits\"), got an object without \"commits\"", path)
		}
		list, total = cmp.Commits, cmp.TotalCommits
	} else if err := json.Unmarshal(data, &list); err != nil {
		return nil, 0, jsonError(path, data, err)
	}
	// Both shapes are checked alike: a null entry once panicked in
	// dco.FromGitHub, and a commit without a SHA cannot be named.
	for i, c := range list {
		if c == nil {
			return nil, 0, fmt.Errorf("%s: commit %d is null; is this GitHub's list of commits?", path, i+1)
		}
		if c.GetSHA() == "" {
			return nil, 0, fmt.Errorf("%s: commit %d has no \"sha\"; is this GitHub's list of commits?", path, i+1)
		}
	}
	return list, total, nil
}

// jsonError positions a decoding error as file:line:column of the last byte
// the decoder read: the offending character of a syntax error, the end of
// the value of a type error.
func jsonError(path string, data []byte, err error) error {
	var offset int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 1 || offset > int64(len(data)) {
		return fmt.Errorf("%s: %v", path, err)
	}
	line, col := 1, 1
	for _, b := range data[:offset-1] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%s:%d:%d: %v", path, line, col, err)
}

func printJSON(w io.Writer, res dco.Result) error {
	type commit struct {
		SHA    string     `json:"sha"`
		Status dco.Status `json:"status"`
		Reason string     `json:"reason"`
		Rule   string     `json:"rule"`
	}
	out := struct {
		Conclusion string   `json:"conclusion"`
		Incomplete string   `json:"incomplete,omitempty"`
		Commits    []commit `json:"commits"`
	}{Conclusion: res.Conclusion, Incomplete: res.Incomplete, Commits: []commit{}}
	for _, v := range res.Commits {
		out.Commits = append(out.Commits, commit{v.SHA, v.Status, v.Reason, v.Rule})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// printHuman writes one line per commit. The reason quotes names, emails
// and sign-offs as the commit has them, so each is kept to its line.
func printHuman(w io.Writer, res dco.Result, rctx dco.RenderContext) {
	for _, v := range res.Commits {
		sha := v.SHA
		if len(sha) > 7 {
			sha = sha[:7]
		}
		fmt.Fprintf(w, "%s %s %s\n", terminalText(sha), strings.ToUpper(string(v.Status)), terminalText(v.Reason))
	}
	title := dco.Render(res, rctx).Title
	fmt.Fprintf(w, "\nDCO %s: %s\n", res.Conclusion, title)
	if res.Incomplete != "" {
		fmt.Fprintln(w, terminalText(res.Incomplete))
	}
	if cmds := dco.FixCommands(res, rctx); len(cmds) > 0 {
		fmt.Fprintf(w, "To fix: %s\n", strings.Join(cmds, " && "))
	}
}
