package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

func TestLimitsDefaultsAndRange(t *testing.T) {
	t.Parallel()
	defaults := engine.Limits{
		MaxRequestBytes:           engine.DefaultMaxRequestBytes,
		MaxUpdatesPerWrite:        engine.DefaultMaxUpdatesPerWrite,
		MaxPreconditions:          engine.DefaultMaxPreconditions,
		MaxLookupResourcesLimit:   engine.DefaultMaxLookupResourcesLimit,
		MaxReadRelationshipsLimit: engine.DefaultMaxReadRelationshipsLimit,
		MaxCaveatContextBytes:     engine.DefaultMaxCaveatContextBytes,
		MaxBulkCheckItems:         engine.DefaultMaxBulkCheckItems,
		MaxExportLimit:            engine.DefaultMaxExportLimit,
	}
	got, err := engine.EmbeddedConfig{}.Limits()
	if err != nil || got != defaults {
		t.Fatalf("zero config limits = %+v, %v; want the defaults %+v", got, err, defaults)
	}
	set := engine.EmbeddedConfig{MaxUpdatesPerWrite: 7, MaxRequestBytes: 4 << 20}
	if got, err := set.Limits(); err != nil || got.MaxUpdatesPerWrite != 7 || got.MaxRequestBytes != 4<<20 || got.MaxPreconditions != engine.DefaultMaxPreconditions {
		t.Errorf("limits of %+v = %+v, %v", set, got, err)
	}

	for _, tc := range []struct {
		cfg  engine.EmbeddedConfig
		want string
	}{
		{engine.EmbeddedConfig{MaxRequestBytes: -1}, "MaxRequestBytes = -1 is out of range: use 1 to 4194304"},
		{engine.EmbeddedConfig{MaxRequestBytes: 4<<20 + 1}, "MaxRequestBytes = 4194305 is out of range"},
		{engine.EmbeddedConfig{MaxUpdatesPerWrite: 70000}, "MaxUpdatesPerWrite = 70000 is out of range: use 1 to 65535"},
		{engine.EmbeddedConfig{MaxPreconditions: -5}, "MaxPreconditions = -5 is out of range"},
		{engine.EmbeddedConfig{MaxLookupResourcesLimit: -1}, "MaxLookupResourcesLimit = -1 is out of range"},
		{engine.EmbeddedConfig{MaxReadRelationshipsLimit: -1}, "MaxReadRelationshipsLimit = -1 is out of range"},
		{engine.EmbeddedConfig{MaxCaveatContextBytes: 5 << 20}, "MaxCaveatContextBytes = 5242880 is out of range"},
		{engine.EmbeddedConfig{MaxBulkCheckItems: 10_001}, "MaxBulkCheckItems = 10001 is out of range: use 1 to 10000 (SpiceDB's ceiling)"},
		{engine.EmbeddedConfig{MaxExportLimit: -2}, "MaxExportLimit = -2 is out of range"},
	} {
		if _, err := tc.cfg.Limits(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("limits of %+v: error %v, want %q", tc.cfg, err, tc.want)
		}
		// The server refuses to start with it, naming the field.
		if _, err := engine.StartEmbedded(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StartEmbedded(%+v): error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// testLimits are small enough to reach in a test.
var testLimits = engine.EmbeddedConfig{
	MaxRequestBytes:           4096,
	MaxUpdatesPerWrite:        3,
	MaxPreconditions:          2,
	MaxLookupResourcesLimit:   5,
	MaxReadRelationshipsLimit: 5,
	MaxCaveatContextBytes:     128,
	MaxBulkCheckItems:         4,
	MaxExportLimit:            5,
}

// limitCase is one limit: a request right at it (must succeed) and one just over it (must
// fail with code and a message containing want, and write nothing).
type limitCase struct {
	name string
	call func(ctx context.Context, p v1.PermissionsServiceClient, over bool) error
	code codes.Code
	want string
}

func TestLimitsAreEnforced(t *testing.T) {
	t.Parallel()
	e, err := engine.StartEmbedded(context.Background(), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ctx := context.Background()
	p := e.Permissions()

	cases := []limitCase{
		{"updates per write", writeUpdates, codes.InvalidArgument, "WriteRelationships has 4 updates, over this server's limit of 3 (MaxUpdatesPerWrite; accessctl serve --max-updates-per-write): split it into smaller requests"},
		{"preconditions", writePreconditions, codes.InvalidArgument, "WriteRelationships has 3 preconditions, over this server's limit of 2 (MaxPreconditions; accessctl serve --max-preconditions)"},
		{"request bytes", writeSized, codes.ResourceExhausted, "WriteRelationships is 4097 bytes, over this server's limit of 4096 (MaxRequestBytes; accessctl serve --max-request-bytes)"},
		{"request bytes, streamed", importSized, codes.ResourceExhausted, "over this server's limit of 4096 (MaxRequestBytes; accessctl serve --max-request-bytes)"},
		{"bulk check items", bulkCheck, codes.InvalidArgument, "CheckBulkPermissions has 5 items, over this server's limit of 4 (MaxBulkCheckItems; accessctl serve --max-bulk-check-items): split it into smaller requests"},
		{"lookup resources limit", lookupResources, codes.InvalidArgument, "LookupResources asks for pages of 6, over this server's limit of 5 (MaxLookupResourcesLimit; accessctl serve --max-lookup-limit): ask for pages of at most 5"},
		{"read relationships limit", readRelationships, codes.InvalidArgument, "ReadRelationships asks for pages of 6, over this server's limit of 5 (MaxReadRelationshipsLimit; accessctl serve --max-read-limit)"},
		{"export limit", exportRelationships, codes.InvalidArgument, "ExportBulkRelationships asks for pages of 6, over this server's limit of 5 (MaxExportLimit; accessctl serve --max-export-limit)"},
		{"caveat context bytes", checkWithContext, codes.InvalidArgument, "request caveat context should have less than 128 bytes but had 129"},
	}
	for _, tc := range cases {
		before := countRelationships(t, p)
		if err := tc.call(ctx, p, true); status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s, over the limit: error %v; want %s with %q", tc.name, err, tc.code, tc.want)
		}
		if after := countRelationships(t, p); after != before {
			t.Errorf("%s, over the limit: %d relationships before, %d after: a refused request wrote", tc.name, before, after)
		}
		if err := tc.call(ctx, p, false); err != nil {
			t.Errorf("%s, at the limit: %v", tc.name, err)
		}
	}
	if n := countRelationships(t, p); n < 3 {
		t.Errorf("%d relationships after the writes at the limits, want them written", n)
	}
}

var writeSeq int

// adminOf returns a new, never-written admin relationship.
func adminOf(account string) *v1.Relationship {
	writeSeq++
	return rel("account", account, "admin", "user", fmt.Sprintf("u%d", writeSeq), "")
}

func creates(rels ...*v1.Relationship) []*v1.RelationshipUpdate {
	var u []*v1.RelationshipUpdate
	for _, r := range rels {
		u = append(u, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r})
	}
	return u
}

func writeUpdates(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	n := 3
	if over {
		n = 4
	}
	var rels []*v1.Relationship
	for range n {
		rels = append(rels, adminOf("updates"))
	}
	_, err := p.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: creates(rels...)})
	return err
}

