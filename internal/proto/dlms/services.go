package dlms

import "fmt"

// APDU is any APDU this package encodes and decodes.
type APDU interface {
	// Append appends the encoded APDU.
	Append(dst []byte) []byte
	// APDUTag returns the APDU's first octet.
	APDUTag() byte
}

// Request and response kinds: the CHOICE index of each service's forms.
const (
	KindNormal   = 1
	KindNext     = 2 // GET-Request-Next, ACTION-Request-Next-Pblock
	KindWithList = 3

	GetResponseWithDatablock = 2

	SetWithFirstDatablock        = 2
	SetWithDatablock             = 3
	SetWithList                  = 4
	SetWithListAndFirstDatablock = 5

	SetResponseDatablock             = 2
	SetResponseLastDatablock         = 3
	SetResponseLastDatablockWithList = 4
	SetResponseWithList              = 5

	ActionWithFirstPblock        = 4
	ActionWithListAndFirstPblock = 5
	ActionWithPblock             = 6

	ActionResponseWithPblock = 2
	ActionResponseWithList   = 3
	ActionResponseNextPblock = 4
)

// InvokeID bits of the Invoke-Id-And-Priority octet.
const (
	PriorityHigh     = 0x80
	ServiceConfirmed = 0x40
)

// DataResult is a Get-Data-Result: data, or a data-access-result when
// IsData is false.
type DataResult struct {
	IsData bool
	Data   Data
	Result AccessResult
}

// ResultData returns a successful DataResult.
func ResultData(d Data) DataResult { return DataResult{IsData: true, Data: d} }

// ResultError returns a failed DataResult.
func ResultError(a AccessResult) DataResult { return DataResult{Result: a} }

func (g DataResult) append(dst []byte) []byte {
	if g.IsData {
		return g.Data.Append(append(dst, 0))
	}
	return append(dst, 1, byte(g.Result))
}

func (r *reader) dataResult() (DataResult, error) {
	c, err := r.u8("get-data-result")
	if err != nil {
		return DataResult{}, err
	}
	switch c {
	case 0:
		d, err := r.data(0)
		return DataResult{IsData: true, Data: d}, err
	case 1:
		a, err := r.u8("data-access-result")
		return DataResult{Result: AccessResult(a)}, err
	}
	r.off--
	return DataResult{}, r.errInvalid("get-data-result choice %d", c)
}

// DataBlockG is the DataBlock-G of GET-Response-With-Datablock: a block
// of the encoded value (Raw), or a data-access-result when IsRaw is false.
type DataBlockG struct {
	Last   bool
	Number uint32
	IsRaw  bool
	Raw    []byte
	Result AccessResult
}

func (b DataBlockG) append(dst []byte) []byte {
	dst = appendBool(dst, b.Last)
	dst = appendU32(dst, b.Number)
	if b.IsRaw {
		return appendOctets(append(dst, 0), b.Raw)
	}
	return append(dst, 1, byte(b.Result))
}

func (r *reader) dataBlockG() (DataBlockG, error) {
	var b DataBlockG
	var err error
	if b.Last, err = r.boolean("last-block"); err != nil {
		return b, err
	}
	if b.Number, err = r.u32("block-number"); err != nil {
		return b, err
	}
	c, err := r.u8("DataBlock-G result")
	if err != nil {
		return b, err
	}
	switch c {
	case 0:
		b.IsRaw = true
		b.Raw, err = r.octets("raw-data")
	case 1:
		var a byte
		a, err = r.u8("data-access-result")
		b.Result = AccessResult(a)
	default:
		r.off--
		return b, r.errInvalid("DataBlock-G result choice %d", c)
	}
	return b, err
}

// DataBlockSA is the DataBlock-SA of SET and ACTION block transfer.
type DataBlockSA struct {
	Last   bool
	Number uint32
	Raw    []byte
}

func (b DataBlockSA) append(dst []byte) []byte {
	dst = appendBool(dst, b.Last)
	dst = appendU32(dst, b.Number)
	return appendOctets(dst, b.Raw)
}

