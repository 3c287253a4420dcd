package policy

import (
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/china"
)

func TestDialingHours(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, china.Zone) }
	day, _ := ParseDialingHours("08:00-21:00")
	night, _ := ParseDialingHours("22:00-06:00") // crosses midnight
	for _, tc := range []struct {
		name    string
		h       DialingHours
		t, want time.Time
	}{
		{"inside the day", day, at(12, 0), at(12, 0)},
		{"at opening", day, at(8, 0), at(8, 0)},
		{"at closing is closed", day, at(21, 0), at(8, 0).AddDate(0, 0, 1)},
		{"late evening waits for the morning", day, at(23, 30), at(8, 0).AddDate(0, 0, 1)},
		{"after midnight waits for the morning", day, at(2, 0), at(8, 0)},
		{"night window before midnight", night, at(23, 0), at(23, 0)},
		{"night window after midnight", night, at(3, 0), at(3, 0)},
		{"night window closed by day", night, at(12, 0), at(22, 0)},
		{"night window just closed", night, at(6, 0), at(22, 0)},
		{"any hour", AnyHour, at(3, 0), at(3, 0)},
		{"UTC input", day, time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC) /* 22:00 China */, at(8, 0).AddDate(0, 0, 1)},
	} {
		if got := tc.h.Next(tc.t); !got.Equal(tc.want) {
			t.Errorf("%s: Next(%s) = %s, want %s", tc.name, tc.t, got, tc.want)
		}
		if tc.h.Allowed(tc.t) != tc.t.Equal(tc.want) {
			t.Errorf("%s: Allowed disagrees with Next", tc.name)
		}
	}
	for _, bad := range []string{"", "8-21", "08:00-08:00", "25:00-08:00", "08:60-09:00", "08:0-09:00"} {
		if _, err := ParseDialingHours(bad); err == nil {
			t.Errorf("ParseDialingHours(%q) accepted", bad)
		}
	}
}

func TestDefaultCallbackPolicy(t *testing.T) {
	cb := Default().Callbacks()
	if cb.MaxConcurrent != 8 || len(cb.Kinds) != len(CallbackKinds) {
		t.Fatalf("%+v", cb)
	}
	fu := cb.Kinds["follow_up"]
	if fu.Window != 10*time.Minute || fu.MaxAttempts != 3 || fu.Retry != 2*time.Minute || len(fu.AnyHourFor) != 1 {
		t.Fatalf("follow-up kind %+v", fu)
	}
	if !cb.Kinds["first_contact"].AgentFirst || cb.Kinds["abandoned"].AgentFirst {
		t.Fatal("modes")
	}
	if cb.Kinds["abandoned"].Hours.Allowed(time.Date(2026, 11, 23, 23, 0, 0, 0, china.Zone)) {
		t.Fatal("abandoned callbacks dialled at 23:00")
	}
}
