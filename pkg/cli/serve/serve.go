// Package serve holds `accessctl serve`: a SpiceDB server with the accessgraph schema,
// running in this process, and the local connection profile other commands use.
package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/iostreams"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/demo"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// DefaultAddr is where serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:50051"

// Options are the inputs of `accessctl serve`.
type Options struct {
	Factory   *factory.Factory
	Addr      string
	Datastore string
	DataDir   string
	TLSCert   string
	TLSKey    string
	Demo      bool
	LogLevel  string
	// NoAuditLog turns off copying the change stream into the durable audit log.
	NoAuditLog bool
	// CheckpointEvery is how often the audit log's head is logged (0: never).
	CheckpointEvery time.Duration
	// AuditRetention is how long audit log entries are kept (0: for good); see
	// auditlog.Prune.
	AuditRetention time.Duration
	// Limits are the request limits the server enforces.
	Limits Limits
	// API configures the domain API (api.go).
	API APIOptions
	// DispatchConcurrency bounds the sub-problems of one check or lookup worked on at once;
	// 0 picks engine.DefaultDispatchConcurrency.
	DispatchConcurrency uint16
	// StreamTimeout ends a streaming call that has sent nothing back for this long.
	StreamTimeout time.Duration
	// NoReachIndex turns off the case reachability index (case listings and checks then ask SpiceDB).
	NoReachIndex bool
}

