package accounts

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

var yuanSyntax = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]{1,2})?$`)

// FuzzParseYuan checks ParseYuan against an exact big-number reference and
// the round trip through FormatYuan.
func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{
		"123.45", "-20.5", "0.29", "7", "+7.01", "0", "-0", "-0.01", "1.234", "1.", ".5", "-", "+-1",
		"92233720368547758.07", "92233720368547758.08", "-92233720368547758.07", "-92233720368547758.08",
		"99999999999999999999", "00000000000000000000001.10", "1e3", " 1", "１２", "1.2.3",
	} {
		f.Add(s)
	}
	maxFen := big.NewInt(math.MaxInt64)
	f.Fuzz(func(t *testing.T, s string) {
		fen, err := ParseYuan(s)
		// Reference: exact decimal arithmetic.
		var want *big.Int
		if yuanSyntax.MatchString(s) {
			body := strings.TrimLeft(s, "+-")
			whole, frac, _ := strings.Cut(body, ".")
			frac += strings.Repeat("0", 2-len(frac))
			want, _ = new(big.Int).SetString(whole+frac, 10)
			if strings.HasPrefix(s, "-") {
				want.Neg(want)
			}
			if new(big.Int).Abs(want).Cmp(maxFen) > 0 {
				want = nil // out of range: an error is right
			}
		}
		switch {
		case want == nil && err == nil:
			t.Fatalf("ParseYuan(%q) = %d, want an error", s, fen)
		case want != nil && err != nil:
			t.Fatalf("ParseYuan(%q): %v, want %s", s, err, want)
		case want != nil && want.Int64() != fen:
			t.Fatalf("ParseYuan(%q) = %d, want %s", s, fen, want)
		}
		if _, frac, ok := strings.Cut(s, "."); ok && len(frac) > 2 && err == nil {
			t.Fatalf("ParseYuan(%q) accepted more than two decimals", s)
		}
		if err != nil {
			return
		}
		text := FormatYuan(fen)
		back, err := ParseYuan(text)
		if err != nil || back != fen {
			t.Fatalf("ParseYuan(%q) = %d, FormatYuan = %q, parsed back as %d, %v", s, fen, text, back, err)
		}
	})
}

// FuzzFormatYuan: every amount except math.MinInt64 (which ParseYuan's
// symmetric range excludes) reads back as itself.
func FuzzFormatYuan(f *testing.F) {
	for _, n := range []int64{0, 1, -1, 99, -100, 12345, math.MaxInt64, math.MinInt64 + 1} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, fen int64) {
		if fen == math.MinInt64 {
			return
		}
		text := FormatYuan(fen)
		if back, err := ParseYuan(text); err != nil || back != fen {
			t.Fatalf("FormatYuan(%d) = %q, parsed back as %d, %v", fen, text, back, err)
		}
	})
}

// FuzzNormalizePhone: normalising twice changes nothing, and the result
// never keeps a separator.
func FuzzNormalizePhone(f *testing.F) {
	f.Add("+86008613800138000") // the country code twice: once was not enough
	f.Add("00860086 10 1234 5678")
	for _, s := range []string{
		"+8613800138000", "138-0013-8000", "+86 10 12345678", "0086 571 8765 4321", "8613800138000",
		"+86", "0086", "86", "", "95598", "(010) 1234.5678", "\u3000+86\u00a013800138000", "+86+86123",
		"8686138001380", "+8601012345678", "１３８", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := NormalizePhone(s)
		if q := NormalizePhone(p); q != p {
			t.Fatalf("NormalizePhone not idempotent: %q -> %q -> %q", s, p, q)
		}
		if strings.ContainsAny(p, " \t-.()\u00a0\u3000") {
			t.Fatalf("NormalizePhone(%q) = %q keeps a separator", s, p)
		}
	})
}

// FuzzParseCSV: arbitrary bytes never panic; a successful parse yields
// valid, unique accounts; a failure returns no accounts.
func FuzzParseCSV(f *testing.F) {
	header := strings.Join(Columns, ",") + "\n"
	for _, s := range []string{
		"",
		header,
		"\uFEFF" + header + "1234567890,张三,13800138000;+86 139 0013 9000,杭州,西湖,T1,resident,12.50,100,2026-01-02,1980\n",
		header + "1234567890,张三,,a,b,c,resident,0,,,\n1234567890,李四,,a,b,c,resident,0,,,\n",
		header + "1,a,138001380001,x,y,z,resident,1.234,,,\n",
		header + "\"unterminated,\n",
		header + "# comment\n1,a,,x,y,z,resident,1,,,0\n2,b\n",
		"account,account\n",
		"Account, NAME ,phones,address,area,transformer,class,balance,last_bill,last_bill_date,birth_year,extra\n",
		header + "1,a,13800138000,x,y,z,resident,1,,,\n2,b,+8613800138000,x,y,z,resident,1,,,\n",
		header + strings.Repeat("9,x,,x,y,z,resident,1,,,\n", 30),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		accts, err := ParseCSV(bytes.NewReader(data))
		if err != nil {
			if accts != nil {
				t.Fatalf("error %v with %d accounts", err, len(accts))
			}
			if !errors.Is(err, ErrInvalid) && !strings.Contains(err.Error(), "read csv") {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		phones := map[string]bool{}
		for _, a := range accts {
			if a.Number == "" || checkNumber(a.Number) != nil {
				t.Fatalf("account without a valid number: %+v", a)
			}
			if seen[a.Number] {
				t.Fatalf("account %s twice", a.Number)
			}
			seen[a.Number] = true
			if a.Name == "" || !KnownClass(a.Class) {
				t.Fatalf("invalid account accepted: %+v", a)
			}
			for _, p := range a.Phones {
				if !ValidPhone(p) || phones[p] {
					t.Fatalf("bad or shared phone %q in %+v", p, a)
				}
				phones[p] = true
			}
			if n, err := Normalize(a); err != nil || len(n.Phones) != len(a.Phones) {
				t.Fatalf("parsed account does not survive Normalize: %+v -> %+v, %v", a, n, err)
			}
		}
	})
}
