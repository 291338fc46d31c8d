// Package relationship holds `accessctl relationship`: operator access to the raw
// relationships under the domain model, in SpiceDB tuple notation.
package relationship

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/complete"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/output"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/reltext"
	"github.com/accessgraph/accessgraph/pkg/spice"
)

// Options are the inputs of the relationship commands.
type Options struct {
	Factory       *factory.Factory
	Actor         cmdutil.ActorOptions
	Filter        string
	Subject       string
	Relationships []string
	Yes           bool
	Consistency   cmdutil.ConsistencyOptions
}

// NewCmdRelationship builds `accessctl relationship`.
func NewCmdRelationship(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relationship <command>",
		Short: "Read and repair raw relationships (operators)",
		Long: `Read, write and delete the relationships under the domain model, in SpiceDB tuple
notation: RESOURCE#RELATION@SUBJECT, for example account:acme#admin@user:bill or
group:district#direct_member@group:almond_school#member.

Writes and deletes bypass the domain rules (last-admin protection, request approval, cycle
checks), so they are for repairs: the acting user must be a platform administrator, and the
change is recorded with actor and reason. Wildcard subjects (user:*) are refused: use
"accessctl feature release" to open a rollout to everyone.`,
		Args: cobra.ArbitraryArgs,
		RunE: cmdutil.GroupRun,
	}
	cmd.AddCommand(NewCmdRead(f, nil), NewCmdWrite(f, false, nil), NewCmdWrite(f, true, nil))
	return cmd
}

// NewCmdRead builds `accessctl relationship read`.
func NewCmdRead(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "read FILTER [--subject SUBJECT]",
		Short: "List the relationships matching TYPE[:ID][#RELATION], streamed",
		Example: `  # everything stored on acme
  $ accessctl relationship read account:acme

  # acme's admins
  $ accessctl relationship read account:acme#admin

  # every account bill holds a relation on
  $ accessctl relationship read account --subject user:bill`,
		Args:              cmdutil.ExactArgs(1, "FILTER"),
		ValidArgsFunction: complete.Positional(f, complete.Object()),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Filter = args[0]
			return cmdutil.Run(cmd.Context(), runF, runRead, o)
		},
	}
	cmd.Flags().StringVar(&o.Subject, "subject", "", "only relationships whose subject matches TYPE[:ID][#RELATION]")
	cmdutil.AddConsistencyFlags(cmd, &o.Consistency)
	return cmd
}

type relJSON struct {
	Relationship string `json:"relationship"`
	Resource     string `json:"resource"`
	Relation     string `json:"relation"`
	Subject      string `json:"subject"`
	ExpiresAt    any    `json:"expires_at"`
}

// JSON describes a relationship for -o json.
func JSON(rel *v1.Relationship) any {
	r := relJSON{
		Relationship: reltext.Format(rel),
		Resource:     rel.GetResource().GetObjectType() + ":" + rel.GetResource().GetObjectId(),
		Relation:     rel.GetRelation(),
		Subject:      rel.GetSubject().GetObject().GetObjectType() + ":" + rel.GetSubject().GetObject().GetObjectId(),
	}
	if sr := rel.GetSubject().GetOptionalRelation(); sr != "" {
		r.Subject += "#" + sr
	}
	if exp := rel.GetOptionalExpiresAt(); exp != nil {
		r.ExpiresAt = output.TimePtr(exp.AsTime())
	}
	return r
}

