package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

// Labels as GitHub keeps them: a repository has a set of labels (name,
// colour, description), names unique ignoring case; an issue or pull request
// carries some of them. Adding a name the repository lacks to an issue
// creates the repository label, with colour "ededed" and no description
// (recorded by octokit/fixtures, scenario add-labels-to-issue), so code that
// wants its own colours must create labels before adding them.

// defaultLabelColor is the colour GitHub gives labels created by adding them
// to an issue.
const defaultLabelColor = "ededed"

// labelDescriptionLimit is GitHub's maximum label description length.
const labelDescriptionLimit = 100

// findLabel returns the repository label named name, ignoring case.
func (rs *repoState) findLabel(name string) *github.Label {
	for _, l := range rs.repoLabels {
		if strings.EqualFold(l.GetName(), name) {
			return l
		}
	}
	return nil
}

// newLabel adds a label to the repository; the caller has checked that its
// name is free. The id comes from the server-wide sequence, the node id is in
// GitHub's legacy form ("05:Label<id>", base64), the url is the API URL with
// the name escaped (".../labels/good%20first%20issue", as GitHub sends it).
func (s *Server) newLabel(rs *repoState, name, color, description string, def bool) *github.Label {
	s.nextID++
	id := s.nextID
	l := &github.Label{
		ID:      github.Int64(id),
		NodeID:  github.String(base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("05:Label%d", id)))),
		URL:     github.String(s.apiRepo(rs.owner, rs.name) + "/labels/" + url.PathEscape(name)),
		Name:    github.String(name),
		Color:   github.String(color),
		Default: github.Bool(def),
	}
	if description != "" {
		l.Description = github.String(description)
	}
	rs.repoLabels = append(rs.repoLabels, l)
	return l
}

// ensureLabel returns the repository label for name, creating it as GitHub
// does when an issue is given a label the repository lacks.
func (s *Server) ensureLabel(rs *repoState, name string) *github.Label {
	if l := rs.findLabel(name); l != nil {
		return l
	}
	return s.newLabel(rs, name, defaultLabelColor, "", false)
}

// labelObject is a label as GitHub sends it: description null when empty.
func labelObject(l *github.Label) object {
	var desc any
	if d := l.GetDescription(); d != "" {
		desc = d
	}
	return object{
		"id":          l.GetID(),
		"node_id":     l.GetNodeID(),
		"url":         l.GetURL(),
		"name":        l.GetName(),
		"color":       l.GetColor(),
		"default":     l.GetDefault(),
		"description": desc,
	}
}

// issueLabelObjects renders an issue's labels with their repository
// label's id, colour and description.
func (s *Server) issueLabelObjects(rs *repoState, names []string) []object {
	out := make([]object, 0, len(names))
	for _, name := range names {
		out = append(out, labelObject(s.ensureLabel(rs, name)))
	}
	return out
}

// addIssueLabel gives issue n the label name (creating the repository label
// if needed), spelled as the repository label is; adding a label the issue
// has is a no-op.
func (s *Server) addIssueLabel(rs *repoState, n int, name string) {
	l := s.ensureLabel(rs, name)
	if !slices.ContainsFunc(rs.labels[n], func(have string) bool { return strings.EqualFold(have, name) }) {
		rs.labels[n] = append(rs.labels[n], l.GetName())
	}
}

// --- test setters and accessors ---

// Labels returns the names of the labels on issue or pull request number, in
// the order they were added, spelled as the repository labels are.
func (s *Server) Labels(owner, repo string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.lookupRepo(owner, repo)
	if rs == nil {
		return nil
	}
	return slices.Clone(rs.labels[number])
}

// SetLabels sets the labels on issue or pull request number. Names the
// repository lacks are created in it (colour "ededed", no description), as
// adding them through the API would.
func (s *Server) SetLabels(owner, repo string, number int, labels []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoState(owner, repo)
	rs.labels[number] = nil
	for _, name := range labels {
		s.addIssueLabel(rs, number, name)
	}
}

// SetRepoLabels replaces the repository's labels (what
// GET /repos/{o}/{r}/labels lists), in the order given. Name is required;
// unset colours are "ededed", unset ids, node ids and URLs are filled in,
// default is false unless set, and an empty description is none (null).
// A later label with the same name (ignoring case) replaces an earlier one.
// Labels on issues that are not in the new set are removed from the issues,
// as deleting a label on GitHub does; those that are take the new spelling.
func (s *Server) SetRepoLabels(owner, repo string, labels ...*github.Label) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoState(owner, repo)
	rs.repoLabels = nil
	for _, in := range labels {
		if in == nil || in.GetName() == "" {
			panic("fakegithub: SetRepoLabels: a label needs a name")
		}
		if old := rs.findLabel(in.GetName()); old != nil {
			rs.repoLabels = slices.DeleteFunc(rs.repoLabels, func(l *github.Label) bool { return l == old })
		}
		color := in.GetColor()
		if color == "" {
			color = defaultLabelColor
		}
		l := s.newLabel(rs, in.GetName(), color, in.GetDescription(), in.GetDefault())
		if in.ID != nil {
			l.ID = github.Int64(in.GetID())
		}
		if in.NodeID != nil {
			l.NodeID = github.String(in.GetNodeID())
		}
		if in.URL != nil {
			l.URL = github.String(in.GetURL())
		}
	}
	for n, names := range rs.labels {
		var kept []string
		for _, name := range names {
			if l := rs.findLabel(name); l != nil {
				kept = append(kept, l.GetName())
			}
		}
		rs.labels[n] = kept
	}
}

