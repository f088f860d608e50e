package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// schemaNode is the part of JSON Schema that schema.json uses.
type schemaNode struct {
	Type                 any                    `json:"type"`
	Properties           map[string]*schemaNode `json:"properties"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
	Enum                 []string               `json:"enum"`
	Pattern              string                 `json:"pattern"`
}

// closed reports additionalProperties: false, as Parse refuses unknown keys.
func (s *schemaNode) closed() bool {
	return string(s.AdditionalProperties) == "false"
}

// values is the schema of a map's values (additionalProperties as a schema).
func (s *schemaNode) values() *schemaNode {
	var v schemaNode
	if len(s.AdditionalProperties) == 0 || s.AdditionalProperties[0] != '{' || json.Unmarshal(s.AdditionalProperties, &v) != nil {
		return nil
	}
	return &v
}

func (s *schemaNode) types() []string {
	switch v := s.Type.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, t := range v {
			out = append(out, t.(string))
		}
		return out
	}
	return nil
}

// TestSchemaMatchesRules checks schema.json against the Go types, both ways:
// every yaml key has a property of the matching JSON type, every property
// is a yaml key, and objects refuse unknown keys as Parse does.
func TestSchemaMatchesRules(t *testing.T) {
	var root schemaNode
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	var check func(s *schemaNode, ty reflect.Type, path string)
	check = func(s *schemaNode, ty reflect.Type, path string) {
		types := s.types()
		if ty == durationType {
			// Written as text such as "60d"; TestSchemaPatterns checks which.
			if !reflect.DeepEqual(types, []string{"string"}) {
				t.Errorf("%s: schema type %v, want string", path, types)
			}
			return
		}
		switch ty.Kind() {
		case reflect.Struct:
			if !slices.Contains(types, "object") {
				t.Errorf("%s: schema type %v, want object", path, types)
			}
			if !s.closed() {
				t.Errorf("%s: schema allows unknown keys; Parse does not", path)
			}
			var keys []string
			for _, f := range fieldsOf(ty) {
				keys = append(keys, f.name)
				p, ok := s.Properties[f.name]
				if !ok {
					t.Errorf("%s: schema lacks property %q", path, f.name)
					continue
				}
				check(p, ty.Field(f.index).Type, join(path, f.name))
			}
			for name := range s.Properties {
				if !slices.Contains(keys, name) {
					t.Errorf("%s: schema property %q is not a key of the rules", path, name)
				}
			}
		case reflect.Slice:
			if !slices.Contains(types, "array") || s.Items == nil {
				t.Errorf("%s: schema type %v, want array with items", path, types)
				return
			}
			check(s.Items, ty.Elem(), path+"[]")
		case reflect.Map:
			v := s.values()
			if !slices.Contains(types, "object") || v == nil {
				t.Errorf("%s: schema type %v, want object with additionalProperties as a schema", path, types)
				return
			}
			check(v, ty.Elem(), path+".*")
		case reflect.Int:
			if !reflect.DeepEqual(types, []string{"integer"}) {
				t.Errorf("%s: schema type %v, want integer", path, types)
			}
		case reflect.Bool:
			if !reflect.DeepEqual(types, []string{"boolean"}) {
				t.Errorf("%s: schema type %v, want boolean", path, types)
			}
		case reflect.String:
			if !reflect.DeepEqual(types, []string{"string"}) && s.Enum == nil {
				t.Errorf("%s: schema type %v, want string", path, types)
			}
		default:
			t.Errorf("%s: no schema check for %s", path, ty)
		}
	}
	check(&root, reflect.TypeFor[Rules](), "")
	if got := root.Properties["locked"].Items.Enum; !reflect.DeepEqual(got, Lockable()) {
		t.Errorf("schema locked enum = %q, want %q", got, Lockable())
	}
}

// TestBuiltinKeysInSchema walks the built-in file itself, so a key added to
// builtin.yml but forgotten in the schema is caught even before Parse is.
func TestBuiltinKeysInSchema(t *testing.T) {
	var root schemaNode
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(Builtin(), &doc); err != nil {
		t.Fatal(err)
	}
	count := 0
	var walk func(n *yaml.Node, s *schemaNode, path string)
	walk = func(n *yaml.Node, s *schemaNode, path string) {
		if n.Kind == yaml.SequenceNode && s.Items != nil {
			for i, item := range n.Content {
				walk(item, s.Items, fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			p, ok := s.Properties[key]
			if !ok && s.Properties == nil {
				// A map such as modules: its keys are names.
				p = s.values()
				ok = p != nil
			}
			if !ok {
				t.Errorf("built-in key %s is not in schema.json", join(path, key))
				continue
			}
			count++
			walk(n.Content[i+1], p, join(path, key))
		}
	}
	walk(doc.Content[0], &root, "")
	if count < 10 {
		t.Errorf("walked only %d keys of the built-in file", count)
	}
}

// TestSchemaPatterns holds the schema's patterns to what Parse accepts, so
// that an editor does not flag a value contribot takes, or pass one it
// refuses. Go's regexp reads these patterns as ECMAScript does.
func TestSchemaPatterns(t *testing.T) {
	var root schemaNode
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	up := root.Properties["upstream"]
	for _, key := range []string{"gerrit", "gitlab"} {
		if got := up.Properties[key].Items.Pattern; got != hostName.String() {
			t.Errorf("upstream.%s pattern %q, want check.go's %q", key, got, hostName.String())
		}
	}
	stale := regexp.MustCompile(up.Properties["stale_after"].Pattern)
	tests := []struct {
		in string
		// schema is whether the pattern matches, parse whether Parse takes
		// the value. They differ on zero, which a pattern cannot refuse in
		// every spelling, and on Go's leading "+", which nobody writes.
		schema, parse bool
	}{
		{"60d", true, true},
		{"8w", true, true},
		{"72h", true, true},
		{"1h30m", true, true},
		{"1.5h", true, true},
		{".5h", true, true},
		{"90s", true, true},
		{"250ms", true, true},
		{"1us", true, true},
		{"1µs", true, true},
		{"0d", true, false},
		{"0h", true, false},
		{"0", false, false},
		{"-5h", false, false},
		{"-2d", false, false},
		{"+5h", false, true},
		{"60", false, false},
		{"60 days", false, false},
		{"1.5d", false, false},
		{"1d12h", false, false},
		{"2W", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := stale.MatchString(tt.in); got != tt.schema {
			t.Errorf("schema stale_after pattern matches %q: %v, want %v", tt.in, got, tt.schema)
		}
		d, err := ParseDuration(tt.in)
		if got := err == nil && d > 0; got != tt.parse {
			t.Errorf("ParseDuration(%q) = %v, %v; want accepted %v", tt.in, d, err, tt.parse)
		}
	}
	repo := regexp.MustCompile(up.Properties["dashboard"].Properties["repo"].Pattern)
	for in, want := range map[string]bool{
		"":                           true,
		"SovereignCloudStack/issues": true,
		"o/r.name_x-y":               true,
		"issues":                     false,
		"o/r/x":                      false,
		"-o/r":                       false,
		"https://github.com/o/r":     false,
	} {
		if got := repo.MatchString(in); got != want {
			t.Errorf("schema dashboard.repo pattern matches %q: %v, want %v", in, got, want)
		}
		if in != "" && validRepo(in) != want {
			t.Errorf("validRepo(%q) = %v, want %v", in, validRepo(in), want)
		}
	}
}
