package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// SECURITY.md names, for each hostile input tried, the test that keeps it
// closed. A renamed or deleted test would leave the table promising a
// guard that no longer runs.
func TestSECURITYNamesTestsThatExist(t *testing.T) {
	doc, err := os.ReadFile("../../SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, n := range regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+`).FindAllString(string(doc), -1) {
		named[n] = true
	}
	if len(named) < 50 {
		t.Fatalf("SECURITY.md names %d tests; the table of hostile inputs is missing", len(named))
	}
	defined := map[string]bool{}
	funcRE := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)\(`)
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcRE.FindAllStringSubmatch(string(src), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for n := range named {
		if !defined[n] {
			t.Errorf("SECURITY.md names %s, which no test file defines", n)
		}
	}
}