func (r *reader) dataBlockSA() (DataBlockSA, error) {
	var b DataBlockSA
	var err error
	if b.Last, err = r.boolean("last-block"); err != nil {
		return b, err
	}
	if b.Number, err = r.u32("block-number"); err != nil {
		return b, err
	}
	b.Raw, err = r.octets("raw-data")
	return b, err
}

func (r *reader) dataList(what string) ([]Data, error) {
	n, err := r.count(what, 1)
	if err != nil {
		return nil, err
	}
	l := make([]Data, n)
	for i := range l {
		if l[i], err = r.data(0); err != nil {
			return nil, fmt.Errorf("%s element %d: %w", what, i, err)
		}
	}
	return l, nil
}

func appendDataList(dst []byte, l []Data) []byte {
	dst = AppendLength(dst, len(l))
	for _, d := range l {
		dst = d.Append(dst)
	}
	return dst
}

// GetRequest is a GET.request (a zero Kind encodes as KindNormal): Kind KindNormal (Attr, Access), KindNext
// (Block) or KindWithList (List).
type GetRequest struct {
	Kind     uint8
	InvokeID uint8 // Invoke-Id-And-Priority
	Attr     AttributeDescriptor
	Access   *SelectiveAccess
	Block    uint32
	List     []AttributeWithSelection
}

// APDUTag returns TagGetRequest.
func (GetRequest) APDUTag() byte { return TagGetRequest }

// Append encodes the request.
func (g GetRequest) Append(dst []byte) []byte {
	if g.Kind == 0 {
		g.Kind = KindNormal
	}
	dst = append(dst, TagGetRequest, g.Kind, g.InvokeID)
	switch g.Kind {
	case KindNext:
		return appendU32(dst, g.Block)
	case KindWithList:
		return appendAttrsWithSelection(dst, g.List)
	}
	return appendAccess(g.Attr.append(dst), g.Access)
}

func (r *reader) getRequest() (GetRequest, error) {
	var g GetRequest
	var err error
	if g.Kind, err = r.u8("get-request choice"); err != nil {
		return g, err
	}
	if g.InvokeID, err = r.u8("invoke-id"); err != nil {
		return g, err
	}
	switch g.Kind {
	case KindNormal:
		if g.Attr, err = r.attr(); err != nil {
			return g, err
		}
		g.Access, err = r.access()
	case KindNext:
		g.Block, err = r.u32("block-number")
	case KindWithList:
		g.List, err = r.attrsWithSelection()
	default:
		r.off -= 2
		return g, r.errInvalid("get-request choice %d", g.Kind)
	}
	return g, err
}

// GetResponse is a GET.response: Kind KindNormal (Result),
// GetResponseWithDatablock (Block) or KindWithList (Results).
type GetResponse struct {
	Kind     uint8
	InvokeID uint8
	Result   DataResult
	Block    DataBlockG
	Results  []DataResult
}

// APDUTag returns TagGetResponse.
func (GetResponse) APDUTag() byte { return TagGetResponse }

// Append encodes the response.
func (g GetResponse) Append(dst []byte) []byte {
	if g.Kind == 0 {
		g.Kind = KindNormal
	}
	dst = append(dst, TagGetResponse, g.Kind, g.InvokeID)
	switch g.Kind {
	case GetResponseWithDatablock:
		return g.Block.append(dst)
	case KindWithList:
		dst = AppendLength(dst, len(g.Results))
		for _, res := range g.Results {
			dst = res.append(dst)
		}
		return dst
	}
	return g.Result.append(dst)
}

func (r *reader) getResponse() (GetResponse, error) {
	var g GetResponse
	var err error
	if g.Kind, err = r.u8("get-response choice"); err != nil {
		return g, err
	}
	if g.InvokeID, err = r.u8("invoke-id"); err != nil {
		return g, err
	}
	switch g.Kind {
	case KindNormal:
		g.Result, err = r.dataResult()
	case GetResponseWithDatablock:
		g.Block, err = r.dataBlockG()
	case KindWithList:
		var n int
		if n, err = r.count("get-data-result list", 2); err != nil {
			return g, err
		}
		g.Results = make([]DataResult, n)
		for i := range g.Results {
			if g.Results[i], err = r.dataResult(); err != nil {
				return g, fmt.Errorf("result %d: %w", i, err)
			}
		}
	default:
		r.off -= 2
		return g, r.errInvalid("get-response choice %d", g.Kind)
	}
	return g, err
}

