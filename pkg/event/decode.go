package event

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits and defaults.
const (
	// DefaultBaseCurrency is the base currency when Config.BaseCurrency is
	// empty.
	DefaultBaseCurrency = "USD"
	// DefaultMaxBytes is the record size limit when Config.MaxBytes is 0:
	// 64 KiB is two orders of magnitude above a real event (a few hundred
	// bytes) and well under Kafka's default 1 MiB message limit.
	DefaultMaxBytes = 64 << 10
	// DefaultMaxClockSkew is the allowed future skew of occurred_at when
	// Config.MaxClockSkew is 0: producers' clocks are NTP-synced to well
	// under a second, so 5 minutes only rejects genuinely wrong timestamps.
	DefaultMaxClockSkew = 5 * time.Minute
	// DefaultMaxAmount is the per-event money limit when Config.MaxAmount
	// is 0, in minor units of the base currency: 10^12, i.e. 10 billion
	// USD or EUR (10^10 major units; 1 trillion JPY, 1 billion KWD). No
	// real single order comes near it, yet the sum of 9 million events
	// at the limit still fits in an int64 (9.2·10^18), so per-customer
	// sums of spend, refunds and margin stay far from overflow.
	DefaultMaxAmount int64 = 1_000_000_000_000
	// MaxIDBytes is the maximum length of an id field (event_id,
	// customer_id, order_id, refund_id, ticket_id, message_id).
	MaxIDBytes = 128
	// MaxCampaignBytes is the maximum length of the campaign field.
	MaxCampaignBytes = 256
)

// minOccurredAt is the earliest accepted occurred_at: everything downstream
// stores Unix times, and an earlier time is always a producer bug (most
// often a zero value).
var minOccurredAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// Config configures a Decoder. Zero values mean defaults.
type Config struct {
	// BaseCurrency is the ISO 4217 code all amounts are converted to.
	// Default "USD".
	BaseCurrency string
	// Rates maps a currency code to a decimal string: units of the base
	// currency per 1 unit of that currency, e.g. {"EUR": "1.08"} with base
	// USD. The base currency is implicitly 1 (listing it is allowed only
	// with a value equal to 1). A record in a currency without a rate is
	// rejected with ReasonUnknownCurrency.
	Rates map[string]string
	// MaxBytes is the largest accepted record value in bytes. Default
	// DefaultMaxBytes.
	MaxBytes int
	// MaxClockSkew is how far occurred_at may be after Now(). Default
	// DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// MaxAmount is the largest accepted purchase or refund amount (and
	// margin) of one event, in minor units of the base currency after
	// conversion; a larger one is rejected with ReasonInvalidField.
	// Default DefaultMaxAmount.
	MaxAmount int64
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// conversion is the exact factor from minor units of one currency to minor
// units of the base currency: rate * 10^(baseExp-curExp) = num/den.
type conversion struct {
	code     string // the currency, as the canonical string Events carry
	exp      int    // its minor-unit exponent
	identity bool   // the base currency
	// small is set when num and den fit in 64 bits, so the conversion is
	// exact 128-bit integer arithmetic (every realistic rate); otherwise
	// it uses math/big.
	small          bool
	num64, den64   uint64
	bigNum, bigDen *big.Int
}

// Decoder decodes and validates records into Events. It is immutable after
// NewDecoder, so one Decoder may be used from many goroutines at once.
type Decoder struct {
	base      string
	baseExp   int
	conv      map[string]conversion
	maxBytes  int
	maxSkew   time.Duration
	maxAmount int64
	now       func() time.Time
}

// NewDecoder validates c, applies defaults and returns a Decoder. Errors
// name the offending field, e.g. `rates.EUR: "abc" is not a decimal number`;
// all problems are reported at once (joined, in a stable order).
func NewDecoder(c Config) (*Decoder, error) {
	d := &Decoder{
		base:      c.BaseCurrency,
		maxBytes:  c.MaxBytes,
		maxSkew:   c.MaxClockSkew,
		maxAmount: c.MaxAmount,
		now:       c.Now,
		conv:      make(map[string]conversion, len(c.Rates)+1),
	}
	if d.base == "" {
		d.base = DefaultBaseCurrency
	}
	if d.maxBytes == 0 {
		d.maxBytes = DefaultMaxBytes
	}
	if d.maxSkew == 0 {
		d.maxSkew = DefaultMaxClockSkew
	}
	if d.maxAmount == 0 {
		d.maxAmount = DefaultMaxAmount
	}
	if d.now == nil {
		d.now = time.Now
	}
	var errs []error
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max_bytes: must not be negative, got %d", c.MaxBytes))
	}
	if c.MaxClockSkew < 0 {
		errs = append(errs, fmt.Errorf("max_clock_skew: must not be negative, got %s", c.MaxClockSkew))
	}
	if c.MaxAmount < 0 {
		errs = append(errs, fmt.Errorf("max_amount: must not be negative, got %d (minor units of the base currency; 0 means the default %d)", c.MaxAmount, DefaultMaxAmount))
	}
	baseExp, ok := CurrencyExponent(d.base)
	if !ok {
		errs = append(errs, fmt.Errorf("base_currency: %q is not a known ISO 4217 currency code", d.base))
		return nil, errors.Join(errs...)
	}
	d.baseExp = baseExp
	d.conv[d.base] = conversion{code: d.base, exp: baseExp, identity: true, small: true, num64: 1, den64: 1,
		bigNum: big.NewInt(1), bigDen: big.NewInt(1)}

	codes := make([]string, 0, len(c.Rates))
	for code := range c.Rates {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	one := big.NewRat(1, 1)
	for _, code := range codes {
		s := c.Rates[code]
		field := "rates." + code
		exp, ok := CurrencyExponent(code)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %q is not a known ISO 4217 currency code (use upper case, like \"EUR\")", field, code))
			continue
		}
		rate, ok := parseRate(s)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %q is not a decimal number (like \"1.08\")", field, s))
			continue
		}
		if rate.Sign() <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be greater than 0, got %q", field, s))
			continue
		}
		if code == d.base {
			if rate.Cmp(one) != 0 {
				errs = append(errs, fmt.Errorf("%s: %s is the base currency, its rate is always 1, got %q", field, code, s))
			}
			continue
		}
		f := new(big.Rat).Set(rate)
		if shift := baseExp - exp; shift >= 0 {
			f.Mul(f, new(big.Rat).SetInt(pow10(shift)))
		} else {
			f.Quo(f, new(big.Rat).SetInt(pow10(-shift)))
		}
		cv := conversion{code: code, exp: exp, bigNum: new(big.Int).Set(f.Num()), bigDen: new(big.Int).Set(f.Denom())}
		if cv.bigNum.IsUint64() && cv.bigDen.IsUint64() {
			cv.small, cv.num64, cv.den64 = true, cv.bigNum.Uint64(), cv.bigDen.Uint64()
		}
		d.conv[code] = cv
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// BaseCurrency returns the ISO 4217 code amounts are converted to.
func (d *Decoder) BaseCurrency() string { return d.base }

