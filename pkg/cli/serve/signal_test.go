package serve_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/root"
	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// childEnv makes the test binary run accessctl with the arguments after "--" (see
// TestMain), so a test can signal a real serve process.
const childEnv = "ACCESSCTL_SERVE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		f := factory.New(factory.BuildInfo{Version: "test"})
		err := root.Execute(context.Background(), root.NewCmdRoot(f), f, args)
		os.Exit(cmdutil.ExitCode(err))
	}
	os.Exit(m.Run())
}

// TestSignalDuringStartupStopsServe: SIGTERM or SIGINT while the server is starting
// stops the process even when start-up is stuck and never looks at the signal. The
// store is stuck here by making its identity file a FIFO with no writer, so opening
// it blocks in the kernel, as a failing disk can.
func TestSignalDuringStartupStopsServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs accessctl serve processes")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(dataDir, localstore.IdentityFile), 0o600); err != nil {
				t.Skipf("cannot make a FIFO here: %v", err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
			cmd.Env = append(os.Environ(), childEnv+"=1", "ACCESSCTL_CONFIG_DIR="+t.TempDir())
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill() }()

			var log strings.Builder
			lines := bufio.NewScanner(stderr)
			for lines.Scan() {
				log.WriteString(lines.Text() + "\n")
				if strings.Contains(lines.Text(), "starting the access server") {
					break
				}
			}
			// Start-up is now stuck opening the FIFO; give it a moment to get there.
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				for lines.Scan() {
					log.WriteString(lines.Text() + "\n")
				}
				done <- cmd.Wait()
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve exited with %v after %s; want 0. stderr:\n%s", err, time.Since(start), log.String())
				}
				if !strings.Contains(log.String(), "interrupted while starting") {
					t.Errorf("no note of the interruption in stderr:\n%s", log.String())
				}
				t.Logf("%s during a stuck start-up: exited after %s", sig, time.Since(start).Round(time.Millisecond))
			case <-time.After(60 * time.Second):
				t.Fatalf("serve ignored %s during start-up; stderr:\n%s", sig, log.String())
			}
		})
	}
}
