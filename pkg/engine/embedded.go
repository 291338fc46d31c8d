package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"

	"github.com/authzed/grpcutil"
	datastorecfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"github.com/authzed/spicedb/pkg/datastore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/accessgraph/accessgraph/pkg/localstore"
	"github.com/accessgraph/accessgraph/pkg/principal"
	"github.com/accessgraph/accessgraph/pkg/principal/keys"
	"github.com/accessgraph/accessgraph/pkg/reach"
)

// EmbeddedConfig configures a SpiceDB server running inside this process.
// The zero value runs the memory datastore, reachable only in process.
type EmbeddedConfig struct {
	// DatastoreURI selects the datastore. Empty means the memory datastore (not durable).
	// file:DIR selects the durable local datastore in directory DIR (pkg/localstore).
	// postgres:// or postgresql:// selects PostgreSQL; cockroachdb:// selects CockroachDB
	// (the scheme is rewritten to postgresql:// for the driver). The database is migrated
	// to SpiceDB's head revision before serving.
	DatastoreURI string

	// ListenAddress, when set (for example "127.0.0.1:50051"; port 0 picks a free port, which
	// Target reports), also serves the standard SpiceDB gRPC API on TCP so any SpiceDB client
	// can connect. Empty serves in process only.
	ListenAddress string

	// PresharedKey is an operator key (principal ServeKeyName in the key registry). When
	// empty a random key is generated; PresharedKey reports the one in use. Other keys are
	// made with the registry (Registry, accessctl key). A key shorter than MinKeyLength characters is
	// refused (ErrWeakKey).
	PresharedKey string

	// TLSCertPath and TLSKeyPath, when both set, serve the TCP listener over TLS.
	TLSCertPath string
	TLSKeyPath  string

	// OnAuthFailure, when set, is told of requests refused for a missing, malformed or wrong
	// key, with the client's address and the method, never the key; reports are rate-limited
	// to one per client host per AuthFailureInterval and ten per interval overall, the
	// failures in between counted in the next report.
	OnAuthFailure func(AuthFailure)

	// MetricsAddress, when set, serves Prometheus metrics there. Empty disables them.
	MetricsAddress string

	// RevisionQuantization bounds how stale "fastest" reads may be. Zero means
	// DefaultRevisionQuantization.
	RevisionQuantization time.Duration

	// GCWindow is how long the datastore keeps old revisions and its change stream (Watch);
	// zero means the datastore's default (24 hours). The durable audit log is not bound by
	// it; tests shorten it to prove so.
	GCWindow time.Duration

	// ExpirySweepInterval is how often grants with an expiry are rescanned; zero means 30s.
	ExpirySweepInterval time.Duration

	// StartTimeout bounds how long to wait for the server to become ready; zero means 60s.
	StartTimeout time.Duration

	// Logger receives the local datastore's log (its storage engine's errors, damaged
	// data, stalls; routine messages at debug level). Nil logs nothing.
	Logger *zap.Logger

	// FullRelationCache turns on SpiceDB's experimental full relation cache (whole
	// object#relation sets cached per revision). Off by default: see docs/performance.md.
	FullRelationCache bool

	// DispatchConcurrency bounds how many sub-problems of one check or lookup SpiceDB works
	// on at once (each in its own goroutine); zero means DefaultDispatchConcurrency. At
	// least 2: an exclusion needs one for its base set and one for what it removes.
	DispatchConcurrency uint16

	// DispatchChunkSize is how many object ids one dispatched sub-problem carries, and the
	// most ids one datastore query filters on; zero means SpiceDB's default of 100.
	DispatchChunkSize uint16

	// StreamTimeout ends a streaming call that has sent nothing back for this long (an
	// import sends nothing until its client closes it); zero means DefaultStreamTimeout.
	StreamTimeout time.Duration

	// LookupResourcesV3 answers LookupResources with SpiceDB's experimental third lookup
	// implementation instead of its default; off by default, measured in docs/performance.md.
	LookupResourcesV3 bool

	// QueryPlan routes the named operations ("check", "lr", "ls") through SpiceDB's
	// experimental query plan engine; empty by default, measured in docs/performance.md.
	QueryPlan []string

	// NoReachIndex turns off the case reachability index (pkg/reach), which answers case
	// listings and a user's checks on a case (view and group view) on the local and memory
	// datastores; they then ask SpiceDB.
	NoReachIndex bool

	// noBulkGate turns off the bulk check gate (fairness.go), so a benchmark can show what
	// it changes.
	noBulkGate bool

	// unobservedWrites turns off the server-side write observer, so tests can make the
	// reaper late on purpose.
	unobservedWrites bool

	// Request limits. Zero means the matching DefaultMax... constant; a request over a
	// limit is refused with a gRPC error naming it, and writes nothing.

	// MaxRequestBytes bounds one request message, or one streamed message (at most 4 MiB).
	MaxRequestBytes int
	// MaxUpdatesPerWrite bounds the relationship updates of one WriteRelationships.
	MaxUpdatesPerWrite int
	// MaxPreconditions bounds the preconditions of one write.
	MaxPreconditions int
	// MaxLookupResourcesLimit bounds the page size (limit) of LookupResources.
	MaxLookupResourcesLimit int
	// MaxReadRelationshipsLimit bounds the page size (limit) of ReadRelationships.
	MaxReadRelationshipsLimit int
	// MaxCaveatContextBytes bounds the caveat context sent with a check.
	MaxCaveatContextBytes int
	// MaxBulkCheckItems bounds the items of one CheckBulkPermissions (at most 10,000).
	MaxBulkCheckItems int
	// MaxExportLimit bounds the page size of ExportBulkRelationships (also the page an
	// export that asks for none gets).
	MaxExportLimit int
}

