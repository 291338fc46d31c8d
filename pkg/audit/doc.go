// Package audit answers an auditor's questions about the access graph: why a user can or
// cannot do something (Explain), everyone who can and through which kind of path (Expand,
// WhoCan), everyone with access to one customer account (AccessReview), and who changed
// what, when and why (History, Follow).
//
// Every answer comes from SpiceDB: verdicts from checks and their traces, holders from
// lookups and expand trees, changes from the Watch API. The package only reads; it never
// writes a relationship. Results are plain data structures; the Write* functions render
// them as text, JSON, CSV, Graphviz DOT or Mermaid on an io.Writer, so a command-line tool
// is a thin layer over this package.
package audit
