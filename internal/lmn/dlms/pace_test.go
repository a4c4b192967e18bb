package dlms

import (
	"context"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/serial"
	"github.com/smgw/smgw/internal/lmn/dlms/dlmssim"
	"github.com/smgw/smgw/internal/testutil/ptypace"
)

// pacedLine is line() over a line of ptys paced to the character time
// char (internal/testutil/ptypace), for line-rate figures: it returns the
// driver's port and the line (its Bytes are the bytes on the wire).
func pacedLine(t testing.TB, char time.Duration, sims ...*dlmssim.Meter) (serial.Port, *ptypace.Line) {
	t.Helper()
	l := ptypace.New(t, char)
	drv, simPort := openPort(t, l.Driver), openPort(t, l.Peer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); dlmssim.ServeLine(ctx, simPort, sims...) }()
	t.Cleanup(func() { cancel(); <-done })
	return drv, l
}
