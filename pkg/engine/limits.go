package engine

import (
	"context"
	"strings"

	"crypto/tls"
	"fmt"
	"math"
	"os"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/authzed/spicedb/pkg/cmd/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Default request limits of an embedded server. Each applies when its EmbeddedConfig field
// is zero; docs/deploy.md explains them.
const (
	// DefaultMaxRequestBytes bounds one request message (one stream message for bulk
	// import). A write of 1,000 relationships with typical ids is about 100 KB.
	DefaultMaxRequestBytes = 1 << 20
	// DefaultMaxUpdatesPerWrite bounds the relationships one WriteRelationships changes.
	DefaultMaxUpdatesPerWrite = 1000
	// DefaultMaxPreconditions bounds the preconditions of one write.
	DefaultMaxPreconditions = 1000
	// DefaultMaxLookupResourcesLimit bounds the page size a LookupResources may ask for.
	DefaultMaxLookupResourcesLimit = 1000
	// DefaultMaxReadRelationshipsLimit bounds the page size a ReadRelationships may ask for.
	DefaultMaxReadRelationshipsLimit = 1000
	// DefaultMaxCaveatContextBytes bounds the caveat context of a check (the accessgraph
	// schema uses none).
	DefaultMaxCaveatContextBytes = 4096
	// DefaultMaxBulkCheckItems bounds the items of one CheckBulkPermissions: about 6 s of
	// work on two cores for distinct subjects (docs/performance.md).
	DefaultMaxBulkCheckItems = 1000
	// DefaultMaxExportLimit bounds the page size of a relationship export (SpiceDB's
	// default, and the page an export without a limit gets).
	DefaultMaxExportLimit = 10_000

	// grpcMaxReceiveBytes is gRPC's own receive limit, which the server keeps: a larger
	// MaxRequestBytes could never be reached.
	grpcMaxReceiveBytes = 4 << 20
	// spiceDBMaxBulkCheckItems is SpiceDB's own ceiling on a bulk check.
	spiceDBMaxBulkCheckItems = 10_000
)

// Limits are the request limits an embedded server enforces, with defaults filled in.
type Limits struct {
	MaxRequestBytes           int
	MaxUpdatesPerWrite        int
	MaxPreconditions          int
	MaxLookupResourcesLimit   int
	MaxReadRelationshipsLimit int
	MaxCaveatContextBytes     int
	MaxBulkCheckItems         int
	MaxExportLimit            int
}

// LimitSpec describes one request limit: the EmbeddedConfig field that sets it, the
// accessctl serve flag that sets that field, what it bounds, its default and its ceiling.
// This table is the one place a limit is declared: serve's flags, range errors and the
// errors of refused requests all come from it.
type LimitSpec struct {
	Field, Flag, Usage string
	Default, Max       int
	maxReason          string
}

// LimitSpecs lists every request limit, in the order serve documents them.
func LimitSpecs() []LimitSpec {
	const u16, u32 = math.MaxUint16, math.MaxUint32
	return []LimitSpec{
		{"MaxRequestBytes", "max-request-bytes", "largest request message accepted, in bytes (at most 4 MiB; schema writes exempt)", DefaultMaxRequestBytes, grpcMaxReceiveBytes, "gRPC's receive limit"},
		{"MaxUpdatesPerWrite", "max-updates-per-write", "most relationship updates in one write", DefaultMaxUpdatesPerWrite, u16, "SpiceDB's ceiling"},
		{"MaxPreconditions", "max-preconditions", "most preconditions in one write", DefaultMaxPreconditions, u16, "SpiceDB's ceiling"},
		{"MaxBulkCheckItems", "max-bulk-check-items", "most items in one bulk check (CheckBulkPermissions)", DefaultMaxBulkCheckItems, spiceDBMaxBulkCheckItems, "SpiceDB's ceiling"},
		{"MaxLookupResourcesLimit", "max-lookup-limit", "largest page a resource lookup may ask for", DefaultMaxLookupResourcesLimit, u32, "SpiceDB's ceiling"},
		{"MaxReadRelationshipsLimit", "max-read-limit", "largest page a relationship read may ask for", DefaultMaxReadRelationshipsLimit, u32, "SpiceDB's ceiling"},
		{"MaxExportLimit", "max-export-limit", "largest page a relationship export may ask for (and the page of an export that asks for none)", DefaultMaxExportLimit, u32, "SpiceDB's ceiling"},
		{"MaxCaveatContextBytes", "max-caveat-context-bytes", "largest caveat context a check may carry, in bytes", DefaultMaxCaveatContextBytes, grpcMaxReceiveBytes, "gRPC's receive limit"},
	}
}

// LimitValue is one limit of a configuration: its spec and the field holding its value.
type LimitValue struct {
	LimitSpec
	Value *int
}

// LimitValues returns every limit of cfg, in LimitSpecs order, with a pointer to the
// field of cfg that holds it (zero meaning the default), so a caller can bind or copy them.
func (cfg *EmbeddedConfig) LimitValues() []LimitValue {
	ptrs := map[string]*int{
		"MaxRequestBytes": &cfg.MaxRequestBytes, "MaxUpdatesPerWrite": &cfg.MaxUpdatesPerWrite,
		"MaxPreconditions": &cfg.MaxPreconditions, "MaxBulkCheckItems": &cfg.MaxBulkCheckItems,
		"MaxLookupResourcesLimit": &cfg.MaxLookupResourcesLimit, "MaxReadRelationshipsLimit": &cfg.MaxReadRelationshipsLimit,
		"MaxExportLimit": &cfg.MaxExportLimit, "MaxCaveatContextBytes": &cfg.MaxCaveatContextBytes,
	}
	return limitValues(ptrs)
}

func (l *Limits) values() []LimitValue {
	return limitValues(map[string]*int{
		"MaxRequestBytes": &l.MaxRequestBytes, "MaxUpdatesPerWrite": &l.MaxUpdatesPerWrite,
		"MaxPreconditions": &l.MaxPreconditions, "MaxBulkCheckItems": &l.MaxBulkCheckItems,
		"MaxLookupResourcesLimit": &l.MaxLookupResourcesLimit, "MaxReadRelationshipsLimit": &l.MaxReadRelationshipsLimit,
		"MaxExportLimit": &l.MaxExportLimit, "MaxCaveatContextBytes": &l.MaxCaveatContextBytes,
	})
}

func limitValues(ptrs map[string]*int) []LimitValue {
	specs := LimitSpecs()
	out := make([]LimitValue, len(specs))
	for i, s := range specs {
		out[i] = LimitValue{LimitSpec: s, Value: ptrs[s.Field]}
	}
	return out
}

// Limits returns the limits cfg asks for, defaults filled in, or an error naming the field
// that is out of range and the range it must be in.
func (cfg EmbeddedConfig) Limits() (Limits, error) {
	var l Limits
	in := cfg.LimitValues()
	for i, v := range l.values() {
		*v.Value = *in[i].Value
		if err := v.resolve(); err != nil {
			return Limits{}, err
		}
	}
	return l, nil
}

// resolve fills in the default of a zero limit and refuses one out of range.
func (v LimitValue) resolve() error {
	switch n := *v.Value; {
	case n == 0:
		*v.Value = v.Default
	case n < 0 || n > v.Max:
		return fmt.Errorf("limit %s = %d is out of range: use 1 to %d (%s), or 0 for the default %d", v.Field, n, v.Max, v.maxReason, v.Default)
	}
	return nil
}

// serverOptions are the SpiceDB options that enforce l. SpiceDB's own checks stay as a
// backstop; ours come first, right after authentication, so a refusal names the limit and
// its flag.
func (l Limits) serverOptions() []server.ConfigOption {
	check := newRequestLimits(l)
	return []server.ConfigOption{
		server.WithMaximumUpdatesPerWrite(uint16(l.MaxUpdatesPerWrite)),
		server.WithMaximumPreconditionCount(uint16(l.MaxPreconditions)),
		server.WithMaxLookupResourcesLimit(uint32(l.MaxLookupResourcesLimit)),
		server.WithMaxReadRelationshipsLimit(uint32(l.MaxReadRelationshipsLimit)),
		server.WithMaxBulkExportRelationshipsLimit(uint32(l.MaxExportLimit)),
		server.WithMaxCaveatContextSize(l.MaxCaveatContextBytes),
		server.WithUnaryMiddlewareModification(afterAuth(requestLimitsMiddleware, grpc.UnaryServerInterceptor(check.unary))),
		server.WithStreamingMiddlewareModification(afterAuth(requestLimitsMiddleware, grpc.StreamServerInterceptor(check.stream))),
	}
}

// requestLimitsMiddleware names the request limits in SpiceDB's middleware chain.
const requestLimitsMiddleware = "accessgraph-request-limits"

// requestLimits refuses a request over a limit before any handler (and so any write) runs:
// messages larger than MaxRequestBytes with ResourceExhausted (schema writes are exempt,
// sizeExempt), too many items, updates or preconditions, or too large a page, with
// InvalidArgument. It sits right after authentication, so an unauthenticated caller learns
// nothing about the limits.
type requestLimits struct {
	// byField holds each limit's spec and value by its field name, built once: every
	// request is checked against it.
	byField map[string]LimitValue
}

func newRequestLimits(l Limits) requestLimits {
	r := requestLimits{byField: map[string]LimitValue{}}
	for _, v := range l.values() {
		value := *v.Value
		v.Value = &value
		r.byField[v.Field] = v
	}
	return r
}

// sizeExempt are the methods the request size limit leaves to gRPC's own 4 MiB limit: the
// schema is one document (the accessgraph schema alone is about 36 KB).
var sizeExempt = map[string]bool{"/authzed.api.v1.SchemaService/WriteSchema": true}

// LimitError reports a request over a limit. As a gRPC status it is InvalidArgument, or
// ResourceExhausted for the request size.
type LimitError struct {
	// Method is the gRPC method called; Got is what the request has of what is limited.
	Method string
	Got    int
	LimitSpec
	Limit int
}

func (e *LimitError) Error() string {
	method := e.Method[strings.LastIndex(e.Method, "/")+1:]
	fix := "split it into smaller requests"
	var has string
	switch e.Field {
	case "MaxRequestBytes":
		has = fmt.Sprintf("is %d bytes", e.Got)
	case "MaxBulkCheckItems":
		has = fmt.Sprintf("has %d items", e.Got)
	case "MaxUpdatesPerWrite":
		has = fmt.Sprintf("has %d updates", e.Got)
	case "MaxPreconditions":
		has = fmt.Sprintf("has %d preconditions", e.Got)
	default:
		has, fix = fmt.Sprintf("asks for pages of %d", e.Got), fmt.Sprintf("ask for pages of at most %d", e.Limit)
	}
	return fmt.Sprintf("%s %s, over this server's limit of %d (%s; accessctl serve --%s): %s", method, has, e.Limit, e.Field, e.Flag, fix)
}

// GRPCStatus makes a LimitError its own gRPC status, so clients see the message above.
func (e *LimitError) GRPCStatus() *status.Status {
	code := codes.InvalidArgument
	if e.Field == "MaxRequestBytes" {
		code = codes.ResourceExhausted
	}
	return status.New(code, e.Error())
}

func (r requestLimits) over(method string, got int, field string) error {
	if v, ok := r.byField[field]; ok && got > *v.Value {
		return &LimitError{Method: method, Got: got, LimitSpec: v.LimitSpec, Limit: *v.Value}
	}
	return nil
}

func (r requestLimits) check(method string, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil
	}
	if !sizeExempt[method] {
		if err := r.over(method, proto.Size(m), "MaxRequestBytes"); err != nil {
			return err
		}
	}
	switch req := m.(type) {
	case *v1.CheckBulkPermissionsRequest:
		return r.over(method, len(req.GetItems()), "MaxBulkCheckItems")
	case *v1.WriteRelationshipsRequest:
		if err := r.over(method, len(req.GetUpdates()), "MaxUpdatesPerWrite"); err != nil {
			return err
		}
		return r.over(method, len(req.GetOptionalPreconditions()), "MaxPreconditions")
	case *v1.DeleteRelationshipsRequest:
		return r.over(method, len(req.GetOptionalPreconditions()), "MaxPreconditions")
	case *v1.LookupResourcesRequest:
		return r.over(method, int(req.GetOptionalLimit()), "MaxLookupResourcesLimit")
	case *v1.ReadRelationshipsRequest:
		return r.over(method, int(req.GetOptionalLimit()), "MaxReadRelationshipsLimit")
	case *v1.ExportBulkRelationshipsRequest:
		return r.over(method, int(req.GetOptionalLimit()), "MaxExportLimit")
	case *v1.BulkExportRelationshipsRequest:
		return r.over(method, int(req.GetOptionalLimit()), "MaxExportLimit")
	}
	return nil
}