// MaxAmount returns the largest accepted amount of one event, in minor
// units of the base currency.
func (d *Decoder) MaxAmount() int64 { return d.maxAmount }

// ConvertMinor converts minor units of currency cur into minor units of the
// base currency, exactly: minor * rate * 10^(baseExp-curExp) computed in
// checked integer arithmetic (128-bit, or math/big for rates with more
// than 19 significant digits) and rounded half to even, never wrapping.
// The error is an *Error: ReasonUnknownCurrency (Field "currency") when
// cur has no exponent or no configured rate, ReasonInvalidField when the
// result does not fit in an int64. It does not apply MaxAmount.
func (d *Decoder) ConvertMinor(minor int64, cur string) (int64, error) {
	c, ok := d.conv[cur]
	if !ok {
		if _, known := CurrencyExponent(cur); !known {
			return 0, Errorf(ReasonUnknownCurrency, "currency", "%q is not a known ISO 4217 currency code", clip(cur))
		}
		return 0, Errorf(ReasonUnknownCurrency, "currency", "no exchange rate from %s to the base currency %s is configured", cur, d.base)
	}
	v, err := d.convert(minor, &c)
	if err != nil {
		return 0, err
	}
	return v, nil
}

// convert converts minor units of c's currency to the base currency.
func (d *Decoder) convert(minor int64, c *conversion) (int64, *Error) {
	if c.identity {
		return minor, nil
	}
	var v int64
	var ok bool
	if c.small {
		v, ok = mulDivHalfEven(minor, c.num64, c.den64)
	} else {
		v, ok = mulRatHalfEven(minor, c.bigNum, c.bigDen)
	}
	if !ok {
		return 0, Errorf(ReasonInvalidField, "", "%d %s minor units overflow 64-bit %s minor units when converted", minor, c.code, d.base)
	}
	return v, nil
}

// source says where the common fields came from, for error messages.
type source struct {
	ce                     bool
	id, typ, time, subject string // how the CloudEvents attributes are named
	rawType                []byte // the full CloudEvents type
}

var (
	structuredSource = source{ce: true, id: `CloudEvents attribute "id"`, typ: `CloudEvents attribute "type"`, time: `CloudEvents attribute "time"`, subject: `CloudEvents attribute "subject"`}
	binarySource     = source{ce: true, id: "header ce_id", typ: "header ce_type", time: "header ce_time", subject: "header ce_subject"}
)

// mode is how a record is framed.
type mode uint8

const (
	modePlain mode = iota
	modeStructured
	modeBinary
)

