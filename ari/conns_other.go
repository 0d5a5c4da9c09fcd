//go:build !unix

package ari

// stillOpen cannot peek at a socket here; a closed connection is noticed
// by the request it fails (retried once when it could not be written).
func stillOpen(c *poolConn) bool { return c.br.Buffered() == 0 }
