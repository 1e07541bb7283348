package event

import (
	"strconv"
	"unicode/utf8"
)

// This file is the JSON tokenizer behind Decode: one pass over the record
// value, no reflection, no maps, no intermediate values. It checks the full
// JSON grammar (RFC 8259) and fills a wire struct with the members the
// decoder knows, as byte slices into the value (or, for strings with
// escapes, into a scratch buffer). Everything else is skipped but still
// checked. Besides the grammar it enforces what encoding/json lets through:
// duplicate member names in the event object and lone UTF-16 surrogate
// escapes in any string are noted as "strict" problems, reported once the
// whole value is known to be well-formed JSON.

// jkind is the JSON kind of a member value.
type jkind uint8

const (
	jAbsent jkind = iota // the member was not given
	jNull
	jString
	jNumber
	jBool
	jObject
	jArray
)

// article names a kind with its article, as in "must be a string, got a
// number".
func (k jkind) article() string {
	switch k {
	case jString:
		return "a string"
	case jNumber:
		return "a number"
	case jBool:
		return "a boolean"
	case jObject:
		return "an object"
	case jArray:
		return "an array"
	}
	return "null"
}

// bare names a kind as encoding/json did in its type errors, as in "must
// be a string, got JSON number".
func (k jkind) bare() string {
	switch k {
	case jString:
		return "string"
	case jNumber:
		return "number"
	case jBool:
		return "bool"
	case jObject:
		return "object"
	case jArray:
		return "array"
	}
	return "null"
}

// jval is one member value: its kind and, for a string, its decoded bytes,
// for a number, its literal.
type jval struct {
	kind jkind
	b    []byte
}

// given reports whether the member was present and not null.
func (v jval) given() bool { return v.kind > jNull }

// member indexes the members the decoder knows. The record fields come
// first; the CloudEvents attributes are only looked at in the top-level
// object.
type member int8

const (
	mUnknown member = iota - 1
	mEventID
	mType
	mCustomerID
	mOccurredAt
	mOrderID
	mRefundID
	mAmount
	mAmountMinor
	mCurrency
	mMargin
	mMarginMinor
	mTicketID
	mPriority
	mCSAT
	mMessageID
	mCampaign
	mSurveyID
	mKind
	mScore
	mCommentLength
	mComment
	mChannel
	// Subscription and acquisition members (subscription.go); their JSON
	// kinds are checked by the type-specific validation, so on other types
	// they are ignored like unknown members.
	mSubscriptionID
	mPlan
	mPeriod
	mPrice
	mPriceMinor
	mReferrerID
	mAcquisitionCost
	mAcquisitionCostMinor
	// mReferredHash is the referral_credited member (referral.go).
	mReferredHash
	numRecordMembers
)

// The CloudEvents structured-mode attributes ("type" is shared with the
// record). They follow the record members.
const (
	mCEID member = numRecordMembers + iota
	mCETime
	mCESubject
	mCEData
	mCEDataBase64
	mCEDataContentType
	mCESpecVersion
	numMembers
)

// memberNames are the JSON names of the members, by index.
var memberNames = [numMembers]string{
	mEventID: "event_id", mType: "type", mCustomerID: "customer_id", mOccurredAt: "occurred_at",
	mOrderID: "order_id", mRefundID: "refund_id", mAmount: "amount", mAmountMinor: "amount_minor",
	mCurrency: "currency", mMargin: "margin", mMarginMinor: "margin_minor", mTicketID: "ticket_id",
	mPriority: "priority", mCSAT: "csat", mMessageID: "message_id", mCampaign: "campaign",
	mSurveyID: "survey_id", mKind: "kind", mScore: "score", mCommentLength: "comment_length", mComment: "comment",
	mChannel:        "channel",
	mSubscriptionID: "subscription_id", mPlan: "plan", mPeriod: "period", mPrice: "price", mPriceMinor: "price_minor",
	mReferrerID: "referrer_id", mAcquisitionCost: "acquisition_cost", mAcquisitionCostMinor: "acquisition_cost_minor",
	mReferredHash: "referred_hash",
	mCEID:         "id", mCETime: "time", mCESubject: "subject", mCEData: "data", mCEDataBase64: "data_base64",
	mCEDataContentType: "datacontenttype", mCESpecVersion: "specversion",
}

