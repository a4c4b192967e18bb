package wmbus

import (
	"crypto/aes"
	"crypto/cipher"
)

// Options configure a Decoder. The zero value (or nil) detects the frame
// format and uses no manufacturer profiles.
type Options struct {
	// Format is the frame layout the receiver delivers; FormatAuto
	// detects it (see Detect).
	Format FrameFormat
	// Profiles are the manufacturer profiles to apply; nil: generic
	// EN 13757-3 decoding only. The gateway's built-in set is loaded by
	// package profiles/meters/wmbus.
	Profiles *Profiles
	// LearnFormats lets the decoder remember the record formats of full
	// frames (CI 0x78, 0x7A, 0x72) by their format signature, so that
	// later compact frames (CI 0x79) of the same meter model decode. Off,
	// only the profiles' formats are known.
	LearnFormats bool
}

// maxKeys bounds the key-schedule cache; when full it is cleared.
const maxKeys = 4096

// Decoder decodes telegrams. It caches AES key schedules per key and
// reuses scratch buffers; it is not safe for concurrent use.
type Decoder struct {
	opts    Options
	keys    map[[16]byte]cipher.Block
	scratch []byte // link-layer-stripped frame
	macBuf  []byte // AFL MAC input
	cs      scratch
	key     []byte // the key of the telegram being decoded, for code decoders
	kdfIn   [16]byte
	full    []byte // a compact frame's rebuilt records
	fmtBuf  []byte // a full frame's format while learning
	fields  []int  // a format's header ends and data lengths
	learned map[uint16][]byte
}

// NewDecoder returns a decoder; o may be nil.
func NewDecoder(o *Options) *Decoder {
	d := &Decoder{keys: make(map[[16]byte]cipher.Block)}
	if o != nil {
		d.opts = *o
	}
	return d
}

// block returns the cached AES key schedule of key.
func (d *Decoder) block(key []byte) (cipher.Block, error) {
	if len(key) != 16 {
		return nil, errAt(0, ErrKey, "got %d bytes", len(key))
	}
	k := [16]byte(key)
	if b, ok := d.keys[k]; ok {
		return b, nil
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, errAt(0, ErrKey, "%v", err)
	}
	if len(d.keys) >= maxKeys {
		clear(d.keys)
	}
	d.keys[k] = b
	return b, nil
}

// ParseHeader reads a telegram's header without a key: the link layer,
// the CI chain, ELL, AFL and TPL headers. It is what a receiver calls to
// filter by meter before decrypting. The format is detected.
func ParseHeader(frame []byte) (Header, error) {
	var d Decoder
	var h Header
	err := d.Header(frame, &h)
	return h, err
}

// Decode decodes one telegram with the meter's key (nil: none) using a
// fresh decoder with default options. A long-running reader should keep a
// Decoder and a Telegram and call Decoder.Decode instead.
func Decode(frame, key []byte) (*Telegram, error) {
	t := new(Telegram)
	err := NewDecoder(nil).Decode(frame, key, t)
	return t, err
}
