package wmbus

import (
	"context"
	"errors"
	"testing"

	"github.com/smgw/smgw/hal/serial"
)

// TestOneOwner: the receiver's device is opened through hal/serial, so a
// line another driver of this process has open is refused (ErrBusy), and
// the receiver's own open holds the device against others.
func TestOneOwner(t *testing.T) {
	dev, _ := ptyPair(t)
	other, err := serial.Open(&serial.Config{Name: dev, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := NewAmber(&AmberOptions{Device: dev, Mode: ModeC1})
	if err := r.Run(context.Background(), func(Frame) {}); !errors.Is(err, serial.ErrBusy) {
		t.Errorf("Run on a line another driver owns: %v, want serial.ErrBusy", err)
	}
	other.Close()

	p, err := openSerial(dev, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := serial.Open(&serial.Config{Name: dev, Baud: 9600}); !errors.Is(err, serial.ErrBusy) {
		t.Errorf("a second owner of the receiver's line: %v, want serial.ErrBusy", err)
	}
	// A read without data comes back as tarm's timeout did: (0, io.EOF).
	if n, err := p.Read(make([]byte, 8)); n != 0 || err == nil || err.Error() != "EOF" {
		t.Errorf("idle read = %d, %v", n, err)
	}
}