// lookupMember maps a member name to its index; CloudEvents attributes only
// when top is set. Matching is exact (case-sensitive), unlike
// encoding/json's case-insensitive fallback, so "Customer_ID" is an
// unknown member, not a second customer_id.
func lookupMember(name []byte, top bool) member {
	var m member = mUnknown
	switch string(name) {
	case "event_id":
		m = mEventID
	case "type":
		m = mType
	case "customer_id":
		m = mCustomerID
	case "occurred_at":
		m = mOccurredAt
	case "order_id":
		m = mOrderID
	case "refund_id":
		m = mRefundID
	case "amount":
		m = mAmount
	case "amount_minor":
		m = mAmountMinor
	case "currency":
		m = mCurrency
	case "margin":
		m = mMargin
	case "margin_minor":
		m = mMarginMinor
	case "ticket_id":
		m = mTicketID
	case "priority":
		m = mPriority
	case "csat":
		m = mCSAT
	case "message_id":
		m = mMessageID
	case "campaign":
		m = mCampaign
	case "survey_id":
		m = mSurveyID
	case "kind":
		m = mKind
	case "score":
		m = mScore
	case "comment_length":
		m = mCommentLength
	case "comment":
		m = mComment
	case "channel":
		m = mChannel
	case "subscription_id":
		m = mSubscriptionID
	case "plan":
		m = mPlan
	case "period":
		m = mPeriod
	case "price":
		m = mPrice
	case "price_minor":
		m = mPriceMinor
	case "referrer_id":
		m = mReferrerID
	case "acquisition_cost":
		m = mAcquisitionCost
	case "acquisition_cost_minor":
		m = mAcquisitionCostMinor
	case "referred_hash":
		m = mReferredHash
	case "id":
		m = mCEID
	case "time":
		m = mCETime
	case "subject":
		m = mCESubject
	case "data":
		m = mCEData
	case "data_base64":
		m = mCEDataBase64
	case "datacontenttype":
		m = mCEDataContentType
	case "specversion":
		m = mCESpecVersion
	}
	if m >= numRecordMembers && !top {
		return mUnknown
	}
	return m
}

// wire holds the known members of one event object (a plain record, or
// CloudEvents data), plus, for the top-level object, the CloudEvents
// attributes.
type wire struct {
	v [numMembers]jval
	// typeErr is the first member, in document order, whose JSON kind
	// encoding/json could not have stored in the Record field (a number
	// for customer_id, a string for amount_minor, ...); mUnknown if none.
	typeErr member
}

// recordTyped reports whether m is a Record field with a Go type
// encoding/json checked: the string fields and the integer fields.
// event_id, type, occurred_at, amount and margin were kept raw.
func recordTyped(m member) bool {
	switch m {
	case mCustomerID, mOrderID, mRefundID, mCurrency, mTicketID, mPriority, mMessageID, mCampaign,
		mAmountMinor, mMarginMinor, mCSAT, mSurveyID, mKind, mScore, mCommentLength, mChannel:
		return true
	}
	return false
}

// isIntMember reports whether m holds an integer.
func isIntMember(m member) bool {
	return m == mAmountMinor || m == mMarginMinor || m == mCSAT || m == mScore || m == mCommentLength
}

// wrongKind reports whether v cannot be stored in the Record field m.
func wrongKind(m member, v jval) bool {
	if v.kind == jNull {
		return false
	}
	if isIntMember(m) {
		if v.kind != jNumber {
			return true
		}
		_, ok := parseInt(v.b)
		return !ok
	}
	return v.kind != jString
}

// typeError formats w.typeErr as the message encoding/json's
// UnmarshalTypeError gave, prefixed with prefix.
func (w *wire) typeError(prefix string) *Error {
	m := w.typeErr
	v := w.v[m]
	got := v.kind.bare()
	if v.kind == jNumber && isIntMember(m) {
		got += " " + string(v.b) // encoding/json named the literal for integer fields only
	}
	want := "a string"
	switch m {
	case mAmountMinor, mMarginMinor:
		want = "an integer number of minor units (like 1234 for 12.34 USD) that fits in 64 bits"
	case mCSAT:
		want = "an integer from 1 to 5"
	case mScore:
		want = scoreWant
	case mCommentLength:
		want = commentLengthWant
	}
	return Errorf(ReasonInvalidField, memberNames[m], "%smust be %s, got JSON %s", prefix, want, got)
}

// parseInt parses a JSON number literal as an int64. It fails for
// fractions, exponents and values out of range, as encoding/json did for
// an integer field.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0') // 19 digits cannot overflow a uint64
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// strictKind says what a strict problem is.
type strictKind uint8

const (
	strictNone strictKind = iota
	strictDuplicate
	strictSurrogate
)

