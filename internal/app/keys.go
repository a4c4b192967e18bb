package app

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
)

// CheckpointEvery is how often the event logs' heads are signed (when
// they changed); they are also signed at start and at shutdown.
const CheckpointEvery = 15 * time.Minute

// keyState is the app's part of key management: the signer, the signed
// heads, the background re-seal after a rotation.
type keyState struct {
	signer crypto.Signer
	kick   chan struct{} // a rotation asks the re-seal loop to run

	mu         sync.Mutex
	lastSigned map[store.LogName]uint64
	reseal     string // state of the re-seal pass, for `smgw keys list`
}

// tpmProvider returns the TPM provider the configuration names.
func (a *App) tpmProvider() keys.Provider {
	_, err := os.Stat(DBPath(a.cfg.Gateway.DataDir))
	return keys.NewTPM(keys.TPMOptions{
		Device:    a.cfg.Security.TPM,
		KeyFile:   filepath.Join(a.cfg.Gateway.DataDir, keys.TPMKeyFileName),
		PCRs:      a.cfg.Security.PCRs,
		MustExist: err == nil,
		Log:       a.log.With("service", "keys"),
	})
}

// initSigner runs before the store is opened (so that a TPM fault leaves
// the database untouched): it loads the signing key (from the TPM), signs
// once to prove it usable, and keeps its public key beside the data for
// `smgw log --verify`.
func (a *App) initSigner(ctx context.Context) error {
	s, err := a.keys.Signer(ctx)
	if err != nil {
		return fmt.Errorf("app: the signing key from %s: %w", a.keys.Name(), err)
	}
	// One signature at start proves the key usable now (a TPM in
	// lockout, say, refuses it), rather than at the first signed head.
	probe := sha256.Sum256([]byte("smgw signing key check"))
	if _, err := s.Sign(nil, probe[:], crypto.SHA256); err != nil {
		return fmt.Errorf("app: the signing key from %s does not sign: %w", a.keys.Name(), err)
	}
	a.ks.signer = s
	pub, err := keys.MarshalPublicKey(s.Public())
	if err != nil {
		return err
	}
	path := filepath.Join(a.cfg.Gateway.DataDir, keys.IdentityPubFile)
	if old, err := os.ReadFile(path); err != nil || string(old) != string(pub) {
		if err := os.WriteFile(path+".new", pub, 0o644); err != nil {
			return fmt.Errorf("app: write %s: %w", path, err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			return fmt.Errorf("app: write %s: %w", path, err)
		}
	}
	return nil
}

// initKeys runs after the store is open: it reads the signed heads.
func (a *App) initKeys(ctx context.Context) error {
	a.ks.kick = make(chan struct{}, 1)
	a.ks.lastSigned = map[store.LogName]uint64{}
	for _, name := range store.Logs {
		c, ok, err := a.st.LastCheckpoint(name)
		if err != nil {
			return err
		}
		if ok {
			a.ks.lastSigned[name] = c.Seq
		}
	}
	return nil
}

// closeKeys closes the key provider (the TPM connection) if it has a Close.
func (a *App) closeKeys() error {
	if c, ok := a.keys.(io.Closer); ok && a.opts.Keys == nil {
		return c.Close()
	}
	return nil
}

// runKeys signs the logs' heads every CheckpointEvery and re-seals after a
// rotation (and at start, if a rotation was interrupted). It never holds
// up ingest: signing happens outside the store, which then stores the
// signature in a small transaction of its own.
func (a *App) runKeys(ctx context.Context) error {
	a.signHeads(ctx) // the start event
	if len(a.st.Keyring().IDs()) > 1 {
		// Non-blocking: a rotation that came in before this loop started
		// has filled the channel already, and a blocking send would wait
		// on the only reader, this goroutine.
		select {
		case a.ks.kick <- struct{}{}:
		default:
		}
	}
	t := time.NewTicker(CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			a.signHeads(ctx)
		case <-a.ks.kick:
			a.resealAndRetire(ctx)
		}
	}
}

// signHeads signs the head of every log that changed since it was last
// signed. Failures are logged: the chain itself stays intact, and the
// next round signs again.
func (a *App) signHeads(ctx context.Context) {
	a.ks.mu.Lock()
	defer a.ks.mu.Unlock()
	if a.ks.signer == nil {
		return
	}
	for _, name := range store.Logs {
		seq, hash := a.st.LogHead(name)
		if seq == 0 || a.ks.lastSigned[name] == seq {
			continue
		}
		c := store.Checkpoint{Log: name, Seq: seq, Hash: hash, Time: a.now().UTC()}
		sig, err := a.ks.signer.Sign(nil, c.Digest(), crypto.SHA256)
		if err != nil {
			a.log.Error("cannot sign an event log's head", "log", name, "seq", seq, "err", err)
			continue
		}
		c.Sig = sig
		if err := a.st.PutCheckpoint(ctx, c); err != nil {
			a.log.Error("cannot store an event log's signed head", "log", name, "seq", seq, "err", err)
			continue
		}
		a.ks.lastSigned[name] = seq
	}
}

func (a *App) setReseal(s string) {
	a.ks.mu.Lock()
	a.ks.reseal = s
	a.ks.mu.Unlock()
}

