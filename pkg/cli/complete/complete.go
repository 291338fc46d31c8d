// Package complete provides dynamic shell completion for object references, types and
// permissions, read from the live server's schema (the embedded schema when no server
// answers) and, for object ids, from its relationships.
package complete

import (
	"context"
	"slices"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/ref"
	"github.com/accessgraph/accessgraph/pkg/spice"
	"github.com/accessgraph/accessgraph/schema"
)

// timeout bounds every server call made while completing, so a missing server never
// stalls the shell.
const timeout = 2 * time.Second

// maxIDs caps the ids offered for one type; completion is a convenience, not a listing.
const maxIDs = 500

// Spec completes one positional argument, given the arguments before it.
type Spec func(ctx context.Context, f *factory.Factory, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// Positional completes positional arguments with one Spec per position.
func Positional(f *factory.Factory, specs ...Spec) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= len(specs) || specs[len(args)] == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(contextOf(cmd), timeout)
		defer cancel()
		return specs[len(args)](ctx, f, args, toComplete)
	}
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// Object completes TYPE: for the given types (every type when none), then TYPE:ID from the
// server's relationships.
func Object(types ...string) Spec {
	return func(ctx context.Context, f *factory.Factory, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		typ, prefix, hasColon := strings.Cut(toComplete, ":")
		allowed := types
		if len(allowed) == 0 {
			for _, d := range Definitions(ctx, f) {
				allowed = append(allowed, d.Name)
			}
		}
		allowed = slices.DeleteFunc(slices.Clone(allowed), ref.IsInternal)
		if !hasColon {
			var out []string
			for _, t := range allowed {
				if strings.HasPrefix(t, typ) {
					out = append(out, t+":")
				}
			}
			return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		}
		if !slices.Contains(allowed, typ) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, id := range ids(ctx, f, typ, prefix) {
			out = append(out, typ+":"+id)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Type completes the names of public object types.
func Type() Spec {
	return func(ctx context.Context, f *factory.Factory, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, d := range Definitions(ctx, f) {
			if !ref.IsInternal(d.Name) && strings.HasPrefix(d.Name, toComplete) {
				out = append(out, d.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Permission completes the public permissions (ref.PublicPermissions) of the type of the
// object in argument position at (a TYPE:ID reference, or a bare TYPE).
func Permission(at int) Spec {
	return func(ctx context.Context, f *factory.Factory, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if at >= len(args) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		typ, _, _ := strings.Cut(args[at], ":")
		return permissionsOf(ctx, f, typ, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// PermissionOfNext completes the permissions of the type named by the argument that comes
// after this one (check SUBJECT PERMISSION RESOURCE cannot know it yet): every public
// permission of every type.
func PermissionOfNext() Spec {
	return func(ctx context.Context, f *factory.Factory, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		seen := map[string]bool{}
		var out []string
		for _, d := range Definitions(ctx, f) {
			for _, p := range d.Permissions {
				if !seen[p] && ref.IsPublicPermission(d.Name, p) && strings.HasPrefix(p, toComplete) {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Fixed completes one of the given words.
func Fixed(words ...string) Spec {
	return func(_ context.Context, _ *factory.Factory, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, w := range words {
			if strings.HasPrefix(w, toComplete) {
				out = append(out, w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func permissionsOf(ctx context.Context, f *factory.Factory, typ, toComplete string) []string {
	var out []string
	for _, d := range Definitions(ctx, f) {
		if d.Name != typ {
			continue
		}
		for _, p := range d.Permissions {
			if ref.IsPublicPermission(typ, p) && strings.HasPrefix(p, toComplete) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Definition names one object type and its relations and permissions.
type Definition = schema.Definition

// Definitions returns the object types of the server's stored schema, or of the schema
// built into accessctl when no server answers.
func Definitions(ctx context.Context, f *factory.Factory) []Definition {
	if defs, err := liveDefinitions(ctx, f); err == nil {
		return defs
	}
	embedded, _ := schema.Definitions()
	return embedded
}

func liveDefinitions(ctx context.Context, f *factory.Factory) ([]Definition, error) {
	e, err := f.Engine(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := e.Schemas().ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err != nil {
		return nil, err
	}
	return Compile(resp.GetSchemaText())
}

// Compile lists the definitions of a schema text.
func Compile(text string) ([]Definition, error) { return schema.Compile(text) }

// scanBudget bounds the relationships read while looking for the ids of a type that is
// mostly a subject (user, partner, group): SpiceDB has no prefix filter on subjects.
const scanBudget = 20_000

// ids returns the ids, starting with prefix, of objects of a type found in the server's
// relationships: as resources (member list account:<TAB>), then as subjects
// (check user:<TAB>), since users are never resources.
func ids(ctx context.Context, f *factory.Factory, typ, prefix string) []string {
	e, err := f.Engine(ctx)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(id string) bool {
		if !seen[id] && strings.HasPrefix(id, prefix) {
			seen[id] = true
			out = append(out, id)
		}
		return len(out) < maxIDs
	}
	// Full consistency: an id created a moment ago should complete too.
	cons := spice.FullyConsistent()
	asResource := &v1.RelationshipFilter{ResourceType: typ, OptionalResourceIdPrefix: prefix}
	read := 0
	for rel, err := range spice.ReadRelationships(ctx, e.Permissions(), cons, asResource) {
		if read++; err != nil || read > scanBudget || !add(rel.GetResource().GetObjectId()) {
			break
		}
	}
	asSubject := &v1.RelationshipFilter{OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: typ}}
	read = 0
	for rel, err := range spice.ReadRelationships(ctx, e.Permissions(), cons, asSubject) {
		if read++; err != nil || read > scanBudget || len(out) >= maxIDs {
			break
		}
		if id := rel.GetSubject().GetObject().GetObjectId(); id != "*" {
			add(id)
		}
	}
	slices.Sort(out)
	return out
}

// Flag completes a flag's value with spec; args are the command's positional arguments.
func Flag(f *factory.Factory, spec Spec) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(contextOf(cmd), timeout)
		defer cancel()
		return spec(ctx, f, args, toComplete)
	}
}
