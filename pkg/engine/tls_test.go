package engine_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/engine"
)

// testKey is distinctive so that any leak of it into an error is found.
const testKey = "ag_tls_test_key_7f3e9c1d2b"

// authority is a test certificate authority.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	path string // its certificate, PEM
}

func newAuthority(t *testing.T, dir, name string) *authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".crt")
	writePEM(t, path, "CERTIFICATE", der)
	return &authority{cert: cert, key: key, path: path}
}

// issueServer writes a server certificate for 127.0.0.1 and localhost signed by a, and its
// key, and returns their paths.
func (a *authority) issueServer(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "accessgraph test server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "EC PRIVATE KEY", keyDER)
	return certPath, keyPath
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a loopback address with a port nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestTLSFromCertificateFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newAuthority(t, dir, "ca")
	other := newAuthority(t, dir, "other-ca")
	certPath, keyPath := ca.issueServer(t, dir)
	addr := freeAddr(t)

	srv, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{
		ListenAddress: addr, PresharedKey: testKey, TLSCertPath: certPath, TLSKeyPath: keyPath,
	})
	if err != nil {
		t.Fatalf("serving with TLS: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	for _, tc := range []struct {
		name   string
		cfg    engine.RemoteConfig
		wantOK bool
		want   string
	}{
		{"client trusting the CA", engine.RemoteConfig{CACertPath: ca.path, PresharedKey: testKey}, true, ""},
		{"plaintext client", engine.RemoteConfig{Insecure: true, PresharedKey: testKey}, false, "Unavailable"},
		{"client trusting another CA", engine.RemoteConfig{CACertPath: other.path, PresharedKey: testKey}, false, "certificate signed by unknown authority"},
		{"client trusting the system CAs", engine.RemoteConfig{PresharedKey: testKey}, false, "certificate signed by unknown authority"},
		{"wrong key", engine.RemoteConfig{CACertPath: ca.path, PresharedKey: "ag_wrong_key"}, false, "unknown, expired or revoked key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tc.cfg.Endpoint = addr
			e, err := engine.Dial(ctx, tc.cfg) // writes the schema: a real authenticated call
			if tc.wantOK {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				_ = e.Close()
				return
			}
			if err == nil {
				_ = e.Close()
				t.Fatal("Dial succeeded, want it refused")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Dial error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the server's preshared key appears in the error: %v", err)
			}
		})
	}
}

func TestTLSBadFilesStopTheStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newAuthority(t, dir, "ca")
	certPath, keyPath := ca.issueServer(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(dir, "other.key")
	keyDER, _ := x509.MarshalECPrivateKey(newKey(t))
	writePEM(t, otherKey, "EC PRIVATE KEY", keyDER)
	missing := filepath.Join(dir, "missing.crt")

	for _, tc := range []struct {
		name, cert, key string
		want            []string
	}{
		{"missing certificate", missing, keyPath, []string{"TLS certificate file " + missing, "no such file"}},
		{"missing key", certPath, missing, []string{"TLS key file " + missing, "no such file"}},
		{"unreadable certificate (a directory)", dir, keyPath, []string{"TLS certificate file " + dir}},
		{"certificate not PEM", garbage, keyPath, []string{"TLS certificate " + garbage, "matching PEM private key"}},
		{"key of another certificate", certPath, otherKey, []string{"with key " + otherKey, "private key does not match"}},
		{"certificate without key", certPath, "", []string{"both a certificate and a key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := freeAddr(t)
			e, err := engine.StartEmbedded(context.Background(), engine.EmbeddedConfig{
				ListenAddress: addr, PresharedKey: testKey, TLSCertPath: tc.cert, TLSKeyPath: tc.key,
			})
			if err == nil {
				_ = e.Close()
				t.Fatal("started, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the preshared key appears in the error: %v", err)
			}
			if c, derr := net.DialTimeout("tcp", addr, time.Second); derr == nil {
				_ = c.Close()
				t.Errorf("something listens on %s after a failed start", addr)
			}
		})
	}
}
