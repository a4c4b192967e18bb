package main

import (
	"context"
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
)

// TestLogVerifySignedHead: `smgw log --verify` checks the last signed
// head: a good one verifies; one past the end of the log (a cut tail), one
// whose entry differs (a rewritten log) and a bad signature fail with exit 1.
func TestLogVerifySignedHead(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	dev := keys.NewDev(filepath.Join(dir, "dev-data-key"), nil)
	st, err := store.Open(filepath.Join(dir, "smgw.db"), &store.Options{Keys: dev, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := st.Log(ctx, store.LogSystem, store.Event{Kind: "test", Message: strings.Repeat("x", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	signer, err := dev.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := keys.MarshalPublicKey(signer.Public())
	os.WriteFile(filepath.Join(dir, keys.IdentityPubFile), pub, 0o644)
	seq, hash := st.LogHead(store.LogSystem)
	put := func(c store.Checkpoint, sign bool) {
		t.Helper()
		c.Log, c.Time = store.LogSystem, time.Unix(1e9, 0)
		if sign {
			c.Sig, _ = signer.Sign(nil, c.Digest(), crypto.SHA256)
		} else { // a signature by the right key over something else
			other := c
			other.Seq++
			c.Sig, _ = signer.Sign(nil, other.Digest(), crypto.SHA256)
		}
		if err := st.PutCheckpoint(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	verify := func() (int, string) {
		t.Helper()
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		code, out, _ := runCLI(t, "log", "system", "--verify", "--data", dir)
		st, err = store.Open(filepath.Join(dir, "smgw.db"), &store.Options{Keys: dev, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return code, out
	}
	defer func() { st.Close() }()

	put(store.Checkpoint{Seq: seq, Hash: hash}, true)
	if code, out := verify(); code != exitOK || !strings.Contains(out, "signed head at entry 3") || !strings.Contains(out, "verifies") {
		t.Fatalf("good signed head: %d\n%s", code, out)
	}
	put(store.Checkpoint{Seq: seq - 1, Hash: hash}, true) // entry 2 is not what was signed
	if code, out := verify(); code != exitFail || !strings.Contains(out, "rewritten") {
		t.Fatalf("rewritten entry: %d\n%s", code, out)
	}
	put(store.Checkpoint{Seq: seq + 2, Hash: hash}, true)
	if code, out := verify(); code != exitFail || !strings.Contains(out, "removed") {
		t.Fatalf("cut tail: %d\n%s", code, out)
	}
	put(store.Checkpoint{Seq: seq, Hash: hash}, false)
	if code, out := verify(); code != exitFail || !strings.Contains(out, "BAD SIGNATURE") {
		t.Fatalf("bad signature: %d\n%s", code, out)
	}
}
