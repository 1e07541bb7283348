package segment

import (
	"math"
	"strings"
	"testing"
)

func TestSurveyFieldsInRules(t *testing.T) {
	e, err := Compile(RuleSet{Rules: []RuleSpec{
		{Name: "unhappy", When: "detractor or high_effort"},
		{Name: "fans", When: `nps_class == promoter and csat_score >= 4`},
		{Name: "silent", When: "survey_response_rate < 0.25"},
		{Name: "unsurveyed", When: `nps_class == none`},
		{Name: "rest", When: "true"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	for _, tt := range []struct {
		s    SurveyFields
		want string
	}{
		{SurveyFields{NPS: 3, CSAT: nan, CES: nan, NPSClass: "detractor", Detractor: true, ResponseRate: 1}, "unhappy"},
		{SurveyFields{NPS: nan, CSAT: nan, CES: 2, NPSClass: "none", HighEffort: true, ResponseRate: nan}, "unhappy"},
		{SurveyFields{NPS: 10, CSAT: 5, CES: nan, NPSClass: "promoter", ResponseRate: 0.5}, "fans"},
		{SurveyFields{NPS: 10, CSAT: nan, CES: nan, NPSClass: "promoter", ResponseRate: 0.2}, "silent"},
		// NaN compares false: no rate, no score.
		{SurveyFields{NPS: nan, CSAT: nan, CES: nan, NPSClass: "none", ResponseRate: nan}, "unsurveyed"},
		{SurveyFields{NPS: 8, CSAT: nan, CES: 6, NPSClass: "passive", ResponseRate: nan}, "rest"},
	} {
		if got, _ := e.Match(Customer{Surveys: tt.s}, ""); got != tt.want {
			t.Errorf("%+v: segment %s, want %s", tt.s, got, tt.want)
		}
	}
	_, err = Compile(RuleSet{Rules: []RuleSpec{{Name: "x", When: `nps_class == fan`}, {Name: "rest", When: "true"}}})
	if err == nil || !strings.Contains(err.Error(), "nps_class") {
		t.Errorf("an unknown nps_class value must be refused naming the field, got %v", err)
	}
}
