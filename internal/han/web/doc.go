// Package web is the gateway's in-home display service on the home area
// network: a JSON API, a live stream of readings (Server-Sent Events) and
// a self-contained page for displays and phones, served only on the HAN
// interface's addresses over HTTPS with the gateway's certificate
// (docs/han.md, docs/han-openapi.yaml).
//
// Displays pair with a one-time code (`smgw han pair`) for a bearer token
// bound to the household's meters; tokens are kept hashed as sealed store
// records (kind "han-client") and can be listed and revoked (`smgw han
// clients`). Everything is read-only except confirming a utility message
// and opting out of a demand-response event. Unpaired, revoked or
// malformed credentials get 401 and nothing else; a meter the client may
// not see is answered like one that does not exist (404). Each client has
// a token-bucket rate limit (429 with Retry-After).
//
//	GET  /                               the page (pairing screen until paired)
//	GET  /static/{file}                  its script, stylesheet and icon
//	POST /api/v1/pair                    {"code","name"} → {"token","client","meters"}
//	GET  /api/v1/status                  the gateway
//	GET  /api/v1/meters                  the client's meters, their series and latest values
//	GET  /api/v1/readings/latest         the newest value of every series (live samples too)
//	GET  /api/v1/history                 ?meter&obis&from&to&resolution=raw|15m|hour|day
//	GET  /api/v1/totals                  consumption and cost per tariff tier in a range
//	GET  /api/v1/live                    text/event-stream of readings
//	GET  /api/v1/price                   the current price and the next change
//	GET  /api/v1/messages                utility messages shown now
//	POST /api/v1/messages/{id}/ack       confirm one
//	GET  /api/v1/events                  demand-response events, active and pending
//	POST /api/v1/events/{id}/opt-out     opt out of one
//	*    /sep2/…                         the IEEE 2030.5 subset (Options.SEP2)
//
// Values are exact decimal strings (meter.Value.String), never floats.
// Consumption is the difference of a register's values at the buckets'
// boundaries (the last reading at or before each), aligned in the local
// time zone.
package web
