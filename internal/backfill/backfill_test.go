package backfill

import (
	"os"
	"strings"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
)

func collect(t *testing.T, input string, o Options) ([]event.Record, error) {
	t.Helper()
	var out []event.Record
	_, err := Parse(strings.NewReader(input), o, func(r event.Record) error { out = append(out, r); return nil })
	return out, err
}

func TestParseCSVWithHeaderByName(t *testing.T) {
	in := "order,customer_id,date,amount\nA,c1,2024-01-02,12.50\nB,c2,2024-01-03,7\n"
	recs, err := collect(t, in, Options{Name: "f.csv", CustomerCol: "customer_id", DateCol: "date", AmountCol: "amount"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("records = %d", len(recs))
	}
	r := recs[0]
	if r.CustomerID != "c1" || r.OccurredAt != "2024-01-02T00:00:00Z" || *r.AmountMinor != 1250 || r.Currency != "USD" || r.Type != event.Purchase {
		t.Fatalf("record = %+v", r)
	}
	if r.OrderID != "f.csv:2" || r.EventID != r.OrderID {
		t.Fatalf("order id %q: want the file and line, stable across runs", r.OrderID)
	}
	if *recs[1].AmountMinor != 700 {
		t.Fatalf("integer amount: %d", *recs[1].AmountMinor)
	}
}

func TestParseCDNOWFilesAsTheyAre(t *testing.T) {
	f, err := os.Open("../../testdata/cdnow/CDNOW_sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int
	var total int64
	customers := map[string]bool{}
	_, err = Parse(f, Options{Name: "s", CustomerCol: "2", DateCol: "3", AmountCol: "5", DateFormat: "20060102"}, func(r event.Record) error {
		n++
		total += *r.AmountMinor
		customers[r.CustomerID] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Totals published in the data set's README: 6,919 rows, $244,091.94, 2,357 customers.
	if n != 6919 || total != 24409194 || len(customers) != 2357 {
		t.Fatalf("rows %d, total %d cents, customers %d; want 6919, 24409194, 2357", n, total, len(customers))
	}
	// The master file's header line is recognised and columns chosen by name.
	hdr := "customer_id  date number_of_cds  dollar_value\r\n00001 19970101 1  11.77\r\n"
	recs, err := collect(t, hdr, Options{CustomerCol: "customer_id", DateCol: "date", AmountCol: "dollar_value", DateFormat: "20060102"})
	if err != nil || len(recs) != 1 || *recs[0].AmountMinor != 1177 || recs[0].CustomerID != "00001" {
		t.Fatalf("master format: %+v %v", recs, err)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := map[string]struct {
		in   string
		o    Options
		want string
	}{
		"bad date":   {"c1,2024-13-45,1.00\n", Options{}, "line 1: date"},
		"bad amount": {"c1,2024-01-01,1.234\n", Options{}, "line 1: amount"},
		"no column":  {"c1,2024-01-01\n", Options{}, "column 3"},
		"no header":  {"c1,2024-01-01,1\n", Options{CustomerCol: "customer"}, "no header"},
		"currency":   {"c1,2024-01-01,1\n", Options{Currency: "XXQ"}, "currency"},
	}
	for name, c := range cases {
		if _, err := collect(t, c.in, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
		}
	}
}