// Decode decodes one record value with its headers into a validated Event.
// The error, when not nil, is always an *Error. The record is a plain JSON
// Record, or a CloudEvent in structured mode (content-type
// application/cloudevents+json, or a body with "specversion") or binary mode
// (ce_specversion header, value is the data object).
//
// The value is read in a single pass by a hand-written tokenizer (see
// scan.go): strings come out as slices of the value, and the Event's
// strings share one allocation.
func (d *Decoder) Decode(value []byte, headers []Header) (Event, error) {
	var ev Event
	if err := d.decode(value, headers, &ev); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// decodeState is everything one Decode needs, kept on the stack.
type decodeState struct {
	s    scanner
	top  wire
	data wire
}

func (d *Decoder) decode(value []byte, headers []Header, ev *Event) *Error {
	if len(value) > d.maxBytes {
		return Errorf(ReasonOversize, "", "record value is %d bytes, at most %d allowed", len(value), d.maxBytes)
	}
	var st decodeState
	st.top.typeErr, st.data.typeErr = mUnknown, mUnknown
	if ct, ok := header(headers, "content-type"); ok && isStructuredContentType(ct) {
		if err := st.parse(value, "record value", true, ""); err != nil {
			return err
		}
		// Top-level record fields are irrelevant in structured mode, so a
		// type error in one of them is ignored.
		return d.decodeStructured(&st, ev)
	}
	if sv, ok := ceHeader(headers, "specversion"); ok {
		return d.decodeBinary(&st, sv, value, headers, ev)
	}
	if err := st.parse(value, "record value", true, ""); err != nil {
		return err
	}
	if st.top.v[mCESpecVersion].given() {
		return d.decodeStructured(&st, ev)
	}
	if err := st.strictError(modePlain); err != nil {
		return err
	}
	w := &st.top
	if w.typeErr != mUnknown {
		return w.typeError("")
	}
	var c common
	for _, m := range [...]member{mEventID, mType, mOccurredAt} {
		v := w.v[m]
		if v.given() && v.kind != jString {
			return Errorf(ReasonInvalidField, memberNames[m], "must be a string, got %s", v.kind.article())
		}
	}
	c.eventID, c.typ, c.occurredAt = w.v[mEventID].b, w.v[mType].b, w.v[mOccurredAt].b
	return d.validate(w, &c, source{}, ev)
}

// parse reads value, which must be a JSON object, into st.top (and an
// object "data" member into st.data when top is set). what names the value
// in errors; prefix starts syntax error messages.
func (st *decodeState) parse(value []byte, what string, top bool, prefix string) *Error {
	if err := checkObject(value, what); err != nil {
		return err
	}
	s := &st.s
	s.init(value)
	s.ws()
	ok := s.eventObject(&st.top, top, &st.data)
	if ok {
		s.ws()
		if s.pos < len(s.data) {
			ok = s.failChar("after top-level value")
		}
	}
	if !ok {
		if !utf8.Valid(value) {
			return Errorf(ReasonMalformed, "", "%s is not valid UTF-8", what)
		}
		return Errorf(ReasonMalformed, "", "%sinvalid JSON at byte %d: %s", prefix, s.errOff, s.errMsg)
	}
	return nil
}

// strictError reports the first duplicate member or lone surrogate that
// matters in mode m: in plain mode duplicates inside an (unknown) "data"
// member do not, surrogates anywhere do.
func (st *decodeState) strictError(m mode) *Error {
	s := &st.s
	var p strict
	switch m {
	case modePlain:
		p = first(s.topStrict, s.dataSurrTop)
	case modeStructured:
		p = first(s.topStrict, s.dataStrict)
	case modeBinary:
		p = s.topStrict
	}
	if p.kind == strictNone {
		return nil
	}
	// The Record field the problem is in, if any.
	field := ""
	switch {
	case m == modeBinary && p.topKey == nil && p.kind == strictDuplicate:
		field = recordField(p.key)
	case m == modeBinary:
		field = recordField(p.topKey)
	case m == modePlain && p.topKey == nil && p.kind == strictDuplicate:
		field = recordField(p.key)
	case m == modePlain:
		field = recordField(p.topKey)
	case m == modeStructured && string(p.topKey) == "data" && p.dataKey == nil && p.kind == strictDuplicate:
		field = recordField(p.key)
	case m == modeStructured && string(p.topKey) == "data":
		field = recordField(p.dataKey)
	case m == modeStructured && p.topKey == nil && p.kind == strictDuplicate:
		field = ceField(p.key)
	case m == modeStructured:
		field = ceField(p.topKey)
	}
	if p.kind == strictDuplicate {
		if field != "" {
			return Errorf(ReasonInvalidField, field, "given more than once in the same JSON object; give each field once")
		}
		return Errorf(ReasonMalformed, "", "duplicate member name %q in a JSON object at byte %d; give each member once", clip(string(p.key)), p.off)
	}
	if field != "" {
		return Errorf(ReasonInvalidField, field, `contains a lone UTF-16 surrogate escape \u%04x (a \ud800-\udbff escape must be followed by a \udc00-\udfff one); send the text as valid UTF-8`, p.esc)
	}
	return Errorf(ReasonMalformed, "", `a JSON string at byte %d contains a lone UTF-16 surrogate escape \u%04x (a \ud800-\udbff escape must be followed by a \udc00-\udfff one); send the text as valid UTF-8`, p.off, p.esc)
}

// first returns the earlier of two strict problems.
func first(a, b strict) strict {
	if a.kind == strictNone || (b.kind != strictNone && b.off < a.off) {
		return b
	}
	return a
}

// recordField returns name if it is a Record field, else "".
func recordField(name []byte) string {
	if m := lookupMember(name, false); m != mUnknown {
		return memberNames[m]
	}
	return ""
}

// ceField returns the Record field a structured-mode CloudEvents attribute
// named name fills ("id" -> "event_id", ...), the attribute name for the
// other attributes the decoder reads, or "".
func ceField(name []byte) string {
	switch m := lookupMember(name, true); m {
	case mType:
		return "type"
	case mCEID, mCETime, mCESubject:
		return fieldForAttr(memberNames[m])
	case mCEData, mCEDataBase64, mCEDataContentType, mCESpecVersion:
		return memberNames[m]
	}
	return ""
}

// common holds the fields every event has, besides customer_id.
type common struct {
	eventID, typ, occurredAt []byte
}

// checkObject rejects values that are not valid UTF-8 or do not start with
// '{'.
func checkObject(value []byte, what string) *Error {
	i := 0
	for i < len(value) && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n') {
		i++
	}
	t := value[i:]
	if len(t) > 0 && t[0] == '{' {
		return nil // the scanner checks UTF-8 as it goes
	}
	if !utf8.Valid(value) {
		return Errorf(ReasonMalformed, "", "%s is not valid UTF-8", what)
	}
	if len(t) == 0 {
		return Errorf(ReasonMalformed, "", "%s is empty, expected a JSON object", what)
	}
	return Errorf(ReasonMalformed, "", "%s must be a JSON object, got %s", what, jsonKind(t))
}

