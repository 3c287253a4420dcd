package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func deadlineScore(t *testing.T, rdb *redis.Client, id string) (time.Time, bool) {
	t.Helper()
	sc, err := rdb.ZScore(context.Background(), "test:tickets:deadlines", id).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(int64(sc)), true
}

func TestDeadlineIndex(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	contact, answer := start.Add(24*time.Hour), start.Add(96*time.Hour)
	tk, err := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", ContactBy: contact, AnswerBy: answer})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := deadlineScore(t, rdb, tk.ID); !ok || !d.Equal(contact) {
		t.Errorf("new: deadline %v %v, want contact %v", d, ok, contact)
	}
	// Registering contacts the customer: the answer deadline is next.
	got, err := s.Apply(ctx, tk.ID, Change{Action: ActionRegister, Actor: "a"})
	if err != nil || got.ContactedAt.IsZero() {
		t.Fatalf("register = %+v, %v", got, err)
	}
	if d, ok := deadlineScore(t, rdb, tk.ID); !ok || !d.Equal(answer) {
		t.Errorf("registered: deadline %v %v, want answer %v", d, ok, answer)
	}
	for _, c := range []Change{{Action: ActionAssign, AssignTo: "x"}, {Action: ActionStart}, {Action: ActionResolve, Result: "r"}} {
		c.Actor = "a"
		if _, err := s.Apply(ctx, tk.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := deadlineScore(t, rdb, tk.ID); ok {
		t.Error("resolved ticket still in the deadline index")
	}
	if n, _ := rdb.ZCard(ctx, "test:tickets:open").Result(); n != 0 {
		t.Errorf("open index has %d entries after resolve", n)
	}
	// Reopening puts it back, with the new deadline when one is given.
	newAnswer := start.Add(120 * time.Hour)
	if _, err := s.Apply(ctx, tk.ID, Change{Action: ActionReopen, Actor: "customer", Note: "不满意", AnswerBy: newAnswer}); err != nil {
		t.Fatal(err)
	}
	if d, ok := deadlineScore(t, rdb, tk.ID); !ok || !d.Equal(newAnswer) {
		t.Errorf("reopened: deadline %v %v, want %v", d, ok, newAnswer)
	}
	if n, _ := rdb.ZCard(ctx, "test:tickets:open:complaint").Result(); n != 1 {
		t.Errorf("open complaint index has %d entries after reopen", n)
	}
	// No deadline, no index entry (but still open).
	nd, err := s.Create(ctx, Ticket{Type: TypeConsultation, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := deadlineScore(t, rdb, nd.ID); ok {
		t.Error("ticket without deadlines is in the deadline index")
	}
}

func TestOverdue(t *testing.T) {
	ctx := context.Background()
	s, _, _, c := newStore(t)
	mk := func(typ Type, contact, answer time.Duration) Ticket {
		t.Helper()
		tk := Ticket{Type: typ, Phone: "13800138000"}
		if contact != 0 {
			tk.ContactBy = start.Add(contact)
		}
		if answer != 0 {
			tk.AnswerBy = start.Add(answer)
		}
		tk, err := s.Create(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	a := mk(TypeComplaint, time.Hour, 72*time.Hour)   // contact due in 1h
	b := mk(TypeComplaint, 0, 3*time.Hour)            // answer due in 3h
	d := mk(TypeFault, 0, 2*time.Hour)                // answer due in 2h
	e := mk(TypeConsultation, 0, 0)                   // no deadline
	f := mk(TypeComplaint, 30*time.Minute, time.Hour) // resolved before anything is due
	_ = e
	for _, ch := range pathTo[StatusResolved] {
		ch.Actor = "a"
		if _, err := s.Apply(ctx, f.ID, ch); err != nil {
			t.Fatal(err)
		}
	}

	check := func(now time.Duration, limit int, wantIDs ...string) {
		t.Helper()
		got, err := s.Overdue(ctx, start.Add(now), limit)
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(got, wantIDs) {
			t.Errorf("Overdue(+%v, %d) = %v, want %v", now, limit, idsOf(got), wantIDs)
		}
	}
	check(0, 0)
	check(time.Hour, 0) // exactly at the deadline is not yet overdue
	check(time.Hour+time.Millisecond, 0, a.ID)
	check(4*time.Hour, 0, a.ID, d.ID, b.ID) // most overdue first
	check(4*time.Hour, 2, a.ID, d.ID)

	// Contacting the customer moves a to its answer deadline; the store's own
	// clock is independent of the now the watcher asks about.
	c.Set(start.Add(10 * time.Minute))
	if _, err := s.Apply(ctx, a.ID, Change{Action: ActionRegister, Actor: "a"}); err != nil {
		t.Fatal(err)
	}
	check(4*time.Hour, 0, d.ID, b.ID)

	for _, tc := range []struct {
		at   time.Duration
		want int64
	}{{0, 0}, {2*time.Hour + time.Millisecond, 1}, {4 * time.Hour, 2}, {100 * time.Hour, 3}} {
		if n, err := s.DueBefore(ctx, start.Add(tc.at)); err != nil || n != tc.want {
			t.Errorf("DueBefore(+%v) = %d, %v, want %d", tc.at, n, err, tc.want)
		}
	}

	open, err := s.CountOpen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantOpen := map[Type]int64{TypeComplaint: 2, TypeFault: 1, TypeConsultation: 1}
	for _, typ := range Types() {
		if open[typ] != wantOpen[typ] {
			t.Errorf("CountOpen[%s] = %d, want %d", typ, open[typ], wantOpen[typ])
		}
	}
	if len(open) != len(Types()) {
		t.Errorf("CountOpen has %d types, want all %d", len(open), len(Types()))
	}

	// Filter.Overdue looks at AnswerBy with the store's clock.
	c.Set(start.Add(150 * time.Minute))
	got, err := s.List(ctx, Filter{Overdue: true})
	if err != nil || !sameIDs(got, []string{d.ID}) {
		t.Errorf("List overdue = %v, %v, want [%s]", idsOf(got), err, d.ID)
	}
}

// Ten reports from one transformer, created at once by two replicas, all
// end up under the parent, each with its own audit entry.
func TestMergeChildrenConcurrently(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	other := New(rdb, "test:", nil)
	parent, err := s.Create(ctx, Ticket{Type: TypeFault, Channel: ChannelWeb, Area: "朝阳", Transformer: "T-0042"})
	if err != nil {
		t.Fatalf("parent without a caller (outage order): %v", err)
	}
	const n = 10
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			ch, err := st.Create(ctx, Ticket{Type: TypeFault, Phone: fmt.Sprintf("138001380%02d", i), Transformer: "T-0042",
				ParentID: parent.ID, Audit: []AuditEntry{{Actor: fmt.Sprint("agent:", i)}}})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- ch.ID
		})
	}
	wg.Wait()
	close(ids)
	var created []string
	for id := range ids {
		created = append(created, id)
	}
	got, err := s.Get(ctx, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(created)
	children := slices.Sorted(slices.Values(got.Children))
	if len(created) != n || !slices.Equal(children, created) {
		t.Errorf("parent children = %v, created %v", children, created)
	}
	merged := 0
	for _, e := range got.Audit {
		if e.Action == ActionMerged {
			merged++
			if !slices.Contains(created, e.To) || !strings.HasPrefix(e.Actor, "agent:") {
				t.Errorf("merged entry %+v", e)
			}
		}
	}
	if merged != n {
		t.Errorf("%d merged audit entries, want %d", merged, n)
	}
	child, _ := s.Get(ctx, created[0])
	if child.ParentID != parent.ID {
		t.Errorf("child ParentID = %q", child.ParentID)
	}
}

func TestMergeRefused(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	parent, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13900139000", ParentID: parent.ID})
	if err != nil {
		t.Fatal(err)
	}
	resolved := drive(t, s, newComplaint(t, s).ID, StatusResolved)
	for name, pid := range map[string]string{
		"missing parent":  "20261122999999",
		"malformed id":    "abc",
		"grandchild":      child.ID,
		"resolved parent": resolved.ID,
	} {
		before := snapshot(t, rdb)
		_, err := s.Create(ctx, Ticket{Type: TypeFault, Phone: "13700137000", ParentID: pid})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		// Only the day's ID counter may have moved.
		after := snapshot(t, rdb)
		delete(before, "test:tickets:seq:20261122")
		delete(after, "test:tickets:seq:20261122")
		if !sameSnapshot(before, after) {
			t.Errorf("%s: refused merge wrote to Redis", name)
		}
	}
}
