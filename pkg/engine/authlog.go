package engine

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/authzed/spicedb/pkg/cmd/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// AuthFailure describes refused authentications for a log line. It never holds the key
// presented, nor any part of it.
type AuthFailure struct {
	// Peer is the client's address (host:port; "bufconn" in process).
	Peer string
	// Method is the gRPC method called, for example /authzed.api.v1.PermissionsService/CheckPermission.
	Method string
	// Reason is "no bearer key" (no authorization header, another scheme or an empty key),
	// "malformed authorization header" or "wrong key".
	Reason string
	// Suppressed counts the failures from the same host not reported since its last line.
	Suppressed int
	// OtherSuppressed counts failures from hosts not reported separately (too many hosts, or
	// over the overall budget) since the last line.
	OtherSuppressed int
}

// Defaults of the failed-authentication log's rate limit.
const (
	// AuthFailureInterval is the shortest time between two lines about the same host.
	AuthFailureInterval = 10 * time.Second
	// authFailureBurst is the most lines per AuthFailureInterval for all hosts together, so a
	// flood from many addresses writes at most this many lines per interval.
	authFailureBurst = 10
	// authFailureHosts bounds the hosts remembered at once.
	authFailureHosts = 1024
)

// authFailureLog rate-limits reports of failed authentications: at most one per host per
// interval and burst per interval overall; the failures in between are counted and the
// count goes with the host's next report (or, for hosts not tracked, with the next report of
// any host). Safe for concurrent use.
type authFailureLog struct {
	report   func(AuthFailure)
	now      func() time.Time
	interval time.Duration
	burst    int
	maxHosts int

	mu          sync.Mutex
	hosts       map[string]*hostFailures
	windowStart time.Time
	windowLines int
	other       int
}

type hostFailures struct {
	next       time.Time // no line before this
	suppressed int
}

func newAuthFailureLog(report func(AuthFailure)) *authFailureLog {
	return &authFailureLog{
		report: report, now: time.Now, interval: AuthFailureInterval,
		burst: authFailureBurst, maxHosts: authFailureHosts, hosts: map[string]*hostFailures{},
	}
}

// failed records one failure and reports it unless the limits say to count it instead.
func (l *authFailureLog) failed(addr, method, reason string) {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	l.mu.Lock()
	now := l.now()
	if now.Sub(l.windowStart) >= l.interval {
		l.windowStart, l.windowLines = now, 0
	}
	st := l.hosts[host]
	if st == nil {
		if len(l.hosts) >= l.maxHosts {
			l.prune(now)
		}
		if len(l.hosts) >= l.maxHosts {
			l.other++
			l.mu.Unlock()
			return
		}
		st = &hostFailures{}
		l.hosts[host] = st
	}
	if now.Before(st.next) || l.windowLines >= l.burst {
		st.suppressed++
		l.mu.Unlock()
		return
	}
	f := AuthFailure{Peer: addr, Method: method, Reason: reason, Suppressed: st.suppressed, OtherSuppressed: l.other}
	st.next, st.suppressed, l.other = now.Add(l.interval), 0, 0
	l.windowLines++
	l.mu.Unlock()
	l.report(f)
}

// prune forgets hosts whose interval has passed, keeping their unreported count as other.
func (l *authFailureLog) prune(now time.Time) {
	for h, st := range l.hosts {
		if !now.Before(st.next) {
			l.other += st.suppressed
			delete(l.hosts, h)
		}
	}
}

// authPassedKey marks a request's context; the mark is set once authentication accepted it.
type authPassedKey struct{}

// authFailureReason names why SpiceDB's preshared-key authentication refused a request, from
// the status it returned (whose text never holds the key); "" when err is not a refusal.
func authFailureReason(err error) string {
	st, ok := status.FromError(err)
	switch {
	case !ok:
		return ""
	case st.Code() != codes.Unauthenticated:
		return ""
	case st.Message() == msgUnknownKey:
		return "wrong key"
	case strings.Contains(strings.ToLower(st.Message()), "bad authorization string"):
		return "malformed authorization header"
	}
	return "no bearer key"
}

func (l *authFailureLog) observe(ctx context.Context, method string, err error) {
	if err == nil || *ctx.Value(authPassedKey{}).(*bool) {
		return
	}
	reason := authFailureReason(err)
	if reason == "" {
		return
	}
	addr := "unknown"
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	l.failed(addr, method, reason)
}

func (l *authFailureLog) unaryBefore(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx = context.WithValue(ctx, authPassedKey{}, new(bool))
	resp, err := handler(ctx, req)
	l.observe(ctx, info.FullMethod, err)
	return resp, err
}

func (l *authFailureLog) streamBefore(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := context.WithValue(ss.Context(), authPassedKey{}, new(bool))
	err := handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	l.observe(ctx, info.FullMethod, err)
	return err
}

func unaryAuthPassed(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	markAuthPassed(ctx)
	return handler(ctx, req)
}

func streamAuthPassed(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	markAuthPassed(ss.Context())
	return handler(srv, ss)
}

func markAuthPassed(ctx context.Context) {
	if passed, ok := ctx.Value(authPassedKey{}).(*bool); ok {
		*passed = true
	}
}

// contextStream is a server stream with another context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// serverOptions places the log around SpiceDB's authentication: one interceptor before it
// (which sees the outcome) and one right after it (which marks the request as accepted, so an
// error from a handler is never taken for a refused key).
func (l *authFailureLog) serverOptions() []server.ConfigOption {
	const before, after = "accessgraph-auth-failure-log", "accessgraph-auth-passed"
	return []server.ConfigOption{
		server.WithUnaryMiddlewareModification(beforeAuth(before, grpc.UnaryServerInterceptor(l.unaryBefore))),
		server.WithStreamingMiddlewareModification(beforeAuth(before, grpc.StreamServerInterceptor(l.streamBefore))),
		server.WithUnaryMiddlewareModification(afterAuth(after, grpc.UnaryServerInterceptor(unaryAuthPassed))),
		server.WithStreamingMiddlewareModification(afterAuth(after, grpc.StreamServerInterceptor(streamAuthPassed))),
	}
}

// beforeAuth places one of our interceptors right before SpiceDB's authentication.
func beforeAuth[T grpc.UnaryServerInterceptor | grpc.StreamServerInterceptor](name string, middleware T) server.MiddlewareModification[T] {
	return server.MiddlewareModification[T]{
		DependencyMiddlewareName: server.DefaultMiddlewareGRPCAuth,
		Operation:                server.OperationPrepend,
		Middlewares:              []server.ReferenceableMiddleware[T]{{Name: name, Middleware: middleware}},
	}
}

// AuthFailureLimiter rate-limits reports of refused authentications with the raw API's
// limits, for another listener of the same server (the domain API).
type AuthFailureLimiter struct{ log *authFailureLog }

// NewAuthFailureLimiter returns a limiter that passes report at most one failure per client
// host per AuthFailureInterval (and a small burst overall), counting the rest.
func NewAuthFailureLimiter(report func(AuthFailure)) *AuthFailureLimiter {
	return &AuthFailureLimiter{log: newAuthFailureLog(report)}
}

// Failed records one refused authentication from addr (host:port) calling method.
func (a *AuthFailureLimiter) Failed(addr, method, reason string) { a.log.failed(addr, method, reason) }
