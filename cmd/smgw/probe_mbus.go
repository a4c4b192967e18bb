package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/smgw/smgw/hal/serial"
	lmnmbus "github.com/smgw/smgw/internal/lmn/mbus"
	"github.com/smgw/smgw/internal/meter"
	pmbus "github.com/smgw/smgw/internal/proto/mbus"
)

const probeMBusSynopsis = "--port DEV [--baud N] [--rs485] | --tcp HOST:PORT; --scan [--secondary [MASK]] [--first N --last N] | --address N | --secondary ID; [--timeout D] [--retries N]"

// probeMBusMeter is a meter a scan found, or the one read.
type probeMBusMeter struct {
	Primary      *int   `json:"primary,omitempty"`
	Secondary    string `json:"secondary,omitempty"` // 16 hex digits: id, manufacturer, version, medium
	ID           string `json:"id,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Version      *byte  `json:"version,omitempty"`
	Medium       string `json:"medium,omitempty"`
	Collision    bool   `json:"collision,omitempty"`
	Error        string `json:"error,omitempty"`
}

// probeMBusRecord is one data record of a read.
type probeMBusRecord struct {
	OBIS     string `json:"obis,omitempty"`
	Quantity string `json:"quantity"`
	Value    string `json:"value"`
	Unit     string `json:"unit"`
	Function string `json:"function"`
	Storage  uint64 `json:"storage"`
	Tariff   uint32 `json:"tariff"`
	Subunit  uint16 `json:"subunit"`
}

// probeMBusResult is the probe's output.
type probeMBusResult struct {
	Port   string           `json:"port"`
	Baud   int              `json:"baud,omitempty"`
	Scan   string           `json:"scan,omitempty"` // primary or secondary
	Meters []probeMBusMeter `json:"meters,omitempty"`
	// A read:
	Meter     *probeMBusMeter   `json:"meter,omitempty"`
	Access    *byte             `json:"access,omitempty"`
	Status    string            `json:"status,omitempty"`
	Telegrams int               `json:"telegrams,omitempty"`
	Records   []probeMBusRecord `json:"records,omitempty"`
	Errors    []string          `json:"errors,omitempty"`
}

// optString is a flag that may be given bare (--secondary) or with a
// value (--secondary=ID, or --secondary ID picked up from the arguments).
type optString struct {
	set bool
	v   string
}

func (o *optString) String() string   { return o.v }
func (o *optString) IsBoolFlag() bool { return true }
func (o *optString) Set(s string) error {
	o.set = true
	if s != "true" {
		o.v = s
	}
	return nil
}

func meterOf(h pmbus.Header, primary int) probeMBusMeter {
	m := probeMBusMeter{}
	if primary >= 0 {
		m.Primary = &primary
	}
	if h.Long {
		sa := h.Address
		v := sa.Version
		m.Secondary, m.ID, m.Manufacturer, m.Version, m.Medium = sa.String(), sa.IDString(), sa.Manufacturer.String(), &v, sa.Medium.String()
	}
	return m
}

func (c *cli) probeMBus(ctx context.Context, args []string) int {
	const name = "probe mbus"
	fs := flag.NewFlagSet("smgw "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	port := fs.String("port", "", "serial device of the M-Bus level converter (8E1)")
	tcp := fs.String("tcp", "", "host:port of a serial-to-Ethernet M-Bus converter (instead of --port)")
	baud := fs.Int("baud", lmnmbus.DefaultBaud, "baud rate, 300…38400")
	rs485 := fs.Bool("rs485", false, "set the kernel's RS-485 mode (TIOCSRS485) on the port")
	scan := fs.Bool("scan", false, "scan the line: primary addresses --first…--last, or with --secondary the secondary addresses")
	first := fs.Int("first", 0, "first primary address of a scan")
	last := fs.Int("last", int(pmbus.AddrMaxPrimary), "last primary address of a scan")
	address := fs.Int("address", -1, "read the meter at this primary address, 0…250")
	var secondary optString
	fs.Var(&secondary, "secondary", "read the meter with this secondary address (8 digits, or 16 hex digits with manufacturer, version, medium); with --scan: a secondary scan, optionally within a mask like 1234FFFF")
	timeout := fs.Duration("timeout", 0, "how long a meter may take to answer (default 330 bit times + 150 ms; 500 ms more on --tcp)")
	retries := fs.Int("retries", 1, "repeats of a request that timed out or came back garbled (0…5)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: smgw %s %s\n\nScan a wired M-Bus line for meters, or read one meter once, and print JSON.\n\nflags:\n", name, probeMBusSynopsis)
		fs.PrintDefaults()
	}
	pos, code := parseFlags(fs, args)
	if code >= 0 {
		return code
	}
	if secondary.set && secondary.v == "" && len(pos) > 0 {
		secondary.v, pos = pos[0], pos[1:]
	}
	switch {
	case len(pos) > 0:
		return c.usageErr(name, "unexpected argument %q", pos[0])
	case (*port == "") == (*tcp == ""):
		return c.usageErr(name, "give either --port DEV or --tcp HOST:PORT")
	case !lmnmbus.ValidBaud(*baud):
		return c.usageErr(name, "--baud %d: want 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400", *baud)
	case *retries < 0 || *retries > 5:
		return c.usageErr(name, "--retries %d: want 0…5", *retries)
	case *scan && *address >= 0:
		return c.usageErr(name, "--scan and --address exclude each other")
	case !*scan && (*address >= 0) == (secondary.v != ""):
		return c.usageErr(name, "give --scan, or --address N, or --secondary ID")
	case *address > int(pmbus.AddrMaxPrimary):
		return c.usageErr(name, "--address %d: primary addresses are 0…250", *address)
	case *scan && !secondary.set && (*first < 0 || *last > int(pmbus.AddrMaxPrimary) || *first > *last):
		return c.usageErr(name, "--first %d --last %d: want 0 ≤ first ≤ last ≤ 250", *first, *last)
	}
	var sa pmbus.SecondaryAddress
	if secondary.v != "" {
		var err error
		if sa, err = pmbus.ParseSecondaryAddress(secondary.v); err != nil {
			return c.usageErr(name, "--secondary: %v", err)
		}
		if !*scan && sa.HasWildcard() && len(secondary.v) != 8 {
			return c.usageErr(name, "--secondary %s: a meter to read needs an address without wildcards", secondary.v)
		}
		if !*scan && len(secondary.v) == 8 && sa.ID>>28 == 0xF {
			return c.usageErr(name, "--secondary %s: a meter to read needs an identification number without wildcards", secondary.v)
		}
	} else if *scan {
		sa = pmbus.Wildcard
	}

	var sp serial.Port
	var err error
	if *tcp != "" {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sp, err = serial.DialTCP(dctx, *tcp)
		cancel()
	} else {
		sc := &serial.Config{Name: *port, Baud: *baud, Parity: serial.ParityEven}
		if *rs485 {
			sc.RS485 = &serial.RS485{Enabled: true, RTSOnSend: true}
		}
		sp, err = serial.Open(sc)
	}
	if err != nil {
		if errors.Is(err, serial.ErrConfig) {
			return c.usageErr(name, "%v", err)
		}
		return c.fail(name, err)
	}
	defer sp.Close()
	mo := &lmnmbus.MasterOptions{Baud: *baud, Timeout: *timeout, Retries: *retries}
	if *retries == 0 {
		mo.Retries = -1
	}
	if *tcp != "" && *timeout == 0 {
		mo.Timeout = 330*time.Second/time.Duration(*baud) + 500*time.Millisecond // the converter's latency too
	}
	m := lmnmbus.NewMaster(sp, mo)
	res := probeMBusResult{Port: sp.Name(), Baud: *baud}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	out := func(failed bool) int {
		if err := enc.Encode(res); err != nil {
			return c.fail(name, err)
		}
		if failed {
			return exitFail
		}
		return exitOK
	}

	if *scan {
		var found []lmnmbus.Found
		if secondary.set {
			res.Scan = "secondary"
			found, err = lmnmbus.ScanSecondary(ctx, m, sa, nil)
		} else {
			res.Scan = "primary"
			found, err = lmnmbus.ScanPrimary(ctx, m, *first, *last, nil)
		}
		res.Meters = []probeMBusMeter{}
		for _, f := range found {
			pm := meterOf(f.Header, f.Primary)
			if !f.Header.Long && f.Primary < 0 {
				pm.Secondary, pm.ID = f.Secondary.String(), f.Secondary.IDString()
			}
			pm.Collision = f.Collision
			if f.Err != nil {
				pm.Error = f.Err.Error()
			}
			res.Meters = append(res.Meters, pm)
		}
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
		return out(err != nil)
	}

	addr := byte(*address)
	primary := *address
	if secondary.v != "" {
		addr, primary = pmbus.AddrNetwork, -1
		if err := m.Select(ctx, sa); err != nil {
			return c.fail(name, fmt.Errorf("select %s: %w", secondary.v, err))
		}
	} else if err := m.SndNKE(ctx, addr); err != nil {
		return c.fail(name, fmt.Errorf("SND_NKE to %d: %w", addr, err))
	}
	fcb := true
	rd, rerr := m.ReadAll(ctx, addr, &fcb, 0xFF)
	if secondary.v != "" {
		m.SndNKE(ctx, pmbus.AddrNetwork) // deselect
	}
	if rerr != nil && rd.Telegrams == 0 {
		return c.fail(name, rerr)
	}
	pm := meterOf(rd.Header, primary)
	res.Meter = &pm
	if rd.Header.CI != pmbus.CIRspNoHeader {
		acc := rd.Header.Access
		res.Access = &acc
		res.Status = fmt.Sprintf("%02X", rd.Header.Status)
	}
	res.Telegrams = rd.Telegrams
	res.Records = []probeMBusRecord{}
	for _, r := range rd.Records {
		pr := probeMBusRecord{Quantity: string(r.Quantity), Function: r.Function.String(), Storage: r.Storage, Tariff: r.Tariff, Subunit: r.Subunit}
		if r.OBIS != (meter.OBIS{}) {
			pr.OBIS = r.OBIS.String()
		}
		switch r.Kind {
		case pmbus.KindNumber:
			pr.Value, pr.Unit = r.Value.String(), r.Unit.String()
		case pmbus.KindDate:
			pr.Value = r.Time.Format("2006-01-02")
		case pmbus.KindDateTime:
			pr.Value = r.Time.Format("2006-01-02T15:04:05")
		case pmbus.KindTime:
			pr.Value = r.Time.Format("15:04:05")
		case pmbus.KindText:
			pr.Value = strconv.Quote(string(r.AppendText(nil)))
		default:
			pr.Value = hex.EncodeToString(r.Data)
		}
		res.Records = append(res.Records, pr)
	}
	if rerr != nil {
		res.Errors = append(res.Errors, rerr.Error())
	}
	return out(rerr != nil)
}
