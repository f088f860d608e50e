package rules

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// GitHub refuses longer label names and descriptions with a 422, which
// would surface only when contribot first tries to create the label.
const (
	maxLabelName        = 50
	maxLabelDescription = 100
)

// Bounds on modules, which keep merging and deciding cheap: a pull request
// carries at most 100 labels, so longer lists would never apply.
const (
	// MaxModules bounds the modules of one file.
	MaxModules = 200
	// MaxModuleList bounds a list of module names (implies, a label
	// rule's modules).
	MaxModuleList = 50
)

// sizeNames are the size thresholds in the order they must increase.
var sizeNames = []string{"S", "M", "L", "XL", "XXL"}

// The checks below read nodes, not decoded values: a value of the wrong
// type was reported by decode already and must not be reported twice, and
// each message points at the node that is wrong.

func (d *decoder) checkModules(mods *yaml.Node) {
	if mods == nil || mods.Kind != yaml.MappingNode {
		return
	}
	if n := len(mods.Content) / 2; n > MaxModules {
		d.errorf(mods.Content[2*MaxModules], "modules: %s; a rules file may have at most %d", d.count(n, "modules"), MaxModules)
	}
	for i := 0; i+1 < len(mods.Content); i += 2 {
		key, val := mods.Content[i], mods.Content[i+1]
		if key.Kind == yaml.ScalarNode && !isNull(key) && strings.TrimSpace(key.Value) == "" {
			d.errorf(key, "modules: empty module name")
			continue
		}
		path := "modules." + d.name(key.Value)
		if v := stringAt(val, "label"); v != nil {
			if strings.TrimSpace(v.Value) == "" {
				d.errorf(v, "%s.label: empty; leave label out to use the module's name", path)
			} else {
				d.checkLabelName(v, path+".label")
			}
		} else if n := utf8.RuneCountInString(key.Value); n > maxLabelName {
			// Without a label the name is the label.
			d.errorf(key, "%s: the module's name is its label, and is %s; GitHub label names have at most %d: set label", path, d.size(n, "characters long"), maxLabelName)
		}
		d.checkDescription(stringAt(val, "description"), path+".description")
		d.checkColor(stringAt(val, "color"), path+".color")
		d.checkModuleNames(listAt(val, "implies"), path+".implies")
	}
}

func (d *decoder) checkLabels(labels *yaml.Node) {
	if labels == nil || labels.Kind != yaml.MappingNode {
		return
	}
	if v := stringAt(labels, "sync"); v != nil && v.Value != SyncAddOnly && v.Value != SyncManaged {
		d.errorf(v, "labels.sync: want %q or %q, got %s", SyncAddOnly, SyncManaged, d.quote(v.Value))
	}
	owned := mappingAt(labels, "owned")
	for i, v := range listAt(owned, "prefixes") {
		if isString(v) && strings.TrimSpace(v.Value) == "" {
			d.errorf(v, "labels.owned.prefixes[%d]: empty prefix; it would own every label", i)
		}
	}
	for i, v := range listAt(owned, "names") {
		if isString(v) {
			d.checkLabelName(v, fmt.Sprintf("labels.owned.names[%d]", i))
		}
	}
	cm := mappingAt(labels, "create_missing")
	d.checkColor(stringAt(cm, "color"), "labels.create_missing.color")
	d.checkDescription(stringAt(cm, "description"), "labels.create_missing.description")
	for _, key := range []string{"max_labels", "max_files"} {
		if v, n := intAt(labels, key); v != nil && n < 0 {
			d.errorf(v, "labels.%s: want 0 (no limit) or more, got %s", key, d.number(n))
		}
	}
	if v := stringAt(labels, "fallback"); v != nil && v.Value != "" {
		d.checkLabelName(v, "labels.fallback")
	}
	for i, rule := range listAt(labels, "rules") {
		if i == MaxLabelRules {
			d.errorf(rule, "labels.rules: %s; a rules file may have at most %d", d.count(len(listAt(labels, "rules")), "rules"), MaxLabelRules)
			break
		}
		d.checkLabelRule(rule, fmt.Sprintf("labels.rules[%d]", i))
	}
	d.checkThresholds(mappingAt(mappingAt(labels, "size"), "thresholds"))
}

