package zcl

import (
	"encoding/binary"
	"fmt"
)

// Global command ids (ZCL 2.5, table 2-3).
const (
	CmdReadAttributes             uint8 = 0x00
	CmdReadAttributesResponse     uint8 = 0x01
	CmdWriteAttributes            uint8 = 0x02
	CmdWriteAttributesUndivided   uint8 = 0x03
	CmdWriteAttributesResponse    uint8 = 0x04
	CmdWriteAttributesNoResponse  uint8 = 0x05
	CmdConfigureReporting         uint8 = 0x06
	CmdConfigureReportingResponse uint8 = 0x07
	CmdReadReportingConfig        uint8 = 0x08
	CmdReadReportingConfigResp    uint8 = 0x09
	CmdReportAttributes           uint8 = 0x0a
	CmdDefaultResponse            uint8 = 0x0b
	CmdDiscoverAttributes         uint8 = 0x0c
	CmdDiscoverAttributesResponse uint8 = 0x0d
)

// reader walks a payload with bounds checks; the first error sticks.
type reader struct {
	p   []byte
	off int
	err error
	cmd string
}

func (r *reader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if len(r.p)-r.off < n {
		r.err = fmt.Errorf("%w: %s: %s at byte %d needs %d bytes, %d left", ErrShort, r.cmd, what, r.off, n, len(r.p)-r.off)
		return false
	}
	return true
}

func (r *reader) u8(what string) uint8 {
	if !r.need(1, what) {
		return 0
	}
	r.off++
	return r.p[r.off-1]
}

func (r *reader) u16(what string) uint16 {
	if !r.need(2, what) {
		return 0
	}
	r.off += 2
	return binary.LittleEndian.Uint16(r.p[r.off-2:])
}

func (r *reader) u24(what string) uint32 {
	if !r.need(3, what) {
		return 0
	}
	r.off += 3
	return uint32(readUint(r.p[r.off-3:], 3))
}

func (r *reader) u32(what string) uint32 {
	if !r.need(4, what) {
		return 0
	}
	r.off += 4
	return binary.LittleEndian.Uint32(r.p[r.off-4:])
}

func (r *reader) value(t Type, what string) Value {
	if r.err != nil {
		return Value{Type: t}
	}
	v, n, err := ParseValue(t, r.p[r.off:])
	if err != nil {
		r.err = fmt.Errorf("%s: %s at byte %d: %w", r.cmd, what, r.off, err)
		return v
	}
	r.off += n
	return v
}

// attrValue is value for an attribute's record; the error names the
// attribute (formatted only on error).
func (r *reader) attrValue(t Type, id uint16) Value {
	if r.err != nil {
		return Value{Type: t}
	}
	v, n, err := ParseValue(t, r.p[r.off:])
	if err != nil {
		r.err = fmt.Errorf("%s: attribute 0x%04x at byte %d: %w", r.cmd, id, r.off, err)
		return v
	}
	r.off += n
	return v
}

func (r *reader) str(what string) []byte {
	v := r.value(TypeOctetStr, what)
	return v.B
}

func (r *reader) more() bool { return r.err == nil && r.off < len(r.p) }

func (r *reader) done() error {
	if r.err == nil && r.off != len(r.p) {
		r.err = fmt.Errorf("%w: %s: %d trailing bytes at byte %d", ErrMalformed, r.cmd, len(r.p)-r.off, r.off)
	}
	return r.err
}

// ---- Read Attributes ----

// AppendReadAttributes appends a Read Attributes payload.
func AppendReadAttributes(dst []byte, ids []uint16) []byte {
	for _, id := range ids {
		dst = binary.LittleEndian.AppendUint16(dst, id)
	}
	return dst
}

// ParseReadAttributes decodes a Read Attributes payload.
func ParseReadAttributes(p []byte) ([]uint16, error) {
	if len(p)%2 != 0 {
		return nil, fmt.Errorf("%w: read attributes: %d bytes is not a whole number of attribute ids", ErrMalformed, len(p))
	}
	ids := make([]uint16, len(p)/2)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint16(p[2*i:])
	}
	return ids, nil
}