// strict is the first strict problem of a zone: where it is and the
// members it is in.
type strict struct {
	kind    strictKind
	off     int
	key     []byte // duplicate: the member name
	topKey  []byte // the top-level member it is in (nil when it is a top-level key)
	dataKey []byte // inside the data object: the data member it is in
	esc     uint16 // surrogate: the lone code unit
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// scanner reads one JSON text.
type scanner struct {
	data  []byte
	pos   int
	depth int
	// scratch holds decoded strings that had escapes (rare: allocated on
	// first use).
	scratch []byte

	// errOff and errMsg describe the first syntax error (errMsg != "").
	errOff int
	errMsg string

	// Strict problems, first per zone: outside the data object, inside
	// it, and the first surrogate inside it (which counts even when the
	// record turns out to be a plain one, where "data" is just an unknown
	// member).
	inData      bool
	topKey      []byte
	dataKey     []byte
	topStrict   strict
	dataStrict  strict
	dataSurrTop strict

	// Unknown member names seen in the top-level object (0) and the data
	// object (1), for duplicate detection (objects nested in unknown
	// members are not checked): a short list, then a set. Kept as arrays
	// and counts, not slices of the scanner itself, so the scanner stays
	// on the stack.
	unknownN   [2]int
	unknownBuf [2][16][]byte
	unknownSet [2]map[string]struct{}
}

// init prepares s to read data.
func (s *scanner) init(data []byte) { s.data = data }

// fail records a syntax error at the current position, unless one is
// recorded already, and returns false.
func (s *scanner) fail(msg string) bool {
	if s.errMsg == "" {
		s.errOff, s.errMsg = s.pos, msg
	}
	return false
}

// failChar records "invalid character c <context>" at the current
// position, or "unexpected end of JSON input" at the end.
func (s *scanner) failChar(context string) bool {
	if s.pos >= len(s.data) {
		return s.fail("unexpected end of JSON input")
	}
	return s.fail("invalid character " + quoteChar(s.data[s.pos]) + " " + context)
}

// quoteChar formats c for a syntax error message.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	if c >= utf8.RuneSelf {
		q = strconv.Quote(string([]byte{c}))
	}
	return "'" + q[1:len(q)-1] + "'"
}

// ws skips white space.
func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// note records a strict problem in the current zone if it is the zone's
// first.
func (s *scanner) note(p strict) {
	p.topKey, p.dataKey = s.topKey, s.dataKey
	if !s.inData {
		if s.topStrict.kind == strictNone {
			s.topStrict = p
		}
		return
	}
	if s.dataStrict.kind == strictNone {
		s.dataStrict = p
	}
	if p.kind == strictSurrogate && s.dataSurrTop.kind == strictNone {
		s.dataSurrTop = p
	}
}

// eventObject reads an event object (the value starts with '{') into w.
// top says whether CloudEvents attributes are recognised; an object value
// of "data" is then read into data. It returns false on a syntax error.
func (s *scanner) eventObject(w *wire, top bool, data *wire) bool {
	var seen uint64
	s.pos++ // '{'
	s.depth++
	if s.depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		s.depth--
		return true
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.failChar("looking for beginning of object key string")
		}
		keyOff := s.pos
		key, ok := s.str()
		if !ok {
			return false
		}
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.failChar("after object key")
		}
		s.pos++
		s.ws()
		m := lookupMember(key, top)
		if m == mUnknown {
			if s.seenUnknown(key) {
				s.note(strict{kind: strictDuplicate, off: keyOff, key: key})
			}
		} else {
			if seen&(1<<m) != 0 {
				s.note(strict{kind: strictDuplicate, off: keyOff, key: key})
			}
			seen |= 1 << m
		}
		if s.inData {
			s.dataKey = key
		} else {
			s.topKey = key
		}
		if m == mCEData && s.pos < len(s.data) && s.data[s.pos] == '{' {
			w.v[m].kind = jObject
			s.inData, s.dataKey = true, nil
			ok = s.eventObject(data, false, nil)
			s.inData, s.dataKey = false, nil
		} else if m != mUnknown {
			ok = s.value(&w.v[m])
			if ok && w.typeErr == mUnknown && recordTyped(m) && wrongKind(m, w.v[m]) {
				w.typeErr = m
			}
		} else {
			var v jval
			ok = s.value(&v)
		}
		if s.inData {
			s.dataKey = nil
		} else {
			s.topKey = nil
		}
		if !ok {
			return false
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.failChar("")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.ws()
			continue
		case '}':
			s.pos++
			s.depth--
			return true
		}
		return s.failChar("after object key:value pair")
	}
}

