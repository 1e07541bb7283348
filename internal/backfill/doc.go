// Package backfill publishes historical orders as purchase events with their
// original timestamps, so that a new clvstream deployment (or a test) can
// start from a company's order history.
//
// Input is a delimited text file: comma- or tab-separated with a header
// line, or whitespace-separated columns with or without one (the CDNOW
// files). Columns are chosen by 1-based number or by header name. Each line
// becomes one purchase whose order_id and event_id are "<file>:<line>", so
// publishing the same file twice is harmless: the second copy is dropped as
// a duplicate order. Records are keyed by customer id and partitioned with
// the configured partitioner, exactly as the service expects.
package backfill