func (d *decoder) checkLabelRule(rule *yaml.Node, path string) {
	if rule.Kind != yaml.MappingNode && !isNull(rule) {
		return
	}
	for i, v := range listAt(rule, "repos") {
		d.checkGlob(v, fmt.Sprintf("%s.repos[%d]", path, i), false)
	}
	files := mappingAt(rule, "files")
	for _, key := range []string{"any", "all"} {
		for i, v := range listAt(files, key) {
			d.checkGlob(v, fmt.Sprintf("%s.files.%s[%d]", path, key, i), true)
		}
	}
	if v := stringAt(rule, "title"); v != nil && v.Value != "" {
		d.checkTitle(v, path)
	}
	if !written(rule, "repos") && !written(files, "any") && !written(files, "all") && !written(rule, "title") {
		d.errorf(rule, "%s: no condition; set repos, files.any, files.all or title", path)
	}
	if !written(rule, "modules") {
		d.errorf(rule, "%s: no modules; list the modules this rule gives", path)
	}
	d.checkModuleNames(listAt(rule, "modules"), path+".modules")
}

func (d *decoder) checkWelcome(w *yaml.Node) {
	if w == nil || w.Kind != yaml.MappingNode {
		return
	}
	if v := stringAt(w, "scope"); v != nil && v.Value != ScopeOrg && v.Value != ScopeRepo {
		d.errorf(v, "welcome.scope: want %q or %q, got %s", ScopeOrg, ScopeRepo, d.quote(v.Value))
	}
	if links := mappingAt(w, "links"); links != nil {
		if n := len(links.Content) / 2; n > MaxWelcomeLinks {
			d.errorf(links.Content[2*MaxWelcomeLinks], "welcome.links: %s; a rules file may have at most %d", d.count(n, "links"), MaxWelcomeLinks)
		}
		for i := 0; i+1 < len(links.Content); i += 2 {
			key, val := links.Content[i], links.Content[i+1]
			if isString(key) && !linkName.MatchString(key.Value) {
				d.errorf(key, "welcome.links: %s cannot be written as {{.Links.name}}; use letters, digits and _, not starting with a digit", d.quote(key.Value))
			}
			switch {
			case !isString(val):
			case len(val.Value) > MaxWelcomeLinkURL:
				d.errorf(val, "welcome.links.%s: %s; a link may have at most %d", d.name(key.Value), d.size(len(val.Value), "bytes"), MaxWelcomeLinkURL)
			case !absoluteURL(val.Value):
				d.errorf(val, "welcome.links.%s: want an absolute http(s) URL such as \"https://example.org/contribute\", got %s", d.name(key.Value), d.quote(val.Value))
			}
		}
	}
	if v := stringAt(w, "label"); v != nil && v.Value != "" {
		d.checkLabelName(v, "welcome.label")
	}
	for _, key := range welcomeTemplates {
		v := stringAt(w, key)
		if v == nil || v.Value == "" {
			continue
		}
		path := "welcome." + key
		if len(v.Value) > MaxWelcomeTemplate {
			d.errorf(v, "%s: %s; a welcome template may have at most %d", path, d.size(len(v.Value), "bytes"), MaxWelcomeTemplate)
			continue
		}
		for _, e := range checkWelcomeTemplate(path, v.Value) {
			d.errs = append(d.errs, templateError(d.file, d.src, v, path, e, d.redact))
		}
	}
}

// upstreamHosts are the host lists of the upstream section, each with the
// host its messages offer as an example.
var upstreamHosts = []struct{ key, example string }{
	{"gerrit", "review.opendev.org"},
	{"gitlab", "gitlab.com"},
}

// GitHub refuses longer issue titles, which would surface only when the
// poller first writes the dashboard.
const maxIssueTitle = 256

func (d *decoder) checkUpstream(up *yaml.Node) {
	if up == nil || up.Kind != yaml.MappingNode {
		return
	}
	if v := stringAt(up, "label"); v != nil && v.Value != "" {
		d.checkLabelName(v, "upstream.label")
	}
	for _, h := range upstreamHosts {
		for i, v := range listAt(up, h.key) {
			d.checkHost(v, fmt.Sprintf("upstream.%s[%d]", h.key, i), h.example)
		}
	}
	// A value that does not parse was reported by decode.
	if v := stringAt(up, "stale_after"); v != nil {
		if dur, err := ParseDuration(v.Value); err == nil && dur <= 0 {
			d.errorf(v, "upstream.stale_after: want more than 0, such as %s, got %s", durationForms, d.quote(v.Value))
		}
	}
	dash := mappingAt(up, "dashboard")
	repo := stringAt(dash, "repo")
	if repo != nil && repo.Value != "" {
		d.checkRepo(repo, "upstream.dashboard.repo", "SovereignCloudStack/issues")
	}
	if v := stringAt(dash, "title"); v != nil {
		switch n := utf8.RuneCountInString(strings.TrimSpace(v.Value)); {
		case n == 0 && (repo == nil || repo.Value != ""):
			// Allowed next to repo: "", which turns the dashboard off; Merge
			// catches an empty title that meets another layer's repo.
			d.errorf(v, "upstream.dashboard.title: empty; the dashboard issue needs a title (write repo: \"\" for no dashboard)")
		case n > maxIssueTitle:
			d.errorf(v, "upstream.dashboard.title: %s; GitHub issue titles have at most %d", d.size(n, "characters"), maxIssueTitle)
		}
	}
}

