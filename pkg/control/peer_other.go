//go:build !linux

package control

import "net"

// peerAllowed relies on the socket file's mode (0600) where peer credentials are not
// read.
func peerAllowed(net.Conn) bool { return true }
