// Package httpapi is transferd's HTTP API: Kazoo's channel-action endpoint
// (POST /v2/accounts/{account_id}/channels/{call_id}) to start, cancel,
// complete, swap and three-way an attended transfer, the account's live
// calls, a Server-Sent Events stream of call and transfer changes, token
// auth per account, and the OpenAPI document (openapi.yaml, served at
// GET /v2/openapi).
//
// The package depends on nothing of the application: it declares what it
// needs (Backend, Call) and its own wire types (CallInfo, ...), and package
// app provides an adapter. docs/api.md describes the API for its users.
package httpapi
