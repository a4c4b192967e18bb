// Package lmn holds the local metrological network: meter drivers and bus
// schedulers that turn the frames of the meters on the gateway's local
// buses (RS-485, wired and wireless M-Bus) into meter.Readings.
//
// Drivers never own a bus: one scheduler goroutine owns each physical bus
// and calls its drivers in turn, and every driver follows the house
// lifecycle (New starts nothing, Run(ctx) returns nil when ctx ends). The
// sub-package sim holds simulated meters for `smgw demo` and for tests.
//
// No protocol-specific name leaks past this layer: every quantity leaves it
// as an OBIS code with an exact decimal value and a DLMS unit.
package lmn
