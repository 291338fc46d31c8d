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

// ServerText holds the server's internal definitions (accessgraph_server/...): the principal
// registry. The server writes them after Text; they are not part of the access model, and
// the server hides them from every client but its own registry.
//
//go:embed server.zed
var ServerText string

// ServerPrefix starts the name of every internal definition.
const ServerPrefix = "accessgraph_server/"

// Served is the whole schema the server stores: the access model, then its internal
// definitions.
func Served() string { return Text + "\n" + ServerText }

// FileName is the schema's file name inside FS, as validation files name it in schemaFile.
const FileName = "accessgraph.zed"

// FS holds the schema and its validation suites (validation/*.yaml).
//
//go:embed accessgraph.zed validation
var FS embed.FS
