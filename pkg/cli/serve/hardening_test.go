package serve_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/internal/clitest"
	"github.com/accessgraph/accessgraph/pkg/cli/profile"
	"github.com/accessgraph/accessgraph/pkg/engine"
)

// secretKey is distinctive so that any leak of it is found.
const secretKey = "ag_S3CRET_serve_hardening_c0ffee"

var errFakeStart = errors.New("fake start: no server in this test")

// fakeStart records the configuration serve would start with, and starts nothing.
type fakeStart struct{ cfgs []engine.EmbeddedConfig }

func (s *fakeStart) options() clitest.Options {
	return clitest.Options{Factory: func(f *factory.Factory) {
		f.StartEmbedded = func(_ context.Context, cfg engine.EmbeddedConfig) (*engine.Embedded, error) {
			s.cfgs = append(s.cfgs, cfg)
			return nil, errFakeStart
		}
	}}
}

func offlineEnv(t *testing.T) *clitest.Env {
	t.Helper()
	env := clitest.Offline(t)
	env.Env["ACCESSCTL_CONFIG_DIR"] = t.TempDir()
	env.Env["ACCESSCTL_DATA_DIR"] = t.TempDir()
	return env
}

func TestServeKeyRuleByAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr    string
		key     string
		refused bool
	}{
		{"127.0.0.1:0", "", false},
		{"[::1]:0", "", false},
		{"localhost:0", "", false},
		{"0.0.0.0:0", "", true},
		{":50051", "", true},
		{"[::]:0", "", true},
		{"192.0.2.1:50051", "", true},
		{"example.com:50051", "", true},
		{"192.0.2.1:50051", secretKey, false},
		{"0.0.0.0:0", secretKey, false},
	} {
		env := offlineEnv(t)
		fake := &fakeStart{}
		args := []string{"serve", "--addr", tc.addr}
		if tc.key != "" {
			args = append(args, "--token", tc.key)
		}
		r := env.RunWith(fake.options(), args...)
		if tc.refused {
			want := "refusing to serve on " + tc.addr + " without a preshared key: pass --token or set ACCESSCTL_TOKEN"
			if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, want) || len(fake.cfgs) != 0 {
				t.Errorf("serve --addr %s without a key: code %d, starts %d, stderr %q; want a usage error %q and nothing started", tc.addr, r.Code, len(fake.cfgs), r.Stderr, want)
			}
			continue
		}
		if len(fake.cfgs) != 1 || !strings.Contains(r.Stderr, errFakeStart.Error()) {
			t.Errorf("serve --addr %s (key %v): code %d, stderr %q; want it to reach the start", tc.addr, tc.key != "", r.Code, r.Stderr)
			continue
		}
		if tc.key != "" && fake.cfgs[0].PresharedKey != tc.key {
			t.Errorf("serve --addr %s: started with another key than the one given", tc.addr)
		}
	}
}

