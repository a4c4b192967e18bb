package hdlc

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func newPair(t testing.TB, cp, sp Params) (client, server *Link) {
	t.Helper()
	ca, sa := ClientAddress(16), ServerAddress(1, 17)
	var err error
	if client, err = NewLink(LinkConfig{Role: RoleClient, Client: ca, Server: sa, Params: cp}); err != nil {
		t.Fatal(err)
	}
	if server, err = NewLink(LinkConfig{Role: RoleServer, Server: sa, Params: sp}); err != nil {
		t.Fatal(err)
	}
	snrm, err := client.Connect()
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(snrm)
	if err != nil {
		t.Fatal(err)
	}
	out, err := server.Receive(f)
	if err != nil || len(out.Frames) != 1 || out.Event != EventConnected {
		t.Fatalf("SNRM: %+v %v", out, err)
	}
	ua, err := Parse(out.Frames[0])
	if err != nil {
		t.Fatal(err)
	}
	if out, err = client.Receive(ua); err != nil || out.Event != EventConnected {
		t.Fatalf("UA: %+v %v", out, err)
	}
	return client, server
}

// wire carries frames between the two links, dropping some.
type wire struct {
	t        testing.TB
	rng      *rand.Rand
	dropRate float64
	frames   int
	bursts   []int // server frames sent per turn
}

func (w *wire) deliver(to *Link, frames [][]byte) (Output, [][]byte) {
	var all Output
	var replies [][]byte
	for _, raw := range frames {
		w.frames++
		if w.rng != nil && w.rng.Float64() < w.dropRate {
			continue
		}
		f, err := Parse(raw)
		if err != nil {
			w.t.Fatal(err)
		}
		out, err := to.Receive(f)
		if err != nil && !errors.Is(err, ErrProtocol) {
			w.t.Fatal(err)
		}
		replies = append(replies, out.Frames...)
		if out.APDU != nil {
			all.APDU = out.APDU
		}
	}
	return all, replies
}

// exchange sends req from client to server and resp back, returning what
// each side received.
func (w *wire) exchange(client, server *Link, req, resp []byte) (gotReq, gotResp []byte) {
	w.t.Helper()
	c2s, err := client.Send(req)
	if err != nil {
		w.t.Fatal(err)
	}
	var s2c [][]byte
	for turn := 0; turn < 10000; turn++ {
		if len(c2s) == 0 && len(s2c) == 0 {
			c2s = client.Retransmit() // the reply timeout
		}
		out, replies := w.deliver(server, c2s)
		c2s = nil
		s2c = append(s2c, replies...)
		if out.APDU != nil {
			gotReq = append([]byte(nil), out.APDU...)
			frames, err := server.Send(resp)
			if err != nil {
				w.t.Fatal(err)
			}
			s2c = append(s2c, frames...)
		}
		if len(s2c) > 0 {
			w.bursts = append(w.bursts, len(s2c))
		}
		out, c2s = w.deliver(client, s2c)
		s2c = nil
		if out.APDU != nil {
			return gotReq, out.APDU
		}
	}
	w.t.Fatalf("no response after 10000 turns")
	return nil, nil
}

func pattern(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + seed)
	}
	return p
}

// TestLinkWindows: APDUs of many sizes cross in both directions with
// every window and several information field sizes, with and without
// lost frames, and arrive whole; with a window above 1 the server sends
// bursts of up to the window.
func TestLinkWindows(t *testing.T) {
	for _, win := range []uint32{1, 2, 3, 7} {
		for _, info := range []uint32{32, 128, 256, 1024} {
			for _, drop := range []float64{0, 0.15} {
				name := fmt.Sprintf("win%d/info%d/drop%v", win, info, drop)
				t.Run(name, func(t *testing.T) {
					p := Params{MaxInfoTx: info, MaxInfoRx: info, WindowTx: win, WindowRx: win}
					client, server := newPair(t, p, Params{MaxInfoTx: 2048, MaxInfoRx: 2048, WindowTx: 7, WindowRx: 7})
					if n := client.Negotiated(); n != p {
						t.Fatalf("negotiated %+v, want %+v", n, p)
					}
					w := &wire{t: t}
					if drop > 0 {
						w.rng, w.dropRate = rand.New(rand.NewPCG(uint64(win), uint64(info))), drop
					}
					for i, size := range []int{1, 20, int(info) - 3, int(info) - 2, int(info), 3 * int(info), 5000} {
						req, resp := pattern(size, i), pattern(size*2+1, i+1)
						gotReq, gotResp := w.exchange(client, server, req, resp)
						if !bytes.Equal(gotReq, req) || !bytes.Equal(gotResp, resp) {
							t.Fatalf("size %d: request %d/%d bytes, response %d/%d bytes", size, len(gotReq), len(req), len(gotResp), len(resp))
						}
					}
					if drop == 0 {
						most := 0
						for _, b := range w.bursts {
							most = max(most, b)
						}
						if most != int(win) {
							t.Fatalf("largest burst %d frames, window %d", most, win)
						}
					}
				})
			}
		}
	}
}