// jsonKind names the JSON kind of a value by its first byte.
func jsonKind(t []byte) string {
	switch c := t[0]; {
	case c == '[':
		return "an array"
	case c == '{':
		return "an object"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return "something that is not JSON"
}

// header returns the value of the first header whose key equals name, ignoring
// case.
func header(headers []Header, name string) ([]byte, bool) {
	for _, h := range headers {
		if strings.EqualFold(h.Key, name) {
			return h.Value, true
		}
	}
	return nil, false
}

// ceHeader returns the CloudEvents binary-mode attribute attr from a ce_attr
// (Kafka binding) or ce-attr header.
func ceHeader(headers []Header, attr string) ([]byte, bool) {
	for _, h := range headers {
		k := h.Key
		if len(k) == 3+len(attr) && (k[2] == '_' || k[2] == '-') &&
			strings.EqualFold(k[:2], "ce") && strings.EqualFold(k[3:], attr) {
			return h.Value, true
		}
	}
	return nil, false
}

// isStructuredContentType reports whether a content-type header selects
// CloudEvents structured mode.
func isStructuredContentType(ct []byte) bool {
	const p = "application/cloudevents+json"
	ct = bytes.TrimSpace(ct)
	return len(ct) >= len(p) && asciiEqualFold(ct[:len(p)], p)
}

// asciiEqualFold reports whether b equals the lower-case ASCII string s,
// ignoring ASCII case. (strings.EqualFold also folds a few non-ASCII
// letters, such as the Kelvin sign to 'k'; none of them folds to a letter
// of the content types compared here.)
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// containsJSON reports whether b contains "json" in any case.
func containsJSON(b []byte) bool {
	for i := 0; i+4 <= len(b); i++ {
		if asciiEqualFold(b[i:i+4], "json") {
			return true
		}
	}
	return false
}

// stringAttr checks that a structured-mode attribute is a string (absent
// and null give nil).
func stringAttr(v jval, field, what string) ([]byte, *Error) {
	if v.given() && v.kind != jString {
		return nil, Errorf(ReasonInvalidField, field, "%smust be a string, got %s", what, v.kind.article())
	}
	return v.b, nil
}

func (d *Decoder) decodeStructured(st *decodeState, ev *Event) *Error {
	if err := st.strictError(modeStructured); err != nil {
		return err
	}
	top := &st.top
	sv, err := stringAttr(top.v[mCESpecVersion], "specversion", `CloudEvents attribute "specversion" `)
	if err != nil {
		return err
	}
	if len(sv) == 0 {
		return Errorf(ReasonMissingField, "specversion", `required in CloudEvents structured mode: set "specversion": "1.0"`)
	}
	if string(sv) != "1.0" {
		return Errorf(ReasonInvalidField, "specversion", "CloudEvents spec version %q is not supported, only \"1.0\"", clip(string(sv)))
	}
	dct, err := stringAttr(top.v[mCEDataContentType], "datacontenttype", `CloudEvents attribute "datacontenttype" `)
	if err != nil {
		return err
	}
	if len(dct) > 0 && !containsJSON(dct) {
		return Errorf(ReasonInvalidField, "datacontenttype", "CloudEvents data content type %q is not supported: data must be a JSON object (application/json)", clip(string(dct)))
	}
	if top.v[mCEDataBase64].given() {
		return Errorf(ReasonInvalidField, "data_base64", `binary CloudEvents data is not supported: send the event fields as a JSON object in "data"`)
	}
	if dv := top.v[mCEData]; dv.given() {
		if dv.kind != jObject {
			return Errorf(ReasonInvalidField, "data", "CloudEvents data must be a JSON object with the event fields, got %s", dv.kind.article())
		}
		if st.data.typeErr != mUnknown {
			return st.data.typeError("in CloudEvents data: ")
		}
	}
	var attrs [4][]byte
	for i, a := range [...]struct {
		m           member
		field, what string
	}{
		{mCEID, "event_id", `CloudEvents attribute "id" `},
		{mType, "type", `CloudEvents attribute "type" `},
		{mCETime, "occurred_at", `CloudEvents attribute "time" `},
		{mCESubject, "customer_id", `CloudEvents attribute "subject" `},
	} {
		b, err := stringAttr(top.v[a.m], a.field, a.what)
		if err != nil {
			return err
		}
		attrs[i] = b
	}
	return d.applyCE(&st.data, attrs, structuredSource, ev)
}

func (d *Decoder) decodeBinary(st *decodeState, sv []byte, value []byte, headers []Header, ev *Event) *Error {
	if string(sv) != "1.0" {
		return Errorf(ReasonInvalidField, "specversion", "CloudEvents spec version %q (header ce_specversion) is not supported, only \"1.0\"", clip(string(sv)))
	}
	if len(bytes.TrimSpace(value)) > 0 {
		if err := st.parse(value, "CloudEvents data (record value)", false, "in CloudEvents data: "); err != nil {
			return err
		}
		if err := st.strictError(modeBinary); err != nil {
			return err
		}
		if st.top.typeErr != mUnknown {
			return st.top.typeError("in CloudEvents data: ")
		}
	}
	var attrs [4][]byte
	for i, a := range [...]string{"id", "type", "time", "subject"} {
		b, _ := ceHeader(headers, a)
		if !utf8.Valid(b) {
			return Errorf(ReasonInvalidField, fieldForAttr(a), "header ce_%s is not valid UTF-8", a)
		}
		attrs[i] = b
	}
	return d.applyCE(&st.top, attrs, binarySource, ev)
}

// fieldForAttr maps a CloudEvents attribute to the Record field it fills.
func fieldForAttr(attr string) string {
	switch attr {
	case "id":
		return "event_id"
	case "type":
		return "type"
	case "time":
		return "occurred_at"
	}
	return "customer_id"
}

// applyCE takes the common fields from the CloudEvents attributes id, type,
// time and subject (event_id, type and occurred_at in the data are ignored;
// subject fills customer_id only when the data has none) and validates.
func (d *Decoder) applyCE(w *wire, attrs [4][]byte, src source, ev *Event) *Error {
	c := common{eventID: attrs[0], typ: attrs[1], occurredAt: attrs[2]}
	src.rawType = c.typ
	if i := bytes.LastIndexByte(c.typ, '.'); i >= 0 {
		c.typ = c.typ[i+1:]
	}
	if len(w.v[mCustomerID].b) == 0 {
		w.v[mCustomerID] = jval{kind: jString, b: attrs[3]}
	}
	return d.validate(w, &c, src, ev)
}

// typeOf returns the Type named b, or "" when b is not one of Types or
// InternalTypes.
func typeOf(b []byte) Type {
	switch string(b) {
	case "purchase":
		return Purchase
	case "refund":
		return Refund
	case "ticket_opened":
		return TicketOpened
	case "ticket_updated":
		return TicketUpdated
	case "ticket_resolved":
		return TicketResolved
	case "ticket_reopened":
		return TicketReopened
	case "email_sent":
		return EmailSent
	case "email_opened":
		return EmailOpened
	case "email_clicked":
		return EmailClicked
	case "customer_erased":
		return CustomerErased
	case "survey_sent":
		return SurveySent
	case "survey_responded":
		return SurveyResponded
	case "message_sent":
		return MessageSent
	case "message_delivered":
		return MessageDelivered
	case "message_opened":
		return MessageOpened
	case "message_clicked":
		return MessageClicked
	case "message_opted_out":
		return MessageOptedOut
	case "message_opted_in":
		return MessageOptedIn
	case "subscription_started":
		return SubscriptionStarted
	case "subscription_renewed":
		return SubscriptionRenewed
	case "subscription_cancelled":
		return SubscriptionCancelled
	case "customer_acquired":
		return CustomerAcquired
	case "referral_credited":
		return ReferralCredited
	}
	return ""
}

// strs collects the byte slices that become the Event's strings, so they
// are copied into one allocation at the end.
type strs struct {
	id, customer, order, refund, ticket, message, campaign, survey []byte
}

// validate checks a wire record whose common fields are filled and builds
// the Event into ev. The checks run in the documented order.
func (d *Decoder) validate(w *wire, c *common, src source, ev *Event) *Error {
	var ss strs

	// type
	if len(src.rawType) == 0 && len(c.typ) == 0 {
		if src.ce {
			return Errorf(ReasonMissingField, "type", "required: set %s, like \"com.example.purchase\"", src.typ)
		}
		return Errorf(ReasonMissingField, "type", "required: one of %s", typeList())
	}
	t := typeOf(c.typ)
	if t == "" {
		if src.ce {
			return Errorf(ReasonUnknownType, "type", "CloudEvents type %q: %q is not a known event type; the part after the last '.' must be one of %s", clip(string(src.rawType)), clip(string(c.typ)), typeList())
		}
		return Errorf(ReasonUnknownType, "type", "%q is not a known event type; expected one of %s", clip(string(c.typ)), typeList())
	}
	ev.Type = t

	// event_id
	if len(c.eventID) == 0 {
		if src.ce {
			return Errorf(ReasonMissingField, "event_id", "required: set %s", src.id)
		}
		return Errorf(ReasonMissingField, "event_id", "required: a unique id for this event (string, 1-%d bytes)", MaxIDBytes)
	}
	if err := checkText("event_id", c.eventID, MaxIDBytes); err != nil {
		return err
	}
	ss.id = c.eventID

	// customer_id
	cust := w.v[mCustomerID].b
	if len(cust) == 0 {
		if src.ce {
			return Errorf(ReasonMissingField, "customer_id", "required: set customer_id in the data or %s", src.subject)
		}
		return Errorf(ReasonMissingField, "customer_id", "required: the customer's id (string, 1-%d bytes)", MaxIDBytes)
	}
	if err := checkText("customer_id", cust, MaxIDBytes); err != nil {
		return err
	}
	ss.customer = cust

	// occurred_at
	if len(c.occurredAt) == 0 {
		if src.ce {
			return Errorf(ReasonMissingField, "occurred_at", "required: set %s to an RFC 3339 timestamp", src.time)
		}
		return Errorf(ReasonMissingField, "occurred_at", `required: an RFC 3339 timestamp with offset, like "2025-03-01T12:00:00Z"`)
	}
	at, ok := parseRFC3339(c.occurredAt)
	if !ok {
		return Errorf(ReasonInvalidField, "occurred_at", `%q is not an RFC 3339 timestamp with offset, like "2025-03-01T12:00:00Z" or "2025-03-01T13:00:00+01:00"`, clip(string(c.occurredAt)))
	}
	if at.Before(minOccurredAt) {
		return Errorf(ReasonInvalidField, "occurred_at", "%q is before 1970-01-01T00:00:00Z", clip(string(c.occurredAt)))
	}
	if now := d.now(); at.After(now.Add(d.maxSkew)) {
		return Errorf(ReasonClockSkew, "occurred_at", "%s is %s ahead of the service clock (%s); at most %s is allowed",
			at.Format(time.RFC3339Nano), at.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), d.maxSkew)
	}
	ev.OccurredAt = at

	// campaign: optional on every type
	if camp := w.v[mCampaign].b; len(camp) > 0 {
		if err := checkText("campaign", camp, MaxCampaignBytes); err != nil {
			return err
		}
		ss.campaign = camp
	}
	csat := w.v[mCSAT]
	if csat.given() && t != TicketResolved {
		return Errorf(ReasonInvalidField, "csat", "only allowed on ticket_resolved, not on %s", t)
	}

	var err *Error
	switch {
	case t == Purchase || t == Refund:
		err = d.money(w, ev, &ss)
	case t.isTicket():
		err = ticket(w, ev, &ss)
	case t.isEmail():
		ss.message = w.v[mMessageID].b
		err = requireID(ss.message, "message_id", "the email's message id", t)
	case t.isSurvey():
		err = survey(w, ev, &ss)
	case t.isMessage():
		err = message(w, ev, &ss)
	case t.isSubscription():
		err = d.subscription(w, ev, ss.customer)
	case t == CustomerAcquired:
		err = d.acquisition(w, ev, ss.customer)
	case t == ReferralCredited:
		err = referral(w, ev)
	}
	if err != nil {
		return err
	}
	ev.setStrings(&ss)
	return nil
}