// DefaultStreamTimeout is how long a streaming call may send nothing back before the
// server ends it (SpiceDB's default).
const DefaultStreamTimeout = 30 * time.Second

// DefaultDispatchConcurrency is the dispatch concurrency when none is given: the number of
// CPUs, at least 2 and at most SpiceDB's own default of 50. On 2 CPUs it spends 17-30 % less
// CPU per uncached check than 50 (docs/performance.md): more goroutines than CPUs only add
// scheduling, stack growth and work a short-circuited union throws away.
func DefaultDispatchConcurrency() uint16 {
	return uint16(min(max(runtime.GOMAXPROCS(0), 2), 50)) //nolint:gosec // bounded to 2..50
}

// DefaultRevisionQuantization is how far "fastest" reads may lag (SpiceDB's default is 5 s).
// It is short so that such reads, too, stop seeing an expired grant within
// ExpiryOvershootBound: the reaper's deletion is a new revision, and a quantized revision
// reaches it at most this long after it is written.
const DefaultRevisionQuantization = 500 * time.Millisecond

// revisionStalenessPercent is how far past its end, in percent of the quantization, SpiceDB
// may still serve the previous quantized revision, so that reads at a boundary do not all
// recompute it at once (memory, PostgreSQL, CockroachDB; the local datastore has no such
// allowance). It is SpiceDB's default, set here so that DefaultReadLag owns it.
const revisionStalenessPercent = 10

// DefaultReadLag is how long after a write is acknowledged a read that holds no token for it
// ("fastest", or any read of another client's write) may still miss it, at the default
// quantization: the quantization and SpiceDB's staleness allowance.
const DefaultReadLag = DefaultRevisionQuantization * (100 + revisionStalenessPercent) / 100

// ErrDatastoreUnavailable reports a datastore that cannot be reached or used.
var ErrDatastoreUnavailable = errors.New("datastore unavailable")

// Embedded is an Engine whose SpiceDB server runs in this process.
type Embedded struct {
	*Engine
	presharedKey string
	registry     *keys.Registry
	datastore    datastore.Datastore
	gate         *bulkGate
	warnings     []string
}

// Warnings lists problems found at start-up that do not stop the server, such as database
// settings that disable change history. Each names its fix.
func (e *Embedded) Warnings() []string { return e.warnings }

// LocalStore is the local datastore the server runs on, or nil on any other datastore.
func (e *Embedded) LocalStore() *localstore.Datastore {
	ds, _ := e.datastore.(*localstore.Datastore)
	return ds
}

// ServeKeyName names the operator principal whose key is the server's preshared key
// (EmbeddedConfig.PresharedKey, or the one generated): starting with another key replaces
// the previous one; keys made with the registry are kept.
const ServeKeyName = "serve"

