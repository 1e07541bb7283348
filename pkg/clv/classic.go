package clv

// Classic returns the classic lifetime value: aov × perYear × lifespanYears
// × margin. aov is the average order value, perYear the purchase frequency
// per year, lifespanYears the expected customer lifespan and margin the gross
// margin rate in [0, 1]. Negative inputs are treated as zero.
func Classic(aov, perYear, lifespanYears, margin float64) float64 {
	for _, v := range []float64{aov, perYear, lifespanYears, margin} {
		if v <= 0 {
			return 0
		}
	}
	return aov * perYear * lifespanYears * margin
}

// PurchasesPerYear estimates a customer's purchase rate per year from the
// number of purchase days over their tenure. Tenures shorter than minTenureDays
// are stretched to it so that a first purchase does not extrapolate to an
// absurd rate.
func PurchasesPerYear(purchaseDays int, tenureDays, minTenureDays float64) float64 {
	if purchaseDays == 0 {
		return 0
	}
	if tenureDays < minTenureDays {
		tenureDays = minTenureDays
	}
	return float64(purchaseDays) / tenureDays * 365.25
}
