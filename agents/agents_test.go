package agents

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
)

func setup(t *testing.T, ids ...string) (*Registry, *clocktest.Clock) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	reg := NewRegistry(rdb, "t:", clk.Now)
	if err := reg.Ensure(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	return reg, clk
}

func login(t *testing.T, reg *Registry, clk *clocktest.Clock, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := reg.Login(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
	}
}

func state(t *testing.T, reg *Registry, id string) Agent {
	t.Helper()
	a, err := reg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestStateTransitions(t *testing.T) {
	reg, clk := setup(t, "1001")
	ctx := context.Background()
	for _, step := range []struct {
		name    string
		do      func() error
		want    State
		wantErr error
	}{
		{"pause while logged out", func() error { return reg.Pause(ctx, "1001", "lunch") }, LoggedOut, ErrBadState},
		{"login", func() error { return reg.Login(ctx, "1001") }, Available, nil},
		{"login twice", func() error { return reg.Login(ctx, "1001") }, Available, nil},
		{"pause", func() error { return reg.Pause(ctx, "1001", "lunch") }, Paused, nil},
		{"ready", func() error { return reg.Ready(ctx, "1001") }, Available, nil},
		{"logout", func() error { return reg.Logout(ctx, "1001") }, LoggedOut, nil},
		{"unknown agent", func() error { return reg.Login(ctx, "9999") }, LoggedOut, ErrUnknownAgent},
	} {
		clk.Add(time.Second)
		err := step.do()
		if !errors.Is(err, step.wantErr) {
			t.Fatalf("%s: err %v, want %v", step.name, err, step.wantErr)
		}
		if a := state(t, reg, "1001"); a.State != step.want {
			t.Fatalf("%s: state %s, want %s", step.name, a.State, step.want)
		}
	}
	if err := reg.Pause(ctx, "1001", ""); !errors.Is(err, ErrBadState) {
		t.Fatalf("pause logged-out agent: %v", err)
	}
}

func TestSweepFreesAgentOfDeadReplica(t *testing.T) {
	reg, clk := setup(t, "1001")
	ctx := context.Background()
	login(t, reg, clk, "1001")
	// Simulate a claim by a replica that then died: ringing, no lease.
	if err := reg.rdb.HSet(ctx, reg.agentKey("1001"), "state", "ringing", "call_id", "x").Err(); err != nil {
		t.Fatal(err)
	}
	n, err := reg.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep freed %d, %v", n, err)
	}
	if a := state(t, reg, "1001"); a.State != Available {
		t.Fatalf("state %s", a.State)
	}
}

func TestClaimIdle(t *testing.T) {
	reg, clk := setup(t, "1001", "1002")
	ctx := context.Background()
	if _, ok, _ := reg.ClaimIdle(ctx, "cb-1"); ok {
		t.Fatal("claimed a logged-out agent")
	}
	login(t, reg, clk, "1002", "1001")
	id, ok, err := reg.ClaimIdle(ctx, "cb-1")
	if err != nil || !ok || id != "1002" {
		t.Fatalf("claimed %s %v %v, want the longest idle 1002", id, ok, err)
	}
	if a := state(t, reg, "1002"); a.State != Ringing || a.CallID != "cb-1" {
		t.Fatalf("agent %+v", a)
	}
	if err := reg.Release(ctx, "1002", "cb-1", false); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := reg.ClaimIdle(ctx, "cb-2"); id != "1002" {
		t.Fatalf("an agent released untalked must keep their place, got %s", id)
	}
}

// After a conversation the agent does timed after-call work before the next
// call; they may end it early, or pause during it.
func TestWrapUp(t *testing.T) {
	reg, clk := setup(t, "1001", "1002")
	reg.SetWrapUp(30 * time.Second)
	ctx := context.Background()
	login(t, reg, clk, "1001", "1002")
	talk := func(id string) {
		t.Helper()
		if _, ok, _ := reg.ClaimIdle(ctx, "c-"+id); !ok {
			t.Fatal("no agent to claim")
		}
		if err := reg.Answered(ctx, id, "c-"+id); err != nil {
			t.Fatal(err)
		}
		if err := reg.Release(ctx, id, "c-"+id, true); err != nil {
			t.Fatal(err)
		}
	}
	talk("1001")
	a := state(t, reg, "1001")
	if a.State != WrapUp || !a.WrapUntil.Equal(clk.Now().Add(30*time.Second)) {
		t.Fatalf("after a call: %+v", a)
	}
	if id, _, _ := reg.ClaimIdle(ctx, "next"); id != "1002" {
		t.Fatalf("an agent in wrap-up was offered a call (got %q)", id)
	}
	reg.Release(ctx, "1002", "next", false)
	clk.Add(29 * time.Second)
	if n, _ := reg.EndWrapUps(ctx); n != 0 {
		t.Fatal("wrap-up ended early")
	}
	clk.Add(time.Second)
	if n, _ := reg.EndWrapUps(ctx); n != 1 || state(t, reg, "1001").State != Available {
		t.Fatalf("wrap-up not over: %+v", state(t, reg, "1001"))
	}
	// Ending it early with ready; pausing during it sticks.
	talk("1002")
	if err := reg.Ready(ctx, "1002"); err != nil || state(t, reg, "1002").State != Available {
		t.Fatalf("ready from wrap-up: %v", err)
	}
	talk("1001")
	if err := reg.Pause(ctx, "1001", "training"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	reg.EndWrapUps(ctx)
	if a := state(t, reg, "1001"); a.State != Paused || a.Reason != "training" {
		t.Fatalf("pause during wrap-up lost: %+v", a)
	}
}
