package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"os"

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

	// grpcMaxReceiveBytes is gRPC's own receive limit, which the server keeps: a larger
	// MaxRequestBytes could never be reached.
	grpcMaxReceiveBytes = 4 << 20
)

// Limits are the request limits an embedded server enforces, with defaults filled in.
type Limits struct {
	MaxRequestBytes           int
	MaxUpdatesPerWrite        int
	MaxPreconditions          int
	MaxLookupResourcesLimit   int
	MaxReadRelationshipsLimit int
	MaxCaveatContextBytes     int
}

// limitField is one limit: its name in EmbeddedConfig, its value, default and ceiling.
type limitField struct {
	name       string
	value      *int
	def, ceil  int
	ceilReason string
}

// Limits returns the limits cfg asks for, defaults filled in, or an error naming the field
// that is out of range and the range it must be in.
func (cfg EmbeddedConfig) Limits() (Limits, error) {
	l := Limits{
		MaxRequestBytes:           cfg.MaxRequestBytes,
		MaxUpdatesPerWrite:        cfg.MaxUpdatesPerWrite,
		MaxPreconditions:          cfg.MaxPreconditions,
		MaxLookupResourcesLimit:   cfg.MaxLookupResourcesLimit,
		MaxReadRelationshipsLimit: cfg.MaxReadRelationshipsLimit,
		MaxCaveatContextBytes:     cfg.MaxCaveatContextBytes,
	}
	for _, f := range l.fields() {
		if err := f.resolve(); err != nil {
			return Limits{}, err
		}
	}
	return l, nil
}

func (l *Limits) fields() []limitField {
	const u16, u32 = math.MaxUint16, math.MaxUint32
	return []limitField{
		{"MaxRequestBytes", &l.MaxRequestBytes, DefaultMaxRequestBytes, grpcMaxReceiveBytes, "gRPC's receive limit"},
		{"MaxUpdatesPerWrite", &l.MaxUpdatesPerWrite, DefaultMaxUpdatesPerWrite, u16, "SpiceDB's ceiling"},
		{"MaxPreconditions", &l.MaxPreconditions, DefaultMaxPreconditions, u16, "SpiceDB's ceiling"},
		{"MaxLookupResourcesLimit", &l.MaxLookupResourcesLimit, DefaultMaxLookupResourcesLimit, u32, "SpiceDB's ceiling"},
		{"MaxReadRelationshipsLimit", &l.MaxReadRelationshipsLimit, DefaultMaxReadRelationshipsLimit, u32, "SpiceDB's ceiling"},
		{"MaxCaveatContextBytes", &l.MaxCaveatContextBytes, DefaultMaxCaveatContextBytes, grpcMaxReceiveBytes, "gRPC's receive limit"},
	}
}

// resolve fills in the default of a zero limit and refuses one out of range.
func (f limitField) resolve() error {
	switch v := *f.value; {
	case v == 0:
		*f.value = f.def
	case v < 0 || v > f.ceil:
		return fmt.Errorf("limit %s = %d is out of range: use 1 to %d (%s), or 0 for the default %d", f.name, v, f.ceil, f.ceilReason, f.def)
	}
	return nil
}

// serverOptions are the SpiceDB options that enforce l.
func (l Limits) serverOptions() []server.ConfigOption {
	size := requestSizeLimit{max: l.MaxRequestBytes}
	return []server.ConfigOption{
		server.WithMaximumUpdatesPerWrite(uint16(l.MaxUpdatesPerWrite)),
		server.WithMaximumPreconditionCount(uint16(l.MaxPreconditions)),
		server.WithMaxLookupResourcesLimit(uint32(l.MaxLookupResourcesLimit)),
		server.WithMaxReadRelationshipsLimit(uint32(l.MaxReadRelationshipsLimit)),
		server.WithMaxCaveatContextSize(l.MaxCaveatContextBytes),
		server.WithUnaryMiddlewareModification(afterAuth("accessgraph-request-size", grpc.UnaryServerInterceptor(size.unary))),
		server.WithStreamingMiddlewareModification(afterAuth("accessgraph-request-size", grpc.StreamServerInterceptor(size.stream))),
	}
}

// requestSizeLimit refuses request messages larger than max bytes with ResourceExhausted,
// before any handler (and so any write) runs; schema writes are exempt (sizeExempt). It sits right after authentication, so an
// unauthenticated caller learns nothing about the limit.
type requestSizeLimit struct{ max int }

// sizeExempt are the methods the request size limit leaves to gRPC's own 4 MiB limit: the
// schema is one document (the accessgraph schema alone is about 36 KB).
var sizeExempt = map[string]bool{"/authzed.api.v1.SchemaService/WriteSchema": true}

func (r requestSizeLimit) check(method string, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok || sizeExempt[method] {
		return nil
	}
	if size := proto.Size(m); size > r.max {
		return status.Errorf(codes.ResourceExhausted,
			"request to %s is %d bytes, over this server's limit of %d bytes (MaxRequestBytes): split it into smaller requests", method, size, r.max)
	}
	return nil
}

func (r requestSizeLimit) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := r.check(info.FullMethod, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (r requestSizeLimit) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &sizeCheckedStream{ServerStream: ss, limit: r, method: info.FullMethod})
}

// sizeCheckedStream checks every message a client streams in.
type sizeCheckedStream struct {
	grpc.ServerStream
	limit  requestSizeLimit
	method string
}

func (s *sizeCheckedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.limit.check(s.method, m)
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