// SetRequest is a SET.request: Kind KindNormal (Attr, Access, Value),
// SetWithFirstDatablock (Attr, Access, Block), SetWithDatablock (Block),
// SetWithList (List, Values) or SetWithListAndFirstDatablock (List, Block).
type SetRequest struct {
	Kind     uint8
	InvokeID uint8
	Attr     AttributeDescriptor
	Access   *SelectiveAccess
	Value    Data
	Block    DataBlockSA
	List     []AttributeWithSelection
	Values   []Data
}

// APDUTag returns TagSetRequest.
func (SetRequest) APDUTag() byte { return TagSetRequest }

// Append encodes the request.
func (s SetRequest) Append(dst []byte) []byte {
	if s.Kind == 0 {
		s.Kind = KindNormal
	}
	dst = append(dst, TagSetRequest, s.Kind, s.InvokeID)
	switch s.Kind {
	case SetWithFirstDatablock:
		return s.Block.append(appendAccess(s.Attr.append(dst), s.Access))
	case SetWithDatablock:
		return s.Block.append(dst)
	case SetWithList:
		return appendDataList(appendAttrsWithSelection(dst, s.List), s.Values)
	case SetWithListAndFirstDatablock:
		return s.Block.append(appendAttrsWithSelection(dst, s.List))
	}
	return s.Value.Append(appendAccess(s.Attr.append(dst), s.Access))
}

func (r *reader) setRequest() (SetRequest, error) {
	var s SetRequest
	var err error
	if s.Kind, err = r.u8("set-request choice"); err != nil {
		return s, err
	}
	if s.InvokeID, err = r.u8("invoke-id"); err != nil {
		return s, err
	}
	switch s.Kind {
	case KindNormal, SetWithFirstDatablock:
		if s.Attr, err = r.attr(); err != nil {
			return s, err
		}
		if s.Access, err = r.access(); err != nil {
			return s, err
		}
		if s.Kind == KindNormal {
			s.Value, err = r.data(0)
		} else {
			s.Block, err = r.dataBlockSA()
		}
	case SetWithDatablock:
		s.Block, err = r.dataBlockSA()
	case SetWithList, SetWithListAndFirstDatablock:
		if s.List, err = r.attrsWithSelection(); err != nil {
			return s, err
		}
		if s.Kind == SetWithList {
			s.Values, err = r.dataList("value list")
		} else {
			s.Block, err = r.dataBlockSA()
		}
	default:
		r.off -= 2
		return s, r.errInvalid("set-request choice %d", s.Kind)
	}
	return s, err
}

// SetResponse is a SET.response: Kind KindNormal (Result),
// SetResponseDatablock (Block), SetResponseLastDatablock (Result, Block),
// SetResponseLastDatablockWithList (Results, Block) or
// SetResponseWithList (Results).
type SetResponse struct {
	Kind     uint8
	InvokeID uint8
	Result   AccessResult
	Results  []AccessResult
	Block    uint32
}

// APDUTag returns TagSetResponse.
func (SetResponse) APDUTag() byte { return TagSetResponse }

func appendResults(dst []byte, l []AccessResult) []byte {
	dst = AppendLength(dst, len(l))
	for _, a := range l {
		dst = append(dst, byte(a))
	}
	return dst
}

// Append encodes the response.
func (s SetResponse) Append(dst []byte) []byte {
	if s.Kind == 0 {
		s.Kind = KindNormal
	}
	dst = append(dst, TagSetResponse, s.Kind, s.InvokeID)
	switch s.Kind {
	case SetResponseDatablock:
		return appendU32(dst, s.Block)
	case SetResponseLastDatablock:
		return appendU32(append(dst, byte(s.Result)), s.Block)
	case SetResponseLastDatablockWithList:
		return appendU32(appendResults(dst, s.Results), s.Block)
	case SetResponseWithList:
		return appendResults(dst, s.Results)
	}
	return append(dst, byte(s.Result))
}