// PresharedKey is the server's own operator key (principal ServeKeyName), a bearer token
// clients may present.
func (e *Embedded) PresharedKey() string { return e.presharedKey }

// Registry is the server's principal registry, on the engine's own connection: the one
// place credentials are made, listed and revoked.
func (e *Embedded) Registry() *keys.Registry { return e.registry }

// Ready reports whether the datastore is ready to serve, with the reason when it is not.
func (e *Embedded) Ready(ctx context.Context) (bool, string, error) {
	state, err := e.datastore.ReadyState(ctx)
	if err != nil {
		return false, "", err
	}
	return state.IsReady, state.Message, nil
}

// DatastoreEngine parses a datastore URI into SpiceDB's engine name and the URI the driver takes.
func DatastoreEngine(uri string) (engineName, driverURI string, err error) {
	switch {
	case uri == "" || uri == "memory" || uri == "memory://":
		return datastorecfg.MemoryEngine, "", nil
	case strings.HasPrefix(uri, "postgres://"), strings.HasPrefix(uri, "postgresql://"):
		return datastorecfg.PostgresEngine, uri, nil
	case strings.HasPrefix(uri, "cockroachdb://"):
		return datastorecfg.CockroachEngine, "postgresql://" + strings.TrimPrefix(uri, "cockroachdb://"), nil
	case strings.HasPrefix(uri, "crdb://"):
		return datastorecfg.CockroachEngine, "postgresql://" + strings.TrimPrefix(uri, "crdb://"), nil
	case strings.HasPrefix(uri, "file:"):
		dir, err := localDir(uri)
		return LocalEngine, dir, err
	}
	return "", "", fmt.Errorf("unknown datastore %q: use file:DIR (durable, in this process), memory, postgres://USER@HOST:PORT/DB or cockroachdb://USER@HOST:PORT/DB", redactURI(uri))
}

