// Package sqlbase is the benchmark's SQL baseline: the same generated portal (pkg/gen) stored
// in PostgreSQL as the normalised relational schema a database designer would give it, and
// every question the benchmark asks answered with one SQL query. It is the yardstick for
// the engine, not a second implementation of the model: it covers the relationships the
// generator writes and the questions the benchmark asks (view on cases and install base
// items, and the three hot listings), and refuses anything else with an error.
//
// Fairness: tables are keyed by the portal's text ids (the ids every question names), with
// an index for each direction a query walks; the group hierarchy is precomputed into a
// closure table after the load (its time is part of the load's); expiries are compared with
// now() in every query; statements are prepared once per connection (pgx's statement
// cache); the tables are analysed after the load.
package sqlbase

// schemaSQL creates the tables, without indexes: they are built after the COPY.
//
// Levels of partner grants are numbers: cc 0, look 1, update 2, create 3, service_admin 4,
// full_admin 5 (gen.Levels), so "at least look" is level >= 1.
const schemaSQL = `
CREATE TABLE account_member (            -- a contact of an account, in one role
    account_id text NOT NULL,
    user_id    text NOT NULL,
    role       text NOT NULL CHECK (role IN ('admin', 'standard', 'viewer'))
);
CREATE TABLE support_case (
    id              text PRIMARY KEY,
    account_id      text NOT NULL,
    reporter_id     text NOT NULL,
    sold_product_id text,
    is_open         boolean NOT NULL
);
CREATE TABLE sold_product (
    id         text PRIMARY KEY,
    account_id text NOT NULL
);
CREATE TABLE sold_product_contact (      -- authorized contacts of a sold product
    sold_product_id text NOT NULL,
    user_id         text NOT NULL
);
CREATE TABLE install_base (
    id              text PRIMARY KEY,
    account_id      text NOT NULL,
    sold_product_id text NOT NULL
);
CREATE TABLE install_base_contact (      -- authorized contacts of an item
    install_base_id text NOT NULL,
    user_id         text NOT NULL
);
CREATE TABLE install_base_account (      -- authorized accounts of an item: their contacts
    install_base_id text NOT NULL,
    account_id      text NOT NULL
);
CREATE TABLE install_base_service_org (
    install_base_id text NOT NULL,
    service_org_id  text NOT NULL
);
CREATE TABLE service_org_member (
    service_org_id text NOT NULL,
    user_id        text NOT NULL
);
CREATE TABLE partner_member (
    partner_id text NOT NULL,
    user_id    text NOT NULL
);
CREATE TABLE partner_org_grant (         -- an account's grant to all members of a partner
    account_id text NOT NULL,
    partner_id text NOT NULL,
    level      smallint NOT NULL,
    expires_at timestamptz
);
CREATE TABLE partner_individual_grant (  -- a grant to one partner contact; overrides the org's
    account_id text NOT NULL,
    user_id    text NOT NULL,
    level      smallint NOT NULL,
    expires_at timestamptz
);
CREATE TABLE partner_link (              -- consent to data access (support), per account and partner
    account_id      text NOT NULL,
    partner_id      text NOT NULL,
    support_enabled boolean NOT NULL
);
CREATE TABLE group_parent (              -- a school in its district
    child_id  text NOT NULL,
    parent_id text NOT NULL
);
CREATE TABLE group_member (              -- a user directly in a group
    group_id text NOT NULL,
    user_id  text NOT NULL
);
CREATE TABLE group_reader (              -- a super customer: reads the cases of the group's members
    group_id text NOT NULL,
    user_id  text NOT NULL
);
CREATE TABLE group_closure (             -- precomputed: every group with itself and each ancestor
    descendant_id text NOT NULL,
    ancestor_id   text NOT NULL,
    depth         int NOT NULL
);
CREATE TABLE role_permission (           -- what a custom role allows
    role_id    text NOT NULL,
    permission text NOT NULL
);
CREATE TABLE role_binding (              -- a custom role bound on an account, product or item
    id               text PRIMARY KEY,
    object_type      text NOT NULL CHECK (object_type IN ('account', 'sold_product', 'install_base')),
    object_id        text NOT NULL,
    role_id          text NOT NULL,
    grantee_user_id  text,
    grantee_group_id text,
    CHECK ((grantee_user_id IS NULL) <> (grantee_group_id IS NULL))
);
`