func (r *reader) results() ([]AccessResult, error) {
	n, err := r.count("result list", 1)
	if err != nil {
		return nil, err
	}
	p, err := r.take(n, "result list")
	l := make([]AccessResult, len(p))
	for i, c := range p {
		l[i] = AccessResult(c)
	}
	return l, err
}

func (r *reader) setResponse() (SetResponse, error) {
	var s SetResponse
	var err error
	if s.Kind, err = r.u8("set-response choice"); err != nil {
		return s, err
	}
	if s.InvokeID, err = r.u8("invoke-id"); err != nil {
		return s, err
	}
	var c byte
	switch s.Kind {
	case KindNormal:
		c, err = r.u8("result")
		s.Result = AccessResult(c)
	case SetResponseDatablock:
		s.Block, err = r.u32("block-number")
	case SetResponseLastDatablock:
		if c, err = r.u8("result"); err != nil {
			return s, err
		}
		s.Result = AccessResult(c)
		s.Block, err = r.u32("block-number")
	case SetResponseLastDatablockWithList:
		if s.Results, err = r.results(); err != nil {
			return s, err
		}
		s.Block, err = r.u32("block-number")
	case SetResponseWithList:
		s.Results, err = r.results()
	default:
		r.off -= 2
		return s, r.errInvalid("set-response choice %d", s.Kind)
	}
	return s, err
}

// ActionRequest is an ACTION.request: Kind KindNormal (Method, Params if
// HasParams), KindNext (Block.Number: next-pblock), KindWithList
// (Methods, ParamList), ActionWithFirstPblock (Method, Block),
// ActionWithListAndFirstPblock (Methods, Block) or ActionWithPblock (Block).
type ActionRequest struct {
	Kind      uint8
	InvokeID  uint8
	Method    MethodDescriptor
	HasParams bool
	Params    Data
	Methods   []MethodDescriptor
	ParamList []Data
	Block     DataBlockSA
}

// APDUTag returns TagActionRequest.
func (ActionRequest) APDUTag() byte { return TagActionRequest }

// Append encodes the request.
func (a ActionRequest) Append(dst []byte) []byte {
	if a.Kind == 0 {
		a.Kind = KindNormal
	}
	dst = append(dst, TagActionRequest, a.Kind, a.InvokeID)
	switch a.Kind {
	case KindNext:
		return appendU32(dst, a.Block.Number)
	case KindWithList:
		return appendDataList(a.appendMethods(dst), a.ParamList)
	case ActionWithFirstPblock:
		return a.Block.append(a.Method.append(dst))
	case ActionWithListAndFirstPblock:
		return a.Block.append(a.appendMethods(dst))
	case ActionWithPblock:
		return a.Block.append(dst)
	}
	dst = a.Method.append(dst)
	if !a.HasParams {
		return append(dst, 0)
	}
	return a.Params.Append(append(dst, 1))
}

func (a ActionRequest) appendMethods(dst []byte) []byte {
	dst = AppendLength(dst, len(a.Methods))
	for _, m := range a.Methods {
		dst = m.append(dst)
	}
	return dst
}

func (r *reader) actionRequest() (ActionRequest, error) {
	var a ActionRequest
	var err error
	if a.Kind, err = r.u8("action-request choice"); err != nil {
		return a, err
	}
	if a.InvokeID, err = r.u8("invoke-id"); err != nil {
		return a, err
	}
	methods := func() error {
		n, err := r.count("method list", 9)
		if err != nil {
			return err
		}
		a.Methods = make([]MethodDescriptor, n)
		for i := range a.Methods {
			if a.Methods[i], err = r.method(); err != nil {
				return err
			}
		}
		return nil
	}
	switch a.Kind {
	case KindNormal:
		if a.Method, err = r.method(); err != nil {
			return a, err
		}
		if a.HasParams, err = r.optional("method-invocation-parameters"); err != nil || !a.HasParams {
			return a, err
		}
		a.Params, err = r.data(0)
	case KindNext:
		a.Block.Number, err = r.u32("block-number")
	case KindWithList:
		if err = methods(); err != nil {
			return a, err
		}
		a.ParamList, err = r.dataList("method-invocation-parameters")
	case ActionWithFirstPblock:
		if a.Method, err = r.method(); err != nil {
			return a, err
		}
		a.Block, err = r.dataBlockSA()
	case ActionWithListAndFirstPblock:
		if err = methods(); err != nil {
			return a, err
		}
		a.Block, err = r.dataBlockSA()
	case ActionWithPblock:
		a.Block, err = r.dataBlockSA()
	default:
		r.off -= 2
		return a, r.errInvalid("action-request choice %d", a.Kind)
	}
	return a, err
}

