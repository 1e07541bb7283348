package event

// Survey events: a survey sent to a customer and the customer's response.
// A response carries a score on the scale of its kind and, optionally, the
// length of a free-text comment; the text itself is never accepted (a
// "comment" member is refused, see survey below), so no free text reaches
// the state, the logs or the metrics.

// The survey event types.
const (
	// SurveySent is a survey (survey_id, kind) sent to the customer; the
	// denominator of the survey response rate.
	SurveySent Type = "survey_sent"
	// SurveyResponded is the customer's answer to a survey: survey_id,
	// kind and score, optionally comment_length. A later response to the
	// same survey replaces the earlier one.
	SurveyResponded Type = "survey_responded"
)

// The survey kinds (the kind field).
const (
	// SurveyNPS is a Net Promoter Score survey: "how likely are you to
	// recommend us", 0 (not at all) to 10 (extremely). 9-10 promoter, 7-8
	// passive, 0-6 detractor.
	SurveyNPS = "nps"
	// SurveyCSAT is a customer-satisfaction survey, 1 (very unsatisfied)
	// to 5 (very satisfied).
	SurveyCSAT = "csat"
	// SurveyCES is a Customer Effort Score survey on the 7-point agreement
	// scale of CES 2.0: "the company made it easy for me to handle my
	// issue", 1 (strongly disagree: high effort) to 7 (strongly agree: low
	// effort). A higher score is better, like the other two kinds.
	SurveyCES = "ces"
)

// MaxCommentLength is the largest accepted comment_length (characters): a
// million characters is far above any survey comment box, so a larger value
// is a producer bug (a byte count of something else, a timestamp).
const MaxCommentLength = 1_000_000

// ScoreRange returns the inclusive score range of a survey kind, false for
// an unknown kind.
func ScoreRange(kind string) (lo, hi int, ok bool) {
	switch kind {
	case SurveyNPS:
		return 0, 10, true
	case SurveyCSAT:
		return 1, 5, true
	case SurveyCES:
		return 1, 7, true
	}
	return 0, 0, false
}

// What the JSON type errors of score and comment_length say is expected.
const (
	scoreWant         = "an integer on the survey kind's scale (nps 0-10, csat 1-5, ces 1-7)"
	commentLengthWant = "a non-negative integer (the comment's length in characters)"
)

// isSurvey reports whether t is one of the survey_* types.
func (t Type) isSurvey() bool { return t == SurveySent || t == SurveyResponded }

// surveyKind returns the canonical kind string for b, "" when b is not a
// kind.
func surveyKind(b []byte) string {
	switch string(b) {
	case SurveyNPS:
		return SurveyNPS
	case SurveyCSAT:
		return SurveyCSAT
	case SurveyCES:
		return SurveyCES
	}
	return ""
}

// survey validates and fills the survey_* fields, in this order:
// survey_id, kind, comment, score, comment_length.
func survey(w *wire, ev *Event, ss *strs) *Error {
	id := w.v[mSurveyID].b
	if err := requireID(id, "survey_id", "the survey's id", ev.Type); err != nil {
		return err
	}
	ss.survey = id
	k := w.v[mKind].b
	if len(k) == 0 {
		return Errorf(ReasonMissingField, "kind", `required on %s: the survey kind, one of "nps", "csat", "ces"`, ev.Type)
	}
	kind := surveyKind(k)
	if kind == "" {
		return Errorf(ReasonInvalidField, "kind", `%q is not a survey kind; use one of "nps" (0-10), "csat" (1-5), "ces" (1-7)`, clip(string(k)))
	}
	ev.SurveyKind = kind
	if w.v[mComment].given() {
		return Errorf(ReasonInvalidField, "comment", "free text is never accepted: send the comment's length in comment_length and keep the text in your own system")
	}
	score, clen := w.v[mScore], w.v[mCommentLength]
	if ev.Type == SurveySent {
		if score.given() {
			return Errorf(ReasonInvalidField, "score", "only allowed on survey_responded, not on survey_sent")
		}
		if clen.given() {
			return Errorf(ReasonInvalidField, "comment_length", "only allowed on survey_responded, not on survey_sent")
		}
		return nil
	}
	lo, hi, _ := ScoreRange(kind)
	if !score.given() {
		return Errorf(ReasonMissingField, "score", "required on survey_responded: an integer from %d to %d for kind %q", lo, hi, kind)
	}
	n, _ := parseInt(score.b) // the kind was checked by the scanner
	if n < int64(lo) || n > int64(hi) {
		return Errorf(ReasonInvalidField, "score", "must be an integer from %d to %d for kind %q, got %d", lo, hi, kind, n)
	}
	ev.Score = int(n)
	if clen.given() {
		c, _ := parseInt(clen.b)
		if c < 0 || c > MaxCommentLength {
			return Errorf(ReasonInvalidField, "comment_length", "must be an integer from 0 to %d (characters), got %d", MaxCommentLength, c)
		}
		ev.CommentLength = int(c)
	}
	return nil
}
