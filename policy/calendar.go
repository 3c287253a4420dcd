package policy

import (
	"sort"
	"time"

	"github.com/hotline95598/hotline/internal/china"
)

// civil is a date on the China calendar, used as a map key.
type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil {
	y, m, d := t.In(china.Zone).Date()
	return civil{y, m, d}
}

// Calendar says which days are working days. It is built from yearly data
// (public holidays, and the weekend days made working days — 调休) because
// the State Council publishes a new arrangement every year. A year without
// data falls back to Monday–Friday; Covers reports whether a year has data.
//
// A Calendar is immutable once built and safe for concurrent use. A nil
// *Calendar is a valid Monday–Friday calendar covering no year.
type Calendar struct {
	years    map[int]bool
	holidays map[civil]string // date → holiday name (day off)
	workdays map[civil]string // weekend date → reason (day worked, 调休)
}

func newCalendar() *Calendar {
	return &Calendar{years: map[int]bool{}, holidays: map[civil]string{}, workdays: map[civil]string{}}
}

// Covers reports whether the calendar has holiday data for year. Outside
// covered years IsWorkingDay counts Monday–Friday only, which is wrong for
// Chinese public holidays; callers that care should warn (Policy.Deadline
// returns the same information as a flag).
func (c *Calendar) Covers(year int) bool {
	return c != nil && c.years[year]
}

// Years lists the covered years in order.
func (c *Calendar) Years() []int {
	if c == nil {
		return nil
	}
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	return ys
}

// IsWorkingDay reports whether t's date, in China time, is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	return c.working(civilOf(t))
}

func (c *Calendar) working(d civil) bool {
	if c != nil && c.years[d.y] {
		if _, ok := c.workdays[d]; ok {
			return true
		}
		if _, ok := c.holidays[d]; ok {
			return false
		}
	}
	wd := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkingDays returns the time n working days after t, at the same China
// wall-clock time, in china.Zone.
//
// The rule, chosen to match how a utility reads "answer within N working days
// of acceptance":
//   - accepted on a working day at 10:00, the limit is 10:00 on the N-th
//     following working day (a ticket taken Wednesday 10:00 with 1 working
//     day is due Thursday 10:00, not Wednesday midnight);
//   - accepted on a non-working day (weekend or public holiday), the clock
//     starts at the same time on the next working day, as if it had been
//     accepted then: Saturday 10:00 + 1 working day is Tuesday 10:00;
//   - n == 0 therefore returns t itself on a working day, or the next working
//     day at t's time otherwise; n < 0 counts backwards symmetrically.
//
// Years the calendar does not cover count Monday–Friday; it never panics.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	t = t.In(china.Zone)
	y, m, d := t.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, china.Zone)
	clock := t.Sub(midnight) // fixed zone: every day is exactly 24h
	day := midnight
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for !c.working(civilOf(day)) {
		day = day.AddDate(0, 0, step)
	}
	for n > 0 {
		day = day.AddDate(0, 0, step)
		if c.working(civilOf(day)) {
			n--
		}
	}
	return day.Add(clock)
}

// Deadline returns from + s in china.Zone, using the arithmetic of s's unit:
// Clock adds the duration (the calendar is irrelevant: the hotline runs 24
// hours), CalendarDays adds whole days at the same wall-clock time, and
// WorkingDays uses AddWorkingDays. covered is false when a working-day count
// crossed a year the calendar has no data for, so the result assumed
// Monday–Friday there. The zero Span returns from.
func (c *Calendar) Deadline(from time.Time, s Span) (due time.Time, covered bool) {
	from = from.In(china.Zone)
	switch s.Unit {
	case Clock:
		return from.Add(s.Clock), true
	case CalendarDays:
		return from.AddDate(0, 0, s.Days), true
	case WorkingDays:
		due = c.AddWorkingDays(from, s.Days)
		covered = true
		for y := from.Year(); y <= due.Year(); y++ {
			if !c.Covers(y) {
				covered = false
			}
		}
		return due, covered
	}
	return from, true
}
