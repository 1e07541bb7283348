package event_test

import (
	"errors"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
)

// survey builds a survey record: the common fields plus overrides (nil
// deletes a field).
func survey(overrides map[string]any) []byte {
	m := map[string]any{"type": "survey_responded", "order_id": nil, "amount": nil, "currency": nil,
		"survey_id": "S-1", "kind": "nps", "score": 9}
	for k, v := range overrides {
		m[k] = v
	}
	return []byte(rec(m))
}

func TestDecodeSurvey(t *testing.T) {
	d := testDecoder(t)
	for _, tt := range []struct {
		name       string
		overrides  map[string]any
		kind       string
		score, cln int
	}{
		{"nps 0", map[string]any{"score": 0}, "nps", 0, 0},
		{"nps 10 with comment length", map[string]any{"score": 10, "comment_length": 120}, "nps", 10, 120},
		{"csat 1", map[string]any{"kind": "csat", "score": 1}, "csat", 1, 0},
		{"csat 5", map[string]any{"kind": "csat", "score": 5}, "csat", 5, 0},
		{"ces 7", map[string]any{"kind": "ces", "score": 7, "comment_length": 0}, "ces", 7, 0},
		{"sent", map[string]any{"type": "survey_sent", "score": nil, "kind": "ces"}, "ces", 0, 0},
		{"null comment is no comment", map[string]any{"comment": nil}, "nps", 9, 0},
	} {
		ev, err := d.Decode(survey(tt.overrides), nil)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkEvent(t, ev, testNow)
		if ev.SurveyID != "S-1" || ev.SurveyKind != tt.kind || ev.Score != tt.score || ev.CommentLength != tt.cln {
			t.Errorf("%s: got %+v", tt.name, ev)
		}
	}
}

func TestDecodeSurveyRejects(t *testing.T) {
	d := testDecoder(t)
	for _, tt := range []struct {
		name      string
		overrides map[string]any
		reason    event.Reason
		field     string
	}{
		{"no survey_id", map[string]any{"survey_id": nil}, event.ReasonMissingField, "survey_id"},
		{"blank survey_id", map[string]any{"survey_id": " "}, event.ReasonInvalidField, "survey_id"},
		{"no kind", map[string]any{"kind": nil}, event.ReasonMissingField, "kind"},
		{"unknown kind", map[string]any{"kind": "NPS"}, event.ReasonInvalidField, "kind"},
		{"no score", map[string]any{"score": nil}, event.ReasonMissingField, "score"},
		{"nps 11", map[string]any{"score": 11}, event.ReasonInvalidField, "score"},
		{"nps -1", map[string]any{"score": -1}, event.ReasonInvalidField, "score"},
		{"csat 0", map[string]any{"kind": "csat", "score": 0}, event.ReasonInvalidField, "score"},
		{"csat 6", map[string]any{"kind": "csat", "score": 6}, event.ReasonInvalidField, "score"},
		{"ces 8", map[string]any{"kind": "ces", "score": 8}, event.ReasonInvalidField, "score"},
		{"fractional score", map[string]any{"score": 7.5}, event.ReasonInvalidField, "score"},
		{"score as string", map[string]any{"score": "7"}, event.ReasonInvalidField, "score"},
		{"free text comment", map[string]any{"comment": "the delivery was late"}, event.ReasonInvalidField, "comment"},
		{"comment on a send", map[string]any{"type": "survey_sent", "score": nil, "comment": "x"}, event.ReasonInvalidField, "comment"},
		{"negative comment length", map[string]any{"comment_length": -1}, event.ReasonInvalidField, "comment_length"},
		{"huge comment length", map[string]any{"comment_length": event.MaxCommentLength + 1}, event.ReasonInvalidField, "comment_length"},
		{"score on a send", map[string]any{"type": "survey_sent"}, event.ReasonInvalidField, "score"},
		{"comment length on a send", map[string]any{"type": "survey_sent", "score": nil, "comment_length": 3}, event.ReasonInvalidField, "comment_length"},
	} {
		_, err := d.Decode(survey(tt.overrides), nil)
		var e *event.Error
		if !errors.As(err, &e) || e.Reason != tt.reason || e.Field != tt.field {
			t.Errorf("%s: error %v, want %s on %s", tt.name, err, tt.reason, tt.field)
		}
	}
}

// TestDecodeSurveyCloudEvents checks the CloudEvents mapping of the survey
// types: the last segment of the CloudEvents type names the type, the
// survey fields come from the data.
func TestDecodeSurveyCloudEvents(t *testing.T) {
	d := testDecoder(t)
	structured := []byte(`{"specversion":"1.0","id":"ce-1","type":"com.acme.survey_responded","source":"/surveys","time":"2025-03-01T10:00:00Z","subject":"c-9","data":{"survey_id":"S-7","kind":"csat","score":4}}`)
	ev, err := d.Decode(structured, hdr("content-type", "application/cloudevents+json"))
	if err != nil || ev.Type != event.SurveyResponded || ev.CustomerID != "c-9" || ev.SurveyID != "S-7" || ev.SurveyKind != "csat" || ev.Score != 4 || ev.ID != "ce-1" {
		t.Errorf("structured: %+v, %v", ev, err)
	}
	binary := []byte(`{"survey_id":"S-8","kind":"nps"}`)
	ev, err = d.Decode(binary, hdr("ce_specversion", "1.0", "ce_id", "ce-2", "ce_type", "io.clvstream.survey_sent", "ce_time", "2025-03-01T10:00:00Z", "ce_subject", "c-9"))
	if err != nil || ev.Type != event.SurveySent || ev.SurveyID != "S-8" || ev.SurveyKind != "nps" {
		t.Errorf("binary: %+v, %v", ev, err)
	}
}
