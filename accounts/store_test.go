package accounts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func newStore(t *testing.T) (*Store, *redis.Client, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	return New(rdb, "test:"), rdb, srv
}

func TestPutAndLookup(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := newStore(t)
	want := Account{
		Number: "1000000001", Name: "张伟", Phones: []string{"+86 138-0013-8000", "010 6500 1234"},
		Address: "北京市朝阳区建国路88号", Area: "朝阳区", Transformer: "TX-0101", Class: ClassResidential,
		BalanceFen: 12345, LastBillFen: 8860, LastBillDate: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), BirthYear: 1950,
	}
	if err := s.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	for _, phone := range []string{"13800138000", "+8613800138000", "01065001234"} {
		got, err := s.ByPhone(ctx, phone)
		if err != nil {
			t.Fatalf("ByPhone(%s): %v", phone, err)
		}
		if got.Number != want.Number || got.Name != want.Name || got.BalanceFen != 12345 ||
			!got.LastBillDate.Equal(want.LastBillDate) || got.BirthYear != 1950 {
			t.Errorf("ByPhone(%s) = %+v", phone, got)
		}
		if strings.Join(got.Phones, ",") != "13800138000,01065001234" {
			t.Errorf("stored phones = %q, want normalised", got.Phones)
		}
	}
	if _, err := s.ByNumber(ctx, "1000000001"); err != nil {
		t.Errorf("ByNumber: %v", err)
	}
	for _, phone := range []string{"13900139000", "", "anonymous"} {
		if _, err := s.ByPhone(ctx, phone); !errors.Is(err, ErrNotFound) {
			t.Errorf("ByPhone(%q) = %v, want ErrNotFound", phone, err)
		}
	}
	for _, n := range []string{"1000000009", "", "x:*"} {
		if _, err := s.ByNumber(ctx, n); !errors.Is(err, ErrNotFound) {
			t.Errorf("ByNumber(%q) = %v, want ErrNotFound", n, err)
		}
	}
	// The prefix is honoured: nothing outside it.
	keys, _ := rdb.Keys(ctx, "*").Result()
	for _, k := range keys {
		if !strings.HasPrefix(k, "test:") {
			t.Errorf("key %q outside prefix", k)
		}
	}
	if err := s.Put(ctx, Account{Number: "1", Class: "vip"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Put invalid = %v, want ErrInvalid", err)
	}
}

func TestPutReindexesPhones(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := newStore(t)
	a := Account{Number: "1000000001", Name: "张伟", Class: ClassResidential,
		Phones: []string{"13800138000", "13800138001", "13800138002"}}
	if err := s.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	// Another account takes 13800138002 over; re-putting the first one
	// without it must not delete the other account's entry.
	b := Account{Number: "1000000002", Name: "李娜", Class: ClassResidential, Phones: []string{"13800138002"}}
	if err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	a.Phones = []string{"13800138000", "13700137000"}
	if err := s.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"13800138000": "1000000001",
		"13700137000": "1000000001",
		"13800138001": "", // stale: removed
		"13800138002": "1000000002",
	}
	for phone, want := range cases {
		got, err := s.ByPhone(ctx, phone)
		switch {
		case want == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("ByPhone(%s) = %+v, %v; want ErrNotFound", phone, got, err)
		case want != "" && (err != nil || got.Number != want):
			t.Errorf("ByPhone(%s) = %q, %v; want %s", phone, got.Number, err, want)
		}
	}
	if n, _ := rdb.HLen(ctx, "test:account:phones").Result(); n != 3 {
		t.Errorf("phone index has %d entries, want 3", n)
	}
}

func TestImportDemoFile(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	f, err := os.Open("../deploy/dev/accounts.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := s.Import(ctx, f)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if n < 8 {
		t.Errorf("imported %d accounts, want at least 8", n)
	}

	a, err := s.ByPhone(ctx, "13800138000")
	if err != nil {
		t.Fatal(err)
	}
	if a.Number != "1000000001" || a.BalanceFen != 12345 || a.LastBillFen != 8860 ||
		a.LastBillDate.Format(time.DateOnly) != "2026-10-31" {
		t.Errorf("13800138000 -> %+v", a)
	}
	b, err := s.ByPhone(ctx, "13900139000")
	if err != nil {
		t.Fatal(err)
	}
	if b.Number != "1000000002" || b.BalanceFen != -2050 {
		t.Errorf("13900139000 -> %+v", b)
	}

	// The demo set must exercise the routing cases: an important customer
	// and a caller over 65.
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	all, err := ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	var important, senior bool
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, a := range all {
		important = important || a.Class == ClassImportant
		senior = senior || a.Age(now) > 65
		if len(a.Phones) == 0 || a.Area == "" || a.Transformer == "" || a.Address == "" {
			t.Errorf("demo account %s incomplete: %+v", a.Number, a)
		}
	}
	if !important || !senior {
		t.Errorf("demo set lacks important (%v) or over-65 (%v) caller", important, senior)
	}
}

func TestImportWritesNothingOnBadRow(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := newStore(t)
	in := header +
		"1000000001,张伟,13800138000,,,,residential,1.00,,,\n" +
		"1000000002,李娜,13900139000,,,,residential,1.234,,,\n"
	n, err := s.Import(ctx, strings.NewReader(in))
	if n != 0 || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("Import = %d, %v; want 0 and an ErrInvalid naming line 3", n, err)
	}
	if size, _ := rdb.DBSize(ctx).Result(); size != 0 {
		t.Errorf("%d keys written by a failed import", size)
	}
}

func TestImportLarge(t *testing.T) {
	// More rows than one pipeline batch, and re-importing is idempotent.
	ctx := context.Background()
	s, rdb, _ := newStore(t)
	var b strings.Builder
	b.WriteString(header)
	const rows = importBatch*2 + 7
	for i := range rows {
		b.WriteString(strings.Join([]string{
			fmt.Sprintf("2%09d", i), "户主", fmt.Sprintf("139%08d", i), "", "", "", "residential", "1.00", "", "", "",
		}, ",") + "\n")
	}
	for range 2 {
		n, err := s.Import(ctx, strings.NewReader(b.String()))
		if err != nil || n != rows {
			t.Fatalf("Import = %d, %v; want %d", n, err, rows)
		}
	}
	if got, _ := rdb.HLen(ctx, "test:account:phones").Result(); got != rows {
		t.Errorf("phone index %d, want %d", got, rows)
	}
	a, err := s.ByPhone(ctx, "13900001000")
	if err != nil || a.Number != "2000001000" {
		t.Errorf("ByPhone = %+v, %v", a, err)
	}
}

func TestDeadRedis(t *testing.T) {
	ctx := context.Background()
	s, _, srv := newStore(t)
	srv.Kill(t)
	err := s.Put(ctx, Account{Number: "1", Name: "x", Class: ClassResidential})
	if err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "accounts: put") {
		t.Errorf("Put on dead redis = %v", err)
	}
	if _, err := s.ByPhone(ctx, "13800138000"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("ByPhone on dead redis = %v, want a connection error", err)
	}
}
