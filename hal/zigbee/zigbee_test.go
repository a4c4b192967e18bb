package zigbee

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseEUI64(t *testing.T) {
	for _, s := range []string{"00124B0001020304", "00:12:4b:00:01:02:03:04", "00-12-4B-00-01-02-03-04"} {
		v, err := ParseEUI64(s)
		if err != nil || v != 0x00124B0001020304 {
			t.Errorf("%q: %X %v", s, v, err)
		}
	}
	for _, s := range []string{"", "00124B000102030", "00124B00010203040", "00124B000102030G", ":00124B0001020304"} {
		if _, err := ParseEUI64(s); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", s, err)
		}
	}
}

func TestParseInstallCode(t *testing.T) {
	b, err := ParseInstallCode("83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5")
	if err != nil || len(b) != 18 || b[0] != 0x83 || b[17] != 0xB5 {
		t.Fatalf("% X %v", b, err)
	}
	key, err := InstallCodeKey(b)
	want := []byte{0x66, 0xB6, 0x90, 0x09, 0x81, 0xE1, 0xEE, 0x3C, 0xA4, 0x20, 0x6B, 0x6B, 0x86, 0x1C, 0x02, 0xBB}
	if err != nil || !bytes.Equal(key[:], want) {
		t.Fatalf("key %X %v", key, err)
	}
	for _, s := range []string{"83FED3407A939723A5C639B26916D505C3B6", "83F", "83FED3407A939723A5C639B26916D505C3BX", "1234"} {
		if _, err := ParseInstallCode(s); !errors.Is(err, ErrInstallCode) {
			t.Errorf("%q: %v, want ErrInstallCode", s, err)
		}
	}
}

func TestValidate(t *testing.T) {
	good := NetworkConfig{Channel: 11, PANID: 1, ExtendedPANID: 1, NetworkKey: [16]byte{1}, Endpoints: []Endpoint{{ID: 1}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, mod := range []func(*NetworkConfig){
		func(c *NetworkConfig) { c.Channel = 10 },
		func(c *NetworkConfig) { c.PANID = 0xFFFF },
		func(c *NetworkConfig) { c.ExtendedPANID = 0 },
		func(c *NetworkConfig) { c.NetworkKey = [16]byte{} },
		func(c *NetworkConfig) { c.Endpoints = []Endpoint{{ID: 241}} },
		func(c *NetworkConfig) { c.Endpoints = []Endpoint{{ID: 1}, {ID: 1}} },
	} {
		c := good
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("case %d: %v", i, err)
		}
	}
}
