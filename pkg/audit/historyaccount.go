package audit

import (
	"fmt"
	"iter"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/ref"
)

// An account's access is held by relationships on the account itself and on the objects it
// owns: its partner links and custom-role bindings (relations of the account), and its
// cases, sold products and install base items (which name the account, or one of its sold
// products, as their owner). accountScope learns the owned objects from the history it
// reads, so a case opened on the account joins the scope when its ownership is written.
type accountScope struct {
	objects map[ref.Object]bool
}

// ownedBySubject are the subject types an account (or an object in scope) owns through a
// relation of its own.
var ownedBySubject = map[string]bool{"partner_link": true, "role_binding": true, "case": true}

// ownerRelations are the relations by which a case, sold product or install base item
// names its owner.
var ownerRelations = map[string]map[string]bool{
	"case":         {"account": true, "sold_product": true},
	"sold_product": {"account": true},
	"install_base": {"account": true, "sold_product": true},
}

func newAccountScope(account ref.Object) *accountScope {
	return &accountScope{objects: map[ref.Object]bool{account: true}}
}

// grow adds the objects the updates make owned by something in scope. Deletes add
// nothing, and nothing leaves the scope: the history of an object once owned stays part of
// the account's history.
func (s *accountScope) grow(updates []Update) {
	for changed := true; changed; {
		changed = false
		for _, u := range updates {
			if u.Operation == "delete" || u.Subject.Relation != "" {
				continue
			}
			sub := u.Subject.Object
			switch {
			case s.objects[u.Resource] && ownedBySubject[sub.Type] && !s.objects[sub]:
				s.objects[sub], changed = true, true
			case s.objects[sub] && ownerRelations[u.Resource.Type][u.Relation] && !s.objects[u.Resource]:
				s.objects[u.Resource], changed = true, true
			}
		}
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
// access. fromStart reads from the oldest change held, whatever filter.Since says, so that
// objects the account came to own before Since are in scope (the durable log can); else
// the read starts at Since and learns ownership from there.
func scopeToAccount(filter HistoryFilter, fromStart bool, read func(HistoryFilter) iter.Seq2[Change, error]) iter.Seq2[Change, error] {
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
			if len(c.Updates) > 0 && filter.keepsWhole(c) && keepChange(&c, ref.Object{}, actor, filter.Principal) && !yield(c, nil) {
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
