package v1alpha1

import _ "embed"

// SchemaFile is the JSON Schema of a SidecarInjector, generated from the
// types of this package and their comments (schema_test.go keeps it in
// step). Editors validate a config with it through a modeline:
//
//	# yaml-language-server: $schema=<path or URL of sidecarinjector.schema.json>
const SchemaFile = "sidecarinjector.schema.json"

// Schema holds the bytes of SchemaFile.
//
//go:embed sidecarinjector.schema.json
var Schema []byte
