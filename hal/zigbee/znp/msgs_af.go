package znp

import "fmt"

// AfRegister registers an application endpoint.
type AfRegister struct {
	Endpoint      uint8
	Profile       uint16
	DeviceID      uint16
	DeviceVersion uint8
	LatencyReq    uint8 // 0 no latency
	InClusters    []uint16
	OutClusters   []uint16
}

// Frame encodes m. At most 61 clusters in total fit one frame.
func (m AfRegister) Frame() (Frame, error) {
	if 9+2*(len(m.InClusters)+len(m.OutClusters)) > MaxPayload || len(m.InClusters) > 255 || len(m.OutClusters) > 255 {
		return Frame{}, fmt.Errorf("%w: AF_REGISTER of endpoint %d with %d+%d clusters", ErrTooLong,
			m.Endpoint, len(m.InClusters), len(m.OutClusters))
	}
	p := []byte{m.Endpoint}
	p = le16(le16(p, m.Profile), m.DeviceID)
	p = append(p, m.DeviceVersion, m.LatencyReq, byte(len(m.InClusters)))
	for _, c := range m.InClusters {
		p = le16(p, c)
	}
	p = append(p, byte(len(m.OutClusters)))
	for _, c := range m.OutClusters {
		p = le16(p, c)
	}
	return Frame{Cmd: CmdAfRegister, Payload: p}, nil
}

// ParseAfRegister decodes AF_REGISTER.
func ParseAfRegister(f Frame) (AfRegister, error) {
	r, err := open(f, CmdAfRegister)
	if err != nil {
		return AfRegister{}, err
	}
	m := AfRegister{Endpoint: r.u8("EndPoint"), Profile: r.u16("AppProfId"), DeviceID: r.u16("AppDeviceId"),
		DeviceVersion: r.u8("AppDevVer"), LatencyReq: r.u8("LatencyReq")}
	m.InClusters = clusters(r, "AppInClusterList")
	m.OutClusters = clusters(r, "AppOutClusterList")
	return m, r.done()
}

func clusters(r *rd, what string) []uint16 {
	n := int(r.u8("AppNum" + what))
	if !r.need(2*n, what) {
		return nil
	}
	var out []uint16
	for range n {
		out = append(out, r.u16(what))
	}
	return out
}

// Options of AF_DATA_REQUEST.
const (
	AfOptWildcardProfile uint8 = 0x02
	AfOptAPSAck          uint8 = 0x10 // request an APS acknowledgement
	AfOptDiscoverRoute   uint8 = 0x20
	AfOptAPSSecurity     uint8 = 0x40 // APS security with the device's link key
	AfOptSkipRouting     uint8 = 0x80
)

// DefaultRadius is the usual AF radius (the stack's default of twice the
// maximum depth).
const DefaultRadius = 0x1E

// AfDataRequest sends Data to an endpoint of a device by its network
// address. The SRSP says whether it was queued; AF_DATA_CONFIRM with the
// same Endpoint (SrcEndpoint) and TransID says whether it was delivered.
type AfDataRequest struct {
	DstAddr     uint16
	DstEndpoint uint8
	SrcEndpoint uint8
	Cluster     uint16
	TransID     uint8
	Options     uint8
	Radius      uint8
	Data        []byte // at most 240 bytes (MaxAfData)
}

// MaxAfData is the largest Data of an AF_DATA_REQUEST frame.
const MaxAfData = MaxPayload - 10

// Frame encodes m.
func (m AfDataRequest) Frame() (Frame, error) {
	if len(m.Data) > MaxAfData {
		return Frame{}, fmt.Errorf("%w: AF_DATA_REQUEST with %d data bytes (max %d)", ErrTooLong, len(m.Data), MaxAfData)
	}
	p := le16(make([]byte, 0, 10+len(m.Data)), m.DstAddr)
	p = le16(append(p, m.DstEndpoint, m.SrcEndpoint), m.Cluster)
	p = append(p, m.TransID, m.Options, m.Radius, byte(len(m.Data)))
	return Frame{Cmd: CmdAfDataRequest, Payload: append(p, m.Data...)}, nil
}

// ParseAfDataRequest decodes AF_DATA_REQUEST.
func ParseAfDataRequest(f Frame) (AfDataRequest, error) {
	r, err := open(f, CmdAfDataRequest)
	if err != nil {
		return AfDataRequest{}, err
	}
	m := AfDataRequest{DstAddr: r.u16("DstAddr"), DstEndpoint: r.u8("DestEndpoint"), SrcEndpoint: r.u8("SrcEndpoint"),
		Cluster: r.u16("ClusterId"), TransID: r.u8("TransID"), Options: r.u8("Options"), Radius: r.u8("Radius")}
	m.Data = r.bytes(int(r.u8("Len")), "Data")
	return m, r.done()
}

// Address modes of AF_DATA_REQUEST_EXT.
const (
	AfAddrNotPresent uint8 = 0
	AfAddrGroup      uint8 = 1
	AfAddr16         uint8 = 2
	AfAddr64         uint8 = 3
	AfAddrBroadcast  uint8 = 15
)

// AfDataRequestExt sends Data with a 16- or 64-bit, group or broadcast
// address, optionally inter-PAN. Data longer than MaxAfDataExt must be
// written in pieces with AF_DATA_STORE first (not implemented).
type AfDataRequestExt struct {
	DstAddrMode uint8
	DstAddr     uint64 // a 16-bit address or group in the low bytes
	DstEndpoint uint8
	DstPanID    uint16
	SrcEndpoint uint8
	Cluster     uint16
	TransID     uint8
	Options     uint8
	Radius      uint8
	Data        []byte
}

