// Package segment assigns customers to segments and loyalty tiers.
//
// A segment is decided by an ordered list of rules over the scored figures
// of a customer (Input): the first rule that matches names the segment, and
// its Reason (the rule and the values that decided it) travels with the
// segment-change event so downstream automation can explain itself. The
// default list (DefaultRules) is
//
//	prospect            no purchase yet (only email or support activity)
//	lapsed              churn risk >= LapsedRisk
//	at-risk-high-value  churn risk >= AtRiskRisk and net revenue >= HighValue
//	at-risk             churn risk >= AtRiskRisk
//	high-value          net revenue >= HighValue
//	loyal               >= LoyalDays purchase days and tenure >= LoyalTenureDays
//	new                 one purchase day, tenure < NewDays
//	active              everyone else
//
// Loyalty tiers are bands of trailing-12-month spend (Tiers). Both are pure
// functions; the due times at which they can change are computed by the
// scorer that calls them.
package segment