func writePreconditions(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	n := 2
	if over {
		n = 3
	}
	req := &v1.WriteRelationshipsRequest{Updates: creates(adminOf("preconditions"))}
	for i := range n {
		req.OptionalPreconditions = append(req.OptionalPreconditions, &v1.Precondition{
			Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH,
			Filter:    &v1.RelationshipFilter{ResourceType: "account", OptionalResourceId: "nobody" + string(rune('a'+i))},
		})
	}
	_, err := p.WriteRelationships(ctx, req)
	return err
}

// padTo grows a padding string in msg until proto.Size(msg()) is exactly size.
func padTo(size int, msg func(pad string) proto.Message) proto.Message {
	for n := 0; ; n++ {
		m := msg(strings.Repeat("p", n))
		if s := proto.Size(m); s == size {
			return m
		} else if s > size {
			panic(fmt.Sprintf("cannot pad to exactly %d bytes (%d with %d bytes of padding)", size, s, n))
		}
	}
}

func limitSize(over bool, limit int) int {
	if over {
		return limit + 1
	}
	return limit
}

func writeSized(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	r := adminOf("sized")
	req := padTo(limitSize(over, testLimits.MaxRequestBytes), func(pad string) proto.Message {
		meta, _ := structpb.NewStruct(map[string]any{"reason": pad})
		return &v1.WriteRelationshipsRequest{Updates: creates(r), OptionalTransactionMetadata: meta}
	})
	_, err := p.WriteRelationships(ctx, req.(*v1.WriteRelationshipsRequest))
	return err
}