// hostName is a DNS name in lower case: links are matched by their host
// in lower case, so "Review.OpenDev.org" would match nothing. It is also
// schema.json's pattern for hosts.
var hostName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// maxHostName is the DNS limit on a name's length.
const maxHostName = 253

func isHostName(s string) bool {
	return len(s) <= maxHostName && hostName.MatchString(s)
}

func (d *decoder) checkHost(v *yaml.Node, path, example string) {
	switch {
	case !isString(v) || isHostName(v.Value):
		return
	case strings.TrimSpace(v.Value) == "":
		d.errorf(v, "%s: empty host name", path)
	case suggestHost(v.Value) != "" && !d.redact:
		d.errorf(v, "%s: write %q, not %q", path, suggestHost(v.Value), v.Value)
	default:
		d.errorf(v, "%s: want a host name such as %q, without scheme, port or path, got %s", path, example, d.quote(v.Value))
	}
}

// suggestHost is the host name an admin most likely meant: that of a URL
// copied from the browser, in lower case, without path or final dot. It is
// "" when there is none, or when it would drop a port or a user, which
// would mean another server.
func suggestHost(s string) string {
	h := strings.ToLower(strings.TrimSpace(s))
	if _, rest, ok := strings.Cut(h, "://"); ok {
		h = rest
	}
	if i := strings.IndexAny(h, "/?#"); i >= 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if !isHostName(h) {
		return ""
	}
	return h
}

// checkRepo checks an "owner/name" setting, suggesting the name when a
// repository's URL was pasted instead.
func (d *decoder) checkRepo(v *yaml.Node, path, example string) {
	if validRepo(v.Value) {
		return
	}
	s := strings.TrimSpace(v.Value)
	for _, scheme := range []string{"https://", "http://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = s[len(scheme):]
		}
	}
	const host = "github.com/"
	if len(s) > len(host) && strings.EqualFold(s[:len(host)], host) {
		if parts := strings.Split(s[len(host):], "/"); len(parts) >= 2 {
			if repo := parts[0] + "/" + strings.TrimSuffix(parts[1], ".git"); validRepo(repo) && !d.redact {
				d.errorf(v, "%s: write %q, not %q", path, repo, v.Value)
				return
			}
		}
	}
	d.errorf(v, "%s: want \"owner/name\" such as %q, got %s", path, example, d.quote(v.Value))
}

// linkName is what {{.Links.name}} can name: a Go identifier in ASCII.
var linkName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// absoluteURL reports an http(s) URL with a host and nothing that would
// end a Markdown link early.
func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// checkThresholds checks the thresholds one file writes; Merge checks the
// effective ones, since a file may change only some of them.
func (d *decoder) checkThresholds(th *yaml.Node) {
	prevName, prev := "", 0
	for _, name := range sizeNames {
		v, n := intAt(th, name)
		switch {
		case v == nil:
			continue
		case n < 1:
			d.errorf(v, "labels.size.thresholds.%s: want 1 or more, got %s", name, d.number(n))
			continue
		case prevName != "" && n <= prev:
			d.errorf(v, "labels.size.thresholds.%s: %s is not above %s (%s); want S < M < L < XL < XXL", name, d.number(n), prevName, d.number(prev))
		}
		prevName, prev = name, n
	}
}

func (d *decoder) checkModuleNames(names []*yaml.Node, path string) {
	if len(names) > MaxModuleList {
		d.errorf(names[MaxModuleList], "%s: %s; a list of modules may have at most %d", path, d.count(len(names), "modules"), MaxModuleList)
	}
	for i, v := range names {
		if isString(v) && strings.TrimSpace(v.Value) == "" {
			d.errorf(v, "%s[%d]: empty module name", path, i)
		}
	}
}

func (d *decoder) checkLabelName(v *yaml.Node, path string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(v.Value)); {
	case n == 0:
		d.errorf(v, "%s: empty label name", path)
	case n > maxLabelName:
		d.errorf(v, "%s: %s; GitHub label names have at most %d", path, d.size(n, "characters"), maxLabelName)
	}
}