// NewCmdServe builds `accessctl serve`.
func NewCmdServe(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--data-dir DIR | --datastore URI] [--demo]",
		Short: "Run an access server (SpiceDB with the accessgraph schema) in this process",
		Long: `Run SpiceDB with the accessgraph schema in this process, serving its standard gRPC API,
until SIGINT or SIGTERM.

By default relationships are kept durably in the local datastore, in the directory
--data-dir (default $ACCESSCTL_DATA_DIR, else $XDG_DATA_HOME/accessctl, else
~/.local/share/accessctl): every acknowledged change is on disk, and a restart serves
exactly what was acknowledged. One server at a time can use a directory.
--datastore memory keeps nothing (for throwaway demos and tests).
--datastore postgres://USER:PASS@HOST:PORT/DB or cockroachdb://... serves from a database,
migrated first.

Every change (with its actor, principal and reason) is also kept in a hash-chained audit
log, which outlives SpiceDB's 24-hour change history: in the data directory beside the
relationships, or in the database's audit_log table. History asked of the domain API reads
it (--no-audit-log turns it off). It is kept for good unless --audit-retention says how
long; older entries are then pruned, keeping the relationships they left (docs/auditing.md).

Clients authenticate with a key that proves a principal (operator, user, auditor or
service; docs/security.md). The server's own key (--token or ACCESSCTL_TOKEN, at least 16
characters; make one with: openssl rand -hex 24) is the operator principal "serve";
"accessctl key create" makes keys for everyone else, kept in the datastore. On a loopback
address a key is generated when none is given; any other address requires one, and should use --tls-cert and --tls-key
(PEM files, checked before anything starts). --addr with port 0 picks a free port. Refused
authentications are logged as warnings (client address, method, reason; never the key), at
most one line per client host every 10 seconds.

Requests are bounded (--max-request-bytes, --max-updates-per-write, --max-preconditions,
--max-bulk-check-items, --max-lookup-limit, --max-read-limit, --max-export-limit,
--max-caveat-context-bytes): one over a limit is refused with an error naming the limit and
its flag, and writes nothing. A large bulk check runs in pieces, at most one per core at a
time, so it does not hold up other clients.

The domain API (accessgraph.v1.AccessService and AuditService: gRPC, gRPC-Web and HTTP/JSON,
docs/api.md) is served on --api-addr (default 127.0.0.1:50052; any free port when --addr has
port 0 and --api-addr is not given; off turns it off), with TLS when --tls-cert and --tls-key
are given; plain HTTP on an address that is not loopback needs --api-plaintext. Calls
authenticate with "Authorization: Bearer KEY", resolved by the same key registry as the raw
API (the preshared key is an operator's; accessctl key create makes others).

Once serving, a connection profile (endpoint, key, transport) is written to
$ACCESSCTL_CONFIG_DIR/profile.json (else $XDG_CONFIG_HOME/accessctl, else
~/.config/accessctl), readable by its owner only, so other accessctl commands on this
machine connect with no flags. It is removed on clean shutdown if it still holds this
server's key. The key is never logged: it is shown on a terminal, and otherwise only
stored in the profile.

Logs go to standard error: human-readable on a terminal, JSON otherwise.`,
		Example: `  # the demo portal on 127.0.0.1:50051, kept in .data/demo (what "make run" does)
  $ accessctl serve --demo --data-dir .data/demo

  # a throwaway server: nothing is kept
  $ accessctl serve --datastore memory

  # durable, on PostgreSQL
  $ accessctl serve --datastore postgres://accessgraph:secret@localhost:5432/accessgraph

  # reachable from other machines: a key and TLS are required
  $ ACCESSCTL_TOKEN=$(openssl rand -hex 24) accessctl serve --addr 0.0.0.0:50051 --tls-cert server.crt --tls-key server.key`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runServe, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Addr, "addr", DefaultAddr, "gRPC listen address (port 0 picks a free port)")
	fl.StringVar(&o.DataDir, "data-dir", "", "directory of the local datastore (default $ACCESSCTL_DATA_DIR, else $XDG_DATA_HOME/accessctl, else ~/.local/share/accessctl)")
	fl.StringVar(&o.Datastore, "datastore", "", "instead of the local datastore: memory (not durable), file:DIR, postgres://... or cockroachdb://...")
	fl.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate file, PEM (with --tls-key)")
	fl.StringVar(&o.TLSKey, "tls-key", "", "TLS private key file, PEM (with --tls-cert)")
	fl.BoolVar(&o.Demo, "demo", false, "load the demo portal once serving (see examples/demo/README.md)")
	fl.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&o.NoAuditLog, "no-audit-log", false, "do not keep the change history in the durable audit log (the data directory's, or the database's audit_log table)")
	fl.DurationVar(&o.CheckpointEvery, "audit-checkpoint-every", time.Hour, "log the audit log's head (a checkpoint for history verify --checkpoint) this often; 0 never")
	fl.DurationVar(&o.AuditRetention, "audit-retention", 0, "keep audit log entries this long (e.g. 17520h for two years), then prune them, keeping the relationships they left; 0 keeps them for good")
	fl.Uint16Var(&o.DispatchConcurrency, "dispatch-concurrency", 0, "sub-problems of one check or lookup worked on at once (at least 2); 0 picks the number of CPUs, at least 2 and at most 50")
	fl.DurationVar(&o.StreamTimeout, "stream-timeout", engine.DefaultStreamTimeout, "end a streaming call that has sent nothing back for this long (an import through one stream sends nothing until it is closed)")
	fl.BoolVar(&o.NoReachIndex, "no-reach-index", false, "answer case listings and checks with SpiceDB instead of the case reachability index (local and memory datastores; docs/engine.md)")
	o.Limits.bind(fl)
	o.API.bind(fl)
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// EnvDataDir names the default directory of the local datastore.
const EnvDataDir = "ACCESSCTL_DATA_DIR"

// datastoreURI is the datastore to serve: --datastore, else the local datastore in
// --data-dir or its default.
func (o *Options) datastoreURI() (string, error) {
	if o.Datastore != "" {
		if o.DataDir != "" {
			return "", cmdutil.Usagef("--data-dir is the directory of the local datastore; it cannot be combined with --datastore %s (use --datastore file:DIR instead)", o.Datastore)
		}
		return o.Datastore, nil
	}
	dir, err := DataDir(o.DataDir, o.Factory.Getenv)
	if err != nil {
		return "", err
	}
	return engine.LocalURI(dir), nil
}

// DataDir resolves the local datastore's directory: flag, else $ACCESSCTL_DATA_DIR, else
// $XDG_DATA_HOME/accessctl, else $HOME/.local/share/accessctl.
func DataDir(flag string, getenv func(string) string) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case getenv(EnvDataDir) != "":
		return getenv(EnvDataDir), nil
	case getenv("XDG_DATA_HOME") != "":
		return filepath.Join(getenv("XDG_DATA_HOME"), "accessctl"), nil
	case getenv("HOME") != "":
		return filepath.Join(getenv("HOME"), ".local", "share", "accessctl"), nil
	}
	return "", cmdutil.Usagef("cannot place the local datastore: pass --data-dir, set %s or HOME, or use --datastore memory", EnvDataDir)
}