// MaxAfDataExt is the largest Data an AF_DATA_REQUEST_EXT frame carries.
const MaxAfDataExt = MaxPayload - 20

// Frame encodes m.
func (m AfDataRequestExt) Frame() (Frame, error) {
	if len(m.Data) > MaxAfDataExt {
		return Frame{}, fmt.Errorf("%w: AF_DATA_REQUEST_EXT with %d data bytes (max %d)", ErrTooLong, len(m.Data), MaxAfDataExt)
	}
	p := le64([]byte{m.DstAddrMode}, m.DstAddr)
	p = le16(append(p, m.DstEndpoint), m.DstPanID)
	p = le16(append(p, m.SrcEndpoint), m.Cluster)
	p = le16(append(p, m.TransID, m.Options, m.Radius), uint16(len(m.Data)))
	return Frame{Cmd: CmdAfDataRequestExt, Payload: append(p, m.Data...)}, nil
}

// ParseAfDataRequestExt decodes AF_DATA_REQUEST_EXT.
func ParseAfDataRequestExt(f Frame) (AfDataRequestExt, error) {
	r, err := open(f, CmdAfDataRequestExt)
	if err != nil {
		return AfDataRequestExt{}, err
	}
	m := AfDataRequestExt{DstAddrMode: r.u8("DstAddrMode"), DstAddr: r.u64("DstAddr"), DstEndpoint: r.u8("DestEndpoint"),
		DstPanID: r.u16("DstPanID"), SrcEndpoint: r.u8("SrcEndpoint"), Cluster: r.u16("ClusterId"),
		TransID: r.u8("TransID"), Options: r.u8("Options"), Radius: r.u8("Radius")}
	m.Data = r.bytes(int(r.u16("Len")), "Data")
	return m, r.done()
}

// AfDataConfirm reports the outcome of an AF data request: Endpoint is
// its source endpoint, TransID its transaction id.
type AfDataConfirm struct {
	Status   Status
	Endpoint uint8
	TransID  uint8
}

// Frame encodes m.
func (m AfDataConfirm) Frame() Frame {
	return Frame{Cmd: CmdAfDataConfirm, Payload: []byte{byte(m.Status), m.Endpoint, m.TransID}}
}

// ParseAfDataConfirm decodes AF_DATA_CONFIRM.
func ParseAfDataConfirm(f Frame) (AfDataConfirm, error) {
	r, err := open(f, CmdAfDataConfirm)
	if err != nil {
		return AfDataConfirm{}, err
	}
	m := AfDataConfirm{Status: Status(r.u8("Status")), Endpoint: r.u8("Endpoint"), TransID: r.u8("TransID")}
	return m, r.done()
}

// AfIncomingMsg is a message received for one of our endpoints. Z-Stack
// 3.x appends the MAC source address and the radius (HasTrailer).
type AfIncomingMsg struct {
	GroupID      uint16
	Cluster      uint16
	SrcAddr      uint16
	SrcEndpoint  uint8
	DstEndpoint  uint8
	WasBroadcast bool
	LinkQuality  uint8
	SecurityUse  bool
	Timestamp    uint32
	TransSeq     uint8
	Data         []byte
	MacSrcAddr   uint16
	Radius       uint8
	HasTrailer   bool
}

// Frame encodes m.
func (m AfIncomingMsg) Frame() (Frame, error) {
	if len(m.Data) > MaxPayload-17-3 {
		return Frame{}, fmt.Errorf("%w: AF_INCOMING_MSG with %d data bytes", ErrTooLong, len(m.Data))
	}
	p := le16(le16(le16(make([]byte, 0, 20+len(m.Data)), m.GroupID), m.Cluster), m.SrcAddr)
	p = append(p, m.SrcEndpoint, m.DstEndpoint, b2u(m.WasBroadcast), m.LinkQuality, b2u(m.SecurityUse))
	p = le32(p, m.Timestamp)
	p = append(p, m.TransSeq, byte(len(m.Data)))
	p = append(p, m.Data...)
	if m.HasTrailer {
		p = append(le16(p, m.MacSrcAddr), m.Radius)
	}
	return Frame{Cmd: CmdAfIncomingMsg, Payload: p}, nil
}

// ParseAfIncomingMsg decodes AF_INCOMING_MSG, with or without the
// Z-Stack 3.x trailer.
func ParseAfIncomingMsg(f Frame) (AfIncomingMsg, error) {
	r, err := open(f, CmdAfIncomingMsg)
	if err != nil {
		return AfIncomingMsg{}, err
	}
	m := AfIncomingMsg{GroupID: r.u16("GroupId"), Cluster: r.u16("ClusterId"), SrcAddr: r.u16("SrcAddr"),
		SrcEndpoint: r.u8("SrcEndpoint"), DstEndpoint: r.u8("DestEndpoint"), WasBroadcast: r.u8("WasBroadcast") != 0,
		LinkQuality: r.u8("LinkQuality"), SecurityUse: r.u8("SecurityUse") != 0, Timestamp: r.u32("TimeStamp"),
		TransSeq: r.u8("TransSeqNumber")}
	m.Data = r.bytes(int(r.u8("Len")), "Data")
	if r.err == nil && r.rest() == 3 {
		m.MacSrcAddr, m.Radius, m.HasTrailer = r.u16("MacSrcAddr"), r.u8("Radius"), true
	}
	return m, r.done()
}
