//go:build cgo

package tpmsim_test

import (
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/smgw/smgw/hal/tpm"
	_ "github.com/smgw/smgw/hal/tpm/tpmsim"
)

func TestOpenSimulator(t *testing.T) {
	tt, err := tpm.Open(tpm.Simulator)
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Close()
	rsp, err := tpm2.GetRandom{BytesRequested: 16}.Execute(tt)
	if err != nil || len(rsp.RandomBytes.Buffer) != 16 {
		t.Fatalf("GetRandom: %v, %v", rsp, err)
	}
}
