package segment

// SurveyFields are the survey figures rules can test (see
// docs/segments.md). A score is NaN when the customer never answered a
// survey of that kind, so every comparison with it is false ("nps_score <
// 7" does not match a customer without an NPS); test nps_class == "none"
// for those.
type SurveyFields struct {
	// NPS, CSAT and CES are the latest scores (NPS 0..10, CSAT 1..5, CES
	// 1..7 on the CES 2.0 agreement scale, low = high effort).
	NPS, CSAT, CES float64
	// NPSClass is promoter, passive, detractor or none.
	NPSClass string
	// Detractor is NPSClass == detractor; HighEffort is a latest CES of
	// 1..3.
	Detractor, HighEffort bool
	// ResponseRate is the share of sent surveys answered (NaN when none
	// was sent).
	ResponseRate float64
}

// surveyFieldList are the rule fields of SurveyFields, appended to
// fieldList at init.
var surveyFieldList = []*fieldDef{
	{name: "nps_score", kind: numField, num: func(c *Customer) float64 { return c.Surveys.NPS }},
	{name: "csat_score", kind: numField, num: func(c *Customer) float64 { return c.Surveys.CSAT }},
	{name: "ces_score", kind: numField, num: func(c *Customer) float64 { return c.Surveys.CES }},
	{name: "nps_class", kind: strField, str: func(c *Customer) string { return c.Surveys.NPSClass },
		values: []string{"promoter", "passive", "detractor", "none"}},
	{name: "detractor", kind: boolField, boolean: func(c *Customer) bool { return c.Surveys.Detractor }},
	{name: "high_effort", kind: boolField, boolean: func(c *Customer) bool { return c.Surveys.HighEffort }},
	{name: "survey_response_rate", kind: numField, num: func(c *Customer) float64 { return c.Surveys.ResponseRate }},
}

func init() { registerFields(surveyFieldList) }

// registerFields appends field definitions kept in their own files (one per
// group of state) to fieldList and fields.
func registerFields(defs []*fieldDef) {
	for _, d := range defs {
		fieldList = append(fieldList, d)
		fields[d.name] = d
	}
}
