package prompts

import (
	"math"
	"strings"
	"testing"
	"time"
)

// fuzzReadInteger decodes a reading produced by Integer back into its value,
// so the fuzzer checks the words, not just that they exist.
func fuzzReadInteger(t *testing.T, ids []string) (uint64, bool) {
	t.Helper()
	neg := false
	if len(ids) > 0 && ids[0] == idFu {
		neg, ids = true, ids[1:]
	}
	var total, section, num uint64
	digit := false
	for _, id := range ids {
		switch id {
		case idZero:
			digit = false
		case idLiang:
			num, digit = 2, true
		case idShi, idBai, idQian:
			unit := map[string]uint64{idShi: 10, idBai: 100, idQian: 1000}[id]
			if !digit {
				if id != idShi {
					t.Fatalf("%s without a digit in %v", id, ids)
				}
				num = 1 // 十二: the leading 一 is silent
			}
			section += num * unit
			num, digit = 0, false
		case idWan:
			section = (section + num) * 1_0000
			num, digit = 0, false
		case idYi:
			total = (total + section + num) * 1_0000_0000
			section, num, digit = 0, 0, false
		default:
			if len(id) != 2 || id[0] != 'd' || id[1] < '0' || id[1] > '9' {
				t.Fatalf("unexpected id %q in %v", id, ids)
			}
			num, digit = uint64(id[1]-'0'), true
		}
	}
	return total + section + num, neg
}

func fuzzCheckIDs(t *testing.T, what string, ids []string) {
	t.Helper()
	if len(ids) == 0 {
		t.Fatalf("%s: no prompts", what)
	}
	for _, id := range ids {
		if !Has(id) {
			t.Fatalf("%s: unknown prompt id %q in %v", what, id, ids)
		}
	}
}

func FuzzInteger(f *testing.F) {
	for _, n := range []int64{0, 1, 2, 10, 12, 20, 105, 110, 200, 1010, 10086, 20000, 100010000, 2_0000_0000,
		1_0000_0000_0000, -3, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		ids := Integer(n)
		fuzzCheckIDs(t, "Integer", ids)
		got, neg := fuzzReadInteger(t, ids)
		if neg != (n < 0) || got != magnitude(n) {
			t.Fatalf("Integer(%d) = %s %v reads back as %d (negative %v)", n, Text(ids), ids, got, neg)
		}
	})
}

func FuzzMoney(f *testing.F) {
	for _, n := range []int64{0, 5, 20, 200, 202, 1005, 1050, 12345, 10000, -250, math.MaxInt64, math.MinInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, fen int64) {
		ids := Money(fen)
		fuzzCheckIDs(t, "Money", ids)
		// Split at 元, 角, 分 and read each part back.
		var yuan, jiao, fenPart uint64
		neg := len(ids) > 0 && ids[0] == idFu
		rest := ids
		if neg {
			rest = rest[1:]
		}
		var cur []string
		for _, id := range rest {
			switch id {
			case idYuan:
				yuan, _ = fuzzReadInteger(t, cur)
				cur = nil
			case idJiao:
				jiao, _ = fuzzReadInteger(t, cur)
				cur = nil
			case idFen:
				fenPart, _ = fuzzReadInteger(t, cur)
				cur = nil
			case idZheng:
				if len(cur) != 0 {
					t.Fatalf("Money(%d): 整 after %v", fen, cur)
				}
			default:
				cur = append(cur, id)
			}
		}
		if len(cur) != 0 && !(len(cur) == 1 && cur[0] == idZero) {
			t.Fatalf("Money(%d) = %v ends with %v", fen, ids, cur)
		}
		u := magnitude(fen)
		if neg != (fen < 0) || yuan != u/100 || jiao != u/10%10 || fenPart != u%10 {
			t.Fatalf("Money(%d) = %s %v reads back as %d元%d角%d分 (negative %v)", fen, Text(ids), ids, yuan, jiao, fenPart, neg)
		}
	})
}

func FuzzDigits(f *testing.F) {
	for _, s := range []string{"", "95598", "0571-8765 4321", "+86 (10) 1234", "GD2026-000111", "１２", "\xff1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := Digits(s)
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				n++
			}
		}
		if len(ids) != n {
			t.Fatalf("Digits(%q) = %v, want %d ids", s, ids, n)
		}
		if n > 0 {
			fuzzCheckIDs(t, "Digits", ids)
		}
		var b strings.Builder
		for _, id := range ids {
			if id == idYao {
				b.WriteByte('1')
			} else {
				b.WriteByte(id[1])
			}
		}
		want := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		if b.String() != want {
			t.Fatalf("Digits(%q) reads %q", s, b.String())
		}
	})
}

func FuzzWhen(f *testing.F) {
	f.Add(int64(1795332600), int64(0), int32(8*3600))
	f.Add(int64(0), int64(0), int32(0))
	f.Add(int64(-62135596800), int64(1), int32(-12*3600))
	f.Add(int64(253402300799), int64(999999999), int32(14*3600))
	f.Add(int64(math.MaxInt64), int64(math.MinInt64), int32(math.MinInt32))
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int32) {
		tm := time.Unix(sec, nsec).In(time.FixedZone("X", int(offset)))
		ids := When(tm)
		fuzzCheckIDs(t, "When", ids)
		ids = Date(tm)
		fuzzCheckIDs(t, "Date", ids)
	})
}
