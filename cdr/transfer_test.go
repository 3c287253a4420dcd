package cdr

import (
	"context"
	"errors"
	"testing"
)

// Transfers noted while the call goes on survive its Write, in order;
// a transfer that names no real queue or call is refused.
func TestTransfersOnTheRecord(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		call, agent, from, to string
		err                   error
	}{
		{"c1", "2001", "complaint", "billing", nil},
		{"c1", "2002", "billing", "fault", nil},
		{"c1", "2001", "complaint", "sales", ErrInvalid},
		{"c1", "2001", "nowhere", "billing", ErrInvalid},
		{"", "2001", "complaint", "billing", ErrInvalid},
		{"c1", "20 01", "complaint", "billing", ErrInvalid},
	} {
		if err := s.AddTransfer(ctx, tc.call, tc.agent, tc.from, tc.to, "e2e-agent"); !errors.Is(err, tc.err) {
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
	if len(got.Transfers) != 2 || got.Transfers[0].FromAgent != "2001" || got.Transfers[0].ToQueue != "billing" ||
		got.Transfers[1].FromQueue != "billing" || got.Transfers[1].ToQueue != "fault" || got.Transfers[0].By != "e2e-agent" ||
		got.Transfers[0].At.IsZero() {
		t.Fatalf("transfers %+v", got.Transfers)
	}
}