// ActionResult with optional return parameters:
// Action-Response-With-Optional-Data.
type ActionOutcome struct {
	Result    ActionResult
	HasReturn bool
	Return    DataResult
}

func (o ActionOutcome) append(dst []byte) []byte {
	dst = append(dst, byte(o.Result))
	if !o.HasReturn {
		return append(dst, 0)
	}
	return o.Return.append(append(dst, 1))
}

func (r *reader) actionOutcome() (ActionOutcome, error) {
	var o ActionOutcome
	c, err := r.u8("action-result")
	if err != nil {
		return o, err
	}
	o.Result = ActionResult(c)
	if o.HasReturn, err = r.optional("return-parameters"); err != nil || !o.HasReturn {
		return o, err
	}
	o.Return, err = r.dataResult()
	return o, err
}

// ActionResponse is an ACTION.response: Kind KindNormal (Outcome),
// ActionResponseWithPblock (Block), ActionResponseWithList (Outcomes) or
// ActionResponseNextPblock (Block.Number).
type ActionResponse struct {
	Kind     uint8
	InvokeID uint8
	Outcome  ActionOutcome
	Outcomes []ActionOutcome
	Block    DataBlockSA
}

// APDUTag returns TagActionResponse.
func (ActionResponse) APDUTag() byte { return TagActionResponse }

// Append encodes the response.
func (a ActionResponse) Append(dst []byte) []byte {
	if a.Kind == 0 {
		a.Kind = KindNormal
	}
	dst = append(dst, TagActionResponse, a.Kind, a.InvokeID)
	switch a.Kind {
	case ActionResponseWithPblock:
		return a.Block.append(dst)
	case ActionResponseWithList:
		dst = AppendLength(dst, len(a.Outcomes))
		for _, o := range a.Outcomes {
			dst = o.append(dst)
		}
		return dst
	case ActionResponseNextPblock:
		return appendU32(dst, a.Block.Number)
	}
	return a.Outcome.append(dst)
}

func (r *reader) actionResponse() (ActionResponse, error) {
	var a ActionResponse
	var err error
	if a.Kind, err = r.u8("action-response choice"); err != nil {
		return a, err
	}
	if a.InvokeID, err = r.u8("invoke-id"); err != nil {
		return a, err
	}
	switch a.Kind {
	case KindNormal:
		a.Outcome, err = r.actionOutcome()
	case ActionResponseWithPblock:
		a.Block, err = r.dataBlockSA()
	case ActionResponseWithList:
		var n int
		if n, err = r.count("action-response list", 2); err != nil {
			return a, err
		}
		a.Outcomes = make([]ActionOutcome, n)
		for i := range a.Outcomes {
			if a.Outcomes[i], err = r.actionOutcome(); err != nil {
				return a, fmt.Errorf("outcome %d: %w", i, err)
			}
		}
	case ActionResponseNextPblock:
		a.Block.Number, err = r.u32("block-number")
	default:
		r.off -= 2
		return a, r.errInvalid("action-response choice %d", a.Kind)
	}
	return a, err
}

// EventNotification is an EventNotificationRequest: an optional time, the
// attribute and its value.
type EventNotification struct {
	Time  []byte // octet-string date-time, nil when absent
	Attr  AttributeDescriptor
	Value Data
}

// APDUTag returns TagEventNotification.
func (EventNotification) APDUTag() byte { return TagEventNotification }

// Append encodes the notification.
func (e EventNotification) Append(dst []byte) []byte {
	dst = append(dst, TagEventNotification)
	if e.Time == nil {
		dst = append(dst, 0)
	} else {
		dst = appendOctets(append(dst, 1), e.Time)
	}
	return e.Value.Append(e.Attr.append(dst))
}

