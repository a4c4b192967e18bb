package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smgw/smgw/hal/serial"
	lmndlms "github.com/smgw/smgw/internal/lmn/dlms"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/hdlc"
)

const probeDLMSSynopsis = "--port DEV [--baud N] | --tcp HOST:PORT [--wrapper]; [--client SAP] [--server LOGICAL[/PHYSICAL]] [--auth none|low|high --password P --ak HEX --ek HEX --system-title HEX] [--obis LIST] [--profile OBIS --from T --to T] [--timeout D]"

// probeDLMSObject is one entry of the association's object list.
type probeDLMSObject struct {
	OBIS    string `json:"obis"`
	Class   uint16 `json:"class"`
	Version uint8  `json:"version"`
}

// probeDLMSValue is one register value.
type probeDLMSValue struct {
	OBIS  string `json:"obis"`
	Class uint16 `json:"class,omitempty"`
	Time  string `json:"time,omitempty"`
	Value string `json:"value"`
	Unit  string `json:"unit"`
}

// probeDLMSProfile is a load profile range.
type probeDLMSProfile struct {
	OBIS    string           `json:"obis"`
	Period  string           `json:"capture_period"`
	Columns []string         `json:"columns"`
	Entries int              `json:"entries"`
	Values  []probeDLMSValue `json:"values"`
}

// probeDLMSResult is the probe's output.
type probeDLMSResult struct {
	Port      string            `json:"port"`
	Server    string            `json:"server"`
	MaxInfoTx uint32            `json:"max_info_tx,omitempty"`
	MaxInfoRx uint32            `json:"max_info_rx,omitempty"`
	WindowTx  uint32            `json:"window_tx,omitempty"`
	WindowRx  uint32            `json:"window_rx,omitempty"`
	MaxPDU    uint16            `json:"server_max_pdu"`
	Objects   []probeDLMSObject `json:"objects,omitempty"`
	Registers []probeDLMSValue  `json:"registers,omitempty"`
	Profile   *probeDLMSProfile `json:"profile,omitempty"`
	Errors    []string          `json:"errors,omitempty"`
}

// parseServerAddr reads LOGICAL[/PHYSICAL]: "1" is the 1-byte form,
// "1/17" the 2- or 4-byte form.
func parseServerAddr(s string) (hdlc.Address, error) {
	l, p, two := strings.Cut(s, "/")
	lv, err := strconv.ParseUint(l, 10, 14)
	if err != nil || lv == 0 {
		return hdlc.Address{}, fmt.Errorf("--server %q: logical address 1…16383 expected", s)
	}
	if !two {
		if lv > 127 {
			return hdlc.Address{}, fmt.Errorf("--server %q: the 1-byte form holds 1…127", s)
		}
		return hdlc.Address{Upper: uint16(lv), Size: 1}, nil
	}
	pv, err := strconv.ParseUint(p, 10, 14)
	if err != nil {
		return hdlc.Address{}, fmt.Errorf("--server %q: physical address 0…16383 expected", s)
	}
	return hdlc.ServerAddress(uint16(lv), uint16(pv)), nil
}

