package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/accessgraph/accessgraph/pkg/access"
	"github.com/accessgraph/accessgraph/pkg/api"
	"github.com/accessgraph/accessgraph/pkg/audit"
	"github.com/accessgraph/accessgraph/pkg/auditlog"
	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/console"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// DefaultAPIAddr is where serve serves the domain API (pkg/api) unless told otherwise; with
// --addr on port 0 (any free port) and no --api-addr, the API takes any free port too.
const DefaultAPIAddr = "127.0.0.1:50052"

// APIOptions are serve's flags for the domain API.
type APIOptions struct {
	// Addr is the listen address, or "off"; empty means DefaultAPIAddr, or any free port
	// on its host when the engine's --addr has port 0.
	Addr string
	// PlaintextRemote allows plain HTTP on an address that is not loopback.
	PlaintextRemote bool
	// Console serves the access console (pkg/console) at / on the API's listener.
	Console bool
}

func (a *APIOptions) bind(fl *pflag.FlagSet) {
	fl.StringVar(&a.Addr, "api-addr", "", "listen address of the domain API (gRPC, gRPC-Web, HTTP/JSON; docs/api.md), or off (default "+DefaultAPIAddr+"; any free port when --addr has port 0)")
	fl.BoolVar(&a.PlaintextRemote, "api-plaintext", false, "allow the domain API on a non-loopback address without --tls-cert (keys and data unencrypted)")
	fl.BoolVar(&a.Console, "console", true, "serve the access console (web pages for admins and auditors, docs/console.md) at / on the domain API's address")
}

// listen checks the flags and takes the API's address before anything starts, so a bad or
// taken address fails at once; nil (and no error) when the API is off.
func (a *APIOptions) listen(engineAddr string, tls bool) (net.Listener, error) {
	if a.Addr == "off" {
		return nil, nil
	}
	addr := a.Addr
	if addr == "" {
		addr = DefaultAPIAddr
		if _, port, err := net.SplitHostPort(engineAddr); err == nil && port == "0" {
			addr = "127.0.0.1:0"
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, cmdutil.Usagef("--api-addr %q: %v", a.Addr, err)
	}
	if !tls && !IsLoopback(host) && !a.PlaintextRemote {
		return nil, cmdutil.Usagef("refusing to serve the domain API in plain HTTP on %s, which is not loopback: pass --tls-cert and --tls-key (or --api-plaintext on a trusted network, or --api-addr off)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if addrError(addr, err) != nil {
			return nil, fmt.Errorf("cannot serve the domain API on %s: something else is already listening there: pass --api-addr HOST:PORT (port 0 for any free port) or --api-addr off", addr)
		}
		return nil, fmt.Errorf("serving the domain API: %w", err)
	}
	return ln, nil
}

// serveAPI serves the domain API on ln from a domain layer on the engine's own connection.
// Keys are resolved by the server's key registry, the same one that guards the raw API, so a
// revoked key stops working on both at once. Refused keys are logged like the raw API's
// (rate-limited, never the key). It returns the function that stops it.
func serveAPI(ln net.Listener, emb *engine.Embedded, auditLog auditlog.Log, o *Options, log *zap.Logger) (func(), error) {
	c := access.New(emb.Engine)
	refused := engine.NewAuthFailureLimiter(logAuthFailure(log.Named("api")))
	auditOpts := []audit.Option{audit.WithClock(o.Factory.Now)}
	var past api.PastGraphs
	if auditLog != nil {
		// History reaches back past the change stream's window, and questions may be asked
		// as of a past time.
		auditOpts = append(auditOpts, audit.WithDurableLog(auditLog))
		past = api.RebuiltFrom(auditLog)
	}
	h, err := api.Handler(api.Options{
		Past:     past,
		Access:   c,
		Audit:    audit.New(c, auditOpts...),
		Resolver: emb.Registry(),
		OnAuthFailure: func(f api.AuthFailure) {
			refused.Failed(f.Peer, f.Procedure, f.Reason)
		},
	})
	if err != nil {
		return nil, err
	}
	if o.API.Console {
		if h, err = console.Handler(console.Options{API: h}); err != nil {
			return nil, err
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(log.Named("api"))}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	tls := o.TLSCert != ""
	if !tls {
		srv.Protocols.SetUnencryptedHTTP2(true) // gRPC in plain HTTP/2 (h2c), loopback only unless --api-plaintext
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var err error
		if tls {
			err = srv.ServeTLS(ln, o.TLSCert, o.TLSKey)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the domain API stopped", zap.Error(err))
		}
	}()
	scheme := "http"
	if tls {
		scheme = "https"
	}
	log.Info("serving the domain API", zap.String("url", scheme+"://"+connectable(ln.Addr().String())), zap.Bool("tls", tls))
	if o.API.Console {
		log.Info("serving the access console", zap.String("url", scheme+"://"+connectable(ln.Addr().String())+"/"))
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
