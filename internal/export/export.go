package export

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clvstream/clvstream/pkg/customer"
)

// Row is one customer's summary.
type Row struct {
	CustomerID    string
	Frequency     int
	Recency, T    float64
	MonetaryValue float64
}

// Source yields every stored customer state.
type Source interface {
	Each(ctx context.Context, fn func(p int, st *customer.State) error) error
}

// Summary computes the rows as of asOf with times in unit (24h or 168h) and
// money divided by minorPerMajor, sorted by customer id (numerically when
// both ids are numbers).
func Summary(ctx context.Context, src Source, asOf time.Time, unit time.Duration, minorPerMajor float64) ([]Row, error) {
	var rows []Row
	u := unit.Hours() / 24
	err := src.Each(ctx, func(_ int, st *customer.State) error {
		if st.Erased {
			return nil
		}
		f := st.Derive(asOf, 0)
		if f.PurchaseDays == 0 {
			return nil
		}
		rows = append(rows, Row{
			CustomerID:    st.ID,
			Frequency:     f.Frequency,
			Recency:       f.SpanDays / u,
			T:             f.TenureDays / u,
			MonetaryValue: f.RepeatMean() / minorPerMajor,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return lessID(rows[i].CustomerID, rows[j].CustomerID) })
	return rows, nil
}

func lessID(a, b string) bool {
	na, ea := strconv.ParseUint(strings.TrimLeft(a, "0"), 10, 64)
	nb, eb := strconv.ParseUint(strings.TrimLeft(b, "0"), 10, 64)
	if ea == nil && eb == nil && na != nb {
		return na < nb
	}
	return a < b
}

// WriteCSV writes rows with the lifetimes column names.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"customer_id", "frequency", "recency", "T", "monetary_value"})
	for _, r := range rows {
		if err := cw.Write([]string{
			r.CustomerID, strconv.Itoa(r.Frequency),
			strconv.FormatFloat(r.Recency, 'f', -1, 64),
			strconv.FormatFloat(r.T, 'f', -1, 64),
			strconv.FormatFloat(r.MonetaryValue, 'f', -1, 64),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Unit parses a time unit name: day or week.
func Unit(name string) (time.Duration, error) {
	switch name {
	case "day", "days":
		return 24 * time.Hour, nil
	case "week", "weeks":
		return 7 * 24 * time.Hour, nil
	}
	return 0, fmt.Errorf("--time-unit %q: must be day or week", name)
}
