package report

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// Builder builds a Report from orders given one at a time, so that the
// caller can page through a period of any size. It keeps tallies and, per
// complaint, only what the repeat-caller list needs (id, area, time).
type Builder struct {
	from, to, now time.Time
	opt           Options
	r             Report

	types, classes, subjects, areas, grades, reportSubjects map[string]int
	byPhone                                                 map[string][]complaintRef
	byQueue, byStation, bySubject                           map[string]*Satisfaction
	stations                                                map[string]*StationScore
	hotAreas, hotSubjects                                   map[string]int
	surveys                                                 surveys
}

type complaintRef struct {
	id, area    string
	at          time.Time
	repeatCalls int
}

// NewBuilder starts a report of [from, to) judged at now.
func NewBuilder(from, to, now time.Time, opt Options) *Builder {
	return &Builder{from: from, to: to, now: now, opt: opt,
		r:     Report{From: from, To: to, GeneratedAt: now, SatisfactionTarget: opt.SatisfactionTarget},
		types: map[string]int{}, classes: map[string]int{}, subjects: map[string]int{}, areas: map[string]int{},
		grades: map[string]int{}, reportSubjects: map[string]int{}, byPhone: map[string][]complaintRef{},
		byQueue: map[string]*Satisfaction{}, byStation: map[string]*Satisfaction{}, bySubject: map[string]*Satisfaction{},
		stations: map[string]*StationScore{}, hotAreas: map[string]int{}, hotSubjects: map[string]int{}}
}

func (b *Builder) inPeriod(t time.Time) bool {
	return (b.from.IsZero() || !t.Before(b.from)) && (b.to.IsZero() || t.Before(b.to))
}

// Add takes one order. Orders outside the period count only towards the
// hot-spot window, so the caller may give the window's orders too.
func (b *Builder) Add(it Item) {
	if it.Type == TypeComplaint && !b.opt.HotFrom.IsZero() && !it.CreatedAt.Before(b.opt.HotFrom) && it.CreatedAt.Before(b.opt.HotTo) {
		if it.Area != "" {
			b.hotAreas[it.Area]++
		}
		if it.Subject != "" {
			b.hotSubjects[it.Subject]++
		}
	}
	if !b.inPeriod(it.CreatedAt) {
		return
	}
	r := &b.r
	r.Total++
	b.types[it.Type]++
	if it.FollowUp != "" {
		tally(b.byQueue, it.Queue, it.FollowUp)
		tally(b.byStation, it.Area, it.FollowUp)
	}
	b.surveys.add(it)
	if it.Channel == "12398" {
		b.regulator(it)
	}
	switch it.Type {
	case TypeReport:
		r.Reports++
		b.reportSubjects[it.Subject]++
		if IsOverdue(it, b.now) {
			r.ReportsOverdue++
		}
	case TypeComplaint:
		b.complaint(it)
	}
}

func (b *Builder) regulator(it Item) {
	g := &b.r.Regulator
	g.Items++
	switch {
	case it.ClosedAt.IsZero():
		g.Open++
	case !it.RegulatorBreached:
		g.Closed++
		g.ClosedOnTime++
	default:
		g.Closed++
	}
	if it.RegulatorBreached {
		g.Breached++
	}
}

func (b *Builder) complaint(it Item) {
	r := &b.r
	r.Complaints++
	b.classes[it.Class]++
	b.subjects[it.Subject]++
	b.areas[it.Area]++
	b.grades[it.Grade]++
	if IsOverdue(it, b.now) {
		r.Overdue++
	}
	switch it.FollowUp {
	case FollowUpSatisfied:
		r.Satisfied++
	case FollowUpUnsatisfied:
		r.Unsatisfied++
	case FollowUpNoAnswer:
		r.NoAnswer++
	}
	if it.FollowUp != "" {
		tally(b.bySubject, it.Subject, it.FollowUp)
	}
	if it.Escalations > 0 {
		r.Escalated++
	}
	if it.RepeatCalls > 0 {
		r.RepeatCallTickets++
		r.RepeatTickets = append(r.RepeatTickets, RepeatTicket{ID: it.ID, Phone: MaskPhone(it.Phone), Area: it.Area, RepeatCalls: it.RepeatCalls})
	}
	if p := strings.TrimSpace(it.Phone); p != "" {
		b.byPhone[p] = append(b.byPhone[p], complaintRef{id: it.ID, area: it.Area, at: it.CreatedAt, repeatCalls: it.RepeatCalls})
	} else if it.RepeatCalls > 0 {
		r.RepeatComplaints++
	}
	b.score(it)
}

// score charges the complaint to its station (seed 001 §7.3).
func (b *Builder) score(it Item) {
	st := b.stations[it.Area]
	if st == nil {
		st = &StationScore{Station: it.Area}
		b.stations[it.Area] = st
	}
	st.Complaints++
	switch {
	case it.Decision == "malicious":
		st.Malicious++ // a malicious complaint costs the station nothing
		return
	case it.Decision == "averted":
		st.Averted++
		return
	}
	if it.NotByPlan && (it.Channel == "95598" || it.Channel == "12398") {
		st.NotByPlan++
	}
	if it.Handled && !it.Investigated {
		st.MissingReports++
	}
	st.Incomplete += len(it.Missing)
}

