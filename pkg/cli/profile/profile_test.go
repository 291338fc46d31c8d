package profile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/accessgraph/accessgraph/pkg/cli/profile"
)

func TestWriteIsPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "accessctl")
	path := filepath.Join(dir, profile.FileName)
	if err := profile.Write(path, &profile.Profile{Endpoint: "127.0.0.1:50051", Token: "k1", Insecure: true}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", file, st.Mode().Perm(), want)
		}
	}
	p, err := profile.Read(path)
	if err != nil || p.Endpoint != "127.0.0.1:50051" || p.Token != "k1" || !p.Insecure {
		t.Errorf("Read = %+v, %v", p, err)
	}
}

func TestRemoveIfOwned(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), profile.FileName)
	if err := profile.Write(path, &profile.Profile{Endpoint: "127.0.0.1:1", Token: "newer"}); err != nil {
		t.Fatal(err)
	}
	if removed, err := profile.RemoveIfOwned(path, "older"); removed || err != nil {
		t.Errorf("another server's key: removed %v, err %v", removed, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the newer server's profile is gone: %v", err)
	}
	if removed, err := profile.RemoveIfOwned(path, "newer"); !removed || err != nil {
		t.Errorf("own key: removed %v, err %v", removed, err)
	}
	if removed, err := profile.RemoveIfOwned(path, "newer"); removed || err != nil {
		t.Errorf("already removed: removed %v, err %v", removed, err)
	}
}

func TestDir(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ACCESSCTL_CONFIG_DIR": "/a", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/a"},
		{map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/accessctl"},
		{map[string]string{"HOME": "/h"}, "/h/.config/accessctl"},
	}
	for _, tt := range tests {
		if got, err := profile.Dir(env(tt.env)); got != tt.want || err != nil {
			t.Errorf("Dir(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
	if _, err := profile.Dir(env(nil)); err == nil {
		t.Error("Dir with no environment: want an error")
	}
}
