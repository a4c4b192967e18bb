package link

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smgw/smgw/hal/modem"
	"github.com/smgw/smgw/hal/modem/modemsim"
	"github.com/smgw/smgw/internal/testutil"
)

// fakeSys writes a sysfs and procfs of its own: interfaces with their
// operstate and carrier, and the default routes.
func fakeSys(t *testing.T, ifs map[string][2]string, defaults ...string) (string, string) {
	t.Helper()
	root, proc := t.TempDir(), t.TempDir()
	for name, st := range ifs {
		dir := filepath.Join(root, "class", "net", name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "operstate"), []byte(st[0]+"\n"), 0o644)
		if st[1] != "" {
			os.WriteFile(filepath.Join(dir, "carrier"), []byte(st[1]+"\n"), 0o644)
		}
	}
	routes := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	routes += "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	for _, d := range defaults {
		routes += d + "\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	}
	os.MkdirAll(filepath.Join(proc, "net"), 0o755)
	os.WriteFile(filepath.Join(proc, "net", "route"), []byte(routes), 0o644)
	return root, proc
}

func TestSysProbe(t *testing.T) {
	root, proc := fakeSys(t, map[string][2]string{"eth0": {"up", "1"}, "wwan0": {"unknown", "1"}, "eth1": {"down", ""}}, "wwan0")
	ifs, err := SysProbe(root, proc)("eth0", "wwan0", "eth1", "nope")
	if err != nil {
		t.Fatal(err)
	}
	want := []IfState{
		{Name: "eth0", Exists: true, OperUp: true, Carrier: true},
		{Name: "wwan0", Exists: true, OperUp: true, Carrier: true, DefaultRoute: true},
		{Name: "eth1", Exists: true},
		{Name: "nope"},
	}
	for i := range want {
		if ifs[i] != want[i] {
			t.Errorf("%s = %+v, want %+v", want[i].Name, ifs[i], want[i])
		}
	}
	// The real system's files parse too (whatever they say).
	if _, err := SysProbe("", "")("lo"); err != nil {
		t.Errorf("SysProbe on this machine: %v", err)
	}
}

// switchable is a probe whose answer the test sets.
type switchable struct {
	mu       sync.Mutex
	eth, lte bool
}

func (s *switchable) probe(names ...string) ([]IfState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	up := func(name string, on bool) IfState {
		return IfState{Name: name, Exists: true, OperUp: on, Carrier: on, DefaultRoute: on}
	}
	return []IfState{up(names[0], s.eth), up(names[1], s.lte)}, nil
}

type memRecords struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (r *memRecords) PutRecord(_ context.Context, kind, name string, v []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[kind+"/"+name] = append([]byte(nil), v...)
	return nil
}

