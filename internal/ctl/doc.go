// Package ctl is the daemon's local control socket and its client.
//
// bbolt locks the database to one process, so while the daemon runs the
// command-line tools (smgw readings, meters, log, status) read through it:
// the daemon serves HTTP/1.1 on a unix socket (Listen, Server), the CLI
// connects with Dial and gets a Client. When no daemon answers, Dial fails
// with ErrNoDaemon and the CLI opens the store itself, read-only, through
// Local. Client and Local both satisfy Reader, so the CLI's commands are
// written once.
//
// Endpoints (all GET; errors are JSON {"error": "...", "code": "..."}):
//
//	/v1/ping                  liveness, {}
//	/v1/status                Status as JSON
//	/v1/meters                the store's meters and their series as JSON
//	/v1/readings?meter=&obis=&from=&to=&limit=
//	                          NDJSON, one reading per line (EncodeReadingJSON)
//	/v1/log/{name}?after=N    NDJSON, one event per line (EncodeEventJSON)
//	/v1/log/{name}/verify     the log's LogReport as JSON, or an error
//
// Key management (keys.go; a Backend that is also a KeysBackend): GET
// /v1/keys, GET /v1/log/{name}/checkpoint, and the only POST endpoints,
// /v1/keys/rotate, /v1/keys/secret, /v1/keys/csr and /v1/keys/cert.
//
// A stream that fails after it started ends with the HTTP trailers
// Smgw-Error and Smgw-Error-Code; the client turns them, like error bodies,
// back into errors for which errors.Is holds against the store's sentinels
// (store.ErrChainBroken, store.ErrClosed, …).
//
// Access: the socket file is mode 0660, and on Linux every accepted
// connection's peer credentials (SO_PEERCRED) are checked: root, the
// daemon's own user and members of ServerOptions.AllowGID are served,
// anyone else is disconnected and logged.
package ctl