// StartEmbedded starts SpiceDB in this process, waits until it serves, and writes the
// accessgraph schema. Telemetry is always off; metrics are off unless MetricsAddress is set.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	engineName, driverURI, err := DatastoreEngine(cfg.DatastoreURI)
	if err != nil {
		return nil, err
	}
	if cfg.RevisionQuantization == 0 {
		cfg.RevisionQuantization = DefaultRevisionQuantization
	}
	key := cfg.PresharedKey
	if key == "" {
		key, err = GenerateKey()
		if err != nil {
			return nil, err
		}
	}
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	// Configuration is checked before anything touches the datastore (no migration, no
	// directory created for a server that cannot start).
	limits, err := cfg.Limits()
	if err == nil && cfg.DispatchConcurrency == 1 {
		err = fmt.Errorf("dispatch concurrency 1 is too low: an exclusion needs 2 (its base set and what it removes); use 2 or more, or 0 for the default (the number of CPUs, at least 2)")
	}
	for _, op := range cfg.QueryPlan {
		if err == nil && op != "check" && op != "lr" && op != "ls" {
			err = fmt.Errorf("query plan operation %q is unknown: use check, lr (LookupResources) or ls (LookupSubjects)", op)
		}
	}
	if err == nil && cfg.StreamTimeout < 0 {
		err = fmt.Errorf("stream timeout %s is negative: give how long a stream may send nothing back, or 0 for the default (%s)", cfg.StreamTimeout, DefaultStreamTimeout)
	}
	if err == nil {
		err = CheckTLSFiles(cfg.TLSCertPath, cfg.TLSKeyPath)
	}
	if err != nil {
		return nil, err
	}
	if cfg.ListenAddress != "" {
		host, port, err := net.SplitHostPort(cfg.ListenAddress)
		if err != nil {
			return nil, fmt.Errorf("invalid listen address %q: %w", cfg.ListenAddress, err)
		}
		// Port 0 is resolved here, so Target reports the port clients must dial.
		if port == "0" {
			if cfg.ListenAddress, err = freePort(host); err != nil {
				return nil, err
			}
		}
	}
	var warnings []string
	switch engineName {
	case datastorecfg.PostgresEngine:
		if warnings, err = postgresWarnings(ctx, driverURI); err != nil {
			return nil, err
		}
		fallthrough
	case datastorecfg.CockroachEngine:
		if err := Migrate(ctx, cfg.DatastoreURI); err != nil {
			return nil, err
		}
	}

	ds, err := openDatastore(ctx, engineName, driverURI, cfg)
	if err != nil {
		return nil, err
	}

	grpcCfg := util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}
	target := ""
	if cfg.ListenAddress != "" {
		grpcCfg = util.GRPCServerConfig{
			Address: cfg.ListenAddress, Network: "tcp", Enabled: true,
			TLSCertPath: cfg.TLSCertPath, TLSKeyPath: cfg.TLSKeyPath,
		}
		target = cfg.ListenAddress
	}
	metrics := util.HTTPServerConfig{HTTPEnabled: false}
	if cfg.MetricsAddress != "" {
		metrics = util.HTTPServerConfig{HTTPAddress: cfg.MetricsAddress, HTTPEnabled: true}
	}

	internalSecret, err := GenerateKey()
	if err != nil {
		_ = ds.Close()
		return nil, err
	}
	auth := &authenticator{internalSecret: internalSecret}
	opts := []server.ConfigOption{
		server.WithDatastore(ds),
		server.WithGRPCServer(grpcCfg),
		server.WithGRPCAuthFunc(auth.authFunc),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(metrics),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithSilentlyDisableTelemetry(true),
		server.WithTelemetryEndpoint(""),
		server.WithDispatchMaxDepth(50),
		server.WithDispatchClientMetricsEnabled(false),
		server.WithDispatchClusterMetricsEnabled(false),
		server.WithDisableGRPCLatencyHistogram(true),
		server.WithEnableRelationshipExpiration(true),
		server.WithNamespaceCacheConfig(server.CacheConfig{Name: "namespace", Enabled: true, MaxCost: "32MiB"}),
		server.WithDispatchCacheConfig(server.CacheConfig{Name: "dispatch", Enabled: true, MaxCost: "30%"}),
		server.WithClusterDispatchCacheConfig(server.CacheConfig{Name: "cluster_dispatch", Enabled: true, MaxCost: "70%"}),
	}
	opts = append(opts, limits.serverOptions()...)
	opts = append(opts, guard{}.serverOptions()...)
	gate := newBulkGate()
	if !cfg.noBulkGate {
		opts = append(opts, gate.serverOptions()...)
	}
	if cfg.OnAuthFailure != nil {
		opts = append(opts, newAuthFailureLog(cfg.OnAuthFailure).serverOptions()...)
	}
	opts = append(opts, server.WithStreamingAPITimeout(cmp.Or(cfg.StreamTimeout, DefaultStreamTimeout)))
	opts = append(opts, server.WithGlobalDispatchConcurrencyLimit(cmp.Or(cfg.DispatchConcurrency, DefaultDispatchConcurrency())))
	if cfg.DispatchChunkSize != 0 {
		opts = append(opts, server.WithDispatchChunkSize(cfg.DispatchChunkSize))
	}
	if cfg.LookupResourcesV3 {
		opts = append(opts, server.WithExperimentalLookupResourcesVersion("lr3"))
	}
	if len(cfg.QueryPlan) > 0 {
		opts = append(opts, server.SetExperimentalQueryPlan(cfg.QueryPlan))
	}
	if cfg.FullRelationCache {
		opts = append(opts,
			server.WithExperimentalFullRelationCache(string(server.FullRelationCacheEnabled)),
			server.WithFullRelationCacheConfig(server.CacheConfig{Name: "full_relation", Enabled: true, MaxCost: "10%"}),
		)
	}
	observer := &writeObserver{}
	if !cfg.unobservedWrites {
		opts = append(opts,
			// After authentication, so only accepted writes are seen.
			server.WithUnaryMiddlewareModification(afterAuth("accessgraph-observe-expiring-writes", grpc.UnaryServerInterceptor(observer.unary))),
			server.WithStreamingMiddlewareModification(afterAuth("accessgraph-observe-expiring-writes", grpc.StreamServerInterceptor(observer.stream))),
		)
	}
	reportSpiceDBVersion()
	srvCfg := server.NewConfigWithOptionsAndDefaults(opts...)
	runnable, err := srvCfg.Complete(ctx)
	if err != nil {
		_ = ds.Close()
		return nil, fmt.Errorf("configuring the embedded SpiceDB server: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- runnable.Run(runCtx) }()

	// The engine's own connection authenticates with a secret that never leaves this
	// process; only on it does the server trust a principal passed in request metadata.
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(internalSecret)}
	if cfg.TLSCertPath != "" && target != "" {
		tlsOpt, terr := grpcutil.WithCustomCerts(grpcutil.SkipVerifyCA, cfg.TLSCertPath)
		if terr != nil {
			cancel()
			return nil, fmt.Errorf("loading TLS certificate for the local client: %w", terr)
		}
		dialOpts = []grpc.DialOption{tlsOpt, grpcutil.WithBearerToken(internalSecret)}
	}
	dialOpts = append(dialOpts, grpc.WithChainUnaryInterceptor(principalUnary), grpc.WithChainStreamInterceptor(principalStream))
	conn, err := runnable.NewClient(dialOpts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connecting to the embedded SpiceDB server: %w", err)
	}

	stop := func() error {
		cerr := conn.Close()
		cancel()
		select {
		case <-runErr:
		case <-time.After(10 * time.Second):
		}
		if derr := ds.Close(); derr != nil && cerr == nil {
			cerr = derr
		}
		return cerr
	}

	gate.client.Store(v1.NewPermissionsServiceClient(conn))
	registry := keys.New(v1.NewPermissionsServiceClient(conn))
	auth.registry.Store(registry)
	kind := engineName
	e := &Embedded{
		Engine: &Engine{
			conn:     conn,
			internal: true,
			kind:     kind,
			target:   target,
			tokens:   newTokenTracker(ds),
			closeFn:  stop,
		},
		presharedKey: key,
		registry:     registry,
		datastore:    ds,
		gate:         gate,
		warnings:     warnings,
	}
	observer.tokens.Store(e.tokens)
	registry.ReadWith(func() *v1.Consistency { return e.Fresh(nil) })

	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := waitServing(ctx, conn, runErr, timeout); err != nil {
		_ = stop()
		return nil, err
	}
	if err := e.EnsureSchema(ctx); err != nil {
		_ = stop()
		return nil, err
	}
	if _, err := registry.Put(ctx, principal.Principal{Name: ServeKeyName, Kind: principal.Operator}, key); err != nil {
		_ = stop()
		return nil, fmt.Errorf("registering the server's operator key: %w", err)
	}
	e.reaper = startExpiryReaper(e.Engine, cfg.ExpirySweepInterval)
	observer.reaper.Store(e.reaper)
	// The index needs revisions it can order against the head: the local and memory
	// datastores number them in commit order; PostgreSQL's snapshots are only partly ordered.
	if !cfg.NoReachIndex && (engineName == LocalEngine || engineName == datastorecfg.MemoryEngine) {
		e.reach = reach.Start(e.Engine, cmp.Or(cfg.Logger, zap.NewNop()).Named("reach"))
	}
	return e, nil
}

func waitServing(ctx context.Context, conn *grpc.ClientConn, runErr <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	health := healthpb.NewHealthClient(conn)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := health.Check(cctx, &healthpb.HealthCheckRequest{Service: "authzed.api.v1.PermissionsService"})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case rerr := <-runErr:
			return fmt.Errorf("embedded SpiceDB server stopped while starting: %w", rerr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: the embedded server was not ready after %s (last health check: %v)", ErrDatastoreUnavailable, timeout, err)
		}
	}
}

// freePort returns host with a port that is free now.
func freePort(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("finding a free port on %q: %w", host, err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// redactURI hides the password of a datastore URI so it can appear in errors and logs.
func redactURI(uri string) string {
	at := strings.LastIndex(uri, "@")
	scheme := strings.Index(uri, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return uri
	}
	creds := uri[scheme+3 : at]
	if colon := strings.Index(creds, ":"); colon >= 0 {
		return uri[:scheme+3] + creds[:colon] + ":xxxxx" + uri[at:]
	}
	return uri
}

func redactErr(err error, uri string) string {
	msg := err.Error()
	if uri != "" {
		msg = strings.ReplaceAll(msg, uri, redactURI(uri))
	}
	return msg
}
