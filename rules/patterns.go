package rules

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits on what a rules file's patterns may cost. The labels feature
// matches the title expressions against every pull request's title and the
// path globs against every changed path (up to 3,000, renames twice), on
// every event; whoever writes the file (a repository maintainer) must not
// be able to make that cost more than a bounded amount. The built-in rules
// use a tenth of each.
const (
	// MaxLabelRules is how many entries labels.rules may have.
	MaxLabelRules = 200
	// MaxGlobs bounds the globs of one file (repos, files.any and
	// files.all), each counted as the patterns its {a,b} alternatives
	// expand to: doublestar tries each expansion in turn.
	MaxGlobs = 500
	// MaxGlobLength bounds one glob, in bytes; matching costs up to its
	// length times the path's.
	MaxGlobLength = 200
	// MaxGlobDoubleStars bounds the "**" of one glob.
	MaxGlobDoubleStars = 4
	// MaxGlobExpansions bounds the patterns one glob's {a,b} alternatives
	// expand to: doublestar tries them one by one, so {a,b} written n
	// times costs 2^n.
	MaxGlobExpansions = 32
	// MaxGlobProgram bounds a path glob's compiled RE2 program (see
	// Glob), whose size times a path's length is what matching costs.
	MaxGlobProgram = 2000
	// MaxGlobPrograms bounds the programs of all path globs of one file
	// together.
	MaxGlobPrograms = 20000
	// MaxTitleLength bounds a title expression's source, in bytes.
	MaxTitleLength = 500
	// MaxTitleProgram bounds a title expression's compiled RE2 program,
	// whose size times the title's length is what matching costs:
	// counted repetitions ("(ab|ba){100}") multiply it.
	MaxTitleProgram = 1000
	// MaxTitlePrograms bounds the programs of all title expressions of
	// one file together.
	MaxTitlePrograms = 5000
)

// GlobExpansions is how many patterns a glob's {a,b} alternatives expand
// to (1 without braces), as doublestar tries them; it stops counting past
// MaxGlobExpansions*MaxGlobs, so that a hostile glob cannot overflow it.
// The glob must have passed doublestar.ValidatePattern.
func GlobExpansions(p string) int {
	n, _ := expansions(p, 0, false)
	return n
}

// expansionsCap keeps the products below overflow; anything past it is
// refused anyway.
const expansionsCap = MaxGlobExpansions * MaxGlobs