// TestLinkNegotiation: the server caps what the client proposes, the
// client caps what the server offers, and defaults fill what is not sent.
func TestLinkNegotiation(t *testing.T) {
	client, server := newPair(t, Params{MaxInfoTx: 1024, MaxInfoRx: 512, WindowTx: 7, WindowRx: 7},
		Params{MaxInfoTx: 256, MaxInfoRx: 2048, WindowTx: 3, WindowRx: 1})
	if got, want := client.Negotiated(), (Params{MaxInfoTx: 1024, MaxInfoRx: 256, WindowTx: 1, WindowRx: 3}); got != want {
		t.Fatalf("client %+v, want %+v", got, want)
	}
	if got, want := server.Negotiated(), (Params{MaxInfoTx: 256, MaxInfoRx: 1024, WindowTx: 3, WindowRx: 1}); got != want {
		t.Fatalf("server %+v, want %+v", got, want)
	}
	client, _ = newPair(t, Params{}, Params{})
	if got := client.Negotiated(); got != (Params{128, 128, 1, 1}) {
		t.Fatalf("defaults %+v", got)
	}
}

// TestLinkDisconnect: DISC/UA ends the link; a server answers frames
// while disconnected with DM; a client refused with DM reports it.
func TestLinkDisconnect(t *testing.T) {
	client, server := newPair(t, Params{}, Params{})
	disc, _ := client.Disconnect()
	f, _ := Parse(disc)
	out, err := server.Receive(f)
	if err != nil || out.Event != EventDisconnected || len(out.Frames) != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	ua, _ := Parse(out.Frames[0])
	if ua.Control.Kind() != KindUA {
		t.Fatal(ua)
	}
	if out, err = client.Receive(ua); err != nil || out.Event != EventDisconnected || client.Connected() {
		t.Fatalf("%+v %v", out, err)
	}
	if _, err := client.Send([]byte{1}); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
	// A frame to a disconnected server: DM.
	i := Frame{Dest: ServerAddress(1, 17), Src: ClientAddress(16), Control: IControl(0, 0, true), Info: []byte{0xE6, 0xE6, 0, 1}}
	out, err = server.Receive(i)
	if !errors.Is(err, ErrProtocol) || len(out.Frames) != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	dm, _ := Parse(out.Frames[0])
	if dm.Control.Kind() != KindDM {
		t.Fatal(dm)
	}
	snrm, _ := client.Connect()
	_ = snrm
	if out, err = client.Receive(dm); out.Event != EventRefused || !errors.Is(err, ErrProtocol) {
		t.Fatalf("%+v %v", out, err)
	}
}

// TestLinkErrors: frames for other stations, acknowledgements of frames
// never sent, and a wrong LLC header are reported, not fatal.
func TestLinkErrors(t *testing.T) {
	client, server := newPair(t, Params{}, Params{})
	other := Frame{Dest: ClientAddress(17), Src: ServerAddress(1, 17), Control: RRControl(0, true)}
	if _, err := client.Receive(other); !errors.Is(err, ErrOtherStation) {
		t.Fatal(err)
	}
	bogus := Frame{Dest: ClientAddress(16), Src: ServerAddress(1, 17), Control: RRControl(5, true)}
	if _, err := client.Receive(bogus); !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
	w := &wire{t: t}
	req, resp := w.exchange(client, server, []byte{1, 2, 3}, []byte{4})
	if !bytes.Equal(req, []byte{1, 2, 3}) || !bytes.Equal(resp, []byte{4}) {
		t.Fatal(req, resp)
	}
	// N(S)=1 N(R)=1 is next from the client; without an LLC header it is
	// acknowledged but dropped.
	noLLC := Frame{Dest: ServerAddress(1, 17), Src: ClientAddress(16), Control: IControl(1, 1, true), Info: []byte{0xC0, 1}}
	if _, err := server.Receive(noLLC); !errors.Is(err, ErrLLC) {
		t.Fatal(err)
	}
	if _, err := NewLink(LinkConfig{Role: RoleClient, Client: Address{Upper: 300, Size: 1}, Server: ServerAddress(1, 1)}); !errors.Is(err, ErrAddress) {
		t.Fatal(err)
	}
}

