package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/smgw/smgw/internal/config"
	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/store"
	"github.com/smgw/smgw/internal/wan/command"
)

// HES command keys (docs/commands.md, "Keys and roles"): the configured
// [[wan.commands.key]] tables, and keys imported into the key store as
// sealed records secret/hes/<id> holding a PEM "PUBLIC KEY" block with a
// Role header (command.EncodeKeyPEM). The command path reads the imported
// ones again for every command (a few sealed records: microseconds next to
// a command's signature checks), so `smgw keys import-hes-key` and
// `remove-hes-key` take effect without a restart. A configured id wins
// over an imported one of the same id. There is deliberately no HES
// command that imports a key: a compromised key could mint others.

// ErrHESKey is returned (wrapped) by ImportHESKey and RemoveHESKey for a
// key id, role or PEM that is not acceptable.
var ErrHESKey = errors.New("bad HES key")

// hesPrefix is the record-name prefix of imported HES keys (kind secret).
const hesPrefix = "hes/"

// storedHES is an imported key as last read.
type storedHES struct {
	raw []byte
	key *command.Key // nil: unusable (logged once)
}

// hesState is the command path's view of the HES keys.
type hesState struct {
	cfg     map[string]*command.Key // [[wan.commands.key]], fixed at start
	stored  map[string]storedHES    // by id
	clashed map[string]bool         // ids whose clash was logged
}

// policy returns the verification policy with the keys as they are now:
// the configured ones and those in the key store.
func (c *CommandPath) currentPolicy() command.Policy {
	p := c.policy
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	if err := c.refreshHES(); err != nil {
		// The configured keys still work; imported ones as last read.
		c.log.Error("cannot read the HES keys of the key store", "err", err)
	}
	p.Keys = make(map[string]*command.Key, len(c.hes.cfg)+len(c.hes.stored))
	for id, k := range c.hes.cfg {
		p.Keys[id] = k
	}
	for id, s := range c.hes.stored {
		if s.key == nil {
			continue
		}
		if _, dup := p.Keys[id]; dup {
			if !c.hes.clashed[id] {
				c.hes.clashed[id] = true
				c.log.Warn("HES key in both the configuration and the key store; using the configuration's", "key", id)
			}
			continue
		}
		p.Keys[id] = s.key
	}
	return p
}

// refreshHES reads the imported keys again. Called with keysMu held.
func (c *CommandPath) refreshHES() error {
	names, err := c.a.st.RecordNames(store.KindSecret, hesPrefix)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		id := strings.TrimPrefix(name, hesPrefix)
		b, err := c.a.st.Record(store.KindSecret, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("HES key %s: %w", id, err)
		}
		seen[id] = true
		if old, ok := c.hes.stored[id]; ok && bytes.Equal(old.raw, b) {
			continue
		}
		k, err := parseStoredHES(id, b)
		if err != nil {
			c.log.Error("HES key in the key store is unusable; commands signed by it are refused", "key", id, "err", err)
		} else {
			c.log.Info("HES key from the key store in use", "key", id, "role", k.Role)
		}
		c.hes.stored[id] = storedHES{raw: b, key: k}
	}
	for id := range c.hes.stored {
		if !seen[id] {
			delete(c.hes.stored, id)
			delete(c.hes.clashed, id)
			c.log.Info("HES key removed from the key store", "key", id)
		}
	}
	return nil
}

// parseStoredHES reads a secret/hes/<id> record.
func parseStoredHES(id string, b []byte) (*command.Key, error) {
	pub, r, err := command.ParseKeyPEM(b)
	if err != nil {
		return nil, err
	}
	role, err := command.ParseRole(r)
	if err != nil {
		return nil, fmt.Errorf("the record's Role header: %w", err)
	}
	return &command.Key{ID: id, Role: role, Public: pub}, nil
}

// fingerprint names a key for the listing.
func fingerprint(k *command.Key) string {
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:8])
}

// checkHESID checks a HES key id as the envelope's kid must be.
func checkHESID(id string) error {
	if _, err := keys.SecretName(keys.SecretHES, id); err != nil {
		return err
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return fmt.Errorf("HES key id %q: printable ASCII without spaces", id)
		}
	}
	return nil
}

