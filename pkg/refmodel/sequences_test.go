package refmodel_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/refmodel"
)

// vendorSide are the actors trusted with the whole platform: what they do to themselves is
// not an escalation the contract guards against.
var vendorSide = map[string]bool{"carol": true, "vera": true}

// permissionsOf is every public permission user holds on the objects of the base world.
func permissionsOf(w *refmodel.World, objects []refmodel.Object, user string) map[string]bool {
	out := map[string]bool{}
	for _, o := range objects {
		for _, p := range refmodel.PublicPermissions[o.Type] {
			if w.Allowed(user, p, o) {
				out[p+" on "+o.String()] = true
			}
		}
	}
	return out
}

// statusOnly reports a case update that holds only because the sequence reopened the case:
// closing and reopening change a case's state, not anyone's privileges (whoever may reopen
// could update it while it was open).
func statusOnly(base, next *refmodel.World, perm string) bool {
	id, ok := strings.CutPrefix(perm, "update on case:")
	return ok && base.CaseOpen(id) != next.CaseOpen(id)
}

// TestNoSequenceOfOwnActionsEscalates: no sequence of up to three actions by one user, each
// allowed to them at its turn, ends with that user holding a permission on the base world's
// objects that their roles did not already give them (contract section 7: a custom role's
// effect is exactly the union of its privileges; a related-party write privilege does not
// let its holder name themselves a related party). Every customer-side actor of the
// escalation matrix is tried with every row of the matrix, on the reference model; the
// matrix itself holds the product to the model action by action.
func TestNoSequenceOfOwnActionsEscalates(t *testing.T) {
	base := refmodel.NewWorld()
	for i, op := range escalationBase() {
		if r := base.Apply(op); r != refmodel.OK {
			t.Fatalf("base op %d %s: %s", i, op, r)
		}
	}
	var objects []refmodel.Object
	for _, typ := range refmodel.PublicTypes {
		objects = append(objects, base.Objects(typ)...)
	}
	const depth = 3
	states, violations := 0, 0
	for _, a := range escalationActors {
		if vendorSide[a.user] {
			continue
		}
		before := permissionsOf(base, objects, a.user)
		var ops []refmodel.Op
		for _, row := range escalationRows {
			if row.prepare != nil {
				continue // prepared rows need someone else's action first
			}
			ops = append(ops, row.make(a.user))
		}
		var explore func(w *refmodel.World, path []string)
		explore = func(w *refmodel.World, path []string) {
			if len(path) == depth {
				return
			}
			for _, op := range ops {
				if w.Predict(op) != refmodel.OK {
					continue
				}
				next := w.Clone()
				next.Apply(op)
				states++
				steps := append(slices.Clone(path), op.String())
				var gained []string
				for p := range permissionsOf(next, objects, a.user) {
					if !before[p] && !statusOnly(base, next, p) {
						gained = append(gained, p)
					}
				}
				if len(gained) > 0 {
					violations++
					if violations <= 10 {
						slices.Sort(gained)
						t.Errorf("%s (%s) gains %s after:\n  %s", a.user, a.kind, strings.Join(gained, ", "), strings.Join(steps, "\n  "))
					}
					continue
				}
				explore(next, steps)
			}
		}
		explore(base, nil)
	}
	t.Logf("%d states reached by sequences of up to %d own actions; %d escalations", states, depth, violations)
	if states == 0 {
		t.Fatal("no action was allowed to anyone: the test checked nothing")
	}
}
