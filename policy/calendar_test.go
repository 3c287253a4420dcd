package policy

import (
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/china"
)

// cst builds a China wall-clock time.
func cst(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, china.Zone)
}

func mustSpan(t *testing.T, s string) Span {
	t.Helper()
	v, err := ParseSpan(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIsWorkingDay(t *testing.T) {
	cal := Default().Calendar()
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"ordinary Wednesday", cst(2026, 3, 4, 10, 0), true},
		{"ordinary Saturday", cst(2026, 3, 7, 10, 0), false},
		{"New Year's Day (Thursday)", cst(2026, 1, 1, 10, 0), false},
		{"New Year holiday on a Saturday", cst(2026, 1, 3, 10, 0), false},
		{"Sunday made a working day (调休)", cst(2026, 1, 4, 10, 0), true},
		{"Spring Festival weekday", cst(2026, 2, 18, 10, 0), false},
		{"Saturday worked before Spring Festival", cst(2026, 2, 14, 10, 0), true},
		{"Saturday worked after Spring Festival", cst(2026, 2, 28, 10, 0), true},
		{"Labour Day Tuesday", cst(2026, 5, 5, 10, 0), false},
		{"National Day Wednesday", cst(2026, 10, 7, 10, 0), false},
		{"Saturday worked after National Day", cst(2026, 10, 10, 10, 0), true},
		{"2025 National Day+Mid-Autumn 8th day", cst(2025, 10, 8, 10, 0), false},
		{"2025 Saturday worked", cst(2025, 10, 11, 10, 0), true},
		// 2026-01-03 20:00 UTC is Sunday 04:00 in Beijing: the China date
		// decides, not the instant's UTC date (Saturday, a holiday).
		{"UTC Saturday evening is Beijing Sunday 调休", time.Date(2026, 1, 3, 20, 0, 0, 0, time.UTC), true},
		{"uncovered year: Monday", cst(2030, 1, 7, 10, 0), true},
		{"uncovered year: Saturday", cst(2030, 1, 5, 10, 0), false},
		{"uncovered year: New Year is a plain Tuesday", cst(2030, 1, 1, 10, 0), true},
	}
	for _, tt := range tests {
		if got := cal.IsWorkingDay(tt.at); got != tt.want {
			t.Errorf("%s: IsWorkingDay(%s) = %v, want %v", tt.name, tt.at, got, tt.want)
		}
	}
	var nilCal *Calendar
	if !nilCal.IsWorkingDay(cst(2026, 1, 1, 0, 0)) || nilCal.Covers(2026) {
		t.Error("a nil Calendar is Monday–Friday and covers nothing")
	}
}

func TestDeadline(t *testing.T) {
	p := Default()
	tests := []struct {
		name    string
		from    time.Time
		span    string
		want    time.Time
		covered bool
	}{
		// Wed 30 Sep; 1–7 Oct off; Thu 8 (1), Fri 9 (2), Sat 10 worked (3),
		// Sun 11 off, Mon 12 (4).
		{"complaint across National Day counts Sat 10 Oct", cst(2026, 9, 30, 10, 0), "4 working days", cst(2026, 10, 12, 10, 0), true},
		{"calendar days ignore the holiday", cst(2026, 9, 30, 10, 0), "4 days", cst(2026, 10, 4, 10, 0), true},
		{"clock hours ignore the holiday", cst(2026, 9, 30, 10, 0), "24h", cst(2026, 10, 1, 10, 0), true},
		// Fri 13 Feb → Sat 14 Feb is a 调休 working day.
		{"next working day is a 调休 Saturday", cst(2026, 2, 13, 9, 0), "1 working day", cst(2026, 2, 14, 9, 0), true},
		// Thu 12 → Fri 13 (1), Sat 14 (2), 15–23 off, Tue 24 (3).
		{"across Spring Festival", cst(2026, 2, 12, 16, 0), "3 working days", cst(2026, 2, 24, 16, 0), true},
		// Fri 27 Feb → Sat 28 Feb worked.
		{"Saturday worked after Spring Festival", cst(2026, 2, 27, 11, 0), "1 working day", cst(2026, 2, 28, 11, 0), true},
		{"across midnight", cst(2026, 3, 4, 23, 30), "1h", cst(2026, 3, 5, 0, 30), true},
		{"across midnight into a holiday", cst(2026, 9, 30, 23, 30), "1h", cst(2026, 10, 1, 0, 30), true},
		{"seconds", cst(2026, 3, 4, 10, 0), "90s", cst(2026, 3, 4, 10, 1).Add(30 * time.Second), true},
		// Accepted on a non-working day: the count starts at the same time
		// on the next working day (Mon 9 Mar 10:00), then 1 more.
		{"accepted on a Saturday", cst(2026, 3, 7, 10, 0), "1 working day", cst(2026, 3, 10, 10, 0), true},
		{"accepted on a Sunday night", cst(2026, 3, 8, 23, 0), "4 working days", cst(2026, 3, 13, 23, 0), true},
		// Sat 3 Oct is a holiday; start Thu 8 Oct 10:00, +1 → Fri 9.
		{"accepted on a holiday", cst(2026, 10, 3, 10, 0), "1 working day", cst(2026, 10, 9, 10, 0), true},
		// Sun 4 Jan 2026 is worked, so it starts the count itself.
		{"accepted on a 调休 Sunday", cst(2026, 1, 4, 8, 0), "1 working day", cst(2026, 1, 5, 8, 0), true},
		// Wed 31 Dec 2025; 1–3 Jan 2026 off; Sun 4 Jan worked.
		{"across the year boundary, two calendars", cst(2025, 12, 31, 10, 0), "1 working day", cst(2026, 1, 4, 10, 0), true},
		{"report 9 working days over Labour Day", cst(2026, 4, 29, 10, 0), "9 working days", cst(2026, 5, 14, 10, 0), true},
		{"result 15 working days over Qingming", cst(2026, 4, 1, 10, 0), "15 working days", cst(2026, 4, 23, 10, 0), true},
		// Outside the calendar: Monday–Friday, flagged.
		{"uncovered year", cst(2030, 1, 7, 10, 0), "5 working days", cst(2030, 1, 14, 10, 0), false},
		{"into an uncovered year", cst(2026, 12, 31, 10, 0), "1 working day", cst(2027, 1, 1, 10, 0), false},
		{"calendar days never need the calendar", cst(2030, 1, 7, 10, 0), "5 days", cst(2030, 1, 12, 10, 0), true},
		// An instant given in UTC is read in China time: 02:00 UTC is 10:00 CST.
		{"from given in UTC", time.Date(2026, 9, 30, 2, 0, 0, 0, time.UTC), "4 working days", cst(2026, 10, 12, 10, 0), true},
		// 30 Sep 20:00 UTC is already 1 Oct 04:00 in Beijing, a holiday.
		{"UTC evening is a Beijing holiday", time.Date(2026, 9, 30, 20, 0, 0, 0, time.UTC), "1 working day", cst(2026, 10, 9, 4, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSpan(t, tt.span)
			got, covered := p.Deadline(tt.from, s)
			if !got.Equal(tt.want) || covered != tt.covered {
				t.Errorf("Deadline(%s, %s) = %s, %v; want %s, %v", tt.from, tt.span, got, covered, tt.want, tt.covered)
			}
			if got.Location() != china.Zone {
				t.Errorf("result in %v, want china.Zone", got.Location())
			}
			if due := p.Due(tt.from, s); !due.Equal(got) {
				t.Errorf("Due = %s, Deadline = %s", due, got)
			}
		})
	}
}

