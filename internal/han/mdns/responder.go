package mdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// The mDNS group and port (RFC 6762).
var group = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// Options configure New.
type Options struct {
	// Interface is the HAN interface whose queries are answered (and
	// whose IPv4 addresses are advertised when Zone.Addrs is empty).
	// Required unless Listen is set.
	Interface string
	// WANInterfaces are refused as Interface.
	WANInterfaces []string
	// Zone is what is advertised.
	Zone Zone
	// Listen, for tests, replaces the multicast group with a unicast
	// UDP address (e.g. "127.0.0.1:0"): every query arriving there is
	// answered to its sender, and no announcements are sent.
	Listen string
	// Log receives the responder's log lines; nil discards them.
	Log *slog.Logger
}

// Errors of New.
var (
	// ErrWAN is returned when Interface is a WAN interface.
	ErrWAN = errors.New("mdns: refusing to advertise on a WAN interface")
	// ErrInterface is returned (wrapped) when the interface is unusable.
	ErrInterface = errors.New("mdns: HAN interface unusable")
)

// Responder answers mDNS queries on the HAN interface. New → Run → Close.
type Responder struct {
	z       Zone
	ifi     *net.Interface
	conn    *net.UDPConn
	pc      *ipv4.PacketConn
	unicast bool
	log     *slog.Logger

	closeOnce sync.Once
	mu        sync.Mutex
	announced bool
}

// New checks the options, binds the socket and joins the group on the
// interface. It starts no goroutines.
func New(opts *Options) (*Responder, error) {
	if opts == nil {
		return nil, fmt.Errorf("%w: options are required", ErrInterface)
	}
	o := *opts
	r := &Responder{z: o.Zone, log: o.Log}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if o.Interface != "" && slices.Contains(o.WANInterfaces, o.Interface) {
		return nil, fmt.Errorf("%w: %q", ErrWAN, o.Interface)
	}
	if o.Listen != "" {
		a, err := net.ResolveUDPAddr("udp4", o.Listen)
		if err != nil {
			return nil, fmt.Errorf("%w: listen %q: %v", ErrInterface, o.Listen, err)
		}
		if r.conn, err = net.ListenUDP("udp4", a); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInterface, err)
		}
		r.unicast = true
	} else {
		if o.Interface == "" {
			return nil, fmt.Errorf("%w: no interface named", ErrInterface)
		}
		ifi, err := net.InterfaceByName(o.Interface)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInterface, o.Interface, err)
		}
		if ifi.Flags&net.FlagMulticast == 0 {
			return nil, fmt.Errorf("%w: %q does not do multicast", ErrInterface, o.Interface)
		}
		r.ifi = ifi
		if len(r.z.Addrs) == 0 {
			as, _ := ifi.Addrs()
			for _, a := range as {
				if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
					r.z.Addrs = append(r.z.Addrs, p.Addr())
				}
			}
		}
		lc := net.ListenConfig{Control: control(ifi.Name)}
		pc, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:5353")
		if err != nil {
			return nil, fmt.Errorf("%w: bind port 5353: %v", ErrInterface, err)
		}
		r.conn = pc.(*net.UDPConn)
		if err := ipv4.NewPacketConn(r.conn).JoinGroup(ifi, group); err != nil {
			r.conn.Close()
			return nil, fmt.Errorf("%w: join %s on %q: %v", ErrInterface, group.IP, o.Interface, err)
		}
	}
	if err := r.z.Check(); err != nil {
		r.conn.Close()
		return nil, err
	}
	r.pc = ipv4.NewPacketConn(r.conn)
	if !r.unicast {
		if err := r.pc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
			r.conn.Close()
			return nil, fmt.Errorf("%w: %v", ErrInterface, err)
		}
		r.pc.SetMulticastInterface(r.ifi)
		r.pc.SetMulticastTTL(255) // RFC 6762 §11
		r.pc.SetMulticastLoopback(false)
	}
	return r, nil
}

// Addr is the bound address.
func (r *Responder) Addr() net.Addr { return r.conn.LocalAddr() }

// Run answers queries until ctx ends or Close; it returns nil then.
func (r *Responder) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	if !r.unicast {
		actx, cancel := context.WithCancel(ctx)
		defer cancel()
		wg.Go(func() { r.announce(actx) })
	}
	buf := make([]byte, 9000)
	for {
		n, cm, src, err := r.pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("mdns: read: %w", err)
		}
		if !r.unicast && (cm == nil || cm.IfIndex != r.ifi.Index) {
			r.log.Debug("mdns: dropped a packet from another interface", "from", src)
			continue // not from the HAN interface: never answered
		}
		ua, _ := src.(*net.UDPAddr)
		if ua == nil {
			continue
		}
		legacy := ua.Port != 5353
		resp, unicast, ok := r.z.Answer(buf[:n], legacy)
		if !ok {
			r.log.Debug("mdns: nothing to answer", "from", src)
			continue
		}
		dst := net.Addr(group)
		if r.unicast || legacy || unicast {
			dst = ua
		}
		if _, err := r.pc.WriteTo(resp, nil, dst); err != nil {
			r.log.Warn("mdns: send failed", "to", dst, "err", err)
		}
	}
}

// announce sends the records twice, a second apart (RFC 6762 §8.3).
func (r *Responder) announce(ctx context.Context) {
	msg, err := r.z.Announcement(false)
	if err != nil {
		r.log.Warn("mdns: announcement", "err", err)
		return
	}
	for i := range 2 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if _, err := r.pc.WriteTo(msg, nil, group); err != nil {
			r.log.Warn("mdns: announcement failed", "err", err)
			return
		}
		r.mu.Lock()
		r.announced = true
		r.mu.Unlock()
	}
}

// Close says goodbye (when announced) and releases the socket. It is
// idempotent.
func (r *Responder) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		bye := r.announced
		r.mu.Unlock()
		if bye {
			if msg, err := r.z.Announcement(true); err == nil {
				r.pc.WriteTo(msg, nil, group)
			}
		}
		r.conn.Close()
	})
	return nil
}
