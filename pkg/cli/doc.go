// Package cli is accessctl, the command line of accessgraph. It holds no code: the root
// command (pkg/cli/root) assembles the command tree from one package per command or group
// of commands. Each command is built by a NewCmd... function from a factory
// (pkg/cli/factory) and takes an optional run function in place of its own, so tests check
// its flags and arguments without a server.
//
// The package that implements each top-level command, in the groups of "accessctl help"
// (a group's subcommands live in the same package; the member subcommands of group,
// partner, service-org and feature are built by pkg/cli/pairs):
//
//	Portal administration
//	accessctl platform        pkg/cli/platform
//	accessctl feature         pkg/cli/platform
//	accessctl account         pkg/cli/account
//	accessctl member          pkg/cli/member
//	accessctl partner         pkg/cli/partner
//	accessctl data-access     pkg/cli/dataaccess
//	accessctl group           pkg/cli/group
//	accessctl case            pkg/cli/cases
//	accessctl product         pkg/cli/product
//	accessctl install-base    pkg/cli/product
//	accessctl service-org     pkg/cli/product
//	accessctl related-party   pkg/cli/product
//	accessctl role            pkg/cli/role
//
//	Questions
//	accessctl check           pkg/cli/query
//	accessctl lookup          pkg/cli/query
//
//	Auditing
//	accessctl explain         pkg/cli/auditcmd
//	accessctl expand          pkg/cli/auditcmd
//	accessctl who-can         pkg/cli/auditcmd
//	accessctl access-diff     pkg/cli/auditcmd
//	accessctl access-review   pkg/cli/auditcmd
//	accessctl history         pkg/cli/auditcmd
//	accessctl audit           pkg/cli/auditcmd
//
//	Operators
//	accessctl serve           pkg/cli/serve
//	accessctl migrate         pkg/cli/migrate
//	accessctl key             pkg/cli/keycmd
//	accessctl login           pkg/cli/keycmd
//	accessctl logout          pkg/cli/keycmd
//	accessctl whoami          pkg/cli/keycmd
//	accessctl schema          pkg/cli/schemacmd
//	accessctl relationship    pkg/cli/relationship
//	accessctl export          pkg/cli/transfer
//	accessctl import          pkg/cli/transfer
//	accessctl backup          pkg/cli/backupcmd
//	accessctl restore         pkg/cli/backupcmd
//	accessctl demo            pkg/cli/democmd
//	accessctl bench           pkg/cli/devcmd
//	accessctl dev             pkg/cli/devcmd
//	accessctl version         pkg/cli/version
//	accessctl completion      pkg/cli/root
//
// "accessctl help" is cobra's own. TestDocTableCoversEveryCommand (pkg/cli/root) fails when
// this table misses a top-level command, names one that does not exist, or names the
// wrong package.
//
// What the commands share: pkg/cli/cmdutil (exit codes, usage errors, argument checks, the
// --as flags, the run function seam), pkg/cli/output (tables, tab-separated lines and JSON
// from one declaration of a list's columns), pkg/cli/iostreams, pkg/cli/complete (shell
// completion), pkg/cli/profile (the local serve profile), pkg/cli/logging and
// pkg/cli/internal/clitest (command lines run against an in-process engine in tests).
package cli