func (r *memRecords) Record(kind, name string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[kind+"/"+name]
	if !ok {
		return nil, errors.New("not found")
	}
	return v, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFailoverAndBudget(t *testing.T) {
	ctx := context.Background()
	sw := &switchable{eth: true, lte: true}
	clk := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	recs := &memRecords{m: map[string][]byte{}}
	opts := &Options{Ethernet: "eth0", LTE: "wwan0", DailyBudget: 1000, Probe: sw.probe, Records: recs, Now: clk.now}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ProbeNow(ctx); err != nil {
		t.Fatal(err)
	}
	if s := m.Status(); s.Active != Ethernet {
		t.Fatalf("active = %s, want ethernet", s.Active)
	}
	// Ethernet: unlimited.
	if !m.Allow(true, 5000) {
		t.Error("bulk refused on Ethernet")
	}
	m.Sent(5000)
	// Ethernet lost: LTE, with its budget.
	sw.mu.Lock()
	sw.eth = false
	sw.mu.Unlock()
	m.ProbeNow(ctx)
	if s := m.Status(); s.Active != LTE || s.Left != 1000 {
		t.Fatalf("status = %+v, want LTE with 1000 left", s)
	}
	if !m.Allow(true, 800) {
		t.Error("bulk within budget refused")
	}
	m.Sent(800)
	if m.Allow(true, 300) {
		t.Error("bulk over budget allowed")
	}
	if !m.Allow(false, 300) {
		t.Error("non-bulk refused over budget")
	}
	m.Sent(300)
	s := m.Status()
	if s.Sent != 6100 || s.SentLTE != 1100 || s.Left != 0 || s.Throttle != 1 {
		t.Errorf("status = %+v", s)
	}
	if !strings.Contains(m.String(), "lte wwan0") || !strings.Contains(m.String(), "budget left") {
		t.Errorf("String = %q", m.String())
	}
	// Saved and restored across a restart on the same day.
	m.save(ctx, true)
	m2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if s2 := m2.Status(); s2.SentLTE != 1100 || s2.Sent != 6100 {
		t.Errorf("after restart: %+v", s2)
	}
	// The next day starts afresh.
	clk.add(24 * time.Hour)
	m2.ProbeNow(ctx)
	if !m2.Allow(true, 900) || m2.Status().SentLTE != 0 {
		t.Errorf("next day: %+v", m2.Status())
	}
	// Nothing up.
	sw.mu.Lock()
	sw.lte = false
	sw.mu.Unlock()
	m2.ProbeNow(ctx)
	if m2.Status().Active != None || !strings.HasPrefix(m2.String(), "none") {
		t.Errorf("none: %q", m2.String())
	}
	// Another interface with the default route.
	o2 := *opts
	o2.Routes = func() (map[string]bool, error) { return map[string]bool{"lo": true, "ens3": true, "wwan0": true}, nil }
	m3, _ := New(&o2)
	m3.ProbeNow(ctx)
	if s := m3.Status(); s.Active != Other || s.Other != "ens3" || !m3.Allow(true, 1<<30) {
		t.Errorf("other: %+v", s)
	}
}

// TestModem runs the monitor with the modem simulator on a pty: LTE is
// used only while the modem is registered.
func TestModem(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gw, simPath, stop, err := modemsim.Pair(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	sim, err := modemsim.Start(simPath, modemsim.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	port, err := modem.Open(gw)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	md := modem.New(port, &modem.Options{Timeout: time.Second})
	if err := md.Init(ctx, "internet"); err != nil {
		t.Fatal(err)
	}
	sw := &switchable{lte: true}
	m, err := New(&Options{Ethernet: "eth0", LTE: "wwan0", Probe: sw.probe, Modem: md})
	if err != nil {
		t.Fatal(err)
	}
	m.ProbeNow(ctx)
	s := m.Status()
	if s.Active != LTE || s.Modem == nil || s.Modem.Operator != "Telekom.de" || s.Modem.RSSI != -73 {
		t.Fatalf("status = %+v", s)
	}
	if got := m.String(); !strings.Contains(got, "Telekom.de, -73 dBm") {
		t.Errorf("String = %q", got)
	}
	sim.Set(func(st *modemsim.State) { st.CEREG, st.CREG, st.Operator = 2, 2, "" })
	m.ProbeNow(ctx)
	if s := m.Status(); s.Active != None || s.Modem.Registration != modem.RegSearching {
		t.Errorf("unregistered: %+v", s)
	}
	// A modem that stops answering: reported, LTE not used.
	sim.Set(func(st *modemsim.State) { st.CEREG, st.CREG = 1, 1; st.Fail["AT+CPIN?"] = "" })
	m.ProbeNow(ctx)
	if s := m.Status(); s.Active != None || s.ModemErr == "" {
		t.Errorf("mute modem: %+v", s)
	}
}

func TestRun(t *testing.T) {
	testutil.CheckGoroutines(t)
	sw := &switchable{eth: true}
	recs := &memRecords{m: map[string][]byte{}}
	m, err := New(&Options{Ethernet: "eth0", Probe: sw.probe, Every: 10 * time.Millisecond, Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	for i := 0; m.Status().Active != Ethernet && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	m.Sent(42)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := recs.Record(RecordKind, recordName); err != nil {
		t.Errorf("counters not saved at the end: %v", err)
	}
}
