package modemsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// State is what the simulated modem reports.
type State struct {
	SIM      string // +CPIN answer: "READY", "SIM PIN"; "" answers +CME ERROR: 10 (no SIM)
	CREG     int    // <stat> of +CREG
	CEREG    int    // <stat> of +CEREG; -1: the modem has no AT+CEREG (ERROR)
	CSQ      int    // <rssi> of +CSQ: 0…31, 99 unknown
	Operator string // "" when not registered: +COPS: 0
	APN      string // set by AT+CGDCONT=1,"IP","…"
	// Fail maps a command (as sent, e.g. "AT+CSQ") to the answer that
	// replaces its normal one: "ERROR", "+CME ERROR: 30", or "" for none
	// at all (the modem hangs).
	Fail map[string]string
}

// Default is a registered LTE modem with a good signal.
func Default() State {
	return State{SIM: "READY", CREG: 1, CEREG: 1, CSQ: 20, Operator: "Telekom.de", Fail: map[string]string{}}
}

// Sim is a running simulated modem.
type Sim struct {
	f    *os.File
	done chan struct{}

	mu       sync.Mutex
	st       State
	echo     bool
	commands []string
}

// Start serves the simulated modem on the pty at path until Close.
func Start(path string, st State) (*Sim, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("modemsim: %w", err)
	}
	if st.Fail == nil {
		st.Fail = map[string]string{}
	}
	s := &Sim{f: f, st: st, echo: true, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Set changes the state under the simulator's lock.
func (s *Sim) Set(fn func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.st)
}

// Commands returns the commands received so far.
func (s *Sim) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// URC sends an unsolicited result code now.
func (s *Sim) URC(line string) error {
	_, err := s.f.Write([]byte("\r\n" + line + "\r\n"))
	return err
}

// Close stops the simulator and closes its end of the pty.
func (s *Sim) Close() error {
	s.f.SetReadDeadline(time.Now())
	err := s.f.Close()
	<-s.done
	return err
}

func (s *Sim) serve() {
	defer close(s.done)
	var line []byte
	buf := make([]byte, 256)
	for {
		n, err := s.f.Read(buf)
		if err != nil {
			return
		}
		for _, c := range buf[:n] {
			switch c {
			case '\r', '\n':
				if len(line) > 0 {
					s.answer(string(line))
					line = line[:0]
				}
			default:
				if len(line) < 1024 {
					line = append(line, c)
				}
			}
		}
	}
}

func (s *Sim) answer(cmd string) {
	s.mu.Lock()
	s.commands = append(s.commands, cmd)
	st := s.st
	echo := s.echo
	fail, failing := st.Fail[cmd]
	var out []string
	final := "OK"
	u := strings.ToUpper(cmd)
	switch {
	case failing:
		final = fail
	case u == "AT":
	case u == "ATE0":
		s.echo = false
	case u == "ATE1":
		s.echo = true
	case strings.HasPrefix(u, "AT+CMEE="):
	case u == "AT+CPIN?":
		if st.SIM == "" {
			final = "+CME ERROR: 10"
		} else {
			out = append(out, "+CPIN: "+st.SIM)
		}
	case u == "AT+CREG?":
		out = append(out, fmt.Sprintf("+CREG: 1,%d", st.CREG))
	case strings.HasPrefix(u, "AT+CREG="):
	case u == "AT+CEREG?" || strings.HasPrefix(u, "AT+CEREG="):
		if st.CEREG < 0 {
			final = "ERROR"
		} else if u == "AT+CEREG?" {
			out = append(out, fmt.Sprintf("+CEREG: 1,%d", st.CEREG))
		}
	case u == "AT+CSQ":
		out = append(out, fmt.Sprintf("+CSQ: %d,99", st.CSQ))
	case u == "AT+COPS?":
		if st.Operator == "" {
			out = append(out, "+COPS: 0")
		} else {
			out = append(out, fmt.Sprintf("+COPS: 0,0,\"%s\",7", st.Operator))
		}
	case strings.HasPrefix(u, `AT+CGDCONT=1,"IP",`):
		s.st.APN = strings.Trim(cmd[len(`AT+CGDCONT=1,"IP",`):], `"`)
	default:
		final = "ERROR"
	}
	s.mu.Unlock()
	var b strings.Builder
	if echo {
		b.WriteString(cmd + "\r")
	}
	for _, l := range out {
		b.WriteString("\r\n" + l + "\r\n")
	}
	if final != "" {
		b.WriteString("\r\n" + final + "\r\n")
	}
	if b.Len() > 0 {
		s.f.Write([]byte(b.String()))
	}
}

// Pair starts socat with a raw pseudo-terminal pair linked at dir/gw (for
// the code under test) and dir/modem (for Start), waits until both links
// exist, and returns their paths and a stop function.
func Pair(ctx context.Context, dir string) (gw, modem string, stop func(), err error) {
	gw, modem = filepath.Join(dir, "gw"), filepath.Join(dir, "modem")
	cmd := exec.Command("socat", "pty,raw,echo=0,link="+gw, "pty,raw,echo=0,link="+modem)
	if err := cmd.Start(); err != nil {
		return "", "", nil, fmt.Errorf("modemsim: socat: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	for i := 0; ; i++ {
		_, e1 := os.Stat(gw)
		_, e2 := os.Stat(modem)
		if e1 == nil && e2 == nil {
			return gw, modem, stop, nil
		}
		select {
		case <-exited:
			return "", "", nil, errors.New("modemsim: socat exited before making the pty pair")
		case <-ctx.Done():
			stop()
			return "", "", nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if i > 500 {
			stop()
			return "", "", nil, errors.New("modemsim: socat made no pty pair within 10 s")
		}
	}
}
