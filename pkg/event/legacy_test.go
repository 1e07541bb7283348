package event

// This file keeps the reflection-based decoder that the hand-written one in
// decode.go replaced, unchanged but for names, as a test oracle: the
// differential fuzz targets check that both agree on every input the old
// one handled unambiguously, and BenchmarkDecode measures both side by
// side. It is test code only.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

func (d *Decoder) legacyConvert(minor int64, cur string) (int64, *Error) {
	c, ok := d.conv[cur]
	if !ok {
		if _, known := CurrencyExponent(cur); !known {
			return 0, Errorf(ReasonUnknownCurrency, "currency", "%q is not a known ISO 4217 currency code", legacyClip(cur))
		}
		return 0, Errorf(ReasonUnknownCurrency, "currency", "no exchange rate from %s to the base currency %s is configured", cur, d.base)
	}
	if c.identity {
		return minor, nil
	}
	v, ok := legacyMulRatHalfEven(minor, c.bigNum, c.bigDen)
	if !ok {
		return 0, Errorf(ReasonInvalidField, "", "%d %s minor units overflow 64-bit %s minor units when converted", minor, cur, d.base)
	}
	return v, nil
}

// legacyWireRecord is the decoding target for a plain record or CloudEvents data.
// event_id, type and occurred_at stay raw because CloudEvents data may carry
// anything under those names (the attributes win); Amount and Margin stay
// raw so a JSON number can be told apart from a string; CSAT is a pointer so
// an explicit 0 can be told apart from absence.
type legacyWireRecord struct {
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

	SurveyID      string          `json:"survey_id"`
	Kind          string          `json:"kind"`
	Score         *int            `json:"score"`
	CommentLength *int            `json:"comment_length"`
	Comment       json.RawMessage `json:"comment"`
	Channel       string          `json:"channel"`
}

// legacyEnvelope is the decoding target for a whole record value: a plain record
// plus the CloudEvents structured-mode attributes ("type" is shared with the
// record). The attributes are raw so that a plain record with unrelated
// fields of those names never fails.
type legacyEnvelope struct {
	legacyWireRecord
	SpecVersion     json.RawMessage `json:"specversion"`
	ID              json.RawMessage `json:"id"`
	Time            json.RawMessage `json:"time"`
	Subject         json.RawMessage `json:"subject"`
	Data            json.RawMessage `json:"data"`
	DataBase64      json.RawMessage `json:"data_base64"`
	DataContentType json.RawMessage `json:"datacontenttype"`
}

// legacySource says where the legacyCommon fields came from, for error messages.
type legacySource struct {
	ce                     bool
	id, typ, time, subject string // how the CloudEvents attributes are named
	rawType                string // the full CloudEvents type
}

var (
	legacyStructuredSource = legacySource{ce: true, id: `CloudEvents attribute "id"`, typ: `CloudEvents attribute "type"`, time: `CloudEvents attribute "time"`, subject: `CloudEvents attribute "subject"`}
	legacyBinarySource     = legacySource{ce: true, id: "header ce_id", typ: "header ce_type", time: "header ce_time", subject: "header ce_subject"}
)

func (d *Decoder) legacyDecode(value []byte, headers []Header) (Event, *Error) {
	if len(value) > d.maxBytes {
		return Event{}, Errorf(ReasonOversize, "", "record value is %d bytes, at most %d allowed", len(value), d.maxBytes)
	}
	if ct, ok := legacyHeader(headers, "content-type"); ok && legacyIsStructuredContentType(ct) {
		env, err := legacyParseEnvelope(value)
		if env == nil {
			return Event{}, err
		}
		// Top-level record fields are irrelevant in structured mode, so a
		// type error in one of them (err) is ignored.
		return d.legacyDecodeStructured(env)
	}
	if sv, ok := legacyCeHeader(headers, "specversion"); ok {
		return d.legacyDecodeBinary(sv, value, headers)
	}
	env, err := legacyParseEnvelope(value)
	if env == nil {
		return Event{}, err
	}
	if legacyPresent(env.SpecVersion) {
		return d.legacyDecodeStructured(env)
	}
	if err != nil {
		return Event{}, err
	}
	var c legacyCommon
	for _, f := range []struct {
		raw  json.RawMessage
		name string
		dst  *string
	}{{env.EventID, "event_id", &c.eventID}, {env.Type, "type", &c.typ}, {env.OccurredAt, "occurred_at", &c.occurredAt}} {
		if *f.dst, err = legacyStringMember(f.raw, f.name, ""); err != nil {
			return Event{}, err
		}
	}
	return d.legacyValidate(&env.legacyWireRecord, c, legacySource{})
}