func TestAddresses(t *testing.T) {
	for _, a := range []Address{ClientAddress(16), {Upper: 1, Size: 1}, ServerAddress(1, 17), ServerAddress(1, 0x3FFF), ServerAddress(0x200, 5)} {
		b := a.Append(nil)
		got, n, err := parseAddress(b)
		if err != nil || n != int(a.Size) || got != a {
			t.Fatalf("%v: % X → %v %d %v", a, b, got, n, err)
		}
	}
	if b := ServerAddress(1, 17).Append(nil); !bytes.Equal(b, []byte{0x02, 0x23}) {
		t.Fatalf("% X", b)
	}
	if b := ServerAddress(1, 0x3FFF).Append(nil); !bytes.Equal(b, []byte{0x00, 0x02, 0xFE, 0xFF}) {
		t.Fatalf("% X", b)
	}
	if _, _, err := parseAddress([]byte{0x02, 0x02, 0x02}); !errors.Is(err, ErrAddress) {
		t.Fatal(err)
	}
	if _, _, err := parseAddress([]byte{0x02, 0x02, 0x03}); !errors.Is(err, ErrAddress) {
		t.Fatal(err) // 3 bytes is not a valid length
	}
}

// TestCRC checks CRC-16/X.25 against its catalogue check value and the
// example frame of IEC 62056-46 / the Green Book (SNRM from client 0x21 to
// server 0x03: 7E A0 07 03 21 93 0F 01 7E).
func TestCRC(t *testing.T) {
	if c := CRC([]byte("123456789")); c != 0x906E {
		t.Fatalf("check value 0x%04X, want 0x906E", c)
	}
	f := Frame{Dest: Address{Upper: 1, Size: 1}, Src: ClientAddress(16), Control: SNRM}
	if got := f.Append(nil); !bytes.Equal(got, []byte{0x7E, 0xA0, 0x07, 0x03, 0x21, 0x93, 0x0F, 0x01, 0x7E}) {
		t.Fatalf("% X", got)
	}
}

