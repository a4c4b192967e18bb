package keys

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/google/go-tpm/tpm2"
)

// The TPM provider's key file (TPMKeyFileName), JSON:
//
//	{"version": 1,
//	 "signing": {"public": HEX, "private": HEX},
//	 "current": 2,
//	 "data": [{"id": 1, "pcrs": [0,2,4,7], "public": HEX, "private": HEX}, …]}
//
// public and private are the TPM2B_PUBLIC and TPM2B_PRIVATE of each object
// as TPM2_Create returned them; the private areas are encrypted and
// integrity-protected by the TPM's storage primary key. The file holds no
// key in clear, and nothing in it is of use without the TPM that made it.
const tpmKeyFileVersion = 1

type tpmKeyFile struct {
	Version int          `json:"version"`
	Signing *blob        `json:"signing,omitempty"`
	Current uint32       `json:"current"`
	Data    []tpmDataKey `json:"data"`
}

type tpmDataKey struct {
	ID   uint32 `json:"id"`
	PCRs []int  `json:"pcrs,omitempty"`
	blob
}

// blob is one TPM object's public and private areas, in hex.
type blob struct {
	Public  string `json:"public"`
	Private string `json:"private"`
}

func blobOf(pub tpm2.TPM2BPublic, priv tpm2.TPM2BPrivate) blob {
	return blob{Public: hex.EncodeToString(tpm2.Marshal(pub)), Private: hex.EncodeToString(tpm2.Marshal(priv))}
}

func (b blob) decode() (tpm2.TPM2BPublic, tpm2.TPM2BPrivate, error) {
	pb, err := hex.DecodeString(b.Public)
	if err != nil {
		return tpm2.TPM2BPublic{}, tpm2.TPM2BPrivate{}, fmt.Errorf("public area: %v", err)
	}
	vb, err := hex.DecodeString(b.Private)
	if err != nil {
		return tpm2.TPM2BPublic{}, tpm2.TPM2BPrivate{}, fmt.Errorf("private area: %v", err)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](pb)
	if err != nil {
		return tpm2.TPM2BPublic{}, tpm2.TPM2BPrivate{}, fmt.Errorf("public area: %v", err)
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](vb)
	if err != nil {
		return tpm2.TPM2BPublic{}, tpm2.TPM2BPrivate{}, fmt.Errorf("private area: %v", err)
	}
	return *pub, *priv, nil
}

func (kf *tpmKeyFile) nextID() uint32 {
	var id uint32
	for _, d := range kf.Data {
		id = max(id, d.ID)
	}
	return id + 1
}

func readTPMKeyFile(path string) (*tpmKeyFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kf tpmKeyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v (restore it from a backup)", ErrKeyFile, path, err)
	}
	if kf.Version != tpmKeyFileVersion {
		return nil, fmt.Errorf("%w: %s: version %d, this program knows %d", ErrKeyFile, path, kf.Version, tpmKeyFileVersion)
	}
	ids := map[uint32]bool{}
	for _, d := range kf.Data {
		if d.ID == 0 || ids[d.ID] {
			return nil, fmt.Errorf("%w: %s: data key id %d is zero or repeated", ErrKeyFile, path, d.ID)
		}
		ids[d.ID] = true
		for _, n := range d.PCRs {
			if n < 0 || n > 23 {
				return nil, fmt.Errorf("%w: %s: data key %d: PCR %d out of 0…23", ErrKeyFile, path, d.ID, n)
			}
		}
	}
	if len(kf.Data) > 0 && !ids[kf.Current] {
		return nil, fmt.Errorf("%w: %s: the current data key %d is not in the file", ErrKeyFile, path, kf.Current)
	}
	return &kf, nil
}

func writeTPMKeyFile(path string, kf *tpmKeyFile) error {
	kf.Version = tpmKeyFileVersion
	slices.SortFunc(kf.Data, func(a, b tpmDataKey) int { return int(a.ID) - int(b.ID) })
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return replaceFile(path, append(b, '\n'), 0o600)
}
