//go:build cgo

// Package tpmsim registers go-tpm-tools' in-process TPM simulator with
// hal/tpm, so that tpm.Open("simulator") works in the tests that import
// it. It needs cgo (and libssl-dev); the product binary never imports it.
//
// The simulator is one per process (opening a second one waits for the
// first to be closed) and starts from a fresh manufacture every time:
// whatever was created in it is gone after Close.
package tpmsim

import (
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/simulator"

	"github.com/smgw/smgw/hal/tpm"
)

func init() { tpm.RegisterSimulator(Open) }

// Open starts the simulator. It blocks while another is open.
func Open() (transport.TPMCloser, error) { return simulator.OpenSimulator() }
