// Package control is the owner-only Unix socket in a local data directory through which
// operator commands on the same machine reach the server that has the directory open
// (the datastore's directory lock keeps every other process out): `accessctl backup`
// takes an online backup through it.
//
// The socket, <data-dir>/control.sock, is created with mode 0600 (bound in a private
// directory and then moved into place, so it is never reachable with looser permissions),
// and each connection's peer is checked to be the server's own user or root. Anyone who
// can use it could read every relationship anyway: it is the user that owns the data.
//
// The protocol is HTTP/1.1 over the socket. POST /v1/backup with {"dest": "/abs/dir"}
// answers 200 with JSON lines: {"progress": {...}} while the backup runs, then one
// {"manifest": {...}} or {"error": "...", "code": "..."}. A request the server cannot
// take (bad JSON, a relative path) answers 400 with one {"error": "..."}.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// SocketName is the control socket's file name in the data directory.
const SocketName = "control.sock"

// maxSocketPath is the longest socket path Linux accepts (sun_path holds 108 bytes with
// the terminating NUL).
const maxSocketPath = 107

// SocketPath is the control socket of the data directory dir.
func SocketPath(dir string) string { return filepath.Join(dir, SocketName) }

// Store is what the socket serves: the local datastore.
type Store interface {
	Backup(ctx context.Context, destDir string, opts localstore.BackupOptions) (localstore.Manifest, error)
}

// Config is the server's identity, recorded in the backups it takes.
type Config struct {
	AccessGraphVersion string
	SpiceDBVersion     string
}

// Server serves the control socket of one data directory. Close stops it.
type Server struct {
	path   string
	info   os.FileInfo // the socket file this server created, to remove only its own
	ln     net.Listener
	http   *http.Server
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Listen creates the control socket of dataDir and serves store on it. The caller must
// hold the directory (have the datastore open): a socket file already there is then left
// over from a server that died, and is replaced.
func Listen(dataDir string, store Store, cfg Config) (*Server, error) {
	path := SocketPath(dataDir)
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("creating the control socket: %s exists and is not a socket: remove it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale control socket %s: %w", path, err)
		}
	}
	// Bound in a private directory, made owner-only, then moved into place: the socket
	// never exists with the permissions the umask would give it.
	private, err := os.MkdirTemp(dataDir, ".c")
	if err != nil {
		return nil, fmt.Errorf("creating the control socket in %s: %w", dataDir, err)
	}
	defer func() { _ = os.RemoveAll(private) }()
	tmp := filepath.Join(private, "s")
	if len(tmp) > maxSocketPath || len(path) > maxSocketPath {
		return nil, fmt.Errorf("creating the control socket: its path %s is longer than the %d bytes a Unix socket allows: use a shorter data directory path", path, maxSocketPath)
	}
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("creating the control socket %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("creating the control socket %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("creating the control socket %s: %w", path, err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("creating the control socket %s: %w", path, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{path: path, info: info, ln: &peerCheckedListener{ln}, cancel: cancel, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/backup", &backupHandler{store: store, cfg: cfg, stopping: ctx})
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(s.ln)
	}()
	return s, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops accepting requests, cancels the ones in progress (a backup in progress is
// abandoned and leaves nothing), waits for them for up to 10 seconds, and removes the
// socket file if it is still the one this server created.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = s.http.Shutdown(ctx)
		<-s.done
		if st, serr := os.Lstat(s.path); serr == nil && os.SameFile(st, s.info) {
			if rerr := os.Remove(s.path); rerr != nil && err == nil {
				err = rerr
			}
		}
	})
	return err
}

// peerCheckedListener accepts only connections from this process's user or root.
type peerCheckedListener struct{ net.Listener }

func (l *peerCheckedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if peerAllowed(conn) {
			return conn, nil
		}
		_ = conn.Close()
	}
}

// request is the body of POST /v1/backup.
type request struct {
	Dest string `json:"dest"`
}

// event is one line of a backup's answer.
type event struct {
	Progress *localstore.Progress `json:"progress,omitempty"`
	Manifest *localstore.Manifest `json:"manifest,omitempty"`
	Error    string               `json:"error,omitempty"`
	Code     string               `json:"code,omitempty"`
}

// Error codes of a failed backup, for the client to map back to localstore's errors.
const (
	codeNotEmpty = "not_empty"
	codeClosed   = "closed"
)

type backupHandler struct {
	store Store
	cfg   Config
	// stopping ends when the server closes.
	stopping context.Context
}

func (h *backupHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, event{Error: fmt.Sprintf("reading the request: %v", err)})
		return
	}
	if req.Dest == "" || !filepath.IsAbs(req.Dest) {
		reply(w, http.StatusBadRequest, event{Error: fmt.Sprintf("the backup directory %q must be an absolute path", req.Dest)})
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	send := func(e event) {
		_ = enc.Encode(e)
		if flusher != nil {
			flusher.Flush()
		}
	}
	m, err := h.store.Backup(r.Context(), req.Dest, localstore.BackupOptions{
		AccessGraphVersion: h.cfg.AccessGraphVersion,
		SpiceDBVersion:     h.cfg.SpiceDBVersion,
		Progress:           func(p localstore.Progress) { send(event{Progress: &p}) },
	})
	if err != nil {
		e := event{Error: err.Error()}
		switch {
		case h.stopping.Err() != nil:
			e = event{Error: "the server is stopping: the backup was abandoned and left nothing; run it again (the server need not be running)", Code: codeClosed}
		case errors.Is(err, localstore.ErrNotEmpty):
			e.Code = codeNotEmpty
		case errors.Is(err, localstore.ErrClosed):
			e.Code = codeClosed
		}
		send(e)
		return
	}
	send(event{Manifest: &m})
}

func reply(w http.ResponseWriter, status int, e event) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}
