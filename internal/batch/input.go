package batch

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/clvstream/clvstream/internal/backfill"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// Row is one customer of an input file: the summary and, when the file has
// it, the actual repeat purchases of a holdout period.
type Row struct {
	model.Summary
	HoldoutActual float64
	HasHoldout    bool
	// Line is the row's line in the input file (0 for other sources).
	Line int
}

// SummaryFile is a parsed summary file: its rows and the warnings about
// inputs that were accepted with a documented handling.
type SummaryFile struct {
	Rows     []Row
	Warnings []string
}

// columns maps the recognised header names to summary fields.
var columns = map[string]string{
	"id": "id", "customer_id": "id", "cust": "id",
	"frequency": "x", "x": "x",
	"recency": "tx", "t_x": "tx",
	"t": "T", "t_cal": "T",
	"monetary_value": "m", "zbar": "m", "m_x": "m",
	"x_star": "xstar",
}

// ReadSummaries reads a summary CSV (see the package doc) and returns its
// rows; see ReadSummaryFile for the checks.
func ReadSummaries(r io.Reader, unitDays float64) ([]Row, error) {
	f, err := ReadSummaryFile(r, unitDays)
	return f.Rows, err
}

// ReadSummaryFile reads a summary CSV (see the package doc). Times are in
// the file's unit; unitDays converts recency to days for RFM. Every value is
// checked, and a bad one is an error naming the file line and the column:
// frequency must be a whole number ≥ 0, recency and T finite with
// 0 ≤ recency ≤ T, recency 0 without repeat purchases, T > 0 with them,
// monetary finite, ≥ 0 and at most clv.MaxSpend, x_star a whole number
// ≥ 0; a customer id may appear only once. Accepted with a warning: no
// monetary column (predicted CLV is then 0: the file says nothing about
// spend), and a monetary value of 0 for a repeat buyer (left out of the
// spend fit, valued by the fallback).
func ReadSummaryFile(r io.Reader, unitDays float64) (SummaryFile, error) {
	var out SummaryFile
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return out, fmt.Errorf("read header: %w", err)
	}
	header = append([]string(nil), header...)
	idx := map[string]int{}
	for i, h := range header {
		if f, ok := columns[strings.ToLower(strings.TrimSpace(h))]; ok {
			if _, dup := idx[f]; !dup {
				idx[f] = i
			}
		}
	}
	for _, need := range []string{"x", "tx", "T"} {
		if _, ok := idx[need]; !ok {
			return out, fmt.Errorf("header %v: need frequency/x, recency/t_x and T/T_cal columns", header)
		}
	}
	_, hasM := idx["m"]
	if !hasM {
		out.Warnings = append(out.Warnings, "no monetary column (monetary_value, zbar or m_x): predicted CLV is 0 for every customer")
	}
	seen := map[string]int{}
	var zeroSpend int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("%w", err) // csv errors name the line
		}
		line, _ := cr.FieldPos(0)
		num := func(f string) (float64, error) {
			i, ok := idx[f]
			if !ok {
				return 0, nil
			}
			if i >= len(rec) {
				return 0, fmt.Errorf("line %d: column %s is missing", line, header[i])
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil {
				return 0, fmt.Errorf("line %d: column %s: %q is not a number", line, header[i], rec[i])
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("line %d: column %s: %v is not a finite number", line, header[i], v)
			}
			return v, nil
		}
		row := Row{Line: line}
		for _, c := range []struct {
			f   string
			dst *float64
		}{{"x", &row.X}, {"tx", &row.TX}, {"T", &row.T}, {"m", &row.M}, {"xstar", &row.HoldoutActual}} {
			v, err := num(c.f)
			if err != nil {
				return out, err
			}
			*c.dst = v
		}
		col := func(f string) string { return header[idx[f]] }
		switch {
		case row.X < 0 || row.X != math.Trunc(row.X):
			return out, fmt.Errorf("line %d: column %s: %v must be a whole number of repeat purchases ≥ 0", line, col("x"), row.X)
		case row.TX < 0:
			return out, fmt.Errorf("line %d: column %s: %v must be ≥ 0", line, col("tx"), row.TX)
		case row.T < row.TX:
			return out, fmt.Errorf("line %d: column %s: %v is below the recency %v (the age T must be at least the recency)", line, col("T"), row.T, row.TX)
		case row.X == 0 && row.TX != 0:
			return out, fmt.Errorf("line %d: column %s: %v must be 0 when %s is 0 (no repeat purchase, no recency)", line, col("tx"), row.TX, col("x"))
		case row.X > 0 && row.T == 0:
			return out, fmt.Errorf("line %d: column %s: 0 with %v repeat purchases (they need time: T > 0)", line, col("T"), row.X)
		case row.M < 0:
			return out, fmt.Errorf("line %d: column %s: %v must be ≥ 0", line, col("m"), row.M)
		case row.M > clv.MaxSpend:
			return out, fmt.Errorf("line %d: column %s: %g is above %g per purchase: check the unit", line, col("m"), row.M, clv.MaxSpend)
		case row.HoldoutActual < 0 || row.HoldoutActual != math.Trunc(row.HoldoutActual):
			return out, fmt.Errorf("line %d: column %s: %v must be a whole number ≥ 0", line, col("xstar"), row.HoldoutActual)
		}
		if hasM && row.X > 0 && row.M == 0 {
			zeroSpend++
		}
		if i, ok := idx["id"]; ok && i < len(rec) {
			row.ID = strings.TrimSpace(rec[i])
			if first, dup := seen[row.ID]; dup {
				return out, fmt.Errorf("line %d: duplicate customer id (first on line %d): each customer must appear once", line, first)
			}
			seen[row.ID] = line
		} else {
			row.ID = strconv.Itoa(len(out.Rows) + 1)
		}
		_, row.HasHoldout = idx["xstar"]
		row.AOV = row.M
		row.RecencyDays = (row.T - row.TX) * unitDays
		row.MarginRate = 1
		out.Rows = append(out.Rows, row)
	}
	if zeroSpend > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d repeat buyers with monetary value 0: left out of the spend fit and valued by the fallback spend", zeroSpend))
	}
	return out, nil
}