func (r *reader) eventNotification() (EventNotification, error) {
	var e EventNotification
	ok, err := r.optional("time")
	if err != nil {
		return e, err
	}
	if ok {
		if e.Time, err = r.octets("time"); err != nil {
			return e, err
		}
	}
	if e.Attr, err = r.attr(); err != nil {
		return e, err
	}
	e.Value, err = r.data(0)
	return e, err
}

// DataNotification is a Data-Notification: long invoke id, a date-time
// (octet-string, empty when absent) and the notification body.
type DataNotification struct {
	LongInvokeID uint32
	Time         []byte
	Body         Data
}

// APDUTag returns TagDataNotification.
func (DataNotification) APDUTag() byte { return TagDataNotification }

// Append encodes the notification.
func (n DataNotification) Append(dst []byte) []byte {
	dst = appendU32(append(dst, TagDataNotification), n.LongInvokeID)
	return n.Body.Append(appendOctets(dst, n.Time))
}

func (r *reader) dataNotification() (DataNotification, error) {
	var n DataNotification
	var err error
	if n.LongInvokeID, err = r.u32("long-invoke-id"); err != nil {
		return n, err
	}
	if n.Time, err = r.octets("date-time"); err != nil {
		return n, err
	}
	n.Body, err = r.data(0)
	return n, err
}

// ExceptionResponse is an exception-response: a state error
// (StateServiceNotAllowed, StateServiceUnknown), a service error
// (ServiceNotSupported, …) and, for ServiceInvocationCounterErr, the
// expected invocation counter.
type ExceptionResponse struct {
	StateError   uint8
	ServiceError uint8
	// InvocationCounter follows ServiceInvocationCounterErr.
	InvocationCounter uint32
}

// APDUTag returns TagExceptionResponse.
func (ExceptionResponse) APDUTag() byte { return TagExceptionResponse }

// Append encodes the response.
func (e ExceptionResponse) Append(dst []byte) []byte {
	dst = append(dst, TagExceptionResponse, e.StateError, e.ServiceError)
	if e.ServiceError == ServiceInvocationCounterErr {
		dst = appendU32(dst, e.InvocationCounter)
	}
	return dst
}

func (r *reader) exceptionResponse() (ExceptionResponse, error) {
	var e ExceptionResponse
	var err error
	if e.StateError, err = r.u8("state-error"); err != nil {
		return e, err
	}
	if e.ServiceError, err = r.u8("service-error"); err != nil {
		return e, err
	}
	if e.ServiceError == ServiceInvocationCounterErr {
		e.InvocationCounter, err = r.u32("invocation-counter")
	}
	return e, err
}

func (e ExceptionResponse) String() string {
	return fmt.Sprintf("exception-response state-error %d service-error %d", e.StateError, e.ServiceError)
}

// ConfirmedServiceError is a ConfirmedServiceError: the service that
// failed (1 initiateError, 5 read, 6 write, …), the ServiceError choice
// (0 application-reference, 1 hardware-resource, 2 vde-state-error,
// 3 service, 4 definition, 5 access, 6 initialize, 7 load-data-set, 9
// task, 10 other) and its enumerated value (for initialize: 0 other,
// 1 dlms-version-too-low, 2 incompatible-conformance, 3 pdu-size-too-short,
// 4 refused-by-the-VDE-Handler).
type ConfirmedServiceError struct {
	Service   uint8
	ErrorType uint8
	Value     uint8
}

// APDUTag returns TagConfirmedServiceError.
func (ConfirmedServiceError) APDUTag() byte { return TagConfirmedServiceError }

// Append encodes the error.
func (c ConfirmedServiceError) Append(dst []byte) []byte {
	return append(dst, TagConfirmedServiceError, c.Service, c.ErrorType, c.Value)
}

func (r *reader) confirmedServiceError() (ConfirmedServiceError, error) {
	p, err := r.take(3, "confirmed-service-error")
	if err != nil {
		return ConfirmedServiceError{}, err
	}
	return ConfirmedServiceError{p[0], p[1], p[2]}, nil
}
