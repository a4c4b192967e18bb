package dlms

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/smgw/smgw/internal/lmn/bus"
	"github.com/smgw/smgw/internal/meter"
	"github.com/smgw/smgw/internal/proto/dlms"
)

// Auth is an association's authentication.
type Auth string

// Authentication levels.
const (
	AuthNone Auth = "none" // public client, no authentication
	AuthLow  Auth = "low"  // LLS: a password
	AuthHigh Auth = "high" // HLS-GMAC, security suite 0, ciphered APDUs
)

// Security holds what an HLS-GMAC association needs.
type Security struct {
	AK, EK      []byte // 16-byte authentication and global unicast encryption keys
	SystemTitle []byte // the client's, 8 bytes
	// NextIC returns the client's next invocation counter (it must never
	// repeat for the key: persist it). Nil counts from 1 in memory.
	NextIC func() (uint32, error)
	// Server is the meter's frame counter: replies whose invocation
	// counter does not increase are rejected. Persist it after a session.
	Server *dlms.FrameCounter
}

// ClientOptions configure an association.
type ClientOptions struct {
	Auth     Auth
	Password []byte    // AuthLow
	Security *Security // AuthHigh
	// MaxPDU is the client-max-receive-pdu-size proposed (default 0xFFFF).
	MaxPDU uint16
}

// Association-related OBIS codes of every COSEM server.
var (
	OBISAssociation = meter.MustOBIS("0.0.40.0.0.255")
	OBISClock       = meter.MustOBIS("0.0.1.0.0.255")
	OBISDisconnect  = meter.MustOBIS("0.0.96.3.10.255")
)

// Conformance the client asks for.
const clientConformance = dlms.ConfGet | dlms.ConfSet | dlms.ConfAction | dlms.ConfSelectiveAccess |
	dlms.ConfBlockTransferWithGet | dlms.ConfBlockTransferWithSet | dlms.ConfBlockTransferWithAction |
	dlms.ConfMultipleReferences | dlms.ConfAttribute0SupportedGet | dlms.ConfPriorityMgmtSupported

// invokeID is high priority, confirmed, id 1.
const invokeID = dlms.PriorityHigh | dlms.ServiceConfirmed | 1

// Client is one association with a meter over a Transport. Not safe for
// concurrent use.
type Client struct {
	tr          Transport
	o           ClientOptions
	suite       *dlms.Suite0
	serverTitle []byte
	ic          uint32
	// Granted is the meter's initiate response.
	Granted dlms.InitiateResponse
}

// NewClient returns a client; it does no I/O.
func NewClient(tr Transport, o ClientOptions) (*Client, error) {
	if o.MaxPDU == 0 {
		o.MaxPDU = 0xFFFF
	}
	c := &Client{tr: tr, o: o}
	switch o.Auth {
	case AuthNone, "":
		c.o.Auth = AuthNone
	case AuthLow:
		if len(o.Password) == 0 {
			return nil, fmt.Errorf("dlms: %w: authentication low needs a password", bus.ErrPermanent)
		}
	case AuthHigh:
		s := o.Security
		if s == nil || len(s.SystemTitle) != dlms.SystemTitleLen {
			return nil, fmt.Errorf("dlms: %w: authentication high needs an 8-byte client system title", bus.ErrPermanent)
		}
		var err error
		if c.suite, err = dlms.NewSuite0(s.EK, s.AK); err != nil || len(s.AK) != 16 {
			return nil, fmt.Errorf("dlms: %w: authentication high needs 16-byte keys ak and ek: %v", bus.ErrPermanent, err)
		}
		if s.Server == nil {
			s.Server = &dlms.FrameCounter{}
		}
	default:
		return nil, fmt.Errorf("dlms: %w: unknown authentication %q (none, low, high)", bus.ErrPermanent, o.Auth)
	}
	return c, nil
}

func (c *Client) nextIC() (uint32, error) {
	if c.o.Security.NextIC != nil {
		return c.o.Security.NextIC()
	}
	c.ic++
	return c.ic, nil
}

