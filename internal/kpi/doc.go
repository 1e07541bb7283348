// Package kpi computes the population figures of the customer base from the
// stored states, the way the retention literature defines them, and shares
// them between instances.
//
// Over a period [start, end] (the last Period before the scoring clock),
// with "active" meaning a purchase within ActiveWindow before the instant:
//
//	retention rate = (active at end − new customers in the period) / active at start
//	churn rate     = 1 − retention rate
//
// and over all customers: average order value (gross revenue per purchase
// day), purchase frequency (purchase days per customer), repeat-purchase
// rate (share of buyers with two or more purchase days), average historic
// and predicted CLV, average churn risk, mean CSAT; the number of customers
// per segment, churn level and loyalty tier; the distribution of predicted
// CLV; and cohort retention: for each first-purchase month, the share of
// the cohort that bought again in each following month.
//
// The retention toolkit's figures (docs/events.md): survey KPIs (NPS =
// % promoters − % detractors, mean CSAT and CES of the latest scores,
// response rate = answered ÷ sent) for the population, per segment and per
// cohort (surveys.go); per-channel engagement and opt-outs (channels.go);
// the repeat-purchase curve, the share of customers with n purchases who
// make an (n+1)-th within RepeatWindow, censoring those whose n-th is
// younger (repeat.go); and the purchases attributed to campaigns by last
// touch within AttributionWindow with the retention of their customers
// (campaigns.go).
//
// A snapshot reads at most SampleSize customers (default 100,000): above
// that it is computed from a uniform sample (Sampler; each partition's
// share in Redis's hash order) with its counts scaled to the population,
// so the cost of a pass does not grow with the customer base.
//
// One instance at a time (the lease {<prefix>:kpi}:lock, see package
// lease: taken atomically, renewed every Interval, released when the job
// stops) computes a Snapshot every Interval and stores it in Redis; every instance reads the latest Snapshot to serve
// the API and to export the same gauges (aggregate them with max, not sum).
package kpi
