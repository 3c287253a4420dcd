package prompts

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"0", "零"},
		{"1", "幺"},
		{"95598", "九五五九八"},
		{"10086", "幺零零八六"},
		{"13800138000", "幺三八零零幺三八零零零"},
		{"0123456789", "零幺二三四五六七八九"},
		{"0571-8765 4321", "零五七幺八七六五四三二幺"},
		{"+86 (10) 1234", "八六幺零幺二三四"},
		{"GD2026-000111", "二零二六零零零幺幺幺"},
		{"abc", ""},
		{"１２", ""}, // full-width digits are not ASCII digits
	}
	for _, tt := range tests {
		got := Digits(tt.in)
		if s := Text(got); s != tt.want {
			t.Errorf("Digits(%q) = %s (%v), want %s", tt.in, s, got, tt.want)
		}
		for _, id := range got {
			if id == "d1" {
				t.Errorf("Digits(%q) uses d1; phone numbers read 1 as 幺", tt.in)
			}
		}
	}
}

func TestInteger(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "零"},
		{1, "一"},
		{2, "二"},
		{9, "九"},
		{10, "十"},
		{11, "十一"},
		{12, "十二"},
		{19, "十九"},
		{20, "二十"},
		{21, "二十一"},
		{22, "二十二"},
		{99, "九十九"},
		{100, "一百"},
		{101, "一百零一"},
		{105, "一百零五"},
		{110, "一百一十"},
		{111, "一百一十一"},
		{120, "一百二十"},
		{200, "两百"},
		{202, "两百零二"},
		{220, "两百二十"},
		{222, "两百二十二"},
		{300, "三百"},
		{999, "九百九十九"},
		{1000, "一千"},
		{1001, "一千零一"},
		{1010, "一千零一十"},
		{1011, "一千零一十一"},
		{1100, "一千一百"},
		{1200, "一千二百"},
		{1220, "一千二百二十"},
		{2000, "两千"},
		{2002, "两千零二"},
		{2020, "两千零二十"},
		{2200, "两千二百"},
		{2222, "两千二百二十二"},
		{9999, "九千九百九十九"},
		{10000, "一万"},
		{10001, "一万零一"},
		{10010, "一万零一十"},
		{10086, "一万零八十六"},
		{10100, "一万零一百"},
		{10200, "一万零两百"},
		{11000, "一万一千"},
		{12000, "一万两千"},
		{12345, "一万两千三百四十五"},
		{20000, "两万"},
		{20002, "两万零二"},
		{22000, "两万两千"},
		{95598, "九万五千五百九十八"},
		{100000, "十万"},
		{100001, "十万零一"},
		{110000, "十一万"},
		{120000, "十二万"},
		{200000, "二十万"},
		{1000000, "一百万"},
		{1000100, "一百万零一百"},
		{1001000, "一百万一千"},
		{2000000, "两百万"},
		{10000000, "一千万"},
		{10000001, "一千万零一"},
		{20000000, "两千万"},
		{22000000, "两千二百万"},
		{99999999, "九千九百九十九万九千九百九十九"},
		{100000000, "一亿"},
		{100000001, "一亿零一"},
		{100010000, "一亿零一万"},
		{100020000, "一亿零两万"},
		{101000000, "一亿零一百万"},
		{110000000, "一亿一千万"},
		{120000000, "一亿两千万"},
		{200000000, "两亿"},
		{1000000000, "十亿"},
		{1234567890, "十二亿三千四百五十六万七千八百九十"},
		{1000000000000, "一万亿"},
		{2000000000000, "两万亿"},
		{1000100000000, "一万零一亿"},
		{10000000000000000, "一亿亿"},
		{math.MaxInt64, "九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零七"},
		{-1, "负一"},
		{-10, "负十"},
		{-12, "负十二"},
		{-200, "负两百"},
		{-10086, "负一万零八十六"},
		{math.MinInt64, "负九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零八"},
	}
	for _, tt := range tests {
		if got := Text(Integer(tt.n)); got != tt.want {
			t.Errorf("Integer(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		{0, "零元"},
		{1, "一分"},
		{2, "两分"},
		{5, "五分"},
		{10, "一角"},
		{20, "两角"},
		{50, "五角"},
		{55, "五角五分"},
		{99, "九角九分"},
		{100, "一元整"},
		{105, "一元零五分"},
		{150, "一元五角"},
		{200, "两元整"},
		{222, "两元两角两分"},
		{1000, "十元整"},
		{1005, "十元零五分"},
		{1050, "十元五角"},
		{1200, "十二元整"},
		{2000, "二十元整"},
		{10000, "一百元整"},
		{10001, "一百元零一分"},
		{12345, "一百二十三元四角五分"},
		{20000, "两百元整"},
		{100000, "一千元整"},
		{1008600, "一万零八十六元整"},
		{123456789, "一百二十三万四千五百六十七元八角九分"},
		{-5, "负五分"},
		{-250, "负两元五角"},
		{-12345, "负一百二十三元四角五分"},
		{-10000, "负一百元整"},
		{math.MinInt64, "负九亿两千二百三十三万七千二百零三亿六千八百五十四万七千七百五十八元零八分"},
	}
	for _, tt := range tests {
		if got := Text(Money(tt.fen)); got != tt.want {
			t.Errorf("Money(%d) = %s, want %s", tt.fen, got, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "二零二六年十一月二十二日"},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "二零二六年一月一日"},
		{time.Date(2010, 2, 10, 0, 0, 0, 0, time.UTC), "二零一零年二月十日"},
		{time.Date(2011, 12, 31, 0, 0, 0, 0, time.UTC), "二零一一年十二月三十一日"},
		{time.Date(2000, 10, 20, 0, 0, 0, 0, time.UTC), "二零零零年十月二十日"},
		{time.Date(1999, 9, 9, 0, 0, 0, 0, time.UTC), "一九九九年九月九日"},
		{time.Date(2026, 3, 21, 23, 59, 59, 0, time.UTC), "二零二六年三月二十一日"},
		// Date reads the time in its own location: 23:30 UTC on the
		// 21st is already the 22nd in Beijing.
		{time.Date(2026, 3, 21, 23, 30, 0, 0, time.UTC).In(shanghai), "二零二六年三月二十二日"},
	}
	for _, tt := range tests {
		got := Date(tt.t)
		if s := Text(got); s != tt.want {
			t.Errorf("Date(%s) = %s, want %s", tt.t, s, tt.want)
		}
		for _, id := range got {
			if id == "d1_yao" || id == "liang" {
				t.Errorf("Date(%s) uses %s", tt.t, id)
			}
		}
	}
}

// TestComposedIDsExist checks, over many values, that composition only ever
// emits ids that the catalogue has, so Asterisk never gets a missing file.
func TestComposedIDsExist(t *testing.T) {
	check := func(what string, ids []string) {
		t.Helper()
		if len(ids) == 0 {
			t.Fatalf("%s: no ids", what)
		}
		for _, id := range ids {
			if !Has(id) {
				t.Fatalf("%s: emits unknown id %q", what, id)
			}
		}
	}
	for n := int64(-1000); n <= 100000; n++ {
		check("Integer", Integer(n))
		check("Money", Money(n))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		n := r.Int64()
		if r.IntN(2) == 0 {
			n = -n
		}
		ids := Integer(n)
		check("Integer", ids)
		check("Money", Money(n))
		// Structural sanity: never two 零 in a row, never a trailing 零,
		// never a leading 一十.
		s := Text(ids)
		if strings.Contains(s, "零零") || (n != 0 && strings.HasSuffix(s, "零")) ||
			strings.HasPrefix(strings.TrimPrefix(s, "负"), "一十") {
			t.Fatalf("Integer(%d) = %s", n, s)
		}
	}
	check("Digits", Digits("0123456789"))
	for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2025; d = d.AddDate(0, 0, 1) {
		check("Date", Date(d))
	}
}

func TestWhen(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC), "十一月二十二日十四时三十分"},
		{time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC), "一月二日九时"},
		{time.Date(2026, 12, 31, 0, 5, 0, 0, time.UTC), "十二月三十一日零时五分"},
	} {
		if got := Text(When(tc.at)); got != tc.want {
			t.Errorf("When(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}
