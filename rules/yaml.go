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
// error. redact keeps text of the file out of the messages (see ParseRedacted).
func readYAML(name string, data []byte, redact bool) (*yaml.Node, error) {
	if len(data) > MaxFileSize {
		size := fmt.Sprintf("file is %d bytes", len(data))
		if redact {
			size = "file is too large"
		}
		return nil, Errors{{File: name, Msg: fmt.Sprintf("%s; rules files may be at most %d KiB", size, MaxFileSize>>10)}}
	}
	// yaml.v3 reports bad bytes without any position, so find them first.
	if e := checkText(name, data, redact); e != nil {
		return nil, Errors{e}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Errors{syntaxError(name, data, err, redact)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, Errors{syntaxError(name, data, err, redact)}
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		n := extra.Content[0]
		return nil, Errors{{File: name, Line: n.Line, Column: n.Column, Msg: "a second YAML document (after ---): a rules file holds exactly one"}}
	}
	if errs := rejectAnchors(name, &doc, redact, nil); len(errs) > 0 {
		return nil, errs.report()
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{File: name, Line: root.Line, Column: root.Column, Msg: "want a mapping of sections at the top level (such as dco:), got " + describe(root, redact)}}
	}
	return root, nil
}

// rejectAnchors refuses anchors and aliases outright: rules files do not need
// them, and refusing them closes off alias bombs whatever later code does
// with the nodes.
func rejectAnchors(name string, n *yaml.Node, redact bool, errs Errors) Errors {
	switch {
	case n.Kind == yaml.AliasNode:
		errs = append(errs, &Error{File: name, Line: n.Line, Column: n.Column, Msg: aliasProblem("*", n.Value, redact)})
	case n.Anchor != "":
		errs = append(errs, &Error{File: name, Line: n.Line, Column: n.Column, Msg: aliasProblem("&", n.Anchor, redact)})
	}
	for _, c := range n.Content {
		errs = rejectAnchors(name, c, redact, errs)
	}
	return errs
}

// aliasProblem refuses an alias (*name) or an anchor (&name); the name is
// the file's text.
func aliasProblem(sigil, name string, redact bool) string {
	what := "YAML alias"
	if sigil == "&" {
		what = "YAML anchor"
	}
	if !redact {
		what += " " + sigil + name
	}
	return what + ": aliases and anchors are not allowed in rules files; write the value out"
}

// checkText finds the first byte that yaml.v3's reader would refuse (invalid
// UTF-8 or a character YAML does not allow), with its line and column.
func checkText(name string, data []byte, redact bool) *Error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Error{File: name, Line: line, Column: col, Msg: "the file is not valid UTF-8"}
		case !yamlAllowed(r) && redact:
			return &Error{File: name, Line: line, Column: col, Msg: "a character that YAML does not allow"}
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

// scannerProblems are the other fixed problem texts of libyaml's scanner and
// reader, which yaml.v3 reports as they are. With parserProblems they are
// the messages a redacted file may show: anything else yaml.v3 says might
// quote the file (an anchor's name, a value it could not decode).
var scannerProblems = map[string]bool{
	"block sequence entries are not allowed in this context":       true,
	"control characters are not allowed":                           true,
	"could not find expected ':'":                                  true,
	"could not find expected directive name":                       true,
	"did not find URI escaped octet":                               true,
	"did not find expected '!'":                                    true,
	"did not find expected alphabetic or numeric character":        true,
	"did not find expected comment or line break":                  true,
	"did not find expected digit or '.' character":                 true,
	"did not find expected hexdecimal number":                      true,
	"did not find expected tag URI":                                true,
	"did not find expected version number":                         true,
	"did not find expected whitespace":                             true,
	"did not find expected whitespace or line break":               true,
	"did not find the expected '>'":                                true,
	"found a tab character that violates indentation":              true,
	"found a tab character where an indentation space is expected": true,
	"found an incorrect leading UTF-8 octet":                       true,
	"found an incorrect trailing UTF-8 octet":                      true,
	"found an indentation indicator equal to 0":                    true,
	"found character that cannot start any token":                  true,
	"found extremely long version number":                          true,
	"found invalid Unicode character escape code":                  true,
	"found unexpected document indicator":                          true,
	"found unexpected end of stream":                               true,
	"found unexpected non-alphabetical character":                  true,
	"found unknown directive name":                                 true,
	"found unknown escape character":                               true,
	"incomplete UTF-8 octet sequence":                              true,
	"invalid leading UTF-8 octet":                                  true,
	"invalid trailing UTF-8 octet":                                 true,
	"mapping keys are not allowed in this context":                 true,
	"mapping values are not allowed in this context":               true,
}

var (
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
	maxDepth      = regexp.MustCompile(`^exceeded max depth of [0-9]+$`)
)

// fixedProblem reports a yaml.v3 problem text that says nothing of the file.
func fixedProblem(msg string) bool {
	return parserProblems[msg] || scannerProblems[msg] || maxDepth.MatchString(msg)
}

// syntaxError positions a yaml.v3 syntax error. yaml.v3 gives a line only,
// and omits it when its mark is on the first line. For a redacted file,
// only problem texts known to be fixed are shown.
func syntaxError(name string, data []byte, err error, redact bool) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// Raised before rejectAnchors can see the node; point at the alias.
		e := &Error{File: name, Line: 1, Msg: aliasProblem("*", m[1], redact)}
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
	if redact && !fixedProblem(msg) {
		return &Error{File: name, Line: line, Msg: "YAML syntax error"}
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

// describe names a node's kind and value the way an admin reads the file;
// with redact, only its kind.
func describe(n *yaml.Node, redact bool) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch {
		case isNull(n):
			return "an empty value"
		case redact && isString(n):
			return "text"
		case redact && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float"):
			return "a number"
		case redact && n.ShortTag() == "!!bool":
			return "a boolean"
		case redact:
			return "a value"
		case isString(n):
			return strconv.Quote(n.Value)
		}
		// Numbers and booleans as written, so "got 5" does not read as text.
		return n.Value
	default:
		return "an alias"
	}
}
