package dlms

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// String methods give one-line summaries of APDUs for logs and the
// golden decodes in testdata; they are not a stable format.

func (s *SelectiveAccess) str() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf(" access %d %v", s.Selector, s.Params)
}

func (g DataResult) String() string {
	if g.IsData {
		return g.Data.String()
	}
	return "error " + g.Result.String()
}

func (b DataBlockG) String() string {
	last := ""
	if b.Last {
		last = " last"
	}
	if !b.IsRaw {
		return fmt.Sprintf("block %d%s error %v", b.Number, last, b.Result)
	}
	return fmt.Sprintf("block %d%s raw %d bytes", b.Number, last, len(b.Raw))
}

func (b DataBlockSA) String() string {
	last := ""
	if b.Last {
		last = " last"
	}
	return fmt.Sprintf("block %d%s raw %d bytes", b.Number, last, len(b.Raw))
}

func (g GetRequest) String() string {
	switch g.Kind {
	case KindNormal:
		return fmt.Sprintf("get-request-normal id %02X %v%s", g.InvokeID, g.Attr, g.Access.str())
	case KindNext:
		return fmt.Sprintf("get-request-next id %02X block %d", g.InvokeID, g.Block)
	}
	s := make([]string, len(g.List))
	for i, a := range g.List {
		s[i] = a.Attr.String() + a.Access.str()
	}
	return fmt.Sprintf("get-request-with-list id %02X [%s]", g.InvokeID, strings.Join(s, "; "))
}

func (g GetResponse) String() string {
	switch g.Kind {
	case KindNormal:
		return fmt.Sprintf("get-response-normal id %02X %v", g.InvokeID, g.Result)
	case GetResponseWithDatablock:
		return fmt.Sprintf("get-response-with-datablock id %02X %v", g.InvokeID, g.Block)
	}
	s := make([]string, len(g.Results))
	for i, r := range g.Results {
		s[i] = r.String()
	}
	return fmt.Sprintf("get-response-with-list id %02X [%s]", g.InvokeID, strings.Join(s, "; "))
}

func (s SetRequest) String() string {
	return fmt.Sprintf("set-request kind %d id %02X %v%s value %v %v list %d", s.Kind, s.InvokeID, s.Attr, s.Access.str(), s.Value, s.Block, len(s.List))
}

func (s SetResponse) String() string {
	return fmt.Sprintf("set-response kind %d id %02X %v block %d results %v", s.Kind, s.InvokeID, s.Result, s.Block, s.Results)
}

func (o ActionOutcome) String() string {
	if o.HasReturn {
		return fmt.Sprintf("%v return %v", o.Result, o.Return)
	}
	return o.Result.String()
}

func (a ActionRequest) String() string {
	switch a.Kind {
	case KindNormal:
		p := ""
		if a.HasParams {
			p = " params " + a.Params.String()
		}
		return fmt.Sprintf("action-request-normal id %02X %v%s", a.InvokeID, a.Method, p)
	case KindNext:
		return fmt.Sprintf("action-request-next-pblock id %02X block %d", a.InvokeID, a.Block.Number)
	}
	return fmt.Sprintf("action-request kind %d id %02X methods %d %v", a.Kind, a.InvokeID, len(a.Methods), a.Block)
}

func (a ActionResponse) String() string {
	switch a.Kind {
	case KindNormal:
		return fmt.Sprintf("action-response-normal id %02X %v", a.InvokeID, a.Outcome)
	case ActionResponseNextPblock:
		return fmt.Sprintf("action-response-next-pblock id %02X block %d", a.InvokeID, a.Block.Number)
	}
	return fmt.Sprintf("action-response kind %d id %02X outcomes %v %v", a.Kind, a.InvokeID, a.Outcomes, a.Block)
}

func contextName(oid []byte) string {
	switch {
	case oid == nil:
		return "none"
	case len(oid) == 7 && oid[6] >= 1 && oid[6] <= 4 && string(oid[:6]) == string(ContextLN[:6]):
		return [...]string{"", "LN", "SN", "LN-ciphered", "SN-ciphered"}[oid[6]]
	}
	return hex.EncodeToString(oid)
}

func mechanismName(m []byte) string {
	if m == nil {
		return ""
	}
	if l, ok := MechanismLevel(m); ok {
		return fmt.Sprintf(" mechanism %d", l)
	}
	return " mechanism " + hex.EncodeToString(m)
}

func (a AARQ) String() string {
	s := "AARQ " + contextName(a.ApplicationContext) + mechanismName(a.Mechanism)
	if a.CallingAPTitle != nil {
		s += " title " + hex.EncodeToString(a.CallingAPTitle)
	}
	if a.AuthValue != nil {
		s += fmt.Sprintf(" auth-value %d bytes", len(a.AuthValue))
	}
	return s + fmt.Sprintf(" user-information %d bytes", len(a.UserInfo))
}

func (a AARE) String() string {
	s := fmt.Sprintf("AARE %s result %d diagnostic %d", contextName(a.ApplicationContext), a.Result, a.Diagnostic)
	s += mechanismName(a.Mechanism)
	if a.RespondingAPTitle != nil {
		s += " title " + hex.EncodeToString(a.RespondingAPTitle)
	}
	if a.AuthValue != nil {
		s += fmt.Sprintf(" auth-value %d bytes", len(a.AuthValue))
	}
	return s + fmt.Sprintf(" user-information %d bytes", len(a.UserInfo))
}

func (r RLRQ) String() string { return fmt.Sprintf("RLRQ reason %d", r.Reason) }

func (r RLRE) String() string { return fmt.Sprintf("RLRE reason %d", r.Reason) }

func (q InitiateRequest) String() string {
	return fmt.Sprintf("initiate-request version %d conformance %06X max-pdu %d", q.DLMSVersion, q.Conformance, q.MaxPDU)
}

func (s InitiateResponse) String() string {
	return fmt.Sprintf("initiate-response version %d conformance %06X max-pdu %d vaa %04X", s.DLMSVersion, s.Conformance, s.MaxPDU, s.VAAName)
}

func (c Ciphered) String() string {
	t := ""
	if c.IsGeneral() {
		t = " title " + hex.EncodeToString(c.SystemTitle)
	}
	return fmt.Sprintf("ciphered %02X%s SC %02X IC %d payload %d bytes", c.Tag, t, c.SC, c.IC, len(c.Payload))
}

func (e EventNotification) String() string {
	return fmt.Sprintf("event-notification %v %v", e.Attr, e.Value)
}

func (n DataNotification) String() string {
	return fmt.Sprintf("data-notification id %d %v", n.LongInvokeID, n.Body)
}

func (c ConfirmedServiceError) String() string {
	return fmt.Sprintf("confirmed-service-error service %d type %d value %d", c.Service, c.ErrorType, c.Value)
}
