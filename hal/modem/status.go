package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Registration is a network registration state (<stat> of +CREG/+CEREG).
type Registration int

// Registration states (3GPP TS 27.007 §7.2). The numbers are the standard's.
const (
	RegNotRegistered Registration = 0 // not registered, not searching
	RegHome          Registration = 1 // registered, home network
	RegSearching     Registration = 2 // not registered, searching
	RegDenied        Registration = 3 // registration denied
	RegUnknown       Registration = 4 // unknown (e.g. out of coverage)
	RegRoaming       Registration = 5 // registered, roaming
)

var regNames = map[Registration]string{
	RegNotRegistered: "not registered", RegHome: "registered (home)", RegSearching: "searching",
	RegDenied: "denied", RegUnknown: "unknown", RegRoaming: "registered (roaming)",
}

func (r Registration) String() string {
	if s, ok := regNames[r]; ok {
		return s
	}
	return "state " + strconv.Itoa(int(r))
}

// Registered reports home or roaming registration.
func (r Registration) Registered() bool { return r == RegHome || r == RegRoaming }

// Status is what the modem reports.
type Status struct {
	SIM          string       `json:"sim"`          // +CPIN: READY, SIM PIN, …
	Registration Registration `json:"registration"` // the better of +CEREG (LTE) and +CREG
	LTE          bool         `json:"lte"`          // registered through +CEREG (E-UTRAN)
	// RSSI is the received signal strength in dBm (−113…−51), from
	// +CSQ; 0 when the modem does not know it (99).
	RSSI int `json:"rssi_dbm"`
	// CSQ is the raw +CSQ <rssi> (0…31, 99 unknown).
	CSQ      int    `json:"csq"`
	Operator string `json:"operator"` // from +COPS?, "" when not registered
}

// Init prepares the modem: AT (it answers), ATE0 (no echo), AT+CMEE=1
// (numeric +CME ERRORs), AT+CEREG=1 and AT+CREG=1 (registration URCs; a
// modem without one of them is tolerated) and, if apn is set,
// AT+CGDCONT=1,"IP","apn".
func (m *Modem) Init(ctx context.Context, apn string) error {
	for _, c := range []string{"AT", "ATE0", "AT+CMEE=1"} {
		if _, err := m.Command(ctx, c); err != nil {
			return err
		}
	}
	for _, c := range []string{"AT+CEREG=1", "AT+CREG=1"} {
		if _, err := m.Command(ctx, c); err != nil && !errors.Is(err, ErrError) && !errors.Is(err, ErrCME) {
			return err
		}
	}
	if apn != "" {
		if strings.ContainsAny(apn, "\"\r\n") {
			return fmt.Errorf("%w: APN %q", ErrCommand, apn)
		}
		if _, err := m.Command(ctx, `AT+CGDCONT=1,"IP","`+apn+`"`); err != nil {
			return err
		}
	}
	return nil
}

// Status queries SIM, registration, signal and operator. A SIM that is
// not ready or a missing registration is reported in the Status, not as
// an error; the error is for a modem that does not answer as it should.
func (m *Modem) Status(ctx context.Context) (Status, error) {
	var s Status
	lines, err := m.Command(ctx, "AT+CPIN?")
	switch {
	case errors.Is(err, ErrCME):
		// +CME ERROR: 10 "SIM not inserted" and friends.
		var ce *CMEError
		errors.As(err, &ce)
		s.SIM = "error " + strings.TrimPrefix(ce.Error(), "modem: ")
	case err != nil:
		return s, err
	default:
		v, err := field(lines, "+CPIN:")
		if err != nil {
			return s, err
		}
		s.SIM = v
	}
	s.Registration = RegUnknown
	for _, c := range []string{"AT+CEREG?", "AT+CREG?"} {
		lines, err := m.Command(ctx, c)
		if errors.Is(err, ErrError) || errors.Is(err, ErrCME) {
			continue
		}
		if err != nil {
			return s, err
		}
		r, err := parseReg(lines, answerPrefix(c))
		if err != nil {
			return s, err
		}
		if r.Registered() && !s.Registration.Registered() || s.Registration == RegUnknown {
			s.Registration = r
			s.LTE = c == "AT+CEREG?" && r.Registered()
		}
	}
	lines, err = m.Command(ctx, "AT+CSQ")
	if err != nil {
		return s, err
	}
	v, err := field(lines, "+CSQ:")
	if err != nil {
		return s, err
	}
	rssi, _, _ := strings.Cut(v, ",")
	n, err := strconv.Atoi(strings.TrimSpace(rssi))
	if err != nil || n < 0 || n > 31 && n != 99 {
		return s, fmt.Errorf("%w: +CSQ: %q", ErrSyntax, v)
	}
	s.CSQ = n
	if n <= 31 {
		s.RSSI = -113 + 2*n
	}
	lines, err = m.Command(ctx, "AT+COPS?")
	if err != nil {
		return s, err
	}
	v, err = field(lines, "+COPS:")
	if err != nil {
		return s, err
	}
	// +COPS: <mode>[,<format>,<oper>[,<AcT>]]
	parts := splitCSV(v)
	if len(parts) >= 3 {
		s.Operator = parts[2]
	}
	return s, nil
}

// field returns the value of the first line starting with prefix.
func field(lines []string, prefix string) (string, error) {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l[len(prefix):]), nil
		}
	}
	return "", fmt.Errorf("%w: no %s line in %q", ErrSyntax, prefix, lines)
}

// parseReg reads "+CEREG: <n>,<stat>[,…]" (the answer to the read
// command); a URC has no <n>, "+CEREG: <stat>[,…]".
func parseReg(lines []string, prefix string) (Registration, error) {
	v, err := field(lines, prefix)
	if err != nil {
		return RegUnknown, err
	}
	parts := splitCSV(v)
	if len(parts) < 2 {
		return RegUnknown, fmt.Errorf("%w: %s %q", ErrSyntax, prefix, v)
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 || n > 10 {
		return RegUnknown, fmt.Errorf("%w: %s %q", ErrSyntax, prefix, v)
	}
	return Registration(n), nil
}

// ParseRegURC reads a registration URC ("+CEREG: 1" or "+CREG: 5,…").
func ParseRegURC(line string) (Registration, bool) {
	_, v, ok := strings.Cut(line, ":")
	if !ok {
		return RegUnknown, false
	}
	parts := splitCSV(strings.TrimSpace(v))
	if len(parts) == 0 {
		return RegUnknown, false
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 0 || n > 10 {
		return RegUnknown, false
	}
	return Registration(n), true
}

// splitCSV splits an AT answer's comma-separated values, unquoting
// quoted ones (which may hold commas).
func splitCSV(s string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}
