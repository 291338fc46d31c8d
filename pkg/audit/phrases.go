package audit

import (
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/ref"
)

// This file is the translation table from schema names to the portal's words. Facts are
// stored relationships ("pam is a member of partner:integrator"); ways are the branches of
// a permission expression ("be an admin of account:acme"); negatives say why a branch that
// was needed is missing ("case:103 is closed").

// name renders an object the way people say it: a user by id, anything else as type:id.
func name(o ref.Object) string {
	if o.Type == "user" {
		return o.ID
	}
	return o.String()
}

// words turns a schema name into words: case_related_party_write -> "case related party write".
func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

// bindingParts splits a role_binding id TYPE|ID|ROLE into the object and the role, as the
// exact inverse of ref.RoleBindingID (which the domain layer builds it with). An id it did not
// build (written by hand) is shown whole.
func bindingParts(id string) (ref.Object, string) {
	object, role, err := ref.ParseRoleBindingID(id)
	if err != nil {
		return ref.Object{Type: "role_binding", ID: id}, id
	}
	return object, role
}

// linkParts splits a partner_link id ACCOUNT|PARTNER, as the exact inverse of
// ref.PartnerLinkID. An id it did not build (written by hand) is shown as the account.
func linkParts(id string) (ref.Object, ref.Object) {
	acct, partner, err := ref.ParsePartnerLinkID(id)
	if err != nil {
		return ref.Object{Type: "account", ID: id}, ref.Object{Type: "partner", ID: "?"}
	}
	return ref.Object{Type: "account", ID: acct}, ref.Object{Type: "partner", ID: partner}
}

// levelOf returns the partner level of an org_* or individual_* grant relation.
func levelOf(relation string) (level, kind string, ok bool) {
	if l, found := strings.CutPrefix(relation, "org_"); found {
		return l, "organisation", true
	}
	if l, found := strings.CutPrefix(relation, "individual_"); found {
		return l, "individual", true
	}
	return "", "", false
}

var functionalRoleNames = map[string]string{
	"authorized_contact":     "an Authorized Contact",
	"authorized_consumer":    "an Authorized Consumer",
	"authorized_contributor": "an Authorized Contributor",
	"authorized_member":      "an Authorized Member",
}

// factPhrase renders a stored relationship. full stands alone; which continues a sentence
// whose previous fact ended at this fact's subject ("..., which account:acme granted look").
// An empty full means the fact adds nothing a reader needs (a helper link).
func factPhrase(rel *v1.Relationship) (full, which string) {
	r := fromObjectRef(rel.GetResource())
	s := fromSubjectRef(rel.GetSubject())
	R, S := name(r), name(s.Object)
	relation := rel.GetRelation()
	until := ""
	if exp := rel.GetOptionalExpiresAt(); exp != nil {
		until = " until " + exp.AsTime().UTC().Format(time.RFC3339)
	}
	key := r.Type + "#" + relation
	switch key {
	case "platform#customer_care":
		return S + " is a Customer Care agent of " + R, ""
	case "platform#staff":
		return S + " is vendor staff of " + R, ""
	case "platform#administrator":
		return S + " is a platform administrator of " + R, ""
	case "feature#participant":
		if s.ID == "*" {
			return R + " is released to everyone", ""
		}
		return S + " takes part in " + R, ""
	case "group#parent":
		return R + " is inside " + S, "which contains " + R
	case "group#direct_member":
		if s.Relation != "" {
			return "members of " + S + " are members of " + R, "whose members are members of " + R
		}
		return S + " is a member of " + R, ""
	case "group#reader":
		return S + " has group read access over " + R, ""
	case "partner#member", "service_org#direct_member":
		return S + " is a member of " + R, ""
	case "user#member_of":
		return R + " is a member of " + S, "which has member " + R
	case "partner_link#support_enabled":
		acct, p := linkParts(r.ID)
		return name(acct) + " gave " + name(p) + " support data access", "which " + name(acct) + " gave support data access"
	case "partner_link#vendor_manage":
		acct, p := linkParts(r.ID)
		return "the vendor configured " + name(p) + " with manage on " + name(acct), "which the vendor configured with manage on " + name(acct)
	case "partner_link#customer_manage":
		acct, p := linkParts(r.ID)
		return name(acct) + " consented to manage by " + name(p), "which " + name(acct) + " consented to manage its service"
	case "account#platform":
		return S + " looks after " + R, "which looks after " + R
	case "account#admin":
		return S + " is an admin of " + R, ""
	case "account#standard":
		return S + " is a standard member of " + R, ""
	case "account#viewer":
		return S + " is a viewer of " + R, ""
	case "account#entitlement_rollout":
		return R + " is gated by " + S, "which gates " + R
	case "role_binding#grantee":
		obj, role := bindingParts(r.ID)
		if s.Relation != "" {
			return "members of " + S + " hold custom role " + role + " on " + name(obj), "which holds custom role " + role + " on " + name(obj)
		}
		return S + " holds custom role " + role + " on " + name(obj), ""
	case "sold_product#account":
		return R + " was sold to " + S, ""
	case "sold_product#install_base":
		return S + " is an item of " + R, ""
	case "install_base#account", "case#account":
		return R + " belongs to " + S, ""
	case "install_base#sold_product":
		return R + " is an item of " + S, ""
	case "install_base#authorized_account":
		return S + " is an Authorized Account of " + R, "which is an Authorized Account of " + R
	case "install_base#service_organization":
		return S + " is the Service Organization of " + R, "which is the Service Organization of " + R
	case "case#sold_product", "case#install_base":
		return R + " is about " + S, ""
	case "case#reporter":
		return S + " reported " + R, "who reported " + R
	case "case#open":
		return R + " is open", ""
	case "case#partner_contact":
		return S + " is an additional partner contact on " + R, ""
	case "case#primary_partner_contact":
		return S + " is the primary partner contact of " + R, ""
	case "account#role_binding", "sold_product#role_binding", "install_base#role_binding",
		"role_binding#role", "account#partner_link", "partner_link#partner":
		return "", ""
	}
	if r.Type == "role" && s.ID == "*" {
		return "custom role " + r.ID + " includes " + words(relation), ""
	}
	if level, kind, ok := levelOf(relation); ok && r.Type == "account" {
		if kind == "organisation" {
			return R + " granted " + S + " " + level + " (organisation grant" + until + ")", "which " + R + " granted " + level + " (organisation grant" + until + ")"
		}
		return R + " granted " + S + " " + level + " (individual grant" + until + ")", ""
	}
	if role, ok := functionalRoleNames[relation]; ok {
		return S + " is " + role + " of " + R, ""
	}
	return R + " " + words(relation) + " " + fromSubjectRef(rel.GetSubject()).String(), ""
}

