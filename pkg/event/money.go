package event

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// maxExponent bounds the minor-unit exponents this package works with;
// 10^18 still fits in an int64.
const maxExponent = 18

// currencyExponents maps ISO 4217 codes (active currencies of List One,
// without funds codes and precious metals) to their minor-unit exponent.
var currencyExponents = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2,
	"AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0,
	"BMD": 2, "BND": 2, "BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2,
	"BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2,
	"CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
	"EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2,
	"GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2,
	"HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0,
	"JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2,
	"KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2,
	"LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2,
	"MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2,
	"NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2,
	"PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2,
	"RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2,
	"SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2,
	"SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2,
	"TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "UYI": 0, "UYU": 2,
	"UYW": 4, "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0,
	"XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// CurrencyExponent returns the ISO 4217 minor-unit exponent of an upper-case
// currency code (USD 2, JPY 0, KWD 3, CLF 4, ...) and false if the code is
// not a known active currency.
func CurrencyExponent(code string) (int, bool) {
	e, ok := currencyExponents[code]
	return e, ok
}

// isCurrencyCode reports whether s has the form of an ISO 4217 code: three
// upper-case ASCII letters.
func isCurrencyCode[T string | []byte](s T) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// splitDecimal checks s against the grammar -?[0-9]+(\.[0-9]+)? and returns
// its sign, integer digits and fraction digits.
func splitDecimal[T string | []byte](s T) (neg bool, intPart, frac T, ok bool) {
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	dot := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	intPart = s
	if dot >= 0 {
		intPart, frac = s[:dot], s[dot+1:]
	}
	if len(intPart) == 0 || !allDigits(intPart) {
		return false, intPart[:0], intPart[:0], false
	}
	if dot >= 0 && (len(frac) == 0 || !allDigits(frac)) {
		return false, intPart[:0], intPart[:0], false
	}
	return neg, intPart, frac, true
}

func allDigits[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// errDecimalSyntax is returned by ParseDecimalMinor for strings that are not
// plain decimal numbers.
var errDecimalSyntax = errors.New(`not a decimal number: use digits with an optional leading '-' and '.', like "12.34"`)

// errDecimalRange is returned by ParseDecimalMinor when the value does not
// fit in an int64 of minor units.
var errDecimalRange = errors.New("out of range: does not fit in 64-bit minor units")

// ParseDecimalMinor parses a decimal string in major units, such as "12.34",
// into minor units for a currency with exponent exp ("12.34", 2 -> 1234;
// "12", 2 -> 1200; "7", 0 -> 7). The accepted grammar is
// -?[0-9]+(\.[0-9]+)?: no leading '+', no spaces, no exponent notation, no
// NaN or infinities, no thousands separators. More fraction digits than exp
// allows are rejected, even when they are zeros, so no value is ever
// silently rounded. Values that do not fit in an int64 are rejected.
func ParseDecimalMinor(s string, exp int) (int64, error) {
	return parseDecimalMinor(s, exp)
}

// parseDecimalMinor is ParseDecimalMinor for a string or bytes, without
// allocating on success.
func parseDecimalMinor[T string | []byte](s T, exp int) (int64, error) {
	if exp < 0 || exp > maxExponent {
		return 0, fmt.Errorf("exponent %d out of range 0..%d", exp, maxExponent)
	}
	neg, intPart, frac, ok := splitDecimal(s)
	if !ok {
		return 0, errDecimalSyntax
	}
	if len(frac) > exp {
		if exp == 0 {
			return 0, errors.New("has a fraction but the currency has no minor unit: use a whole number")
		}
		return 0, fmt.Errorf("has %d fraction digits, at most %d allowed", len(frac), exp)
	}
	// Accumulate the magnitude in uint64 so math.MinInt64 is representable;
	// every step is checked, so nothing wraps.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var v uint64
	n := len(intPart) + exp
	for i := 0; i < n; i++ {
		var d uint64
		switch {
		case i < len(intPart):
			d = uint64(intPart[i] - '0')
		case i-len(intPart) < len(frac):
			d = uint64(frac[i-len(intPart)] - '0')
		}
		if v > (limit-d)/10 {
			return 0, errDecimalRange
		}
		v = v*10 + d
	}
	if neg {
		return int64(-v), nil // -v wraps correctly for 1<<63
	}
	return int64(v), nil
}

// FormatMinor formats minor units as a decimal string with exp fraction
// digits: (1234, 2) -> "12.34", (-5, 2) -> "-0.05", (7, 0) -> "7". It is the
// inverse of ParseDecimalMinor. A negative exp is treated as 0.
func FormatMinor(minor int64, exp int) string {
	neg := minor < 0
	mag := uint64(minor)
	if neg {
		mag = -mag
	}
	s := strconv.FormatUint(mag, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// parseRate parses a non-negative exchange-rate decimal string (any number
// of fraction digits) exactly. It returns false for anything that is not
// -?[0-9]+(\.[0-9]+)?.
func parseRate(s string) (*big.Rat, bool) {
	if len(s) > 64 {
		return nil, false
	}
	neg, intPart, frac, ok := splitDecimal(s)
	if !ok {
		return nil, false
	}
	num, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return nil, false
	}
	if neg {
		num.Neg(num)
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	return new(big.Rat).SetFrac(num, den), true
}

// pow10 returns 10^n as a *big.Int, n >= 0.
func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// mulRatHalfEven returns round_half_even(v * num / den) and whether it fits
// in an int64. den must be positive.
func mulRatHalfEven(v int64, num, den *big.Int) (int64, bool) {
	n := new(big.Int).SetInt64(v)
	n.Mul(n, num)
	q, r := new(big.Int).QuoRem(n, den, new(big.Int))
	if r.Sign() != 0 {
		// Compare 2|r| with den; the quotient is truncated toward zero, so a
		// round-up moves it away from zero in the direction of n's sign.
		r2 := r.Abs(r)
		r2.Lsh(r2, 1)
		c := r2.Cmp(den)
		if c > 0 || (c == 0 && q.Bit(0) == 1) {
			if n.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// mulDivHalfEven returns round_half_even(v * num / den) and whether it fits
// in an int64, in exact 128-bit integer arithmetic. den must be positive.
func mulDivHalfEven(v int64, num, den uint64) (int64, bool) {
	neg := v < 0
	mag := uint64(v)
	if neg {
		mag = -mag // 1<<63 for math.MinInt64
	}
	hi, lo := bits.Mul64(mag, num)
	if hi >= den {
		return 0, false // the quotient needs more than 64 bits
	}
	q, r := bits.Div64(hi, lo, den)
	// Round the magnitude half to even: up when r > den/2, or r == den/2
	// and q is odd (r > den-r avoids computing 2r, which may overflow).
	if r > den-r || (r == den-r && q&1 == 1) {
		if q == math.MaxUint64 {
			return 0, false
		}
		q++
	}
	if neg {
		if q > 1<<63 {
			return 0, false
		}
		return int64(-q), true // -q wraps correctly for 1<<63
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	return int64(q), true
}
