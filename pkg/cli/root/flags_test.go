package root_test

import (
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/account"
	"github.com/accessgraph/accessgraph/pkg/cli/auditcmd"
	"github.com/accessgraph/accessgraph/pkg/cli/cases"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/dataaccess"
	"github.com/accessgraph/accessgraph/pkg/cli/democmd"
	"github.com/accessgraph/accessgraph/pkg/cli/devcmd"
	"github.com/accessgraph/accessgraph/pkg/cli/group"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/member"
	"github.com/accessgraph/accessgraph/pkg/cli/migrate"
	"github.com/accessgraph/accessgraph/pkg/cli/partner"
	"github.com/accessgraph/accessgraph/pkg/cli/platform"
	"github.com/accessgraph/accessgraph/pkg/cli/product"
	"github.com/accessgraph/accessgraph/pkg/cli/query"
	"github.com/accessgraph/accessgraph/pkg/cli/relationship"
	"github.com/accessgraph/accessgraph/pkg/cli/role"
	"github.com/accessgraph/accessgraph/pkg/cli/schemacmd"
	"github.com/accessgraph/accessgraph/pkg/cli/serve"
	"github.com/accessgraph/accessgraph/pkg/cli/transfer"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// Every command's arguments and flags reach its run function: each NewCmd... function is
// built with a run function that records the options (clitest.Flags), so no server is
// needed. (partner grant and bench are tested so in their own packages.)
func TestFlagsReachTheRun(t *testing.T) {
	t.Parallel()
	t.Run("account", func(t *testing.T) {
		clitest.Flags(t, account.NewCmdCreate, account.CreateOptions{Actor: cmdutil.ActorOptions{As: "user:carol", Reason: "r"}, Account: "account:globex", Admin: "user:gary"},
			"account:globex", "--admin", "user:gary", "--as", "user:carol", "--reason", "r")
	})
	t.Run("auditcmd", func(t *testing.T) {
		clitest.Flags(t, auditcmd.NewCmdExplain, auditcmd.ExplainOptions{Subject: "user:joan", Permission: "view", Resource: "case:1", Consistency: cmdutil.ConsistencyOptions{Name: "fresh"}}, "user:joan", "view", "case:1")
		clitest.Flags(t, auditcmd.NewCmdExplain, auditcmd.ExplainOptions{Subject: "user:joan", Permission: "view", Resource: "case:1", ExitCode: true, Consistency: cmdutil.ConsistencyOptions{Name: "full"}},
			"user:joan", "view", "case:1", "--exit-code", "--consistency", "full")
		clitest.Flags(t, auditcmd.NewCmdExpand, auditcmd.ExpandOptions{Resource: "account:acme", Permission: "view_all_cases", Format: "tree"}, "account:acme", "view_all_cases")
		clitest.Flags(t, auditcmd.NewCmdExpand, auditcmd.ExpandOptions{Resource: "account:acme", Permission: "view_all_cases", Format: "mermaid", FormatSet: true, Full: true},
			"account:acme", "view_all_cases", "--format", "mermaid", "--full")
		clitest.Flags(t, auditcmd.NewCmdWhoCan, auditcmd.WhoCanOptions{Resource: "case:1", Permission: "view"}, "case:1", "view")
		clitest.Flags(t, auditcmd.NewCmdAccessReview, auditcmd.ReviewOptions{Account: "account:acme", As: "user:bill", ExpiringWithin: 720 * time.Hour, Format: "table"}, "account:acme", "--as", "user:bill")
		clitest.Flags(t, auditcmd.NewCmdAccessReview, auditcmd.ReviewOptions{Account: "account:acme", As: "user:bill", ExpiringWithin: 72 * time.Hour, Format: "csv", FormatSet: true},
			"account:acme", "--as", "user:bill", "--expiring-within", "72h", "--format", "csv")
		clitest.Flags(t, auditcmd.NewCmdConsume, auditcmd.ConsumeOptions{Datastore: "postgres://db", LogLevel: "info"}, "--datastore", "postgres://db")
		clitest.Flags(t, auditcmd.NewCmdConsume, auditcmd.ConsumeOptions{Datastore: "postgres://db", LogLevel: "debug"}, "--datastore", "postgres://db", "--log-level", "debug")
		clitest.Flags(t, auditcmd.NewCmdConsume, auditcmd.ConsumeOptions{Datastore: "postgres://db", LogLevel: "info", Retention: 720 * time.Hour}, "--datastore", "postgres://db", "--retention", "720h")
	})
	t.Run("cases", func(t *testing.T) {
		sally := cmdutil.ActorOptions{As: "user:sally", Reason: "r"}
		clitest.Flags(t, cases.NewCmdCreate, cases.Options{Actor: sally, Case: "case:1", Account: "account:acme", SoldProduct: "sold_product:p", InstallBase: "install_base:i"},
			"case:1", "account:acme", "--sold-product", "sold_product:p", "--install-base", "install_base:i", "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, clitest.With(cases.NewCmdStatus, false), cases.Options{Actor: sally, Case: "case:1"}, "case:1", "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, clitest.With(cases.NewCmdStatus, true), cases.Options{Actor: sally, Case: "case:1"}, "case:1", "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, cases.NewCmdContactAdd, cases.Options{Actor: sally, Case: "case:1", User: "user:pam", Primary: true}, "case:1", "user:pam", "--primary", "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, cases.NewCmdContactRemove, cases.Options{Actor: sally, Case: "case:1", User: "user:pam"}, "case:1", "user:pam", "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, clitest.With(cases.NewCmdList, false), cases.Options{Actor: sally, Status: "all"}, "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, clitest.With(cases.NewCmdList, false), cases.Options{Actor: sally, User: "user:joan", Status: "open"}, "user:joan", "--status", "open", "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, clitest.With(cases.NewCmdList, true), cases.Options{Actor: sally, User: "user:sue", Status: "closed"}, "user:sue", "--status", "closed", "--as", "user:sally", "--reason", "r")
		clitest.Flags(t, cases.NewCmdPartnerManaged, cases.Options{Actor: sally, Account: "account:acme"}, "account:acme", "--as", "user:sally", "--reason", "r")
	})
	t.Run("dataaccess", func(t *testing.T) {
		clitest.Flags(t, dataaccess.NewCmdList, dataaccess.Options{Actor: cmdutil.ActorOptions{As: "user:bill"}, Account: "account:acme"}, "account:acme", "--as", "user:bill")
	})
	t.Run("democmd", func(t *testing.T) {
		clitest.Flags(t, democmd.NewCmdLoad, democmd.Options{})
		clitest.Flags(t, democmd.NewCmdLoad, democmd.Options{Verbose: true}, "-v")
	})
	t.Run("devcmd", func(t *testing.T) {
		clitest.Flags(t, devcmd.NewCmdGenerate, devcmd.GenerateOptions{Scale: "small", Seed: 1, BatchSize: 2000})
		clitest.Flags(t, devcmd.NewCmdGenerate, devcmd.GenerateOptions{Scale: "large", Seed: 7, Load: true, BatchSize: 10}, "--scale", "large", "--seed", "7", "--load", "--batch-size", "10")
	})
	t.Run("group", func(t *testing.T) {
		carol := cmdutil.ActorOptions{As: "user:carol", Reason: "r"}
		clitest.Flags(t, group.NewCmdCreate, group.Options{Actor: carol, Group: "group:district"}, "group:district", "--as", "user:carol", "--reason", "r")
		clitest.Flags(t, clitest.With(group.NewCmdNest, true), group.Options{Actor: carol, Group: "group:school", Parent: "group:district"}, "group:school", "group:district", "--as", "user:carol", "--reason", "r")
		clitest.Flags(t, clitest.With(group.NewCmdNest, false), group.Options{Actor: carol, Group: "group:school", Parent: "group:district"}, "group:school", "group:district", "--as", "user:carol", "--reason", "r")
		clitest.Flags(t, group.NewCmdReadSet, group.Options{Actor: carol, User: "user:sue", Group: "group:district"}, "user:sue", "group:district", "--as", "user:carol", "--reason", "r")
		clitest.Flags(t, group.NewCmdReadClear, group.Options{Actor: carol, User: "user:sue"}, "user:sue", "--as", "user:carol", "--reason", "r")
		clitest.Flags(t, group.NewCmdReadShow, group.Options{Actor: carol, User: "user:sue"}, "user:sue", "--as", "user:carol", "--reason", "r")
	})
	t.Run("member", func(t *testing.T) {
		bill := cmdutil.ActorOptions{As: "user:bill", Reason: "r"}
		clitest.Flags(t, member.NewCmdRequest, member.Options{Actor: bill, Account: "account:acme", Role: "standard"}, "account:acme", "standard", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, clitest.With(member.NewCmdDecide, true), member.Options{Actor: bill, Account: "account:acme", User: "user:dave"}, "account:acme", "user:dave", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, clitest.With(member.NewCmdDecide, false), member.Options{Actor: bill, Account: "account:acme", User: "user:dave"}, "account:acme", "user:dave", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, member.NewCmdRole, member.Options{Actor: bill, Account: "account:acme", User: "user:sally", Role: "admin"}, "account:acme", "user:sally", "admin", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, member.NewCmdRemove, member.Options{Actor: bill, Account: "account:acme", User: "user:sally", Yes: true}, "account:acme", "user:sally", "-y", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, member.NewCmdLeave, member.Options{Actor: bill, Account: "account:acme"}, "account:acme", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, member.NewCmdList, member.Options{Actor: bill, Account: "account:acme"}, "account:acme", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, member.NewCmdPending, member.Options{Actor: bill, Account: "account:acme"}, "account:acme", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, member.NewCmdApprovers, member.Options{Actor: bill, Account: "account:acme", User: "user:dave"}, "account:acme", "user:dave", "--as", "user:bill", "--reason", "r")
	})
	t.Run("migrate", func(t *testing.T) {
		clitest.Flags(t, migrate.NewCmdMigrate, migrate.Options{Datastore: "postgres://db"}, "--datastore", "postgres://db")
	})
	t.Run("partner", func(t *testing.T) {
		bill := cmdutil.ActorOptions{As: "user:bill", Reason: "r"}
		clitest.Flags(t, partner.NewCmdCreate, partner.Options{Actor: bill, Partner: "partner:sub", Parent: "partner:integrator"}, "partner:sub", "--parent", "partner:integrator", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, partner.NewCmdRevoke, partner.Options{Actor: bill, Account: "account:acme", Grantee: "partner:integrator", Yes: true}, "account:acme", "partner:integrator", "--yes", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, partner.NewCmdList, partner.Options{Actor: bill, Account: "account:acme"}, "account:acme", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, partner.NewCmdRequest, partner.Options{Actor: bill, Account: "account:acme", Grantee: "partner:integrator", Level: "update"}, "account:acme", "partner:integrator", "update", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, partner.NewCmdRequests, partner.Options{Actor: bill, Account: "account:acme"}, "account:acme", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, clitest.With(partner.NewCmdDecide, true), partner.Options{Actor: bill, Account: "account:acme", Grantee: "partner:integrator"}, "account:acme", "partner:integrator", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, clitest.With(partner.NewCmdDecide, false), partner.Options{Actor: bill, Account: "account:acme", Grantee: "user:tara"}, "account:acme", "user:tara", "--as", "user:bill", "--reason", "r")
	})
	t.Run("platform", func(t *testing.T) {
		vera := cmdutil.ActorOptions{As: "user:vera", Reason: "r"}
		clitest.Flags(t, platform.NewCmdBootstrap, platform.Options{Actor: vera}, "--as", "user:vera", "--reason", "r")
		clitest.Flags(t, clitest.With(platform.NewCmdRole, true), platform.Options{Actor: vera, User: "user:carol", Role: "customer_care"}, "user:carol", "customer_care", "--as", "user:vera", "--reason", "r")
		clitest.Flags(t, clitest.With(platform.NewCmdRole, false), platform.Options{Actor: vera, User: "user:carol", Role: "customer_care"}, "user:carol", "customer_care", "--as", "user:vera", "--reason", "r")
		clitest.Flags(t, platform.NewCmdRelease, platform.Options{Actor: vera, Feature: "feature:entitlement_view"}, "feature:entitlement_view", "--as", "user:vera", "--reason", "r")
		clitest.Flags(t, platform.NewCmdRelease, platform.Options{Actor: vera, Feature: "feature:entitlement_view", Withdraw: true}, "feature:entitlement_view", "--withdraw", "--as", "user:vera", "--reason", "r")
	})
	t.Run("product", func(t *testing.T) {
		bill := cmdutil.ActorOptions{As: "user:bill", Reason: "r"}
		clitest.Flags(t, product.NewCmdProductCreate, product.Options{Actor: bill, Object: "sold_product:router", Account: "account:acme"}, "sold_product:router", "account:acme", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, product.NewCmdInstallBaseCreate, product.Options{Actor: bill, Object: "install_base:hq", Account: "account:acme", SoldProduct: "sold_product:router"},
			"install_base:hq", "account:acme", "--sold-product", "sold_product:router", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, product.NewCmdServiceOrgCreate, product.Options{Actor: bill, Object: "service_org:north"}, "service_org:north", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, clitest.With(product.NewCmdRelatedPartySet, true), product.RelatedPartyOptions{Actor: bill, Object: "case:1", Role: "technical_contact", Party: "user:sally"}, "case:1", "technical_contact", "user:sally", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, clitest.With(product.NewCmdRelatedPartySet, false), product.RelatedPartyOptions{Actor: bill, Object: "case:1", Role: "technical_contact", Party: "user:sally"}, "case:1", "technical_contact", "user:sally", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, product.NewCmdRelatedPartyList, product.RelatedPartyOptions{Actor: bill, Object: "case:1"}, "case:1", "--as", "user:bill", "--reason", "r")
	})
	t.Run("query", func(t *testing.T) {
		fresh := cmdutil.ConsistencyOptions{Name: "fresh"}
		atLeast := cmdutil.ConsistencyOptions{Name: "at-least", Revision: "GhX"}
		clitest.Flags(t, query.NewCmdCheck, query.CheckOptions{Subject: "user:bill", Permission: "view", Resource: "case:1", Consistency: fresh}, "user:bill", "view", "case:1")
		clitest.Flags(t, query.NewCmdCheck, query.CheckOptions{Subject: "user:bill", Permission: "view", Resource: "case:1", ExitCode: true, Consistency: atLeast},
			"user:bill", "view", "case:1", "--exit-code", "--consistency", "at-least", "--revision", "GhX")
		clitest.Flags(t, query.NewCmdCheck, query.CheckOptions{File: "-", Consistency: fresh}, "--file", "-")
		clitest.Flags(t, query.NewCmdLookupResources, query.LookupResourcesOptions{Subject: "user:sue", Permission: "view", ResourceType: "case", Consistency: atLeast},
			"user:sue", "view", "case", "--consistency", "at-least", "--revision", "GhX")
		clitest.Flags(t, query.NewCmdLookupSubjects, query.LookupSubjectsOptions{Resource: "case:1", Permission: "view", SubjectType: "user", Consistency: fresh}, "case:1", "view")
		clitest.Flags(t, query.NewCmdLookupSubjects, query.LookupSubjectsOptions{Resource: "case:1", Permission: "view", SubjectType: "group", Consistency: fresh}, "case:1", "view", "group")
	})
	t.Run("relationship", func(t *testing.T) {
		vera := cmdutil.ActorOptions{As: "user:vera", Reason: "r"}
		rels := []string{"account:acme#admin@user:bill", "account:acme#viewer@user:joan"}
		clitest.Flags(t, relationship.NewCmdRead, relationship.Options{Filter: "account:acme", Consistency: cmdutil.ConsistencyOptions{Name: "fresh"}}, "account:acme")
		clitest.Flags(t, relationship.NewCmdRead, relationship.Options{Filter: "account", Subject: "user:bill", Consistency: cmdutil.ConsistencyOptions{Name: "at-least", Revision: "GhX"}},
			"account", "--subject", "user:bill", "--consistency", "at-least", "--revision", "GhX")
		clitest.Flags(t, clitest.With(relationship.NewCmdWrite, false), relationship.Options{Actor: vera, Relationships: rels}, append(rels, "--as", "user:vera", "--reason", "r")...)
		clitest.Flags(t, clitest.With(relationship.NewCmdWrite, true), relationship.Options{Actor: vera, Relationships: rels, Yes: true}, append(rels, "-y", "--as", "user:vera", "--reason", "r")...)
	})
	t.Run("role", func(t *testing.T) {
		bill := cmdutil.ActorOptions{As: "user:bill", Reason: "r"}
		clitest.Flags(t, role.NewCmdDefine, role.Options{Actor: bill, Role: "role:lead", Privileges: []string{"view_cases", "manage_cases"}}, "role:lead", "view_cases", "manage_cases", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, role.NewCmdShow, role.Options{Role: "role:lead"}, "role:lead")
		clitest.Flags(t, role.NewCmdList, role.Options{})
		clitest.Flags(t, clitest.With(role.NewCmdBind, true), role.Options{Actor: bill, Role: "role:lead", Object: "account:acme", Grantee: "group:support#member"}, "role:lead", "account:acme", "group:support#member", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, clitest.With(role.NewCmdBind, false), role.Options{Actor: bill, Role: "role:lead", Object: "account:acme", Grantee: "user:sally"}, "role:lead", "account:acme", "user:sally", "--as", "user:bill", "--reason", "r")
		clitest.Flags(t, role.NewCmdBindings, role.Options{Actor: bill, Object: "account:acme"}, "account:acme", "--as", "user:bill", "--reason", "r")
	})
	t.Run("schemacmd", func(t *testing.T) {
		clitest.Flags(t, schemacmd.NewCmdShow, schemacmd.Options{})
		clitest.Flags(t, schemacmd.NewCmdWrite, schemacmd.Options{Files: []string{"schema.zed"}}, "schema.zed")
		clitest.Flags(t, schemacmd.NewCmdValidate, schemacmd.Options{Files: []string{"a.yaml", "b.yaml"}}, "a.yaml", "b.yaml")
	})
	t.Run("serve", func(t *testing.T) {
		clitest.Flags(t, serve.NewCmdServe, serve.Options{
			Addr: "127.0.0.1:0", Datastore: "memory", DataDir: "data", TLSCert: "c.pem", TLSKey: "k.pem", Demo: true, LogLevel: "debug", NoAuditLog: true, CheckpointEvery: 5 * time.Minute, AuditRetention: 90 * 24 * time.Hour,
			Limits: serve.Limits{Config: engine.EmbeddedConfig{MaxRequestBytes: 1, MaxUpdatesPerWrite: 2, MaxPreconditions: 3, MaxLookupResourcesLimit: 4,
				MaxReadRelationshipsLimit: 5, MaxCaveatContextBytes: 6, MaxBulkCheckItems: 7, MaxExportLimit: 8}},
			API:                 serve.APIOptions{Addr: "10.0.0.1:9000", PlaintextRemote: true},
			DispatchConcurrency: 3, StreamTimeout: 2 * time.Minute,
		},
			"--addr", "127.0.0.1:0", "--datastore", "memory", "--data-dir", "data", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--demo", "--log-level", "debug", "--no-audit-log", "--audit-checkpoint-every", "5m", "--audit-retention", "2160h",
			"--max-request-bytes", "1", "--max-updates-per-write", "2", "--max-preconditions", "3", "--max-lookup-limit", "4", "--max-read-limit", "5", "--max-caveat-context-bytes", "6",
			"--max-bulk-check-items", "7", "--max-export-limit", "8", "--api-addr", "10.0.0.1:9000", "--api-plaintext", "--console=false",
			"--dispatch-concurrency", "3", "--stream-timeout", "2m")
	})
	t.Run("transfer", func(t *testing.T) {
		clitest.Flags(t, transfer.NewCmdExport, transfer.Options{Consistency: cmdutil.ConsistencyOptions{Name: "fresh"}})
		clitest.Flags(t, transfer.NewCmdExport, transfer.Options{File: "out.txt", Consistency: cmdutil.ConsistencyOptions{Name: "full"}}, "--file", "out.txt", "--consistency", "full")
		clitest.Flags(t, transfer.NewCmdImport, transfer.Options{})
		clitest.Flags(t, transfer.NewCmdImport, transfer.Options{File: "in.txt", Yes: true, Actor: cmdutil.ActorOptions{As: "user:vera", Reason: "r"}}, "--file", "in.txt", "-y", "--as", "user:vera", "--reason", "r")
	})
}
