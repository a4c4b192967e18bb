package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/mbus"
	"github.com/smgw/smgw/internal/proto/wmbus"
	wmbusprofiles "github.com/smgw/smgw/profiles/meters/wmbus"
)

// cmdDecode decodes wireless (and wired) M-Bus telegrams offline:
// smgw decode HEX [--key HEX] [--format json|table], or --file F with one
// telegram a line (hex, optional key; rtl-wmbus lines too; "-" is stdin).
func (c *cli) cmdDecode(_ context.Context, args []string) int {
	fs := c.flagSet("decode")
	keyHex := fs.String("key", "", "the meter's AES-128 key in hex (32 digits)")
	format := fs.String("format", "table", "output format: table or json (one object a line)")
	file := fs.String("file", "", "decode every telegram of `FILE` (one a line: HEX [KEY]; rtl-wmbus lines too; - for stdin)")
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if !checkFormat(*format, "table", "json") {
		return c.usageErr("decode", "unknown format %q (table or json)", *format)
	}
	switch {
	case *file == "" && len(pos) != 1:
		return c.usageErr("decode", "want one telegram in hex, or --file F")
	case *file != "" && len(pos) > 0:
		return c.usageErr("decode", "a telegram argument and --file together")
	}
	var key []byte
	if *keyHex != "" {
		_, k, err := wmbus.ParseLine("00 " + *keyHex)
		if err != nil {
			return c.usageErr("decode", "--key: %v", err)
		}
		key = k
	}
	profs, err := wmbusprofiles.Load()
	if err != nil {
		return c.fail("decode", err)
	}
	dec := wmbus.NewDecoder(&wmbus.Options{Profiles: profs})
	out := bufio.NewWriter(c.stdout)
	defer out.Flush()
	failed := 0
	var tg wmbus.Telegram
	var buf []byte
	one := func(frame, k []byte) {
		if k == nil {
			k = key
		}
		err := dec.Decode(frame, k, &tg)
		if err != nil {
			failed++
		}
		if *format == "json" {
			buf = wmbus.AppendJSON(buf[:0], &tg, err)
			buf = append(buf, '\n')
			out.Write(buf)
			return
		}
		writeTable(out, &tg, err)
	}
	if *file == "" {
		frame, k, err := wmbus.ParseLine(pos[0])
		if err != nil || frame == nil {
			return c.usageErr("decode", "telegram: %v", err)
		}
		one(frame, k)
	} else {
		var r io.Reader = os.Stdin
		if *file != "-" {
			f, err := os.Open(*file)
			if err != nil {
				return c.fail("decode", err)
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for n := 1; sc.Scan(); n++ {
			frame, k, err := wmbus.ParseLine(sc.Text())
			if err != nil {
				out.Flush()
				fmt.Fprintf(c.stderr, "smgw decode: %s:%d: %v\n", *file, n, err)
				failed++
				continue
			}
			if frame == nil {
				continue
			}
			one(frame, k)
		}
		if err := sc.Err(); err != nil {
			out.Flush()
			return c.fail("decode", err)
		}
	}
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

// writeTable prints a telegram for a person.
func writeTable(w io.Writer, t *wmbus.Telegram, err error) {
	m := t.Meter
	fmt.Fprintf(w, "%s %s version %02x %s (type %02x)", m.Manufacturer, m.IDString(), m.Version, m.Device, uint8(m.Device))
	fmt.Fprintf(w, ", security mode %d", t.Mode)
	switch {
	case t.Security.Decrypted:
		fmt.Fprint(w, ", decrypted")
	case t.Security.Plaintext:
		fmt.Fprint(w, ", was already plaintext")
	}
	fmt.Fprintf(w, ", access number %d", t.AccessNumber)
	if t.Profile != "" {
		fmt.Fprintf(w, ", profile %s", t.Profile)
	}
	fmt.Fprintln(w)
	if err != nil {
		fmt.Fprintf(w, "  error: %v\n\n", err)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  OBIS\tQUANTITY\tVALUE\tUNIT\tSTORAGE\tTARIFF\tSUBUNIT\tFUNCTION\tDIF/VIF")
	for i := range t.Records {
		r := &t.Records[i]
		obis := "-"
		if r.OBIS != (meter.OBIS{}) {
			obis = r.OBIS.String()
		}
		val, unit := recordValue(r)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%X\n", obis, r.Quantity, val, unit,
			r.Storage, r.Tariff, r.Subunit, r.Function, r.Header)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// recordValue returns a record's value and unit as text.
func recordValue(r *mbus.Record) (string, string) {
	switch r.Kind {
	case mbus.KindNumber:
		return r.Value.String(), wmbus.UnitName(r.Unit)
	case mbus.KindDate:
		return r.Time.Format("2006-01-02"), ""
	case mbus.KindDateTime:
		return r.Time.Format("2006-01-02T15:04:05"), ""
	case mbus.KindTime:
		return r.Time.Format("15:04:05"), ""
	case mbus.KindText:
		return fmt.Sprintf("%q", r.AppendText(nil)), ""
	case mbus.KindBytes:
		return strings.ToUpper(fmt.Sprintf("%x", r.Data)), "hex"
	}
	return "-", ""
}