// legacyCommon holds the fields every event has, besides customer_id.
type legacyCommon struct {
	eventID, typ, occurredAt string
}

// parseEnvelope decodes value into an legacyEnvelope. A nil legacyEnvelope means value
// is not a JSON object; a non-nil legacyEnvelope with an error means a field had
// the wrong JSON type (the other fields are decoded).
func legacyParseEnvelope(value []byte) (*legacyEnvelope, *Error) {
	if err := legacyCheckObject(value, "record value"); err != nil {
		return nil, err
	}
	env := new(legacyEnvelope)
	if err := json.Unmarshal(value, env); err != nil {
		e := legacyJsonError(err, "")
		if e.Reason == ReasonMalformed {
			return nil, e
		}
		return env, e
	}
	return env, nil
}

// checkObject rejects values that are not valid UTF-8 or do not start with
// '{'.
func legacyCheckObject(value []byte, what string) *Error {
	if !utf8.Valid(value) {
		return Errorf(ReasonMalformed, "", "%s is not valid UTF-8", what)
	}
	t := bytes.TrimLeft(value, " \t\r\n")
	if len(t) == 0 {
		return Errorf(ReasonMalformed, "", "%s is empty, expected a JSON object", what)
	}
	if t[0] != '{' {
		return Errorf(ReasonMalformed, "", "%s must be a JSON object, got %s", what, legacyJsonKind(t))
	}
	return nil
}

// jsonKind names the JSON kind of a value by its first byte.
func legacyJsonKind(t []byte) string {
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
func legacyJsonError(err error, prefix string) *Error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		if field == "" {
			return Errorf(ReasonMalformed, "", "%sexpected a JSON object, got JSON %s", prefix, ute.Value)
		}
		return Errorf(ReasonInvalidField, field, "%smust be %s, got JSON %s", prefix, legacyExpectedKind(field, ute.Type), ute.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return Errorf(ReasonMalformed, "", "%sinvalid JSON at byte %d: %s", prefix, se.Offset, se.Error())
	}
	return Errorf(ReasonMalformed, "", "%sinvalid JSON: %s", prefix, err.Error())
}

