package modem_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/modem"
	"github.com/smgw/smgw/hal/modem/modemsim"
)

// start makes a socat pty pair, runs the simulator on one end and opens
// the other as the modem's serial port.
func start(t *testing.T, st modemsim.State, opts *modem.Options) (*modem.Modem, *modemsim.Sim) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	gw, sim, stop, err := modemsim.Pair(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	s, err := modemsim.Start(sim, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	port, err := modem.Open(gw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return modem.New(port, opts), s
}

func TestStatus(t *testing.T) {
	var urcs []string
	m, sim := start(t, modemsim.Default(), &modem.Options{URC: func(l string) { urcs = append(urcs, l) }})
	ctx := context.Background()
	if err := m.Init(ctx, "iot.example"); err != nil {
		t.Fatal(err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := modem.Status{SIM: "READY", Registration: modem.RegHome, LTE: true, RSSI: -73, CSQ: 20, Operator: "Telekom.de"}
	if st != want {
		t.Errorf("Status = %+v, want %+v", st, want)
	}
	var apn string
	sim.Set(func(s *modemsim.State) { apn = s.APN })
	if apn != "iot.example" {
		t.Errorf("APN = %q", apn)
	}
	// A URC between commands and one inside an answer.
	if err := sim.URC("+CEREG: 5"); err != nil {
		t.Fatal(err)
	}
	m.Poll(ctx, 2*time.Second)
	if got := m.LastURC("+CEREG"); got != "+CEREG: 5" {
		t.Errorf("LastURC = %q (urcs %q)", got, urcs)
	}
	r, ok := modem.ParseRegURC(m.LastURC("+CEREG"))
	if !ok || r != modem.RegRoaming {
		t.Errorf("ParseRegURC = %v %v", r, ok)
	}
	sim.URC("RING")
	if _, err := m.Command(ctx, "AT+CSQ"); err != nil {
		t.Fatal(err)
	}
	if m.LastURC("RING") != "RING" {
		t.Errorf("RING not seen as a URC: %q", urcs)
	}
}

func TestUnregisteredNoSIM(t *testing.T) {
	st := modemsim.Default()
	st.SIM, st.CREG, st.CEREG, st.CSQ, st.Operator = "", 2, -1, 99, ""
	m, _ := start(t, st, nil)
	s, err := m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Registration != modem.RegSearching || s.LTE || s.RSSI != 0 || s.CSQ != 99 || s.Operator != "" || s.SIM == "READY" {
		t.Errorf("Status = %+v", s)
	}
}

func TestErrors(t *testing.T) {
	st := modemsim.Default()
	st.Fail = map[string]string{"AT+CSQ": "+CME ERROR: 30", "AT+COPS?": "ERROR", "AT+CPIN?": ""}
	m, _ := start(t, st, &modem.Options{Timeout: 500 * time.Millisecond})
	ctx := context.Background()
	_, err := m.Command(ctx, "AT+CSQ")
	var ce *modem.CMEError
	if !errors.Is(err, modem.ErrCME) || !errors.As(err, &ce) || ce.Code != 30 {
		t.Errorf("AT+CSQ: %v, want +CME ERROR 30", err)
	}
	if _, err := m.Command(ctx, "AT+COPS?"); !errors.Is(err, modem.ErrError) {
		t.Errorf("AT+COPS?: %v, want ErrError", err)
	}
	if _, err := m.Command(ctx, "AT+CPIN?"); !errors.Is(err, modem.ErrTimeout) {
		t.Errorf("AT+CPIN? (no answer): %v, want ErrTimeout", err)
	}
	if _, err := m.Status(ctx); !errors.Is(err, modem.ErrTimeout) {
		t.Errorf("Status with a mute modem: %v, want ErrTimeout", err)
	}
	// After a timeout the modem is usable again.
	if _, err := m.Command(ctx, "AT"); err != nil {
		t.Errorf("AT after a timeout: %v", err)
	}
	if _, err := m.Command(ctx, "ATD\r123"); !errors.Is(err, modem.ErrCommand) {
		t.Errorf("bad command: %v", err)
	}
}
