package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/profile"
)

// runMain makes the test binary run main itself, so that these tests start the real
// command as a process, signal it and read its exit status.
const runMain = "ACCESSCTL_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMain) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// syncBuffer is standard error, written by the process and read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// accessctl starts the command with args, its profile in a folder of its own.
func accessctl(t *testing.T, configDir string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMain+"=1", "ACCESSCTL_CONFIG_DIR="+configDir, "ACCESSCTL_ENDPOINT=", "ACCESSCTL_TOKEN=")
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stderr
}

// `accessctl serve` stopped by SIGINT (Ctrl-C) or SIGTERM shuts down cleanly, removes its
// profile and exits 0, on the datastore make run uses and on memory.
func TestServeExitsZeroOnSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, store := range []string{"local", "memory"} {
			t.Run(fmt.Sprintf("%v/%s", sig, store), func(t *testing.T) {
				t.Parallel()
				config := t.TempDir()
				args := []string{"serve", "--demo", "--addr", "127.0.0.1:0"}
				if store == "memory" {
					args = append(args, "--datastore", "memory")
				} else {
					args = append(args, "--data-dir", t.TempDir())
				}
				cmd, stderr := accessctl(t, config, args...)
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				deadline := time.After(2 * time.Minute)
				for !strings.Contains(stderr.String(), "Stop with Ctrl-C.") {
					select {
					case err := <-done:
						t.Fatalf("serve stopped before serving (%v):\n%s", err, stderr)
					case <-deadline:
						_ = cmd.Process.Kill()
						t.Fatalf("serve did not start within 2 minutes:\n%s", stderr)
					case <-time.After(50 * time.Millisecond):
					}
				}
				if _, err := os.Stat(filepath.Join(config, profile.FileName)); err != nil {
					t.Fatalf("serving, but no profile: %v", err)
				}
				if banner := stderr.String(); !strings.Contains(banner, "passing the ZedToken a write\nreturns as at_least_as_fresh") || !strings.Contains(banner, "550ms stale (docs/api.md)") {
					t.Errorf("the banner does not tell SpiceDB clients how to read their own writes:\n%s", banner)
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-done:
					if err != nil || cmd.ProcessState.ExitCode() != 0 {
						t.Errorf("after %v: %v, exit code %d, want 0; output:\n%s", sig, err, cmd.ProcessState.ExitCode(), stderr)
					}
				case <-time.After(time.Minute):
					_ = cmd.Process.Kill()
					t.Fatalf("serve did not stop within a minute of %v", sig)
				}
				if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
					t.Errorf("no clean shutdown logged:\n%s", stderr)
				}
				if _, err := os.Stat(filepath.Join(config, profile.FileName)); !os.IsNotExist(err) {
					t.Errorf("the profile outlived a clean shutdown (%v)", err)
				}
			})
		}
	}
}

// `accessctl serve` on an address another process listens on says so, names the address
// and --addr, exits 1, and starts nothing (no profile).
func TestServeOnATakenAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	const key = "a-preshared-key-of-32-characters"
	for _, addr := range []string{
		fmt.Sprintf("127.0.0.1:%d", port),
		fmt.Sprintf("localhost:%d", port),
		fmt.Sprintf("0.0.0.0:%d", port),
		fmt.Sprintf(":%d", port),
	} {
		config := t.TempDir()
		cmd, stderr := accessctl(t, config, "serve", "--addr", addr, "--datastore", "memory", "--token", key)
		err := cmd.Wait()
		want := "error: cannot serve on " + addr + ": something else is already listening there"
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "--addr") {
			t.Errorf("%s: %v, exit code %d, output:\n%s\nwant exit 1 and %q naming --addr", addr, err, cmd.ProcessState.ExitCode(), stderr, want)
		}
		if strings.Contains(stderr.String(), "bind:") || strings.Contains(stderr.String(), key) {
			t.Errorf("%s: the raw bind error or the key is shown:\n%s", addr, stderr)
		}
		if _, err := os.Stat(filepath.Join(config, profile.FileName)); !os.IsNotExist(err) {
			t.Errorf("%s: a profile was written for a server that did not start (%v)", addr, err)
		}
	}
}
