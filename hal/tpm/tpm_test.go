package tpm

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
	}{
		{"tpm0", ErrSpec},
		{"swtpm://nohost", ErrSpec},
		{"/nonexistent/tpmrm0", ErrNotFound},
		{"/dev/null", ErrNotFound}, // a character device, but: see below
		{Simulator, ErrSpec},       // not registered in this package's tests
	} {
		tt, err := Open(tc.name)
		if tc.name == "/dev/null" {
			// /dev/null is a character device: it opens, and the first
			// command fails as a transport error.
			if err != nil {
				t.Errorf("Open(/dev/null): %v", err)
				continue
			}
			if _, err := tt.Send(make([]byte, 10)); !errors.Is(err, ErrTransport) {
				t.Errorf("Send on /dev/null: %v, want ErrTransport", err)
			}
			tt.Close()
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("Open(%q) = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Nothing listening.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if _, err := Open(SwtpmScheme + addr); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(swtpm://%s) with nothing listening: %v, want ErrNotFound", addr, err)
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"/dev/tpmrm0": true, "swtpm://127.0.0.1:2321": true, Simulator: true,
		"tpmrm0": false, "swtpm://127.0.0.1": false, "": false,
	} {
		if got := CheckName(name) == ""; got != ok {
			t.Errorf("CheckName(%q) ok = %v, want %v", name, got, ok)
		}
	}
}

// fakeSwtpm answers each command with the responses given in turn,
// writing each in small pieces to exercise partial reads.
func fakeSwtpm(t *testing.T, responses ...[]byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for _, rsp := range responses {
			hdr := make([]byte, 10)
			if _, err := io.ReadFull(c, hdr); err != nil {
				return
			}
			if _, err := io.ReadFull(c, make([]byte, binary.BigEndian.Uint32(hdr[2:])-10)); err != nil {
				return
			}
			for i := 0; i < len(rsp); i += 3 {
				c.Write(rsp[i:min(i+3, len(rsp))])
				time.Sleep(time.Millisecond)
			}
		}
	}()
	return l.Addr().String()
}

func response(rc uint32, body ...byte) []byte {
	r := binary.BigEndian.AppendUint16(nil, 0x8001)
	r = binary.BigEndian.AppendUint32(r, uint32(10+len(body)))
	r = binary.BigEndian.AppendUint32(r, rc)
	return append(r, body...)
}

func command() []byte {
	c := binary.BigEndian.AppendUint16(nil, 0x8001)
	c = binary.BigEndian.AppendUint32(c, 12)
	c = binary.BigEndian.AppendUint32(c, 0x17B) // TPM2_GetRandom
	return binary.BigEndian.AppendUint16(c, 8)
}

func TestSwtpmTransportRetries(t *testing.T) {
	want := response(0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8)
	addr := fakeSwtpm(t, response(rcRetry), response(rcTesting), want)
	tt, err := Open(SwtpmScheme + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Close()
	got, err := tt.Send(command())
	if err != nil || string(got) != string(want) {
		t.Fatalf("Send = %x, %v; want %x", got, err, want)
	}
	if _, err := tt.Send(command()); !errors.Is(err, ErrTransport) {
		t.Errorf("Send after the server closed: %v, want ErrTransport", err)
	}
	tt.Close()
	if _, err := tt.Send(command()); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestSwtpmTransportBadSize(t *testing.T) {
	bad := response(0)
	binary.BigEndian.PutUint32(bad[2:], 4) // shorter than a header
	tt, err := Open(SwtpmScheme + fakeSwtpm(t, bad))
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Close()
	if _, err := tt.Send(command()); !errors.Is(err, ErrTransport) {
		t.Errorf("response of size 4: %v, want ErrTransport", err)
	}
}

// counting is a transport that checks no two commands overlap.
type counting struct {
	mu     sync.Mutex
	inside int
	bad    bool
}

func (c *counting) Send(b []byte) ([]byte, error) {
	c.mu.Lock()
	c.inside++
	if c.inside > 1 {
		c.bad = true
	}
	c.mu.Unlock()
	time.Sleep(50 * time.Microsecond)
	c.mu.Lock()
	c.inside--
	c.mu.Unlock()
	return response(0), nil
}
func (c *counting) Close() error { return nil }

func TestSerialised(t *testing.T) {
	ct := &counting{}
	tt := New("test", ct)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				tt.Send(command())
				tt.Do(func(x transport.TPM) error {
					x.Send(command())
					x.Send(command())
					return nil
				})
			}
		}()
	}
	wg.Wait()
	if ct.bad {
		t.Fatal("two commands were in the transport at once")
	}
}
