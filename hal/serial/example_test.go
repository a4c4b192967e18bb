package serial_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smgw/smgw/hal/serial"
)

// Open an RS-485 line at 9600 baud 8E1 with the kernel driving the
// transceiver's direction, and read with a deadline.
func ExampleOpen() {
	p, err := serial.Open(&serial.Config{
		Name:   "/dev/ttyS1",
		Baud:   9600,
		Parity: serial.ParityEven,
		RS485:  &serial.RS485{Enabled: true, RTSOnSend: true},
	})
	if errors.Is(err, serial.ErrRS485Unsupported) {
		fmt.Println("this UART cannot drive the transceiver; use an adapter with automatic direction control")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	p.Write([]byte{0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xCB})
	p.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 256)
	n, err := p.Read(buf)
	if errors.Is(err, serial.ErrTimeout) {
		fmt.Println("no answer")
		return
	}
	fmt.Printf("% X\n", buf[:n])
}

// ReadContext ends a read when the context does.
func ExampleReadContext() {
	p, err := serial.DialTCP(context.Background(), "192.168.1.20:502")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	buf := make([]byte, 260)
	n, err := serial.ReadContext(ctx, p, buf)
	fmt.Println(n, err)
}
