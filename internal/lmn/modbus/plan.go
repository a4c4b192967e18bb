package modbus

import (
	"sort"

	"github.com/smgw/smgw/internal/lmn/modbus/profile"
	mb "github.com/smgw/smgw/internal/proto/modbus"
)

// Batch is one read request of a poll plan and the registers it carries.
type Batch struct {
	Table     profile.Table
	Address   uint16
	Count     uint16
	Registers []profile.Register // each within Address…Address+Count-1
}

// Request returns the batch's read request.
func (b Batch) Request() mb.Request {
	return mb.Request{Function: byte(b.Table), Address: b.Address, Quantity: b.Count}
}

// Plan batches regs into as few read requests as possible: registers of
// one table, in address order, share a request while it stays within
// maxRegs registers (at most 125) and the unmapped registers between two
// neighbours are at most maxGap.
func Plan(regs []profile.Register, maxRegs, maxGap int) []Batch {
	if maxRegs <= 0 || maxRegs > mb.MaxReadRegisters {
		maxRegs = mb.MaxReadRegisters
	}
	maxGap = max(maxGap, 0)
	sorted := append([]profile.Register(nil), regs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Table != sorted[j].Table {
			return sorted[i].Table < sorted[j].Table
		}
		return sorted[i].Address < sorted[j].Address
	})
	var out []Batch
	for _, r := range sorted {
		end := int(r.Address) + r.Count()
		if n := len(out); n > 0 {
			b := &out[n-1]
			bEnd := int(b.Address) + int(b.Count)
			if b.Table == r.Table && int(r.Address) >= bEnd && int(r.Address)-bEnd <= maxGap && end-int(b.Address) <= maxRegs {
				b.Count = uint16(end - int(b.Address))
				b.Registers = append(b.Registers, r)
				continue
			}
		}
		out = append(out, Batch{Table: r.Table, Address: r.Address, Count: uint16(r.Count()), Registers: []profile.Register{r}})
	}
	return out
}