// setStrings copies the collected strings into one allocation and points
// the Event's fields into it. RefundID defaults to the event id.
func (ev *Event) setStrings(ss *strs) {
	parts := [...][]byte{ss.id, ss.customer, ss.order, ss.refund, ss.ticket, ss.message, ss.campaign, ss.survey}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		b.Write(p)
	}
	all := b.String()
	var out [len(parts)]string
	for i, p := range parts {
		out[i], all = all[:len(p)], all[len(p):]
	}
	ev.ID, ev.CustomerID, ev.OrderID = out[0], out[1], out[2]
	ev.TicketID, ev.MessageID, ev.Campaign, ev.SurveyID = out[4], out[5], out[6], out[7]
	if ev.Type == Refund {
		ev.RefundID = out[3]
		if ev.RefundID == "" {
			ev.RefundID = ev.ID
		}
	}
}

// ticket validates and fills the ticket_* fields.
func ticket(w *wire, ev *Event, ss *strs) *Error {
	id := w.v[mTicketID].b
	if err := requireID(id, "ticket_id", "the support ticket's id", ev.Type); err != nil {
		return err
	}
	ss.ticket = id
	switch p := w.v[mPriority].b; string(p) {
	case "":
		ev.Priority = "normal"
	case "low":
		ev.Priority = "low"
	case "normal":
		ev.Priority = "normal"
	case "high":
		ev.Priority = "high"
	case "urgent":
		ev.Priority = "urgent"
	default:
		return Errorf(ReasonInvalidField, "priority", `%q is not a priority; use one of "low", "normal", "high", "urgent" (or omit for "normal")`, clip(string(p)))
	}
	if v := w.v[mCSAT]; v.given() {
		n, _ := parseInt(v.b) // the kind was checked by the scanner
		if n < 1 || n > 5 {
			return Errorf(ReasonInvalidField, "csat", "must be an integer from 1 to 5 (or omitted), got %d", n)
		}
		ev.CSAT = int(n)
	}
	return nil
}

