package schemas

import (
	"embed"
	"fmt"
	"io/fs"
)

// The JSON Schemas (draft 2020-12) of the vocabulary, one file per kind
// plus the definitions they share. They refer to the shared file by a
// relative reference ("common.v1.schema.json#/$defs/money"), so they work
// from wherever they are served, as long as they are served side by side.
//
//go:embed jsonschema/*.schema.json
var schemaFiles embed.FS

// CommonSchemaName is the file of definitions every kind's schema shares.
const CommonSchemaName = "common.v1.schema.json"

// JSONSchemas returns the schema files, by name: CommonSchemaName and
// JSONSchemaName(kind) for every kind.
func JSONSchemas() fs.FS {
	sub, err := fs.Sub(schemaFiles, "jsonschema")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}

// JSONSchemaName returns the file name of a kind's schema, such as
// "hop.recorded.v1.schema.json".
func JSONSchemaName(kind string) string { return kind + ".v1.schema.json" }

// JSONSchema returns the JSON Schema document of a kind.
func JSONSchema(kind string) ([]byte, error) {
	if !KnownKind(kind) {
		return nil, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	return fs.ReadFile(JSONSchemas(), JSONSchemaName(kind))
}
