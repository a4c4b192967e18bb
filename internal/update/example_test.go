package update_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/smgw/smgw/internal/update"
)

// Sign a RAUC bundle into an update file and check it as the gateway does.
func ExamplePack() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	bundle := bytes.NewReader([]byte("a RAUC bundle"))
	var file bytes.Buffer
	if err := update.Pack(&file, update.Manifest{Version: "1.3.0", Compatible: "smgw"}, bundle, key); err != nil {
		panic(err)
	}
	h, err := update.ReadHeader(bytes.NewReader(file.Bytes()), []*ecdsa.PublicKey{&key.PublicKey})
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Version, h.Manifest.Compatible, h.Manifest.Size)
	// Output: 1.3.0 smgw 13
}