// IsLoopback reports whether host only accepts connections from this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runServe(ctx context.Context, o *Options) error {
	ios := o.Factory.IOStreams
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return cmdutil.Usagef("--addr %q: %v", o.Addr, err)
	}
	if o.AuditRetention < 0 {
		return cmdutil.Usagef("--audit-retention %s: give a positive duration, or 0 to keep the audit log for good", o.AuditRetention)
	}
	key, err := givenKey(o.Factory)
	if err != nil {
		return err
	}
	loopback := IsLoopback(host)
	if !loopback && key == "" {
		return cmdutil.Usagef("refusing to serve on %s without a preshared key: pass --token or set %s (a key is generated only for loopback addresses such as 127.0.0.1)", o.Addr, factory.EnvToken)
	}
	if err := checkTLS(o.TLSCert, o.TLSKey); err != nil {
		return err
	}
	if err := o.Limits.check(); err != nil {
		return err
	}
	apiListener, err := o.API.listen(o.Addr, o.TLSCert != "")
	if err != nil {
		return err
	}
	if apiListener != nil {
		defer apiListener.Close()
	}
	datastoreURI, err := o.datastoreURI()
	if err != nil {
		return err
	}
	engineName, dataDir, err := engine.DatastoreEngine(datastoreURI)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	// The log and the connection help share standard error from different goroutines (a
	// refused key is logged while the help is printed): one lock keeps their lines whole.
	ios.ErrOut = zapcore.Lock(zapcore.AddSync(ios.ErrOut))
	log, err := newLogger(ios, o.LogLevel, o.Factory.Getenv)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	addr := o.Addr
	if err := checkAddrFree(addr); err != nil {
		return err
	}
	generated := key == ""
	if generated {
		if key, err = engine.GenerateKey(); err != nil {
			return err
		}
	}
	tls := o.TLSCert != ""
	if engineName == "memory" {
		log.Warn("the memory datastore is not durable: every relationship is lost when this server stops; leave out --datastore to keep them in --data-dir")
	}
	if !loopback && !tls {
		log.Warn("serving plaintext on a non-loopback address: the preshared key and all data cross the network unencrypted; pass --tls-cert and --tls-key")
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := engine.EmbeddedConfig{
		DatastoreURI:  datastoreURI,
		ListenAddress: addr,
		PresharedKey:  key,
		TLSCertPath:   o.TLSCert,
		TLSKeyPath:    o.TLSKey,
		Logger:        log.Named("datastore"),

		DispatchConcurrency: o.DispatchConcurrency,
		StreamTimeout:       o.StreamTimeout,
		NoReachIndex:        o.NoReachIndex,
	}
	o.Limits.apply(&cfg)
	cfg.OnAuthFailure = logAuthFailure(log)
	fields := []zap.Field{zap.String("addr", addr), zap.String("datastore", engineName), zap.Bool("tls", tls), o.Limits.field(), zap.Uint16("dispatch_concurrency", cmp.Or(cfg.DispatchConcurrency, engine.DefaultDispatchConcurrency()))}
	if engineName == engine.LocalEngine {
		fields = append(fields, zap.String("data_dir", dataDir))
	}
	log.Info("starting the access server", fields...)
	emb, err := startInterruptibly(ctx, func() (*engine.Embedded, error) { return o.Factory.StartEmbedded(ctx, cfg) })
	if err != nil {
		if ctx.Err() != nil {
			log.Info("interrupted while starting")
			return nil
		}
		if inUse := addrError(addr, err); inUse != nil {
			return inUse
		}
		return fmt.Errorf("starting the access server: %w", err)
	}
	defer emb.Close()
	addr = emb.Target() // with port 0, the port the engine picked
	for _, w := range emb.Warnings() {
		log.Warn(w)
	}
	if engineName == engine.LocalEngine {
		defer startControl(ctx, dataDir, emb, o.Factory.Build.Version, log)()
	}
	var auditLog auditlog.Log
	if engineName != "memory" && !o.NoAuditLog {
		if auditLog, err = openAuditLog(ctx, emb, datastoreURI); err != nil {
			return err
		}
		defer auditLog.Close()
		stopAudit, err := startAuditLog(ctx, emb.Engine, auditLog, auditSchedule{checkpointEvery: o.CheckpointEvery, retention: o.AuditRetention}, log)
		if err != nil {
			return err
		}
		defer stopAudit()
	}

	if o.Demo {
		sum, err := demo.Load(ctx, access.New(emb.Engine), demo.Options{
			Now:      o.Factory.Now,
			Progress: func(story string) { log.Debug("loading demo story", zap.String("story", story)) },
		})
		switch {
		case errors.Is(err, demo.ErrNotEmpty):
			log.Info("demo not loaded again: the datastore already has data (delete the data directory to start over)")
		case err != nil:
			return fmt.Errorf("loading the demo: %w", err)
		default:
			log.Info("demo portal loaded", zap.Int("stories", sum.Stories), zap.Int("changes", sum.Changes))
		}
	}

	if apiListener != nil {
		stopAPI, err := serveAPI(apiListener, emb, auditLog, o, log)
		if err != nil {
			return err
		}
		defer stopAPI()
	}

	endpoint := connectable(addr)
	apiURL := ""
	if apiListener != nil {
		apiURL = "http://" + connectable(apiListener.Addr().String())
		if tls {
			apiURL = "https://" + connectable(apiListener.Addr().String())
		}
	}
	path, perr := profile.Path(o.Factory.Getenv)
	if perr == nil {
		caCert := ""
		if tls {
			caCert, _ = filepath.Abs(o.TLSCert)
		}
		perr = profile.Write(path, &profile.Profile{
			Endpoint:  endpoint,
			APIURL:    apiURL,
			Token:     key,
			Insecure:  !tls,
			CACert:    caCert,
			PID:       os.Getpid(),
			StartedAt: o.Factory.Now().UTC(),
		})
	}
	if perr != nil {
		log.Warn("connection profile not written; clients need --endpoint and --token", zap.Error(perr))
		path = ""
	}
	log.Info("serving", zap.String("endpoint", endpoint), zap.String("profile", path))
	printConnectHelp(ios, endpoint, key, generated, tls, path)

	<-ctx.Done()
	log.Info("stopping")
	if err := emb.Close(); err != nil {
		log.Warn("stopping the engine", zap.Error(err))
	}
	if path != "" {
		removed, err := profile.RemoveIfOwned(path, key)
		if err != nil {
			log.Warn("removing the connection profile", zap.Error(err))
		}
		log.Info("stopped", zap.Bool("profile_removed", removed))
	}
	return nil
}

