package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"syscall"

	"github.com/accessgraph/accessgraph/pkg/localstore"
)

// ErrNoServer is returned when no server answers on a data directory's control socket:
// there is none, or it was left by a server that has stopped.
var ErrNoServer = errors.New("no server answers on the control socket")

// RemoteError is a request the server refused or failed, with the server's message.
// It wraps localstore.ErrNotEmpty or localstore.ErrClosed when that was the cause.
type RemoteError struct {
	Message string
	code    string
}

func (e *RemoteError) Error() string { return e.Message }

func (e *RemoteError) Unwrap() error {
	switch e.code {
	case codeNotEmpty:
		return localstore.ErrNotEmpty
	case codeClosed:
		return localstore.ErrClosed
	}
	return nil
}

// Backup asks the server that has dataDir open to back it up into dest, reporting the
// server's progress as it comes. dest is made absolute here, against this process's
// working directory. It fails with ErrNoServer when no server answers on the socket.
func Backup(ctx context.Context, dataDir, dest string, progress func(localstore.Progress)) (localstore.Manifest, error) {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return localstore.Manifest{}, fmt.Errorf("resolving %s: %w", dest, err)
	}
	body, err := json.Marshal(request{Dest: abs})
	if err != nil {
		return localstore.Manifest{}, err
	}
	path := SocketPath(dataDir)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://control/v1/backup", bytes.NewReader(body))
	if err != nil {
		return localstore.Manifest{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return localstore.Manifest{}, ctx.Err()
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
			return localstore.Manifest{}, fmt.Errorf("%w: %s", ErrNoServer, path)
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return localstore.Manifest{}, fmt.Errorf("using the control socket %s: %w: run the command as the user that runs the server", path, err)
		}
		return localstore.Manifest{}, fmt.Errorf("using the control socket %s: %w", path, err)
	}
	defer resp.Body.Close()

	dec := json.NewDecoder(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e event
		if err := dec.Decode(&e); err != nil || e.Error == "" {
			return localstore.Manifest{}, fmt.Errorf("the server at %s answered %s", path, resp.Status)
		}
		return localstore.Manifest{}, &RemoteError{Message: e.Error}
	}
	for {
		var e event
		err := dec.Decode(&e)
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			if ctx.Err() != nil {
				return localstore.Manifest{}, ctx.Err()
			}
			return localstore.Manifest{}, fmt.Errorf("the server at %s stopped answering before the backup finished (did it stop?); nothing usable was left in %s", path, abs)
		case err != nil:
			if ctx.Err() != nil {
				return localstore.Manifest{}, ctx.Err()
			}
			return localstore.Manifest{}, fmt.Errorf("reading the server's answer on %s: %w", path, err)
		case e.Error != "":
			return localstore.Manifest{}, &RemoteError{Message: e.Error, code: e.Code}
		case e.Manifest != nil:
			return *e.Manifest, nil
		case e.Progress != nil && progress != nil:
			progress(*e.Progress)
		}
	}
}
