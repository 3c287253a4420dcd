package workorders

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/report"
	"github.com/hotline95598/hotline/tickets"
)

// EarlyWarnings is the early warning as of At: complaint hot spots in the
// moving window [HotFrom, HotTo) and the lines and transformers with
// repeated outages since OutagesFrom (seeds 000 and 001; thresholds in the
// policy's warnings section).
type EarlyWarnings struct {
	At            time.Time             `json:"at"`
	HotFrom       time.Time             `json:"hot_from"`
	HotTo         time.Time             `json:"hot_to"`
	HotMin        int                   `json:"hot_min"`
	HotSpots      []report.HotSpot      `json:"hot_spots"`
	OutagesFrom   time.Time             `json:"outages_from"`
	OutageRepeats []report.OutageRepeat `json:"outage_repeats"`
}

// EarlyWarnings works the early warning out as of now.
func (s *Service) EarlyWarnings(ctx context.Context) (EarlyWarnings, error) {
	return s.earlyWarnings(ctx, s.now())
}

// earlyWarnings works the warnings out as of at, orders created at that
// very instant included.
func (s *Service) earlyWarnings(ctx context.Context, at time.Time) (EarlyWarnings, error) {
	ew := s.Policy.EarlyWarning()
	w := EarlyWarnings{At: at, HotFrom: before(s.Policy, at, ew.HotSpotWindow), HotTo: at, HotMin: ew.HotSpotMin,
		OutagesFrom: before(s.Policy, at, ew.OutageWindow)}
	areas, subjects := map[string]int{}, map[string]int{}
	err := s.Tickets.ScanType(ctx, tickets.TypeComplaint, w.HotFrom, w.HotTo.Add(time.Millisecond), func(ts []tickets.Ticket) error {
		for _, t := range ts {
			if t.Area != "" {
				areas[t.Area]++
			}
			if t.Subject != "" {
				subjects[t.Subject]++
			}
		}
		return nil
	})
	if err != nil {
		return w, err
	}
	w.HotSpots = []report.HotSpot{}
	for _, d := range []struct {
		name string
		m    map[string]int
	}{{"area", areas}, {"subject", subjects}} {
		for k, n := range d.m {
			if n >= ew.HotSpotMin {
				w.HotSpots = append(w.HotSpots, report.HotSpot{Dimension: d.name, Key: k, Count: n})
			}
		}
	}
	slices.SortFunc(w.HotSpots, func(a, b report.HotSpot) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Dimension, b.Dimension), cmp.Compare(a.Key, b.Key))
	})
	w.OutageRepeats, err = s.outageRepeats(ctx, w.OutagesFrom, at.Add(time.Millisecond))
	return w, err
}

// outageRepeats lists the lines and transformers whose outages started in
// [from, to) reach the policy's warning level, most outages first.
func (s *Service) outageRepeats(ctx context.Context, from, to time.Time) ([]report.OutageRepeat, error) {
	outs, err := s.Outages.Since(ctx, from)
	if err != nil {
		return nil, err
	}
	kept := outs[:0]
	for _, o := range outs {
		if o.StartedAt.Before(to) {
			kept = append(kept, o)
		}
	}
	ew := s.Policy.EarlyWarning()
	out := []report.OutageRepeat{}
	for p, n := range outages.Repeats(kept) {
		if lvl := ew.OutageLevel(n); lvl != "" {
			out = append(out, report.OutageRepeat{Place: p.Kind, Name: p.Name, Count: n, Level: lvl})
		}
	}
	slices.SortFunc(out, func(a, b report.OutageRepeat) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Place, b.Place), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// warningGauges exports the early warning: the policy's top hot spots and
// flagged places by name (bounded label sets), and the flagged places by
// level.
func (s *Service) warningGauges(ctx context.Context, now time.Time) error {
	w, err := s.earlyWarnings(ctx, now)
	if err != nil {
		return err
	}
	top := s.Policy.EarlyWarning().Top
	s.m.HotSpots.Reset()
	for _, h := range w.HotSpots[:min(top, len(w.HotSpots))] {
		s.m.HotSpots.WithLabelValues(h.Dimension, h.Key).Set(float64(h.Count))
	}
	levels := map[string]int{"warning": 0, "study": 0}
	for _, o := range w.OutageRepeats {
		levels[o.Level]++
	}
	for l, n := range levels {
		s.m.OutageRepeats.WithLabelValues(l).Set(float64(n))
	}
	s.m.OutageRepeatTop.Reset()
	for _, o := range w.OutageRepeats[:min(top, len(w.OutageRepeats))] {
		s.m.OutageRepeatTop.WithLabelValues(o.Place, o.Name, o.Level).Set(float64(o.Count))
	}
	return nil
}

// before is the start of a window of span ending at t.
func before(p *policy.Policy, t time.Time, span policy.Span) time.Time {
	switch span.Unit {
	case policy.Clock:
		return t.Add(-span.Clock)
	case policy.CalendarDays:
		return t.AddDate(0, 0, -span.Days)
	case policy.WorkingDays:
		return p.Calendar().AddWorkingDays(t, -span.Days)
	}
	return t
}
