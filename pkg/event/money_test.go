package event_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
)

func TestParseDecimalMinor(t *testing.T) {
	tests := []struct {
		s       string
		exp     int
		want    int64
		wantErr string // substring of the error; "" means success
	}{
		{"12", 2, 1200, ""},
		{"12.3", 2, 1230, ""},
		{"12.34", 2, 1234, ""},
		{"0", 2, 0, ""},
		{"0.01", 2, 1, ""},
		{"007.5", 2, 750, ""},
		{"-1", 2, -100, ""},
		{"-0.05", 2, -5, ""},
		{"-0", 2, 0, ""},
		{"1980", 0, 1980, ""},
		{"1.234", 3, 1234, ""},
		{"1.5", 4, 15000, ""},
		{"92233720368547758.07", 2, math.MaxInt64, ""},
		{"-92233720368547758.08", 2, math.MinInt64, ""},
		{"9223372036854775807", 0, math.MaxInt64, ""},

		{"12.345", 2, 0, "3 fraction digits, at most 2"},
		{"12.340", 2, 0, "3 fraction digits, at most 2"},
		{"1.0", 0, 0, "no minor unit"},
		{"92233720368547758.08", 2, 0, "out of range"},
		{"-92233720368547758.09", 2, 0, "out of range"},
		{"99999999999999999999", 0, 0, "out of range"},
		{"1e3", 2, 0, "not a decimal number"},
		{"1E3", 2, 0, "not a decimal number"},
		{" 1", 2, 0, "not a decimal number"},
		{"1 ", 2, 0, "not a decimal number"},
		{"", 2, 0, "not a decimal number"},
		{"-", 2, 0, "not a decimal number"},
		{"+1", 2, 0, "not a decimal number"},
		{"--1", 2, 0, "not a decimal number"},
		{"1.", 2, 0, "not a decimal number"},
		{".5", 2, 0, "not a decimal number"},
		{"1.2.3", 2, 0, "not a decimal number"},
		{"1,5", 2, 0, "not a decimal number"},
		{"1_000", 2, 0, "not a decimal number"},
		{"NaN", 2, 0, "not a decimal number"},
		{"Inf", 2, 0, "not a decimal number"},
		{"0x10", 2, 0, "not a decimal number"},
		{"١٢", 2, 0, "not a decimal number"}, // Arabic-Indic digits
		{"1", -1, 0, "exponent"},
		{"1", 19, 0, "exponent"},
	}
	for _, tt := range tests {
		got, err := event.ParseDecimalMinor(tt.s, tt.exp)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseDecimalMinor(%q, %d) = %d, %v; want %d, nil", tt.s, tt.exp, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseDecimalMinor(%q, %d) = %d, %v; want error containing %q", tt.s, tt.exp, got, err, tt.wantErr)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		minor int64
		exp   int
		want  string
	}{
		{1234, 2, "12.34"},
		{5, 2, "0.05"},
		{-5, 2, "-0.05"},
		{0, 2, "0.00"},
		{100, 2, "1.00"},
		{7, 0, "7"},
		{-7, 0, "-7"},
		{1234, 3, "1.234"},
		{1, 4, "0.0001"},
		{7, -1, "7"},
		{math.MaxInt64, 2, "92233720368547758.07"},
		{math.MinInt64, 2, "-92233720368547758.08"},
		{math.MinInt64, 0, "-9223372036854775808"},
	}
	for _, tt := range tests {
		if got := event.FormatMinor(tt.minor, tt.exp); got != tt.want {
			t.Errorf("FormatMinor(%d, %d) = %q, want %q", tt.minor, tt.exp, got, tt.want)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	values := []int64{0, 1, -1, 9, 10, 99, 100, 101, 123456789, -987654321, math.MaxInt64, math.MinInt64}
	for exp := 0; exp <= 4; exp++ {
		for _, v := range values {
			s := event.FormatMinor(v, exp)
			got, err := event.ParseDecimalMinor(s, exp)
			if err != nil || got != v {
				t.Errorf("ParseDecimalMinor(FormatMinor(%d, %d) = %q) = %d, %v", v, exp, s, got, err)
			}
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	tests := []struct {
		code string
		want int
		ok   bool
	}{
		{"USD", 2, true}, {"EUR", 2, true}, {"JPY", 0, true}, {"GBP", 2, true},
		{"CNY", 2, true}, {"AUD", 2, true}, {"CAD", 2, true}, {"CHF", 2, true},
		{"HKD", 2, true}, {"SGD", 2, true}, {"SEK", 2, true}, {"KRW", 0, true},
		{"NOK", 2, true}, {"NZD", 2, true}, {"INR", 2, true}, {"MXN", 2, true},
		{"TWD", 2, true}, {"ZAR", 2, true}, {"BRL", 2, true}, {"DKK", 2, true},
		{"PLN", 2, true}, {"THB", 2, true}, {"ILS", 2, true}, {"IDR", 2, true},
		{"CZK", 2, true}, {"AED", 2, true}, {"TRY", 2, true}, {"HUF", 2, true},
		{"CLP", 0, true}, {"SAR", 2, true}, {"PHP", 2, true}, {"MYR", 2, true},
		{"COP", 2, true}, {"RUB", 2, true}, {"RON", 2, true}, {"VND", 0, true},
		{"ISK", 0, true}, {"KWD", 3, true}, {"BHD", 3, true}, {"OMR", 3, true},
		{"JOD", 3, true}, {"TND", 3, true}, {"LYD", 3, true}, {"IQD", 3, true},
		{"CLF", 4, true}, {"UYW", 4, true},
		{"usd", 0, false}, {"XYZ", 0, false}, {"", 0, false}, {"XAU", 0, false}, {"USDX", 0, false},
	}
	for _, tt := range tests {
		got, ok := event.CurrencyExponent(tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CurrencyExponent(%q) = %d, %v; want %d, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

func TestConvertMinor(t *testing.T) {
	usd := mustDecoder(t, event.Config{Rates: map[string]string{
		"EUR": "1.08", "JPY": "0.0067", "KWD": "3.25", "CHF": "1.5", "USD": "1.00",
	}})
	kwd := mustDecoder(t, event.Config{BaseCurrency: "KWD", Rates: map[string]string{
		"USD": "0.307", "EUR": "0.3065",
	}})
	jpy := mustDecoder(t, event.Config{BaseCurrency: "JPY", Rates: map[string]string{"USD": "149.5"}})
	tests := []struct {
		name  string
		d     *event.Decoder
		minor int64
		cur   string
		want  int64
	}{
		{"base is identity", usd, 1234, "USD", 1234},
		{"base is identity at max", usd, math.MaxInt64, "USD", math.MaxInt64},
		{"EUR 10.00 -> USD 10.80", usd, 1000, "EUR", 1080},
		{"EUR 45.00 -> USD 48.60", usd, 4500, "EUR", 4860},
		{"EUR 0.01 -> 1.08c rounds down", usd, 1, "EUR", 1},
		{"EUR 0.50 -> 54c", usd, 50, "EUR", 54},
		{"JPY 1980 -> USD 13.266 rounds up", usd, 1980, "JPY", 1327},
		{"JPY 1 -> 0.67c rounds up", usd, 1, "JPY", 1},
		{"JPY 150 -> 100.5c half to even (down)", usd, 150, "JPY", 100},
		{"JPY 450 -> 301.5c half to even (up)", usd, 450, "JPY", 302},
		{"KWD 1.000 -> USD 3.25", usd, 1000, "KWD", 325},
		{"KWD 0.002 -> 0.65c", usd, 2, "KWD", 1},
		{"KWD 0.001 -> 0.325c", usd, 1, "KWD", 0},
		{"1.5: 1 -> 1.5 -> 2", usd, 1, "CHF", 2},
		{"1.5: 3 -> 4.5 -> 4", usd, 3, "CHF", 4},
		{"1.5: 5 -> 7.5 -> 8", usd, 5, "CHF", 8},
		{"1.5: -1 -> -1.5 -> -2", usd, -1, "CHF", -2},
		{"1.5: -3 -> -4.5 -> -4", usd, -3, "CHF", -4},
		{"1.5: -5 -> -7.5 -> -8", usd, -5, "CHF", -8},
		{"1.5: 0 -> 0", usd, 0, "CHF", 0},
		{"USD 12.34 -> KWD 3.78838 -> 3.788", kwd, 1234, "USD", 3788},
		{"USD 1.00 -> KWD 0.307", kwd, 100, "USD", 307},
		{"EUR 1.00 -> KWD 0.3065 -> 306 fils (even)", kwd, 100, "EUR", 306},
		{"EUR 3.00 -> KWD 0.9195 -> 920 fils (even)", kwd, 300, "EUR", 920},
		{"USD 1.00 -> JPY 149.5 -> 150 (even)", jpy, 100, "USD", 150},
		{"USD 3.00 -> JPY 448.5 -> 448 (even)", jpy, 300, "USD", 448},
	}
	for _, tt := range tests {
		got, err := tt.d.ConvertMinor(tt.minor, tt.cur)
		if err != nil || got != tt.want {
			t.Errorf("%s: ConvertMinor(%d, %s) = %d, %v; want %d", tt.name, tt.minor, tt.cur, got, err, tt.want)
		}
	}

	errTests := []struct {
		name   string
		minor  int64
		cur    string
		reason event.Reason
		field  string
		msg    string
	}{
		{"unknown code", 1, "XYZ", event.ReasonUnknownCurrency, "currency", "not a known ISO 4217"},
		{"lower case", 1, "eur", event.ReasonUnknownCurrency, "currency", "not a known ISO 4217"},
		{"no rate", 1, "GBP", event.ReasonUnknownCurrency, "currency", "no exchange rate from GBP to the base currency USD"},
		{"overflow", math.MaxInt64, "EUR", event.ReasonInvalidField, "", "overflow"},
		{"negative overflow", math.MinInt64, "EUR", event.ReasonInvalidField, "", "overflow"},
	}
	for _, tt := range errTests {
		_, err := usd.ConvertMinor(tt.minor, tt.cur)
		var e *event.Error
		if !errors.As(err, &e) || e.Reason != tt.reason || e.Field != tt.field || !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("%s: ConvertMinor(%d, %q) error = %v; want %s/%q containing %q", tt.name, tt.minor, tt.cur, err, tt.reason, tt.field, tt.msg)
		}
	}
	// Shrinking conversions never overflow, even at the extremes.
	if got, err := usd.ConvertMinor(math.MinInt64, "KWD"); err != nil || got >= 0 {
		t.Errorf("ConvertMinor(MinInt64, KWD) = %d, %v", got, err)
	}
}

func TestNewDecoderConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     event.Config
		wantErr []string // substrings; nil means success
	}{
		{"zero config", event.Config{}, nil},
		{"rates", event.Config{BaseCurrency: "EUR", Rates: map[string]string{"USD": "0.92", "EUR": "1", "JPY": "0.0062"}}, nil},
		{"bad rate", event.Config{Rates: map[string]string{"EUR": "abc"}}, []string{`rates.EUR: "abc" is not a decimal number`}},
		{"exponent rate", event.Config{Rates: map[string]string{"EUR": "1e0"}}, []string{`rates.EUR: "1e0" is not a decimal number`}},
		{"fraction rate", event.Config{Rates: map[string]string{"EUR": "27/25"}}, []string{`rates.EUR: "27/25" is not a decimal number`}},
		{"zero rate", event.Config{Rates: map[string]string{"EUR": "0"}}, []string{"rates.EUR: must be greater than 0"}},
		{"negative rate", event.Config{Rates: map[string]string{"EUR": "-1.08"}}, []string{"rates.EUR: must be greater than 0"}},
		{"unknown currency", event.Config{Rates: map[string]string{"eur": "1.08"}}, []string{`rates.eur: "eur" is not a known ISO 4217`}},
		{"base rate not 1", event.Config{Rates: map[string]string{"USD": "1.01"}}, []string{"rates.USD: USD is the base currency, its rate is always 1"}},
		{"bad base", event.Config{BaseCurrency: "DOLLAR"}, []string{`base_currency: "DOLLAR" is not a known ISO 4217`}},
		{"negative limits", event.Config{MaxBytes: -1, MaxClockSkew: -1}, []string{"max_bytes: must not be negative", "max_clock_skew: must not be negative"}},
		{"all problems reported", event.Config{Rates: map[string]string{"EUR": "x", "GBP": "0"}}, []string{"rates.EUR", "rates.GBP"}},
	}
	for _, tt := range tests {
		d, err := event.NewDecoder(tt.cfg)
		if tt.wantErr == nil {
			if err != nil || d == nil {
				t.Errorf("%s: NewDecoder = %v, %v; want success", tt.name, d, err)
			}
			continue
		}
		if err == nil || d != nil {
			t.Errorf("%s: NewDecoder = %v, %v; want error", tt.name, d, err)
			continue
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tt.name, err, w)
			}
		}
	}
}

func mustDecoder(t testing.TB, c event.Config) *event.Decoder {
	t.Helper()
	d, err := event.NewDecoder(c)
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	return d
}