// ImportHESKey stores the PEM public key or certificate pemBytes (read from
// file, named in errors) as the HES key id with role, sealed in st, and
// records it in the metrology log. It replaces an imported key of that id.
func ImportHESKey(ctx context.Context, st *store.Store, id, role string, pemBytes []byte, file string) (ctl.HESKey, error) {
	rec, err := ImportHESKeyCheck(id, role, pemBytes, file)
	if err != nil {
		return ctl.HESKey{}, err
	}
	k, err := parseStoredHES(id, rec)
	if err != nil {
		return ctl.HESKey{}, err
	}
	if err := st.PutRecord(ctx, store.KindSecret, hesPrefix+id, rec); err != nil {
		return ctl.HESKey{}, err
	}
	info := ctl.HESKey{ID: id, Role: string(k.Role), Source: "store", Fingerprint: fingerprint(k)}
	_, err = st.Log(ctx, store.LogMetrology, store.Event{Kind: "hes-key-imported",
		Message: fmt.Sprintf("HES key %s (%s) imported", id, k.Role),
		Attrs:   map[string]string{"key": id, "role": string(k.Role), "fingerprint": info.Fingerprint}})
	return info, err
}

// ImportHESKeyCheck checks what ImportHESKey would store and returns the
// record: id, role and the PEM public key or certificate pemBytes (read
// from file, which errors name).
func ImportHESKeyCheck(id, role string, pemBytes []byte, file string) ([]byte, error) {
	if err := checkHESID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHESKey, err)
	}
	r, err := command.ParseRole(role)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHESKey, err)
	}
	pub, _, err := command.ParseKeyPEM(pemBytes)
	if err != nil {
		if file == "" {
			file = "the key"
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrHESKey, file, err)
	}
	return command.EncodeKeyPEM(pub, r)
}

// RemoveHESKey removes the imported HES key id from st; a key that is not
// there is store.ErrNotFound.
func RemoveHESKey(ctx context.Context, st *store.Store, id string) error {
	if err := checkHESID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrHESKey, err)
	}
	if _, err := st.Record(store.KindSecret, hesPrefix+id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no imported HES key %q: %w", id, err)
		}
		return err
	}
	if err := st.DeleteRecord(ctx, store.KindSecret, hesPrefix+id); err != nil {
		return err
	}
	_, err := st.Log(ctx, store.LogMetrology, store.Event{Kind: "hes-key-removed",
		Message: "HES key " + id + " removed", Attrs: map[string]string{"key": id}})
	return err
}

// ListHESKeys lists the HES keys of cfg's [[wan.commands.key]] tables and
// of st, by id (configured first for the same id).
func ListHESKeys(cfg *config.Config, st *store.Store) ([]ctl.HESKey, error) {
	var out []ctl.HESKey
	cfgIDs := map[string]bool{}
	for _, k := range cfg.WAN.Commands.Keys {
		cfgIDs[k.ID] = true
		info := ctl.HESKey{ID: k.ID, Role: k.Role, Source: "config"}
		b, err := os.ReadFile(k.PublicKeyFile)
		if err == nil {
			var pub *command.Key
			p, _, perr := command.ParseKeyPEM(b)
			if perr == nil {
				pub = &command.Key{Public: p}
				info.Fingerprint = fingerprint(pub)
			}
			err = perr
		}
		if err != nil {
			info.Error = k.PublicKeyFile + ": " + err.Error()
		}
		out = append(out, info)
	}
	names, err := st.RecordNames(store.KindSecret, hesPrefix)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		id := strings.TrimPrefix(name, hesPrefix)
		info := ctl.HESKey{ID: id, Source: "store", Shadowed: cfgIDs[id]}
		b, err := st.Record(store.KindSecret, name)
		var k *command.Key
		if err == nil {
			k, err = parseStoredHES(id, b)
		}
		if err != nil {
			info.Error = err.Error()
		} else {
			info.Role, info.Fingerprint = string(k.Role), fingerprint(k)
		}
		out = append(out, info)
	}
	slices.SortStableFunc(out, func(a, b ctl.HESKey) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// HESKeys implements ctl.HESKeysBackend.
func (a *App) HESKeys(ctx context.Context) ([]ctl.HESKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ListHESKeys(a.cfg, a.st)
}

// ImportHESKey implements ctl.HESKeysBackend.
func (a *App) ImportHESKey(ctx context.Context, id, role string, pemBytes []byte) (ctl.HESKey, error) {
	k, err := ImportHESKey(ctx, a.st, id, role, pemBytes, "")
	if errors.Is(err, ErrHESKey) {
		return k, fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	if slices.ContainsFunc(a.cfg.WAN.Commands.Keys, func(c config.HESKey) bool { return c.ID == id }) {
		k.Shadowed = true
		a.log.Warn("imported HES key has the id of a configured one; the configured key is used", "key", id)
	}
	return k, err
}

// RemoveHESKey implements ctl.HESKeysBackend.
func (a *App) RemoveHESKey(ctx context.Context, id string) error {
	err := RemoveHESKey(ctx, a.st, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", ctl.ErrNotFound, err)
	case errors.Is(err, ErrHESKey):
		return fmt.Errorf("%w: %w", ctl.ErrBadRequest, err)
	}
	return err
}

var _ ctl.HESKeysBackend = (*App)(nil)
