package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/smgw/smgw/hal/serial"
	lmnmodbus "github.com/smgw/smgw/internal/lmn/modbus"
	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	mb "github.com/smgw/smgw/internal/proto/modbus"
)

const probeModbusSynopsis = "--port DEV [--baud N] [--parity even|none|odd] [--stop-bits 1|2] [--rs485] | --tcp HOST:PORT [--framing tcp|rtu]; --unit ID --profile NAME|FILE [--timeout D] [--retries N]"

// probeSubcommands are probe's protocols: what an installer runs at a new
// site to see that a meter answers and what it reads. Each reads the
// meter once and prints JSON.
var probeSubcommands = []struct {
	name, synopsis string
	run            func(c *cli, ctx context.Context, args []string) int
}{
	{"modbus", probeModbusSynopsis, (*cli).probeModbus},
	{"dlms", probeDLMSSynopsis, (*cli).probeDLMS}, // probe_dlms.go
	{"mbus", probeMBusSynopsis, (*cli).probeMBus}, // probe_mbus.go
}

func (c *cli) cmdProbe(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		w := c.stderr
		code := exitUsage
		if len(args) > 0 {
			w, code = c.stdout, exitOK
		}
		fmt.Fprintln(w, "usage: smgw probe PROTOCOL [flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Read a meter once and print what it answers as JSON (exact decimal values).")
		fmt.Fprintln(w)
		for _, s := range probeSubcommands {
			fmt.Fprintf(w, "  smgw probe %s %s\n", s.name, s.synopsis)
		}
		return code
	}
	for _, s := range probeSubcommands {
		if s.name == args[0] {
			if s.run == nil {
				fmt.Fprintf(c.stderr, "smgw probe %s: not yet supported\n", s.name)
				return exitFail
			}
			return s.run(c, ctx, args[1:])
		}
	}
	return c.usageErr("probe", "unknown protocol %q: want modbus, dlms or mbus", args[0])
}

// probeReading is one line of the probe's JSON.
type probeReading struct {
	OBIS  string `json:"obis"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
	Unit  string `json:"unit"`
}

// probeResult is the probe's output.
type probeResult struct {
	Port     string         `json:"port"`
	Unit     int            `json:"unit"`
	Profile  string         `json:"profile"`
	Model    string         `json:"model"`
	Readings []probeReading `json:"readings"`
	Errors   []string       `json:"errors,omitempty"`
}

func (c *cli) probeModbus(ctx context.Context, args []string) int {
	const name = "probe modbus"
	fs := flag.NewFlagSet("smgw "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	port := fs.String("port", "", "serial device of the RS-485 line")
	tcp := fs.String("tcp", "", "host:port of a Modbus TCP meter or a serial-to-Ethernet converter (instead of --port)")
	framing := fs.String("framing", "", "rtu or tcp (default: rtu on --port, tcp on --tcp)")
	baud := fs.Int("baud", 9600, "baud rate")
	parity := fs.String("parity", "even", "parity: even, none or odd")
	stopBits := fs.Int("stop-bits", 1, "stop bits: 1 or 2")
	rs485 := fs.Bool("rs485", false, "set the kernel's RS-485 mode (TIOCSRS485, RTS high while sending)")
	unit := fs.Int("unit", 1, "Modbus unit address, 1…247")
	prof := fs.String("profile", "", "a built-in profile ("+strings.Join(profile.Names(), ", ")+") or a profile file")
	timeout := fs.Duration("timeout", time.Second, "how long the meter may take to answer")
	retries := fs.Int("retries", 1, "retries of a request that timed out or came back garbled")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: smgw %s %s\n\nRead every register of a Modbus meter's profile once and print the values as JSON.\n\nflags:\n", name, probeModbusSynopsis)
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
	case *prof == "":
		return c.usageErr(name, "--profile is required: %s or a profile file", strings.Join(profile.Names(), ", "))
	case *unit < 0 || *unit > 255 || *unit == 0 && *tcp == "":
		return c.usageErr(name, "--unit %d: want 1…247", *unit)
	case *framing != "" && *framing != "rtu" && *framing != "tcp":
		return c.usageErr(name, "--framing %q: want rtu or tcp", *framing)
	}
	p, err := profile.Open(*prof)
	if err != nil {
		var pe *profile.Error
		if errors.As(err, &pe) {
			for _, pr := range pe.Problems {
				fmt.Fprintln(c.stderr, pr.String())
			}
			return exitConfig
		}
		return c.fail(name, err)
	}
	par, err := serial.ParseParity(*parity)
	if err != nil {
		return c.usageErr(name, "%v", err)
	}

	var sp serial.Port
	fr := lmnmodbus.RTU
	if *tcp != "" {
		if *framing != "rtu" {
			fr = lmnmodbus.TCP
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sp, err = serial.DialTCP(dctx, *tcp)
		cancel()
	} else {
		if *framing == "tcp" {
			return c.usageErr(name, "--framing tcp needs --tcp")
		}
		sc := &serial.Config{Name: *port, Baud: *baud, Parity: par, StopBits: *stopBits}
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
	bits := mb.CharBits(8, par != serial.ParityNone, *stopBits)
	client, err := lmnmodbus.NewClient(sp, &lmnmodbus.ClientOptions{Framing: fr, Baud: *baud, CharBits: bits, Timeout: *timeout})
	if err != nil {
		return c.fail(name, err)
	}
	rs, rerr := lmnmodbus.ReadAll(ctx, client, byte(*unit), p, "probe", *retries)
	res := probeResult{Port: sp.Name(), Unit: *unit, Profile: p.Name, Model: p.Model, Readings: []probeReading{}}
	names := map[string]string{}
	for _, r := range p.Registers {
		names[r.OBIS.String()] = r.Name
	}
	for _, r := range rs {
		res.Readings = append(res.Readings, probeReading{OBIS: r.OBIS.String(), Name: names[r.OBIS.String()],
			Value: r.Value.String(), Unit: r.Unit.String()})
	}
	if rerr != nil {
		res.Errors = append(res.Errors, strings.Split(rerr.Error(), "\n")...)
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return c.fail(name, err)
	}
	if rerr != nil {
		fmt.Fprintf(c.stderr, "smgw %s: %d of the profile's %d registers not read\n", name, len(p.Registers)-len(rs), len(p.Registers))
		return exitFail
	}
	return exitOK
}
