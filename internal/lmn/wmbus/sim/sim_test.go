package sim

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef")

func TestCRC(t *testing.T) {
	// CRC-16/EN-13757 check value.
	if got := crc13757([]byte("123456789")); got != 0xC2B7 {
		t.Errorf("crc13757 check value 0x%04X, want 0xC2B7", got)
	}
}

func TestTypeF(t *testing.T) {
	// 2026-11-22 05:45 → min 45, hour 5, day 22, month 11, year 26.
	got := typeF(time.Date(2026, 11, 22, 5, 45, 0, 0, time.UTC))
	want := uint32(45) | 5<<8 | 22<<16 | (26&7)<<21 | 11<<24 | (26>>3)<<28
	if got != want {
		t.Errorf("typeF = %08x, want %08x", got, want)
	}
}

// strip removes format-A CRCs, checking them.
func strip(t *testing.T, f []byte) []byte {
	t.Helper()
	var out []byte
	for i, first := 0, true; i < len(f); first = false {
		n := 16
		if first {
			n = 10
		}
		n = min(n, len(f)-i-2)
		blk := f[i : i+n]
		crc := uint16(f[i+n])<<8 | uint16(f[i+n+1])
		if crc != crc13757(blk) {
			t.Fatalf("block at %d: bad CRC", i)
		}
		out = append(out, blk...)
		i += n + 2
	}
	return out
}

func TestTelegramDecrypts(t *testing.T) {
	for _, kind := range []Kind{Water, Heat} {
		m, err := New(Options{Kind: kind, Manufacturer: "SMG", Address: "12345678", Key: testKey, Access: 0x41, Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 22, 7, 15, 0, 0, time.UTC)
		f := strip(t, m.Telegram(at))
		if int(f[0]) != len(f)-1 {
			t.Fatalf("%s: L %d for %d bytes", kind, f[0], len(f))
		}
		if !bytes.Equal(f[2:8], []byte{0xA7, 0x4D, 0x78, 0x56, 0x34, 0x12}) {
			t.Errorf("%s: address % x", kind, f[2:8])
		}
		if f[10] != 0x7A || f[11] != 0x41 || f[14] != 0x05 {
			t.Errorf("%s: TPL header % x", kind, f[10:15])
		}
		enc := f[15:]
		if len(enc)%16 != 0 || int(f[13]>>4) != len(enc)/16 {
			t.Fatalf("%s: %d encrypted bytes, config % x", kind, len(enc), f[13:15])
		}
		iv := append(append([]byte(nil), f[2:10]...), bytes.Repeat([]byte{0x41}, 8)...)
		b, _ := aes.NewCipher(testKey)
		plain := make([]byte, len(enc))
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(plain, enc)
		if plain[0] != 0x2F || plain[1] != 0x2F {
			t.Errorf("%s: decrypted % x: no 2F2F", kind, plain)
		}
		if kind == Water && !bytes.Equal(plain[2:4], []byte{0x04, 0x13}) {
			t.Errorf("water: first record % x", plain[2:8])
		}
	}
	if _, err := New(Options{Kind: "gas", Manufacturer: "SMG", Address: "12345678"}); err == nil {
		t.Error("gas: no error")
	}
	if _, err := New(Options{Kind: Water, Manufacturer: "SMG", Address: "1234567"}); err == nil {
		t.Error("short address: no error")
	}
	if _, err := New(Options{Kind: Water, Manufacturer: "SMG", Address: "12345678", Key: []byte{1}}); err == nil {
		t.Error("short key: no error")
	}
}

func TestAccessNumberAdvances(t *testing.T) {
	m, _ := New(Options{Kind: Water, Manufacturer: "SMG", Address: "00000001", Access: 255})
	at := time.Now()
	a, b := m.Telegram(at), m.Telegram(at)
	if a[13] != 255 || b[13] != 0 { // byte 11 of the stripped frame, 13 with the first CRC
		t.Errorf("access numbers %d, %d", a[13], b[13])
	}
}

func TestRun(t *testing.T) {
	m, _ := New(Options{Kind: Heat, Manufacturer: "SMG", Address: "00000002", Key: testKey})
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, &buf, []*Meter{m}, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(buf.String())
	if _, err := hex.DecodeString(line); err != nil || strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("output %q", buf.String())
	}
}