// expectedKind describes the JSON type a field needs, for error messages.
func legacyExpectedKind(field string, t reflect.Type) string {
	switch field {
	case "amount_minor", "margin_minor":
		return "an integer number of minor units (like 1234 for 12.34 USD) that fits in 64 bits"
	case "csat":
		return "an integer from 1 to 5"
	case "score":
		return scoreWant
	case "comment_length":
		return commentLengthWant
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
func legacyHeader(headers []Header, name string) (string, bool) {
	for _, h := range headers {
		if strings.EqualFold(h.Key, name) {
			return string(h.Value), true
		}
	}
	return "", false
}

// ceHeader returns the CloudEvents binary-mode attribute attr from a ce_attr
// (Kafka binding) or ce-attr header.
func legacyCeHeader(headers []Header, attr string) (string, bool) {
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
func legacyIsStructuredContentType(ct string) bool {
	const p = "application/cloudevents+json"
	ct = strings.TrimSpace(ct)
	return len(ct) >= len(p) && strings.EqualFold(ct[:len(p)], p)
}

// present reports whether a raw JSON member was given and is not null.
func legacyPresent(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// stringMember reads a string-valued JSON member kept raw. An absent or null
// member gives "". field is the Record field reported in errors and what
// prefixes the message.
func legacyStringMember(raw json.RawMessage, field, what string) (string, *Error) {
	if !legacyPresent(raw) {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", Errorf(ReasonInvalidField, field, "%smust be a string, got %s", what, legacyJsonKind(raw))
	}
	return s, nil
}

func (d *Decoder) legacyDecodeStructured(env *legacyEnvelope) (Event, *Error) {
	sv, err := legacyStringMember(env.SpecVersion, "specversion", `CloudEvents attribute "specversion" `)
	if err != nil {
		return Event{}, err
	}
	if sv == "" {
		return Event{}, Errorf(ReasonMissingField, "specversion", `required in CloudEvents structured mode: set "specversion": "1.0"`)
	}
	if sv != "1.0" {
		return Event{}, Errorf(ReasonInvalidField, "specversion", "CloudEvents spec version %q is not supported, only \"1.0\"", legacyClip(sv))
	}
	dct, err := legacyStringMember(env.DataContentType, "datacontenttype", `CloudEvents attribute "datacontenttype" `)
	if err != nil {
		return Event{}, err
	}
	if dct != "" && !strings.Contains(strings.ToLower(dct), "json") {
		return Event{}, Errorf(ReasonInvalidField, "datacontenttype", "CloudEvents data content type %q is not supported: data must be a JSON object (application/json)", legacyClip(dct))
	}
	if legacyPresent(env.DataBase64) {
		return Event{}, Errorf(ReasonInvalidField, "data_base64", `binary CloudEvents data is not supported: send the event fields as a JSON object in "data"`)
	}
	var w legacyWireRecord
	if legacyPresent(env.Data) {
		if env.Data[0] != '{' {
			return Event{}, Errorf(ReasonInvalidField, "data", "CloudEvents data must be a JSON object with the event fields, got %s", legacyJsonKind(env.Data))
		}
		if err := json.Unmarshal(env.Data, &w); err != nil {
			return Event{}, legacyJsonError(err, "in CloudEvents data: ")
		}
	}
	var attrs [4]string
	for i, a := range []struct {
		raw  json.RawMessage
		name string
	}{{env.ID, "id"}, {env.Type, "type"}, {env.Time, "time"}, {env.Subject, "subject"}} {
		s, err := legacyStringMember(a.raw, legacyFieldForAttr(a.name), fmt.Sprintf("CloudEvents attribute %q ", a.name))
		if err != nil {
			return Event{}, err
		}
		attrs[i] = s
	}
	return d.legacyApplyCE(&w, attrs, legacyStructuredSource)
}

func (d *Decoder) legacyDecodeBinary(sv string, value []byte, headers []Header) (Event, *Error) {
	if sv != "1.0" {
		return Event{}, Errorf(ReasonInvalidField, "specversion", "CloudEvents spec version %q (header ce_specversion) is not supported, only \"1.0\"", legacyClip(sv))
	}
	var w legacyWireRecord
	if len(bytes.TrimSpace(value)) > 0 {
		if err := legacyCheckObject(value, "CloudEvents data (record value)"); err != nil {
			return Event{}, err
		}
		if err := json.Unmarshal(value, &w); err != nil {
			return Event{}, legacyJsonError(err, "in CloudEvents data: ")
		}
	}
	var attrs [4]string
	for i, a := range []string{"id", "type", "time", "subject"} {
		s, _ := legacyCeHeader(headers, a)
		if !utf8.ValidString(s) {
			return Event{}, Errorf(ReasonInvalidField, legacyFieldForAttr(a), "header ce_%s is not valid UTF-8", a)
		}
		attrs[i] = s
	}
	return d.legacyApplyCE(&w, attrs, legacyBinarySource)
}

// fieldForAttr maps a CloudEvents attribute to the Record field it fills.
func legacyFieldForAttr(attr string) string {
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

// applyCE takes the legacyCommon fields from the CloudEvents attributes id, type,
// time and subject (event_id, type and occurred_at in the data are ignored;
// subject fills customer_id only when the data has none) and validates.
func (d *Decoder) legacyApplyCE(w *legacyWireRecord, attrs [4]string, src legacySource) (Event, *Error) {
	c := legacyCommon{eventID: attrs[0], typ: attrs[1], occurredAt: attrs[2]}
	src.rawType = c.typ
	if i := strings.LastIndexByte(c.typ, '.'); i >= 0 {
		c.typ = c.typ[i+1:]
	}
	if w.CustomerID == "" {
		w.CustomerID = attrs[3]
	}
	return d.legacyValidate(w, c, src)
}

// validate checks a wire record whose legacyCommon fields are filled and builds
// the Event.
func (d *Decoder) legacyValidate(w *legacyWireRecord, c legacyCommon, src legacySource) (Event, *Error) {
	var ev Event

	// type
	if src.rawType == "" && c.typ == "" {
		if src.ce {
			return ev, Errorf(ReasonMissingField, "type", "required: set %s, like \"com.example.purchase\"", src.typ)
		}
		return ev, Errorf(ReasonMissingField, "type", "required: one of %s", legacyTypeList())
	}
	t := Type(c.typ)
	if !t.known() {
		if src.ce {
			return ev, Errorf(ReasonUnknownType, "type", "CloudEvents type %q: %q is not a known event type; the part after the last '.' must be one of %s", legacyClip(src.rawType), legacyClip(c.typ), legacyTypeList())
		}
		return ev, Errorf(ReasonUnknownType, "type", "%q is not a known event type; expected one of %s", legacyClip(c.typ), legacyTypeList())
	}
	ev.Type = t

	// event_id
	if c.eventID == "" {
		if src.ce {
			return ev, Errorf(ReasonMissingField, "event_id", "required: set %s", src.id)
		}
		return ev, Errorf(ReasonMissingField, "event_id", "required: a unique id for this event (string, 1-%d bytes)", MaxIDBytes)
	}
	if err := legacyCheckText("event_id", c.eventID, MaxIDBytes); err != nil {
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
	if err := legacyCheckText("customer_id", w.CustomerID, MaxIDBytes); err != nil {
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
		return ev, Errorf(ReasonInvalidField, "occurred_at", `%q is not an RFC 3339 timestamp with offset, like "2025-03-01T12:00:00Z" or "2025-03-01T13:00:00+01:00"`, legacyClip(c.occurredAt))
	}
	at = at.UTC()
	if at.Before(minOccurredAt) {
		return ev, Errorf(ReasonInvalidField, "occurred_at", "%q is before 1970-01-01T00:00:00Z", legacyClip(c.occurredAt))
	}
	if now := d.now(); at.After(now.Add(d.maxSkew)) {
		return ev, Errorf(ReasonClockSkew, "occurred_at", "%s is %s ahead of the service clock (%s); at most %s is allowed",
			at.Format(time.RFC3339Nano), at.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), d.maxSkew)
	}
	ev.OccurredAt = at

	// campaign: optional on every type
	if w.Campaign != "" {
		if err := legacyCheckText("campaign", w.Campaign, MaxCampaignBytes); err != nil {
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
		err = d.legacyMoney(w, &ev)
	case t.isTicket():
		err = legacyTicket(w, &ev)
	case t.isEmail():
		err = legacyRequireID(w.MessageID, "message_id", "the email's message id", t)
		ev.MessageID = w.MessageID
	case t == SurveySent || t == SurveyResponded:
		err = legacySurvey(w, &ev)
	case strings.HasPrefix(string(t), "message_"):
		err = legacyMessage(w, &ev)
	}
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// legacyMessage validates and fills the message_* fields.
func legacyMessage(w *legacyWireRecord, ev *Event) *Error {
	if w.Channel == "" {
		return Errorf(ReasonMissingField, "channel", `required on %s: one of "email", "sms", "push"`, ev.Type)
	}
	switch w.Channel {
	case ChannelEmail, ChannelSMS, ChannelPush:
	default:
		return Errorf(ReasonInvalidField, "channel", `%q is not a channel; use one of "email", "sms", "push"`, legacyClip(w.Channel))
	}
	if (ev.Type == MessageOpened && w.Channel == ChannelSMS) || (ev.Type == MessageClicked && w.Channel == ChannelPush) {
		other := map[string]string{ChannelSMS: "clicked", ChannelPush: "opened"}[w.Channel]
		return Errorf(ReasonInvalidField, "channel", "%s messages have no %s; the %s channel has sent, delivered, %s and opted_out/opted_in", w.Channel, ev.Type, w.Channel, other)
	}
	ev.Channel = w.Channel
	if ev.Type == MessageOptedOut || ev.Type == MessageOptedIn {
		if w.MessageID != "" {
			if err := legacyCheckText("message_id", w.MessageID, MaxIDBytes); err != nil {
				return err
			}
			ev.MessageID = w.MessageID
		}
		return nil
	}
	ev.MessageID = w.MessageID
	return legacyRequireID(w.MessageID, "message_id", "the message's id", ev.Type)
}

// legacySurvey validates and fills the survey_* fields.
func legacySurvey(w *legacyWireRecord, ev *Event) *Error {
	if err := legacyRequireID(w.SurveyID, "survey_id", "the survey's id", ev.Type); err != nil {
		return err
	}
	ev.SurveyID = w.SurveyID
	if w.Kind == "" {
		return Errorf(ReasonMissingField, "kind", `required on %s: the survey kind, one of "nps", "csat", "ces"`, ev.Type)
	}
	lo, hi, ok := ScoreRange(w.Kind)
	if !ok {
		return Errorf(ReasonInvalidField, "kind", `%q is not a survey kind; use one of "nps" (0-10), "csat" (1-5), "ces" (1-7)`, legacyClip(w.Kind))
	}
	ev.SurveyKind = w.Kind
	if legacyPresent(w.Comment) {
		return Errorf(ReasonInvalidField, "comment", "free text is never accepted: send the comment's length in comment_length and keep the text in your own system")
	}
	if ev.Type == SurveySent {
		if w.Score != nil {
			return Errorf(ReasonInvalidField, "score", "only allowed on survey_responded, not on survey_sent")
		}
		if w.CommentLength != nil {
			return Errorf(ReasonInvalidField, "comment_length", "only allowed on survey_responded, not on survey_sent")
		}
		return nil
	}
	if w.Score == nil {
		return Errorf(ReasonMissingField, "score", "required on survey_responded: an integer from %d to %d for kind %q", lo, hi, w.Kind)
	}
	if *w.Score < lo || *w.Score > hi {
		return Errorf(ReasonInvalidField, "score", "must be an integer from %d to %d for kind %q, got %d", lo, hi, w.Kind, *w.Score)
	}
	ev.Score = *w.Score
	if w.CommentLength != nil {
		if *w.CommentLength < 0 || *w.CommentLength > MaxCommentLength {
			return Errorf(ReasonInvalidField, "comment_length", "must be an integer from 0 to %d (characters), got %d", MaxCommentLength, *w.CommentLength)
		}
		ev.CommentLength = *w.CommentLength
	}
	return nil
}

// ticket validates and fills the ticket_* fields.
func legacyTicket(w *legacyWireRecord, ev *Event) *Error {
	if err := legacyRequireID(w.TicketID, "ticket_id", "the support ticket's id", ev.Type); err != nil {
		return err
	}
	ev.TicketID = w.TicketID
	switch w.Priority {
	case "":
		ev.Priority = "normal"
	case "low", "normal", "high", "urgent":
		ev.Priority = w.Priority
	default:
		return Errorf(ReasonInvalidField, "priority", `%q is not a priority; use one of "low", "normal", "high", "urgent" (or omit for "normal")`, legacyClip(w.Priority))
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
func (d *Decoder) legacyMoney(w *legacyWireRecord, ev *Event) *Error {
	if err := legacyRequireID(w.OrderID, "order_id", "the id of the order", ev.Type); err != nil {
		return err
	}
	ev.OrderID = w.OrderID
	if ev.Type == Refund {
		ev.RefundID = ev.ID
		if w.RefundID != "" {
			if err := legacyCheckText("refund_id", w.RefundID, MaxIDBytes); err != nil {
				return err
			}
			ev.RefundID = w.RefundID
		}
	}

	hasAmount, err := legacyCheckMoneyPresence(w.Amount, w.AmountMinor, "amount")
	if err != nil {
		return err
	}
	if !hasAmount {
		return Errorf(ReasonMissingField, "amount", `required on %s: give "amount" as a decimal string like "12.34" or "amount_minor" as integer minor units like 1234`, ev.Type)
	}
	hasMargin, err := legacyCheckMoneyPresence(w.Margin, w.MarginMinor, "margin")
	if err != nil {
		return err
	}

	cur := w.Currency
	if cur == "" {
		return Errorf(ReasonMissingField, "currency", `required with an amount: an ISO 4217 code like "USD"`)
	}
	if !isCurrencyCode(cur) {
		return Errorf(ReasonInvalidField, "currency", `%q is not an ISO 4217 code: use three upper-case letters like "USD"`, legacyClip(cur))
	}
	exp, ok := CurrencyExponent(cur)
	if !ok {
		return Errorf(ReasonUnknownCurrency, "currency", "%q is not a known ISO 4217 currency code", cur)
	}
	if _, ok := d.conv[cur]; !ok {
		return Errorf(ReasonUnknownCurrency, "currency", "no exchange rate from %s to the base currency %s is configured", cur, d.base)
	}
	ev.Currency = cur

	amount, err := legacyMoneyValue(w.Amount, w.AmountMinor, "amount", cur, exp)
	if err != nil {
		return err
	}
	switch {
	case amount < 0:
		return Errorf(ReasonInvalidField, legacyMoneyField("amount", w.AmountMinor), "must not be negative, got %s %s (a refund is its own event type with a positive amount)", FormatMinor(amount, exp), cur)
	case amount == 0 && ev.Type == Refund:
		return Errorf(ReasonInvalidField, legacyMoneyField("amount", w.AmountMinor), "a refund amount must be greater than 0")
	}
	var margin int64
	if hasMargin {
		margin, err = legacyMoneyValue(w.Margin, w.MarginMinor, "margin", cur, exp)
		if err != nil {
			return err
		}
		if margin < 0 || margin > amount {
			return Errorf(ReasonInvalidField, legacyMoneyField("margin", w.MarginMinor), "must be between 0 and the amount (%s %s), got %s %s",
				FormatMinor(amount, exp), cur, FormatMinor(margin, exp), cur)
		}
	}

	// Conversion is monotonic, so 0 <= margin <= amount still holds after it.
	conv, cerr := d.legacyConvert(amount, cur)
	if cerr != nil {
		cerr.Field = legacyMoneyField("amount", w.AmountMinor)
		return cerr
	}
	if conv == 0 && ev.Type == Refund {
		return Errorf(ReasonInvalidField, legacyMoneyField("amount", w.AmountMinor), "%s %s is less than half a minor unit of %s after conversion; too small to record as a refund", FormatMinor(amount, exp), cur, d.base)
	}
	ev.Amount = conv
	if hasMargin {
		m, cerr := d.legacyConvert(margin, cur)
		if cerr != nil {
			cerr.Field = legacyMoneyField("margin", w.MarginMinor)
			return cerr
		}
		ev.Margin, ev.HasMargin = m, true
	}
	return nil
}

// moneyField names the field a money value came from: "amount" or
// "amount_minor" (resp. margin).
func legacyMoneyField(name string, minor *int64) string {
	if minor != nil {
		return name + "_minor"
	}
	return name
}

// checkMoneyPresence reports whether a money value was given as exactly one
// of the decimal string and the integer minor units.
func legacyCheckMoneyPresence(dec json.RawMessage, minor *int64, name string) (bool, *Error) {
	hasDec := legacyPresent(dec) && string(dec) != `""`
	if hasDec && minor != nil {
		return false, Errorf(ReasonInvalidField, name, "give either %s (decimal string) or %s_minor (integer minor units), not both", name, name)
	}
	return hasDec || minor != nil, nil
}

// moneyValue returns a money value in minor units of cur. It is called only
// when the value is present.
func legacyMoneyValue(dec json.RawMessage, minor *int64, name, cur string, exp int) (int64, *Error) {
	if minor != nil {
		return *minor, nil
	}
	switch c := dec[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34", not a JSON number (floats lose cents); or give integer minor units in %s_minor`, name)
	case c != '"':
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34", got %s`, legacyJsonKind(dec))
	}
	var s string
	if err := json.Unmarshal(dec, &s); err != nil {
		return 0, Errorf(ReasonInvalidField, name, `must be a decimal string like "12.34"`)
	}
	v, err := legacyParseDecimalMinor(s, exp)
	if err != nil {
		return 0, Errorf(ReasonInvalidField, name, "%q is not a valid %s amount (%d decimal places): %v", legacyClip(s), cur, exp, err)
	}
	return v, nil
}

// requireID checks a type-specific required id field.
func legacyRequireID(v, field, what string, t Type) *Error {
	if v == "" {
		return Errorf(ReasonMissingField, field, "required on %s: %s (string, 1-%d bytes)", t, what, MaxIDBytes)
	}
	return legacyCheckText(field, v, MaxIDBytes)
}

// checkText checks that a present string field is at most max bytes of
// valid UTF-8, has no control characters and is not blank.
func legacyCheckText(field, v string, max int) *Error {
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
func legacyClip(s string) string {
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
func legacyTypeList() string {
	var b strings.Builder
	for i, t := range Types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}

// splitDecimal checks s against the grammar -?[0-9]+(\.[0-9]+)? and returns
// its sign, integer digits and fraction digits.
func legacySplitDecimal(s string) (neg bool, intPart, frac string, ok bool) {
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !legacyAllDigits(intPart) {
		return false, "", "", false
	}
	if hasDot && (frac == "" || !legacyAllDigits(frac)) {
		return false, "", "", false
	}
	return neg, intPart, frac, true
}

func legacyAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// legacyErrDecimalSyntax is returned by ParseDecimalMinor for strings that are not
// plain decimal numbers.
var legacyErrDecimalSyntax = errors.New(`not a decimal number: use digits with an optional leading '-' and '.', like "12.34"`)

// legacyErrDecimalRange is returned by ParseDecimalMinor when the value does not
// fit in an int64 of minor units.
var legacyErrDecimalRange = errors.New("out of range: does not fit in 64-bit minor units")

// ParseDecimalMinor parses a decimal string in major units, such as "12.34",
// into minor units for a currency with exponent exp ("12.34", 2 -> 1234;
// "12", 2 -> 1200; "7", 0 -> 7). The accepted grammar is
// -?[0-9]+(\.[0-9]+)?: no leading '+', no spaces, no exponent notation, no
// NaN or infinities, no thousands separators. More fraction digits than exp
// allows are rejected, even when they are zeros, so no value is ever
// silently rounded. Values that do not fit in an int64 are rejected.
func legacyParseDecimalMinor(s string, exp int) (int64, error) {
	if exp < 0 || exp > maxExponent {
		return 0, fmt.Errorf("exponent %d out of range 0..%d", exp, maxExponent)
	}
	neg, intPart, frac, ok := legacySplitDecimal(s)
	if !ok {
		return 0, legacyErrDecimalSyntax
	}
	if len(frac) > exp {
		if exp == 0 {
			return 0, errors.New("has a fraction but the currency has no minor unit: use a whole number")
		}
		return 0, fmt.Errorf("has %d fraction digits, at most %d allowed", len(frac), exp)
	}
	// Accumulate the magnitude in uint64 so math.MinInt64 is representable.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var v uint64
	digits := intPart + frac + strings.Repeat("0", exp-len(frac))
	for i := 0; i < len(digits); i++ {
		d := uint64(digits[i] - '0')
		if v > (limit-d)/10 {
			return 0, legacyErrDecimalRange
		}
		v = v*10 + d
	}
	if neg {
		return int64(-v), nil // -v wraps correctly for 1<<63
	}
	return int64(v), nil
}

// mulRatHalfEven returns round_half_even(v * num / den) and whether it fits
// in an int64. den must be positive.
func legacyMulRatHalfEven(v int64, num, den *big.Int) (int64, bool) {
	n := new(big.Int).SetInt64(v)
	n.Mul(n, num)
	q, r := new(big.Int).QuoRem(n, den, new(big.Int))
	if r.Sign() != 0 {
		// Compare 2|r| with den; the quotient is truncated toward zero, so a
		// round-up moves it away from zero in the direction of n's sign.
		r2 := r.Abs(r)
		r2.Lsh(r2, 1)
		c := r2.Cmp(den)
		if c > 0 || (c == 0 && q.Bit(0) == 1) {
			if n.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}
