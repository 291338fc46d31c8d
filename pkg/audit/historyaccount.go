package audit

import (
	"fmt"
	"iter"
	"slices"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// An account's access is held by relationships on the account itself and on the objects it
// owns: its partner links, custom-role bindings and partner-managed cases (relations of the
// account), and its cases, sold products and install base items (which name the account,
// or one of its sold products, as their owner). accountScope keeps every ownership link the
// history shows, whatever its order, and the objects reachable from the account through
// them: an install base item linked to a product before the product was sold to the
// account is the account's all the same.
type accountScope struct {
	owns    map[ref.Object][]ref.Object // owner to owned, every link ever written
	objects map[ref.Object]bool         // the account and what it owns
}

// ownedBySubject are the subject types an object owns through a relation of its own.
var ownedBySubject = map[string]bool{"partner_link": true, "role_binding": true, "case": true}

// ownerRelations are the relations by which a case, sold product or install base item
// names its owner.
var ownerRelations = map[string]map[string]bool{
	"case":         {"account": true, "sold_product": true},
	"sold_product": {"account": true},
	"install_base": {"account": true, "sold_product": true},
}

func newAccountScope(account ref.Object) *accountScope {
	return &accountScope{owns: map[ref.Object][]ref.Object{}, objects: map[ref.Object]bool{account: true}}
}

// grow records the ownership links the updates write and brings into scope what they make
// reachable. Deletes remove nothing: the history of an object once owned stays part of the
// account's history.
func (s *accountScope) grow(updates []Update) {
	for _, u := range updates {
		if u.Operation == "delete" || u.Subject.Relation != "" {
			continue
		}
		owner, owned := u.Resource, u.Subject.Object
		switch {
		case u.Resource.Type == "account" && ownedBySubject[owned.Type]:
		case ownerRelations[u.Resource.Type][u.Relation]:
			owner, owned = owned, u.Resource
		default:
			continue
		}
		if slices.Contains(s.owns[owner], owned) {
			continue
		}
		s.owns[owner] = append(s.owns[owner], owned)
		if s.objects[owner] {
			s.reach(owned)
		}
	}
}

// reach brings o and everything it owns into scope.
func (s *accountScope) reach(o ref.Object) {
	stack := []ref.Object{o}
	for len(stack) > 0 {
		o, stack = stack[len(stack)-1], stack[:len(stack)-1]
		if s.objects[o] {
			continue
		}
		s.objects[o] = true
		stack = append(stack, s.owns[o]...)
	}
}

// about keeps the updates whose resource or subject is in scope.
func (s *accountScope) about(updates []Update) []Update {
	var kept []Update
	for _, u := range updates {
		if s.objects[u.Resource] || s.objects[u.Subject.Object] {
			kept = append(kept, u)
		}
	}
	return kept
}

// scopeToAccount reads history through read and keeps what touched filter.Account's
// access. It reads twice: once to learn every ownership link, then to list. fromStart reads
// from the oldest change held, whatever filter.Since says, so that objects the account
// came to own before Since are in scope (the durable log can); else the reads start at
// Since and learn ownership from there. seed, when not nil, is what a log pruned by
// retention kept of the removed entries: their ownership links count too.
func scopeToAccount(filter HistoryFilter, fromStart bool, seed iter.Seq2[Update, error], read func(HistoryFilter) iter.Seq2[Change, error]) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		if filter.Account.Type != "account" {
			yield(Change{}, fmt.Errorf("%w: account %q: give account:SUPPORT_ID", access.ErrInvalidArgument, filter.Account))
			return
		}
		if _, err := ref.New(filter.Account.Type, filter.Account.ID); err != nil {
			yield(Change{}, err)
			return
		}
		if !filter.Object.IsZero() {
			yield(Change{}, fmt.Errorf("%w: filter by an object or by an account, not both", access.ErrInvalidArgument))
			return
		}
		_, actor, err := validateHistoryFilter(filter)
		if err != nil {
			yield(Change{}, err)
			return
		}
		inner := HistoryFilter{}
		passed := true
		if fromStart {
			passed = filter.Since == ""
		} else {
			inner.Since = filter.Since
		}
		scope := newAccountScope(filter.Account)
		if seed != nil {
			for u, err := range seed {
				if err != nil {
					yield(Change{}, err)
					return
				}
				scope.grow([]Update{u})
			}
		}
		for c, err := range read(inner) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			scope.grow(c.Updates)
		}
		for c, err := range read(inner) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			scope.grow(c.Updates)
			if !passed {
				passed = c.Revision == filter.Since
				continue
			}
			c.Updates = scope.about(c.Updates)
			if len(c.Updates) > 0 && filter.keepsWhole(c) && keepChange(&c, ref.Object{}, actor, filter.Principal, false) && !yield(c, nil) {
				return
			}
		}
		if !passed {
			yield(Change{}, fmt.Errorf("%w: no change with revision %q is in the history (pass the revision of a change history printed)", access.ErrNotFound, filter.Since))
		}
	}
}

// errFollowAccount refuses following an account's history.
var errFollowAccount = fmt.Errorf("%w: an account's history is listed, not followed: follow the account object itself (object account:ID)", access.ErrInvalidArgument)

// errorSeq is a history that fails at once with err.
func errorSeq(err error) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) { yield(Change{}, err) }
}
