package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/SovereignCloudStack/contribot/rules"
)

// runRulesCheck validates rules files offline, the way the service reads
// them: each file on its own over the built-in default. A file named dco.yml
// is read as the Probot DCO app's format.
func runRulesCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: contribot rules check FILE... (e.g. .github/contribot.yml)")
		return 2
	}
	code := 0
	for _, path := range args {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			code = 2
			continue
		}
		var f *rules.File
		if filepath.Base(path) == "dco.yml" {
			f, err = rules.ParseProbotDCO(path, data)
		} else {
			f, err = rules.Parse(path, data)
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
