package accounts

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseYuan(t *testing.T) {
	ok := []struct {
		in  string
		fen int64
	}{
		{"123.45", 12345},
		{"-20.5", -2050},
		{"-20.50", -2050},
		{"0.29", 29}, // 0.29*100 is 28.999999999999996 in float64
		{"0.1", 10},
		{"7", 700},
		{"+7.01", 701},
		{"0", 0},
		{"-0.01", -1},
		{"92233720368547758.07", math.MaxInt64},
	}
	for _, c := range ok {
		got, err := ParseYuan(c.in)
		if err != nil || got != c.fen {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", c.in, got, err, c.fen)
		}
	}
	bad := []string{
		"", "1.234", "abc", "1,5", "1.", ".5", "-", "--1", "1e3", " 1", "1.2a",
		"¥12", "１２", "92233720368547758.08", "99999999999999999999",
	}
	for _, in := range bad {
		if got, err := ParseYuan(in); err == nil {
			t.Errorf("ParseYuan(%q) = %d, want error", in, got)
		}
	}
}

func TestFormatYuan(t *testing.T) {
	for fen, want := range map[int64]string{
		12345: "123.45", -2050: "-20.50", 0: "0.00", 5: "0.05", -1: "-0.01",
		math.MinInt64: "-92233720368547758.08",
	} {
		if got := FormatYuan(fen); got != want {
			t.Errorf("FormatYuan(%d) = %q, want %q", fen, got, want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ in, want string }{
		{"13800138000", "13800138000"},
		{"138 0013 8000", "13800138000"},
		{"138-0013-8000", "13800138000"},
		{"+8613800138000", "13800138000"},
		{"+86 138 0013 8000", "13800138000"},
		{"8613800138000", "13800138000"},
		{"008613800138000", "13800138000"},
		{"010-65001234", "01065001234"},
		{"(010) 6500 1234", "01065001234"},
		{"+86 10 8523 1000", "01085231000"},
		{"+86 755 1234 5678", "075512345678"},
		{"95598", "95598"},
		// 86 followed by something that is not a mobile is left alone: it
		// may be a local number that happens to start with 86.
		{"86123456", "86123456"},
	}
	for _, c := range cases {
		if got := NormalizePhone(c.in); got != c.want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

const header = "account,name,phones,address,area,transformer,class,balance,last_bill,last_bill_date,birth_year\n"

func TestParseCSVGood(t *testing.T) {
	in := "\uFEFF" + header +
		"# a comment line\n" +
		"1000000001,张伟,+86 138-0013-8000;010-65001234;,北京市朝阳区建国路88号,朝阳区,TX-0101,Residential,123.45,88.60,2026-10-31,1950\n" +
		`1000000002," 李娜 ",,,,,important,-20.5,,,` + "\n"
	got, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d accounts, want 2", len(got))
	}
	a := got[0]
	if a.Number != "1000000001" || a.Name != "张伟" || a.Address != "北京市朝阳区建国路88号" ||
		a.Area != "朝阳区" || a.Transformer != "TX-0101" || a.Class != ClassResidential ||
		a.BalanceFen != 12345 || a.LastBillFen != 8860 || a.BirthYear != 1950 ||
		!a.LastBillDate.Equal(time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("account 1 = %+v", a)
	}
	if strings.Join(a.Phones, ",") != "13800138000,01065001234" {
		t.Errorf("phones = %q", a.Phones)
	}
	b := got[1]
	if b.Name != "李娜" || b.BalanceFen != -2050 || len(b.Phones) != 0 || !b.LastBillDate.IsZero() || b.BirthYear != 0 {
		t.Errorf("account 2 = %+v", b)
	}
}

func TestParseCSVRejects(t *testing.T) {
	const good = "1000000001,张伟,13800138000,地址,朝阳区,TX-0101,residential,1.00,2.00,2026-10-31,1980\n"
	cases := []struct {
		name   string
		in     string
		line   int
		column string
		msg    string
	}{
		{"empty file", "", 0, "", "header"},
		{"missing column", "account,name,phones\n", 1, "", "missing column(s) address"},
		{"unknown column", strings.TrimSuffix(header, "\n") + ",balanse\n" + good, 1, "", `unknown column "balanse"`},
		{"duplicate column", strings.TrimSuffix(header, "\n") + ",name\n", 1, "", `column "name" twice`},
		{"field count", header + good + "1000000002,李娜\n", 3, "", "2 fields"},
		{"bare quote", header + "1000000002,李\"娜,,,,,residential,1,,,\n", 2, "", "quote"},
		{"empty account", header + ",张伟,,,,,residential,1,,,\n", 2, "account", "empty"},
		{"non-digit account", header + "10000A0001,张伟,,,,,residential,1,,,\n", 2, "account", "digits"},
		{"empty name", header + "1000000001,,,,,,residential,1,,,\n", 2, "name", "required"},
		{"bad phone", header + "1000000001,张伟,1380013800x,,,,residential,1,,,\n", 2, "phones", "1380013800x"},
		{"short phone", header + "1000000001,张伟,1234,,,,residential,1,,,\n", 2, "phones", "1234"},
		{"empty class", header + "1000000001,张伟,,,,,,1,,,\n", 2, "class", "required"},
		{"unknown class", header + "1000000001,张伟,,,,,importnt,1,,,\n", 2, "class", "importnt"},
		{"empty balance", header + "1000000001,张伟,,,,,residential,,,,\n", 2, "balance", "required"},
		{"three decimals", header + "1000000001,张伟,,,,,residential,1.234,,,\n", 2, "balance", "two decimal"},
		{"garbage balance", header + "1000000001,张伟,,,,,residential,abc,,,\n", 2, "balance", "abc"},
		{"garbage last bill", header + "1000000001,张伟,,,,,residential,1,12元,,\n", 2, "last_bill", "12元"},
		{"bad date", header + "1000000001,张伟,,,,,residential,1,2,2026/10/31,\n", 2, "last_bill_date", "YYYY-MM-DD"},
		{"impossible date", header + "1000000001,张伟,,,,,residential,1,2,2026-02-30,\n", 2, "last_bill_date", "2026-02-30"},
		{"bad birth year", header + "1000000001,张伟,,,,,residential,1,,,19五0\n", 2, "birth_year", "digits"},
		{"birth year range", header + "1000000001,张伟,,,,,residential,1,,,1850\n", 2, "birth_year", "1850"},
		{"duplicate account", header + good + good, 3, "account", "already on line 2"},
		{"phone on two accounts", header + good + "1000000002,李娜,+86 138 0013 8000,,,,residential,1,,,\n", 3, "phones", "account 1000000001 (line 2)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("no error, got %+v", got)
			}
			if got != nil {
				t.Errorf("accounts returned with an error: %+v", got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not mention %q", err, c.msg)
			}
			if c.line == 0 {
				return
			}
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RowError", err)
			}
			if re.Line != c.line || re.Column != c.column {
				t.Errorf("error at line %d column %q, want line %d column %q (%v)", re.Line, re.Column, c.line, c.column, err)
			}
		})
	}
}

// Every bad row is reported, not only the first, so a file can be fixed in
// one pass.
func TestParseCSVReportsAllRows(t *testing.T) {
	in := header +
		"1000000001,张伟,,,,,residential,1.234,,,\n" +
		"1000000002,李娜,,,,,residential,1,,,\n" +
		"1000000003,王芳,,,,,nobody,1,,,\n"
	_, err := ParseCSV(strings.NewReader(in))
	for _, want := range []string{"line 2, column balance", "line 4, column class"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestNormalizeAccount(t *testing.T) {
	a, err := Normalize(Account{Number: " 1000000001 ", Name: "x", Class: "residential",
		Phones: []string{"+86 138 0013 8000", "13800138000", " "}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Number != "1000000001" || len(a.Phones) != 1 || a.Phones[0] != "13800138000" {
		t.Errorf("Normalize = %+v", a)
	}
	for _, bad := range []Account{
		{Number: "", Class: "residential"},
		{Number: "1:2", Class: "residential"},
		{Number: "1", Class: "vip"},
		{Number: "1", Class: "residential", Phones: []string{"call me"}},
	} {
		if _, err := Normalize(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	if got := (Account{BirthYear: 1950}).Age(now); got != 76 {
		t.Errorf("Age = %d, want 76", got)
	}
	if got := (Account{}).Age(now); got != -1 {
		t.Errorf("unknown Age = %d, want -1", got)
	}
}
