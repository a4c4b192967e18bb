package zigbee

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/zigbee/znp"
)

// nullPort is a port that swallows writes and never reads.
type nullPort struct{}

func (nullPort) Read([]byte) (int, error)        { return 0, io.EOF }
func (nullPort) Write(b []byte) (int, error)     { return len(b), nil }
func (nullPort) Close() error                    { return nil }
func (nullPort) SetReadDeadline(time.Time) error { return nil }
func (nullPort) Flush() error                    { return nil }
func (nullPort) Name() string                    { return "null" }

// FuzzDispatch feeds any bytes from the "co-processor" through the
// decoder into the driver's dispatch, with an SREQ pending, waiters and a
// data confirm registered: no input may panic or block it.
func FuzzDispatch(f *testing.F) {
	for _, fr := range []znp.Frame{
		znp.SysResetInd{Reason: znp.ResetWatchdog}.Frame(),
		znp.AfDataConfirm{Status: znp.MacNoAck, Endpoint: 1, TransID: 1}.Frame(),
		znp.ZdoEndDeviceAnnceInd{SrcAddr: 1, NwkAddr: 1, IEEE: 2}.Frame(),
		znp.ZdoLeaveInd{SrcAddr: 1, ExtAddr: 2}.Frame(),
		znp.ZdoStateChangeInd{State: znp.DevZBCoord}.Frame(),
		znp.RPCErrorRsp{Code: znp.RPCInvalidLength, ReqCmd: znp.CmdSysPing}.Frame(),
		znp.SysPingRsp{Capabilities: 0x0979}.Frame(),
	} {
		b, _ := znp.AppendFrame(nil, fr)
		f.Add(b)
	}
	if in, err := (znp.AfIncomingMsg{Cluster: 0x0702, SrcAddr: 1, Data: []byte{1, 2, 3}}).Frame(); err == nil {
		b, _ := znp.AppendFrame(nil, in)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		z := NewZNP(nullPort{}, &ZNPOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), EventBuffer: 4})
		z.cfg = &NetworkConfig{}
		z.pending = &pendingSREQ{cmd: znp.CmdSysPing, ch: make(chan znp.Frame, 1)}
		z.confirms[1] = make(chan znp.AfDataConfirm, 1)
		z.await(func(fr znp.Frame) bool { return fr.Cmd.Type() == znp.AREQ })
		var d znp.Decoder
		d.Write(b)
		for {
			fr, ok, err := d.Next()
			if err != nil {
				continue
			}
			if !ok {
				break
			}
			z.dispatch(fr)
		}
	})
}
