package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds what contribot parses: rules files are a few hundred
// bytes, and a cap keeps a hostile file from costing memory in every worker.
const MaxFileSize = 256 << 10

// readYAML turns one rules file into its top-level mapping node, or nil for a
// file without content. Every error it returns is positioned except the size
// error.
func readYAML(name string, data []byte) (*yaml.Node, error) {
	if len(data) > MaxFileSize {
		return nil, Errors{{File: name, Msg: fmt.Sprintf("file is %d bytes; rules files may be at most %d KiB", len(data), MaxFileSize>>10)}}
	}
	// yaml.v3 reports bad bytes without any position, so find them first.
	if e := checkText(name, data); e != nil {
		return nil, Errors{e}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Errors{syntaxError(name, data, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, Errors{syntaxError(name, data, err)}
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		n := extra.Content[0]
		return nil, Errors{{File: name, Line: n.Line, Column: n.Column, Msg: "a second YAML document (after ---): a rules file holds exactly one"}}
	}
	if errs := rejectAnchors(name, &doc, nil); len(errs) > 0 {
		return nil, errs
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{File: name, Line: root.Line, Column: root.Column, Msg: "want a mapping of sections at the top level (such as dco:), got " + describe(root)}}
	}
	return root, nil
}

// rejectAnchors refuses anchors and aliases outright: rules files do not need
// them, and refusing them closes off alias bombs whatever later code does
// with the nodes.
func rejectAnchors(name string, n *yaml.Node, errs Errors) Errors {
	switch {
	case n.Kind == yaml.AliasNode:
		errs = append(errs, &Error{File: name, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf("YAML alias *%s: aliases and anchors are not allowed in rules files; write the value out", n.Value)})
	case n.Anchor != "":
		errs = append(errs, &Error{File: name, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf("YAML anchor &%s: aliases and anchors are not allowed in rules files; write the value out", n.Anchor)})
	}
	for _, c := range n.Content {
		errs = rejectAnchors(name, c, errs)
	}
	return errs
}

// checkText finds the first byte that yaml.v3's reader would refuse (invalid
// UTF-8 or a character YAML does not allow), with its line and column.
func checkText(name string, data []byte) *Error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Error{File: name, Line: line, Column: col, Msg: "the file is not valid UTF-8"}
		case !yamlAllowed(r):
			return &Error{File: name, Line: line, Column: col, Msg: fmt.Sprintf("character %U is not allowed in YAML", r)}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

// yamlAllowed is YAML 1.2's c-printable set, which yaml.v3's reader enforces.
func yamlAllowed(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// parserProblems are the libyaml parser (not scanner) messages. yaml.v3
// reports their marks 0-based, unlike scanner marks, so their line needs +1.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// syntaxError positions a yaml.v3 syntax error. yaml.v3 gives a line only,
// and omits it when its mark is on the first line.
func syntaxError(name string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// Raised before rejectAnchors can see the node; point at the alias.
		e := &Error{File: name, Line: 1, Msg: fmt.Sprintf("YAML alias *%s: aliases and anchors are not allowed in rules files; write the value out", m[1])}
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			e.Line, e.Column = position(data, i)
		}
		return e
	}
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblems[msg] {
			line++
		}
	}
	if strings.HasPrefix(msg, "did not find expected key") || strings.HasPrefix(msg, "did not find expected '-'") {
		// The line is where the enclosing block starts, not where it broke.
		msg += " (check the indentation from this line on)"
	}
	return &Error{File: name, Line: line, Msg: "YAML syntax error: " + msg}
}

// position converts a byte offset into a 1-based line and column (in runes).
func position(data []byte, offset int) (line, col int) {
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

func isString(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind and value the way an admin reads the file.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch {
		case isNull(n):
			return "an empty value"
		case isString(n):
			return strconv.Quote(n.Value)
		}
		// Numbers and booleans as written, so "got 5" does not read as text.
		return n.Value
	default:
		return "an alias"
	}
}
