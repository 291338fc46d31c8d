// Package schema embeds the accessgraph SpiceDB schema and its validation suites.
package schema

import (
	"embed"
	_ "embed"
)

// Text is the SpiceDB schema of the access model, as written to the engine at start-up.
//
//go:embed accessgraph.zed
var Text string

// FileName is the schema's file name inside FS, as validation files name it in schemaFile.
const FileName = "accessgraph.zed"

// FS holds the schema and its validation suites (validation/*.yaml).
//
//go:embed accessgraph.zed validation
var FS embed.FS