func TestAddWorkingDaysEdges(t *testing.T) {
	cal := Default().Calendar()
	tests := []struct {
		name string
		from time.Time
		n    int
		want time.Time
	}{
		{"zero on a working day is the same instant", cst(2026, 3, 4, 10, 0), 0, cst(2026, 3, 4, 10, 0)},
		{"zero on a holiday moves to the next working day", cst(2026, 10, 1, 10, 0), 0, cst(2026, 10, 8, 10, 0)},
		{"backwards over National Day", cst(2026, 10, 8, 10, 0), -1, cst(2026, 9, 30, 10, 0)},
		{"backwards onto a 调休 Sunday", cst(2026, 9, 21, 10, 0), -1, cst(2026, 9, 20, 10, 0)},
		{"seconds survive", cst(2026, 3, 4, 10, 0).Add(17 * time.Second), 1, cst(2026, 3, 5, 10, 0).Add(17 * time.Second)},
	}
	for _, tt := range tests {
		if got := cal.AddWorkingDays(tt.from, tt.n); !got.Equal(tt.want) {
			t.Errorf("%s: AddWorkingDays(%s, %d) = %s, want %s", tt.name, tt.from, tt.n, got, tt.want)
		}
	}
}

// The shipped years must hold exactly the State Council's counts: a
// transcription slip would move every deadline around it. Since 2025 there
// are 13 statutory holiday days a year, so weekdays off minus weekend days
// worked must be 13.
func TestShippedCalendars(t *testing.T) {
	cal := Default().Calendar()
	count := func(y int) (holidays, workdays int) {
		for d := cst(y, 1, 1, 12, 0); d.Year() == y; d = d.AddDate(0, 0, 1) {
			wd := d.Weekday()
			weekend := wd == time.Saturday || wd == time.Sunday
			switch w := cal.IsWorkingDay(d); {
			case !w && !weekend:
				holidays++ // weekdays off
			case w && weekend:
				workdays++
			}
		}
		return
	}
	for _, tt := range []struct{ year, weekdaysOff, weekendsWorked int }{
		// 2025: 1 + 6 (Jan 28–Feb 4 minus Sat/Sun) + 1 (Apr 4 Fri) + 3 (May 1,2,5)
		// + 1 (Jun 2) + 6 (Oct 1–8 minus Sat/Sun) = 18; worked: 5.
		{2025, 18, 5},
		// 2026: 2 (Jan 1,2) + 6 (Feb 16–20, 23) + 1 (Apr 6) + 3 (May 1,4,5)
		// + 1 (Jun 19) + 1 (Sep 25) + 5 (Oct 1,2,5,6,7) = 19; worked: 6.
		{2026, 19, 6},
	} {
		off, worked := count(tt.year)
		if off-worked != 13 {
			t.Errorf("%d: %d weekdays off - %d weekend days worked != 13 statutory days", tt.year, off, worked)
		}
		if off != tt.weekdaysOff || worked != tt.weekendsWorked {
			t.Errorf("%d: %d weekdays off, %d weekend days worked; want %d, %d", tt.year, off, worked, tt.weekdaysOff, tt.weekendsWorked)
		}
	}
}
