package ids

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"O20261122001", true},
		{"O202611220012", true},
		{"N20261122001", false}, // another letter
		{"O2026112200", false},  // too short
		{"O2026112200x", false},
		{"", false},
	} {
		if got := Valid(tc.id, 'O'); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestDayIsChinaDate(t *testing.T) {
	// 17:00 UTC is already the next day in China.
	if got := Day(time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)); got != "20261123" {
		t.Fatalf("Day = %s, want 20261123", got)
	}
}

func TestCleanName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{"  海淀区 ", "海淀区", false},
		{"", "", false},
		{strings.Repeat("a", MaxNameLen), strings.Repeat("a", MaxNameLen), false},
		{strings.Repeat("a", MaxNameLen+1), "", true},
		{"海淀\n区", "", true},
	} {
		got, err := CleanName("area", tc.in)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("CleanName(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrName) {
			t.Errorf("CleanName(%q): %v is not ErrName", tc.in, err)
		}
	}
}
