package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unit says which arithmetic a Span uses. The unit is part of the policy
// value, not of the code: "24h" and "1 working day" are different promises.
type Unit uint8

const (
	// Clock spans run on the wall clock, nights and holidays included: the
	// hotline is staffed around the clock, so "contact within 24h" means 24
	// hours from acceptance whatever the day.
	Clock Unit = iota + 1
	// CalendarDays count whole days, holidays included, and land at the same
	// China wall-clock time.
	CalendarDays
	// WorkingDays count only the days the Calendar marks as working (public
	// holidays excluded, 调休 weekend workdays included) and land at the same
	// China wall-clock time; see Calendar.AddWorkingDays for the exact rule.
	WorkingDays
)

// maxDays bounds day-based spans. Day arithmetic walks the calendar one day
// at a time, and a limit of more than ten years can only be a typo.
const maxDays = 3660

// Span is a parsed time limit from the policy file: a Clock duration, or a
// count of calendar or working days. The zero Span means "no limit".
type Span struct {
	Unit  Unit
	Clock time.Duration // set when Unit == Clock
	Days  int           // set when Unit is CalendarDays or WorkingDays
}

// ParseSpan parses the three forms the policy file accepts:
//
//	"45m", "24h", "90s", "1h30m"   Go durations (Clock); seconds are allowed so
//	                               tests and drills can run short policies
//	"3 days", "1 day"              calendar days
//	"4 working days", "1 working day"
//
// The span must be positive.
func ParseSpan(s string) (Span, error) {
	f := strings.Fields(s)
	switch len(f) {
	case 1:
		d, err := time.ParseDuration(f[0])
		if err != nil {
			return Span{}, spanSyntaxError(s)
		}
		if d <= 0 {
			return Span{}, fmt.Errorf("duration %q must be positive", s)
		}
		if d > maxDays*24*time.Hour {
			return Span{}, fmt.Errorf("duration %q is longer than %d days", s, maxDays)
		}
		return Span{Unit: Clock, Clock: d}, nil
	case 2, 3:
		unit := CalendarDays
		if len(f) == 3 {
			if f[1] != "working" {
				return Span{}, spanSyntaxError(s)
			}
			unit = WorkingDays
		}
		if last := f[len(f)-1]; last != "day" && last != "days" {
			return Span{}, spanSyntaxError(s)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			return Span{}, spanSyntaxError(s)
		}
		if n <= 0 {
			return Span{}, fmt.Errorf("duration %q must be positive", s)
		}
		if n > maxDays {
			return Span{}, fmt.Errorf("duration %q is longer than %d days", s, maxDays)
		}
		return Span{Unit: unit, Days: n}, nil
	}
	return Span{}, spanSyntaxError(s)
}

func spanSyntaxError(s string) error {
	return fmt.Errorf(`bad duration %q: want a Go duration ("45m", "24h", "90s"), "N days" or "N working days"`, s)
}

// IsZero reports whether s is the zero Span (no limit).
func (s Span) IsZero() bool { return s == Span{} }

// String returns the span in the policy file's syntax; ParseSpan reads it back.
func (s Span) String() string {
	switch s.Unit {
	case Clock:
		return formatClock(s.Clock)
	case CalendarDays:
		if s.Days == 1 {
			return "1 day"
		}
		return strconv.Itoa(s.Days) + " days"
	case WorkingDays:
		if s.Days == 1 {
			return "1 working day"
		}
		return strconv.Itoa(s.Days) + " working days"
	}
	return "0s"
}

// formatClock writes "24h" and "45m" rather than time.Duration's "24h0m0s",
// so limits print the way operators wrote them.
func formatClock(d time.Duration) string {
	if d <= 0 || d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	h, m, sec := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if sec > 0 {
		fmt.Fprintf(&b, "%ds", sec)
	}
	return b.String()
}

// MarshalText lets a Span travel in JSON or YAML in its policy-file form.
func (s Span) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the policy-file form (see ParseSpan).
func (s *Span) UnmarshalText(b []byte) error {
	v, err := ParseSpan(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
