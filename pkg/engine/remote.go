package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// RemoteConfig configures a connection to a SpiceDB server run elsewhere.
type RemoteConfig struct {
	// Endpoint is the server's gRPC address, host:port. Required.
	Endpoint string
	// PresharedKey is the bearer token the server expects. Required.
	PresharedKey string
	// Insecure sends traffic in plaintext. It is for a server on this machine only;
	// TLS with the system's certificate authorities is the default.
	Insecure bool
	// CACertPath, when set, trusts this certificate authority instead of the system's.
	CACertPath string
	// SkipSchema leaves the stored schema alone instead of writing accessgraph's.
	SkipSchema bool
	// SweepExpiries runs the expiry reaper (see ExpiryLead) in this client. Turn it on in a
	// long-running service that talks to a plain SpiceDB; accessctl serve runs its own, so its
	// clients leave it off.
	SweepExpiries bool
	// DialOptions are added to the connection's options, for example client interceptors
	// for tracing or metrics.
	DialOptions []grpc.DialOption
}

// ErrNoEndpoint reports a remote connection asked for without an address.
var ErrNoEndpoint = errors.New("no SpiceDB endpoint given")

// Dial connects to a remote SpiceDB and, unless told not to, writes the accessgraph schema.
// TLS is the default: plaintext needs RemoteConfig.Insecure.
func Dial(ctx context.Context, cfg RemoteConfig) (*Engine, error) {
	if cfg.Endpoint == "" {
		return nil, ErrNoEndpoint
	}
	if cfg.PresharedKey == "" {
		return nil, fmt.Errorf("connecting to %s: no preshared key given", cfg.Endpoint)
	}
	var opts []grpc.DialOption
	switch {
	case cfg.Insecure:
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(cfg.PresharedKey))
	case cfg.CACertPath != "":
		tlsOpt, err := grpcutil.WithCustomCerts(grpcutil.VerifyCA, cfg.CACertPath)
		if err != nil {
			return nil, fmt.Errorf("loading CA certificate %s: %w", cfg.CACertPath, err)
		}
		opts = append(opts, tlsOpt, grpcutil.WithBearerToken(cfg.PresharedKey))
	default:
		tlsOpt, err := grpcutil.WithSystemCerts(grpcutil.VerifyCA)
		if err != nil {
			return nil, fmt.Errorf("loading system certificates: %w", err)
		}
		opts = append(opts, tlsOpt, grpcutil.WithBearerToken(cfg.PresharedKey))
	}
	conn, err := grpc.NewClient(cfg.Endpoint, append(opts, cfg.DialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Endpoint, err)
	}
	e := &Engine{conn: conn, kind: "remote", target: cfg.Endpoint, tokens: newTokenTracker(nil), closeFn: conn.Close}
	if !cfg.SkipSchema {
		if err := e.EnsureSchema(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("preparing %s: %w", cfg.Endpoint, err)
		}
	}
	if cfg.SweepExpiries {
		e.reaper = startExpiryReaper(e, 0)
	}
	return e, nil
}