func TestServeLimitFlags(t *testing.T) {
	t.Parallel()
	env := offlineEnv(t)
	fake := &fakeStart{}
	env.RunWith(fake.options(), "serve")
	env.RunWith(fake.options(), "serve", "--max-request-bytes", "65536", "--max-updates-per-write", "50",
		"--max-preconditions", "5", "--max-lookup-limit", "100", "--max-read-limit", "200", "--max-caveat-context-bytes", "512",
		"--max-bulk-check-items", "300", "--max-export-limit", "400")
	if len(fake.cfgs) != 2 {
		t.Fatalf("%d starts, want 2", len(fake.cfgs))
	}
	def, set := fake.cfgs[0], fake.cfgs[1]
	wantDef, _ := engine.EmbeddedConfig{}.Limits()
	if got, err := def.Limits(); err != nil || got != wantDef {
		t.Errorf("default flags give limits %+v, %v; want the engine's defaults %+v", got, err, wantDef)
	}
	wantSet := engine.Limits{MaxRequestBytes: 65536, MaxUpdatesPerWrite: 50, MaxPreconditions: 5, MaxLookupResourcesLimit: 100, MaxReadRelationshipsLimit: 200, MaxCaveatContextBytes: 512, MaxBulkCheckItems: 300, MaxExportLimit: 400}
	if got, err := set.Limits(); err != nil || got != wantSet {
		t.Errorf("limit flags give %+v, %v; want %+v", got, err, wantSet)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-request-bytes", "0"}, "--max-request-bytes 0: give a positive number (default 1048576)"},
		{[]string{"--max-request-bytes", "5000000"}, "--max-request-bytes 5000000 is out of range: use 1 to 4194304"},
		{[]string{"--max-updates-per-write", "70000"}, "--max-updates-per-write 70000 is out of range: use 1 to 65535"},
		{[]string{"--max-preconditions", "-1"}, "--max-preconditions -1: give a positive number"},
		{[]string{"--max-lookup-limit", "-3"}, "--max-lookup-limit -3: give a positive number"},
		{[]string{"--max-read-limit", "0"}, "--max-read-limit 0: give a positive number"},
		{[]string{"--max-caveat-context-bytes", "9999999"}, "--max-caveat-context-bytes 9999999 is out of range"},
		{[]string{"--max-bulk-check-items", "10001"}, "--max-bulk-check-items 10001 is out of range: use 1 to 10000 (SpiceDB's ceiling)"},
		{[]string{"--max-bulk-check-items", "0"}, "--max-bulk-check-items 0: give a positive number (default 1000)"},
		{[]string{"--max-export-limit", "-1"}, "--max-export-limit -1: give a positive number (default 10000)"},
		{[]string{"--max-read-limit", "lots"}, "invalid argument \"lots\" for \"--max-read-limit\""},
		{[]string{"--audit-retention", "-1h"}, "--audit-retention -1h0m0s: give a positive duration, or 0 to keep the audit log for good"},
		{[]string{"--audit-retention", "a year"}, "invalid argument \"a year\" for \"--audit-retention\""},
	} {
		fake := &fakeStart{}
		r := env.RunWith(fake.options(), append([]string{"serve"}, tc.args...)...)
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, tc.want) || len(fake.cfgs) != 0 {
			t.Errorf("serve %v: code %d, starts %d, stderr %q; want a usage error with %q", tc.args, r.Code, len(fake.cfgs), r.Stderr, tc.want)
		}
	}
}

func TestServeBadTLSFilesStartNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certPath, keyPath, _ := writeTestPKI(t, dir)
	missing := filepath.Join(dir, "missing.crt")
	env := offlineEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", missing, "--tls-key", keyPath}, "reading the TLS certificate file " + missing},
		{[]string{"--tls-cert", certPath, "--tls-key", missing}, "reading the TLS key file " + missing},
		{[]string{"--tls-cert", keyPath, "--tls-key", certPath}, "loading the TLS certificate " + keyPath},
		{[]string{"--tls-cert", certPath}, "--tls-cert and --tls-key go together"},
	} {
		fake := &fakeStart{}
		args := append([]string{"serve", "--addr", "0.0.0.0:0", "--token", secretKey}, tc.args...)
		r := env.RunWith(fake.options(), args...)
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Stderr, tc.want) || len(fake.cfgs) != 0 {
			t.Errorf("serve %v: code %d, starts %d, stderr %q; want a usage error with %q and nothing started", tc.args, r.Code, len(fake.cfgs), r.Stderr, tc.want)
		}
		if strings.Contains(r.Stderr+r.Stdout, secretKey) {
			t.Errorf("serve %v: the preshared key appears in the output", tc.args)
		}
	}
}