// money validates and fills the purchase/refund fields.
func (d *Decoder) money(w *wire, ev *Event, ss *strs) *Error {
	order := w.v[mOrderID].b
	if err := requireID(order, "order_id", "the id of the order", ev.Type); err != nil {
		return err
	}
	ss.order = order
	if ev.Type == Refund {
		if r := w.v[mRefundID].b; len(r) > 0 {
			if err := checkText("refund_id", r, MaxIDBytes); err != nil {
				return err
			}
			ss.refund = r
		}
	}

	amountDec, amountMinor := w.v[mAmount], w.v[mAmountMinor]
	hasAmount, err := checkMoneyPresence(amountDec, amountMinor, "amount")
	if err != nil {
		return err
	}
	if !hasAmount {
		return Errorf(ReasonMissingField, "amount", `required on %s: give "amount" as a decimal string like "12.34" or "amount_minor" as integer minor units like 1234`, ev.Type)
	}
	marginDec, marginMinor := w.v[mMargin], w.v[mMarginMinor]
	hasMargin, err := checkMoneyPresence(marginDec, marginMinor, "margin")
	if err != nil {
		return err
	}

	cur := w.v[mCurrency].b
	if len(cur) == 0 {
		return Errorf(ReasonMissingField, "currency", `required with an amount: an ISO 4217 code like "USD"`)
	}
	if !isCurrencyCode(cur) {
		return Errorf(ReasonInvalidField, "currency", `%q is not an ISO 4217 code: use three upper-case letters like "USD"`, clip(string(cur)))
	}
	conv, ok := d.conv[string(cur)]
	if !ok {
		if _, known := currencyExponents[string(cur)]; !known {
			return Errorf(ReasonUnknownCurrency, "currency", "%q is not a known ISO 4217 currency code", cur)
		}
		return Errorf(ReasonUnknownCurrency, "currency", "no exchange rate from %s to the base currency %s is configured", cur, d.base)
	}
	code, exp := conv.code, conv.exp
	ev.Currency = code

	amountField := moneyField("amount", amountMinor)
	amount, err := moneyValue(amountDec, amountMinor, "amount", code, exp)
	if err != nil {
		return err
	}
	switch {
	case amount < 0:
		return Errorf(ReasonInvalidField, amountField, "must not be negative, got %s %s (a refund is its own event type with a positive amount)", FormatMinor(amount, exp), code)
	case amount == 0 && ev.Type == Refund:
		return Errorf(ReasonInvalidField, amountField, "a refund amount must be greater than 0")
	}
	var margin int64
	if hasMargin {
		margin, err = moneyValue(marginDec, marginMinor, "margin", code, exp)
		if err != nil {
			return err
		}
		if margin < 0 || margin > amount {
			return Errorf(ReasonInvalidField, moneyField("margin", marginMinor), "must be between 0 and the amount (%s %s), got %s %s",
				FormatMinor(amount, exp), code, FormatMinor(margin, exp), code)
		}
	}

	// Conversion is monotonic, so 0 <= margin <= amount still holds after it.
	base, cerr := d.convert(amount, &conv)
	if cerr != nil {
		cerr.Field = amountField
		return cerr
	}
	if base == 0 && ev.Type == Refund {
		return Errorf(ReasonInvalidField, amountField, "%s %s is less than half a minor unit of %s after conversion; too small to record as a refund", FormatMinor(amount, exp), code, d.base)
	}
	if err := d.checkMax(amountField, amount, base, &conv); err != nil {
		return err
	}
	ev.Amount = base
	if hasMargin {
		marginField := moneyField("margin", marginMinor)
		m, cerr := d.convert(margin, &conv)
		if cerr != nil {
			cerr.Field = marginField
			return cerr
		}
		if err := d.checkMax(marginField, margin, m, &conv); err != nil {
			return err
		}
		ev.Margin, ev.HasMargin = m, true
	}
	return nil
}