// indexSQL builds the keys and indexes after the COPY, one for each direction a query
// walks.
var indexSQL = []string{
	`ALTER TABLE account_member ADD PRIMARY KEY (user_id, account_id, role)`,
	`CREATE INDEX ON account_member (account_id, role)`,
	`CREATE INDEX ON support_case (account_id)`,
	`CREATE INDEX ON support_case (reporter_id)`,
	`CREATE INDEX ON support_case (sold_product_id)`,
	`CREATE INDEX ON sold_product (account_id)`,
	`ALTER TABLE sold_product_contact ADD PRIMARY KEY (user_id, sold_product_id)`,
	`CREATE INDEX ON sold_product_contact (sold_product_id)`,
	`CREATE INDEX ON install_base (sold_product_id)`,
	`ALTER TABLE install_base_contact ADD PRIMARY KEY (install_base_id, user_id)`,
	`ALTER TABLE install_base_account ADD PRIMARY KEY (install_base_id, account_id)`,
	`ALTER TABLE install_base_service_org ADD PRIMARY KEY (install_base_id, service_org_id)`,
	`ALTER TABLE service_org_member ADD PRIMARY KEY (service_org_id, user_id)`,
	`ALTER TABLE partner_member ADD PRIMARY KEY (user_id, partner_id)`,
	`ALTER TABLE partner_org_grant ADD PRIMARY KEY (partner_id, account_id, level)`,
	`CREATE INDEX ON partner_org_grant (account_id)`,
	`ALTER TABLE partner_individual_grant ADD PRIMARY KEY (user_id, account_id, level)`,
	`ALTER TABLE partner_link ADD PRIMARY KEY (account_id, partner_id)`,
	`ALTER TABLE group_parent ADD PRIMARY KEY (child_id, parent_id)`,
	`ALTER TABLE group_member ADD PRIMARY KEY (group_id, user_id)`,
	`CREATE INDEX ON group_member (user_id)`,
	`ALTER TABLE group_reader ADD PRIMARY KEY (user_id, group_id)`,
	`ALTER TABLE role_permission ADD PRIMARY KEY (role_id, permission)`,
	`CREATE INDEX ON role_binding (object_type, object_id)`,
	`CREATE INDEX ON role_binding (grantee_user_id)`,
}

// closureSQL fills group_closure from group_parent: every group with itself (depth 0) and
// each ancestor. SpiceDB bounds recursion by depth; so does this (50 levels).
const closureSQL = `
INSERT INTO group_closure (descendant_id, ancestor_id, depth)
WITH RECURSIVE up (descendant_id, ancestor_id, depth) AS (
    SELECT id, id, 0 FROM (
        SELECT child_id AS id FROM group_parent UNION SELECT parent_id FROM group_parent
        UNION SELECT group_id FROM group_member UNION SELECT group_id FROM group_reader
        UNION SELECT grantee_group_id FROM role_binding WHERE grantee_group_id IS NOT NULL
    ) g
    UNION ALL
    SELECT up.descendant_id, p.parent_id, up.depth + 1
    FROM up JOIN group_parent p ON p.child_id = up.ancestor_id
    WHERE up.depth < 50
)
SELECT descendant_id, ancestor_id, min(depth) FROM up GROUP BY descendant_id, ancestor_id`

var closureIndexSQL = []string{
	`ALTER TABLE group_closure ADD PRIMARY KEY (descendant_id, ancestor_id)`,
	`CREATE INDEX ON group_closure (ancestor_id, descendant_id)`,
}
