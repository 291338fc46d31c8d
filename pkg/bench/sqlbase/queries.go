package sqlbase

import (
	"fmt"
	"strings"
)

// The queries follow the schema's permissions (schema/accessgraph.zed) for the relationships
// the generator writes; $1 is always the user. Each is one statement, prepared once per
// connection.

// unexpired is a grant's expiry evaluated at the time of the query.
func unexpired(alias string) string {
	return fmt.Sprintf("(%[1]s.expires_at IS NULL OR %[1]s.expires_at > now())", alias)
}

// partnerLevel: the user holds at least level on the account, as a partner contact: an
// individual grant at that level or above, or their organisation's grant at that level or
// above unless they hold any individual grant on the account (the individual grant
// overrides the organisation's: account#partner_look and its siblings).
func partnerLevel(account string, level int) string {
	return fmt.Sprintf(`EXISTS (SELECT 1 FROM partner_individual_grant i
        WHERE i.user_id = $1 AND i.account_id = %[1]s AND i.level >= %[2]d AND %[3]s)
    OR (EXISTS (SELECT 1 FROM partner_member pm JOIN partner_org_grant o ON o.partner_id = pm.partner_id
            WHERE pm.user_id = $1 AND o.account_id = %[1]s AND o.level >= %[2]d AND %[4]s)
        AND NOT EXISTS (SELECT 1 FROM partner_individual_grant i
            WHERE i.user_id = $1 AND i.account_id = %[1]s AND %[3]s))`,
		account, level, unexpired("i"), unexpired("o"))
}

// userGroups is the groups the user is a member of, directly or through a nested group.
const userGroups = `SELECT gc.ancestor_id FROM group_member gm JOIN group_closure gc ON gc.descendant_id = gm.group_id WHERE gm.user_id = $1`

// roleGrant: a custom role granting one of perms is bound on the object to the user or to a
// group the user is in.
func roleGrant(objectType, object string, perms ...string) string {
	return fmt.Sprintf(`EXISTS (SELECT 1 FROM role_binding b
        JOIN role_permission r ON r.role_id = b.role_id AND r.permission IN (%s)
        WHERE b.object_type = '%s' AND b.object_id = %s
          AND (b.grantee_user_id = $1 OR b.grantee_group_id IN (%s)))`,
		quoted(perms), objectType, object, userGroups)
}

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, ", ")
}

// caseRead is what role.grant_case_read unions.
var caseRead = []string{"case_read", "case_create"}

// Levels as numbers (gen.Levels order).
const (
	levelLook      = 1
	levelFullAdmin = 5
)

// readsMemberCases: the user reads the cases of the reporter's groups, as a reader of one
// of those groups or of a group containing it (user#read_cases).
const readsMemberCases = `EXISTS (SELECT 1 FROM group_reader gr
        JOIN group_closure gc ON gc.ancestor_id = gr.group_id
        JOIN group_member gm ON gm.group_id = gc.descendant_id
        WHERE gr.user_id = $1 AND gm.user_id = c.reporter_id)`

// viewCaseSQL answers case#view for ($1 user, $2 case).
var viewCaseSQL = `SELECT EXISTS (SELECT 1 FROM support_case c WHERE c.id = $2 AND (
    c.reporter_id = $1
    OR EXISTS (SELECT 1 FROM account_member m WHERE m.user_id = $1 AND m.account_id = c.account_id AND m.role = 'admin')
    OR ` + partnerLevel("c.account_id", levelLook) + `
    OR ` + readsMemberCases + `
    OR ` + roleGrant("account", "c.account_id", caseRead...) + `
    OR EXISTS (SELECT 1 FROM sold_product_contact s WHERE s.user_id = $1 AND s.sold_product_id = c.sold_product_id)
    OR ` + roleGrant("sold_product", "c.sold_product_id", caseRead...) + `
))`

