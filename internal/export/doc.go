// Package export writes per-customer summaries from the live state, in the
// format of the BTYD literature and of the Python lifetimes library
// (customer_id, frequency, recency, T, monetary_value), so the state can be
// checked against the published data sets and fed to notebooks.
//
// As of a date D (purchases dated on or before D count): frequency is the
// number of repeat purchase days, recency the time from the first to the
// last purchase day, T the time from the first purchase day to D, and
// monetary_value the mean value of the repeat purchase days (first day
// excluded; 0 when frequency is 0), in major units of the base currency.
// Times are in days or weeks (days / 7). Customers whose first purchase is
// after D, and erased customers, are left out.
package export