// importSized streams a small message, then one over the limit (four relationships with
// 1,000-character ids) or a second small one. The import is one transaction: the refused
// message must undo the first.
func importSized(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	stream, err := p.ImportBulkRelationships(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: []*v1.Relationship{adminOf("imported")}}); err != nil {
		return err
	}
	second := &v1.ImportBulkRelationshipsRequest{Relationships: []*v1.Relationship{adminOf("imported")}}
	if over {
		second.Relationships = nil
		for range 4 {
			r := adminOf("imported")
			r.Resource.ObjectId += strings.Repeat("p", 1000)
			second.Relationships = append(second.Relationships, r)
		}
		if size := proto.Size(second); size <= testLimits.MaxRequestBytes {
			return fmt.Errorf("test message is %d bytes, not over the limit", size)
		}
	}
	if err := stream.Send(second); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	_, err = stream.CloseAndRecv()
	return err
}

func lookupResources(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	stream, err := p.LookupResources(ctx, &v1.LookupResourcesRequest{
		ResourceObjectType: "account", Permission: "view_all_cases",
		Subject:       &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "nobody"}},
		OptionalLimit: uint32(limitSize(over, testLimits.MaxLookupResourcesLimit)),
		Consistency:   &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	if err != nil {
		return err
	}
	return drain(stream.Recv)
}

func readRelationships(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	stream, err := p.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: "account"},
		OptionalLimit:      uint32(limitSize(over, testLimits.MaxReadRelationshipsLimit)),
		Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	if err != nil {
		return err
	}
	return drain(stream.Recv)
}

func bulkCheck(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	var items []*v1.CheckBulkPermissionsRequestItem
	for i := range limitSize(over, testLimits.MaxBulkCheckItems) {
		items = append(items, &v1.CheckBulkPermissionsRequestItem{
			Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Permission: "view_all_cases",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprintf("u%d", i)}},
		})
	}
	resp, err := p.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Items: items,
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}})
	if err == nil && len(resp.GetPairs()) != len(items) {
		return fmt.Errorf("%d answers to %d items", len(resp.GetPairs()), len(items))
	}
	return err
}

func exportRelationships(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	stream, err := p.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
		OptionalLimit: uint32(limitSize(over, testLimits.MaxExportLimit)),
		Consistency:   &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	if err != nil {
		return err
	}
	return drain(stream.Recv)
}

func checkWithContext(ctx context.Context, p v1.PermissionsServiceClient, over bool) error {
	var caveat *structpb.Struct
	padTo(limitSize(over, testLimits.MaxCaveatContextBytes), func(pad string) proto.Message {
		caveat, _ = structpb.NewStruct(map[string]any{"note": pad})
		return caveat
	})
	_, err := p.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
		Permission:  "view_all_cases",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bill"}},
		Context:     caveat,
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	return err
}

func drain[T any](recv func() (T, error)) error {
	for {
		if _, err := recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// countRelationships counts every account relationship, paging within the read limit.
func countRelationships(t *testing.T, p v1.PermissionsServiceClient) int {
	t.Helper()
	n := 0
	var cursor *v1.Cursor
	for {
		stream, err := p.ReadRelationships(context.Background(), &v1.ReadRelationshipsRequest{
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: "account"},
			OptionalLimit:      uint32(testLimits.MaxReadRelationshipsLimit),
			OptionalCursor:     cursor,
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		})
		if err != nil {
			t.Fatal(err)
		}
		page := 0
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			page++
			cursor = resp.GetAfterResultCursor()
		}
		n += page
		if page < testLimits.MaxReadRelationshipsLimit {
			return n
		}
	}
}