// privilegeOf returns the granular privilege a role_binding or grant_* name refers to.
func privilegeOf(permission string) string {
	return words(strings.TrimPrefix(permission, "grant_"))
}

// partnerLevels maps the partner_* helpers to the level they stand for.
var partnerLevels = map[string]string{
	"partner_look": "look", "partner_update": "update", "partner_create": "create",
	"partner_service_admin": "service_admin", "partner_full_admin": "full_admin",
}

// wayPhrase describes one branch of a permission expression as something a user could
// hold: "be an admin of account:acme". targets are the objects an arrow reaches.
func wayPhrase(typ string, resource ref.Object, t *term, targets []ref.Object) string {
	R := name(resource)
	tg := targetsText(t, targets)
	switch t.op {
	case opNil:
		return "nobody"
	case opUnion, opIntersection, opExclusion:
		parts := make([]string, len(t.children))
		for i, c := range t.children {
			parts[i] = wayPhrase(typ, resource, c, nil)
		}
		sep := map[opKind]string{opUnion: ", or ", opIntersection: ", and ", opExclusion: ", but not "}[t.op]
		return strings.Join(parts, sep)
	case opArrow:
		return arrowWay(typ, resource, t, tg)
	}
	if role, ok := functionalRoleNames[t.name]; ok {
		return "be " + role + " of " + R
	}
	if level, ok := partnerLevels[t.name]; ok {
		return "hold a partner grant at " + level + " or above on " + R
	}
	if level, kind, ok := levelOf(t.name); ok && typ == "account" {
		level = strings.TrimSuffix(level, "_level")
		if kind == "organisation" && level == "any" {
			return "belong to a partner organisation with a grant at any level on " + R
		}
		return "hold " + article(kind) + " " + kind + " grant at " + level + " on " + R
	}
	switch typ + "#" + t.name {
	case "account#admin":
		return "be an admin of " + R
	case "account#standard":
		return "be a standard member of " + R
	case "account#viewer":
		return "be a viewer of " + R
	case "account#member":
		return "be a contact (admin, standard or viewer) of " + R
	case "account#care":
		return "be a Customer Care agent"
	case "account#partner_any":
		return "hold a partner grant at any level on " + R
	case "account#individual_grantee":
		return "hold an individual grant on " + R
	case "case#reporter":
		return "have reported " + R
	case "case#related_party":
		return "be an Authorized Contact, Consumer or Contributor of " + R
	case "case#partner_party":
		return "be a partner contact on " + R + " whose grant still allows it"
	case "case#partner_contact":
		return "be an additional partner contact on " + R
	case "case#primary_partner_contact":
		return "be the primary partner contact of " + R
	case "case#open":
		return R + " is open"
	case "case#editor":
		return "be someone who may update " + R + " while it is open"
	case "case#view":
		return "be able to view " + R
	case "case#group_view":
		return "have group read access over a group of " + R + "'s reporter"
	case "sold_product#related_party", "sold_product#case_party":
		return "be an Authorized Contact or Consumer of " + R
	case "sold_product#grant_case_create":
		return "hold a custom role with case create bound on " + R + " or its account"
	case "install_base#contact":
		return "be an Authorized Contact of " + R + " (named, or a contact of an Authorized Account)"
	case "install_base#related_party":
		return "be a related party of " + R
	case "install_base#case_party":
		return "be a related party or Service Organization member of " + R
	case "sold_product#case_reader":
		return "be an Authorized Contact or Consumer of " + R + ", or hold a custom role with case read bound on it"
	case "install_base#case_reader":
		return "be a related party or Service Organization member of " + R + ", or hold a custom role with case read bound on it or its sold product"
	case "sold_product#case_editor":
		return "be an Authorized Contact or Consumer of " + R + ", or hold a custom role with case write bound on it"
	case "install_base#case_editor":
		return "be a related party or Service Organization member of " + R + ", or hold a custom role with case write bound on it or its sold product"
	case "partner_link#support_enabled":
		return "belong to a partner given support data access"
	case "partner_link#vendor_manage":
		return "belong to a partner the vendor configured with manage"
	case "partner_link#customer_manage":
		return "belong to a partner the customer consented to manage"
	case "partner_link#manage":
		return "belong to a partner with manage data access"
	case "group#reader":
		return "have group read access over " + R
	case "group#direct_member", "service_org#direct_member", "partner#member":
		return "be a member of " + R
	case "platform#customer_care":
		return "be a Customer Care agent"
	case "feature#participant":
		return "take part in " + R
	case "role_binding#grantee":
		obj, role := bindingParts(resource.ID)
		return "hold custom role " + role + " on " + name(obj)
	}
	if typ == "role" {
		return "custom role " + resource.ID + " includes " + privilegeOf(t.name)
	}
	return "hold " + t.name + " on " + R
}

