package agents

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A colleague consulted for an attended transfer: only an available agent
// whose phone was not found busy is reserved; it rings and talks with
// reason consult (out of the queue's reach), held by a lease from the
// start, and becomes the call's agent
// when it takes the caller over.
func TestReserveForConsultation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		prep func(reg *Registry)
		err  error
	}{
		{"available", func(*Registry) {}, nil},
		{"paused", func(reg *Registry) { _ = reg.Pause(ctx, "1002", "lunch") }, ErrBadState},
		{"logged out", func(reg *Registry) { _ = reg.Logout(ctx, "1002") }, ErrBadState},
		{"phone busy lately", func(reg *Registry) { _ = reg.MarkBusy(ctx, "1002", time.Minute) }, ErrBadState},
		{"unknown", func(*Registry) {}, ErrUnknownAgent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, clk := setup(t, "1002")
			login(t, reg, clk, "1002")
			tc.prep(reg)
			id := "1002"
			if tc.name == "unknown" {
				id = "1009"
			}
			err := reg.Reserve(ctx, id, "c1")
			if !errors.Is(err, tc.err) {
				t.Fatalf("reserve: %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				return
			}
			if a := state(t, reg, "1002"); a.State != Ringing || a.Reason != ReasonConsult || a.CallID != "c1" {
				t.Fatalf("reserved %+v", a)
			}
			// Held by a lease from the start: the sweep of dead replicas'
			// agents leaves it ringing.
			if freed, err := reg.Sweep(ctx); err != nil || freed != 0 || state(t, reg, "1002").State != Ringing {
				t.Fatalf("the sweep freed a reserved colleague: %d %v", freed, err)
			}
			if n, _ := reg.rdb.ZCard(ctx, reg.availKey()).Result(); n != 0 {
				t.Fatal("a reserved agent is still offered callers")
			}
			if err := reg.Consulted(ctx, "1002", "c1"); err != nil {
				t.Fatal(err)
			}
			if a := state(t, reg, "1002"); a.State != OnCall || a.Reason != ReasonConsult {
				t.Fatalf("consulted %+v", a)
			}
			if err := reg.TakeOver(ctx, "1002", "c1"); err != nil {
				t.Fatal(err)
			}
			if a := state(t, reg, "1002"); a.State != OnCall || a.Reason != "" || a.CallID != "c1" {
				t.Fatalf("taken over %+v", a)
			}
			if err := reg.TakeOver(ctx, "1002", "c2"); err == nil {
				t.Fatal("took over another call")
			}
		})
	}
}
