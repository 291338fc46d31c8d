// Package spice is accessgraph's one vocabulary for the SpiceDB wire: how a failed call is
// classified into documented errors, how relationships and lookups are paged, and how the
// metadata of a change (actor, reason, operation) is written and read. The domain layer,
// the auditor, the engine and the CLI all speak SpiceDB through it.
package spice
