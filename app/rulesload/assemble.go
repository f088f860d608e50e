package rulesload

import (
	"context"
	"errors"
	"strings"

	"github.com/SovereignCloudStack/contribot/rules"
)

// assembly gathers the layers of one repository's rules.
type assembly struct {
	l           *Loader
	f           Fetcher
	owner, repo string
	read        []Read
}

func (l *Loader) assemble(ctx context.Context, f Fetcher, owner, repo string) (*Loaded, error) {
	a := &assembly{l: l, f: f, owner: owner, repo: repo}
	// The org default is read even for a repository that extends another
	// file or none: its locks hold regardless. It is cached per owner.
	org, err := a.home(ctx, rules.OrgDefault(owner), rules.LayerOrg)
	if err != nil {
		return nil, err
	}
	layers := []rules.Layer{rules.BuiltinLayer()}
	if strings.EqualFold(repo, rules.OrgRepo) {
		// The org's .github repository: its file is the org default itself.
		layers = append(layers, org.layers...)
	} else {
		own, err := a.home(ctx, rules.Target{Owner: owner, Repo: repo, Path: rules.DefaultPath}, rules.LayerRepo)
		if err != nil {
			return nil, err
		}
		orgLayers, err := a.orgLayers(ctx, org, own.file)
		if err != nil {
			return nil, err
		}
		layers = append(append(layers, orgLayers...), own.layers...)
	}
	return &Loaded{Result: *rules.Merge(layers...), Read: a.read}, nil
}

// home is what one repository's .github directory contributes.
type home struct {
	// layers holds the dco.yml migration layer, then the contribot.yml
	// layer, as far as they exist.
	layers []rules.Layer
	// file is the parsed contribot.yml, nil when absent or broken.
	file *rules.File
}

// home reads contribot.yml at t and, while it has no dco section, the
// Probot app's dco.yml beside it. A contribot.yml that does not parse
// counts as present: the repository has moved on from dco.yml, whose stale
// settings should not come back because of a typo.
func (a *assembly) home(ctx context.Context, t rules.Target, kind rules.LayerKind) (home, error) {
	content, found, err := a.fetch(ctx, t)
	if err != nil {
		return home{}, err
	}
	orgDefault := kind == rules.LayerOrg
	var h home
	switch {
	case found:
		file, err := a.l.parse(false, a.foreign(t), a.name(t), content)
		if err != nil {
			if orgDefault {
				return home{layers: a.failClosed(t, content, err)}, nil
			}
			return home{layers: []rules.Layer{{Kind: kind, Err: err}}}, nil
		}
		h.file = file
		if orgDefault {
			a.l.keepGood(a.owner, content)
		}
	case orgDefault:
		// Deleting the org default is an admin's choice, not a typo: a
		// broken file created later has no earlier version to fall back on.
		a.l.dropGood(a.owner)
	}
	if h.file == nil || !h.file.Has("dco") {
		dt := rules.Target{Owner: t.Owner, Repo: t.Repo, Path: rules.ProbotDCOPath}
		content, found, err := a.fetch(ctx, dt)
		if err != nil {
			return home{}, err
		}
		if found {
			file, err := a.l.parse(true, a.foreign(dt), a.name(dt), content)
			h.layers = append(h.layers, rules.Layer{Kind: kind, File: file, Err: err})
		}
	}
	if h.file != nil {
		h.layers = append(h.layers, rules.Layer{Kind: kind, File: h.file})
	}
	return h, nil
}