// ReadRecord is one record of a Read Attributes Response: the attribute's
// status and, on success, its value.
type ReadRecord struct {
	ID     uint16
	Status Status
	Value  Value // set only when Status is SUCCESS
}

// AppendReadAttributesResponse appends a Read Attributes Response payload.
func AppendReadAttributesResponse(dst []byte, recs []ReadRecord) ([]byte, error) {
	for _, r := range recs {
		dst = binary.LittleEndian.AppendUint16(dst, r.ID)
		dst = append(dst, byte(r.Status))
		if r.Status != StatusSuccess {
			continue
		}
		dst = append(dst, byte(r.Value.Type))
		var err error
		if dst, err = AppendValue(dst, r.Value); err != nil {
			return dst, fmt.Errorf("read attributes response: attribute 0x%04x: %w", r.ID, err)
		}
	}
	return dst, nil
}

// ParseReadAttributesResponse decodes a Read Attributes Response payload.
func ParseReadAttributesResponse(p []byte) ([]ReadRecord, error) {
	r := &reader{p: p, cmd: "read attributes response"}
	var recs []ReadRecord
	for r.more() {
		rec := ReadRecord{ID: r.u16("attribute id"), Status: Status(r.u8("status"))}
		if rec.Status == StatusSuccess {
			t := Type(r.u8("data type"))
			rec.Value = r.attrValue(t, rec.ID)
		}
		if r.err == nil {
			recs = append(recs, rec)
		}
	}
	return recs, r.done()
}

// ---- Write Attributes and Report Attributes ----

// AttrValue is an attribute id with a typed value: a record of Write
// Attributes and of Report Attributes.
type AttrValue struct {
	ID    uint16
	Value Value
}

// AppendAttrValues appends Write Attributes (any of the three) or Report
// Attributes records.
func AppendAttrValues(dst []byte, recs []AttrValue) ([]byte, error) {
	for _, r := range recs {
		dst = binary.LittleEndian.AppendUint16(dst, r.ID)
		dst = append(dst, byte(r.Value.Type))
		var err error
		if dst, err = AppendValue(dst, r.Value); err != nil {
			return dst, fmt.Errorf("attribute 0x%04x: %w", r.ID, err)
		}
	}
	return dst, nil
}

// ParseAttrValues decodes Write Attributes or Report Attributes records.
func ParseAttrValues(p []byte) ([]AttrValue, error) {
	r := &reader{p: p, cmd: "attribute records"}
	var recs []AttrValue
	for r.more() {
		id := r.u16("attribute id")
		t := Type(r.u8("data type"))
		v := r.attrValue(t, id)
		if r.err == nil {
			recs = append(recs, AttrValue{ID: id, Value: v})
		}
	}
	return recs, r.done()
}

// StatusRecord is a failure record of Write Attributes Response (Direction
// unused) and Configure Reporting Response.
type StatusRecord struct {
	Status    Status
	Direction uint8 // Configure Reporting Response only
	ID        uint16
}

// AppendWriteAttributesResponse appends a Write Attributes Response: the
// single byte SUCCESS when recs holds no failure, else the failure records.
func AppendWriteAttributesResponse(dst []byte, recs []StatusRecord) []byte {
	n := 0
	for _, r := range recs {
		if r.Status != StatusSuccess {
			dst = append(dst, byte(r.Status), byte(r.ID), byte(r.ID>>8))
			n++
		}
	}
	if n == 0 {
		dst = append(dst, byte(StatusSuccess))
	}
	return dst
}

