package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/SovereignCloudStack/contribot/app/markdown"
	"github.com/SovereignCloudStack/contribot/app/upstream/provider"
)

// DashboardMarker starts the body of the org's dashboard issue, so that
// contribot finds its issue again.
const DashboardMarker = "<!-- contribot:upstream-dashboard -->"

// noModule groups references whose trackers name no module.
const noModule = "no module"

// Dashboard renders the body of the org's dashboard issue: the references
// that an open issue or pull request still tracks, stale ones first, then
// by state, module and upstream project. refs must already leave out what
// the dashboard's repository may not show, such as private trackers.
//
// The body holds no time that moves on its own, so the caller can skip the
// edit when the text is unchanged. It stays within o.MaxChars runes by
// leaving out whole lines of the least important groups, and then says how
// many references are left out and where to find them. A limit smaller
// than the heading and summary cannot be met; the body is then just those.
func Dashboard(refs []Reference, o Options) string {
	limit := cmp.Or(o.MaxChars, DefaultMaxChars)
	var listed []Reference
	for _, r := range sortRefs(refs) {
		if r.HasOpenTracker() {
			listed = append(listed, r)
		}
	}
	head := DashboardMarker + "\n# Upstream work\n\n"
	if len(listed) == 0 {
		return head + "No open issue or pull request tracks upstream work.\n"
	}
	d := newDashboard(listed, o)
	head += d.summary() + "\n"
	full := d.render(head, 0)
	if utf8.RuneCountInString(full) <= limit {
		return full
	}
	// Leaving out k lines shortens the body as k grows (each line is longer
	// than the digits its count adds), so search for the least k that fits.
	lo, hi := 1, len(d.order)
	for lo < hi {
		k := lo + (hi-lo)/2
		if utf8.RuneCountInString(d.render(head, k)) <= limit {
			hi = k
		} else {
			lo = k + 1
		}
	}
	return d.render(head, lo)
}

// section is one heading of the dashboard with its lines.
type section struct {
	title string
	intro string
	// grouped sections have module and project subheadings.
	grouped bool
	entries []entry
	// refs counts distinct references: one can have several entries.
	refs int
}

// entry is one line of a section.
type entry struct {
	module, project string
	text            string
	ref             int // index into dashboard.refs
	cut             bool
}

type dashboard struct {
	refs     []Reference
	o        Options
	sections []*section
	// order lists the entries in the order they are left out when the body
	// is too long.
	order []*entry
	stale []bool
}

// cutOrder ranks the sections, least important first: work that cannot
// move any more, then finished work, then what is waiting for someone.
var cutOrder = []string{
	string(provider.Unavailable), string(provider.Abandoned), stateUntracked,
	string(provider.Released), string(provider.Merged), stateUnknown,
	string(provider.Draft), string(provider.Open), "stale", string(provider.InReview),
}

func newDashboard(refs []Reference, o Options) *dashboard {
	d := &dashboard{refs: refs, o: o, stale: make([]bool, len(refs))}
	byKey := map[string]*section{}
	stale := &section{title: "Stale", intro: "No upstream activity for " + duration(o.StaleAfter) + " or more."}
	byKey["stale"] = stale
	d.sections = append(d.sections, stale)
	for _, k := range stateKeys() {
		s := &section{title: sectionTitle(k), grouped: true}
		byKey[k] = s
		d.sections = append(d.sections, s)
	}
	var staleIdx []int
	for i, r := range refs {
		s := byKey[stateKey(r)]
		s.refs++
		d.stale[i] = Stale(r, o.Now, o.StaleAfter)
		if d.stale[i] {
			staleIdx = append(staleIdx, i)
		}
		mods := modulesOf(r.Trackers, true)
		if len(mods) == 0 {
			mods = []string{noModule}
		}
		for _, m := range mods {
			s.entries = append(s.entries, entry{module: m, project: projectKey(r), text: d.line(r, i, false), ref: i})
		}
	}
	slices.SortStableFunc(staleIdx, func(a, b int) int {
		return refs[a].LastActivity.Compare(refs[b].LastActivity)
	})
	for _, i := range staleIdx {
		stale.entries = append(stale.entries, entry{text: d.line(refs[i], i, true), ref: i})
	}
	stale.refs = len(staleIdx)
	for _, s := range d.sections {
		// refs are sorted by key, and the stable sort keeps that order
		// within a project.
		slices.SortStableFunc(s.entries, func(a, b entry) int {
			return cmp.Or(
				cmp.Compare(moduleRank(a.module), moduleRank(b.module)), strings.Compare(a.module, b.module),
				strings.Compare(a.project, b.project))
		})
	}
	for _, k := range cutOrder {
		s := byKey[k]
		for i := len(s.entries) - 1; i >= 0; i-- {
			d.order = append(d.order, &s.entries[i])
		}
	}
	return d
}

