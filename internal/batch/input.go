package batch

import (
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
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// Row is one customer of an input file: the summary and, when the file has
// it, the actual repeat purchases of a holdout period.
type Row struct {
	model.Summary
	HoldoutActual float64
	HasHoldout    bool
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

// ReadSummaries reads a summary CSV (see the package doc). Times are in the
// file's unit; unitDays converts recency to days for RFM.
func ReadSummaries(r io.Reader, unitDays float64) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
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
			return nil, fmt.Errorf("header %v: need frequency/x, recency/t_x and T/T_cal columns", header)
		}
	}
	var out []Row
	line := 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		num := func(f string) (float64, error) {
			i, ok := idx[f]
			if !ok {
				return 0, nil
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil {
				return 0, fmt.Errorf("line %d: column %s: %q is not a number", line, header[i], rec[i])
			}
			return v, nil
		}
		var row Row
		var errs []error
		for f, dst := range map[string]*float64{"x": &row.X, "tx": &row.TX, "T": &row.T, "m": &row.M, "xstar": &row.HoldoutActual} {
			v, err := num(f)
			errs = append(errs, err)
			*dst = v
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		if i, ok := idx["id"]; ok {
			row.ID = rec[i]
		} else {
			row.ID = strconv.Itoa(line - 1)
		}
		_, row.HasHoldout = idx["xstar"]
		row.AOV = row.M
		row.RecencyDays = (row.T - row.TX) * unitDays
		row.MarginRate = 1
		out = append(out, row)
	}
	return out, nil
}

// ReadTransactions reads a transactions file and summarises every customer
// as of asOf (zero: the day of the last transaction); when holdoutEnd is
// after asOf, each row also carries the repeat purchase days between asOf
// and holdoutEnd.
func ReadTransactions(path string, o backfill.Options, asOf, holdoutEnd time.Time, unitDays float64) ([]Row, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, asOf, err
	}
	defer f.Close()
	cur := or(o.Currency, "USD")
	dec, err := event.NewDecoder(event.Config{BaseCurrency: cur, Now: func() time.Time { return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		return nil, asOf, err
	}
	exp, _ := event.CurrencyExponent(cur)
	minorPerMajor := math.Pow10(exp)
	states := map[string]*customer.State{}
	var order []string
	var last time.Time
	o.Name = backfill.DefaultName(path)
	_, err = backfill.Parse(f, o, func(r event.Record) error {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		ev, err := dec.Decode(b, nil)
		if err != nil {
			return err
		}
		st, ok := states[ev.CustomerID]
		if !ok {
			st = &customer.State{ID: ev.CustomerID}
			states[ev.CustomerID] = st
			order = append(order, ev.CustomerID)
		}
		st.Apply(ev, 1)
		if ev.OccurredAt.After(last) {
			last = ev.OccurredAt
		}
		return nil
	})
	if err != nil {
		return nil, asOf, fmt.Errorf("%s: %w", path, err)
	}
	if asOf.IsZero() {
		asOf = last.Truncate(24 * time.Hour)
	}
	var out []Row
	for _, id := range order {
		s, ok := model.Summarize(states[id], asOf, unitDays, minorPerMajor)
		if !ok {
			continue
		}
		row := Row{Summary: s}
		if holdoutEnd.After(asOf) {
			end, _ := model.Summarize(states[id], holdoutEnd, unitDays, minorPerMajor)
			row.HoldoutActual, row.HasHoldout = end.X-s.X, true
		}
		out = append(out, row)
	}
	return out, asOf, nil
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
