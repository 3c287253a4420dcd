package tickets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// clock is a settable test clock; each call advances it by a millisecond
// so creation order is visible in the scores.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// 2026-11-22 10:00 China time.
var start = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*Store, *redis.Client, *redistest.Server, *clock) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	c := &clock{t: start}
	return New(rdb, "test:", c.Now), rdb, srv, c
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	var prev string
	for i := 1; i <= 3; i++ {
		tk, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "+86 138-0013-8000", Address: "北京市朝阳区建国路88号", MenuPath: "1-2"})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("20261122%06d", i); tk.ID != want {
			t.Errorf("ID = %s, want %s", tk.ID, want)
		}
		if len(tk.ID) != 14 || !ValidID(tk.ID) || tk.ID <= prev {
			t.Errorf("ID %s not 14 increasing digits after %s", tk.ID, prev)
		}
		prev = tk.ID
		if tk.Status != StatusAccepted || tk.Channel != Channel95598 || tk.Phone != "13800138000" ||
			tk.CreatedAt.IsZero() || !tk.UpdatedAt.Equal(tk.CreatedAt) {
			t.Errorf("created ticket = %+v", tk)
		}
		if len(tk.Audit) != 1 || tk.Audit[0].Actor != DefaultActor || tk.Audit[0].Action != ActionAccepted {
			t.Errorf("audit = %+v", tk.Audit)
		}
		got, err := s.Get(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != tk.ID || got.Address != tk.Address || got.MenuPath != "1-2" || !got.CreatedAt.Equal(tk.CreatedAt) {
			t.Errorf("Get = %+v, want %+v", got, tk)
		}
	}
	// The day counter expires, and every index holds the tickets.
	ttl, err := rdb.TTL(ctx, "test:tickets:seq:20261122").Result()
	if err != nil || ttl <= 0 || ttl > seqTTL {
		t.Errorf("counter TTL = %v, %v", ttl, err)
	}
	for _, k := range []string{"test:tickets:all", "test:tickets:by_type:fault", "test:tickets:by_phone:13800138000"} {
		if n, _ := rdb.ZCard(ctx, k).Result(); n != 3 {
			t.Errorf("%s has %d entries, want 3", k, n)
		}
	}

	// A caller-supplied accepting actor is kept; status and audit are not.
	tk, err := s.Create(ctx, Ticket{Type: TypeComplaint, Account: "1000000001", Status: StatusClosed,
		Audit: []AuditEntry{{Actor: "agent:1001", Note: "来电投诉抄表员"}, {Actor: "x", Action: "closed"}}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != StatusAccepted || len(tk.Audit) != 1 || tk.Audit[0].Actor != "agent:1001" || tk.Audit[0].Note != "来电投诉抄表员" {
		t.Errorf("agent ticket = %+v", tk)
	}
	if n, _ := rdb.ZCard(ctx, "test:tickets:by_account:1000000001").Result(); n != 1 {
		t.Errorf("account index has %d entries, want 1", n)
	}
}

// IDs are dated in China time: 2026-11-22 17:00 UTC is already the 23rd.
func TestIDUsesChinaDate(t *testing.T) {
	ctx := context.Background()
	s, _, _, c := newStore(t)
	c.Set(time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC))
	tk, err := s.Create(ctx, Ticket{Type: TypeConsultation, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	if tk.ID != "20261123000001" {
		t.Errorf("ID = %s, want 20261123000001", tk.ID)
	}
}

func TestCreateValidation(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	cases := map[string]Ticket{
		"no type":          {Phone: "13800138000"},
		"unknown type":     {Type: "outage", Phone: "13800138000"},
		"no phone/account": {Type: TypeFault},
		"bad phone":        {Type: TypeFault, Phone: "anonymous"},
		"bad account":      {Type: TypeFault, Account: "10:*"},
	}
	for name, tk := range cases {
		if _, err := s.Create(ctx, tk); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Create = %v, want ErrInvalid", name, err)
		}
	}
	if n, _ := rdb.DBSize(ctx).Result(); n != 0 {
		t.Errorf("%d keys written by invalid creates", n)
	}
}

func TestCreateSkipsTakenID(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	// Simulate a lost counter: ticket ...000001 exists but the counter is gone.
	first, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000", Note: "first"})
	if err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, "test:tickets:seq:20261122")
	second, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13900139000"})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != "20261122000002" {
		t.Errorf("second ID = %s, want the taken one skipped", second.ID)
	}
	got, _ := s.Get(ctx, first.ID)
	if got.Note != "first" {
		t.Errorf("first ticket overwritten: %+v", got)
	}
}

