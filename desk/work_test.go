package desk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
)

type rig struct {
	rdb  *redis.Client
	reg  *agents.Registry
	recs *cdr.Store
	fold *cdr.Fold
	work *Work
	clk  *clocktest.Clock
}

func newRig(t *testing.T) *rig {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 22, 10, 0, 0, 0, china.Zone))
	reg := agents.NewRegistry(rdb, "t:", clk.Now)
	reg.SetWrapUp(time.Minute)
	recs := cdr.New(rdb, "t:", policy.Default().Records(), clk.Now)
	r := &rig{rdb: rdb, reg: reg, recs: recs, fold: recs.NewFold(reg.EventsKey(), "r1", zerolog.Nop()), clk: clk,
		work: NewWork(reg, recs, rdb, "t:")}
	if err := reg.Ensure(context.Background(), []string{"2001", "2002"}); err != nil {
		t.Fatal(err)
	}
	return r
}

// call rings agent 2001 with a caller as the queue does: the controller's
// record of the call, the screen pop, the ring; answer picks up.
func (r *rig) call(t *testing.T, callID, phone, ticket string, answer bool) {
	t.Helper()
	ctx := context.Background()
	if err := r.rdb.HSet(ctx, "t:call:"+callID, "owner", "r1", "phone", phone, "ticket", ticket).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.reg.Login(ctx, "2001"); err != nil {
		t.Fatal(err)
	}
	if id, ok, err := r.reg.ClaimIdle(ctx, callID); err != nil || !ok || id != "2001" {
		t.Fatalf("claim: %s %v %v", id, ok, err)
	}
	if err := r.reg.Publish(ctx, "2001", agents.EventScreenPop, agents.ScreenPop{Agent: "2001", CallID: callID, Phone: phone, TicketID: ticket}); err != nil {
		t.Fatal(err)
	}
	if answer {
		r.clk.Add(time.Second)
		if err := r.reg.Answered(ctx, "2001", callID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.fold.Once(ctx); err != nil {
		t.Fatal(err)
	}
}

// hangUp ends the call as the controller does: the agent goes to wrap-up
// and the call's record in Redis is gone.
func (r *rig) hangUp(t *testing.T, callID string) {
	t.Helper()
	ctx := context.Background()
	r.clk.Add(time.Minute)
	if err := r.reg.Release(ctx, "2001", callID, true); err != nil {
		t.Fatal(err)
	}
	r.rdb.Del(ctx, "t:call:"+callID)
	if _, err := r.fold.Once(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCaller(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.work.Caller(ctx, "2001"); !errors.Is(err, ErrNoCaller) {
		t.Fatalf("logged out: %v", err)
	}
	r.call(t, "c1", "13800138000", "20261122000001", false)
	c, err := r.work.Caller(ctx, "2001")
	if err != nil || c != (Caller{CallID: "c1", Phone: "13800138000", TicketID: "20261122000001", Live: true, State: "ringing"}) {
		t.Fatalf("ringing: %+v %v", c, err)
	}
	// The controller's record of the call lacks the number: the pop has it.
	r.rdb.HDel(ctx, "t:call:c1", "phone", "ticket")
	if c, _ := r.work.Caller(ctx, "2001"); c.Phone != "13800138000" || c.TicketID != "20261122000001" {
		t.Fatalf("from the screen pop: %+v", c)
	}
	r.clk.Add(time.Second)
	if err := r.reg.Answered(ctx, "2001", "c1"); err != nil {
		t.Fatal(err)
	}
	_, _ = r.fold.Once(ctx)
	r.hangUp(t, "c1")
	c, err = r.work.Caller(ctx, "2001")
	if err != nil || c.CallID != "c1" || c.Phone != "13800138000" || c.Live || c.State != "wrap_up" {
		t.Fatalf("wrap-up: %+v %v", c, err)
	}
	if id, err := r.work.LastCall(ctx, "2001"); err != nil || id != "c1" {
		t.Fatalf("last call %q %v", id, err)
	}
	if _, err := r.reg.EndWrapUps(ctx); err != nil {
		t.Fatal(err)
	}
	r.clk.Add(time.Minute)
	if _, err := r.reg.EndWrapUps(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.work.Caller(ctx, "2001"); !errors.Is(err, ErrNoCaller) {
		t.Fatalf("available again: %v", err)
	}
	if _, err := r.work.LastCall(ctx, "2002"); !errors.Is(err, ErrNoCaller) {
		t.Fatalf("an agent without calls: %v", err)
	}
}

// An agent may work the orders of its calls and of its caller, only.
func TestMayTicket(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	mine := tickets.Ticket{ID: "20261122000001", Phone: "13800138000"}    // the call's own order
	callers := tickets.Ticket{ID: "20261122000002", Phone: "13800138000"} // another order of the same caller
	created := tickets.Ticket{ID: "20261122000003", Phone: "13800138000"} // created on the desk
	stranger := tickets.Ticket{ID: "20261122000004", Phone: "13900139000"}
	check := func(when string, tk tickets.Ticket, agent string, want bool) {
		t.Helper()
		ok, why, err := r.work.MayTicket(ctx, agent, tk)
		if err != nil || ok != want || (!ok && why == "") {
			t.Errorf("%s: agent %s ticket %s: %v %q %v, want %v", when, agent, tk.ID, ok, why, err, want)
		}
	}
	check("before any call", callers, "2001", false)
	r.call(t, "c1", "13800138000", mine.ID, true)
	c, why, err := r.work.MayCreate(ctx, "2001", "13800138000")
	if err != nil || why != "" {
		t.Fatalf("create for the caller: %q %v", why, err)
	}
	if _, why, _ := r.work.MayCreate(ctx, "2001", "13900139000"); !strings.Contains(why, "13800138000") {
		t.Fatalf("create for someone else: %q", why)
	}
	if err := r.work.Created(ctx, "2001", c, created.ID); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []tickets.Ticket{mine, callers, created} {
		check("on the call", tk, "2001", true)
		check("on the call, another agent", tk, "2002", false)
	}
	check("on the call", stranger, "2001", false)
	r.hangUp(t, "c1")
	check("in wrap-up", callers, "2001", true)
	r.clk.Add(2 * time.Minute)
	if _, err := r.reg.EndWrapUps(ctx); err != nil {
		t.Fatal(err)
	}
	// Serving nobody: its own calls' orders only.
	check("afterwards", mine, "2001", true)
	check("afterwards", created, "2001", true)
	check("afterwards", callers, "2001", false)
	if _, why, _ := r.work.MayCreate(ctx, "2001", "13800138000"); !strings.Contains(why, "serving no caller") {
		t.Fatalf("create afterwards: %q", why)
	}
}

type fakeAccounts map[string]accounts.Account

func (f fakeAccounts) ByPhone(_ context.Context, phone string) (accounts.Account, error) {
	if a, ok := f[phone]; ok {
		return a, nil
	}
	return accounts.Account{}, accounts.ErrNotFound
}

type fakeTickets []tickets.Ticket

func (f fakeTickets) List(_ context.Context, fl tickets.Filter) ([]tickets.Ticket, error) {
	var out []tickets.Ticket
	for _, t := range f {
		if t.Phone == fl.Phone && (!fl.Open || t.Status.Open()) && len(out) < fl.Limit {
			out = append(out, t)
		}
	}
	return out, nil
}

func TestCustomer(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, china.Zone)
	l := Lookup{Accounts: fakeAccounts{"13800138000": {Number: "1000000001", Name: "张伟", Address: "海淀区中关村大街1号",
		Area: "海淀区", Class: "important", BirthYear: 1950}},
		Tickets:   fakeTickets{{ID: "1", Phone: "13800138000", Status: tickets.StatusAccepted}, {ID: "2", Phone: "13800138000", Status: tickets.StatusClosed}},
		SeniorAge: 65, Now: func() time.Time { return now }}
	c, err := l.Customer(context.Background(), Caller{CallID: "c1", Phone: "13800138000"})
	if err != nil || c.Name != "张伟" || c.Area != "海淀区" || c.Class != "important" || c.AgeGroup != "senior" ||
		len(c.Open) != 1 || len(c.Recent) != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	unknown, err := l.Customer(context.Background(), Caller{CallID: "c2", Phone: "13900139000"})
	if err != nil || unknown.Account != "" || unknown.Open == nil || unknown.Recent == nil {
		t.Fatalf("unknown caller %+v %v", unknown, err)
	}
	for _, tc := range []struct {
		age  int
		want string
	}{{-1, ""}, {12, "minor"}, {40, "adult"}, {62, "older"}, {65, "senior"}, {80, "senior"}} {
		if got := AgeGroup(tc.age, 65); got != tc.want {
			t.Errorf("AgeGroup(%d) = %q, want %q", tc.age, got, tc.want)
		}
	}
}
