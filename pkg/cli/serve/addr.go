package serve

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// AddrInUseError is an address another process already listens on.
type AddrInUseError struct{ Addr string }

func (e *AddrInUseError) Error() string {
	return fmt.Sprintf("cannot serve on %s: something else is already listening there (another accessctl serve, or make run, in another terminal?): "+
		"stop it, or serve elsewhere with --addr, for example --addr 127.0.0.1:0 for any free port (clients find it through the profile)", e.Addr)
}

// checkAddrFree reports a taken address before anything starts, where SpiceDB would fail
// later with a bare bind error. Other listen errors are left to the engine, which names them.
func checkAddrFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return addrError(addr, err)
	}
	return ln.Close()
}

// addrError turns a bind failure on a taken address into an AddrInUseError; it also
// catches the address being taken between checkAddrFree and the engine's own listen.
func addrError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return &AddrInUseError{Addr: addr}
	}
	return nil
}
