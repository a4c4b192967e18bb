package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Signed checkpoints of the event logs. The hash chain alone shows an
// edited or removed entry, but someone who rewrites the file could
// recompute every hash after an edit; a signature by the gateway's TPM key
// over the head (sequence number and hash) cannot be recomputed. The app
// signs each log's head periodically and at shutdown and stores the last
// signature in meta:
//
//	meta/log.sig.<name> → seq(8) | hash(32) | time(8, Unix ns) | DER signature
//
// The signature is ECDSA P-256 over SHA-256 of CheckpointMessage.

const metaLogSig = "log.sig." // + name

// ErrCheckpoint is returned (wrapped) by Checkpoint.Verify when a signed
// head does not verify or does not match the chain.
var ErrCheckpoint = errors.New("store: signed event-log head does not verify")

// Checkpoint is a signed event-log head.
type Checkpoint struct {
	Log  LogName
	Seq  uint64   // the head's sequence number
	Hash [32]byte // the head entry's hash
	Time time.Time
	Sig  []byte // ASN.1 DER ECDSA signature over SHA-256(Message())
}

// Message is what the signature covers: a fixed label, the log's name,
// the sequence number, the hash and the time.
func (c Checkpoint) Message() []byte {
	m := []byte("smgw event log head v1\x00")
	m = append(m, c.Log...)
	m = append(m, 0)
	m = binary.BigEndian.AppendUint64(m, c.Seq)
	m = append(m, c.Hash[:]...)
	return binary.BigEndian.AppendUint64(m, uint64(c.Time.UnixNano()))
}

// Digest is SHA-256 of Message, what a crypto.Signer signs.
func (c Checkpoint) Digest() []byte {
	d := sha256.Sum256(c.Message())
	return d[:]
}

// Verify checks the signature against pub.
func (c Checkpoint) Verify(pub *ecdsa.PublicKey) error {
	if !ecdsa.VerifyASN1(pub, c.Digest(), c.Sig) {
		return fmt.Errorf("%w: log %s: the signature over entry %d does not verify with the gateway's public key", ErrCheckpoint, c.Log, c.Seq)
	}
	return nil
}

// LogHead returns a log's newest sequence number and hash (0 and zero
// for an empty log).
func (s *Store) LogHead(name LogName) (uint64, [32]byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if h := s.w.logs[name]; h != nil {
		return h.seq, h.hash
	}
	return 0, [32]byte{}
}

// PutCheckpoint stores a signed head, replacing the previous one. It is a
// small transaction of its own: signing (a TPM operation) happens before,
// never while the store waits.
func (s *Store) PutCheckpoint(ctx context.Context, c Checkpoint) error {
	if !knownLog(c.Log) {
		return fmt.Errorf("store: no event log %q", c.Log)
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if s.closing.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(nil, c.Seq)
	v = append(v, c.Hash[:]...)
	v = binary.BigEndian.AppendUint64(v, uint64(c.Time.UnixNano()))
	v = append(v, c.Sig...)
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(metaLogSig+string(c.Log)), v)
	})
}

// LastCheckpoint returns a log's last signed head; ok is false when it was
// never signed.
func (s *Store) LastCheckpoint(name LogName) (c Checkpoint, ok bool, err error) {
	if !knownLog(name) {
		return c, false, fmt.Errorf("store: no event log %q", name)
	}
	err = s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get([]byte(metaLogSig + string(name)))
		if v == nil {
			return nil
		}
		if len(v) < 48+8 {
			return fmt.Errorf("%w: %s: signed head of log %s is %d bytes", ErrCorrupt, s.path, name, len(v))
		}
		c.Log = name
		c.Seq = binary.BigEndian.Uint64(v)
		copy(c.Hash[:], v[8:40])
		c.Time = time.Unix(0, int64(binary.BigEndian.Uint64(v[40:48]))).UTC()
		c.Sig = append([]byte(nil), v[48:]...)
		ok = true
		return nil
	})
	return c, ok, err
}
