package outages

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/ids"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// 2026-11-22 10:00 China time.
var start = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*Store, *redis.Client, *redistest.Server, *clocktest.Clock) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	clk := clocktest.New(start)
	return New(rdb, "test:", clk.Now), rdb, srv, clk
}

func declare(t *testing.T, s *Store, o Outage) Outage {
	t.Helper()
	if o.DeclaredBy == "" {
		o.DeclaredBy = "op:1"
	}
	if o.Kind == "" {
		o.Kind = KindFault
	}
	got, err := s.Declare(context.Background(), o)
	if err != nil {
		t.Fatalf("Declare(%+v): %v", o, err)
	}
	return got
}

func idsOf(outs []Outage) []string {
	var r []string
	for _, o := range outs {
		r = append(r, o.ID)
	}
	return r
}

func TestDeclareAndGet(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	restore := start.Add(3 * time.Hour)
	o, err := s.Declare(ctx, Outage{Kind: KindPlanned, Area: " 朝阳区 ", Transformer: "T-100", Reason: "线路检修",
		ExpectedRestore: restore, DeclaredBy: "op:7", ParentTicket: "x", ClearedBy: "y", ID: "O1"})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "O20261122001" || !ValidID(o.ID) {
		t.Errorf("ID = %q", o.ID)
	}
	if o.Area != "朝阳区" || !o.StartedAt.Equal(start) || o.ParentTicket != "" || o.ClearedBy != "" || !o.Active() {
		t.Errorf("declared = %+v", o)
	}
	got, err := s.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != o.ID || got.Kind != KindPlanned || got.Reason != "线路检修" || !got.ExpectedRestore.Equal(restore) ||
		got.DeclaredBy != "op:7" || got.OverrunGrace != 0 || got.ConfirmedBy != "op:7" || got.Unconfirmed {
		t.Errorf("Get = %+v, want %+v", got, o)
	}
	js, _ := rdb.Get(ctx, "test:outage:"+o.ID).Result()
	for _, field := range []string{`"started_at"`, `"declared_by"`, `"parent_ticket"`, `"expected_restore"`} {
		if !strings.Contains(js, field) {
			t.Errorf("stored JSON %s lacks %s", js, field)
		}
	}
	if strings.Contains(js, "cleared_at") || strings.Contains(js, "OverrunGrace") {
		t.Errorf("stored JSON %s has zero cleared_at or the grace", js)
	}
	if v, _ := rdb.Get(ctx, "test:outages:active:transformer:T-100").Result(); v != o.ID {
		t.Errorf("transformer index = %q", v)
	}
	for _, k := range []string{"test:outages:active", "test:outages:active:area:朝阳区", "test:outages:by_area:朝阳区"} {
		if n, _ := rdb.ZCard(ctx, k).Result(); n != 1 {
			t.Errorf("%s has %d entries, want 1", k, n)
		}
	}
	if ttl, _ := rdb.TTL(ctx, "test:outages:seq:20261122").Result(); ttl <= 0 {
		t.Errorf("counter TTL = %v", ttl)
	}
	// The next one on another transformer gets the next number; unknown
	// restore is fine.
	o2 := declare(t, s, Outage{Transformer: "T-200"})
	if o2.ID != "O20261122002" || !o2.ExpectedRestore.IsZero() {
		t.Errorf("second = %+v", o2)
	}

	for _, id := range []string{"O20261122999", "nope", "", "O2026"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestDeclareValidation(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	cases := map[string]Outage{
		"unknown kind":          {Kind: "storm", Area: "A", DeclaredBy: "op"},
		"no kind":               {Area: "A", DeclaredBy: "op"},
		"no area nor trafo":     {Kind: KindFault, DeclaredBy: "op"},
		"blank area and trafo":  {Kind: KindFault, Area: "  ", Transformer: "\t", DeclaredBy: "op"},
		"control char in area":  {Kind: KindFault, Area: "A\nB", DeclaredBy: "op"},
		"transformer too long":  {Kind: KindFault, Transformer: strings.Repeat("t", ids.MaxNameLen+1), DeclaredBy: "op"},
		"no declarer":           {Kind: KindFault, Area: "A"},
		"restore in the past":   {Kind: KindFault, Area: "A", DeclaredBy: "op", ExpectedRestore: start.Add(-time.Minute)},
		"restore now":           {Kind: KindFault, Area: "A", DeclaredBy: "op", ExpectedRestore: start},
		"start in the future":   {Kind: KindPlanned, Area: "A", DeclaredBy: "op", StartedAt: start.Add(time.Hour), ExpectedRestore: start.Add(2 * time.Hour)},
		"restore before start ": {Kind: KindPlanned, Area: "A", DeclaredBy: "op", StartedAt: start.Add(4 * time.Minute), ExpectedRestore: start.Add(time.Minute)},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Declare(ctx, o); !errors.Is(err, ErrInvalid) {
				t.Errorf("Declare = %v, want ErrInvalid", err)
			}
		})
	}
	if keys, _ := rdb.Keys(ctx, "test:*").Result(); len(keys) != 0 {
		t.Errorf("rejected declarations left keys %v", keys)
	}
	// A start a little in the past or within clock skew is accepted.
	declare(t, s, Outage{Area: "A", StartedAt: start.Add(-2 * time.Hour), ExpectedRestore: start.Add(time.Hour)})
	declare(t, s, Outage{Area: "A", StartedAt: start.Add(time.Minute)})
}

