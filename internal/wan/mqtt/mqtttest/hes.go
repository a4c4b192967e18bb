package mqtttest

import (
	"bufio"
	"encoding/hex"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MosquittoSub is the subscriber binary the HES runs.
const MosquittoSub = "/usr/bin/mosquitto_sub"

// Message is one message the HES received.
type Message struct {
	Topic       string
	Payload     []byte
	Retained    bool
	Correlation string // MQTT v5 correlation data
}

// HES stands in for the head-end system: mosquitto_sub with a persistent
// session (MQTT v5, clean start off, session expiry of an hour, QoS 1), so
// that it also gets what was published while it reconnected, even across
// a restart of the broker.
type HES struct {
	mu   sync.Mutex
	msgs []Message
	wake chan struct{}
}

// NewHES subscribes to topics on the plain listener as clientID and
// collects what arrives until the test ends.
func (b *Broker) NewHES(clientID string, topics ...string) *HES {
	t := b.t
	t.Helper()
	host, port, _ := strings.Cut(b.PlainAddr, ":")
	args := []string{"-V", "mqttv5", "-h", host, "-p", port, "-i", clientID, "-c", "-x", "3600", "-q", "1",
		"-d", "-F", "MSG %t %r %x %D"}
	for _, tp := range topics {
		args = append(args, "-t", tp)
	}
	// Line-buffered: mosquitto_sub's output is a pipe here, which stdio
	// would buffer by the block.
	cmd := exec.Command("stdbuf", append([]string{"-oL", MosquittoSub}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto_sub: %v", err)
	}
	h := &HES{wake: make(chan struct{}, 1)}
	subscribed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 64<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "Client ") && strings.Contains(line, "SUBACK") {
				once.Do(func() { close(subscribed) })
				continue
			}
			f := strings.Fields(line)
			if len(f) < 3 || f[0] != "MSG" {
				continue
			}
			m := Message{Topic: f[1], Retained: f[2] == "1"}
			if len(f) > 3 {
				if m.Payload, err = hex.DecodeString(f[3]); err != nil {
					continue
				}
			}
			if len(f) > 4 {
				m.Correlation = f[4]
			}
			h.mu.Lock()
			h.msgs = append(h.msgs, m)
			h.mu.Unlock()
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		<-done
	})
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("the HES (mosquitto_sub) could not subscribe")
	}
	return h
}

// Messages returns what arrived so far.
func (h *HES) Messages() []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Message(nil), h.msgs...)
}

// Wait waits until done(messages) is true or timeout passes; it returns
// whether done became true.
func (h *HES) Wait(timeout time.Duration, done func([]Message) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if done(h.Messages()) {
			return true
		}
		select {
		case <-h.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline.C:
			return done(h.Messages())
		}
	}
}