// ParseWriteAttributesResponse decodes a Write Attributes Response; a
// single SUCCESS byte decodes to one record with status SUCCESS.
func ParseWriteAttributesResponse(p []byte) ([]StatusRecord, error) {
	if len(p) == 1 {
		if p[0] != byte(StatusSuccess) {
			return nil, fmt.Errorf("%w: write attributes response: lone status %s without an attribute id", ErrMalformed, Status(p[0]))
		}
		return []StatusRecord{{Status: StatusSuccess}}, nil
	}
	r := &reader{p: p, cmd: "write attributes response"}
	var recs []StatusRecord
	for r.more() {
		rec := StatusRecord{Status: Status(r.u8("status")), ID: r.u16("attribute id")}
		if r.err == nil {
			recs = append(recs, rec)
		}
	}
	if len(recs) == 0 && r.err == nil {
		return nil, fmt.Errorf("%w: write attributes response: empty", ErrShort)
	}
	return recs, r.done()
}

// ---- Configure Reporting ----

// Reporting directions of Configure Reporting records.
const (
	ReportSent     uint8 = 0x00 // the receiver sends reports of the attribute
	ReportReceived uint8 = 0x01 // the receiver expects reports (timeout)
)

// ReportingConfig is a Configure Reporting record (and the body of a Read
// Reporting Configuration Response record).
type ReportingConfig struct {
	Direction uint8
	ID        uint16
	// Direction ReportSent:
	Type        Type
	MinInterval uint16 // seconds
	MaxInterval uint16 // seconds; 0xffff stops periodic reports
	// Change is the reportable change, present for analog types only
	// (same type as the attribute).
	Change Value
	// Direction ReportReceived:
	Timeout uint16 // seconds
}

func appendReportingBody(dst []byte, c ReportingConfig) ([]byte, error) {
	if c.Direction > ReportReceived {
		return dst, fmt.Errorf("%w: reporting direction %d is not 0 or 1", ErrRange, c.Direction)
	}
	dst = append(dst, c.Direction, byte(c.ID), byte(c.ID>>8))
	if c.Direction == ReportReceived {
		return binary.LittleEndian.AppendUint16(dst, c.Timeout), nil
	}
	if !c.Type.Supported() {
		return dst, fmt.Errorf("%w: attribute 0x%04x: %s", ErrUnsupportedType, c.ID, c.Type)
	}
	dst = append(dst, byte(c.Type))
	dst = binary.LittleEndian.AppendUint16(dst, c.MinInterval)
	dst = binary.LittleEndian.AppendUint16(dst, c.MaxInterval)
	if c.Type.Analog() {
		ch := c.Change
		ch.Type = c.Type
		var err error
		if dst, err = AppendValue(dst, ch); err != nil {
			return dst, fmt.Errorf("attribute 0x%04x reportable change: %w", c.ID, err)
		}
	}
	return dst, nil
}

func (r *reader) reportingBody(dirAndID bool, c *ReportingConfig) {
	if dirAndID {
		c.Direction = r.u8("direction")
		c.ID = r.u16("attribute id")
	}
	if r.err != nil {
		return
	}
	switch c.Direction {
	case ReportSent:
		c.Type = Type(r.u8("data type"))
		c.MinInterval = r.u16("minimum interval")
		c.MaxInterval = r.u16("maximum interval")
		if r.err != nil {
			return
		}
		if !c.Type.Supported() {
			r.err = fmt.Errorf("%w: %s: attribute 0x%04x: %s", ErrUnsupportedType, r.cmd, c.ID, c.Type)
			return
		}
		if c.Type.Analog() {
			c.Change = r.value(c.Type, "reportable change")
		}
	case ReportReceived:
		c.Timeout = r.u16("timeout")
	default:
		r.err = fmt.Errorf("%w: %s: direction %d at byte %d is not 0 or 1", ErrMalformed, r.cmd, c.Direction, r.off-3)
	}
}

// AppendConfigureReporting appends a Configure Reporting payload.
func AppendConfigureReporting(dst []byte, recs []ReportingConfig) ([]byte, error) {
	for _, c := range recs {
		var err error
		if dst, err = appendReportingBody(dst, c); err != nil {
			return dst, fmt.Errorf("configure reporting: %w", err)
		}
	}
	return dst, nil
}

