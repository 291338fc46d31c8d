package ref

import "slices"

// The vocabulary is what accessgraph names to people, in errors, suggestions and completion:
// the public types and, for each, the permissions docs/model.md lists under "Public
// permissions" (the contract's) and "Further permissions" (stable and safe to check). The
// schema's other permissions are helpers that build these; they can still be checked but
// are never offered, so a typo is never answered with an internal name.
// TestVocabularyMatchesModelDoc keeps these lists equal to docs/model.md's tables.
var (
	contractPermissions = map[string][]string{
		"account":      {"view_members", "manage_members", "remove_members", "create_case", "view_all_cases", "download_software", "generate_license_key", "manage_partners", "administer", "manage_contacts", "receive_notifications", "view_dashboard", "view_reports", "view_user_activity", "manage_service"},
		"case":         {"view", "update", "manage_related_parties"},
		"sold_product": {"view", "view_related_parties", "manage_related_parties", "view_consumers", "manage_consumers", "create_case"},
		"install_base": {"view", "view_related_parties", "manage_related_parties", "create_case", "manage_cases"},
	}
	furtherPermissions = map[string][]string{
		"platform":     {"administer", "onboard_customers", "act_as_customer_care"},
		"account":      {"member", "care", "update_all_cases", "manage_case_parties", "bind_roles", "view_role_bindings"},
		"case":         {"reopen", "view_open", "view_closed", "group_view", "group_view_open", "group_view_closed"},
		"sold_product": {"manage_cases", "view_install_base", "bind_roles", "view_role_bindings"},
		"install_base": {"view_installed_product", "view_sold_product", "bind_roles", "view_role_bindings"},
		"group":        {"member", "contained_in"},
		"service_org":  {"member"},
		"feature":      {"participate"},
	}
)

// PublicTypes lists the object types people name, in schema order: every type the schema
// defines except the internal ones (IsInternal).
func PublicTypes() []string {
	var out []string
	for _, t := range Types() {
		if !IsInternal(t) {
			out = append(out, t)
		}
	}
	return out
}

// PublicPermissions lists the permissions of typ that errors, suggestions and completion
// name: the contract's first, then the further ones. It is empty for an internal or unknown
// type and for types that are only ever subjects (user, partner, role).
func PublicPermissions(typ string) []string {
	if IsInternal(typ) {
		return nil
	}
	return append(slices.Clone(contractPermissions[typ]), furtherPermissions[typ]...)
}

// IsPublicPermission reports whether permission is in typ's vocabulary (PublicPermissions).
func IsPublicPermission(typ, permission string) bool {
	return slices.Contains(contractPermissions[typ], permission) || slices.Contains(furtherPermissions[typ], permission)
}