// History is the per-customer state of a transactions file, in file
// order, from which summaries as of any instant are taken.
type History struct {
	states        []*customer.State
	first, last   time.Time
	minorPerMajor float64
}

// ReadHistory reads a transactions file (backfill's formats) into
// customer states.
func ReadHistory(path string, o backfill.Options) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cur := or(o.Currency, "USD")
	dec, err := event.NewDecoder(event.Config{BaseCurrency: cur, Now: func() time.Time { return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		return nil, err
	}
	exp, _ := event.CurrencyExponent(cur)
	h := &History{minorPerMajor: math.Pow10(exp)}
	states := map[string]*customer.State{}
	o.Name = backfill.DefaultName(path)
	_, err = backfill.Parse(f, o, func(r event.Record) error {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		ev, err := dec.Decode(b, nil)
		if err != nil {
			// backfill numbers the records name:line.
			if i := strings.LastIndexByte(r.EventID, ':'); i >= 0 {
				return fmt.Errorf("line %s: %w", r.EventID[i+1:], err)
			}
			return err
		}
		st, ok := states[ev.CustomerID]
		if !ok {
			st = &customer.State{ID: ev.CustomerID}
			states[ev.CustomerID] = st
			h.states = append(h.states, st)
		}
		st.Apply(ev, 1)
		if ev.OccurredAt.After(h.last) {
			h.last = ev.OccurredAt
		}
		if h.first.IsZero() || ev.OccurredAt.Before(h.first) {
			h.first = ev.OccurredAt
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// LastDay is the day of the latest transaction.
func (h *History) LastDay() time.Time { return h.last.Truncate(24 * time.Hour) }

// Rows returns the summaries as of asOf of the customers who had bought by
// then, with their repeat purchase days up to holdoutEnd when that is
// after asOf.
func (h *History) Rows(asOf, holdoutEnd time.Time, unitDays float64) []Row {
	var out []Row
	for _, st := range h.states {
		s, ok := model.Summarize(st, asOf, unitDays, h.minorPerMajor)
		if !ok {
			continue
		}
		row := Row{Summary: s}
		if holdoutEnd.After(asOf) {
			end, _ := model.Summarize(st, holdoutEnd, unitDays, h.minorPerMajor)
			row.HoldoutActual, row.HasHoldout = end.X-s.X, true
		}
		out = append(out, row)
	}
	return out
}

// ChurnSplit returns the churn time split as of asOf for the churn horizon
// (model.BuildChurnSplit): only the history up to asOf is used.
func (h *History) ChurnSplit(ctx context.Context, asOf time.Time, horizon time.Duration, unitDays float64) (model.ChurnSplit, error) {
	return model.BuildChurnSplit(ctx, h.states, asOf, h.first, horizon, unitDays, h.minorPerMajor, 0)
}

// ReadTransactions reads a transactions file and summarises every customer
// as of asOf (zero: the day of the last transaction); when holdoutEnd is
// after asOf, each row also carries the repeat purchase days between asOf
// and holdoutEnd.
func ReadTransactions(path string, o backfill.Options, asOf, holdoutEnd time.Time, unitDays float64) ([]Row, time.Time, error) {
	h, err := ReadHistory(path, o)
	if err != nil {
		return nil, asOf, err
	}
	if asOf.IsZero() {
		asOf = h.LastDay()
	}
	return h.Rows(asOf, holdoutEnd, unitDays), asOf, nil
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
