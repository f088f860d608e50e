package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/SovereignCloudStack/contribot/app/labels"
)

const labelsExplainUsage = `usage:
  contribot labels explain --repo OWNER/NAME (--files A,B,… | --pr-files FILE.json)
                           [--rules FILE] [--org FILE] [--title TEXT] [--labels A,B,…] [--ours A,B,…]
                           [--additions N] [--deletions N] [--json]

Prints the labels the rules give a pull request, with the rule (file:line)
and the changed file behind each, and what contribot would add and remove.

  --repo OWNER/NAME   the repository the pull request is in
  --files A,B,…       changed paths; write OLD=>NEW for a rename
  --pr-files FILE     changed files as GitHub lists them: the body of "list
                      pull request files" (a JSON array)
  --rules FILE        the repository's contribot.yml, over the built-in rules
  --org FILE          the org default (.github/contribot.yml in the org's
                      .github repository), between the two
  --title TEXT        the pull request's title, for title rules
  --labels A,B,…      the labels the pull request has now
  --ours A,B,…        which of them contribot added itself; sync: managed
                      removes only those
  --additions N, --deletions N
                      changed lines, for size labels (default: the sums
                      of --pr-files)
  --json              print the decision as JSON

Exit status: 0 when the rules are valid, 1 when they are not, 2 on a usage
or input error.
`

// runLabelsExplain runs `contribot labels explain`; args are those after
// "labels explain".
func runLabelsExplain(args []string, stdout, stderr io.Writer) int {
	stderr = terminal(stderr)
	fs := newSubcommand("contribot labels explain", labelsExplainUsage, stdout, stderr)
	repo := fs.String("repo", "", "")
	fileList := fs.String("files", "", "")
	prFiles := fs.String("pr-files", "", "")
	rulesFile := fs.String("rules", "", "")
	orgFile := fs.String("org", "", "")
	title := fs.String("title", "", "")
	current := fs.String("labels", "", "")
	ours := fs.String("ours", "", "")
	additions := fs.Int("additions", -1, "")
	deletions := fs.Int("deletions", -1, "")
	asJSON := fs.Bool("json", false, "")

	if code, done := fs.parse(args); done {
		return code
	}
	if *asJSON {
		stdout = terminalJSON(stdout)
	} else {
		stdout = terminal(stdout)
	}
	owner, name, ok := strings.Cut(*repo, "/")
	switch {
	case !ok || owner == "" || name == "" || strings.Contains(name, "/"):
		return fs.usageError("give the repository as --repo OWNER/NAME, e.g. --repo SovereignCloudStack/standards")
	case (*fileList == "") == (*prFiles == ""):
		return fs.usageError("give the changed files with either --files A,B or --pr-files FILE.json")
	}

	in := labels.Input{Repo: *repo, Title: *title, FilesListed: true}
	if *fileList != "" {
		for _, f := range strings.Split(*fileList, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if old, nw, ok := strings.Cut(f, "=>"); ok {
				in.Files = append(in.Files, labels.File{Path: strings.TrimSpace(nw), Previous: strings.TrimSpace(old)})
				continue
			}
			in.Files = append(in.Files, labels.File{Path: f})
		}
	} else {
		files, add, del, err := readPRFiles(*prFiles)
		if err != nil {
			fmt.Fprintf(stderr, "contribot labels explain: %s: %v\n", *prFiles, err)
			return 2
		}
		in.Files = files
		in.Additions, in.Deletions = add, del
	}
	in.ChangedFiles = len(in.Files)
	if *additions >= 0 {
		in.Additions = *additions
	}
	if *deletions >= 0 {
		in.Deletions = *deletions
	}
	for _, l := range strings.Split(*current, ",") {
		if l = strings.TrimSpace(l); l != "" {
			in.Current = append(in.Current, l)
		}
	}
	in.Ours = map[string]bool{}
	for _, l := range strings.Split(*ours, ",") {
		if l = strings.TrimSpace(l); l != "" {
			in.Ours[strings.ToLower(l)] = true
		}
	}

	res, err := loadRules(*orgFile, *rulesFile, stderr)
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			fmt.Fprintf(stderr, "contribot labels explain: %v\n", err)
			return 2
		}
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !res.Rules.Labels.Enabled {
		fmt.Fprintln(stderr, "note: labels.enabled is false in these rules, so the service would not label; explaining anyway")
		res.Rules.Labels.Enabled = true
	}
	d := labels.Decide(&res.Rules, in)
	d.Cite(res.Sources["labels.rules"].File)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		return 0
	}
	files := "files"
	if len(in.Files) == 1 {
		files = "file"
	}
	fmt.Fprintf(stdout, "%s, %d changed %s:\n%s\n", *repo, len(in.Files), files, labels.Explain(d, res.Sources["labels.rules"].File))
	return 0
}

// readPRFiles reads the body of GitHub's "list pull request files".
func readPRFiles(path string) (files []labels.File, additions, deletions int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	var list []struct {
		labels.File
		Additions int `json:"additions"`
		Deletions int `json:"deletions"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, 0, 0, fmt.Errorf("want the JSON array GitHub returns for GET /repos/{owner}/{repo}/pulls/{number}/files: %w", err)
	}
	for i, f := range list {
		if f.Path == "" {
			return nil, 0, 0, fmt.Errorf("entry %d has no \"filename\"", i)
		}
		files = append(files, f.File)
		additions += f.Additions
		deletions += f.Deletions
	}
	return files, additions, deletions, nil
}