// resealAndRetire re-seals under the current key and retires unused keys.
func (a *App) resealAndRetire(ctx context.Context) {
	rot, ok := a.keys.(keys.Rotator)
	if !ok {
		return
	}
	start := time.Now()
	a.log.Info("keys: re-sealing the store under the current data key", "key", a.st.Keyring().Current())
	retired, err := a.st.ResealAndRetire(ctx, rot, func(p store.ResealProgress) {
		st := fmt.Sprintf("re-sealing (%s): %d values looked at, %d re-sealed", p.Area, p.Scanned, p.Resealed)
		if p.Done {
			st = fmt.Sprintf("done %s: %d values looked at, %d re-sealed", time.Now().UTC().Format(time.RFC3339), p.Scanned, p.Resealed)
		}
		a.setReseal(st)
		a.log.Info("keys: re-seal progress", "area", p.Area, "scanned", p.Scanned, "resealed", p.Resealed, "done", p.Done)
	})
	if err != nil {
		if ctx.Err() == nil {
			a.setReseal("failed: " + err.Error())
			a.log.Error("keys: re-sealing failed; it runs again at the next start", "err", err)
		}
		return
	}
	for _, id := range retired {
		a.logKeyEvent(ctx, "key-retired", fmt.Sprintf("data key %d retired: nothing is sealed with it any more", id),
			map[string]string{"key": strconv.FormatUint(uint64(id), 10)})
	}
	a.log.Info("keys: re-seal complete", "retired", fmt.Sprint(retired), "took", time.Since(start).Round(time.Millisecond))
}

func (a *App) logKeyEvent(ctx context.Context, kind, msg string, attrs map[string]string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.ShutdownTimeout)
	defer cancel()
	if _, err := a.st.Log(ctx, store.LogMetrology, store.Event{Time: a.now(), Kind: kind, Message: msg, Attrs: attrs}); err != nil {
		a.log.Warn("cannot log a key event", "kind", kind, "err", err)
	}
}

// KeysInfo implements ctl.KeysBackend.
func (a *App) KeysInfo(ctx context.Context) (ctl.KeysInfo, error) {
	kr := a.st.Keyring()
	names, err := a.st.RecordNames(store.KindSecret, "")
	if err != nil {
		return ctl.KeysInfo{}, err
	}
	info := ctl.KeysInfo{
		Provider: a.keys.Name(), Secure: a.keys.Secure(),
		Current: kr.Current(), DataKeys: kr.IDs(), Secrets: names,
	}
	a.ks.mu.Lock()
	info.Reseal = a.ks.reseal
	a.ks.mu.Unlock()
	if a.ks.signer != nil {
		if pub, err := keys.MarshalPublicKey(a.ks.signer.Public()); err == nil {
			info.PublicKey = string(pub)
		}
	}
	return info, nil
}

// RotateKey implements ctl.KeysBackend: the new key is current at once;
// the re-seal runs in the background.
func (a *App) RotateKey(ctx context.Context) (uint32, error) {
	rot, ok := a.keys.(keys.Rotator)
	if !ok {
		return 0, fmt.Errorf("%w: the key provider %s cannot rotate keys", ctl.ErrBadRequest, a.keys.Name())
	}
	old := a.st.Keyring().Current()
	id, err := rot.Rotate(ctx, a.st.Keyring())
	if err != nil {
		return 0, err
	}
	a.logKeyEvent(ctx, "key-rotated", fmt.Sprintf("data key %d replaces key %d; older values are re-sealed in the background", id, old),
		map[string]string{"key": strconv.FormatUint(uint64(id), 10), "previous": strconv.FormatUint(uint64(old), 10)})
	a.setReseal("pending")
	select {
	case a.ks.kick <- struct{}{}:
	default:
	}
	return id, nil
}

// PutSecret implements ctl.KeysBackend.
func (a *App) PutSecret(ctx context.Context, name string, key []byte) error {
	if err := keys.CheckSecret(name, key); err != nil {
		return fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	if err := a.st.PutRecord(ctx, store.KindSecret, name, key); err != nil {
		return err
	}
	a.logKeyEvent(ctx, "secret-imported", "secondary key "+name+" imported", map[string]string{"name": name})
	return nil
}

// CSR implements ctl.KeysBackend.
func (a *App) CSR(ctx context.Context, subject string) ([]byte, error) {
	subj, err := keys.ParseSubject(subject)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	return keys.CreateCSR(ctx, a.keys, subj)
}

// InstallCert implements ctl.KeysBackend.
func (a *App) InstallCert(ctx context.Context, pem []byte) (string, time.Time, error) {
	leaf, err := keys.InstallCertificate(ctx, a.keys, pem, filepath.Join(a.cfg.Gateway.DataDir, keys.IdentityCertFile))
	if err != nil {
		if errors.Is(err, keys.ErrCertificate) {
			err = fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
		}
		return "", time.Time{}, err
	}
	a.logKeyEvent(ctx, "cert-installed", "gateway certificate installed: "+leaf.Subject.String(),
		map[string]string{"subject": leaf.Subject.String(), "not_after": leaf.NotAfter.UTC().Format(time.RFC3339)})
	return leaf.Subject.String(), leaf.NotAfter, nil
}

// Checkpoint implements ctl.KeysBackend.
func (a *App) Checkpoint(ctx context.Context, name store.LogName) (store.Checkpoint, bool, error) {
	return a.st.LastCheckpoint(name)
}

var _ ctl.KeysBackend = (*App)(nil)

// keysErrors are the key provider's errors that need a person (exit 78).
var keysErrors = []error{keys.ErrNoTPM, keys.ErrTampered, keys.ErrPCRMismatch, keys.ErrLockout, keys.ErrTPM}

func permanentKeyError(err error) bool {
	for _, p := range keysErrors {
		if errors.Is(err, p) {
			return true
		}
	}
	return false
}