func tally(m map[string]*Satisfaction, key, outcome string) {
	s := m[key]
	if s == nil {
		s = &Satisfaction{Key: key}
		m[key] = s
	}
	switch outcome {
	case FollowUpSatisfied:
		s.Satisfied++
	case FollowUpUnsatisfied:
		s.Unsatisfied++
	case FollowUpNoAnswer:
		s.NoAnswer++
	}
}

// Report finishes the report; the Builder is not to be used after.
func (b *Builder) Report() Report {
	r, opt := b.r, b.opt
	r.ByType = counts(b.types, r.Total)
	r.ByClass = counts(b.classes, r.Complaints)
	r.BySubject = counts(b.subjects, r.Complaints)
	r.ByArea = counts(b.areas, r.Complaints)
	r.ByGrade = counts(b.grades, r.Complaints)
	slices.SortFunc(r.ByGrade, func(a, b Count) int { return cmp.Compare(a.Key, b.Key) })
	r.HotAreas = top(r.ByArea, opt.HotSpots)
	r.HotSubjects = top(r.BySubject, opt.HotSpots)
	r.OverdueRate = ratio(r.Overdue, r.Complaints)
	if answered := r.Satisfied + r.Unsatisfied; answered > 0 {
		r.Satisfaction = ratio(r.Satisfied, answered)
		r.SatisfactionKnown = true
		r.SatisfactionLow = r.Satisfaction < opt.SatisfactionTarget
	}
	r.ReportsBySubject = counts(b.reportSubjects, r.Reports)
	r.SatisfactionByQueue = rates(b.byQueue, opt.SatisfactionTarget)
	r.SatisfactionByStation = rates(b.byStation, opt.SatisfactionTarget)
	r.SatisfactionBySubject = rates(b.bySubject, opt.SatisfactionTarget)
	b.surveys.finish(&r, opt.SatisfactionTarget)
	r.RepeatCallers, r.RepeatComplaints = b.repeats(r.RepeatComplaints)
	slices.SortStableFunc(r.RepeatTickets, func(a, b RepeatTicket) int { return cmp.Compare(b.RepeatCalls, a.RepeatCalls) })
	if r.RepeatTickets == nil {
		r.RepeatTickets = []RepeatTicket{}
	}
	r.Scores = b.scores()
	r.Warnings = Warnings{HotFrom: opt.HotFrom, HotTo: opt.HotTo, HotMin: opt.HotMin, HotSpots: b.hotSpots(),
		OutageRepeats: append([]OutageRepeat{}, opt.OutageRepeats...)}
	return r
}

// repeats lists the repeat callers and counts the complaints that are
// repeats (from a repeat caller, or with RepeatCalls > 0), each once;
// counted holds those already counted without a phone.
func (b *Builder) repeats(counted int) ([]RepeatCaller, int) {
	minCount := b.opt.RepeatMin
	n := counted
	type keyed struct {
		phone string
		rc    RepeatCaller
	}
	var found []keyed
	for p, refs := range b.byPhone {
		repeat := minCount > 0 && len(refs) >= minCount
		for _, c := range refs {
			if repeat || c.repeatCalls > 0 {
				n++
			}
		}
		if !repeat {
			continue
		}
		slices.SortStableFunc(refs, func(a, b complaintRef) int { return a.at.Compare(b.at) })
		rc := RepeatCaller{Phone: MaskPhone(p), Count: len(refs)}
		for _, c := range refs {
			rc.Tickets = append(rc.Tickets, c.id)
			if c.area != "" && !slices.Contains(rc.Areas, c.area) {
				rc.Areas = append(rc.Areas, c.area)
			}
		}
		slices.Sort(rc.Areas)
		found = append(found, keyed{p, rc})
	}
	slices.SortFunc(found, func(a, b keyed) int {
		if c := cmp.Compare(b.rc.Count, a.rc.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.phone, b.phone)
	})
	out := make([]RepeatCaller, 0, len(found))
	for _, k := range found {
		out = append(out, k.rc)
	}
	return out, n
}

func (b *Builder) scores() []StationScore {
	sc := b.opt.Scoring
	out := make([]StationScore, 0, len(b.stations))
	for _, st := range b.stations {
		s := float64(st.NotByPlan)*sc.NotByPlan + float64(st.MissingReports)*sc.MissingReport +
			float64(st.Incomplete)*sc.IncompleteRecord + float64(st.Averted)*sc.Averted
		st.Score = math.Round(s*100) / 100
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b StationScore) int {
		if c := cmp.Compare(a.Score, b.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Station, b.Station)
	})
	return out
}

func (b *Builder) hotSpots() []HotSpot {
	out := []HotSpot{}
	if b.opt.HotFrom.IsZero() || b.opt.HotMin <= 0 {
		return out
	}
	for _, d := range []struct {
		name string
		m    map[string]int
	}{{"area", b.hotAreas}, {"subject", b.hotSubjects}} {
		for k, n := range d.m {
			if n >= b.opt.HotMin {
				out = append(out, HotSpot{Dimension: d.name, Key: k, Count: n})
			}
		}
	}
	slices.SortFunc(out, func(a, b HotSpot) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Dimension, b.Dimension); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

func rates(m map[string]*Satisfaction, target float64) []Satisfaction {
	out := make([]Satisfaction, 0, len(m))
	for _, s := range m {
		if answered := s.Satisfied + s.Unsatisfied; answered > 0 {
			s.Rate, s.Known = ratio(s.Satisfied, answered), true
			s.Low = s.Rate < target
		}
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Satisfaction) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
