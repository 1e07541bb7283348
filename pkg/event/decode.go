package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
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
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// conversion is the exact factor from minor units of one currency to minor
// units of the base currency: rate * 10^(baseExp-curExp) = num/den.
type conversion struct {
	num, den *big.Int
	identity bool
}

// Decoder decodes and validates records into Events. It is immutable after
// NewDecoder, so one Decoder may be used from many goroutines at once.
type Decoder struct {
	base     string
	baseExp  int
	conv     map[string]conversion
	maxBytes int
	maxSkew  time.Duration
	now      func() time.Time
}

// NewDecoder validates c, applies defaults and returns a Decoder. Errors
// name the offending field, e.g. `rates.EUR: "abc" is not a decimal number`;
// all problems are reported at once (joined, in a stable order).
func NewDecoder(c Config) (*Decoder, error) {
	d := &Decoder{
		base:     c.BaseCurrency,
		maxBytes: c.MaxBytes,
		maxSkew:  c.MaxClockSkew,
		now:      c.Now,
		conv:     make(map[string]conversion, len(c.Rates)+1),
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
	baseExp, ok := CurrencyExponent(d.base)
	if !ok {
		errs = append(errs, fmt.Errorf("base_currency: %q is not a known ISO 4217 currency code", d.base))
		return nil, errors.Join(errs...)
	}
	d.baseExp = baseExp
	d.conv[d.base] = conversion{num: big.NewInt(1), den: big.NewInt(1), identity: true}

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
		d.conv[code] = conversion{num: new(big.Int).Set(f.Num()), den: new(big.Int).Set(f.Denom())}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// BaseCurrency returns the ISO 4217 code amounts are converted to.
func (d *Decoder) BaseCurrency() string { return d.base }

// ConvertMinor converts minor units of currency cur into minor units of the
// base currency, exactly: minor * rate * 10^(baseExp-curExp) computed with
// math/big and rounded half to even. The error is an *Error: ReasonUnknownCurrency
// (Field "currency") when cur has no exponent or no configured rate,
// ReasonInvalidField when the result does not fit in an int64.
func (d *Decoder) ConvertMinor(minor int64, cur string) (int64, error) {
	v, err := d.convert(minor, cur)
	if err != nil {
		return 0, err
	}
	return v, nil
}

func (d *Decoder) convert(minor int64, cur string) (int64, *Error) {
	c, ok := d.conv[cur]
	if !ok {
		if _, known := CurrencyExponent(cur); !known {
			return 0, Errorf(ReasonUnknownCurrency, "currency", "%q is not a known ISO 4217 currency code", clip(cur))
		}
		return 0, Errorf(ReasonUnknownCurrency, "currency", "no exchange rate from %s to the base currency %s is configured", cur, d.base)
	}
	if c.identity {
		return minor, nil
	}
	v, ok := mulRatHalfEven(minor, c.num, c.den)
	if !ok {
		return 0, Errorf(ReasonInvalidField, "", "%d %s minor units overflow 64-bit %s minor units when converted", minor, cur, d.base)
	}
	return v, nil
}

// wireRecord is the decoding target for a plain record or CloudEvents data.
// event_id, type and occurred_at stay raw because CloudEvents data may carry
// anything under those names (the attributes win); Amount and Margin stay
// raw so a JSON number can be told apart from a string; CSAT is a pointer so
// an explicit 0 can be told apart from absence.
type wireRecord struct {
	EventID     json.RawMessage `json:"event_id"`
	Type        json.RawMessage `json:"type"`
	CustomerID  string          `json:"customer_id"`
	OccurredAt  json.RawMessage `json:"occurred_at"`
	OrderID     string          `json:"order_id"`
	RefundID    string          `json:"refund_id"`
	Amount      json.RawMessage `json:"amount"`
	AmountMinor *int64          `json:"amount_minor"`
	Currency    string          `json:"currency"`
	Margin      json.RawMessage `json:"margin"`
	MarginMinor *int64          `json:"margin_minor"`
	TicketID    string          `json:"ticket_id"`
	Priority    string          `json:"priority"`
	CSAT        *int            `json:"csat"`
	MessageID   string          `json:"message_id"`
	Campaign    string          `json:"campaign"`
}

// envelope is the decoding target for a whole record value: a plain record
// plus the CloudEvents structured-mode attributes ("type" is shared with the
// record). The attributes are raw so that a plain record with unrelated
// fields of those names never fails.
type envelope struct {
	wireRecord
	SpecVersion     json.RawMessage `json:"specversion"`
	ID              json.RawMessage `json:"id"`
	Time            json.RawMessage `json:"time"`
	Subject         json.RawMessage `json:"subject"`
	Data            json.RawMessage `json:"data"`
	DataBase64      json.RawMessage `json:"data_base64"`
	DataContentType json.RawMessage `json:"datacontenttype"`
}

// source says where the common fields came from, for error messages.
type source struct {
	ce                     bool
	id, typ, time, subject string // how the CloudEvents attributes are named
	rawType                string // the full CloudEvents type
}

var (
	structuredSource = source{ce: true, id: `CloudEvents attribute "id"`, typ: `CloudEvents attribute "type"`, time: `CloudEvents attribute "time"`, subject: `CloudEvents attribute "subject"`}
	binarySource     = source{ce: true, id: "header ce_id", typ: "header ce_type", time: "header ce_time", subject: "header ce_subject"}
)

// Decode decodes one record value with its headers into a validated Event.
// The error, when not nil, is always an *Error. The record is a plain JSON
// Record, or a CloudEvent in structured mode (content-type
// application/cloudevents+json, or a body with "specversion") or binary mode
// (ce_specversion header, value is the data object).
func (d *Decoder) Decode(value []byte, headers []Header) (Event, error) {
	ev, err := d.decode(value, headers)
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

func (d *Decoder) decode(value []byte, headers []Header) (Event, *Error) {
	if len(value) > d.maxBytes {
		return Event{}, Errorf(ReasonOversize, "", "record value is %d bytes, at most %d allowed", len(value), d.maxBytes)
	}
	if ct, ok := header(headers, "content-type"); ok && isStructuredContentType(ct) {
		env, err := parseEnvelope(value)
		if env == nil {
			return Event{}, err
		}
		// Top-level record fields are irrelevant in structured mode, so a
		// type error in one of them (err) is ignored.
		return d.decodeStructured(env)
	}
	if sv, ok := ceHeader(headers, "specversion"); ok {
		return d.decodeBinary(sv, value, headers)
	}
	env, err := parseEnvelope(value)
	if env == nil {
		return Event{}, err
	}
	if present(env.SpecVersion) {
		return d.decodeStructured(env)
	}
	if err != nil {
		return Event{}, err
	}
	var c common
	for _, f := range []struct {
		raw  json.RawMessage
		name string
		dst  *string
	}{{env.EventID, "event_id", &c.eventID}, {env.Type, "type", &c.typ}, {env.OccurredAt, "occurred_at", &c.occurredAt}} {
		if *f.dst, err = stringMember(f.raw, f.name, ""); err != nil {
			return Event{}, err
		}
	}
	return d.validate(&env.wireRecord, c, source{})
}

// common holds the fields every event has, besides customer_id.
type common struct {
	eventID, typ, occurredAt string
}

// parseEnvelope decodes value into an envelope. A nil envelope means value
// is not a JSON object; a non-nil envelope with an error means a field had
// the wrong JSON type (the other fields are decoded).
func parseEnvelope(value []byte) (*envelope, *Error) {
	if err := checkObject(value, "record value"); err != nil {
		return nil, err
	}
	env := new(envelope)
	if err := json.Unmarshal(value, env); err != nil {
		e := jsonError(err, "")
		if e.Reason == ReasonMalformed {
			return nil, e
		}
		return env, e
	}
	return env, nil
}

// checkObject rejects values that are not valid UTF-8 or do not start with
// '{'.
func checkObject(value []byte, what string) *Error {
	if !utf8.Valid(value) {
		return Errorf(ReasonMalformed, "", "%s is not valid UTF-8", what)
	}
	t := bytes.TrimLeft(value, " \t\r\n")
	if len(t) == 0 {
		return Errorf(ReasonMalformed, "", "%s is empty, expected a JSON object", what)
	}
	if t[0] != '{' {
		return Errorf(ReasonMalformed, "", "%s must be a JSON object, got %s", what, jsonKind(t))
	}
	return nil
}

// jsonKind names the JSON kind of a value by its first byte.
func jsonKind(t []byte) string {
	switch c := t[0]; {
	case c == '[':
		return "an array"
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

// jsonError maps an encoding/json error to an *Error. prefix is prepended to
// the message (used for CloudEvents data).
func jsonError(err error, prefix string) *Error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		if field == "" {
			return Errorf(ReasonMalformed, "", "%sexpected a JSON object, got JSON %s", prefix, ute.Value)
		}
		return Errorf(ReasonInvalidField, field, "%smust be %s, got JSON %s", prefix, expectedKind(field, ute.Type), ute.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return Errorf(ReasonMalformed, "", "%sinvalid JSON at byte %d: %s", prefix, se.Offset, se.Error())
	}
	return Errorf(ReasonMalformed, "", "%sinvalid JSON: %s", prefix, err.Error())
}

// expectedKind describes the JSON type a field needs, for error messages.
func expectedKind(field string, t reflect.Type) string {
	switch field {
	case "amount_minor", "margin_minor":
		return "an integer number of minor units (like 1234 for 12.34 USD) that fits in 64 bits"
	case "csat":
		return "an integer from 1 to 5"
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil {
		switch t.Kind() {
		case reflect.String:
			return "a string"
		case reflect.Int, reflect.Int64:
			return "an integer"
		}
	}
	return "a different JSON type"
}

// header returns the value of the first header whose key equals name, ignoring
// case.
func header(headers []Header, name string) (string, bool) {
	for _, h := range headers {
		if strings.EqualFold(h.Key, name) {
			return string(h.Value), true
		}
	}
	return "", false
}

// ceHeader returns the CloudEvents binary-mode attribute attr from a ce_attr
// (Kafka binding) or ce-attr header.
func ceHeader(headers []Header, attr string) (string, bool) {
	for _, h := range headers {
		k := h.Key
		if len(k) == 3+len(attr) && (k[2] == '_' || k[2] == '-') &&
			strings.EqualFold(k[:2], "ce") && strings.EqualFold(k[3:], attr) {
			return string(h.Value), true
		}
	}
	return "", false
}

// isStructuredContentType reports whether a content-type header selects
// CloudEvents structured mode.
func isStructuredContentType(ct string) bool {
	const p = "application/cloudevents+json"
	ct = strings.TrimSpace(ct)
	return len(ct) >= len(p) && strings.EqualFold(ct[:len(p)], p)
}

// present reports whether a raw JSON member was given and is not null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// stringMember reads a string-valued JSON member kept raw. An absent or null
// member gives "". field is the Record field reported in errors and what
// prefixes the message.
func stringMember(raw json.RawMessage, field, what string) (string, *Error) {
	if !present(raw) {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", Errorf(ReasonInvalidField, field, "%smust be a string, got %s", what, jsonKind(raw))
	}
	return s, nil
}

func (d *Decoder) decodeStructured(env *envelope) (Event, *Error) {
	sv, err := stringMember(env.SpecVersion, "specversion", `CloudEvents attribute "specversion" `)
	if err != nil {
		return Event{}, err
	}
	if sv == "" {
		return Event{}, Errorf(ReasonMissingField, "specversion", `required in CloudEvents structured mode: set "specversion": "1.0"`)
	}
	if sv != "1.0" {
		return Event{}, Errorf(ReasonInvalidField, "specversion", "CloudEvents spec version %q is not supported, only \"1.0\"", clip(sv))
	}
	dct, err := stringMember(env.DataContentType, "datacontenttype", `CloudEvents attribute "datacontenttype" `)
	if err != nil {
		return Event{}, err
	}
	if dct != "" && !strings.Contains(strings.ToLower(dct), "json") {
		return Event{}, Errorf(ReasonInvalidField, "datacontenttype", "CloudEvents data content type %q is not supported: data must be a JSON object (application/json)", clip(dct))
	}
	if present(env.DataBase64) {
		return Event{}, Errorf(ReasonInvalidField, "data_base64", `binary CloudEvents data is not supported: send the event fields as a JSON object in "data"`)
	}
	var w wireRecord
	if present(env.Data) {
		if env.Data[0] != '{' {
			return Event{}, Errorf(ReasonInvalidField, "data", "CloudEvents data must be a JSON object with the event fields, got %s", jsonKind(env.Data))
		}
		if err := json.Unmarshal(env.Data, &w); err != nil {
			return Event{}, jsonError(err, "in CloudEvents data: ")
		}
	}
	var attrs [4]string
	for i, a := range []struct {
		raw  json.RawMessage
		name string
	}{{env.ID, "id"}, {env.Type, "type"}, {env.Time, "time"}, {env.Subject, "subject"}} {
		s, err := stringMember(a.raw, fieldForAttr(a.name), fmt.Sprintf("CloudEvents attribute %q ", a.name))
		if err != nil {
			return Event{}, err
		}
		attrs[i] = s
	}
	return d.applyCE(&w, attrs, structuredSource)
}

func (d *Decoder) decodeBinary(sv string, value []byte, headers []Header) (Event, *Error) {
	if sv != "1.0" {
		return Event{}, Errorf(ReasonInvalidField, "specversion", "CloudEvents spec version %q (header ce_specversion) is not supported, only \"1.0\"", clip(sv))
	}
	var w wireRecord
	if len(bytes.TrimSpace(value)) > 0 {
		if err := checkObject(value, "CloudEvents data (record value)"); err != nil {
			return Event{}, err
		}
		if err := json.Unmarshal(value, &w); err != nil {
			return Event{}, jsonError(err, "in CloudEvents data: ")
		}
	}
	var attrs [4]string
	for i, a := range []string{"id", "type", "time", "subject"} {
		s, _ := ceHeader(headers, a)
		if !utf8.ValidString(s) {
			return Event{}, Errorf(ReasonInvalidField, fieldForAttr(a), "header ce_%s is not valid UTF-8", a)
		}
		attrs[i] = s
	}
	return d.applyCE(&w, attrs, binarySource)
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
func (d *Decoder) applyCE(w *wireRecord, attrs [4]string, src source) (Event, *Error) {
	c := common{eventID: attrs[0], typ: attrs[1], occurredAt: attrs[2]}
	src.rawType = c.typ
	if i := strings.LastIndexByte(c.typ, '.'); i >= 0 {
		c.typ = c.typ[i+1:]
	}
	if w.CustomerID == "" {
		w.CustomerID = attrs[3]
	}
	return d.validate(w, c, src)
}

// validate checks a wire record whose common fields are filled and builds
// the Event.
func (d *Decoder) validate(w *wireRecord, c common, src source) (Event, *Error) {
	var ev Event

	// type
	if src.rawType == "" && c.typ == "" {
		if src.ce {
			return ev, Errorf(ReasonMissingField, "type", "required: set %s, like \"com.example.purchase\"", src.typ)
		}
		return ev, Errorf(ReasonMissingField, "type", "required: one of %s", typeList())
	}
	t := Type(c.typ)
	if !t.known() {
		if src.ce {
			return ev, Errorf(ReasonUnknownType, "type", "CloudEvents type %q: %q is not a known event type; the part after the last '.' must be one of %s", clip(src.rawType), clip(c.typ), typeList())
		}
		return ev, Errorf(ReasonUnknownType, "type", "%q is not a known event type; expected one of %s", clip(c.typ), typeList())
	}
	ev.Type = t

	// event_id
	if c.eventID == "" {
		if src.ce {
			return ev, Errorf(ReasonMissingField, "event_id", "required: set %s", src.id)
		}
		return ev, Errorf(ReasonMissingField, "event_id", "required: a unique id for this event (string, 1-%d bytes)", MaxIDBytes)
	}
	if err := checkText("event_id", c.eventID, MaxIDBytes); err != nil {
		return ev, err
	}
	ev.ID = c.eventID

	// customer_id
	if w.CustomerID == "" {
		if src.ce {
			return ev, Errorf(ReasonMissingField, "customer_id", "required: set customer_id in the data or %s", src.subject)
		}
		return ev, Errorf(ReasonMissingField, "customer_id", "required: the customer's id (string, 1-%d bytes)", MaxIDBytes)
	}
	if err := checkText("customer_id", w.CustomerID, MaxIDBytes); err != nil {
		return ev, err
	}
	ev.CustomerID = w.CustomerID

	// occurred_at
	if c.occurredAt == "" {
		if src.ce {
			return ev, Errorf(ReasonMissingField, "occurred_at", "required: set %s to an RFC 3339 timestamp", src.time)
		}
		return ev, Errorf(ReasonMissingField, "occurred_at", `required: an RFC 3339 timestamp with offset, like "2025-03-01T12:00:00Z"`)
	}
	at, perr := time.Parse(time.RFC3339, c.occurredAt)
	if perr != nil {
		return ev, Errorf(ReasonInvalidField, "occurred_at", `%q is not an RFC 3339 timestamp with offset, like "2025-03-01T12:00:00Z" or "2025-03-01T13:00:00+01:00"`, clip(c.occurredAt))
	}
	at = at.UTC()
	if at.Before(minOccurredAt) {
		return ev, Errorf(ReasonInvalidField, "occurred_at", "%q is before 1970-01-01T00:00:00Z", clip(c.occurredAt))
	}
	if now := d.now(); at.After(now.Add(d.maxSkew)) {
		return ev, Errorf(ReasonClockSkew, "occurred_at", "%s is %s ahead of the service clock (%s); at most %s is allowed",
			at.Format(time.RFC3339Nano), at.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), d.maxSkew)
	}
	ev.OccurredAt = at

	// campaign: optional on every type
	if w.Campaign != "" {
		if err := checkText("campaign", w.Campaign, MaxCampaignBytes); err != nil {
			return ev, err
		}
		ev.Campaign = w.Campaign
	}
	if w.CSAT != nil && t != TicketResolved {
		return ev, Errorf(ReasonInvalidField, "csat", "only allowed on ticket_resolved, not on %s", t)
	}

	var err *Error
	switch {
	case t == Purchase || t == Refund:
		err = d.money(w, &ev)
	case t.isTicket():
		err = ticket(w, &ev)
	case t.isEmail():
		err = requireID(w.MessageID, "message_id", "the email's message id", t)
		ev.MessageID = w.MessageID
	}
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// ticket validates and fills the ticket_* fields.
func ticket(w *wireRecord, ev *Event) *Error {
	if err := requireID(w.TicketID, "ticket_id", "the support ticket's id", ev.Type); err != nil {
		return err
	}
	ev.TicketID = w.TicketID
	switch w.Priority {
	case "":
		ev.Priority = "normal"
	case "low", "normal", "high", "urgent":
		ev.Priority = w.Priority
	default:
		return Errorf(ReasonInvalidField, "priority", `%q is not a priority; use one of "low", "normal", "high", "urgent" (or omit for "normal")`, clip(w.Priority))
	}
	if w.CSAT != nil {
		if *w.CSAT < 1 || *w.CSAT > 5 {
			return Errorf(ReasonInvalidField, "csat", "must be an integer from 1 to 5 (or omitted), got %d", *w.CSAT)
		}
		ev.CSAT = *w.CSAT
	}
	return nil
}

// money validates and fills the purchase/refund fields.
func (d *Decoder) money(w *wireRecord, ev *Event) *Error {
	if err := requireID(w.OrderID, "order_id", "the id of the order", ev.Type); err != nil {
		return err
	}
	ev.OrderID = w.OrderID
	if ev.Type == Refund {
		ev.RefundID = ev.ID
		if w.RefundID != "" {
			if err := checkText("refund_id", w.RefundID, MaxIDBytes); err != nil {
				return err
			}
			ev.RefundID = w.RefundID
		}
	}

	hasAmount, err := checkMoneyPresence(w.Amount, w.AmountMinor, "amount")
	if err != nil {
		return err
	}
	if !hasAmount {
		return Errorf(ReasonMissingField, "amount", `required on %s: give "amount" as a decimal string like "12.34" or "amount_minor" as integer minor units like 1234`, ev.Type)
	}
	hasMargin, err := checkMoneyPresence(w.Margin, w.MarginMinor, "margin")
	if err != nil {
		return err
	}

	cur := w.Currency
	if cur == "" {
		return Errorf(ReasonMissingField, "currency", `required with an amount: an ISO 4217 code like "USD"`)
	}
	if !isCurrencyCode(cur) {
		return Errorf(ReasonInvalidField, "currency", `%q is not an ISO 4217 code: use three upper-case letters like "USD"`, clip(cur))
	}
	exp, ok := CurrencyExponent(cur)
	if !ok {
		return Errorf(ReasonUnknownCurrency, "currency", "%q is not a known ISO 4217 currency code", cur)
	}
	if _, ok := d.conv[cur]; !ok {
		return Errorf(ReasonUnknownCurrency, "currency", "no exchange rate from %s to the base currency %s is configured", cur, d.base)
	}
	ev.Currency = cur

	amount, err := moneyValue(w.Amount, w.AmountMinor, "amount", cur, exp)
	if err != nil {
		return err
	}
	switch {
	case amount < 0:
		return Errorf(ReasonInvalidField, moneyField("amount", w.AmountMinor), "must not be negative, got %s %s (a refund is its own event type with a positive amount)", FormatMinor(amount, exp), cur)
	case amount == 0 && ev.Type == Refund:
		return Errorf(ReasonInvalidField, moneyField("amount", w.AmountMinor), "a refund amount must be greater than 0")
	}
	var margin int64
	if hasMargin {
		margin, err = moneyValue(w.Margin, w.MarginMinor, "margin", cur, exp)
		if err != nil {
			return err
		}
		if margin < 0 || margin > amount {
			return Errorf(ReasonInvalidField, moneyField("margin", w.MarginMinor), "must be between 0 and the amount (%s %s), got %s %s",
				FormatMinor(amount, exp), cur, FormatMinor(margin, exp), cur)
		}
	}

	// Conversion is monotonic, so 0 <= margin <= amount still holds after it.
	conv, cerr := d.convert(amount, cur)
	if cerr != nil {
		cerr.Field = moneyField("amount", w.AmountMinor)
		return cerr
	}
	if conv == 0 && ev.Type == Refund {
		return Errorf(ReasonInvalidField, moneyField("amount", w.AmountMinor), "%s %s is less than half a minor unit of %s after conversion; too small to record as a refund", FormatMinor(amount, exp), cur, d.base)
	}
	ev.Amount = conv
	if hasMargin {
		m, cerr := d.convert(margin, cur)
		if cerr != nil {
			cerr.Field = moneyField("margin", w.MarginMinor)
			return cerr
		}
		ev.Margin, ev.HasMargin = m, true
	}
	return nil
}

// moneyField names the field a money value came from: "amount" or
// "amount_minor" (resp. margin).
func moneyField(name string, minor *int64) string {
	if minor != nil {
		return name + "_minor"
	}
	return name
}

// checkMoneyPresence reports whether a money value was given as exactly one
// of the decimal string and the integer minor units.
func checkMoneyPresence(dec json.RawMessage, minor *int64, name string) (bool, *Error) {
	hasDec := present(dec) && string(dec) != `""`
	if hasDec && minor != nil {
		return false, Errorf(ReasonInvalidField, name, "give either %s (decimal string) or %s_minor (integer minor units), not both", name, name)
	}
	return hasDec || minor != nil, nil
}

// moneyValue returns a money value in minor units of cur. It is called only
// when the value is present.
func moneyValue(dec json.RawMessage, minor *int64, name, cur string, exp int) (int64, *Error) {
	if minor != nil {
		return *minor, nil
	}
	switch c := dec[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34", not a JSON number (floats lose cents); or give integer minor units in %s_minor`, name)
	case c != '"':
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34", got %s`, jsonKind(dec))
	}
	var s string
	if err := json.Unmarshal(dec, &s); err != nil {
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34"`)
	}
	v, err := ParseDecimalMinor(s, exp)
	if err != nil {
		return 0, Errorf(ReasonInvalidField, name, "%q is not a valid %s amount (%d decimal places): %v", clip(s), cur, exp, err)
	}
	return v, nil
}

// requireID checks a type-specific required id field.
func requireID(v, field, what string, t Type) *Error {
	if v == "" {
		return Errorf(ReasonMissingField, field, "required on %s: %s (string, 1-%d bytes)", t, what, MaxIDBytes)
	}
	return checkText(field, v, MaxIDBytes)
}

// checkText checks that a present string field is at most max bytes of
// valid UTF-8, has no control characters and is not blank.
func checkText(field, v string, max int) *Error {
	if len(v) > max {
		return Errorf(ReasonInvalidField, field, "must be at most %d bytes, got %d", max, len(v))
	}
	if !utf8.ValidString(v) {
		return Errorf(ReasonInvalidField, field, "must be valid UTF-8")
	}
	blank := true
	for i, r := range v {
		if unicode.IsControl(r) {
			return Errorf(ReasonInvalidField, field, "must not contain control characters, found %U at byte %d", r, i)
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return Errorf(ReasonInvalidField, field, "must not be blank")
	}
	return nil
}

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