func runRead(ctx context.Context, o *Options) error {
	filter, err := reltext.ParseFilter(o.Filter)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	var subject *reltext.Filter
	if o.Subject != "" {
		sf, err := reltext.ParseFilter(o.Subject)
		if err != nil {
			return cmdutil.Usagef("--subject: %v", err)
		}
		subject = &sf
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	e, err := o.Factory.Engine(ctx)
	if err != nil {
		return err
	}
	cons, err := o.Consistency.V1Consistency(e)
	if err != nil {
		return err
	}
	// Printed page by page as read, not gathered first.
	return relationshipList.PrintSeq(p, spice.ReadRelationships(ctx, e.Permissions(), cons, filter.RelationshipFilter(subject)))
}

// relationshipList prints a relationship as a tuple in the table and as its JSON record.
var relationshipList = output.List[*v1.Relationship]{
	Columns: []output.Column[*v1.Relationship]{{Header: "RELATIONSHIP", Value: reltext.Format}},
	Item:    func(rel *v1.Relationship) any { return JSON(rel) },
}

// Read streams every relationship matching filter, page by page, all pages at cons (the
// cursor pins the revision the first page was read at).
func Read(ctx context.Context, e *engine.Engine, filter *v1.RelationshipFilter, cons *v1.Consistency, each func(*v1.Relationship) error) error {
	for rel, err := range spice.ReadRelationships(ctx, e.Permissions(), cons, filter) {
		if err != nil {
			return err
		}
		if err := each(rel); err != nil {
			return err
		}
	}
	return nil
}

// NewCmdWrite builds `accessctl relationship write` (remove false) or `relationship delete`.
func NewCmdWrite(f *factory.Factory, remove bool, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	verb, short, example := "write", "Write relationships (touch: existing ones are kept as they are)",
		`  # repair: put bill back as acme's admin
  $ accessctl relationship write account:acme#admin@user:bill --as user:vera --reason "restore after bad import"

  # with an expiry
  $ accessctl relationship write 'account:acme#individual_look@user:tara[expiration:2030-01-01T00:00:00Z]' --as user:vera`
	if remove {
		verb, short, example = "delete", "Delete relationships (asks for confirmation; --yes when not interactive)",
			`  # remove a stray grant
  $ accessctl relationship delete account:acme#org_look@partner:integrator#member --as user:vera --yes`
	}
	cmd := &cobra.Command{
		Use:               verb + " RELATIONSHIP... --as USER",
		Short:             short,
		Example:           example,
		Args:              cmdutil.MinArgs(1, "RELATIONSHIP"),
		ValidArgsFunction: complete.Positional(f, complete.Object()),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Relationships = args
			return cmdutil.Run(cmd.Context(), runF, func(ctx context.Context, o *Options) error { return runWrite(ctx, o, remove) }, o)
		},
	}
	cmdutil.AddActorFlags(cmd, &o.Actor)
	if remove {
		cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation")
	}
	return cmd
}

func runWrite(ctx context.Context, o *Options, remove bool) error {
	actor, err := o.Actor.Actor()
	if err != nil {
		return err
	}
	op, verb, use := v1.RelationshipUpdate_OPERATION_TOUCH, "wrote", reltext.ForWrite
	if remove {
		op, verb, use = v1.RelationshipUpdate_OPERATION_DELETE, "deleted", reltext.ForDelete
	}
	updates := make([]*v1.RelationshipUpdate, 0, len(o.Relationships))
	for _, s := range o.Relationships {
		rel, err := reltext.ParseFor(s, use)
		if err != nil {
			return cmdutil.AsUsage(err)
		}
		updates = append(updates, &v1.RelationshipUpdate{Operation: op, Relationship: rel})
	}
	if remove {
		if err := cmdutil.Confirm(o.Factory.IOStreams, o.Yes, fmt.Sprintf("Delete %d relationship(s)?", len(updates)), "relationship delete"); err != nil {
			return err
		}
	}
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	c, err := o.Factory.Client(ctx)
	if err != nil {
		return err
	}
	if err := RequirePlatformAdmin(ctx, c, actor); err != nil {
		return err
	}
	operation := "relationship." + map[bool]string{true: "delete", false: "write"}[remove]
	tok, err := Write(ctx, c.Engine(), actor, operation, updates)
	if err != nil {
		return err
	}
	return p.Change(access.Token(tok.GetToken()), fmt.Sprintf("%s %d relationship(s)", verb, len(updates)))
}

// RequirePlatformAdmin refuses raw writes by anyone but a platform administrator.
func RequirePlatformAdmin(ctx context.Context, c access.Service, actor access.Actor) error {
	u := ref.Object{Type: "user", ID: actor.User}
	d, err := c.Check(ctx, ref.Subject{Object: u}, "administer", access.Platform, access.Fresh())
	if err != nil {
		return err
	}
	if !d.Allowed {
		return &access.DeniedError{Actor: u, Permission: "administer", Resource: access.Platform}
	}
	return nil
}

// Write applies updates in one transaction, recording actor, reason and operation as
// transaction metadata so the audit trail shows who did it.
func Write(ctx context.Context, e *engine.Engine, actor access.Actor, operation string, updates []*v1.RelationshipUpdate) (*v1.ZedToken, error) {
	who := "accessctl"
	if actor.User != "" {
		who = "user:" + actor.User
	}
	meta, err := spice.Change{Actor: who, Reason: actor.Reason, Operation: operation}.Metadata()
	if err != nil {
		return nil, err
	}
	tok, err := e.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates, OptionalTransactionMetadata: meta})
	if err != nil {
		return nil, cmdutil.RPCError("writing relationships", err)
	}
	return tok, nil
}
