package report

import (
	"math"
	"reflect"
	"testing"
	"time"
)

var (
	cst  = time.FixedZone("CST", 8*3600)
	from = time.Date(2025, 3, 1, 0, 0, 0, 0, cst)
	to   = time.Date(2025, 4, 1, 0, 0, 0, 0, cst)
	now  = time.Date(2025, 4, 2, 9, 0, 0, 0, cst)
)

func at(day, hour int) time.Time { return time.Date(2025, 3, day, hour, 0, 0, 0, cst) }

// complaint returns a complaint created on day d of March 2025.
func complaint(id string, d int, mods ...func(*Item)) Item {
	it := Item{ID: id, Type: TypeComplaint, Status: "closed", Class: "service", Subject: "attitude",
		Area: "鼓楼区", Grade: "V", CreatedAt: at(d, 10)}
	for _, m := range mods {
		m(&it)
	}
	return it
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBuild(t *testing.T) {
	tests := []struct {
		name  string
		items []Item
		check func(t *testing.T, r Report)
	}{
		{
			name:  "empty input",
			items: nil,
			check: func(t *testing.T, r Report) {
				if r.Total != 0 || r.Complaints != 0 || r.Overdue != 0 || r.OverdueRate != 0 ||
					r.SatisfactionKnown || r.SatisfactionLow || r.RepeatComplaints != 0 {
					t.Errorf("empty report not zero: %+v", r)
				}
				if len(r.ByClass) != 0 || len(r.HotAreas) != 0 || len(r.RepeatCallers) != 0 {
					t.Errorf("empty report has rows: %+v", r)
				}
				if r.SatisfactionTarget != DefaultOptions().SatisfactionTarget {
					t.Errorf("target = %v", r.SatisfactionTarget)
				}
			},
		},
		{
			name: "period boundaries: from inclusive, to exclusive",
			items: []Item{
				complaint("at-from", 1, func(it *Item) { it.CreatedAt = from }),
				complaint("before-from", 1, func(it *Item) { it.CreatedAt = from.Add(-time.Nanosecond) }),
				complaint("before-to", 1, func(it *Item) { it.CreatedAt = to.Add(-time.Nanosecond) }),
				complaint("at-to", 1, func(it *Item) { it.CreatedAt = to }),
				// same instant as from, other zone: still in
				complaint("utc-from", 1, func(it *Item) { it.CreatedAt = from.UTC() }),
			},
			check: func(t *testing.T, r Report) {
				if r.Total != 3 || r.Complaints != 3 {
					t.Errorf("total %d complaints %d, want 3 3", r.Total, r.Complaints)
				}
			},
		},
		{
			name: "totals by type and complaint breakdowns",
			items: []Item{
				{ID: "f1", Type: "fault", Area: "鼓楼区", CreatedAt: at(2, 1)},
				{ID: "f2", Type: "fault", Area: "鼓楼区", CreatedAt: at(2, 2)},
				{ID: "q1", Type: "consultation", CreatedAt: at(2, 3)},
				complaint("c1", 3, func(it *Item) {
					it.Class, it.Subject, it.Area, it.Grade = "business", "wrong_reading", "玄武区", "IV"
				}),
				complaint("c2", 3, func(it *Item) { it.Class, it.Subject, it.Area = "business", "wrong_reading", "玄武区" }),
				complaint("c3", 4, func(it *Item) { it.Class, it.Subject, it.Area = "outage", "planned_outage", "江宁区" }),
				complaint("c4", 5),
				complaint("c5", 6, func(it *Item) { it.Area, it.Grade = "", "III" }),
			},
			check: func(t *testing.T, r Report) {
				if r.Total != 8 || r.Complaints != 5 {
					t.Fatalf("total %d complaints %d", r.Total, r.Complaints)
				}
				wantTypes := []Count{{"complaint", 5, 5.0 / 8}, {"fault", 2, 2.0 / 8}, {"consultation", 1, 1.0 / 8}}
				if !reflect.DeepEqual(r.ByType, wantTypes) {
					t.Errorf("ByType = %+v", r.ByType)
				}
				// ties broken by id: business(2) service(2) outage(1)
				wantClass := []Count{{"business", 2, 0.4}, {"service", 2, 0.4}, {"outage", 1, 0.2}}
				if !reflect.DeepEqual(r.ByClass, wantClass) {
					t.Errorf("ByClass = %+v", r.ByClass)
				}
				wantArea := []Count{{"玄武区", 2, 0.4}, {"", 1, 0.2}, {"江宁区", 1, 0.2}, {"鼓楼区", 1, 0.2}}
				if !reflect.DeepEqual(r.ByArea, wantArea) {
					t.Errorf("ByArea = %+v", r.ByArea)
				}
				// hot spots leave out the unspecified area
				wantHot := []Count{{"玄武区", 2, 0.4}, {"江宁区", 1, 0.2}, {"鼓楼区", 1, 0.2}}
				if !reflect.DeepEqual(r.HotAreas, wantHot) {
					t.Errorf("HotAreas = %+v", r.HotAreas)
				}
				wantGrade := []Count{{"III", 1, 0.2}, {"IV", 1, 0.2}, {"V", 3, 0.6}}
				if !reflect.DeepEqual(r.ByGrade, wantGrade) {
					t.Errorf("ByGrade = %+v", r.ByGrade)
				}
				if r.BySubject[0].Key != "attitude" || r.BySubject[0].Count != 2 {
					t.Errorf("BySubject = %+v", r.BySubject)
				}
			},
		},
		{
			name: "hot spots keep the top five",
			items: func() []Item {
				var its []Item
				for i, a := range []string{"A", "B", "C", "D", "E", "F", "G"} {
					for j := 0; j <= i; j++ { // G has 7, A has 1
						its = append(its, complaint(a, 1, func(it *Item) { it.Area, it.Subject = a, "s"+a }))
					}
				}
				return its
			}(),
			check: func(t *testing.T, r Report) {
				var got []string
				for _, c := range r.HotAreas {
					got = append(got, c.Key)
				}
				if want := []string{"G", "F", "E", "D", "C"}; !reflect.DeepEqual(got, want) {
					t.Errorf("HotAreas = %v, want %v", got, want)
				}
				if len(r.HotSubjects) != 5 || r.HotSubjects[0].Key != "sG" {
					t.Errorf("HotSubjects = %+v", r.HotSubjects)
				}
				if len(r.ByArea) != 7 {
					t.Errorf("ByArea has %d rows", len(r.ByArea))
				}
			},
		},
		{
			name: "repeat callers and repeat-call tickets",
			items: []Item{
				complaint("r1", 5, func(it *Item) { it.Phone = "13812348000"; it.Area = "玄武区" }),
				complaint("r2", 2, func(it *Item) { it.Phone = "13812348000" }),
				complaint("r3", 9, func(it *Item) { it.Phone = " 13812348000 " }),
				complaint("p1", 3, func(it *Item) { it.Phone = "13900001111"; it.RepeatCalls = 2 }),
				complaint("p2", 3, func(it *Item) { it.Phone = "02584561234" }),
				complaint("p3", 4, func(it *Item) { it.Phone = "02584561234"; it.RepeatCalls = 1 }),
				complaint("anon1", 4),
				complaint("anon2", 4),
				// a fault from the same phone is not a complaint
				{ID: "f1", Type: "fault", Phone: "13900001111", CreatedAt: at(4, 1)},
				// outside the period: does not make 13900001111 a repeat caller
				complaint("old", 1, func(it *Item) { it.Phone = "13900001111"; it.CreatedAt = from.AddDate(0, 0, -3) }),
			},
			check: func(t *testing.T, r Report) {
				want := []RepeatCaller{
					{Phone: "138****8000", Count: 3, Tickets: []string{"r2", "r1", "r3"}, Areas: []string{"玄武区", "鼓楼区"}},
					{Phone: "025****1234", Count: 2, Tickets: []string{"p2", "p3"}, Areas: []string{"鼓楼区"}},
				}
				if !reflect.DeepEqual(r.RepeatCallers, want) {
					t.Errorf("RepeatCallers = %+v", r.RepeatCallers)
				}
				if r.RepeatCallTickets != 2 {
					t.Errorf("RepeatCallTickets = %d, want 2", r.RepeatCallTickets)
				}
				// r1 r2 r3 p2 p3 by phone, p1 by RepeatCalls; p3 counted once
				if r.RepeatComplaints != 6 {
					t.Errorf("RepeatComplaints = %d, want 6", r.RepeatComplaints)
				}
			},
		},
		{
			name: "overdue at now and closed late",
			items: []Item{
				// open, deadline passed at now
				complaint("open-late", 20, func(it *Item) { it.ClosedAt = time.Time{}; it.AnswerBy = now.Add(-time.Minute) }),
				// open, deadline exactly now: not yet overdue
				complaint("open-now", 20, func(it *Item) { it.AnswerBy = now }),
				// open, deadline ahead
				complaint("open-ok", 20, func(it *Item) { it.AnswerBy = now.Add(time.Hour) }),
				// closed after the deadline
				complaint("closed-late", 10, func(it *Item) { it.AnswerBy = at(12, 10); it.ClosedAt = at(12, 11) }),
				// closed exactly at the deadline, and before
				complaint("closed-at", 10, func(it *Item) { it.AnswerBy = at(12, 10); it.ClosedAt = at(12, 10) }),
				complaint("closed-early", 10, func(it *Item) { it.AnswerBy = at(12, 10); it.ClosedAt = at(11, 10) }),
				// flagged by the store, no deadline known
				complaint("flagged", 10, func(it *Item) { it.Overdue = true }),
				// no deadline at all
				complaint("none", 10),
			},
			check: func(t *testing.T, r Report) {
				if r.Overdue != 3 {
					t.Errorf("Overdue = %d, want 3", r.Overdue)
				}
				if !near(r.OverdueRate, 3.0/8) {
					t.Errorf("OverdueRate = %v", r.OverdueRate)
				}
			},
		},
		{
			name: "satisfaction below target is flagged, no-answer counted apart",
			items: func() []Item {
				var its []Item
				for i := range 18 {
					its = append(its, complaint("s", 1+i%28, func(it *Item) { it.FollowUp = FollowUpSatisfied }))
				}
				its = append(its,
					complaint("u1", 2, func(it *Item) { it.FollowUp = FollowUpUnsatisfied }),
					complaint("u2", 2, func(it *Item) { it.FollowUp = FollowUpUnsatisfied }),
					complaint("n1", 2, func(it *Item) { it.FollowUp = FollowUpNoAnswer }),
					complaint("none", 2),
					complaint("e1", 2, func(it *Item) { it.Escalations = 2 }),
				)
				return its
			}(),
			check: func(t *testing.T, r Report) {
				if r.Satisfied != 18 || r.Unsatisfied != 2 || r.NoAnswer != 1 {
					t.Errorf("follow-ups %d/%d/%d", r.Satisfied, r.Unsatisfied, r.NoAnswer)
				}
				if !r.SatisfactionKnown || !near(r.Satisfaction, 0.9) || !r.SatisfactionLow {
					t.Errorf("satisfaction %v known %v low %v", r.Satisfaction, r.SatisfactionKnown, r.SatisfactionLow)
				}
				if r.Escalated != 1 {
					t.Errorf("Escalated = %d", r.Escalated)
				}
			},
		},
		{
			name: "satisfaction exactly at target is not flagged",
			items: func() []Item {
				var its []Item
				for range 19 {
					its = append(its, complaint("s", 3, func(it *Item) { it.FollowUp = FollowUpSatisfied }))
				}
				return append(its, complaint("u", 3, func(it *Item) { it.FollowUp = FollowUpUnsatisfied }))
			}(),
			check: func(t *testing.T, r Report) {
				if !near(r.Satisfaction, 0.95) || r.SatisfactionLow {
					t.Errorf("satisfaction %v low %v", r.Satisfaction, r.SatisfactionLow)
				}
			},
		},
		{
			name: "only no-answer follow-ups: satisfaction unknown, not flagged",
			items: []Item{
				complaint("n1", 3, func(it *Item) { it.FollowUp = FollowUpNoAnswer }),
			},
			check: func(t *testing.T, r Report) {
				if r.SatisfactionKnown || r.SatisfactionLow || r.Satisfaction != 0 || r.NoAnswer != 1 {
					t.Errorf("%+v", r)
				}
			},
		},
		{
			name: "follow-ups of other types are ignored",
			items: []Item{
				{ID: "f", Type: "fault", FollowUp: FollowUpUnsatisfied, CreatedAt: at(3, 3), Overdue: true, Escalations: 1},
			},
			check: func(t *testing.T, r Report) {
				if r.Total != 1 || r.Complaints != 0 || r.Unsatisfied != 0 || r.Overdue != 0 || r.Escalated != 0 {
					t.Errorf("%+v", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Build(tt.items, from, to, now))
		})
	}
}

func TestBuildWithOptions(t *testing.T) {
	its := []Item{
		complaint("a", 1, func(it *Item) { it.Phone = "13800000001"; it.FollowUp = FollowUpSatisfied }),
		complaint("b", 2, func(it *Item) { it.Phone = "13800000001"; it.Area = "玄武区"; it.FollowUp = FollowUpUnsatisfied }),
	}
	r := BuildWith(its, from, to, now, Options{SatisfactionTarget: 0.4, HotSpots: 1, RepeatMin: 3})
	if r.SatisfactionLow || r.SatisfactionTarget != 0.4 {
		t.Errorf("target 0.4: low %v", r.SatisfactionLow)
	}
	if len(r.HotAreas) != 1 {
		t.Errorf("HotAreas = %+v", r.HotAreas)
	}
	if len(r.RepeatCallers) != 0 || r.RepeatComplaints != 0 {
		t.Errorf("RepeatMin 3: %+v", r.RepeatCallers)
	}
}

func TestBuildOpenPeriod(t *testing.T) {
	its := []Item{complaint("a", 1, func(it *Item) { it.CreatedAt = time.Date(1999, 1, 1, 0, 0, 0, 0, cst) }), complaint("b", 2)}
	if r := Build(its, time.Time{}, time.Time{}, now); r.Complaints != 2 {
		t.Errorf("open period: %d complaints", r.Complaints)
	}
	if r := Build(its, from, time.Time{}, now); r.Complaints != 1 {
		t.Errorf("open end: %d complaints", r.Complaints)
	}
}

func TestBuildDoesNotReorderInput(t *testing.T) {
	its := []Item{
		complaint("b", 5, func(it *Item) { it.Phone = "13800000001" }),
		complaint("a", 1, func(it *Item) { it.Phone = "13800000001" }),
	}
	Build(its, from, to, now)
	if its[0].ID != "b" || its[1].ID != "a" {
		t.Errorf("input reordered: %v %v", its[0].ID, its[1].ID)
	}
}

func TestMaskPhone(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"13812348000", "138****8000"},
		{"02584561234", "025****1234"},
		{"075512345678", "075****5678"},
		{"84561234", "****1234"},
		{"95598", "****5598"},
		{"1234", "**34"},
		{"12", "**"},
		{"", ""},
		{" 13812348000 ", "138****8000"},
	} {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPct(t *testing.T) {
	for _, tt := range []struct {
		f          float64
		want, down string
	}{
		{0, "0.00%", "0.00%"},
		{1, "100.00%", "100.00%"},
		{19.0 / 20, "95.00%", "95.00%"},
		{0.94999, "95.00%", "94.99%"},
		{2.0 / 14, "14.29%", "14.28%"},
		{0.999999, "100.00%", "99.99%"},
	} {
		if got := pct(tt.f); got != tt.want {
			t.Errorf("pct(%v) = %q, want %q", tt.f, got, tt.want)
		}
		if got := pctDown(tt.f); got != tt.down {
			t.Errorf("pctDown(%v) = %q, want %q", tt.f, got, tt.down)
		}
	}
	if got := target(0.95); got != "95%" {
		t.Errorf("target(0.95) = %q", got)
	}
	if got := target(0.995); got != "99.5%" {
		t.Errorf("target(0.995) = %q", got)
	}
}
