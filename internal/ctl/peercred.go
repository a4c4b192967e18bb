package ctl

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"slices"
	"strconv"
)

// peerCred is who is on the other end of a unix socket connection.
type peerCred struct {
	PID    int32
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups, when known
}

// allowed reports whether a peer may use the socket: root, the daemon's own
// (effective) user self, and members of allowGID (0: no group) by primary
// or supplementary group.
func allowed(p peerCred, self, allowGID uint32) bool {
	switch {
	case p.UID == 0, p.UID == self:
		return true
	case allowGID == 0:
		return false
	case p.GID == allowGID:
		return true
	}
	return slices.Contains(p.Groups, allowGID)
}

// credListener accepts only connections whose peer is allowed; the others
// are logged and closed.
type credListener struct {
	*net.UnixListener
	log        *slog.Logger
	allow      func(peerCred) bool
	needGroups bool // look up supplementary groups when the ids alone do not allow
}

// Accept implements net.Listener.
func (l *credListener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if !peerCredSupported {
			return c, nil
		}
		p, err := peerCredOf(c)
		if err != nil {
			l.log.Warn("ctl: refused a connection: cannot read its peer credentials", "err", err)
			c.Close()
			continue
		}
		if !l.allow(p) && l.needGroups {
			p.Groups = supplementaryGroups(p.PID)
		}
		if !l.allow(p) {
			l.log.Warn("ctl: refused a connection: not root, the daemon's user or in its group",
				"pid", p.PID, "uid", p.UID, "gid", p.GID)
			c.Close()
			continue
		}
		return c, nil
	}
}

// parseGroupsLine reads the supplementary groups from the text of
// /proc/<pid>/status.
func parseGroupsLine(status []byte) []uint32 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("Groups:"))
		if !ok {
			continue
		}
		var gs []uint32
		for _, f := range bytes.Fields(rest) {
			if n, err := strconv.ParseUint(string(f), 10, 32); err == nil {
				gs = append(gs, uint32(n))
			}
		}
		return gs
	}
	return nil
}