// TestServeNeverShowsTheKey serves with a given key and TLS, at debug level, on a terminal
// and piped, is refused by clients with a wrong key or no TLS, and checks that the key
// appears in no log line, message or error; then tries bad configurations with the key.
func TestServeNeverShowsTheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certPath, keyPath, caPath := writeTestPKI(t, dir)
	_, _, otherCA := writeTestPKI(t, t.TempDir())
	for _, tty := range []bool{false, true} {
		env := offlineEnv(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan clitest.Result, 1)
		go func() {
			done <- env.RunWith(clitest.Options{Ctx: ctx, TTY: tty}, "serve", "--addr", "127.0.0.1:0", "--token", secretKey,
				"--log-level", "debug", "--tls-cert", certPath, "--tls-key", keyPath)
		}()
		p := waitProfile(t, env, done)

		var clientOut []string
		// The right key over TLS through the profile works.
		r := env.Run("check", "user:bill", "view", "case:1")
		if r.Code != 0 || r.Stdout != "denied\n" {
			t.Errorf("client through the TLS profile: code %d, stderr %q", r.Code, r.Stderr)
		}
		for _, args := range [][]string{
			{"--endpoint", p.Endpoint, "--ca-cert", caPath, "--token", "ag_wrong_key", "check", "user:bill", "view", "case:1"},
			{"--endpoint", p.Endpoint, "--insecure", "--token", secretKey, "check", "user:bill", "view", "case:1"},
			{"--endpoint", p.Endpoint, "--ca-cert", otherCA, "--token", secretKey, "check", "user:bill", "view", "case:1"},
		} {
			r := env.Run(args...)
			if r.Code != cmdutil.ExitError {
				t.Errorf("accessctl %v: code %d, want 1 (refused); stderr %q", args, r.Code, r.Stderr)
			}
			clientOut = append(clientOut, r.Stdout, r.Stderr)
		}
		cancel()
		res := <-done
		if res.Code != 0 {
			t.Errorf("serve (tty %v): code %d, stderr %q", tty, res.Code, res.Stderr)
		}
		if !strings.Contains(res.Stderr, "preshared key: the one you gave") || !strings.Contains(res.Stderr, "(TLS)") {
			t.Errorf("serve (tty %v) did not report its key source and transport:\n%s", tty, res.Stderr)
		}
		for _, out := range append(clientOut, res.Stdout, res.Stderr) {
			if strings.Contains(out, secretKey) {
				t.Errorf("serve (tty %v): the preshared key appears in the output:\n%s", tty, out)
			}
		}
	}

	env := offlineEnv(t)
	for _, bad := range [][]string{
		{"--datastore", "mysql://root:" + "pw@db/x"},
		{"--addr", "nonsense"},
		{"--log-level", "loud"},
		{"--max-request-bytes", "-1"},
		{"--tls-cert", filepath.Join(dir, "missing.crt"), "--tls-key", keyPath},
		{"--addr", "127.0.0.1:1", "--datastore", "postgres://u@127.0.0.1:1/db?connect_timeout=1"},
	} {
		r := env.Run(append([]string{"serve", "--token", secretKey}, bad...)...)
		if r.Code == 0 {
			t.Errorf("serve %v succeeded, want an error", bad)
		}
		if strings.Contains(r.Stderr+r.Stdout, secretKey) || (r.Err != nil && strings.Contains(r.Err.Error(), secretKey)) {
			t.Errorf("serve %v: the preshared key appears in the output or error:\n%s", bad, r.Stderr)
		}
	}
}

// waitProfile waits for serve to write its profile, failing if it stops first.
func waitProfile(t *testing.T, env *clitest.Env, done <-chan clitest.Result) *profile.Profile {
	t.Helper()
	path := filepath.Join(env.Env["ACCESSCTL_CONFIG_DIR"], profile.FileName)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p, err := profile.Read(path); err == nil {
			return p
		}
		select {
		case r := <-done:
			t.Fatalf("serve stopped early: code %d, stderr:\n%s", r.Code, r.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no profile after 60s")
		}
	}
}

// writeTestPKI writes a CA and a server certificate for 127.0.0.1 and localhost signed by
// it, and returns the paths of the server certificate, its key and the CA certificate.
func writeTestPKI(t *testing.T, dir string) (certPath, keyPath, caPath string) {
	t.Helper()
	caKey, srvKey := genKey(t), genKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, caPath = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.crt")
	for path, block := range map[string]*pem.Block{
		certPath: {Type: "CERTIFICATE", Bytes: srvDER},
		keyPath:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
		caPath:   {Type: "CERTIFICATE", Bytes: caDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certPath, keyPath, caPath
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