// ParseConfigureReporting decodes a Configure Reporting payload.
func ParseConfigureReporting(p []byte) ([]ReportingConfig, error) {
	r := &reader{p: p, cmd: "configure reporting"}
	var recs []ReportingConfig
	for r.more() {
		var c ReportingConfig
		r.reportingBody(true, &c)
		if r.err == nil {
			recs = append(recs, c)
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: configure reporting: no records", ErrShort)
	}
	return recs, r.done()
}

// AppendConfigureReportingResponse appends a Configure Reporting Response:
// one SUCCESS byte when every record succeeded, else the failure records.
func AppendConfigureReportingResponse(dst []byte, recs []StatusRecord) []byte {
	n := 0
	for _, r := range recs {
		if r.Status != StatusSuccess {
			dst = append(dst, byte(r.Status), r.Direction, byte(r.ID), byte(r.ID>>8))
			n++
		}
	}
	if n == 0 {
		dst = append(dst, byte(StatusSuccess))
	}
	return dst
}

// ParseConfigureReportingResponse decodes a Configure Reporting Response.
func ParseConfigureReportingResponse(p []byte) ([]StatusRecord, error) {
	if len(p) == 1 {
		return []StatusRecord{{Status: Status(p[0])}}, nil
	}
	r := &reader{p: p, cmd: "configure reporting response"}
	var recs []StatusRecord
	for r.more() {
		rec := StatusRecord{Status: Status(r.u8("status")), Direction: r.u8("direction"), ID: r.u16("attribute id")}
		if r.err == nil {
			recs = append(recs, rec)
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: configure reporting response: empty", ErrShort)
	}
	return recs, r.done()
}

// ---- Read Reporting Configuration ----

// AttrRef names an attribute and a reporting direction (Read Reporting
// Configuration records).
type AttrRef struct {
	Direction uint8
	ID        uint16
}

// AppendReadReportingConfig appends a Read Reporting Configuration payload.
func AppendReadReportingConfig(dst []byte, refs []AttrRef) []byte {
	for _, a := range refs {
		dst = append(dst, a.Direction, byte(a.ID), byte(a.ID>>8))
	}
	return dst
}

// ParseReadReportingConfig decodes a Read Reporting Configuration payload.
func ParseReadReportingConfig(p []byte) ([]AttrRef, error) {
	if len(p) == 0 || len(p)%3 != 0 {
		return nil, fmt.Errorf("%w: read reporting configuration: %d bytes is not a whole number of 3-byte records", ErrMalformed, len(p))
	}
	refs := make([]AttrRef, len(p)/3)
	for i := range refs {
		refs[i] = AttrRef{Direction: p[3*i], ID: binary.LittleEndian.Uint16(p[3*i+1:])}
	}
	return refs, nil
}

// ReportingConfigRecord is a Read Reporting Configuration Response record.
type ReportingConfigRecord struct {
	Status Status
	ReportingConfig
}

// AppendReadReportingConfigResponse appends a Read Reporting Configuration
// Response payload.
func AppendReadReportingConfigResponse(dst []byte, recs []ReportingConfigRecord) ([]byte, error) {
	for _, r := range recs {
		if r.Status != StatusSuccess {
			dst = append(dst, byte(r.Status), r.Direction, byte(r.ID), byte(r.ID>>8))
			continue
		}
		dst = append(dst, byte(r.Status))
		var err error
		if dst, err = appendReportingBody(dst, r.ReportingConfig); err != nil {
			return dst, fmt.Errorf("read reporting configuration response: %w", err)
		}
	}
	return dst, nil
}

// ParseReadReportingConfigResponse decodes a Read Reporting Configuration
// Response payload.
func ParseReadReportingConfigResponse(p []byte) ([]ReportingConfigRecord, error) {
	r := &reader{p: p, cmd: "read reporting configuration response"}
	var recs []ReportingConfigRecord
	for r.more() {
		var rec ReportingConfigRecord
		rec.Status = Status(r.u8("status"))
		rec.Direction = r.u8("direction")
		rec.ID = r.u16("attribute id")
		if rec.Status == StatusSuccess {
			r.reportingBody(false, &rec.ReportingConfig)
		}
		if r.err == nil {
			recs = append(recs, rec)
		}
	}
	return recs, r.done()
}

// ---- Default Response ----

// DefaultResponse is the Default Response payload.
type DefaultResponse struct {
	Command uint8 // the command answered
	Status  Status
}

// AppendDefaultResponse appends a Default Response payload.
func AppendDefaultResponse(dst []byte, d DefaultResponse) []byte {
	return append(dst, d.Command, byte(d.Status))
}

// ParseDefaultResponse decodes a Default Response payload.
func ParseDefaultResponse(p []byte) (DefaultResponse, error) {
	r := &reader{p: p, cmd: "default response"}
	d := DefaultResponse{Command: r.u8("command id"), Status: Status(r.u8("status"))}
	return d, r.done()
}

// NeedsDefaultResponse applies ZCL 2.5.12.2: a Default Response is sent to
// a unicast command that is not itself a Default Response, that got no
// other response, when its disable-default-response bit is clear or the
// outcome is an error.
func NeedsDefaultResponse(h Header, broadcast, answered bool, st Status) bool {
	if broadcast || answered {
		return false
	}
	if h.Type == FrameGlobal && h.Command == CmdDefaultResponse {
		return false
	}
	return !h.DisableDefaultResponse || st != StatusSuccess
}

// ---- Discover Attributes ----

// DiscoverAttributes is the Discover Attributes payload.
type DiscoverAttributes struct {
	Start    uint16 // the first attribute id to list
	MaxCount uint8
}

// AppendDiscoverAttributes appends a Discover Attributes payload.
func AppendDiscoverAttributes(dst []byte, d DiscoverAttributes) []byte {
	return append(dst, byte(d.Start), byte(d.Start>>8), d.MaxCount)
}

// ParseDiscoverAttributes decodes a Discover Attributes payload.
func ParseDiscoverAttributes(p []byte) (DiscoverAttributes, error) {
	r := &reader{p: p, cmd: "discover attributes"}
	d := DiscoverAttributes{Start: r.u16("start attribute id"), MaxCount: r.u8("maximum count")}
	return d, r.done()
}

// AttrInfo is a Discover Attributes Response record.
type AttrInfo struct {
	ID   uint16
	Type Type
}

// DiscoverAttributesResponse is the Discover Attributes Response payload.
type DiscoverAttributesResponse struct {
	Complete bool // no attributes left to discover
	Attrs    []AttrInfo
}

// AppendDiscoverAttributesResponse appends a Discover Attributes Response.
func AppendDiscoverAttributesResponse(dst []byte, d DiscoverAttributesResponse) []byte {
	c := byte(0)
	if d.Complete {
		c = 1
	}
	dst = append(dst, c)
	for _, a := range d.Attrs {
		dst = append(dst, byte(a.ID), byte(a.ID>>8), byte(a.Type))
	}
	return dst
}

// ParseDiscoverAttributesResponse decodes a Discover Attributes Response.
func ParseDiscoverAttributesResponse(p []byte) (DiscoverAttributesResponse, error) {
	var d DiscoverAttributesResponse
	if len(p) < 1 {
		return d, fmt.Errorf("%w: discover attributes response: empty", ErrShort)
	}
	if p[0] > 1 {
		return d, fmt.Errorf("%w: discover attributes response: discovery complete byte %d is not 0 or 1", ErrMalformed, p[0])
	}
	d.Complete = p[0] == 1
	if (len(p)-1)%3 != 0 {
		return d, fmt.Errorf("%w: discover attributes response: %d record bytes is not a whole number of 3-byte records", ErrMalformed, len(p)-1)
	}
	for i := 1; i+3 <= len(p); i += 3 {
		d.Attrs = append(d.Attrs, AttrInfo{ID: binary.LittleEndian.Uint16(p[i:]), Type: Type(p[i+2])})
	}
	return d, nil
}