func article(kind string) string {
	if strings.HasPrefix(kind, "o") || strings.HasPrefix(kind, "i") {
		return "an"
	}
	return "a"
}

// targetsText lists the objects an arrow reached, or says there were none.
func targetsText(t *term, targets []ref.Object) string {
	if t.op != opArrow {
		return ""
	}
	if len(targets) == 0 {
		return "its " + words(t.tupleset) + " (none recorded)"
	}
	names := make([]string, len(targets))
	for i, o := range targets {
		names[i] = name(o)
	}
	return strings.Join(names, ", ")
}

func arrowWay(typ string, resource ref.Object, t *term, tg string) string {
	R := name(resource)
	switch t.tupleset + "->" + t.name {
	case "account->view_all_cases":
		return "view every case of " + tg
	case "account->update_all_cases":
		return "update every case of " + tg
	case "account->manage_case_parties":
		return "manage the related parties of every case of " + tg
	case "account->manage_contacts":
		return "manage the contacts of " + tg + " (admin or full_admin partner)"
	case "account->member":
		return "be a contact of " + tg
	case "account->partner_any":
		return "hold a partner grant at any level on " + tg
	case "account->partner_update":
		return "hold a partner grant at update or above on " + tg
	case "platform->act_as_customer_care":
		return "be a Customer Care agent"
	case "entitlement_rollout->participate":
		return "take part in the entitlement rollout (" + tg + ")"
	case "partner_link->support":
		return "belong to a partner with support data access to " + R
	case "partner_link->manage":
		return "belong to a partner with manage data access to " + R + " (both consents)"
	case "reporter->read_cases":
		return "have group read access over a group of " + R + "'s reporter (" + tg + ")"
	case "member_of->read_member_cases", "parent->read_member_cases":
		return "have group read access over " + tg
	case "sold_product->case_party":
		return "be an Authorized Contact or Consumer of " + tg
	case "sold_product->case_reader":
		return "be an Authorized Contact or Consumer of " + tg + ", or hold a custom role with case read bound on it"
	case "install_base->case_reader":
		return "be a related party or Service Organization member of " + tg + ", or hold a custom role with case read bound on it or its sold product"
	case "sold_product->case_editor":
		return "be an Authorized Contact or Consumer of " + tg + ", or hold a custom role with case write bound on it"
	case "install_base->case_editor":
		return "be a related party or Service Organization member of " + tg + ", or hold a custom role with case write bound on it or its sold product"
	case "install_base->case_party":
		return "be a related party or Service Organization member of " + tg
	case "install_base->view_sold_product":
		return "be a related party of an install base item of " + R + " (" + tg + ")"
	case "sold_product->view_install_base":
		return "be an Authorized Contact or Consumer of " + tg
	case "service_organization->member":
		return "be a member of " + tg + ", the Service Organization of " + R
	case "authorized_account->member":
		return "be a contact of " + tg + ", an Authorized Account of " + R
	case "parent->contained_in":
		return "be contained in " + tg
	}
	if strings.HasPrefix(t.name, "grant_") || t.tupleset == "role_binding" {
		where := R
		if t.tupleset != "role_binding" {
			where = tg
		}
		if typ == "role_binding" {
			_, role := bindingParts(resource.ID)
			return "custom role " + role + " includes " + privilegeOf(t.name)
		}
		return "hold a custom role with " + privilegeOf(t.name) + " bound on " + where
	}
	return "hold " + t.name + " on " + tg
}

