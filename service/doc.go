// Package service builds a running transferd from its configuration: the
// ARI transport (HTTP, or NATS with the shared call store and ownership),
// the ARI client, metrics, the event hub, the application and its HTTP
// server, and the drain on shutdown. cmd/transferd and bench build
// transferd through it alike (livekit/sip's pkg/service is the model).
//
// It is the one package that knows every other: app does not import
// httpapi (httpapi imports app), and the pieces meet here.
package service