// seenUnknown reports whether an unknown member name was seen before in
// the current event object, and remembers it. Event objects have a few
// dozen members at most, so a linear search beats a map; a record of
// thousands of distinct members is bounded by the value size limit.
func (s *scanner) seenUnknown(key []byte) bool {
	z := 0
	if s.inData {
		z = 1
	}
	if set := s.unknownSet[z]; set != nil {
		if _, ok := set[string(key)]; ok {
			return true
		}
		set[string(key)] = struct{}{}
		return false
	}
	list := &s.unknownBuf[z]
	n := s.unknownN[z]
	for _, k := range list[:n] {
		if string(k) == string(key) {
			return true
		}
	}
	if n == len(list) {
		// Many distinct names: switch to a set, so a value of thousands
		// of tiny members costs linear, not quadratic, time.
		set := make(map[string]struct{}, 4*n)
		for _, k := range list {
			set[string(k)] = struct{}{}
		}
		set[string(key)] = struct{}{}
		s.unknownSet[z] = set
		return false
	}
	list[n] = key
	s.unknownN[z] = n + 1
	return false
}

// value reads any JSON value into v. Strings are decoded; numbers keep
// their literal; objects and arrays are checked and skipped.
func (s *scanner) value(v *jval) bool {
	if s.pos >= len(s.data) {
		return s.failChar("")
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		b, ok := s.str()
		v.kind, v.b = jString, b
		return ok
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.pos
		if !s.number() {
			return false
		}
		v.kind, v.b = jNumber, s.data[start:s.pos]
		return true
	case c == '{':
		v.kind = jObject
		return s.skipContainer()
	case c == '[':
		v.kind = jArray
		return s.skipContainer()
	case c == 't':
		v.kind = jBool
		return s.literal("true")
	case c == 'f':
		v.kind = jBool
		return s.literal("false")
	case c == 'n':
		v.kind = jNull
		return s.literal("null")
	}
	return s.failChar("looking for beginning of value")
}

// literal reads the literal lit (true, false or null).
func (s *scanner) literal(lit string) bool {
	s.pos++
	for i := 1; i < len(lit); i++ {
		if s.pos >= len(s.data) {
			return s.failChar("")
		}
		if s.data[s.pos] != lit[i] {
			return s.failChar("in literal " + lit + " (expecting " + quoteChar(lit[i]) + ")")
		}
		s.pos++
	}
	return true
}

// number reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	d := s.data
	if d[s.pos] == '-' {
		s.pos++
		if s.pos >= len(d) || d[s.pos] < '0' || d[s.pos] > '9' {
			return s.failChar("in numeric literal")
		}
	}
	if d[s.pos] == '0' {
		s.pos++
	} else {
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
		}
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if s.pos >= len(d) || d[s.pos] < '0' || d[s.pos] > '9' {
			return s.failChar("after decimal point in numeric literal")
		}
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if s.pos >= len(d) || d[s.pos] < '0' || d[s.pos] > '9' {
			return s.failChar("in exponent of numeric literal")
		}
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
		}
	}
	return true
}

// skipContainer checks and skips an object or array (s.data[s.pos] is '{'
// or '[') that is not an event object. It keeps its own stack of open
// containers instead of recursing, so deep nesting costs no more than
// wide nesting.
func (s *scanner) skipContainer() bool {
	var buf [64]byte
	open := buf[:0] // the open containers: '{' or '['
	push := func() bool {
		if s.depth+len(open)+1 > maxDepth {
			return s.failChar("exceeded max depth")
		}
		open = append(open, s.data[s.pos])
		s.pos++
		return true
	}
	if !push() {
		return false
	}
	// first: just after '{' or '[', where the container may close.
	first := true
	for {
		s.ws()
		inObject := open[len(open)-1] == '{'
		if first && s.pos < len(s.data) && s.data[s.pos] == closer(open[len(open)-1]) {
			s.pos++
			open = open[:len(open)-1]
		} else {
			if inObject {
				if s.pos >= len(s.data) || s.data[s.pos] != '"' {
					return s.failChar("looking for beginning of object key string")
				}
				if _, ok := s.str(); !ok {
					return false
				}
				s.ws()
				if s.pos >= len(s.data) || s.data[s.pos] != ':' {
					return s.failChar("after object key")
				}
				s.pos++
				s.ws()
			}
			if s.pos < len(s.data) && (s.data[s.pos] == '{' || s.data[s.pos] == '[') {
				if !push() {
					return false
				}
				first = true
				continue
			}
			var v jval
			if !s.value(&v) {
				return false
			}
		}
		// After a complete value: close containers or go on with ','.
		for {
			if len(open) == 0 {
				return true
			}
			s.ws()
			top := open[len(open)-1]
			if s.pos >= len(s.data) {
				return s.failChar("")
			}
			if c := s.data[s.pos]; c == ',' {
				s.pos++
				first = false
				break
			} else if c == closer(top) {
				s.pos++
				open = open[:len(open)-1]
				continue
			}
			if top == '{' {
				return s.failChar("after object key:value pair")
			}
			return s.failChar("after array element")
		}
	}
}

