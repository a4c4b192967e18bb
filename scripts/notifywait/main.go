// Command notifywait runs a program under a minimal sd_notify listener, as
// systemd would with Type=notify, and measures it: how long from exec until
// it sends READY=1, and optionally its memory after it has run for a while.
// scripts/bench-daemon.sh uses it for BENCHMARKS.md.
//
// Usage:
//
//	notifywait [-timeout 30s] [-hold 0] [-stop-timeout 15s] -- PROGRAM [ARGS...]
//
// It creates a datagram socket, starts PROGRAM with NOTIFY_SOCKET naming
// it, and waits for READY=1. With -hold it then lets the program run that
// much longer and reads VmRSS and VmHWM from /proc/PID/status. Then it
// stops the program with SIGTERM, as systemd does, and waits for it.
// PROGRAM's output goes to notifywait's standard error. Results are
// printed to standard output as key=value lines:
//
//	ready_ms=41.7
//	vmrss_kib=14220
//	vmhwm_kib=15012
//	stop_ms=12.0
//	exit=0
//
// notifywait exits 0 if READY=1 came and the program then exited 0 on
// SIGTERM, and 1 otherwise.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

func run() int {
	timeout := flag.Duration("timeout", 30*time.Second, "longest wait for READY=1")
	hold := flag.Duration("hold", 0, "how long to let the program run after READY=1 before reading its memory")
	stopTimeout := flag.Duration("stop-timeout", 15*time.Second, "longest wait for the program to exit after SIGTERM")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: notifywait [flags] -- PROGRAM [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		return 2
	}

	dir, err := os.MkdirTemp("", "notifywait-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifywait:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	sockPath := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifywait:", err)
		return 1
	}
	defer conn.Close()

	ready := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			at := time.Now()
			sc := bufio.NewScanner(strings.NewReader(string(buf[:n])))
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, "STATUS=") {
					fmt.Fprintln(os.Stderr, "notifywait: "+line)
				}
				if line == "READY=1" {
					select {
					case ready <- at:
					default:
					}
				}
			}
		}
	}()

	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sockPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "notifywait:", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	select {
	case at := <-ready:
		fmt.Printf("ready_ms=%.1f\n", float64(at.Sub(start).Microseconds())/1000)
	case err := <-exited:
		fmt.Fprintf(os.Stderr, "notifywait: %s exited before READY=1: %v\n", flag.Arg(0), exitText(err))
		return 1
	case <-time.After(*timeout):
		fmt.Fprintf(os.Stderr, "notifywait: no READY=1 within %v\n", *timeout)
		cmd.Process.Kill()
		<-exited
		return 1
	}

	if *hold > 0 {
		select {
		case err := <-exited:
			fmt.Fprintf(os.Stderr, "notifywait: %s exited during -hold: %v\n", flag.Arg(0), exitText(err))
			return 1
		case <-time.After(*hold):
		}
		if err := printMemory(cmd.Process.Pid); err != nil {
			fmt.Fprintln(os.Stderr, "notifywait:", err)
		}
	}

	stopAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		fmt.Fprintln(os.Stderr, "notifywait:", err)
	}
	select {
	case err := <-exited:
		fmt.Printf("stop_ms=%.1f\n", float64(time.Since(stopAt).Microseconds())/1000)
		fmt.Printf("exit=%s\n", exitText(err))
		if err != nil {
			return 1
		}
		return 0
	case <-time.After(*stopTimeout):
		fmt.Fprintf(os.Stderr, "notifywait: %s did not exit within %v of SIGTERM; killing it\n", flag.Arg(0), *stopTimeout)
		cmd.Process.Kill()
		<-exited
		return 1
	}
}

// exitText is "0", the exit code, or the signal or error that ended it.
func exitText(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "0"
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return fmt.Sprint(ee.ExitCode())
	default:
		return err.Error()
	}
}

// printMemory prints the VmRSS and VmHWM lines of /proc/PID/status as
// vmrss_kib= and vmhwm_kib=.
func printMemory(pid int) error {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err
	}
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v) // "14220 kB"
		if len(f) != 2 || f[1] != "kB" {
			return fmt.Errorf("unexpected %s line %q", k, line)
		}
		fmt.Printf("%s_kib=%s\n", strings.ToLower(k), f[0])
		found++
	}
	if found != 2 {
		return fmt.Errorf("/proc/%d/status has no VmRSS or VmHWM", pid)
	}
	return nil
}