func (c *cli) probeDLMS(ctx context.Context, args []string) int {
	const name = "probe dlms"
	fs := flag.NewFlagSet("smgw "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	port := fs.String("port", "", "serial device of the RS-485 line (8N1)")
	tcp := fs.String("tcp", "", "host:port of a serial-to-Ethernet converter or a DLMS TCP meter (instead of --port)")
	wrapper := fs.Bool("wrapper", false, "speak the IEC 62056-47 wrapper on --tcp (default: HDLC)")
	baud := fs.Int("baud", 9600, "baud rate")
	client := fs.Int("client", 16, "client SAP (16 public client, 1 management)")
	server := fs.String("server", "1/16", "server address LOGICAL[/PHYSICAL]")
	auth := fs.String("auth", "none", "authentication: none, low (password) or high (HLS-GMAC)")
	password := fs.String("password", "", "LLS password (--auth low)")
	ak := fs.String("ak", "", "authentication key, 32 hex digits (--auth high)")
	ek := fs.String("ek", "", "global unicast encryption key, 32 hex digits (--auth high)")
	title := fs.String("system-title", "534D475700000001", "the client's system title, 16 hex digits (--auth high)")
	obis := fs.String("obis", "", "comma-separated OBIS codes of registers to read (class 3)")
	prof := fs.String("profile", "", "OBIS code of a profile (class 7) to read")
	fromS := fs.String("from", "-24h", "start of the profile range (RFC 3339, a date, or relative like -24h)")
	toS := fs.String("to", "now", "end of the profile range")
	timeout := fs.Duration("timeout", time.Second, "how long the meter may stay silent before it is polled again")
	maxInfo := fs.Int("max-info", 2030, "largest HDLC information field to propose")
	window := fs.Int("window", 7, "HDLC window to propose, 1…7")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: smgw %s %s\n\nRead a DLMS/COSEM meter once: the association's object list, or the given registers, or a profile range, and print them as JSON.\n\nflags:\n", name, probeDLMSSynopsis)
		fs.PrintDefaults()
	}
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	switch {
	case len(pos) > 0:
		return c.usageErr(name, "unexpected argument %q", pos[0])
	case (*port == "") == (*tcp == ""):
		return c.usageErr(name, "give either --port DEV or --tcp HOST:PORT")
	case *wrapper && *tcp == "":
		return c.usageErr(name, "--wrapper needs --tcp")
	case *client < 1 || *client > 127:
		return c.usageErr(name, "--client %d: want 1…127", *client)
	case *window < 1 || *window > 7 || *maxInfo < 32 || *maxInfo > 2030:
		return c.usageErr(name, "--window 1…7 and --max-info 32…2030")
	}
	addr, err := parseServerAddr(*server)
	if err != nil {
		return c.usageErr(name, "%v", err)
	}
	co := lmndlms.ClientOptions{Auth: lmndlms.Auth(*auth)}
	switch co.Auth {
	case lmndlms.AuthNone:
	case lmndlms.AuthLow:
		if *password == "" {
			return c.usageErr(name, "--auth low needs --password")
		}
		co.Password = []byte(*password)
	case lmndlms.AuthHigh:
		a, e1 := hex.DecodeString(*ak)
		e, e2 := hex.DecodeString(*ek)
		st, e3 := hex.DecodeString(*title)
		if e1 != nil || e2 != nil || e3 != nil || len(a) != 16 || len(e) != 16 || len(st) != 8 {
			return c.usageErr(name, "--auth high needs --ak and --ek (32 hex digits each) and --system-title (16 hex digits)")
		}
		co.Security = &lmndlms.Security{AK: a, EK: e, SystemTitle: st}
	default:
		return c.usageErr(name, "--auth %q: want none, low or high", *auth)
	}
	var regs []meter.OBIS
	if *obis != "" {
		for _, s := range strings.Split(*obis, ",") {
			o, err := meter.ParseOBIS(strings.TrimSpace(s))
			if err != nil {
				return c.usageErr(name, "--obis: %v", err)
			}
			regs = append(regs, o)
		}
	}
	var profOBIS meter.OBIS
	var from, to time.Time
	if *prof != "" {
		if profOBIS, err = meter.ParseOBIS(*prof); err != nil {
			return c.usageErr(name, "--profile: %v", err)
		}
		now := time.Now()
		if from, err = parseTime(*fromS, now, time.Local); err != nil {
			return c.usageErr(name, "--from: %v", err)
		}
		if to, err = parseTime(*toS, now, time.Local); err != nil {
			return c.usageErr(name, "--to: %v", err)
		}
	}

	var sp serial.Port
	if *tcp != "" {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sp, err = serial.DialTCP(dctx, *tcp)
		cancel()
	} else {
		sp, err = serial.Open(&serial.Config{Name: *port, Baud: *baud})
	}
	if err != nil {
		if errors.Is(err, serial.ErrConfig) {
			return c.usageErr(name, "%v", err)
		}
		return c.fail(name, err)
	}
	defer sp.Close()
	var tr lmndlms.Transport
	var h *lmndlms.HDLC
	if *wrapper {
		tr = lmndlms.NewWrapper(sp, uint16(*client), addr.Upper, 3**timeout)
	} else {
		h, err = lmndlms.NewHDLC(sp, lmndlms.HDLCOptions{Client: hdlc.ClientAddress(uint8(*client)), Server: addr,
			Params:  hdlc.Params{MaxInfoTx: uint32(*maxInfo), MaxInfoRx: uint32(*maxInfo), WindowTx: uint32(*window), WindowRx: uint32(*window)},
			Silence: *timeout})
		if err != nil {
			return c.fail(name, err)
		}
		tr = h
	}
	cl, err := lmndlms.NewClient(tr, co)
	if err != nil {
		return c.usageErr(name, "%v", err)
	}
	jctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	res := probeDLMSResult{Port: sp.Name(), Server: addr.String()}
	if err := cl.Connect(jctx); err != nil {
		cl.Release(jctx)
		return c.fail(name, fmt.Errorf("association with %v: %w", addr, err))
	}
	if h != nil {
		n := h.Negotiated()
		res.MaxInfoTx, res.MaxInfoRx, res.WindowTx, res.WindowRx = n.MaxInfoTx, n.MaxInfoRx, n.WindowTx, n.WindowRx
	}
	res.MaxPDU = cl.Granted.MaxPDU
	failed := false
	note := func(err error) {
		failed = true
		res.Errors = append(res.Errors, err.Error())
	}
	var objs []lmndlms.ObjectInfo
	if len(regs) == 0 && *prof == "" || len(regs) > 0 {
		objs, err = lmndlms.ReadObjectList(jctx, cl)
		if err != nil {
			note(fmt.Errorf("object list: %w", err))
		}
		if len(regs) == 0 && *prof == "" {
			for _, o := range objs {
				res.Objects = append(res.Objects, probeDLMSObject{OBIS: obisDots(o.OBIS), Class: o.Class, Version: o.Version})
			}
		}
	}
	for _, o := range regs {
		class := uint16(3)
		for _, x := range objs {
			if x.OBIS == o && (x.Class == 1 || x.Class == 4) {
				class = x.Class
			}
		}
		r, err := lmndlms.ReadRegister(jctx, cl, "probe", lmndlms.Register{OBIS: o, Class: class})
		if err != nil {
			note(fmt.Errorf("%s: %w", obisDots(o), err))
			continue
		}
		res.Registers = append(res.Registers, probeDLMSValue{OBIS: obisDots(o), Class: class, Value: r.Value.String(), Unit: r.Unit.String()})
	}
	if *prof != "" {
		pr, err := lmndlms.ReadProfileRange(jctx, cl, "probe", profOBIS, from, to)
		if err != nil {
			note(fmt.Errorf("profile %s: %w", obisDots(profOBIS), err))
		} else {
			p := &probeDLMSProfile{OBIS: obisDots(profOBIS), Period: pr.Period.String(), Entries: pr.Entries, Values: []probeDLMSValue{}}
			for _, col := range pr.Columns {
				p.Columns = append(p.Columns, fmt.Sprintf("%d/%s/%d", col.Class, obisDots(col.Instance), col.Attribute))
			}
			for _, r := range pr.Readings {
				p.Values = append(p.Values, probeDLMSValue{OBIS: obisDots(r.OBIS), Time: r.Time.UTC().Format(time.RFC3339), Value: r.Value.String(), Unit: r.Unit.String()})
			}
			res.Profile = p
		}
	}
	cl.Release(jctx)
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return c.fail(name, err)
	}
	if failed {
		return exitFail
	}
	return exitOK
}

// obisDots prints an OBIS code as six dotted groups (what --obis takes).
func obisDots(o meter.OBIS) string {
	return fmt.Sprintf("%d.%d.%d.%d.%d.%d", o[0], o[1], o[2], o[3], o[4], o[5])
}
