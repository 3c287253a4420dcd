package outages

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// A caller hears the restore time while it lies ahead; past it, "taking
// longer than expected" without the stale time, until a new time is given.
func TestSpeech(t *testing.T) {
	restore := start.Add(2 * time.Hour)
	for _, tc := range []struct {
		name    string
		o       Outage
		at      time.Time
		before  []string
		restore time.Time
	}{
		{"fault, time ahead", Outage{Kind: KindFault, ExpectedRestore: restore}, start, []string{"outage_notice"}, restore},
		{"planned, time ahead", Outage{Kind: KindPlanned, ExpectedRestore: restore}, start, []string{"outage_planned"}, restore},
		{"at the time itself", Outage{Kind: KindFault, ExpectedRestore: restore}, restore, []string{"outage_notice"}, restore},
		{"fault, time passed", Outage{Kind: KindFault, ExpectedRestore: restore}, restore.Add(time.Second), []string{"outage_late"}, time.Time{}},
		{"planned, time passed", Outage{Kind: KindPlanned, ExpectedRestore: restore}, restore.Add(time.Hour), []string{"outage_planned_late"}, time.Time{}},
		{"unknown time", Outage{Kind: KindFault}, start.Add(100 * time.Hour), []string{"outage_notice", "outage_unknown_restore"}, time.Time{}},
		{"unconfirmed", Outage{Kind: KindFault, Unconfirmed: true, ExpectedRestore: restore}, start, []string{"outage_suspected"}, time.Time{}},
	} {
		sp := tc.o.Speech(tc.at)
		if !slices.Equal(sp.Before, tc.before) || !sp.Restore.Equal(tc.restore) || !slices.Equal(sp.After, []string{"outage_still_report"}) {
			t.Errorf("%s: %+v", tc.name, sp)
		}
	}
}

// Overrun waits the policy's grace past the restore time; Late does not.
func TestLateAndOverrunGrace(t *testing.T) {
	o := Outage{Kind: KindFault, ExpectedRestore: start, OverrunGrace: 30 * time.Minute}
	at := start.Add(20 * time.Minute)
	if !o.Late(at) || o.Overrun(at) {
		t.Errorf("20 min past with a 30 min grace: late %v overrun %v", o.Late(at), o.Overrun(at))
	}
	o.OverrunGrace = 10 * time.Minute
	if !o.Overrun(at) {
		t.Error("20 min past with a 10 min grace is not overrun")
	}
}

// An updated restore time is what the next caller hears, and counted.
func TestUpdateRestoreIsHeard(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	o := declare(t, s, Outage{Area: "海淀区", ExpectedRestore: start.Add(time.Hour)})
	clk.Add(2 * time.Hour)
	got, _ := s.Get(ctx, o.ID)
	if sp := got.Speech(clk.Now()); sp.Before[0] != "outage_late" {
		t.Fatalf("past the time: %+v", sp)
	}
	later := clk.Now().Add(90 * time.Minute)
	got, err := s.Update(ctx, o.ID, later, "")
	if err != nil || got.RestoreUpdates != 1 {
		t.Fatalf("update: %+v %v", got, err)
	}
	if sp := got.Speech(clk.Now()); !sp.Restore.Equal(later) {
		t.Fatalf("after the update: %+v", sp)
	}
}

// A supervisor confirms an outage the hotline declared by itself.
func TestConfirm(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	o := declare(t, s, Outage{Transformer: "TX-1", Unconfirmed: true, DeclaredBy: "hotline"})
	if !o.Unconfirmed || o.ConfirmedBy != "" {
		t.Fatalf("auto outage %+v", o)
	}
	got, err := s.Confirm(ctx, o.ID, "sup:1")
	if err != nil || got.Unconfirmed || got.ConfirmedBy != "sup:1" || got.ConfirmedAt.IsZero() {
		t.Fatalf("confirm: %+v %v", got, err)
	}
	if again, err := s.Confirm(ctx, o.ID, "sup:2"); err != nil || again.ConfirmedBy != "sup:1" {
		t.Errorf("confirm twice: %+v %v", again, err)
	}
	if _, err := s.Clear(ctx, o.ID, "sup:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm(ctx, o.ID, "sup:1"); !errors.Is(err, ErrConflict) {
		t.Errorf("confirm cleared: %v", err)
	}
}

// Since reads every outage of the window; Repeats counts them per line and
// per transformer.
func TestSinceAndRepeats(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	for i, o := range []Outage{
		{Transformer: "TX-1", Line: "10kV 北环线"}, {Transformer: "TX-2", Line: "10kV 北环线"},
		{Transformer: "TX-1"}, {Area: "朝阳区", Line: "10kV 北环线"}, {Transformer: "TX-3"},
	} {
		o = declare(t, s, o)
		if _, err := s.Clear(ctx, o.ID, "op"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			clk.Add(400 * 24 * time.Hour) // the first is more than a year before the rest
		} else {
			clk.Add(time.Hour)
		}
	}
	outs, err := s.Since(ctx, clk.Now().AddDate(-1, 0, 0))
	if err != nil || len(outs) != 4 {
		t.Fatalf("since: %d %v", len(outs), err)
	}
	r := Repeats(outs)
	if r[Place{"line", "10kV 北环线"}] != 2 || r[Place{"transformer", "TX-1"}] != 1 || r[Place{"transformer", "TX-3"}] != 1 {
		t.Errorf("repeats %v", r)
	}
	if _, err := s.Declare(ctx, Outage{Kind: KindFault, Area: "x", Line: "bad\nline", DeclaredBy: "op"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad line name: %v", err)
	}
}
