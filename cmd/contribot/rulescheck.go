package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/SovereignCloudStack/contribot/rules"
)

// runRulesCheck validates rules files offline, the way the service reads
// them: each file on its own over the built-in default. A file named dco.yml
// is read as the Probot DCO app's format.
func runRulesCheck(args []string, stdout, stderr io.Writer) int {
	stdout, stderr = terminal(stdout), terminal(stderr)
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: contribot rules check FILE... (e.g. .github/contribot.yml)")
		return 2
	}
	code := 0
	for _, path := range args {
		f, err := readRulesFile(path)
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			fmt.Fprintf(stderr, "%s: %v\n", path, pathErr.Err)
			code = 2
			continue
		}
		if err != nil {
			var es rules.Errors
			if errors.As(err, &es) {
				for _, e := range es {
					fmt.Fprintln(stderr, e.Error())
				}
			} else {
				fmt.Fprintln(stderr, err)
			}
			code = 1
			continue
		}
		res := rules.Merge(rules.BuiltinLayer(), rules.Layer{Kind: rules.LayerRepo, File: f})
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		if len(res.Problems) > 0 {
			for _, p := range res.Problems {
				fmt.Fprintln(stderr, p)
			}
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
	}
	return code
}

// readRulesFile parses a rules file the way the service would read it: a
// file named dco.yml is the Probot DCO app's format.
func readRulesFile(path string) (*rules.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if filepath.Base(path) == "dco.yml" {
		return rules.ParseProbotDCO(path, data)
	}
	return rules.Parse(path, data)
}
