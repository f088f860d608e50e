package rules

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"
)

// BuiltinName is how messages and Sources refer to the built-in rules.
const BuiltinName = "built-in"

//go:embed builtin.yml
var builtinYAML []byte

// Builtin returns the built-in rules file, the documented SCS default, for
// `contribot rules` to show and for admins to start their own file from.
func Builtin() []byte {
	return bytes.Clone(builtinYAML)
}

var builtinFile = sync.OnceValue(func() *File {
	f, err := Parse(BuiltinName, builtinYAML)
	if err != nil {
		// Compiled in and covered by tests: only a broken build gets here.
		panic(fmt.Sprintf("rules: the built-in rules do not parse: %v", err))
	}
	return f
})

// BuiltinLayer is the first layer of every merge.
func BuiltinLayer() Layer {
	return Layer{Kind: LayerBuiltin, File: builtinFile()}
}

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema of rules files, for editors (yaml-language-server)
// and for `contribot rules schema`.
func Schema() []byte {
	return bytes.Clone(schemaJSON)
}
