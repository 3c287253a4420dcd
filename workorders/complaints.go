package workorders

import (
	"context"
	"time"

	"github.com/hotline95598/hotline/report"
	"github.com/hotline95598/hotline/tickets"
)

// ComplaintReport analyses every work order created in [from, to), however
// many: it pages through the period (tickets.Store.Scan) into a
// report.Builder, holding one page of orders at a time. The hot-spot and
// repeated-outage warnings are as of the end of the period (or now, when
// that is earlier); the hot-spot window may reach back before from.
func (s *Service) ComplaintReport(ctx context.Context, from, to time.Time) (report.Report, report.Labels, error) {
	now := s.now()
	asOf := to
	if asOf.IsZero() || now.Before(asOf) {
		asOf = now
	}
	ew := s.Policy.EarlyWarning()
	sc := s.Policy.Scoring()
	opt := report.Options{SatisfactionTarget: s.Policy.Report().SatisfactionTarget, HotSpots: ew.Top,
		RepeatMin: s.Policy.Report().RepeatMin, HotMin: ew.HotSpotMin, HotTo: asOf, HotFrom: before(s.Policy, asOf, ew.HotSpotWindow),
		Scoring: report.Scoring{NotByPlan: sc.NotByPlan, MissingReport: sc.MissingReport, IncompleteRecord: sc.IncompleteRecord, Averted: sc.Averted}}
	var err error
	if opt.OutageRepeats, err = s.outageRepeats(ctx, before(s.Policy, asOf, ew.OutageWindow), asOf); err != nil {
		return report.Report{}, report.Labels{}, err
	}
	scanFrom := from
	if !from.IsZero() && opt.HotFrom.Before(from) {
		scanFrom = opt.HotFrom
	}
	b := report.NewBuilder(from, to, now, opt)
	err = s.Tickets.Scan(ctx, scanFrom, to, func(ts []tickets.Ticket) error {
		for _, t := range ts {
			b.Add(Item(t, now))
		}
		return nil
	})
	if err != nil {
		return report.Report{}, report.Labels{}, err
	}
	labels := report.Labels{Classes: map[string]string{}, Subjects: map[string]string{}, Types: typeNames, ReportSubjects: map[string]string{}}
	for _, c := range s.Policy.Classes() {
		labels.Classes[c.ID] = c.Name
	}
	for _, sub := range s.Policy.Subjects() {
		labels.Subjects[sub.ID] = sub.Name
	}
	for _, sub := range s.Policy.ReportSubjects() {
		labels.ReportSubjects[sub.ID] = sub.Name
	}
	rep := b.Report()
	rep.Labels = labels
	return rep, labels, nil
}

// Item is a work order as the report sees it, judged at now: the answer
// deadline is the original one (tickets.Ticket.Original), whatever rungs
// or reclassifications came after; an order breaking any of its deadlines
// was not handled by the plan; the gaps of a complaint's record are listed
// (unclassified, no station, no first responder, assigned without a
// proposal 拟办), one penalty each.
func Item(t tickets.Ticket, now time.Time) report.Item {
	it := report.Item{ID: t.ID, Type: string(t.Type), Status: string(t.Status), Class: t.Class, Subject: t.Subject, Area: t.Area,
		Phone: t.Phone, Grade: t.Grade, FollowUp: t.FollowUp, CreatedAt: t.CreatedAt, AnswerBy: t.AnswerBy, ClosedAt: t.ClosedAt,
		RepeatCalls: t.RepeatCalls, Channel: t.Channel, Queue: t.Queue, Decision: t.Decision,
		Investigated: t.Cause != "" && t.Measure != "",
		Handled:      t.Status == tickets.StatusResolved || t.Status == tickets.StatusFollowUp || t.Status == tickets.StatusClosed}
	if sv := t.Survey; sv != nil {
		it.Survey, it.SurveyAgent, it.SurveyQueue = sv.Answer, sv.Agent, sv.Queue
	}
	for _, a := range t.Audit {
		if a.Action == string(tickets.ActionEscalate) {
			it.Escalations++
		}
	}
	if o, ok := t.Original(tickets.DeadlineAnswer); ok {
		it.AnswerBy, it.AnsweredAt, it.Overdue = o.Due, o.MetAt, o.Breached(now)
	}
	for _, d := range t.Deadlines {
		if d.Breached(now) {
			it.NotByPlan = true
			if d.Kind == tickets.DeadlineRegulator {
				it.RegulatorBreached = true
			}
		}
	}
	if t.Type == tickets.TypeComplaint {
		if t.Class == "" || t.Subject == "" {
			it.Missing = append(it.Missing, "classification")
		}
		if t.Area == "" {
			it.Missing = append(it.Missing, "station")
		}
		if t.FirstResponder == "" {
			it.Missing = append(it.Missing, "first_responder")
		}
		if t.AssignedTo != "" && t.Proposal == "" {
			it.Missing = append(it.Missing, "proposal")
		}
	}
	return it
}

// typeNames are the work-order types as a 95598 back office names them.
var typeNames = map[string]string{
	"fault": "故障报修", "complaint": "投诉", "report": "举报", "consultation": "咨询查询",
	"service": "服务申请", "opinion": "意见", "suggestion": "建议", "praise": "表扬",
}