// checkMax rejects a value above the per-event maximum: orig minor units
// of c's currency, base after conversion.
func (d *Decoder) checkMax(field string, orig, base int64, c *conversion) *Error {
	if base <= d.maxAmount {
		return nil
	}
	max := FormatMinor(d.maxAmount, d.baseExp) + " " + d.base
	if c.identity {
		return Errorf(ReasonInvalidField, field, "%s %s is above the maximum of %s per event (the decoder's max_amount); check the amount's unit, or raise the limit",
			FormatMinor(orig, c.exp), c.code, max)
	}
	return Errorf(ReasonInvalidField, field, "%s %s is %s %s, above the maximum of %s per event (the decoder's max_amount); check the amount's unit, or raise the limit",
		FormatMinor(orig, c.exp), c.code, FormatMinor(base, d.baseExp), d.base, max)
}

// moneyField names the field a money value came from: "amount" or
// "amount_minor" (resp. margin).
func moneyField(name string, minor jval) string {
	if minor.given() {
		return name + "_minor"
	}
	return name
}

// checkMoneyPresence reports whether a money value was given as exactly one
// of the decimal string and the integer minor units.
func checkMoneyPresence(dec, minor jval, name string) (bool, *Error) {
	hasDec := dec.given() && !(dec.kind == jString && len(dec.b) == 0)
	if hasDec && minor.given() {
		return false, Errorf(ReasonInvalidField, name, "give either %s (decimal string) or %s_minor (integer minor units), not both", name, name)
	}
	return hasDec || minor.given(), nil
}

