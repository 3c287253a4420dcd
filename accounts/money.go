package accounts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseYuan parses a decimal yuan amount ("123.45", "-20.5", "7") into fen.
// It works on the digits rather than through float64, so "0.29" is exactly
// 29 fen; more than two decimals is an error rather than silently rounded.
func ParseYuan(s string) (int64, error) {
	orig := s
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(whole) {
		return 0, fmt.Errorf("amount %q: want yuan like 123.45", orig)
	}
	if hasDot && (frac == "" || !allDigits(frac)) {
		return 0, fmt.Errorf("amount %q: want yuan like 123.45", orig)
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("amount %q: more than two decimal places", orig)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64) // two digits, checked above
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > (math.MaxInt64-f)/100 {
		return 0, fmt.Errorf("amount %q: too large", orig)
	}
	fen := w*100 + f
	if neg {
		fen = -fen
	}
	return fen, nil
}

// FormatYuan renders fen as a yuan decimal with two places, the inverse of
// ParseYuan: -2050 -> "-20.50".
func FormatYuan(fen int64) string {
	sign := ""
	u := uint64(fen)
	if fen < 0 {
		sign = "-"
		u = -u // two's complement; also right for math.MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
