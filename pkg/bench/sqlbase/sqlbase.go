package sqlbase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/accessgraph/accessgraph/pkg/gen"
)

// ErrUnsupported reports a relationship or a question outside what the baseline models.
var ErrUnsupported = errors.New("not modelled by the SQL baseline")

// Baseline is a loaded SQL baseline. It is safe for concurrent use; Close releases its
// connections.
type Baseline struct {
	pool  *pgxpool.Pool
	cfg   gen.Config
	stats LoadStats
}

// LoadStats reports a load. Seconds is the whole of it: generating and sorting the rows,
// COPY, keys and indexes, the group closure and settling (VACUUM ANALYZE, a checkpoint).
type LoadStats struct {
	Relationships int     `json:"relationships"` // read from the generator
	Rows          int     `json:"rows"`          // stored (mirrors and unread links are not)
	Skipped       int     `json:"skipped"`       // relationships no question reads, or mirrors of stored ones
	ClosureRows   int     `json:"closure_rows"`
	Seconds       float64 `json:"seconds"`
	CopySeconds   float64 `json:"copy_seconds"` // generation and COPY
	IndexSeconds  float64 `json:"index_seconds"`
	// ClosureSeconds is the time to precompute group_closure and index it.
	ClosureSeconds float64 `json:"closure_seconds"`
	// AnalyzeSeconds is the time to settle the tables: VACUUM ANALYZE and a checkpoint,
	// so that the server's own work after a load (autovacuum of the new tables, writing
	// them out) does not fall on what is measured next.
	AnalyzeSeconds float64 `json:"analyze_seconds"`
	// Checkpoint is why the checkpoint was not taken (a role without the right), or "".
	Checkpoint  string  `json:"checkpoint,omitempty"`
	DatabaseMiB float64 `json:"database_mib"` // pg_database_size after the load
	Server      string  `json:"server"`       // PostgreSQL's version
}

// PerSecond is the load's throughput in relationships per second.
func (s LoadStats) PerSecond() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.Relationships) / s.Seconds
}

// Open connects to an EMPTY PostgreSQL database (uri, postgres://...) with up to maxConns
// connections (at least the number of benchmark clients).
func Open(ctx context.Context, uri string, maxConns int) (*Baseline, error) {
	cfg, err := pgxpool.ParseConfig(uri)
	if err != nil {
		return nil, fmt.Errorf("parsing the SQL baseline's URI: %w", err)
	}
	cfg.MaxConns = int32(max(maxConns, 1))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the SQL baseline's database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to the SQL baseline's database: %w", err)
	}
	return &Baseline{pool: pool}, nil
}

// Close releases the connections.
func (b *Baseline) Close() { b.pool.Close() }

// Config is the generator configuration of the loaded portal.
func (b *Baseline) Config() gen.Config { return b.cfg }

// Stats reports the load.
func (b *Baseline) Stats() LoadStats { return b.stats }

// Load streams g's portal into the database: it creates the tables (the database must not
// hold them yet), copies the rows, builds the keys and indexes, precomputes the group
// closure and analyses the tables. It consumes g's stream, so g.Expected is complete after.
func (b *Baseline) Load(ctx context.Context, g *gen.Generator) (LoadStats, error) {
	start := time.Now()
	var st LoadStats
	if err := b.pool.QueryRow(ctx, "SHOW server_version").Scan(&st.Server); err != nil {
		return st, fmt.Errorf("reading the server version: %w", err)
	}
	if _, err := b.pool.Exec(ctx, schemaSQL); err != nil {
		return st, fmt.Errorf("creating the SQL baseline's tables (the database must be empty): %w", err)
	}
	t := newTables()
	for r := range g.Relationships() {
		st.Relationships++
		if err := t.add(r); err != nil {
			return st, err
		}
	}
	st.Skipped = t.skipped
	if err := t.mirrorsMatch(); err != nil {
		return st, err
	}
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return st, fmt.Errorf("connecting to copy: %w", err)
	}
	for _, tb := range t.all() {
		n, err := conn.Conn().CopyFrom(ctx, pgx.Identifier{tb.name}, tb.cols, pgx.CopyFromRows(tb.rows))
		if err != nil {
			conn.Release()
			return st, fmt.Errorf("copying %s: %w", tb.name, err)
		}
		st.Rows += int(n)
	}
	conn.Release()
	t = nil // the rows are in the database: let them go before the indexes are built
	st.CopySeconds = time.Since(start).Seconds()

	phase := time.Now()
	for _, s := range indexSQL {
		if _, err := b.pool.Exec(ctx, s); err != nil {
			return st, fmt.Errorf("%s: %w", s, err)
		}
	}
	st.IndexSeconds = time.Since(phase).Seconds()

	phase = time.Now()
	tag, err := b.pool.Exec(ctx, closureSQL)
	if err != nil {
		return st, fmt.Errorf("precomputing the group closure: %w", err)
	}
	st.ClosureRows = int(tag.RowsAffected())
	for _, s := range closureIndexSQL {
		if _, err := b.pool.Exec(ctx, s); err != nil {
			return st, fmt.Errorf("%s: %w", s, err)
		}
	}
	st.ClosureSeconds = time.Since(phase).Seconds()

	phase = time.Now()
	if _, err := b.pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return st, fmt.Errorf("vacuuming and analysing the tables: %w", err)
	}
	if _, err := b.pool.Exec(ctx, "CHECKPOINT"); err != nil {
		// Needs pg_checkpoint or a superuser; without it the load is still sound.
		st.Checkpoint = err.Error()
	}
	st.AnalyzeSeconds = time.Since(phase).Seconds()
	st.Seconds = time.Since(start).Seconds()
	var size int64
	if err := b.pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&size); err != nil {
		return st, fmt.Errorf("reading the database size: %w", err)
	}
	st.DatabaseMiB = float64(size) / (1 << 20)
	b.cfg, b.stats = g.Config(), st
	return st, nil
}

