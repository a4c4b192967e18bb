// Package update installs signed software updates on the appliance: it
// checks an update file's signature against the configured keyring,
// refuses a version older than the running one or the highest ever
// installed (anti-rollback), hands the RAUC bundle inside to RAUC, logs
// every step in the system event log, and after the reboot reports whether
// the new version came up or RAUC fell back to the old slot.
//
// # The update file
//
// RAUC bundles are themselves signed (CMS), and RAUC checks that signature
// against its own keyring before it writes a slot. smgw adds its own,
// simpler envelope so that the gateway can check, before anything is
// handed on, that the update comes from the utility's signing key AND
// which version it carries — RAUC's CMS signature says nothing about
// versions, and parsing CMS would need a PKCS#7 implementation. An update
// file (.smgwu) is
//
//	"SMGWUPD1"                   8 bytes, the magic
//	manifest length              uint32, big-endian, at most 64 KiB
//	manifest                     JSON (Manifest): version, compatible, size and SHA-256 of the bundle
//	signature length             uint16, big-endian, at most 512
//	signature                    ASN.1 DER ECDSA signature of SHA-256("smgw-update-manifest-v1\n" ‖ manifest)
//	bundle                       the RAUC bundle (.raucb), byte for byte, to the end of the file
//
// Pack writes one; `smgw update pack` is its command-line form. The keyring
// is a PEM file of trusted ECDSA public keys ("PUBLIC KEY" blocks) or
// certificates whose ECDSA keys are trusted ("CERTIFICATE" blocks, taken as
// keys: no chain is built). A file without the magic — a bare RAUC bundle —
// is unsigned and refused.
//
// # Anti-rollback
//
// The manifest's version is a semantic version (MAJOR.MINOR.PATCH with an
// optional -PRERELEASE). An update older than the running version
// (internal/version) or than the highest version that ever booted
// successfully (persisted in the state directory) is refused; the same
// version may be installed again (a repair).
//
// # After the reboot
//
// Install leaves a pending record in the state directory. At the next
// start the daemon calls Report: if the running version is the one
// installed, the update succeeded (and becomes the highest installed);
// otherwise RAUC booted the old slot and the update is logged as rolled
// back.
package update