// connectable turns a listen address into one a local client can dial.
func connectable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// printConnectHelp tells the person how to connect. It is not logged: the key is shown
// only when generated and standard error is a terminal.
func printConnectHelp(ios *iostreams.IOStreams, endpoint, key string, generated, tls bool, profilePath string) {
	w := ios.ErrOut
	transport := "plaintext"
	if tls {
		transport = "TLS"
	}
	fmt.Fprintf(w, "\naccessctl is serving on %s (%s)\n", endpoint, transport)
	switch {
	case generated && ios.IsStderrTTY():
		fmt.Fprintf(w, "  preshared key: %s (generated for this run)\n", key)
	case generated:
		fmt.Fprintf(w, "  preshared key: generated; stored in the connection profile, not printed (standard error is not a terminal)\n")
	default:
		fmt.Fprintf(w, "  preshared key: the one you gave\n")
	}
	if profilePath != "" {
		fmt.Fprintf(w, "  profile:       %s\n", profilePath)
	}
	insecure := ""
	if !tls {
		insecure = " --insecure"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nIn another terminal on this machine, commands connect through the profile:\n")
	fmt.Fprintf(&b, "  $ accessctl check user:bill view_all_cases account:acme\n")
	fmt.Fprintf(&b, "From elsewhere, or another user:\n")
	fmt.Fprintf(&b, "  $ accessctl --endpoint %s%s --token KEY member list account:acme --as user:bill\n", endpoint, insecure)
	fmt.Fprintf(&b, "Other SpiceDB clients (zed, authzed-go) read their own writes by passing the ZedToken a write\n")
	fmt.Fprintf(&b, "returns as at_least_as_fresh; their default, minimize_latency, may be up to %s stale (docs/api.md).\n", engine.DefaultReadLag)
	fmt.Fprintf(&b, "Stop with Ctrl-C.\n\n")
	fmt.Fprint(w, b.String())
}
