package wmbus

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrLine is returned (wrapped) by ParseLine for a line that holds no
// telegram.
var ErrLine = errors.New("wmbus: bad telegram line")

// ParseLine reads one line of a telegram file: hex (optionally 0x-
// prefixed) and, after white space, an optional 16-byte key in hex; or a
// line of rtl-wmbus output ("T1;1;1;2019-04-03 19:00:42.000;97;148;
// 88888888;0x4944…", the telegram in its last field), also optionally
// followed by a key. Blank lines and lines starting with # return nil, nil,
// nil.
func ParseLine(line string) (frame, key []byte, err error) {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' {
		return nil, nil, nil
	}
	if i := strings.LastIndexByte(s, ';'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil, nil, fmt.Errorf("%w: no telegram after the last ';'", ErrLine)
	}
	if len(f) > 2 {
		return nil, nil, fmt.Errorf("%w: %d fields; want HEX [KEY]", ErrLine, len(f))
	}
	frame, err = decodeHex(f[0])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: telegram: %v", ErrLine, err)
	}
	if len(f) == 2 && f[1] != "NOKEY" {
		key, err = decodeHex(f[1])
		if err != nil {
			return nil, nil, fmt.Errorf("%w: key: %v", ErrLine, err)
		}
		if len(key) != 16 {
			return nil, nil, fmt.Errorf("%w: key of %d bytes, want 16", ErrLine, len(key))
		}
	}
	return frame, key, nil
}

func decodeHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if s == "" {
		return nil, errors.New("empty")
	}
	return hex.DecodeString(s)
}
