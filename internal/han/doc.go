// Package han holds the gateway's services that face the household on the
// home area network: the web and JSON API for in-home displays, the
// IEEE 2030.5 (SEP 2) subset and the Zigbee Smart Energy endpoint. They are
// read-only views of this household's data (live power, consumption,
// prices, messages, demand-response events), served from internal/store
// and internal/tariff, never from a meter driver.
package han