func TestListByPhone(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	var ids []string
	for i, typ := range []Type{TypeFault, TypeConsultation, TypeComplaint, TypeFault} {
		phone := "13800138000"
		if i == 2 {
			phone = "13900139000"
		}
		tk, err := s.Create(ctx, Ticket{Type: typ, Phone: phone})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	got, err := s.ListByPhone(ctx, "+86 13800138000", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[3], ids[1], ids[0]}; !sameIDs(got, want) {
		t.Errorf("ListByPhone = %v, want %v", idsOf(got), want)
	}
	got, _ = s.ListByPhone(ctx, "13800138000", 2)
	if want := []string{ids[3], ids[1]}; !sameIDs(got, want) {
		t.Errorf("ListByPhone limit 2 = %v, want %v", idsOf(got), want)
	}
	if got, err := s.ListByPhone(ctx, "13700137000", 10); err != nil || len(got) != 0 {
		t.Errorf("unknown phone = %v, %v", idsOf(got), err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s, _, _, c := newStore(t)
	var all []Ticket
	for i := range 30 {
		typ := TypeFault
		if i%3 == 0 {
			typ = TypeConsultation
		}
		tk, err := s.Create(ctx, Ticket{Type: typ, Phone: fmt.Sprintf("1380013800%d", i%2)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tk)
		c.Set(c.t.Add(time.Minute))
	}
	// Change a status behind the store's back, as a later workflow would.
	if err := s.update(ctx, all[4].ID, func(tk *Ticket, _ time.Time) error { tk.Status = StatusResolved; return nil }); err != nil {
		t.Fatal(err)
	}

	check := func(name string, f Filter, keep func(i int, tk Ticket) bool) {
		t.Helper()
		var want []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i, all[i]) {
				want = append(want, all[i].ID)
			}
		}
		limit := f.Limit
		if limit <= 0 {
			limit = DefaultLimit
		}
		if len(want) > limit {
			want = want[:limit]
		}
		got, err := s.List(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !sameIDs(got, want) {
			t.Errorf("%s: got %v, want %v", name, idsOf(got), want)
		}
	}
	check("all", Filter{}, func(int, Ticket) bool { return true })
	check("limit", Filter{Limit: 5}, func(int, Ticket) bool { return true })
	check("type", Filter{Type: TypeConsultation}, func(i int, _ Ticket) bool { return i%3 == 0 })
	check("type+phone", Filter{Type: TypeFault, Phone: "13800138001"}, func(i int, _ Ticket) bool { return i%3 != 0 && i%2 == 1 })
	check("status", Filter{Status: StatusResolved}, func(i int, _ Ticket) bool { return i == 4 })
	check("status accepted limit", Filter{Status: StatusAccepted, Limit: 4}, func(i int, _ Ticket) bool { return i != 4 })
	check("since/until", Filter{Since: all[10].CreatedAt, Until: all[20].CreatedAt},
		func(i int, _ Ticket) bool { return i >= 10 && i < 20 })
	check("account", Filter{Account: "1000000001"}, func(int, Ticket) bool { return false })

	if _, err := s.List(ctx, Filter{Type: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown type filter = %v, want ErrInvalid", err)
	}
}

func TestAddNote(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	tk, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddNote(ctx, tk.ID, "agent:1001", "客户称整栋楼停电"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Audit) != 2 {
		t.Fatalf("audit = %+v", got.Audit)
	}
	n := got.Audit[1]
	if n.Actor != "agent:1001" || n.Action != ActionNote || n.Note != "客户称整栋楼停电" || !n.At.After(tk.CreatedAt) {
		t.Errorf("note entry = %+v", n)
	}
	if !got.UpdatedAt.Equal(n.At) {
		t.Errorf("UpdatedAt %v, want %v", got.UpdatedAt, n.At)
	}
	if err := s.AddNote(ctx, tk.ID, "", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddNote without actor = %v, want ErrInvalid", err)
	}
}

// Concurrent notes from two "replicas" are all kept: the optimistic retry
// must not lose an append.
func TestAddNoteConcurrent(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	other := New(rdb, "test:", nil)
	tk, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() { errs <- st.AddNote(ctx, tk.ID, "agent", fmt.Sprint("note ", i)) })
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if errors.Is(err, ErrConflict) {
			failed++ // allowed under heavy contention, but never silently
		} else if err != nil {
			t.Error(err)
		}
	}
	got, _ := s.Get(ctx, tk.ID)
	if len(got.Audit) != 1+n-failed {
		t.Errorf("audit has %d entries, want %d (%d conflicts)", len(got.Audit), 1+n-failed, failed)
	}
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	for _, id := range []string{"20261122000001", "", "abc", "2026112200000*"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
		if err := s.AddNote(ctx, id, "agent", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("AddNote(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	other := New(rdb, "test:", nil) // a second replica with the real clock
	const n = 20
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			tk, err := st.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- tk.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if !ValidID(id) || seen[id] {
			t.Errorf("bad or duplicate ID %s", id)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct IDs, want %d", len(seen), n)
	}
}

func TestSequenceExhausted(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	rdb.Set(ctx, "test:tickets:seq:20261122", maxSeq, time.Hour)
	_, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	if !errors.Is(err, ErrSequenceExhausted) {
		t.Errorf("Create = %v, want ErrSequenceExhausted", err)
	}
}

func TestDeadRedis(t *testing.T) {
	ctx := context.Background()
	s, _, srv, _ := newStore(t)
	srv.Kill(t)
	_, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	if err == nil {
		t.Fatal("Create on a dead Redis succeeded")
	}
	t.Logf("Create on a dead Redis: %v", err)
	if !strings.HasPrefix(err.Error(), "tickets: allocate id:") || errors.Is(err, ErrInvalid) {
		t.Errorf("error %q is not a clear wrapped Redis error", err)
	}
	if _, err := s.Get(ctx, "20261122000001"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get on dead Redis = %v, want a connection error", err)
	}
	if err := s.AddNote(ctx, "20261122000001", "a", "b"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("AddNote on dead Redis = %v, want a connection error", err)
	}
}

func idsOf(ts []Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func sameIDs(ts []Ticket, want []string) bool {
	return strings.Join(idsOf(ts), ",") == strings.Join(want, ",")
}