// closer returns the byte that closes a container opened by c.
func closer(c byte) byte {
	if c == '{' {
		return '}'
	}
	return ']'
}

// str reads a string (s.data[s.pos] == '"') and returns its decoded bytes:
// a slice of the value when it has no escapes, else of the scratch buffer.
// Bytes that are not UTF-8 are a syntax error (the caller reports the
// value as not UTF-8); a lone surrogate escape is a strict problem and
// decodes to U+FFFD.
func (s *scanner) str() ([]byte, bool) {
	d := s.data
	start := s.pos + 1
	i := start
	for i < len(d) {
		// Plain ASCII runs are the common case: skip them by table.
		for i < len(d) && strPlain[d[i]] {
			i++
		}
		if i >= len(d) {
			break
		}
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return d[start:i], true
		case c == '\\':
			return s.strEscaped(start, i)
		case c < 0x20:
			s.pos = i
			return nil, s.failChar("in string literal")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				s.pos = i
				return nil, s.fail("invalid UTF-8 in string")
			}
			i += size
		}
	}
	s.pos = len(d)
	return nil, s.failChar("")
}

// strEscaped finishes reading a string that has an escape at i, decoding
// into the scratch buffer.
func (s *scanner) strEscaped(start, i int) ([]byte, bool) {
	d := s.data
	b0 := len(s.scratch)
	out := append(s.scratch, d[start:i]...)
	defer func() { s.scratch = out }()
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return out[b0:len(out):len(out)], true
		case c == '\\':
			if i+1 >= len(d) {
				s.pos = len(d)
				return nil, s.failChar("")
			}
			switch e := d[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
				i += 2
			case 'b':
				out = append(out, '\b')
				i += 2
			case 'f':
				out = append(out, '\f')
				i += 2
			case 'n':
				out = append(out, '\n')
				i += 2
			case 'r':
				out = append(out, '\r')
				i += 2
			case 't':
				out = append(out, '\t')
				i += 2
			case 'u':
				escOff := i
				r, ok := s.hex4(i + 2)
				if !ok {
					return nil, false
				}
				i += 6
				if r >= 0xD800 && r < 0xDC00 && i+5 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
					if r2, ok := s.peekHex4(i + 2); ok && r2 >= 0xDC00 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
					}
				}
				if r >= 0xD800 && r < 0xE000 {
					s.note(strict{kind: strictSurrogate, off: escOff, esc: uint16(r)})
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				s.pos = i + 1
				return nil, s.failChar("in string escape code")
			}
		case c < 0x20:
			s.pos = i
			return nil, s.failChar("in string literal")
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				s.pos = i
				return nil, s.fail("invalid UTF-8 in string")
			}
			out = append(out, d[i:i+size]...)
			i += size
		}
	}
	s.pos = len(d)
	return nil, s.failChar("")
}

// strPlain marks the bytes a string can contain as they are: ASCII other
// than control characters, '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// hex4 decodes the four hex digits of a \u escape at i.
func (s *scanner) hex4(i int) (rune, bool) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(s.data) {
			s.pos = len(s.data)
			return 0, s.failChar("")
		}
		h, ok := hexVal(s.data[j])
		if !ok {
			s.pos = j
			return 0, s.failChar(`in \u hexadecimal character escape`)
		}
		r = r<<4 | h
	}
	return r, true
}

// peekHex4 decodes four hex digits at i without reporting errors.
func (s *scanner) peekHex4(i int) (rune, bool) {
	if i+4 > len(s.data) {
		return 0, false
	}
	var r rune
	for j := i; j < i+4; j++ {
		h, ok := hexVal(s.data[j])
		if !ok {
			return 0, false
		}
		r = r<<4 | h
	}
	return r, true
}

func hexVal(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10), true
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}
