package update

import "errors"

// Errors of this package. Every refusal is permanent for that file: do not
// retry it.
var (
	// ErrUnsigned is returned for a file that is not an smgw update file
	// (a bare RAUC bundle, anything else) or that carries no signature.
	ErrUnsigned = errors.New("update: not signed")
	// ErrBadSignature is returned when no key of the keyring verifies the
	// manifest's signature.
	ErrBadSignature = errors.New("update: signature does not verify")
	// ErrFormat is returned for a damaged header or manifest.
	ErrFormat = errors.New("update: malformed update file")
	// ErrCorrupt is returned when the bundle does not match the signed
	// manifest's size or SHA-256.
	ErrCorrupt = errors.New("update: bundle does not match its manifest")
	// ErrRollback is returned for a version older than the running one or
	// the highest one installed.
	ErrRollback = errors.New("update: older than the installed version")
	// ErrIncompatible is returned when the manifest is for another kind of
	// device than the configured compatible string.
	ErrIncompatible = errors.New("update: for another device")
	// ErrKeyring is returned when the keyring cannot be read or holds no
	// usable key.
	ErrKeyring = errors.New("update: keyring")
	// ErrInstall is returned (wrapping the installer's error) when RAUC
	// did not install the bundle.
	ErrInstall = errors.New("update: installation failed")
)