// moduleRank puts "no module" after the modules.
func moduleRank(m string) int {
	if m == noModule {
		return 1
	}
	return 0
}

func sectionTitle(stateKey string) string {
	switch stateKey {
	case stateUntracked:
		return "Links not tracked"
	case stateUnknown:
		return "Not checked yet"
	}
	t := provider.State(stateKey).Text()
	return strings.ToUpper(t[:1]) + t[1:]
}

// line is one reference as a list item. The stale section's lines name
// the state, since they are not under a state heading.
func (d *dashboard) line(r Reference, i int, withState bool) string {
	var b strings.Builder
	b.WriteString("- " + titled(refLink(r), r.Title))
	if withState {
		b.WriteString(" · " + r.State.Text())
	}
	if !r.LastActivity.IsZero() {
		b.WriteString(" · " + date(r.LastActivity))
	}
	if d.stale[i] && !withState {
		b.WriteString(" · **stale**")
	}
	if r.Tracked() && r.CheckError != "" {
		if r.CheckFailedSince.IsZero() {
			b.WriteString(" · could not check")
		} else {
			b.WriteString(" · could not check since " + date(r.CheckFailedSince))
		}
	}
	sep := " · "
	for _, t := range sortTrackers(r.Trackers) {
		if t.Open {
			b.WriteString(sep + trackerLink(t))
			sep = ", "
		}
	}
	return b.String()
}

// summary counts the listed references per state.
func (d *dashboard) summary() string {
	var parts []string
	tracked := 0
	for _, s := range d.sections[1:] {
		if s.refs == 0 || s.title == sectionTitle(stateUntracked) {
			continue
		}
		tracked += s.refs
		parts = append(parts, fmt.Sprintf("%d %s", s.refs, strings.ToLower(s.title)))
	}
	var b strings.Builder
	b.WriteString("**" + plural(tracked, "reference", "references") + "**")
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	if n := d.sections[0].refs; n > 0 {
		b.WriteString(" · **" + fmt.Sprint(n) + " stale**")
	}
	if n := d.sections[len(d.sections)-1].refs; n > 0 {
		b.WriteString(" · " + plural(n, "link", "links") + " not tracked")
	}
	return b.String()
}

// render writes the body with the first k entries of d.order left out.
func (d *dashboard) render(head string, k int) string {
	for i, e := range d.order {
		e.cut = i < k
	}
	var b strings.Builder
	b.WriteString(head)
	shown := make([]int, len(d.refs)) // section number + 1 where last counted
	left := make([]bool, len(d.refs))
	for si, s := range d.sections {
		n := 0
		for _, e := range s.entries {
			if e.cut {
				// A stale line left out is still listed under its state.
				left[e.ref] = left[e.ref] || s.grouped
			} else if shown[e.ref] != si+1 {
				shown[e.ref] = si + 1
				n++
			}
		}
		if n == 0 {
			continue
		}
		b.WriteString("\n## " + s.title)
		if n == s.refs {
			fmt.Fprintf(&b, " (%d)\n", n)
		} else {
			fmt.Fprintf(&b, " (%d, %d shown)\n", s.refs, n)
		}
		if s.intro != "" {
			b.WriteString("\n" + s.intro + "\n")
		}
		module, project := "", ""
		list := false
		for _, e := range s.entries {
			if e.cut {
				continue
			}
			if s.grouped && (e.module != module || e.project != project) {
				if e.module != module {
					b.WriteString("\n### " + markdown.Text(e.module) + "\n")
				}
				b.WriteString("\n#### " + markdown.Text(e.project) + "\n")
				module, project, list = e.module, e.project, false
			}
			if !list {
				b.WriteString("\n")
				list = true
			}
			b.WriteString(e.text + "\n")
		}
	}
	if n := count(left); n > 0 {
		b.WriteString("\n" + plural(n, "more reference", "more references"))
		if d.o.PageURL != "" {
			b.WriteString(": see " + d.o.PageURL + "\n")
		} else {
			b.WriteString(" not shown.\n")
		}
	}
	return b.String()
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
