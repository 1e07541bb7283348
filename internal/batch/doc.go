// Package batch implements the offline model commands of clvstream: fit
// (maximum-likelihood fit of the purchase and spend models to a summary or
// transactions file, or to the live state in Redis), score (per-customer
// predictions as CSV) and holdout (predicted versus actual repeat purchases
// in a holdout period, per calibration frequency).
//
// Summary files are CSV with a header in the column names of lifetimes
// (frequency, recency, T, monetary_value) or of BTYD (x, t_x, T or T_cal,
// zbar or m_x, and x_star for holdout counts), an optional id column
// (ID, id, customer_id). Transactions files are read as `clvstream backfill`
// reads them and summarised as of a date, with same-day purchases merged.
package batch