// moneyValue returns a money value in minor units of cur. It is called only
// when the value is present.
func moneyValue(dec, minor jval, name, cur string, exp int) (int64, *Error) {
	if minor.given() {
		v, _ := parseInt(minor.b) // the kind was checked by the scanner
		return v, nil
	}
	switch dec.kind {
	case jString:
	case jNumber:
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34", not a JSON number (floats lose cents); or give integer minor units in %s_minor`, name)
	default:
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34", got %s`, dec.kind.article())
	}
	v, err := parseDecimalMinor(dec.b, exp)
	if err != nil {
		return 0, Errorf(ReasonInvalidField, name, "%q is not a valid %s amount (%d decimal places): %v", clip(string(dec.b)), cur, exp, err)
	}
	return v, nil
}

// requireID checks a type-specific required id field.
func requireID(v []byte, field, what string, t Type) *Error {
	if len(v) == 0 {
		return Errorf(ReasonMissingField, field, "required on %s: %s (string, 1-%d bytes)", t, what, MaxIDBytes)
	}
	return checkText(field, v, MaxIDBytes)
}

// checkText checks that a present string field is at most max bytes of
// valid UTF-8, has no control characters and is not blank.
func checkText(field string, v []byte, max int) *Error {
	if len(v) > max {
		return Errorf(ReasonInvalidField, field, "must be at most %d bytes, got %d", max, len(v))
	}
	blank := true
	for i := 0; i < len(v); {
		// Printable ASCII runs by table: no control character, and
		// anything but a space is not blank.
		for i < len(v) && textPlain[v[i]] {
			if v[i] != ' ' {
				blank = false
			}
			i++
		}
		if i >= len(v) {
			break
		}
		c := v[i]
		if c < utf8.RuneSelf {
			// ASCII: control characters are C0 and DEL; white space is
			// \t \n \v \f \r and space.
			if c < 0x20 || c == 0x7f {
				return Errorf(ReasonInvalidField, field, "must not contain control characters, found %U at byte %d", rune(c), i)
			}
			if c != ' ' {
				blank = false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			return Errorf(ReasonInvalidField, field, "must be valid UTF-8")
		}
		if unicode.IsControl(r) {
			return Errorf(ReasonInvalidField, field, "must not contain control characters, found %U at byte %d", r, i)
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
		i += size
	}
	if blank {
		return Errorf(ReasonInvalidField, field, "must not be blank")
	}
	return nil
}

// textPlain marks printable ASCII (0x20-0x7e).
var textPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	return t
}()

// clip shortens s for inclusion in an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// typeList formats Types for error messages.
func typeList() string {
	var b strings.Builder
	for i, t := range Types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}
