package segment

import "testing"

func TestReferralsFieldInRules(t *testing.T) {
	e, err := Compile(RuleSet{Rules: []RuleSpec{
		{Name: "ambassador", When: "referrals >= 3"},
		{Name: "referrer", When: "referrals >= 1"},
		{Name: "rest", When: "true"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{0: "rest", 1: "referrer", 2: "referrer", 3: "ambassador", 100: "ambassador"} {
		if got, _ := e.Match(Customer{Referrals: n}, ""); got != want {
			t.Errorf("referrals %d: segment %s, want %s", n, got, want)
		}
	}
}
