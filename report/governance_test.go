package report

import (
	"strings"
	"testing"
	"time"
)

// Each scoring figure of the policy acts on the station's score; a
// malicious complaint scores nothing.
func TestStationScores(t *testing.T) {
	opt := DefaultOptions()
	its := []Item{
		// 95598, a deadline broken: -1; handled without a report: -0.2; two gaps: -0.4.
		complaint("a", 2, func(it *Item) {
			it.Area, it.Channel, it.NotByPlan, it.Handled, it.Missing = "东区所", "95598", true, true, []string{"class", "proposal"}
		}),
		// by the plan, reported, complete: 0.
		complaint("b", 3, func(it *Item) { it.Area, it.Channel, it.Handled, it.Investigated = "东区所", "12398", true, true }),
		// a counter complaint not by plan: not a 95598/12398 complaint, no -1.
		complaint("c", 3, func(it *Item) { it.Area, it.Channel, it.NotByPlan = "东区所", "counter", true }),
		// averted: +0.3.
		complaint("d", 4, func(it *Item) { it.Area, it.Channel, it.Decision = "西区所", "counter", "averted" }),
		// malicious: nothing, whatever else is wrong.
		complaint("e", 4, func(it *Item) {
			it.Area, it.Channel, it.Decision, it.NotByPlan, it.Handled, it.Missing = "西区所", "95598", "malicious", true, true, []string{"x"}
		}),
	}
	r := BuildWith(its, from, to, now, opt)
	got := map[string]StationScore{}
	for _, s := range r.Scores {
		got[s.Station] = s
	}
	east, west := got["东区所"], got["西区所"]
	if east.NotByPlan != 1 || east.MissingReports != 1 || east.Incomplete != 2 || !near(east.Score, -1.6) {
		t.Errorf("东区所 %+v, want -1 -0.2 -0.4 = -1.6", east)
	}
	if west.Averted != 1 || west.Malicious != 1 || !near(west.Score, 0.3) {
		t.Errorf("西区所 %+v, want +0.3", west)
	}
	if r.Scores[0].Station != "东区所" {
		t.Errorf("lowest score first: %+v", r.Scores)
	}
	// Every figure acts: another value gives another score.
	opt.Scoring = Scoring{NotByPlan: -2, MissingReport: -1, IncompleteRecord: -0.5, Averted: 1}
	r = BuildWith(its, from, to, now, opt)
	for _, s := range r.Scores {
		if s.Station == "东区所" && !near(s.Score, -4) || s.Station == "西区所" && !near(s.Score, 1) {
			t.Errorf("with other figures %+v", s)
		}
	}
}

// The 12398 track counts every 12398 item, closed on time, breached, open.
func TestRegulatorTrack(t *testing.T) {
	its := []Item{
		complaint("on-time", 2, func(it *Item) { it.Channel, it.ClosedAt = "12398", at(5, 0) }),
		complaint("late", 2, func(it *Item) { it.Channel, it.ClosedAt, it.RegulatorBreached = "12398", at(20, 0), true }),
		complaint("open-late", 2, func(it *Item) { it.Channel, it.ClosedAt, it.RegulatorBreached = "12398", time.Time{}, true }),
		complaint("open", 25, func(it *Item) { it.Channel, it.ClosedAt = "12398", time.Time{} }),
		complaint("95598", 2, func(it *Item) { it.Channel = "95598" }),
	}
	g := Build(its, from, to, now).Regulator
	if g != (Regulator{Items: 4, Closed: 2, ClosedOnTime: 1, Breached: 2, Open: 2}) {
		t.Errorf("12398 track %+v", g)
	}
}