func TestConflictOnSameTransformer(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	first := declare(t, s, Outage{Area: "A", Transformer: "T-1"})
	_, err := s.Declare(ctx, Outage{Kind: KindPlanned, Area: "B", Transformer: "T-1", DeclaredBy: "op:2"})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), first.ID) {
		t.Fatalf("second declare = %v, want ErrConflict naming %s", err, first.ID)
	}
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Existing != first.ID || ce.Transformer != "T-1" {
		t.Errorf("ConflictError = %+v", ce)
	}
	// Areas do not conflict: a second area-wide outage is allowed.
	declare(t, s, Outage{Area: "A"})
	declare(t, s, Outage{Area: "A"})
	// After clearing, the transformer is free again.
	if _, err := s.Clear(ctx, first.ID, "op:1"); err != nil {
		t.Fatal(err)
	}
	declare(t, s, Outage{Transformer: "T-1"})
}

// Twenty replicas declaring on one transformer at once: exactly one wins.
func TestConflictRace(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range 20 {
		wg.Go(func() {
			_, err := s.Declare(ctx, Outage{Kind: KindFault, Transformer: "T-9", DeclaredBy: "op"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 19 {
		t.Errorf("wins = %d, conflicts = %d", wins, conflicts)
	}
	act, err := s.Active(ctx)
	if err != nil || len(act) != 1 {
		t.Errorf("Active = %v, %v", idsOf(act), err)
	}
}

func TestForCustomer(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	areaWide := declare(t, s, Outage{Kind: KindPlanned, Area: "A", ExpectedRestore: start.Add(2 * time.Hour)})
	clk.Add(time.Minute)
	trafo := declare(t, s, Outage{Area: "A", Transformer: "T-1"})
	clk.Add(time.Minute)
	otherArea := declare(t, s, Outage{Area: "B"})
	clk.Add(time.Minute)
	trafoOnly := declare(t, s, Outage{Transformer: "T-7"})

	cases := []struct {
		name, area, transformer string
		want                    string // "" for none
	}{
		{"transformer wins over area", "A", "T-1", trafo.ID},
		{"area when transformer is clear", "A", "T-2", areaWide.ID},
		{"area when transformer unknown", "A", "", areaWide.ID},
		{"transformer without area", "", "T-1", trafo.ID},
		{"transformer-only outage", "C", "T-7", trafoOnly.ID},
		{"other area", "B", "T-3", otherArea.ID},
		{"nothing", "C", "T-3", ""},
		{"nothing known", "", "", ""},
		{"other transformer in area does not cover", "D", "T-1x", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, ok, err := s.ForCustomer(ctx, c.area, c.transformer)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (c.want != "") || o.ID != c.want {
				t.Errorf("ForCustomer(%q, %q) = %s, %v; want %q", c.area, c.transformer, o.ID, ok, c.want)
			}
		})
	}

	// Area B only has an outage on transformer T-5 after clearing the
	// area-wide one: a customer on T-6 in B is not covered.
	if _, err := s.Clear(ctx, otherArea.ID, "op"); err != nil {
		t.Fatal(err)
	}
	declare(t, s, Outage{Area: "B", Transformer: "T-5"})
	if o, ok, err := s.ForCustomer(ctx, "B", "T-6"); ok || err != nil {
		t.Errorf("B/T-6 = %+v, %v, %v; want none", o, ok, err)
	}
	// Clearing the transformer outage falls back to the area-wide one.
	if _, err := s.Clear(ctx, trafo.ID, "op"); err != nil {
		t.Fatal(err)
	}
	if o, ok, _ := s.ForCustomer(ctx, "A", "T-1"); !ok || o.ID != areaWide.ID {
		t.Errorf("after clear: %s, %v; want %s", o.ID, ok, areaWide.ID)
	}
	// The most recently started of two area-wide outages wins.
	clk.Add(time.Minute)
	newer := declare(t, s, Outage{Area: "A"})
	if o, ok, _ := s.ForCustomer(ctx, "A", ""); !ok || o.ID != newer.ID {
		t.Errorf("two area-wide: %s, %v; want %s", o.ID, ok, newer.ID)
	}
}

// Outages past their restore time are still returned; Overrun tells,
// after the store's grace.
func TestOverrun(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	s = s.WithOverrunGrace(time.Hour)
	o := declare(t, s, Outage{Area: "A", ExpectedRestore: start.Add(2 * time.Hour)})
	unknown := declare(t, s, Outage{Transformer: "T-1"})
	if o.Overrun(clk.Now()) {
		t.Error("fresh outage overrun")
	}
	clk.Add(2*time.Hour + 30*time.Minute) // past restore, within grace
	got, ok, err := s.ForCustomer(ctx, "A", "")
	if err != nil || !ok || got.OverrunGrace != time.Hour || got.Overrun(clk.Now()) {
		t.Errorf("within grace: %+v, %v, %v", got, ok, err)
	}
	clk.Add(time.Hour) // beyond grace: still returned, now overrun
	got, ok, err = s.ForCustomer(ctx, "A", "")
	if err != nil || !ok || got.ID != o.ID || !got.Overrun(clk.Now()) {
		t.Errorf("beyond grace: %+v, %v, %v", got, ok, err)
	}
	if u, _ := s.Get(ctx, unknown.ID); u.Overrun(clk.Now().Add(1000 * time.Hour)) {
		t.Error("unknown restore time overran")
	}
	act, err := s.Active(ctx)
	if err != nil || len(act) != 2 {
		t.Errorf("Active = %v, %v", idsOf(act), err)
	}
	cleared, _ := s.Clear(ctx, o.ID, "op")
	if cleared.Overrun(clk.Now()) {
		t.Error("cleared outage overrun")
	}
}

func TestClear(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, clk := newStore(t)
	o := declare(t, s, Outage{Area: "A", Transformer: "T-1", Reason: "大风"})
	keep := declare(t, s, Outage{Area: "A"})
	if _, err := s.SetParentTicket(ctx, o.ID, "20261122000001"); err != nil {
		t.Fatal(err)
	}
	clk.Add(90 * time.Minute)
	c, err := s.Clear(ctx, o.ID, " op:3 ")
	if err != nil {
		t.Fatal(err)
	}
	if c.Active() || !c.ClearedAt.Equal(clk.Now()) || c.ClearedBy != "op:3" || c.ParentTicket != "20261122000001" || c.Reason != "大风" {
		t.Errorf("cleared = %+v", c)
	}
	act, err := s.Active(ctx)
	if err != nil || len(act) != 1 || act[0].ID != keep.ID {
		t.Errorf("Active = %v, %v; want [%s]", idsOf(act), err, keep.ID)
	}
	if n, _ := rdb.Exists(ctx, "test:outages:active:transformer:T-1").Result(); n != 0 {
		t.Error("transformer index survived the clear")
	}
	if m, _ := rdb.ZRange(ctx, "test:outages:active:area:A", 0, -1).Result(); len(m) != 1 || m[0] != keep.ID {
		t.Errorf("area index = %v", m)
	}
	if _, ok, _ := s.ForCustomer(ctx, "", "T-1"); ok {
		t.Error("cleared outage still covers its transformer")
	}
	// Idempotent: a second clear changes nothing and does not fail.
	clk.Add(time.Minute)
	again, err := s.Clear(ctx, o.ID, "op:4")
	if err != nil || again.ClearedBy != "op:3" || !again.ClearedAt.Equal(c.ClearedAt) {
		t.Errorf("second clear = %+v, %v", again, err)
	}
	got, _ := s.Get(ctx, o.ID)
	if got.ClearedBy != "op:3" {
		t.Errorf("stored after second clear = %+v", got)
	}

	for name, c := range map[string]struct {
		id, by string
		want   error
	}{
		"unknown id": {"O20261122999", "op", ErrNotFound},
		"bad id":     {"x", "op", ErrNotFound},
		"no actor":   {keep.ID, " ", ErrInvalid},
	} {
		if _, err := s.Clear(ctx, c.id, c.by); !errors.Is(err, c.want) {
			t.Errorf("%s: Clear = %v, want %v", name, err, c.want)
		}
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	o := declare(t, s, Outage{Transformer: "T-1", Reason: "故障", ExpectedRestore: start.Add(time.Hour)})
	clk.Add(30 * time.Minute)
	later := start.Add(4 * time.Hour)
	u, err := s.Update(ctx, o.ID, later, "")
	if err != nil {
		t.Fatal(err)
	}
	if !u.ExpectedRestore.Equal(later) || u.Reason != "故障" {
		t.Errorf("extended = %+v", u)
	}
	u, err = s.Update(ctx, o.ID, time.Time{}, "电缆烧毁")
	if err != nil || !u.ExpectedRestore.IsZero() || u.Reason != "电缆烧毁" {
		t.Errorf("unknown restore = %+v, %v", u, err)
	}
	if got, _ := s.Get(ctx, o.ID); got.Reason != "电缆烧毁" || !got.ExpectedRestore.IsZero() {
		t.Errorf("stored = %+v", got)
	}
	if _, err := s.Update(ctx, o.ID, clk.Now().Add(-time.Minute), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("past restore: %v", err)
	}
	if _, err := s.Update(ctx, "O20261122999", later, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := s.Clear(ctx, o.ID, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, o.ID, later, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("update of cleared: %v", err)
	}
}

// Concurrent updates and a parent being set never lose each other's
// changes.
func TestUpdateConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	o := declare(t, s, Outage{Transformer: "T-1"})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := s.Update(ctx, o.ID, start.Add(time.Duration(i+1)*time.Hour), "r"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		if _, err := s.SetParentTicket(ctx, o.ID, "P"); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	got, err := s.Get(ctx, o.ID)
	if err != nil || got.ParentTicket != "P" || got.Reason != "r" || got.ExpectedRestore.IsZero() {
		t.Errorf("after concurrent updates: %+v, %v", got, err)
	}
}

func TestSetParentTicketRace(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	o := declare(t, s, Outage{Area: "A", Transformer: "T-1", Reason: "10kV线路/跳闸"})
	const n = 20
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p, err := s.SetParentTicket(ctx, o.ID, "2026112200"+string(rune('A'+i)))
			if err != nil {
				t.Error(err)
			}
			got[i] = p
		})
	}
	wg.Wait()
	if got[0] == "" {
		t.Fatal("no parent")
	}
	winners := 0
	for i, p := range got {
		if p != got[0] {
			t.Errorf("goroutine %d got %q, goroutine 0 got %q", i, p, got[0])
		}
		if p == "2026112200"+string(rune('A'+i)) {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d goroutines think they won", winners)
	}
	stored, err := s.Get(ctx, o.ID)
	if err != nil || stored.ParentTicket != got[0] || stored.Reason != "10kV线路/跳闸" || !stored.StartedAt.Equal(o.StartedAt) {
		t.Errorf("stored = %+v, %v", stored, err)
	}
	// Later calls keep the first parent.
	if p, err := s.SetParentTicket(ctx, o.ID, "other"); err != nil || p != got[0] {
		t.Errorf("later = %q, %v", p, err)
	}
}

func TestSetParentTicketErrors(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	o := declare(t, s, Outage{Area: "A"})
	withParent := declare(t, s, Outage{Area: "A"})
	if _, err := s.SetParentTicket(ctx, withParent.ID, "P1"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{o.ID, withParent.ID} {
		if _, err := s.Clear(ctx, id, "op"); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, id, ticket string
		want             error
		parent           string
	}{
		{"empty ticket", o.ID, " ", ErrInvalid, ""},
		{"unknown outage", "O20261122999", "P", ErrNotFound, ""},
		{"bad id", "zz", "P", ErrNotFound, ""},
		{"cleared without parent", o.ID, "P", ErrConflict, ""},
		{"cleared with parent", withParent.ID, "P2", nil, "P1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.SetParentTicket(ctx, c.id, c.ticket)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) || p != c.parent {
				t.Errorf("SetParentTicket = %q, %v; want %q, %v", p, err, c.parent, c.want)
			}
		})
	}
}

func TestHistoryAndFrequency(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	yearAgo := start.AddDate(-1, 0, 0)
	clk.Add(-400 * 24 * time.Hour) // before the window
	old := declare(t, s, Outage{Area: "A", Transformer: "T-1"})
	if _, err := s.Clear(ctx, old.ID, "op"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, tr := range []string{"T-1", "T-2", "T-1", "", "T-3", "T-1"} {
		target := yearAgo.Add(time.Duration(i+1) * 30 * 24 * time.Hour)
		clk.Add(target.Sub(clk.Now()))
		o := declare(t, s, Outage{Area: "A", Transformer: tr})
		want = append(want, o.ID)
		if i < 5 { // the last one stays active
			if _, err := s.Clear(ctx, o.ID, "op"); err != nil {
				t.Fatal(err)
			}
		}
	}
	declare(t, s, Outage{Area: "B", Transformer: "T-9"})
	declare(t, s, Outage{Transformer: "T-8"})

	h, err := s.History(ctx, "A", yearAgo)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(idsOf(h), ",") != strings.Join(want, ",") {
		t.Errorf("History = %v, want %v", idsOf(h), want)
	}
	if !h[len(h)-1].Active() || h[0].Active() {
		t.Error("History lost the active/cleared state")
	}
	f := Frequency(h)
	if len(f) != 3 || f["T-1"] != 3 || f["T-2"] != 1 || f["T-3"] != 1 {
		t.Errorf("Frequency = %v", f)
	}
	all, err := s.History(ctx, "A", time.Time{})
	if err != nil || len(all) != 7 || all[0].ID != old.ID {
		t.Errorf("History since zero = %v, %v", idsOf(all), err)
	}
	if Frequency(all)["T-1"] != 4 {
		t.Errorf("Frequency(all) = %v", Frequency(all))
	}
	if h, err := s.History(ctx, "nowhere", yearAgo); err != nil || len(h) != 0 {
		t.Errorf("empty area = %v, %v", h, err)
	}
	if _, err := s.History(ctx, " ", yearAgo); !errors.Is(err, ErrInvalid) {
		t.Errorf("blank area: %v", err)
	}
	if len(Frequency(nil)) != 0 {
		t.Error("Frequency(nil) not empty")
	}
}

// With Redis gone every call fails with a wrapped error that is neither
// ErrNotFound nor ErrInvalid, and no call hangs.
func TestDeadRedis(t *testing.T) {
	s, _, srv, _ := newStore(t)
	live := declare(t, s, Outage{Area: "A", Transformer: "T-1"})
	srv.Kill(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	calls := map[string]func() error{
		"Declare": func() error {
			_, err := s.Declare(ctx, Outage{Kind: KindFault, Area: "B", DeclaredBy: "op"})
			return err
		},
		"Get":    func() error { _, err := s.Get(ctx, live.ID); return err },
		"Active": func() error { _, err := s.Active(ctx); return err },
		"ForCustomer": func() error {
			_, ok, err := s.ForCustomer(ctx, "A", "T-1")
			if ok {
				return errors.New("ok with dead redis")
			}
			return err
		},
		"Update": func() error { _, err := s.Update(ctx, live.ID, start.Add(time.Hour), ""); return err },
		"Clear":  func() error { _, err := s.Clear(ctx, live.ID, "op"); return err },
		"SetParentTicket": func() error {
			_, err := s.SetParentTicket(ctx, live.ID, "P")
			return err
		},
		"History": func() error { _, err := s.History(ctx, "A", time.Time{}); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict) {
			t.Errorf("%s: err = %v, want a Redis failure", name, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "outages: ") || errors.Unwrap(err) == nil {
			t.Errorf("%s: err = %v, want wrapped with context", name, err)
		}
	}
}
