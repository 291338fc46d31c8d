// Package backupcmd holds `accessctl backup` and `accessctl restore`: consistent online
// backups of the local datastore, and verified restores into an empty directory.
package backupcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/accessgraph/accessgraph/pkg/cli/cmdutil"
	"github.com/accessgraph/accessgraph/pkg/cli/factory"
	"github.com/accessgraph/accessgraph/pkg/cli/serve"
	"github.com/accessgraph/accessgraph/pkg/control"
	"github.com/accessgraph/accessgraph/pkg/engine"
	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// Options are the inputs of backup and restore.
type Options struct {
	Factory *factory.Factory
	// DataDir is --data-dir: the local datastore's directory (default as for serve).
	DataDir string
	// To is backup's --to; From is restore's --from.
	To   string
	From string
	// VerifyOnly is restore's --verify-only.
	VerifyOnly bool
}

// NewCmdBackup builds `accessctl backup`.
func NewCmdBackup(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "backup --to DIR [--data-dir DIR]",
		Short: "Back up the local datastore, consistently, while the server keeps serving",
		Long: `Write a consistent snapshot of the local datastore in --data-dir into --to, a new or
empty directory (created readable by its owner only).

While "accessctl serve" runs on the directory, the backup is taken by the server, reached
through the owner-only socket control.sock in the data directory (run this command as the
user that runs the server); writers wait only while the storage engine's checkpoint is
taken (tens of milliseconds), reads never. Otherwise the directory is opened directly.

The snapshot is the state at one revision: every write acknowledged before the backup
started is in it, each transaction whole or not at all. The backup is read back before
the command succeeds; its backup.json records the revision, the counts (relationships,
namespaces, caveats, changelog entries), a checksum of the contents and one of every file.
Restore it with "accessctl restore". Progress goes to standard error, the summary to
standard output (-o json: the manifest).`,
		Example: `  # back up the default data directory while the server runs
  $ accessctl backup --to /var/backups/accessgraph/$(date +%F)

  # a named data directory, summary as JSON
  $ accessctl backup --data-dir /var/lib/accessgraph --to /mnt/backup/ag-1 -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runBackup, o)
		},
	}
	cmd.Flags().StringVar(&o.To, "to", "", "the backup directory: new, or empty")
	cmd.Flags().StringVar(&o.DataDir, "data-dir", "", "directory of the local datastore (default $ACCESSCTL_DATA_DIR, else $XDG_DATA_HOME/accessctl, else ~/.local/share/accessctl)")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// NewCmdRestore builds `accessctl restore`.
func NewCmdRestore(f *factory.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "restore --from BACKUP [--data-dir DIR] [--verify-only]",
		Short: "Restore a backup into an empty data directory, verified before it is used",
		Long: `Restore the backup in --from (written by "accessctl backup") into --data-dir, which must
not exist or be empty: a restore never overwrites data. Move a damaged directory aside
first, and stop the server that uses it.

Before anything is written the backup is verified: its manifest, and the size and
checksum of every file. The files are then copied next to the data directory, read back
(revision, counts and content checksum must match the manifest) and opened once as the
server would open them, and only then moved into place. A damaged backup is refused with
the file and what is wrong, and nothing is left behind.

--verify-only checks the backup (every file and every key) and restores nothing.`,
		Example: `  # restore into the default data directory (it must be empty or absent), then serve
  $ accessctl restore --from /var/backups/accessgraph/2026-12-04
  $ accessctl serve

  # check a stored backup without restoring it
  $ accessctl restore --from /mnt/backup/ag-1 --verify-only`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), runF, runRestore, o)
		},
	}
	cmd.Flags().StringVar(&o.From, "from", "", "the backup directory")
	cmd.Flags().StringVar(&o.DataDir, "data-dir", "", "directory to restore into: new, or empty (default $ACCESSCTL_DATA_DIR, else $XDG_DATA_HOME/accessctl, else ~/.local/share/accessctl)")
	cmd.Flags().BoolVar(&o.VerifyOnly, "verify-only", false, "verify the backup and restore nothing")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

// Summary is what backup and restore print: where, how it was reached, and the manifest.
type Summary struct {
	Backup string `json:"backup"`
	// DataDir is the data directory backed up or restored into (empty for --verify-only).
	DataDir string `json:"data_dir,omitempty"`
	// Through is "server" (the running server's control socket) or "directory" (the data
	// directory opened by this command); empty for restore.
	Through  string              `json:"through,omitempty"`
	Manifest localstore.Manifest `json:"manifest"`
}

func runBackup(ctx context.Context, o *Options) error {
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	dataDir, err := serve.DataDir(o.DataDir, o.Factory.Getenv)
	if err != nil {
		return err
	}
	dataDir = absPath(dataDir)
	if err := checkDataDir(dataDir); err != nil {
		return err
	}
	if err := localstore.CheckBackupDestination(o.To); err != nil {
		return backupError(err)
	}
	sum := Summary{Backup: absPath(o.To), DataDir: dataDir}
	prog := newProgress(o.Factory.IOStreams, fmt.Sprintf("backing up %s into %s", dataDir, sum.Backup))

	sum.Through = "server"
	m, err := control.Backup(ctx, dataDir, o.To, prog.report)
	if errors.Is(err, control.ErrNoServer) {
		sum.Through = "directory"
		m, err = backupDirectly(ctx, dataDir, o, prog)
	}
	prog.finish()
	if err != nil {
		return backupError(err)
	}
	how := "taken by the running server"
	if sum.Through == "directory" {
		how = "read from the directory (no server was using it)"
	}
	prog.status("backup complete, %s: revision %s, %d relationships", how, m.Revision, m.Counts.Relationships)
	sum.Manifest = m
	return p.Fields(fields(sum), sum)
}

// backupDirectly opens the data directory itself (no server holds it) and backs it up.
func backupDirectly(ctx context.Context, dataDir string, o *Options, prog *progress) (localstore.Manifest, error) {
	ds, err := localstore.Open(ctx, dataDir, localstore.Options{GCInterval: -1})
	if err != nil {
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
			return localstore.Manifest{}, fmt.Errorf("%s is in use by another process that offers no control socket (%s): stop it, or upgrade it to a version that serves backups, then run the backup again", dataDir, control.SocketPath(dataDir))
		}
		return localstore.Manifest{}, fmt.Errorf("opening %s: %w", dataDir, err)
	}
	m, err := ds.Backup(ctx, o.To, localstore.BackupOptions{
		AccessGraphVersion: o.Factory.Build.Version,
		SpiceDBVersion:     engine.SpiceDBVersion(),
		Progress:           prog.report,
	})
	if cerr := ds.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return m, err
}

// checkDataDir refuses a data directory that holds no local datastore, so a mistyped
// path is not backed up as an empty store (and never created).
func checkDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return cmdutil.Usagef("no data directory %s: nothing to back up; pass --data-dir (or set %s)", dir, serve.EnvDataDir)
	}
	if err != nil {
		return fmt.Errorf("reading the data directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "marker.manifest.") {
			return nil
		}
	}
	if len(entries) == 0 {
		return cmdutil.Usagef("%s is empty: nothing to back up; pass the --data-dir the server uses", dir)
	}
	return fmt.Errorf("%s is not a complete local datastore (it has no marker.manifest file): not backing it up; see \"Recovering a damaged local data directory\" in docs/deploy.md", dir)
}

func backupError(err error) error {
	if errors.Is(err, localstore.ErrNotEmpty) {
		return &cmdutil.UsageError{Err: err}
	}
	return err
}

func runRestore(ctx context.Context, o *Options) error {
	p, err := o.Factory.Printer()
	if err != nil {
		return err
	}
	if st, err := os.Stat(o.From); err != nil || !st.IsDir() {
		return cmdutil.Usagef("no backup directory %s: pass --from the directory accessctl backup wrote", o.From)
	}
	sum := Summary{Backup: absPath(o.From)}
	var m localstore.Manifest
	if o.VerifyOnly {
		prog := newProgress(o.Factory.IOStreams, fmt.Sprintf("verifying %s", sum.Backup))
		m, err = localstore.VerifyBackup(ctx, o.From, localstore.VerifyOptions{Progress: prog.report})
		prog.finish()
		if err == nil {
			prog.status("backup verified: revision %s, %d relationships", m.Revision, m.Counts.Relationships)
		}
	} else {
		dataDir, derr := serve.DataDir(o.DataDir, o.Factory.Getenv)
		if derr != nil {
			return derr
		}
		dataDir = absPath(dataDir)
		sum.DataDir = dataDir
		prog := newProgress(o.Factory.IOStreams, fmt.Sprintf("restoring %s into %s", sum.Backup, dataDir))
		m, err = localstore.Restore(ctx, o.From, dataDir, localstore.VerifyOptions{Progress: prog.report})
		prog.finish()
		if err == nil {
			prog.status("restore complete: start the server on %s", dataDir)
		}
	}
	if err != nil {
		return restoreError(err)
	}
	sum.Manifest = m
	return p.Fields(fields(sum), sum)
}

func restoreError(err error) error {
	switch {
	case errors.Is(err, localstore.ErrNotEmpty):
		return &cmdutil.UsageError{Err: err}
	case errors.Is(err, localstore.ErrBackupDamaged):
		return fmt.Errorf("%w\nnothing was restored; use another backup", err)
	}
	return err
}

// fields is the summary as "key: value" lines.
func fields(s Summary) [][2]string {
	m := s.Manifest
	out := [][2]string{{"backup", s.Backup}}
	if s.DataDir != "" {
		out = append(out, [2]string{"data dir", s.DataDir})
	}
	if s.Through != "" {
		out = append(out, [2]string{"through", s.Through})
	}
	revTime := ""
	if !m.RevisionTime.IsZero() {
		revTime = m.RevisionTime.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	return append(out,
		[2]string{"revision", m.Revision},
		[2]string{"revision time", revTime},
		[2]string{"created", m.CreatedAt.UTC().Format("2006-01-02T15:04:05Z07:00")},
		[2]string{"relationships", fmt.Sprint(m.Counts.Relationships)},
		[2]string{"namespaces", fmt.Sprint(m.Counts.Namespaces)},
		[2]string{"caveats", fmt.Sprint(m.Counts.Caveats)},
		[2]string{"changelog entries", fmt.Sprint(m.Counts.ChangelogEntries)},
		[2]string{"files", fmt.Sprintf("%d (%s)", len(m.Files), humanBytes(m.Bytes()))},
		[2]string{"content sha256", m.ContentSHA256},
		[2]string{"accessgraph", m.AccessGraphVersion},
		[2]string{"spicedb", m.SpiceDBVersion},
	)
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