// missingPhrase says why a needed branch is absent, for the subject subj.
func missingPhrase(typ string, resource ref.Object, subj string, t *term, targets []ref.Object) string {
	R := name(resource)
	tg := targetsText(t, targets)
	key := typ + "#" + t.String()
	switch key {
	case "case#open":
		return R + " is closed"
	case "partner_link#customer_manage":
		acct, p := linkParts(resource.ID)
		return name(acct) + " has not consented to manage by " + name(p) + " (customer side missing)"
	case "partner_link#vendor_manage":
		acct, p := linkParts(resource.ID)
		return "the vendor has not configured " + name(p) + " with manage on " + name(acct) + " (vendor side missing)"
	case "install_base#account->member":
		return subj + " is not a contact of " + tg + ", the item's account (same-account rule)"
	case "case#account->partner_any":
		return subj + " holds no partner grant on " + tg
	case "case#account->partner_update":
		return subj + "'s partner level on " + tg + " is below update"
	case "account#entitlement_rollout->participate":
		return subj + " does not take part in the entitlement rollout"
	case "account#admin + standard":
		return subj + " is neither an admin nor a standard member of " + R
	case "role_binding#grantee":
		obj, role := bindingParts(resource.ID)
		return subj + " does not hold custom role " + role + " on " + name(obj)
	case "case#editor":
		return subj + " could not update " + R + " even while open"
	case "case#partner_contact":
		return subj + " is not an additional partner contact on " + R
	case "case#primary_partner_contact":
		return subj + " is not the primary partner contact of " + R
	case "install_base#contact":
		return subj + " is not an Authorized Contact of " + R
	}
	if typ == "role_binding" && t.op == opArrow && t.tupleset == "role" {
		_, role := bindingParts(resource.ID)
		return "custom role " + role + " does not include " + privilegeOf(t.name)
	}
	if t.op == opArrow {
		switch t.name {
		case "view_all_cases":
			return subj + " cannot view every case of " + tg
		case "update_all_cases":
			return subj + " cannot update every case of " + tg
		}
	}
	return "missing: " + wayPhrase(typ, resource, t, targets)
}

// conditionPhrase states that an excluded branch does not apply, as part of a path
// ("pam has no individual grant on account:acme").
func conditionPhrase(typ string, resource ref.Object, subj string, t *term) string {
	switch typ + "#" + t.String() {
	case "account#individual_grantee":
		return subj + " has no individual grant on " + name(resource)
	case "case#open":
		return name(resource) + " is closed"
	}
	return subj + " does not " + strings.TrimPrefix(wayPhrase(typ, resource, t, nil), "be ")
}

// precedencePhrase says why an excluded branch that does apply cancels the rest.
func precedencePhrase(typ string, resource ref.Object, subj string, t *term) string {
	switch typ + "#" + t.String() {
	case "account#individual_grantee":
		return subj + "'s individual grant takes precedence over the organisation grant"
	case "case#open":
		return name(resource) + " is open, and this covers closed cases only"
	}
	return subj + " also matches an excluded branch (" + wayPhrase(typ, resource, t, nil) + ")"
}
