// Package profile reads and writes the local connection profile that `accessctl serve`
// leaves for the other commands: endpoint, domain API URL, key and transport.
package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// FileName is the profile's name inside the configuration folder.
const FileName = "profile.json"

// Profile is how to reach the server that wrote it.
type Profile struct {
	// Endpoint is the gRPC address, host:port.
	Endpoint string `json:"endpoint"`
	// APIURL is the domain API's base URL (http://127.0.0.1:50052, https://HOST:PORT);
	// empty when the server serves none, or none is known.
	APIURL string `json:"api_url,omitempty"`
	// Token is the preshared key the server expects.
	Token string `json:"token"`
	// Insecure is true when the server speaks plaintext (loopback without TLS).
	Insecure bool `json:"insecure"`
	// CACert, when set, is the certificate to trust for a TLS server with its own certificate.
	CACert string `json:"ca_cert,omitempty"`
	// PID is the process id of the server that wrote the profile.
	PID int `json:"pid,omitempty"`
	// StartedAt is when that server started.
	StartedAt time.Time `json:"started_at"`
}

// Dir returns the configuration folder: $ACCESSCTL_CONFIG_DIR, else
// $XDG_CONFIG_HOME/accessctl, else $HOME/.config/accessctl. getenv reads the environment.
func Dir(getenv func(string) string) (string, error) {
	if d := getenv("ACCESSCTL_CONFIG_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "accessctl"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "accessctl"), nil
	}
	return "", errors.New("cannot place the connection profile: set ACCESSCTL_CONFIG_DIR, XDG_CONFIG_HOME or HOME")
}

// Path returns the profile's path inside Dir.
func Path(getenv func(string) string) (string, error) {
	d, err := Dir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, FileName), nil
}

// Read loads a profile. A missing file is reported with an error that wraps os.ErrNotExist.
func Read(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("reading the connection profile %s: %w", path, err)
	}
	return &p, nil
}

// Write stores a profile readable by its owner only (file 0600 in a folder created 0700).
// It writes a temporary file and renames it, so a reader never sees half a profile.
func Write(path string, p *Profile) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the connection profile: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".profile-*.json")
	if err != nil {
		return fmt.Errorf("writing the connection profile: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the connection profile: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the connection profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the connection profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the connection profile: %w", err)
	}
	return nil
}

// RemoveIfOwned deletes the profile only if it still holds token, so a server never
// removes the profile of another server started after it. It reports whether it removed it.
func RemoveIfOwned(path, token string) (bool, error) {
	p, err := Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if p.Token != token {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("removing the connection profile: %w", err)
	}
	return true, nil
}
