package hdlc_test

import (
	"fmt"

	"github.com/smgw/smgw/internal/proto/hdlc"
)

// A client link: connect, send an APDU, receive the frames of the answer.
// The server side here is a second Link; on a real line the frames go
// through a port and a Scanner.
func ExampleLink() {
	client, _ := hdlc.NewLink(hdlc.LinkConfig{Role: hdlc.RoleClient, Client: hdlc.ClientAddress(16),
		Server: hdlc.ServerAddress(1, 17), Params: hdlc.Params{MaxInfoTx: 512, MaxInfoRx: 512, WindowTx: 7, WindowRx: 7}})
	server, _ := hdlc.NewLink(hdlc.LinkConfig{Role: hdlc.RoleServer, Server: hdlc.ServerAddress(1, 17),
		Params: hdlc.Params{MaxInfoTx: 256, MaxInfoRx: 2048, WindowTx: 3, WindowRx: 7}})

	var sc hdlc.Scanner
	deliver := func(to *hdlc.Link, frames ...[]byte) (out hdlc.Output) {
		for _, raw := range frames {
			sc.Write(raw)
			f, ok, err := sc.Next()
			if !ok || err != nil {
				panic(err)
			}
			o, err := to.Receive(f)
			if err != nil {
				panic(err)
			}
			out.Frames = append(out.Frames, o.Frames...)
			if o.APDU != nil {
				out.APDU = o.APDU
			}
		}
		return out
	}
	snrm, _ := client.Connect()
	ua := deliver(server, snrm).Frames
	deliver(client, ua...)
	fmt.Printf("client negotiated %+v\n", client.Negotiated())

	frames, _ := client.Send([]byte{0xC0, 0x01, 0xC1, 0x00, 0x08, 0, 0, 1, 0, 0, 0xFF, 0x02, 0x00})
	req := deliver(server, frames...).APDU
	fmt.Printf("server got % X\n", req)

	answer := make([]byte, 1000)
	out, _ := server.Send(answer)
	rounds := 0
	for {
		rounds++
		o := deliver(client, out...)
		if o.APDU != nil {
			fmt.Printf("client got %d bytes after %d windows\n", len(o.APDU), rounds)
			break
		}
		out = deliver(server, o.Frames...).Frames
	}
	// Output:
	// client negotiated {MaxInfoTx:512 MaxInfoRx:256 WindowTx:7 WindowRx:3}
	// server got C0 01 C1 00 08 00 00 01 00 00 FF 02 00
	// client got 1000 bytes after 2 windows
}
