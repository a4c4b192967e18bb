package tpm_test

import (
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/smgw/smgw/hal/tpm"
)

// Open the TPM the configuration names and run a command sequence on it
// without another goroutine's commands in between.
func Example() {
	t, err := tpm.Open("swtpm://127.0.0.1:1") // nothing listens on port 1
	if err != nil {
		fmt.Println("no TPM:", err != nil)
		return
	}
	defer t.Close()
	t.Do(func(tt transport.TPM) error {
		_, err := tpm2.GetRandom{BytesRequested: 8}.Execute(tt)
		return err
	})
	// Output: no TPM: true
}