// expansions counts the expansions of p[i:] up to the end, or, inside
// braces, up to the "," or "}" that ends the current alternative; it
// returns the count and where it stopped.
func expansions(p string, i int, inBraces bool) (int, int) {
	n := 1
	for i < len(p) {
		switch p[i] {
		case '\\':
			i += 2
			continue
		case '[':
			// A class: braces inside are literal.
			j := i + 1
			if j < len(p) && (p[j] == '^' || p[j] == '!') {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				if p[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
			continue
		case '{':
			sum := 0
			i++
			for {
				alt, next := expansions(p, i, true)
				sum = min(sum+alt, expansionsCap)
				i = next
				if i >= len(p) || p[i] == '}' {
					break
				}
				i++ // past ","
			}
			n = min(n*max(sum, 1), expansionsCap)
		case ',', '}':
			if inBraces {
				return n, i
			}
		}
		i++
	}
	return n, i
}

// checkGlobCost refuses a glob whose matching would cost too much; the
// file's total is checked by the caller.
func (d *decoder) checkGlobCost(v *yaml.Node, path string) bool {
	switch n := strings.Count(v.Value, "**"); {
	case len(v.Value) > MaxGlobLength:
		d.errorf(v, "%s: %s; a glob may have at most %d", path, d.size(len(v.Value), "bytes"), MaxGlobLength)
	case n > MaxGlobDoubleStars:
		d.errorf(v, "%s: %s; a glob may have at most %d", path, d.count(n, `"**"`), MaxGlobDoubleStars)
	case GlobExpansions(v.Value) > MaxGlobExpansions:
		d.errorf(v, "%s: its {…} alternatives expand to more than %d patterns; write fewer alternatives, or several globs", path, MaxGlobExpansions)
	default:
		return true
	}
	return false
}

// countGlob adds a glob to the file's total and reports the glob that
// crosses MaxGlobs, once.
func (d *decoder) countGlob(v *yaml.Node, path string) {
	before := d.globs
	d.globs += GlobExpansions(v.Value)
	if before <= MaxGlobs && d.globs > MaxGlobs {
		d.errorf(v, "%s: the file's globs come to more than %d patterns here (counting each {…} alternative); a rules file may have at most %d", path, MaxGlobs, MaxGlobs)
	}
}

// Glob is a path glob compiled to RE2 (see globRegexp): it matches what
// doublestar.Match matches, in time linear in Program times the path's
// length.
type Glob struct {
	re *regexp.Regexp
	// prefix is the literal text every match starts with: most paths of
	// a pull request fail on it at once.
	prefix string
	// Program is the size of the compiled program.
	Program int
}

// Match reports whether the path matches the glob.
func (g *Glob) Match(path string) bool {
	return strings.HasPrefix(path, g.prefix) && g.re.MatchString(path)
}

// CompileGlob compiles a path glob as a rules file may write it, within
// MaxGlobProgram.
func CompileGlob(p string) (*Glob, error) {
	d := &decoder{}
	d.checkGlob(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}, "glob", true)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return d.paths[p], nil
}

// compileGlob compiles a path glob within the limits and keeps it for
// Merge, so that no decision compiles it again.
func (d *decoder) compileGlob(v *yaml.Node, path string) {
	re, n, err := globProgram(v.Value)
	switch {
	case err != nil:
		// globMatchProblem and ValidatePattern passed: a translation bug.
		d.errorf(v, "%s: cannot be compiled: %v", path, err)
		return
	case n > MaxGlobProgram:
		d.errorf(v, "%s: compiles to %s; a glob may have at most %d (each {…} alternative and each \"*\" before the end adds to it)", path, d.count(n, "instructions"), MaxGlobProgram)
		return
	}
	before := d.globProgram
	d.globProgram += n
	if before <= MaxGlobPrograms && d.globProgram > MaxGlobPrograms {
		d.errorf(v, "%s: the file's path globs compile to more than %d instructions together here; a rules file may have at most %d", path, MaxGlobPrograms, MaxGlobPrograms)
		return
	}
	if d.paths == nil {
		d.paths = map[string]*Glob{}
	}
	prefix, _ := re.LiteralPrefix()
	d.paths[v.Value] = &Glob{re: re, prefix: prefix, Program: n}
}

// MatchAny reports whether path matches one of the rule's files.any globs.
func (r *LabelRule) MatchAny(path string) bool { return matchGlobs(r.any, r.Files.Any, path) }

// MatchAll reports whether path matches one of the rule's files.all globs.
func (r *LabelRule) MatchAll(path string) bool { return matchGlobs(r.all, r.Files.All, path) }

// GlobProgram is the size of the programs of the rule's path globs: what
// matching one byte of a path against all of them costs at most.
func (r *LabelRule) GlobProgram() int {
	n := 0
	for _, l := range []struct {
		compiled []*Glob
		globs    []string
	}{{r.any, r.Files.Any}, {r.all, r.Files.All}} {
		if len(l.compiled) == len(l.globs) {
			for _, g := range l.compiled {
				n += g.Program
			}
			continue
		}
		for _, g := range l.globs {
			if c, err := CompileGlob(g); err == nil {
				n += c.Program
			}
		}
	}
	return n
}

// matchGlobs matches the compiled globs, or, for a rule built by hand (in
// tests), compiles them on every call.
func matchGlobs(compiled []*Glob, globs []string, path string) bool {
	if len(compiled) == len(globs) {
		return slices.ContainsFunc(compiled, func(g *Glob) bool { return g.Match(path) })
	}
	for _, g := range globs {
		if c, err := CompileGlob(g); err == nil && c.Match(path) {
			return true
		}
	}
	return false
}

// checkTitle compiles a title expression within the limits and keeps it
// for Merge, so that no decision compiles it again.
func (d *decoder) checkTitle(v *yaml.Node, path string) {
	if len(v.Value) > MaxTitleLength {
		d.errorf(v, "%s.title: %s; a title expression may have at most %d", path, d.size(len(v.Value), "bytes"), MaxTitleLength)
		return
	}
	// regexp.Compile's own steps, to learn the program's size.
	re, err := syntax.Parse(v.Value, syntax.Perl)
	var prog *syntax.Prog
	if err == nil {
		prog, err = syntax.Compile(re.Simplify())
	}
	if err != nil {
		d.errorf(v, "%s.title: not a regular expression: %s", path, regexpProblem(err, d.redact))
		return
	}
	if n := len(prog.Inst); n > MaxTitleProgram {
		d.errorf(v, "%s.title: compiles to %s; a title expression may have at most %d (counted repetitions such as {100} multiply it)", path, d.count(n, "instructions"), MaxTitleProgram)
		return
	}
	before := d.titleProgram
	d.titleProgram += len(prog.Inst)
	if before <= MaxTitlePrograms && d.titleProgram > MaxTitlePrograms {
		d.errorf(v, "%s.title: the file's title expressions compile to more than %d instructions together here; a rules file may have at most %d", path, MaxTitlePrograms, MaxTitlePrograms)
		return
	}
	compiled, err := regexp.Compile(v.Value)
	if err != nil {
		d.errorf(v, "%s.title: not a regular expression: %s", path, regexpProblem(err, d.redact))
		return
	}
	if d.titles == nil {
		d.titles = map[string]*regexp.Regexp{}
	}
	d.titles[v.Value] = compiled
}

// MatchTitle reports whether title matches the rule's title expression.
// Merge compiles it once, when the rules load; a rule built by hand (in
// tests) is compiled here on every call.
func (r *LabelRule) MatchTitle(title string) bool {
	re := r.title
	if re == nil {
		var err error
		if re, err = compileTitle(r.Title); err != nil {
			return false // Parse refuses such expressions
		}
	}
	return re.MatchString(title)
}

// compileTitle compiles an expression within MaxTitleProgram.
func compileTitle(s string) (*regexp.Regexp, error) {
	d := &decoder{}
	d.checkTitle(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}, "title")
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return d.titles[s], nil
}