func (d *decoder) checkDescription(v *yaml.Node, path string) {
	if v == nil {
		return
	}
	if n := utf8.RuneCountInString(v.Value); n > maxLabelDescription {
		d.errorf(v, "%s: %s; GitHub label descriptions have at most %d", path, d.size(n, "characters"), maxLabelDescription)
	}
}

var hexColor = regexp.MustCompile(`^[0-9A-Fa-f]{6}$`)

// checkColor allows "" so that a layer can drop an inherited colour.
func (d *decoder) checkColor(v *yaml.Node, path string) {
	if v == nil || v.Value == "" || hexColor.MatchString(v.Value) {
		return
	}
	if c, ok := strings.CutPrefix(v.Value, "#"); ok && hexColor.MatchString(c) {
		if d.redact {
			d.errorf(v, "%s: write the 6 hex digits without \"#\"", path)
			return
		}
		d.errorf(v, "%s: write %q, not %q", path, c, v.Value)
		return
	}
	d.errorf(v, "%s: want 6 hex digits such as \"c5def5\", got %s", path, d.quote(v.Value))
}

func (d *decoder) checkGlob(v *yaml.Node, path string, isPath bool) {
	if !isString(v) {
		return
	}
	switch {
	case v.Value == "":
		d.errorf(v, "%s: empty glob", path)
	case !doublestar.ValidatePattern(v.Value):
		d.errorf(v, "%s: %s is not a valid glob: %s", path, d.quote(v.Value), globProblem(v.Value))
	case isPath && strings.HasPrefix(v.Value, "/"):
		// Changed paths are relative, so this glob could never match.
		d.errorf(v, "%s: %s starts with \"/\"; paths are relative to the repository root", path, d.quote(v.Value))
	case isPath && globMatchProblem(v.Value) != "":
		d.errorf(v, "%s: %s is not supported: %s", path, d.quote(v.Value), globMatchProblem(v.Value))
	case d.checkGlobCost(v, path):
		d.countGlob(v, path)
		if isPath {
			d.compileGlob(v, path)
		}
	}
}

// globProblem says why doublestar.ValidatePattern, which answers only yes
// or no, refuses p; it follows that function's scan.
func globProblem(p string) string {
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i++; i >= len(p) {
				return `it ends in a lone \ (write \\ for a backslash)`
			}
		case '[':
			j := i + 1
			if j < len(p) && (p[j] == '^' || p[j] == '!') {
				j++
			}
			if j < len(p) && p[j] == ']' {
				return `empty character class "[]" (write \[ for a literal [)`
			}
			for ; j < len(p) && p[j] != ']'; j++ {
				if p[j] == '\\' {
					j++
				}
			}
			if j >= len(p) {
				return `"[" is not closed (write \[ for a literal [)`
			}
			i = j
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return `"}" without "{" (write \} for a literal })`
			}
			depth--
		}
	}
	if depth > 0 {
		return `"{" is not closed (write \{ for a literal {)`
	}
	return "doublestar refuses it"
}

// regexpProblem drops the "error parsing regexp:" that the message
// already says in its own words; redacted, it keeps only the kind of
// problem, a fixed text.
func regexpProblem(err error, redact bool) string {
	var se *syntax.Error
	switch {
	case errors.As(err, &se) && redact:
		return string(se.Code)
	case errors.As(err, &se):
		return fmt.Sprintf("%s in %q", se.Code, se.Expr)
	case redact:
		return "RE2 refuses it"
	}
	return err.Error()
}

// written reports whether key has a value other than empty, "" or [].
func written(m *yaml.Node, key string) bool {
	_, v := lookup(m, key)
	switch {
	case v == nil || isNull(v):
		return false
	case v.Kind == yaml.SequenceNode:
		return len(v.Content) > 0
	case isString(v):
		return v.Value != ""
	}
	return true
}

func stringAt(m *yaml.Node, key string) *yaml.Node {
	if _, v := lookup(m, key); v != nil && isString(v) {
		return v
	}
	return nil
}

func mappingAt(m *yaml.Node, key string) *yaml.Node {
	if _, v := lookup(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	return nil
}

func listAt(m *yaml.Node, key string) []*yaml.Node {
	if _, v := lookup(m, key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

// intAt returns the node and value of a whole-number setting; nil when the
// key is absent or was not a whole number.
func intAt(m *yaml.Node, key string) (*yaml.Node, int) {
	_, v := lookup(m, key)
	if v == nil || v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		return nil, 0
	}
	var n int
	if err := v.Decode(&n); err != nil {
		return nil, 0
	}
	return v, n
}
