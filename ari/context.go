package ari

import "context"

// Per-call placement hints. A Transport that reaches several Asterisk nodes
// (the NATS transport) reads them from the request's context; HTTPTransport,
// which talks to exactly one Asterisk, ignores them. They live here, not in
// the transport's package, so application code can set them without
// importing a transport.

type ctxKey int

const (
	nodeKey ctxKey = iota
	dialogKey
	guardKey
)

// WithNode returns a copy of ctx that asks for resources created with it
// (Channels.Create, Channels.Originate, Bridges.Create) to be created on the
// Asterisk node named node: its entity id, or the name its proxy announces.
// Operations on existing resources go to the node that owns them whatever
// ctx says. An empty node removes the hint.
func WithNode(ctx context.Context, node string) context.Context {
	return context.WithValue(ctx, nodeKey, node)
}

// NodeFrom returns the node set by WithNode, or "".
func NodeFrom(ctx context.Context) string {
	s, _ := ctx.Value(nodeKey).(string)
	return s
}

// WithDialog returns a copy of ctx whose requests are tagged with dialog: a
// proxy binds every channel, bridge and playback such a request creates or
// touches to the dialog and publishes their events on the dialog's own
// subject too, so an instance that follows only its dialogs receives only
// its own calls' events. An empty dialog removes the tag.
func WithDialog(ctx context.Context, dialog string) context.Context {
	return context.WithValue(ctx, dialogKey, dialog)
}

// DialogFrom returns the dialog set by WithDialog, or "".
func DialogFrom(ctx context.Context) string {
	s, _ := ctx.Value(dialogKey).(string)
	return s
}

// WithGuard returns a copy of ctx whose requests are sent only while guard
// returns nil: the Client refuses any other request unsent, with guard's
// error. transferd guards each call's requests with its ownership lease, so
// a process woken from a pause sends nothing for a call another instance
// may carry by then, even in the middle of a step.
func WithGuard(ctx context.Context, guard func() error) context.Context {
	return context.WithValue(ctx, guardKey, guard)
}

// guardFrom returns the guard set by WithGuard, or nil.
func guardFrom(ctx context.Context) func() error {
	g, _ := ctx.Value(guardKey).(func() error)
	return g
}