// viewInstallBaseSQL answers install_base#view for ($1 user, $2 item).
var viewInstallBaseSQL = `SELECT EXISTS (SELECT 1 FROM install_base ib WHERE ib.id = $2 AND (
    EXISTS (SELECT 1 FROM install_base_contact x WHERE x.install_base_id = ib.id AND x.user_id = $1)
    OR EXISTS (SELECT 1 FROM install_base_account a JOIN account_member m ON m.account_id = a.account_id
        WHERE a.install_base_id = ib.id AND m.user_id = $1)
    OR EXISTS (SELECT 1 FROM install_base_service_org so JOIN service_org_member sm ON sm.service_org_id = so.service_org_id
        WHERE so.install_base_id = ib.id AND sm.user_id = $1)
    OR EXISTS (SELECT 1 FROM sold_product_contact s WHERE s.user_id = $1 AND s.sold_product_id = ib.sold_product_id)
    OR EXISTS (SELECT 1 FROM account_member m WHERE m.user_id = $1 AND m.account_id = ib.account_id AND m.role = 'admin')
    OR ` + partnerLevel("ib.account_id", levelFullAdmin) + `
    OR ` + roleGrant("install_base", "ib.id", "install_base_read") + `
    OR ` + roleGrant("sold_product", "ib.sold_product_id", "install_base_read") + `
    OR ` + roleGrant("account", "ib.account_id", "install_base_read") + `
    OR ` + roleGrant("account", "(SELECT sp.account_id FROM sold_product sp WHERE sp.id = ib.sold_product_id)", "install_base_read") + `
))`

// partnerAccountsSQL: the accounts on which the user holds at least level as a partner
// contact (the set form of partnerLevel).
func partnerAccountsSQL(level int) string {
	return fmt.Sprintf(`SELECT i.account_id FROM partner_individual_grant i
        WHERE i.user_id = $1 AND i.level >= %[1]d AND %[2]s
    UNION
    SELECT o.account_id FROM partner_member pm JOIN partner_org_grant o ON o.partner_id = pm.partner_id
        WHERE pm.user_id = $1 AND o.level >= %[1]d AND %[3]s
          AND NOT EXISTS (SELECT 1 FROM partner_individual_grant i
              WHERE i.user_id = $1 AND i.account_id = o.account_id AND %[2]s)`,
		level, unexpired("i"), unexpired("o"))
}

// roleObjectsSQL: the objects of a type on which a role granting one of perms is bound to
// the user or to a group the user is in.
func roleObjectsSQL(objectType string, perms ...string) string {
	return fmt.Sprintf(`SELECT b.object_id FROM role_binding b
        JOIN role_permission r ON r.role_id = b.role_id AND r.permission IN (%s)
        WHERE b.object_type = '%s' AND (b.grantee_user_id = $1 OR b.grantee_group_id IN (%s))`,
		quoted(perms), objectType, userGroups)
}

// groupCasesSQL: the cases whose reporter is in a group the user reads (directly or through
// a containing group): case#group_view.
const groupCasesSQL = `SELECT c.id, c.is_open FROM group_reader gr
    JOIN group_closure gc ON gc.ancestor_id = gr.group_id
    JOIN group_member gm ON gm.group_id = gc.descendant_id
    JOIN support_case c ON c.reporter_id = gm.user_id
    WHERE gr.user_id = $1`

// visibleCasesSQL lists the cases the user can view ($1), every path of case#view as one
// branch of a UNION (which also removes duplicates).
var visibleCasesSQL = `SELECT c.id FROM support_case c WHERE c.reporter_id = $1
UNION
SELECT c.id FROM account_member m JOIN support_case c ON c.account_id = m.account_id
    WHERE m.user_id = $1 AND m.role = 'admin'
UNION
SELECT c.id FROM (` + partnerAccountsSQL(levelLook) + `) pa JOIN support_case c ON c.account_id = pa.account_id
UNION
SELECT g.id FROM (` + groupCasesSQL + `) g
UNION
SELECT c.id FROM (` + roleObjectsSQL("account", caseRead...) + `) ra JOIN support_case c ON c.account_id = ra.object_id
UNION
SELECT c.id FROM sold_product_contact s JOIN support_case c ON c.sold_product_id = s.sold_product_id
    WHERE s.user_id = $1
UNION
SELECT c.id FROM (` + roleObjectsSQL("sold_product", caseRead...) + `) rp JOIN support_case c ON c.sold_product_id = rp.object_id`

// groupOpenCasesSQL lists the open cases the user reads through groups: case#group_view_open.
var groupOpenCasesSQL = `SELECT DISTINCT g.id FROM (` + groupCasesSQL + `) g WHERE g.is_open`
