// Package tpm opens the gateway's TPM 2.0 and serialises every command
// sent to it.
//
// Open takes the configuration's string (security.tpm):
//
//   - a device path such as "/dev/tpmrm0": the kernel's resource manager
//     (any path names a character device; /dev/tpm0 works too but has no
//     resource manager, so nothing else may use the TPM then);
//   - "swtpm://HOST:PORT": the command port of swtpm's TCP server
//     (`swtpm socket --tpm2 --server type=tcp,port=PORT --flags
//     not-need-init,startup-clear`), raw TPM 2.0 commands and responses.
//     swtpm serves one client at a time: while the gateway runs, other
//     programs reach the TPM through it;
//   - "simulator": the in-process TPM simulator of go-tpm-tools, for unit
//     tests only. It needs cgo and lives in the subpackage tpmsim, which
//     registers itself with RegisterSimulator when a test imports it; the
//     product binary (built without cgo for ARM) does not contain it.
//
// A go-tpm connection is not safe for concurrent use, and a TPM command
// sequence (load a key, start a policy session, unseal, flush) must not be
// interleaved with another's on a TPM without a resource manager: a *TPM
// holds one mutex for every Send, and Do runs a whole sequence under it.
//
// The package imports nothing of internal/ (DESIGN: hal is the bottom
// layer).
package tpm
