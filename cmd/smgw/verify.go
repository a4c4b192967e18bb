package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/smgw/smgw/internal/ctl"
	"github.com/smgw/smgw/internal/keys"
	"github.com/smgw/smgw/internal/wan/payload"
)

// cmdVerify decodes a message the MQTT uplink published (saved to a
// file), checks its signature and prints its readings. Exit 0: verified
// (or decoded, with --no-verify); 1: malformed, unsigned or a signature
// that does not verify.
func (c *cli) cmdVerify(ctx context.Context, args []string) int {
	fs := c.flagSet("verify")
	pubFile := fs.String("pubkey", "", "PEM `file` with the gateway's public key (smgw keys: identity.pub)")
	certFile := fs.String("cert", "", "PEM `file` with the gateway's certificate (identity.crt); its key verifies")
	format := fs.String("format", "text", "output `format`: text or json (one reading per line)")
	noVerify := fs.Bool("no-verify", false, "decode without checking the signature")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("verify", "want one FILE (\"-\" for standard input)")
	}
	if !checkFormat(*format, "text", "json") {
		return c.usageErr("verify", "unknown format %q", *format)
	}
	if *pubFile != "" && *certFile != "" {
		return c.usageErr("verify", "give --pubkey or --cert, not both")
	}
	if *pubFile == "" && *certFile == "" && !*noVerify {
		return c.usageErr("verify", "give --pubkey FILE or --cert FILE to verify with (or --no-verify)")
	}
	var msg []byte
	var err error
	if pos[0] == "-" {
		msg, err = io.ReadAll(io.LimitReader(os.Stdin, 256<<20))
	} else {
		msg, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return c.fail("verify", err)
	}
	var pub *ecdsa.PublicKey
	if kf := *pubFile + *certFile; kf != "" {
		b, err := os.ReadFile(kf)
		if err != nil {
			return c.fail("verify", err)
		}
		if pub, err = keys.ParsePublicKey(kf, b); err != nil {
			return c.fail("verify", err)
		}
	}
	var b *payload.Batch
	var f payload.Format
	verdict := "signature not checked"
	if *noVerify {
		b, f, err = payload.Inspect(msg)
	} else {
		b, f, err = payload.Verify(msg, pub)
		verdict = "signature OK (ES256)"
	}
	if err != nil {
		if errors.Is(err, payload.ErrUnsigned) {
			return c.fail("verify", fmt.Errorf("%s: an unsigned JSON message; nothing to verify (use --no-verify to print it)", pos[0]))
		}
		return c.fail("verify", fmt.Errorf("%s: %w", pos[0], err))
	}
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	fmt.Fprintf(c.stderr, "%s: %s message of gateway %s, sequence %d…%d (%d readings), %s\n",
		pos[0], f, b.Gateway, b.First, b.Last, len(b.Readings), verdict)
	if *format == "json" {
		for _, r := range b.Readings {
			w.Write(ctl.EncodeReadingJSON(nil, r))
			w.WriteByte('\n')
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tMETER\tOBIS\tTIME\tVALUE\tUNIT\tQUALITY\tSOURCE")
	for i, r := range b.Readings {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.First+uint64(i), r.Meter, r.OBIS,
			r.Time.UTC().Format(time.RFC3339Nano), r.Value, r.Unit, r.Quality, r.Source)
	}
	tw.Flush()
	return exitOK
}

// fmtUplink is the uplink line of `smgw status`.
func fmtUplink(u *ctl.UplinkStatus, now time.Time) string {
	if u.Broker == "" {
		return fmt.Sprintf("no MQTT broker configured; %d readings queued in outbox channel %q", u.Pending, u.Channel)
	}
	state := "DISCONNECTED"
	if u.Connected {
		state = "connected"
	}
	s := fmt.Sprintf("MQTT %s %s, %d readings pending, last PUBACK %s, %d messages (%d readings) sent, %d bytes today",
		u.Broker, state, u.Pending, ago(u.LastPuback, now), u.Published, u.Readings, u.BytesToday)
	if u.LastError != "" && !u.Connected {
		s += "; last error: " + u.LastError
	}
	return s
}