// RepoLabels returns the repository's labels in creation order, as the fake
// serves them (ids, URLs and colours filled in), including those created by
// adding unknown names to issues.
func (s *Server) RepoLabels(owner, repo string) []*github.Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.lookupRepo(owner, repo)
	if rs == nil {
		return nil
	}
	return clone(rs.repoLabels)
}

// --- endpoints ---

func (s *Server) listRepoLabels(c *call) *response {
	rs := s.lookupRepo(c.owner(), c.repo())
	var all []*github.Label
	if rs != nil {
		all = rs.repoLabels
	}
	lo, hi := s.paginate(c, len(all), 30, 100)
	out := make([]object, 0, hi-lo)
	for _, l := range all[lo:hi] {
		out = append(out, labelObject(l))
	}
	return jsonResponse(http.StatusOK, out)
}

// isHexColor reports whether c is what GitHub accepts as a label colour: six
// hex digits without "#" (either case, kept as sent).
func isHexColor(c string) bool {
	if len(c) != 6 {
		return false
	}
	for _, r := range c {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func (s *Server) createRepoLabel(c *call) *response {
	var in struct {
		Name        *string `json:"name"`
		Color       *string `json:"color"`
		Description *string `json:"description"`
	}
	if resp := s.decode(c, &in); resp != nil {
		return resp
	}
	// GitHub's documentation calls name and color required; a request that
	// leaves out the colour is refused here so that code relying on a
	// default fails in tests rather than in production.
	var errs []fieldError
	name := strings.TrimSpace(t2s(in.Name))
	if name == "" {
		errs = append(errs, fieldError{Resource: "Label", Code: "missing_field", Field: "name"})
	}
	switch {
	case in.Color == nil:
		errs = append(errs, fieldError{Resource: "Label", Code: "missing_field", Field: "color"})
	case !isHexColor(*in.Color):
		// As recorded by octokit/fixtures (scenario errors).
		errs = append(errs, fieldError{Resource: "Label", Code: "invalid", Field: "color"})
	}
	if utf8.RuneCountInString(t2s(in.Description)) > labelDescriptionLimit {
		errs = append(errs, fieldError{Resource: "Label", Code: "custom", Field: "description",
			Message: fmt.Sprintf("description is too long (maximum is %d characters)", labelDescriptionLimit)})
	}
	rs := s.lookupRepo(c.owner(), c.repo())
	if name != "" && rs != nil && rs.findLabel(name) != nil {
		errs = append(errs, fieldError{Resource: "Label", Code: "already_exists", Field: "name"})
	}
	if len(errs) > 0 {
		return jsonResponse(http.StatusUnprocessableEntity, errorBody{
			Message: "Validation Failed", Errors: errs, DocumentationURL: c.route.doc,
		})
	}
	rs = s.repoState(c.owner(), c.repo())
	l := s.newLabel(rs, name, *in.Color, t2s(in.Description), false)
	resp := jsonResponse(http.StatusCreated, labelObject(l))
	resp.header = http.Header{"Location": {l.GetURL()}}
	return resp
}

func (s *Server) listLabels(c *call) *response {
	n, ok := c.intParam("number")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return notFound(c.route.doc)
	}
	all := rs.labels[int(n)]
	lo, hi := s.paginate(c, len(all), 30, 100)
	return jsonResponse(http.StatusOK, s.issueLabelObjects(rs, all[lo:hi]))
}

func (s *Server) addLabels(c *call) *response {
	n, ok := c.intParam("number")
	if !ok {
		return notFound(c.route.doc)
	}
	// GitHub takes {"labels": [...]} or a bare array (what go-github sends).
	var names []string
	var in struct {
		Labels []string `json:"labels"`
	}
	if json.Unmarshal(c.body, &in) == nil {
		names = in.Labels
	} else if err := json.Unmarshal(c.body, &names); err != nil {
		return errorResponse(http.StatusBadRequest, "Problems parsing JSON", c.route.doc)
	}
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			return jsonResponse(http.StatusUnprocessableEntity, errorBody{
				Message:          "Validation Failed",
				Errors:           []fieldError{{Resource: "Label", Code: "invalid", Field: "name"}},
				DocumentationURL: c.route.doc,
			})
		}
	}
	rs := s.repoState(c.owner(), c.repo())
	for _, name := range names {
		s.addIssueLabel(rs, int(n), name)
	}
	return jsonResponse(http.StatusOK, s.issueLabelObjects(rs, rs.labels[int(n)]))
}

func (s *Server) removeLabel(c *call) *response {
	n, ok := c.intParam("number")
	rs := s.lookupRepo(c.owner(), c.repo())
	if !ok || rs == nil {
		return notFound(c.route.doc)
	}
	name := c.p["name"]
	labels := rs.labels[int(n)]
	i := slices.IndexFunc(labels, func(l string) bool { return strings.EqualFold(l, name) })
	if i < 0 {
		return errorResponse(http.StatusNotFound, "Label does not exist", c.route.doc)
	}
	rs.labels[int(n)] = slices.Delete(slices.Clone(labels), i, i+1)
	return jsonResponse(http.StatusOK, s.issueLabelObjects(rs, rs.labels[int(n)]))
}