// compilePatterns gives the effective label rules their compiled title
// expressions and path globs, from the file that wrote them: labels.rules
// is replaced as a whole, so all come from one file.
func (res *Result) compilePatterns(layers []Layer) {
	for i := range res.Rules.Labels.Rules {
		rule := &res.Rules.Labels.Rules[i]
		rule.any = res.compileGlobs(layers, i, rule.Files.Any)
		rule.all = res.compileGlobs(layers, i, rule.Files.All)
		if rule.Title == "" {
			continue
		}
		for _, l := range layers {
			if l.File != nil && l.File.titles[rule.Title] != nil {
				rule.title = l.File.titles[rule.Title]
			}
		}
		if rule.title == nil {
			// Every layer was parsed, so only a merge bug gets here.
			re, err := compileTitle(rule.Title)
			if err != nil {
				res.Problems = append(res.Problems, &Error{File: "merged rules", Msg: fmt.Sprintf("labels.rules[%d].title: %v", i, err)})
				continue
			}
			rule.title = re
		}
	}
}

// compileGlobs finds the compiled globs of labels.rules[i] in the layers.
func (res *Result) compileGlobs(layers []Layer, i int, globs []string) []*Glob {
	var out []*Glob
	for _, g := range globs {
		var found *Glob
		for _, l := range layers {
			if l.File != nil && l.File.paths[g] != nil {
				found = l.File.paths[g]
			}
		}
		if found == nil {
			// Every layer was parsed, so only a merge bug gets here.
			c, err := CompileGlob(g)
			if err != nil {
				res.Problems = append(res.Problems, &Error{File: "merged rules", Msg: fmt.Sprintf("labels.rules[%d].files: %v", i, err)})
				continue
			}
			found = c
		}
		out = append(out, found)
	}
	return out
}
