//go:build !cgo

// Package tpmsim registers go-tpm-tools' in-process TPM simulator with
// hal/tpm when built with cgo; without cgo it is empty.
package tpmsim
