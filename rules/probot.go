package rules

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// probotDCO is the Probot DCO app's .github/dco.yml, for strict checking.
type probotDCO struct {
	Require struct {
		Members bool `yaml:"members"`
	} `yaml:"require"`
	AllowRemediationCommits struct {
		Individual bool `yaml:"individual"`
		ThirdParty bool `yaml:"thirdParty"`
	} `yaml:"allowRemediationCommits"`
}

// ParseProbotDCO reads a Probot DCO app .github/dco.yml as a rules layer
// holding the equivalent dco section, so a repository keeps its settings
// when it moves to contribot. It is as strict as Parse. The layer applies
// only where the repository's contribot.yml has no dco section (File.Has);
// the returned File's nodes keep their positions in dco.yml, so Sources
// point at the line an admin wrote.
func ParseProbotDCO(name string, data []byte) (*File, error) {
	return parseProbotDCO(name, data, false)
}

// ParseProbotDCORedacted is ParseProbotDCO for a file read from another
// repository, with messages as ParseRedacted's.
func ParseProbotDCORedacted(name string, data []byte) (*File, error) {
	return parseProbotDCO(name, data, true)
}

func parseProbotDCO(name string, data []byte, redact bool) (*File, error) {
	root, err := readYAML(name, data, redact)
	if err != nil {
		return nil, err
	}
	f := &File{Name: name}
	if root == nil {
		return f, nil
	}
	d := &decoder{file: name, redact: redact}
	var p probotDCO
	d.decode(root, reflect.ValueOf(&p).Elem(), "")
	if len(d.errs) > 0 {
		return nil, d.errs.report()
	}

	dco := mapping(root)
	if key, val := lookup(root, "require"); val != nil && !isNull(val) {
		dco.Content = append(dco.Content, renamed(key, "require"), val)
	}
	if key, val := lookup(root, "allowRemediationCommits"); val != nil && !isNull(val) {
		rem := mapping(val)
		for _, names := range [][2]string{{"individual", "individual"}, {"thirdParty", "third_party"}} {
			if k, v := lookup(val, names[0]); v != nil {
				rem.Content = append(rem.Content, renamed(k, names[1]), v)
			}
		}
		dco.Content = append(dco.Content, renamed(key, "remediation"), rem)
	}
	f.Root = mapping(root)
	f.Root.Content = []*yaml.Node{renamed(root, "dco"), dco}
	f.Rules.DCO.Require.Members = p.Require.Members
	f.Rules.DCO.Remediation = Remediation{Individual: p.AllowRemediationCommits.Individual, ThirdParty: p.AllowRemediationCommits.ThirdParty}
	return f, nil
}

// mapping is an empty mapping at the position of n.
func mapping(at *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: at.Line, Column: at.Column}
}

// renamed is a key node named for contribot at the position of the Probot key.
func renamed(at *yaml.Node, name string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name, Line: at.Line, Column: at.Column}
}