func (r requestLimits) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := r.check(info.FullMethod, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (r requestLimits) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &limitCheckedStream{ServerStream: ss, limits: r, method: info.FullMethod})
}

// limitCheckedStream checks every message a client streams in.
type limitCheckedStream struct {
	grpc.ServerStream
	limits requestLimits
	method string
}

func (s *limitCheckedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.limits.check(s.method, m)
}

// CheckTLSFiles verifies that a TLS certificate and key are given together, readable, and
// a matching PEM pair, so a bad file stops the start with an error naming it instead of a
// server that cannot complete a handshake. Both empty means plaintext.
func CheckTLSFiles(certPath, keyPath string) error {
	if certPath == "" && keyPath == "" {
		return nil
	}
	if certPath == "" || keyPath == "" {
		return fmt.Errorf("TLS needs both a certificate and a key file (got certificate %q, key %q)", certPath, keyPath)
	}
	for _, f := range []struct{ what, path string }{{"certificate", certPath}, {"key", keyPath}} {
		if _, err := os.ReadFile(f.path); err != nil {
			return fmt.Errorf("reading the TLS %s file %s: %w", f.what, f.path, err)
		}
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		return fmt.Errorf("loading the TLS certificate %s with key %s: %w: give a PEM certificate and its matching PEM private key", certPath, keyPath, err)
	}
	return nil
}
