package wmbus

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smgw/smgw/internal/testutil"
)

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want string // hex of Data; "" for a skipped line
		crc  CRCState
		mode LinkMode
		err  bool
	}{
		{line: "1E468B0501000000", want: "1e468b0501000000", crc: CRCUnknown},
		{line: "  0x1e468b05 00112233445566778899AABBCCDDEEFF  \r\n", want: "1e468b05", crc: CRCUnknown},
		{line: "1e468b05\tkey", want: "1e468b05"},
		{line: "telegram=|1e44|8b05|", want: "1e448b05"},
		{line: "|1A44|", want: "1a44"},
		{line: "||", err: true},
		{line: "1|23", err: true},
		{line: "T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x4944FA1288888888", want: "4944fa1288888888", crc: CRCStripped, mode: ModeT1},
		{line: "C1;1;1;2019-04-03 19:00:42.000;97;148;88888888;4944", want: "4944", crc: CRCStripped, mode: ModeC1},
		{line: "T1;0;1;2019-04-03 19:00:42.000;97;148;88888888;0x4944", err: true},
		{line: "T1;1;1;2019", err: true},
		{line: "T1;1;1;a;b;c;d;0x44;e", err: true},
		{line: "", want: ""},
		{line: "# a comment", want: ""},
		{line: "123", err: true},
		{line: "zz", err: true},
		{line: "0x", err: true},
	} {
		_, f, err := ParseLine(nil, []byte(c.line))
		if c.err {
			if !errors.Is(err, ErrLine) {
				t.Errorf("%q: err %v, want ErrLine", c.line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if got := hexs(f.Data); got != c.want || f.CRC != c.crc || f.Mode != c.mode {
			t.Errorf("%q: %s %v %v, want %s %v %v", c.line, got, f.CRC, f.Mode, c.want, c.crc, c.mode)
		}
	}
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(d[c>>4])
		s.WriteByte(d[c&15])
	}
	return s.String()
}

func TestLinesReader(t *testing.T) {
	testutil.CheckGoroutines(t)
	in := "1e468b05\nbad line\n" + strings.Repeat("a", MaxLine+10) + "\n" +
		"T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x4944\n" + "abcd" // no final newline
	var bad int
	l := NewLines(strings.NewReader(in), &LinesOptions{OnBad: func(error) { bad++ }})
	col := newCollector()
	if err := l.Run(context.Background(), col.fn); !errors.Is(err, ErrEnd) {
		t.Fatalf("Run: %v, want ErrEnd", err)
	}
	var got []string
	for _, f := range col.frames {
		got = append(got, hexs(f.Data))
	}
	if strings.Join(got, ",") != "1e468b05,4944,abcd" {
		t.Errorf("frames %v", got)
	}
	if st := l.Stats(); st.Frames != 3 || st.Bad != 2 || bad != 2 {
		t.Errorf("stats %+v, bad %d", st, bad)
	}
}

func TestLinesPipeCancel(t *testing.T) {
	testutil.CheckGoroutines(t)
	pr, pw := io.Pipe()
	l := NewLines(pr, nil)
	col := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, col.fn) }()
	io.WriteString(pw, "0102\n")
	col.wait(t, 1)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestLinesFIFO(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	l := NewLinesFile(path, nil)
	col := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, col.fn) }()
	for range 2 { // writers come and go; the reader stays
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "0a0b\n")
		w.Close()
	}
	fs := col.wait(t, 2)
	if !bytes.Equal(fs[1].Data, []byte{0x0a, 0x0b}) {
		t.Errorf("frame %x", fs[1].Data)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestLinesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "telegrams.txt")
	os.WriteFile(path, []byte("0102\n0304 00112233445566778899aabbccddeeff\n"), 0o600)
	l := NewLinesFile(path, nil)
	col := newCollector()
	if err := l.Run(context.Background(), col.fn); !errors.Is(err, ErrEnd) {
		t.Fatalf("Run: %v", err)
	}
	if len(col.frames) != 2 {
		t.Fatalf("%d frames", len(col.frames))
	}
	if err := NewLinesFile(filepath.Join(t.TempDir(), "missing"), nil).Run(context.Background(), col.fn); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestLinesStdin runs a child test process whose stdin is a pipe that
// stays open: Run must return when its context ends.
func TestLinesStdin(t *testing.T) {
	if os.Getenv("WMBUS_STDIN_CHILD") == "1" {
		l := NewLinesFile("-", nil)
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan struct{}, 1)
		done := make(chan error, 1)
		go func() {
			done <- l.Run(ctx, func(f Frame) {
				if hexs(f.Data) == "0102" {
					got <- struct{}{}
				}
			})
		}()
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no frame from stdin")
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel with stdin open")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLinesStdin$", "-test.v")
	cmd.Env = append(os.Environ(), "WMBUS_STDIN_CHILD=1")
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "0102\n") // and the pipe stays open
	err = cmd.Wait()
	w.Close()
	if err != nil || !strings.Contains(out.String(), "--- PASS: TestLinesStdin") {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
}
