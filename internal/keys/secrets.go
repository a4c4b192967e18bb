package keys

import (
	"errors"
	"fmt"
	"strings"
)

// Secondary keys are kept as sealed records of the store (store.KindSecret)
// under these names; their values are never written or logged in clear.
//
//	wmbus/<METER>        a wireless M-Bus meter's AES-128 key (16 bytes)
//	dlms/<METER>/auth    a DLMS/COSEM meter's authentication key (16 or 32 bytes)
//	dlms/<METER>/enc     a DLMS/COSEM meter's global encryption key (16 or 32 bytes)
//	hes/<KEYNAME>        a head-end command-verification public key (DER or PEM, ≤ 4 KiB)

// Kinds of secondary keys, as `smgw keys import-meter-key --kind` names them.
const (
	SecretWMBus    = "wmbus"
	SecretDLMSAuth = "dlms-auth"
	SecretDLMSEnc  = "dlms-enc"
	SecretHES      = "hes"
)

// ErrSecret is returned (wrapped) for a secondary key's name or value that
// does not fit its kind.
var ErrSecret = errors.New("keys: bad secondary key")

// SecretName returns the record name of a secondary key of kind for id (a
// meter id, or the key's name for "hes").
func SecretName(kind, id string) (string, error) {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/\x00") {
		return "", fmt.Errorf("%w: %q: a meter id or key name of 1…64 bytes without \"/\"", ErrSecret, id)
	}
	switch kind {
	case SecretWMBus:
		return "wmbus/" + id, nil
	case SecretDLMSAuth:
		return "dlms/" + id + "/auth", nil
	case SecretDLMSEnc:
		return "dlms/" + id + "/enc", nil
	case SecretHES:
		return "hes/" + id, nil
	}
	return "", fmt.Errorf("%w: unknown kind %q (want %s, %s, %s or %s)", ErrSecret, kind, SecretWMBus, SecretDLMSAuth, SecretDLMSEnc, SecretHES)
}

// CheckSecret checks a secondary key's name and the length of its value.
// The error never contains the value.
func CheckSecret(name string, key []byte) error {
	parts := strings.Split(name, "/")
	bad := func(want string) error {
		return fmt.Errorf("%w: %s: the key is %d bytes, want %s", ErrSecret, name, len(key), want)
	}
	switch {
	case len(parts) == 2 && parts[0] == "wmbus" && parts[1] != "":
		if len(key) != 16 {
			return bad("16 (AES-128)")
		}
	case len(parts) == 3 && parts[0] == "dlms" && parts[1] != "" && (parts[2] == "auth" || parts[2] == "enc"):
		if len(key) != 16 && len(key) != 32 {
			return bad("16 or 32 (AES-128 or AES-256)")
		}
	case len(parts) == 2 && parts[0] == "hes" && parts[1] != "":
		if len(key) == 0 || len(key) > 4096 {
			return bad("1…4096")
		}
	default:
		return fmt.Errorf("%w: name %q: want wmbus/METER, dlms/METER/auth, dlms/METER/enc or hes/NAME", ErrSecret, name)
	}
	return nil
}