// Connect opens the transport and the association.
func (c *Client) Connect(ctx context.Context) error {
	if err := c.tr.Open(ctx); err != nil {
		return err
	}
	init := dlms.InitiateRequest{DLMSVersion: 6, Conformance: clientConformance, MaxPDU: c.o.MaxPDU}
	aarq := dlms.AARQ{ApplicationContext: dlms.ContextLN, UserInfo: init.Append(nil)}
	var ctos []byte
	switch c.o.Auth {
	case AuthLow:
		aarq.ACSERequirements = true
		aarq.Mechanism = dlms.Mechanism(dlms.MechanismLow)
		aarq.AuthValue = c.o.Password
	case AuthHigh:
		ctos = make([]byte, 16)
		rand.Read(ctos)
		ic, err := c.nextIC()
		if err != nil {
			return err
		}
		ci, err := c.suite.Encrypt(dlms.TagGloInitiateRequest, dlms.SCAuthEnc, c.o.Security.SystemTitle, ic, aarq.UserInfo)
		if err != nil {
			return err
		}
		aarq.ApplicationContext = dlms.ContextLNCiphered
		aarq.CallingAPTitle = c.o.Security.SystemTitle
		aarq.ACSERequirements = true
		aarq.Mechanism = dlms.Mechanism(dlms.MechanismGMAC)
		aarq.AuthValue = ctos
		aarq.UserInfo = ci.Append(nil)
	}
	resp, err := c.tr.Exchange(ctx, aarq.Append(nil))
	if err != nil {
		return err
	}
	a, err := dlms.ParseAPDU(resp)
	if err != nil && !errors.Is(err, dlms.ErrTrailing) {
		return fmt.Errorf("dlms: AARE: %w: %w", bus.ErrFrame, err)
	}
	aare, ok := a.(dlms.AARE)
	if !ok {
		return protoErr("unexpected", fmt.Errorf("dlms: %v in reply to AARQ", a))
	}
	if aare.Result != dlms.AssociationAccepted {
		kind := "association-rejected"
		if !aare.DiagProvider && (aare.Diagnostic == dlms.DiagAuthenticationFailure || aare.Diagnostic == dlms.DiagAuthenticationRequired) {
			kind = "authentication"
		}
		return protoErr(kind, fmt.Errorf("dlms: association refused: result %d, diagnostic %d", aare.Result, aare.Diagnostic))
	}
	ui := aare.UserInfo
	if c.o.Auth == AuthHigh {
		c.serverTitle = aare.RespondingAPTitle
		ua, err := dlms.ParseAPDU(ui)
		if err != nil {
			return fmt.Errorf("dlms: AARE user information: %w: %w", bus.ErrFrame, err)
		}
		cu, ok := ua.(dlms.Ciphered)
		if !ok {
			return protoErr("unexpected", fmt.Errorf("dlms: AARE of a ciphered association carries %v", ua))
		}
		if ui, err = c.decrypt(cu); err != nil {
			return err
		}
	}
	ia, err := dlms.ParseAPDU(ui)
	if err != nil {
		return fmt.Errorf("dlms: initiate response: %w: %w", bus.ErrFrame, err)
	}
	switch r := ia.(type) {
	case dlms.InitiateResponse:
		c.Granted = r
	case dlms.ConfirmedServiceError:
		return protoErr("confirmed-service-error", fmt.Errorf("dlms: initiate refused: %v", r))
	default:
		return protoErr("unexpected", fmt.Errorf("dlms: %v in the AARE", ia))
	}
	if c.o.Auth == AuthHigh {
		ic, err := c.nextIC()
		if err != nil {
			return err
		}
		reply, err := c.suite.HLSReply(c.o.Security.SystemTitle, ic, aare.AuthValue)
		if err != nil {
			return err
		}
		out, err := c.Action(ctx, dlms.MethodDescriptor{Class: 15, Instance: OBISAssociation, Method: 1}, ptr(dlms.OctetString(reply)))
		if err != nil {
			return fmt.Errorf("dlms: HLS pass 3: %w", err)
		}
		if !out.IsData || out.Data.Tag() != dlms.TagOctetString {
			return protoErr("authentication", errors.New("dlms: HLS pass 4: no reply from the meter"))
		}
		if _, err := c.suite.VerifyHLSReply(c.serverTitle, ctos, out.Data.Bytes()); err != nil {
			return protoErr("authentication", fmt.Errorf("dlms: HLS pass 4: the meter's reply does not verify: %w", err))
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func protoErr(kind string, err error) error { return &bus.ProtocolError{Kind: kind, Err: err} }

func (c *Client) decrypt(ci dlms.Ciphered) ([]byte, error) {
	title := c.serverTitle
	if ci.IsGeneral() {
		if !bytes.Equal(ci.SystemTitle, c.serverTitle) {
			return nil, protoErr("security", fmt.Errorf("dlms: ciphered reply from system title % X, the meter is % X", ci.SystemTitle, c.serverTitle))
		}
	}
	if err := c.o.Security.Server.Check(ci.IC); err != nil {
		return nil, protoErr("replay", fmt.Errorf("dlms: meter's invocation counter %d: %w", ci.IC, err))
	}
	plain, err := c.suite.Decrypt(ci, title)
	if err != nil {
		return nil, protoErr("security", fmt.Errorf("dlms: reply does not decrypt: %w", err))
	}
	c.o.Security.Server.Accept(ci.IC)
	return plain, nil
}

// Release ends the association (RLRQ) and closes the transport. Errors
// of the release are returned but leave nothing to clean up.
func (c *Client) Release(ctx context.Context) error {
	// Many meters drop the association with the HDLC link: the DISC is
	// enough, and an RLRQ would need ciphering in a ciphered context.
	return c.tr.Close(ctx)
}

// request sends a service request (ciphered in an HLS association) and
// returns the response, mapping exception responses and confirmed
// service errors to protocol errors.
func (c *Client) request(ctx context.Context, req dlms.APDU) (dlms.APDU, error) {
	p := req.Append(nil)
	if c.o.Auth == AuthHigh {
		tag, _ := dlms.GloTag(req.APDUTag())
		ic, err := c.nextIC()
		if err != nil {
			return nil, err
		}
		ci, err := c.suite.Encrypt(tag, dlms.SCAuthEnc, c.o.Security.SystemTitle, ic, p)
		if err != nil {
			return nil, err
		}
		p = ci.Append(nil)
	}
	resp, err := c.tr.Exchange(ctx, p)
	if err != nil {
		return nil, err
	}
	a, err := dlms.ParseAPDU(resp)
	if err != nil && !errors.Is(err, dlms.ErrTrailing) {
		return nil, fmt.Errorf("dlms: response: %w: %w", bus.ErrFrame, err)
	}
	if ci, ok := a.(dlms.Ciphered); ok {
		if c.o.Auth != AuthHigh {
			return nil, protoErr("security", errors.New("dlms: ciphered reply in a plain association"))
		}
		plain, err := c.decrypt(ci)
		if err != nil {
			return nil, err
		}
		if a, err = dlms.ParseAPDU(plain); err != nil && !errors.Is(err, dlms.ErrTrailing) {
			return nil, fmt.Errorf("dlms: deciphered response: %w: %w", bus.ErrFrame, err)
		}
	} else if c.o.Auth == AuthHigh {
		if _, isErr := a.(dlms.ExceptionResponse); !isErr {
			return nil, protoErr("security", fmt.Errorf("dlms: plain %T in a ciphered association", a))
		}
	}
	switch r := a.(type) {
	case dlms.ExceptionResponse:
		return nil, protoErr("exception", fmt.Errorf("dlms: exception response: %v", r))
	case dlms.ConfirmedServiceError:
		return nil, protoErr("confirmed-service-error", fmt.Errorf("dlms: confirmed service error: %v", r))
	}
	return a, nil
}

// AccessError is a Data-Access-Result other than success.
type AccessError struct {
	Attr   dlms.AttributeDescriptor
	Result dlms.AccessResult
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("dlms: %v: %v", e.Attr, e.Result)
}

func accessErr(a dlms.AttributeDescriptor, r dlms.AccessResult) error {
	return protoErr("access:"+r.String(), &AccessError{a, r})
}

// Get reads an attribute (with selective access, if given), following
// block transfer.
func (c *Client) Get(ctx context.Context, attr dlms.AttributeDescriptor, access *dlms.SelectiveAccess) (dlms.Data, error) {
	var raw []byte
	var req dlms.APDU = dlms.GetRequest{Kind: dlms.KindNormal, InvokeID: invokeID, Attr: attr, Access: access}
	next := uint32(1)
	for {
		a, err := c.request(ctx, req)
		if err != nil {
			return dlms.Data{}, err
		}
		g, ok := a.(dlms.GetResponse)
		if !ok {
			return dlms.Data{}, protoErr("unexpected", fmt.Errorf("dlms: %T in reply to GET %v", a, attr))
		}
		switch g.Kind {
		case dlms.KindNormal:
			if !g.Result.IsData {
				return dlms.Data{}, accessErr(attr, g.Result.Result)
			}
			return g.Result.Data, nil
		case dlms.GetResponseWithDatablock:
			if !g.Block.IsRaw {
				return dlms.Data{}, accessErr(attr, g.Block.Result)
			}
			if g.Block.Number != next {
				return dlms.Data{}, protoErr("block-number", fmt.Errorf("dlms: GET %v: block %d, expected %d", attr, g.Block.Number, next))
			}
			if len(raw)+len(g.Block.Raw) > 16<<20 {
				return dlms.Data{}, protoErr("too-long", fmt.Errorf("dlms: GET %v: more than 16 MiB", attr))
			}
			raw = append(raw, g.Block.Raw...)
			if g.Block.Last {
				d, err := dlms.ParseData(raw)
				if err != nil {
					return dlms.Data{}, fmt.Errorf("dlms: GET %v: %w: %w", attr, bus.ErrFrame, err)
				}
				return d, nil
			}
			req = dlms.GetRequest{Kind: dlms.KindNext, InvokeID: invokeID, Block: g.Block.Number}
			next++
		default:
			return dlms.Data{}, protoErr("unexpected", fmt.Errorf("dlms: GET %v: response kind %d", attr, g.Kind))
		}
	}
}

// GetList reads several attributes in one request (GET with-list),
// returning one DataResult per attribute. It needs the conformance bit
// multiple-references; a meter that answers with a datablock or does not
// grant it gets ErrNoList, and the caller reads one by one.
func (c *Client) GetList(ctx context.Context, attrs []dlms.AttributeDescriptor) ([]dlms.DataResult, error) {
	if c.Granted.Conformance&dlms.ConfMultipleReferences == 0 || len(attrs) < 2 {
		return nil, ErrNoList
	}
	list := make([]dlms.AttributeWithSelection, len(attrs))
	for i, a := range attrs {
		list[i] = dlms.AttributeWithSelection{Attr: a}
	}
	a, err := c.request(ctx, dlms.GetRequest{Kind: dlms.KindWithList, InvokeID: invokeID, List: list})
	if err != nil {
		return nil, err
	}
	g, ok := a.(dlms.GetResponse)
	if !ok {
		return nil, protoErr("unexpected", fmt.Errorf("dlms: %T in reply to GET with-list", a))
	}
	if g.Kind != dlms.KindWithList {
		return nil, ErrNoList
	}
	if len(g.Results) != len(attrs) {
		return nil, protoErr("unexpected", fmt.Errorf("dlms: GET with-list of %d attributes answered with %d results", len(attrs), len(g.Results)))
	}
	return g.Results, nil
}

// ErrNoList is returned by GetList when the meter does not do GET
// with-list (or answers it with block transfer).
var ErrNoList = errors.New("dlms: GET with-list not available")

// Set writes an attribute.
func (c *Client) Set(ctx context.Context, attr dlms.AttributeDescriptor, v dlms.Data) error {
	a, err := c.request(ctx, dlms.SetRequest{Kind: dlms.KindNormal, InvokeID: invokeID, Attr: attr, Value: v})
	if err != nil {
		return err
	}
	s, ok := a.(dlms.SetResponse)
	if !ok || s.Kind != dlms.KindNormal {
		return protoErr("unexpected", fmt.Errorf("dlms: %v in reply to SET %v", a, attr))
	}
	if s.Result != dlms.AccessSuccess {
		return accessErr(attr, s.Result)
	}
	return nil
}

// Action invokes a method and returns its return data (IsData false when
// there is none).
func (c *Client) Action(ctx context.Context, m dlms.MethodDescriptor, params *dlms.Data) (dlms.DataResult, error) {
	req := dlms.ActionRequest{Kind: dlms.KindNormal, InvokeID: invokeID, Method: m}
	if params != nil {
		req.HasParams, req.Params = true, *params
	}
	a, err := c.request(ctx, req)
	if err != nil {
		return dlms.DataResult{}, err
	}
	r, ok := a.(dlms.ActionResponse)
	if !ok || r.Kind != dlms.KindNormal {
		return dlms.DataResult{}, protoErr("unexpected", fmt.Errorf("dlms: %v in reply to ACTION %v", a, m))
	}
	if r.Outcome.Result != dlms.ActionSuccess {
		return dlms.DataResult{}, protoErr("action:"+r.Outcome.Result.String(), fmt.Errorf("dlms: ACTION %v: %v", m, r.Outcome.Result))
	}
	if r.Outcome.HasReturn {
		if !r.Outcome.Return.IsData {
			return dlms.DataResult{}, accessErr(dlms.AttributeDescriptor{Class: m.Class, Instance: m.Instance}, r.Outcome.Return.Result)
		}
		return r.Outcome.Return, nil
	}
	return dlms.DataResult{}, nil
}
