package cdr

import (
	"context"
	"errors"
	"testing"
)

// Transfers noted while the call goes on survive its Write, in order,
// blind and attended; a transfer that names no real queue, agent or call
// is refused.
func TestTransfersOnTheRecord(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		kind, call, agent, from, to string
		err                         error
	}{
		{"blind", "c1", "2001", "complaint", "billing", nil},
		{"blind", "c1", "2002", "billing", "fault", nil},
		{"blind", "c1", "2001", "complaint", "sales", ErrInvalid},
		{"blind", "c1", "2001", "nowhere", "billing", ErrInvalid},
		{"blind", "", "2001", "complaint", "billing", ErrInvalid},
		{"attended", "c1", "2002", "fault", "2003", nil}, // from 2002 in fault to agent 2003
		{"attended", "c1", "2002", "fault", "", ErrInvalid},
		{"attended", "c1", "2002", "sales", "2003", ErrInvalid},
		{"blind", "c1", "20 01", "complaint", "billing", ErrInvalid},
	} {
		add := func() error { return s.AddTransfer(ctx, tc.call, tc.agent, tc.from, tc.to, "e2e-agent") }
		if tc.kind == "attended" {
			add = func() error { return s.AddAttended(ctx, tc.call, tc.agent, tc.to, tc.from, "e2e-agent") }
		}
		if err := add(); !errors.Is(err, tc.err) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
	if err := s.Write(ctx, answered("c1", "13800138000", "2003", t0)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Transfers) != 3 || got.Transfers[0].Kind != "blind" ||
		got.Transfers[2].Kind != "attended" || got.Transfers[2].ToAgent != "2003" || got.Transfers[2].FromAgent != "2002" ||
		got.Transfers[2].FromQueue != "fault" || got.Transfers[2].ToQueue != "" || got.Transfers[0].FromAgent != "2001" || got.Transfers[0].ToQueue != "billing" ||
		got.Transfers[1].FromQueue != "billing" || got.Transfers[1].ToQueue != "fault" || got.Transfers[0].By != "e2e-agent" ||
		got.Transfers[0].At.IsZero() {
		t.Fatalf("transfers %+v", got.Transfers)
	}
}