// failClosed stands in for an org default that does not parse. Its locks
// must hold, or one typo beside "locked: [dco]" lets every repository
// switch DCO off until the org fixes the file. The last version of the
// file that parsed in this process applies in its place, values and locks;
// without one (after a restart, or on a replica that never read a good
// version) the broken file's own locks are read leniently
// (rules.FailClosed). Locks that the broken version lists are kept either
// way, so a push that adds a lock and a typo does not lose the new lock.
func (a *assembly) failClosed(t rules.Target, content []byte, parseErr error) []rules.Layer {
	name := a.name(t)
	locks, how := rules.FailClosed(name, content)
	var layers []rules.Layer
	var msg string
	if good, ok := a.l.good(a.owner); ok {
		if last, err := a.l.parse(false, a.foreign(t), name, good); err == nil {
			layers = append(layers, rules.Layer{Kind: rules.LayerOrg, File: last})
			msg = "the org rules do not parse and are skipped; until they are fixed, their last version that parsed applies instead"
			if len(last.Rules.Locked) > 0 {
				msg += ", with its locks (" + strings.Join(last.Rules.Locked, ", ") + ")"
			}
			if how != rules.SalvageListed {
				locks = nil // the last good version's locks are the better guess
			}
		}
	}
	if msg == "" {
		switch how {
		case rules.SalvageListed:
			msg = "the org rules do not parse and are skipped until they are fixed"
			if len(locks.Rules.Locked) > 0 {
				msg += "; the sections they lock stay locked (" + strings.Join(locks.Rules.Locked, ", ") + ")"
			}
		case rules.SalvageMentioned:
			msg = "the org rules do not parse and are skipped until they are fixed; since their locked list cannot be read, dco and the sections they write stay locked (" + strings.Join(locks.Rules.Locked, ", ") + ")"
		case rules.SalvageAll:
			msg = "the org rules are not readable YAML and are skipped until they are fixed; since their locks cannot be read, every section stays locked"
		}
	}
	problems := rules.Errors{{File: name, Msg: msg}}
	var errs rules.Errors
	if errors.As(parseErr, &errs) {
		problems = append(problems, errs...)
	} else {
		problems = append(problems, &rules.Error{File: name, Msg: parseErr.Error()})
	}
	layer := rules.Layer{Kind: rules.LayerOrg, Err: problems}
	if locks != nil && len(locks.Rules.Locked) > 0 {
		layer.File = locks
	}
	return append(layers, layer)
}

// orgLayers applies the repository file's extends to the org default.
func (a *assembly) orgLayers(ctx context.Context, org home, own *rules.File) ([]rules.Layer, error) {
	if own == nil {
		return org.layers, nil
	}
	def := rules.OrgDefault(a.owner)
	t, none, err := rules.ResolveExtends(a.owner, own.Rules.Extends)
	switch {
	case none:
		return locksOnly(org.layers), nil
	case err != nil:
		// Another org's file: refused before anything is read.
		problem := own.ErrorAt("extends", "extends: %v; using the org default %s instead", err, def)
		return append(org.layers, rules.Layer{Kind: rules.LayerOrg, Err: problem}), nil
	case strings.EqualFold(t.Owner, def.Owner) && strings.EqualFold(t.Repo, def.Repo) && t.Path == def.Path:
		return org.layers, nil
	}
	content, found, err := a.fetch(ctx, t)
	if err != nil {
		return nil, err
	}
	if !found {
		problem := own.ErrorAt("extends", "extends: %s does not exist or contribot cannot read it; using the org default %s instead", t, def)
		return append(org.layers, rules.Layer{Kind: rules.LayerOrg, Err: problem}), nil
	}
	file, err := a.l.parse(false, a.foreign(t), a.name(t), content)
	if err != nil {
		problems := rules.Errors{own.ErrorAt("extends", "extends: %s has problems; using the org default %s instead", t, def)}
		var errs rules.Errors
		if errors.As(err, &errs) {
			problems = append(problems, errs...)
		}
		return append(org.layers, rules.Layer{Kind: rules.LayerOrg, Err: problems}), nil
	}
	return append(locksOnly(org.layers), rules.Layer{Kind: rules.LayerOrg, File: file}), nil
}

// locksOnly keeps of the org default only what it locks, for a repository
// that chose another org layer.
func locksOnly(layers []rules.Layer) []rules.Layer {
	out := make([]rules.Layer, len(layers))
	for i, l := range layers {
		l.LocksOnly = true
		out[i] = l
	}
	return out
}

func (a *assembly) fetch(ctx context.Context, t rules.Target) ([]byte, bool, error) {
	content, found, err := a.l.fetch(ctx, a.f, a.owner, t)
	if err != nil {
		return nil, false, err
	}
	a.read = append(a.read, Read{Target: t, Found: found})
	return content, found, nil
}

// foreign reports a file of another repository than the one being loaded:
// its problems are shown to this repository's readers, who may not be able
// to read it, so they are parsed with rules.ParseRedacted.
func (a *assembly) foreign(t rules.Target) bool {
	return !strings.EqualFold(t.Owner, a.owner) || !strings.EqualFold(t.Repo, a.repo)
}

// name is how messages refer to a file: by path inside the repository
// being loaded, as its maintainers know it, and by owner/repo:path elsewhere.
func (a *assembly) name(t rules.Target) string {
	if strings.EqualFold(t.Owner, a.owner) && strings.EqualFold(t.Repo, a.repo) {
		return t.Path
	}
	return t.String()
}