// Satisfaction per queue and station covers every order followed up;
// per subject only complaints; below the target is flagged.
func TestSatisfactionBreakdowns(t *testing.T) {
	its := []Item{
		{ID: "f1", Type: "fault", Area: "东区所", Queue: "fault", FollowUp: FollowUpSatisfied, CreatedAt: at(2, 1)},
		{ID: "f2", Type: "fault", Area: "东区所", Queue: "fault", FollowUp: FollowUpUnsatisfied, CreatedAt: at(2, 2)},
		complaint("c1", 3, func(it *Item) { it.Area, it.Queue, it.FollowUp = "西区所", "complaint", FollowUpSatisfied }),
		complaint("c2", 3, func(it *Item) { it.Area, it.FollowUp = "西区所", FollowUpNoAnswer }),
	}
	r := Build(its, from, to, now)
	q := map[string]Satisfaction{}
	for _, s := range r.SatisfactionByQueue {
		q[s.Key] = s
	}
	if f := q["fault"]; !f.Known || !near(f.Rate, 0.5) || !f.Low || q["complaint"].Rate != 1 || q["complaint"].Low {
		t.Errorf("by queue %+v", r.SatisfactionByQueue)
	}
	if s := q[""]; s.NoAnswer != 1 || s.Known {
		t.Errorf("no queue %+v", s)
	}
	if len(r.SatisfactionByStation) != 2 || r.SatisfactionByStation[0].Key != "东区所" || r.SatisfactionByStation[0].Satisfied != 1 {
		t.Errorf("by station %+v", r.SatisfactionByStation)
	}
	if len(r.SatisfactionBySubject) != 1 || r.SatisfactionBySubject[0].Satisfied != 1 || r.SatisfactionBySubject[0].NoAnswer != 1 {
		t.Errorf("by subject %+v", r.SatisfactionBySubject)
	}
	// The target is the policy's: at 0.4 the fault queue is not low.
	opt := DefaultOptions()
	opt.SatisfactionTarget = 0.4
	if r := BuildWith(its, from, to, now, opt); r.SatisfactionByQueue[2].Key != "fault" || r.SatisfactionByQueue[2].Low {
		t.Errorf("target 0.4: %+v", r.SatisfactionByQueue)
	}
}

// Hot spots count the moving window, even before the period, against the
// policy's threshold.
func TestHotSpotWindow(t *testing.T) {
	opt := DefaultOptions()
	opt.HotFrom, opt.HotTo, opt.HotMin = at(20, 0), to, 3
	var its []Item
	for i := range 3 {
		its = append(its, complaint("in", 21+i, func(it *Item) { it.Area, it.Subject = "东区所", "s"+string(rune('a'+i)) }))
	}
	its = append(its, complaint("early", 2, func(it *Item) { it.Area = "东区所" }),
		complaint("before-period", 1, func(it *Item) { it.Area, it.CreatedAt = "西区所", from.Add(-time.Hour) }))
	r := BuildWith(its, from, to, now, opt)
	if len(r.Warnings.HotSpots) != 1 || r.Warnings.HotSpots[0] != (HotSpot{"area", "东区所", 3}) {
		t.Errorf("hot spots %+v", r.Warnings.HotSpots)
	}
	if r.Complaints != 4 {
		t.Errorf("complaints %d: the window's orders before the period are not in the period", r.Complaints)
	}
	opt.HotMin = 4
	if r := BuildWith(its, from, to, now, opt); len(r.Warnings.HotSpots) != 0 {
		t.Errorf("threshold 4: %+v", r.Warnings.HotSpots)
	}
	opt.HotFrom = from.Add(-2 * time.Hour)
	opt.HotMin = 1
	if r := BuildWith(its, from, to, now, opt); len(r.Warnings.HotSpots) != 6 || r.Warnings.HotSpots[0].Count != 4 {
		t.Errorf("window reaching before the period: %+v", r.Warnings.HotSpots)
	}
}

// Reports (举报) are counted by subject and against their own deadline.
func TestReports(t *testing.T) {
	its := []Item{
		{ID: "r1", Type: TypeReport, Subject: "electricity_theft", CreatedAt: at(2, 0), AnswerBy: at(13, 0), AnsweredAt: at(10, 0)},
		{ID: "r2", Type: TypeReport, Subject: "electricity_theft", CreatedAt: at(2, 0), AnswerBy: at(13, 0), AnsweredAt: at(14, 0)},
		{ID: "r3", Type: TypeReport, Subject: "other", CreatedAt: at(2, 0), AnswerBy: at(13, 0)},
	}
	r := Build(its, from, to, now)
	if r.Reports != 3 || r.ReportsOverdue != 2 || r.ReportsBySubject[0].Key != "electricity_theft" || r.ReportsBySubject[0].Count != 2 {
		t.Errorf("reports %d overdue %d by subject %+v", r.Reports, r.ReportsOverdue, r.ReportsBySubject)
	}
	r.Labels.ReportSubjects = map[string]string{"electricity_theft": "窃电"}
	var b strings.Builder
	if err := r.WriteCSV(&b); err != nil || !strings.Contains(b.String(), "report_subject,electricity_theft,窃电,2,0.6667") {
		t.Errorf("CSV %v:\n%s", err, b.String())
	}
}

// AnsweredAt, when known, judges the answer deadline: answered on time but
// closed after the follow-up is not overdue.
func TestOverdueByAnswer(t *testing.T) {
	it := complaint("x", 2, func(it *Item) { it.AnswerBy, it.AnsweredAt, it.ClosedAt = at(5, 0), at(4, 0), at(9, 0) })
	if IsOverdue(it, now) {
		t.Error("answered on time, closed later: overdue")
	}
	it.AnsweredAt = at(6, 0)
	if !IsOverdue(it, now) {
		t.Error("answered late: not overdue")
	}
}