func TestControl(t *testing.T) {
	for _, c := range []struct {
		c    Control
		kind Kind
		s    string
	}{
		{IControl(3, 4, true), KindI, "I N(S)=3 N(R)=4 P/F"},
		{RRControl(7, false), KindRR, "RR N(R)=7"},
		{RNRControl(2, true), KindRNR, "RNR N(R)=2 P/F"},
		{SNRM, KindSNRM, "SNRM P/F"}, {DISC, KindDISC, "DISC P/F"}, {UA, KindUA, "UA P/F"},
		{DM, KindDM, "DM P/F"}, {FRMR, KindFRMR, "FRMR P/F"}, {UI, KindUI, "UI P/F"},
		{0xFF, KindUnknown, "control 0xFF"},
	} {
		if c.c.Kind() != c.kind || c.c.String() != c.s {
			t.Errorf("0x%02X: %v %q", byte(c.c), c.c.Kind(), c.c.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := []byte{0x7E, 0xA0, 0x07, 0x03, 0x21, 0x93, 0x0F, 0x01, 0x7E}
	for name, c := range map[string]struct {
		mut  func([]byte) []byte
		want error
	}{
		"short":   {func(b []byte) []byte { return b[:5] }, ErrShort},
		"flag":    {func(b []byte) []byte { b[0] = 0; return b }, ErrFlag},
		"type":    {func(b []byte) []byte { b[1] = 0xB0; return b }, ErrFormat},
		"length":  {func(b []byte) []byte { b[2] = 0x08; return b }, ErrFormat},
		"fcs":     {func(b []byte) []byte { b[6] ^= 1; return b }, ErrFCS},
		"address": {func(b []byte) []byte { b[3] = 0x02; b[4] = 0x20; return b }, ErrAddress},
	} {
		b := c.mut(append([]byte(nil), good...))
		if _, err := Parse(b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// A bad HCS in a frame with information.
	f := Frame{Dest: Address{Upper: 1, Size: 1}, Src: ClientAddress(16), Control: IControl(0, 0, true), Info: []byte{0xE6, 0xE6, 0, 1}}
	b := f.Append(nil)
	b[6] ^= 1
	if _, err := Parse(b); !errors.Is(err, ErrHCS) {
		t.Fatal(err)
	}
}

func TestParams(t *testing.T) {
	for _, p := range []Params{{}, {MaxInfoTx: 128}, {2030, 512, 7, 7}, {70000, 1, 1, 3}} {
		b := p.Append(nil)
		got, err := ParseParams(b)
		if err != nil || got != p {
			t.Fatalf("%+v: % X → %+v %v", p, b, got, err)
		}
	}
	// The Green Book's example: max info 128 each way as 1 byte, windows 1 as 4 bytes.
	want := []byte{0x81, 0x80, 0x12, 0x05, 0x01, 0x80, 0x06, 0x01, 0x80, 0x07, 0x04, 0, 0, 0, 1, 0x08, 0x04, 0, 0, 0, 1}
	if got := (Params{128, 128, 1, 1}).Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("% X", got)
	}
	for _, bad := range [][]byte{{0x81}, {0x82, 0x80, 0}, {0x81, 0x80, 5, 5, 1}, {0x81, 0x80, 3, 5, 3, 0}} {
		if _, err := ParseParams(bad); !errors.Is(err, ErrParams) {
			t.Errorf("% X: %v", bad, err)
		}
	}
}

// TestLinkBusyAndLimits: RNR holds the sender until RR; a server answers a
// poll with nothing to send with RR; an APDU over MaxAPDU is dropped with
// ErrTooLong and the link goes on.
func TestLinkBusyAndLimits(t *testing.T) {
	client, server := newPair(t, Params{MaxInfoTx: 32, MaxInfoRx: 32}, Params{})
	frames, err := client.Send(make([]byte, 100)) // 4 segments, window 1
	if err != nil || len(frames) != 1 {
		t.Fatal(len(frames), err)
	}
	rnr := Frame{Dest: ClientAddress(16), Src: ServerAddress(1, 17), Control: RNRControl(1, true)}
	out, err := client.Receive(rnr)
	if err != nil || len(out.Frames) != 0 {
		t.Fatalf("after RNR: %d frames, %v", len(out.Frames), err)
	}
	rr := Frame{Dest: ClientAddress(16), Src: ServerAddress(1, 17), Control: RRControl(1, true)}
	if out, err = client.Receive(rr); err != nil || len(out.Frames) != 1 {
		t.Fatalf("after RR: %d frames, %v", len(out.Frames), err)
	}
	// A server polled with nothing to send answers RR.
	poll := Frame{Dest: ServerAddress(1, 17), Src: ClientAddress(16), Control: RRControl(0, true)}
	out, err = server.Receive(poll)
	if err != nil || len(out.Frames) != 1 {
		t.Fatalf("%d frames %v", len(out.Frames), err)
	}
	if f, _ := Parse(out.Frames[0]); f.Control.Kind() != KindRR || !f.Control.PF() {
		t.Fatal(f)
	}

	small, err := NewLink(LinkConfig{Role: RoleServer, Server: ServerAddress(1, 17), MaxAPDU: 10})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := NewLink(LinkConfig{Role: RoleClient, Client: ClientAddress(16), Server: ServerAddress(1, 17)})
	if err != nil {
		t.Fatal(err)
	}
	snrm, _ := c2.Connect()
	f, _ := Parse(snrm)
	o, _ := small.Receive(f)
	ua, _ := Parse(o.Frames[0])
	if _, err := c2.Receive(ua); err != nil {
		t.Fatal(err)
	}
	frames, _ = c2.Send(make([]byte, 20))
	f, _ = Parse(frames[0])
	if _, err := small.Receive(f); !errors.Is(err, ErrTooLong) {
		t.Fatal(err)
	}
}