// Check answers one question with one query: view on a case or an install base item.
func (b *Baseline) Check(ctx context.Context, user, permission string, resource *v1.ObjectReference) (bool, error) {
	var q string
	switch {
	case permission == "view" && resource.GetObjectType() == "case":
		q = viewCaseSQL
	case permission == "view" && resource.GetObjectType() == "install_base":
		q = viewInstallBaseSQL
	default:
		return false, fmt.Errorf("check %s on %s: %w", permission, resource.GetObjectType(), ErrUnsupported)
	}
	var ok bool
	if err := b.pool.QueryRow(ctx, q, user, resource.GetObjectId()).Scan(&ok); err != nil {
		return false, fmt.Errorf("checking %s on %s:%s for user:%s: %w", permission, resource.GetObjectType(), resource.GetObjectId(), user, err)
	}
	return ok, nil
}

// Listing names the three listings the benchmark measures.
type Listing string

const (
	VisibleCases   Listing = "visible_cases"    // every case the user can view (case#view)
	GroupOpenCases Listing = "group_open_cases" // open cases the user reads through groups (case#group_view_open)
)

// List returns the ids of the cases of a listing for user, in one query.
func (b *Baseline) List(ctx context.Context, l Listing, user string) ([]string, error) {
	var q string
	switch l {
	case VisibleCases:
		q = visibleCasesSQL
	case GroupOpenCases:
		q = groupOpenCasesSQL
	default:
		return nil, fmt.Errorf("listing %q: %w", l, ErrUnsupported)
	}
	rows, err := b.pool.Query(ctx, q, user)
	if err != nil {
		return nil, fmt.Errorf("listing %s for user:%s: %w", l, user, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing %s for user:%s: %w", l, user, err)
	}
	return ids, nil
}

// table is the rows of one table, in the order of its columns.
type table struct {
	name string
	cols []string
	rows [][]any
}

// tables sorts the generator's relationships into rows. Cases, items, role bindings and
// partner links arrive as several relationships each and are assembled by id.
type tables struct {
	byName map[string]*table
	order  []string

	cases    map[string][]any // id, account, reporter, sold_product, open
	caseIDs  []string
	items    map[string][]any // id, account, sold_product
	itemIDs  []string
	bindings map[string][]any // id, object_type, object_id, role, grantee user, grantee group
	bindIDs  []string
	links    map[string]*link
	linkIDs  []string

	// Mirrors: the domain writes group nesting and membership in both directions; one is
	// stored, the other counted to prove they agree.
	nestings, memberOf, itemOfProduct int
	skipped                           int
}

type link struct {
	account, partner string
	support          bool
}

func newTables() *tables {
	t := &tables{byName: map[string]*table{}, cases: map[string][]any{}, items: map[string][]any{},
		bindings: map[string][]any{}, links: map[string]*link{}}
	for _, d := range []struct {
		name string
		cols []string
	}{
		{"account_member", []string{"account_id", "user_id", "role"}},
		{"sold_product", []string{"id", "account_id"}},
		{"sold_product_contact", []string{"sold_product_id", "user_id"}},
		{"install_base_contact", []string{"install_base_id", "user_id"}},
		{"install_base_account", []string{"install_base_id", "account_id"}},
		{"install_base_service_org", []string{"install_base_id", "service_org_id"}},
		{"service_org_member", []string{"service_org_id", "user_id"}},
		{"partner_member", []string{"partner_id", "user_id"}},
		{"partner_org_grant", []string{"account_id", "partner_id", "level", "expires_at"}},
		{"partner_individual_grant", []string{"account_id", "user_id", "level", "expires_at"}},
		{"group_parent", []string{"child_id", "parent_id"}},
		{"group_member", []string{"group_id", "user_id"}},
		{"group_reader", []string{"group_id", "user_id"}},
		{"role_permission", []string{"role_id", "permission"}},
	} {
		t.byName[d.name] = &table{name: d.name, cols: d.cols}
		t.order = append(t.order, d.name)
	}
	return t
}

func (t *tables) put(name string, row ...any) {
	tb := t.byName[name]
	tb.rows = append(tb.rows, row)
}

func level(name string) (int16, bool) {
	i := slices.Index(gen.Levels, name)
	return int16(i), i >= 0
}

func expiry(r *v1.Relationship) any {
	if r.GetOptionalExpiresAt() == nil {
		return nil
	}
	return r.GetOptionalExpiresAt().AsTime()
}

// add sorts one relationship into its table.
func (t *tables) add(r *v1.Relationship) error {
	rt, id, rel := r.GetResource().GetObjectType(), r.GetResource().GetObjectId(), r.GetRelation()
	st, sid, srel := r.GetSubject().GetObject().GetObjectType(), r.GetSubject().GetObject().GetObjectId(), r.GetSubject().GetOptionalRelation()
	subj := st
	if srel != "" {
		subj += "#" + srel
	}
	key := rt + "#" + rel + "@" + subj
	switch {
	// Relationships no benchmark question reads: the platform and its roles, features,
	// the platform links of every object, join requests.
	case rt == "platform", rt == "feature", rel == "platform", rel == "entitlement_rollout",
		rt == "account" && strings.HasPrefix(rel, "join_request_"):
		t.skipped++
	case key == "account#admin@user", key == "account#standard@user", key == "account#viewer@user":
		t.put("account_member", id, sid, rel)
	case key == "case#account@account":
		t.caseRow(id)[1] = sid
	case key == "case#reporter@user":
		t.caseRow(id)[2] = sid
	case key == "case#sold_product@sold_product":
		t.caseRow(id)[3] = sid
	case key == "case#open@user" && sid == "*":
		t.caseRow(id)[4] = true
	case key == "sold_product#account@account":
		t.put("sold_product", id, sid)
	case key == "sold_product#authorized_contact@user":
		t.put("sold_product_contact", id, sid)
	case key == "sold_product#install_base@install_base":
		t.itemOfProduct++
		t.skipped++
	case key == "install_base#account@account":
		t.itemRow(id)[1] = sid
	case key == "install_base#sold_product@sold_product":
		t.itemRow(id)[2] = sid
	case key == "install_base#authorized_contact@user":
		t.put("install_base_contact", id, sid)
	case key == "install_base#authorized_account@account":
		t.put("install_base_account", id, sid)
	case key == "install_base#service_organization@service_org":
		t.put("install_base_service_org", id, sid)
	case key == "service_org#direct_member@user":
		t.put("service_org_member", id, sid)
	case key == "partner#member@user":
		t.put("partner_member", id, sid)
	case rt == "account" && strings.HasPrefix(rel, "org_") && subj == "partner#member":
		l, ok := level(strings.TrimPrefix(rel, "org_"))
		if !ok {
			return fmt.Errorf("relationship %s:%s#%s: unknown grant level: %w", rt, id, rel, ErrUnsupported)
		}
		t.put("partner_org_grant", id, sid, l, expiry(r))
	case rt == "account" && strings.HasPrefix(rel, "individual_") && subj == "user":
		l, ok := level(strings.TrimPrefix(rel, "individual_"))
		if !ok {
			return fmt.Errorf("relationship %s:%s#%s: unknown grant level: %w", rt, id, rel, ErrUnsupported)
		}
		t.put("partner_individual_grant", id, sid, l, expiry(r))
	case key == "partner_link#partner@partner":
		t.linkOf(id).partner = sid
	case key == "partner_link#support_enabled@partner#member":
		t.linkOf(id).support = true
	case key == "account#partner_link@partner_link":
		t.linkOf(sid).account = id
	case key == "group#parent@group":
		t.put("group_parent", id, sid)
	case key == "group#direct_member@group#member":
		t.nestings++
		t.skipped++
	case key == "group#direct_member@user":
		t.put("group_member", id, sid)
	case key == "user#member_of@group":
		t.memberOf++
		t.skipped++
	case key == "group#reader@user":
		t.put("group_reader", id, sid)
	case rt == "role" && subj == "user" && sid == "*":
		t.put("role_permission", id, rel)
	case key == "role_binding#role@role":
		t.bindingRow(id)[3] = sid
	case key == "role_binding#grantee@user":
		t.bindingRow(id)[4] = sid
	case key == "role_binding#grantee@group#member":
		t.bindingRow(id)[5] = sid
	case rel == "role_binding" && subj == "role_binding":
		b := t.bindingRow(sid)
		b[1], b[2] = rt, id
	default:
		return fmt.Errorf("relationship %s:%s#%s@%s:%s: %w", rt, id, rel, subj, sid, ErrUnsupported)
	}
	return nil
}

func (t *tables) caseRow(id string) []any {
	row, ok := t.cases[id]
	if !ok {
		row = []any{id, nil, nil, nil, false}
		t.cases[id] = row
		t.caseIDs = append(t.caseIDs, id)
	}
	return row
}

func (t *tables) itemRow(id string) []any {
	row, ok := t.items[id]
	if !ok {
		row = []any{id, nil, nil}
		t.items[id] = row
		t.itemIDs = append(t.itemIDs, id)
	}
	return row
}

func (t *tables) bindingRow(id string) []any {
	row, ok := t.bindings[id]
	if !ok {
		row = []any{id, nil, nil, nil, nil, nil}
		t.bindings[id] = row
		t.bindIDs = append(t.bindIDs, id)
	}
	return row
}

func (t *tables) linkOf(id string) *link {
	l, ok := t.links[id]
	if !ok {
		l = &link{}
		t.links[id] = l
		t.linkIDs = append(t.linkIDs, id)
	}
	return l
}

// mirrorsMatch checks that each mirrored relationship had its stored twin, so storing one
// direction loses nothing.
func (t *tables) mirrorsMatch() error {
	for _, m := range []struct {
		what           string
		mirror, stored int
	}{
		{"group nesting (group#direct_member@group#member against group#parent)", t.nestings, len(t.byName["group_parent"].rows)},
		{"group membership (user#member_of against group#direct_member@user)", t.memberOf, len(t.byName["group_member"].rows)},
		{"install base items (sold_product#install_base against install_base#sold_product)", t.itemOfProduct, len(t.itemIDs)},
	} {
		if m.mirror != m.stored {
			return fmt.Errorf("%s: %d and %d relationships: the SQL baseline stores one direction only: %w", m.what, m.mirror, m.stored, ErrUnsupported)
		}
	}
	return nil
}

// all returns every table with its rows, assembled rows included (an incomplete one fails
// the COPY on a NOT NULL column).
func (t *tables) all() []*table {
	out := make([]*table, 0, len(t.order)+4)
	for _, n := range t.order {
		out = append(out, t.byName[n])
	}
	cases := &table{name: "support_case", cols: []string{"id", "account_id", "reporter_id", "sold_product_id", "is_open"}}
	for _, id := range t.caseIDs {
		cases.rows = append(cases.rows, t.cases[id])
	}
	items := &table{name: "install_base", cols: []string{"id", "account_id", "sold_product_id"}}
	for _, id := range t.itemIDs {
		items.rows = append(items.rows, t.items[id])
	}
	bindings := &table{name: "role_binding", cols: []string{"id", "object_type", "object_id", "role_id", "grantee_user_id", "grantee_group_id"}}
	for _, id := range t.bindIDs {
		bindings.rows = append(bindings.rows, t.bindings[id])
	}
	links := &table{name: "partner_link", cols: []string{"account_id", "partner_id", "support_enabled"}}
	for _, id := range t.linkIDs {
		l := t.links[id]
		links.rows = append(links.rows, []any{l.account, l.partner, l.support})
	}
	return append(out, cases, items, bindings, links)
}
