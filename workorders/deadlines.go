package workorders

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
)

// Stamp gives a new ticket its deadlines from the policy and, for a
// complaint, the first rung of the ladder (first-responder responsibility,
// 首问负责制: the staff who took it own it):
//
//   - contact (when there is a customer), progress (when the type or
//     sub-type sets one) and answer,
//     from limits.<type>[.subtypes.<sub-type>] (a complaint's sub-type is its
//     class), counted from now; a ContactBy or AnswerBy already set stands;
//   - a complaint: verify whose responsibility it is within
//     escalation.verify_within, and the first rung's own time;
//   - a 12398 item: closed within escalation.regulator_within.
func (s *Service) Stamp(t *tickets.Ticket) {
	now := s.now()
	t.PolicyVersion = s.Policy.Version()
	sub := t.Subtype
	if t.Type == tickets.TypeComplaint {
		sub = t.Class
	}
	for _, d := range s.limitDeadlines(string(t.Type), sub, now) {
		if (d.Kind == tickets.DeadlineContact && !t.ContactBy.IsZero()) || (d.Kind == tickets.DeadlineAnswer && !t.AnswerBy.IsZero()) {
			continue
		}
		if d.Kind == tickets.DeadlineContact && t.Phone == "" && t.Account == "" {
			continue // an outage's parent order has no customer to contact
		}
		t.Deadlines = append(t.Deadlines, d)
	}
	esc := s.Policy.Escalation()
	if t.Type == tickets.TypeComplaint {
		t.Deadlines = append(t.Deadlines, tickets.Deadline{Kind: tickets.DeadlineVerify, Group: tickets.GroupLimit,
			Due: s.Policy.Due(now, esc.VerifyWithin), Rule: "escalation.verify_within " + esc.VerifyWithin.String()})
	}
	if t.Channel == tickets.Channel12398 {
		t.Deadlines = append(t.Deadlines, tickets.Deadline{Kind: tickets.DeadlineRegulator, Group: tickets.GroupRegulator,
			Due: s.Policy.Due(now, esc.RegulatorWithin), Rule: "escalation.regulator_within " + esc.RegulatorWithin.String()})
	}
	if t.Type == tickets.TypeComplaint && t.EscalationLevel == "" {
		if ladder := s.Policy.Ladder(); len(ladder) > 0 {
			first := ladder[0]
			t.EscalationLevel, t.Grade = first.ID, first.Grade
			t.Deadlines = append(t.Deadlines, rungDeadline(s.Policy, first, now))
		}
	}
}

// limitDeadlines are the deadlines a type and sub-type's limits set,
// counted from from.
func (s *Service) limitDeadlines(typ, sub string, from time.Time) []tickets.Deadline {
	contact, answer, ok := s.Policy.Limits(typ, sub)
	if !ok {
		return nil
	}
	rule := "limits." + typ
	if sub != "" && s.Policy.HasSubtype(typ, sub) {
		rule += ".subtypes." + sub
	}
	ds := []tickets.Deadline{{Kind: tickets.DeadlineContact, Group: tickets.GroupLimit, Due: s.Policy.Due(from, contact),
		Rule: rule + ".contact_within " + contact.String()}}
	if p, ok := s.Policy.Progress(typ, sub); ok {
		ds = append(ds, tickets.Deadline{Kind: tickets.DeadlineProgress, Group: tickets.GroupLimit, Due: s.Policy.Due(from, p),
			Rule: rule + ".progress_within " + p.String()})
	}
	return append(ds, tickets.Deadline{Kind: tickets.DeadlineAnswer, Group: tickets.GroupLimit, Due: s.Policy.Due(from, answer),
		Rule: rule + ".answer_within " + answer.String()})
}

func rungDeadline(p *policy.Policy, l policy.Level, now time.Time) tickets.Deadline {
	return tickets.Deadline{Kind: tickets.DeadlineAnswer, Group: tickets.GroupRung, Level: l.ID, Due: p.Due(now, l.Within),
		Rule: "escalation.levels." + l.ID + ".within " + l.Within.String()}
}

// classifyDeadlines: a complaint's class is its sub-type, so classifying
// an open complaint sets the limits of its class, counted from acceptance
// (a supply-quality complaint gets its progress report within 3 working
// days and its result within 15). Limits that do not change are left.
func (s *Service) classifyDeadlines(ctx context.Context, id string, c *tickets.Change) error {
	if c.Class == "" {
		return nil
	}
	t, err := s.Tickets.Get(ctx, id)
	if err != nil {
		return err
	}
	if t.Type != tickets.TypeComplaint || t.Class == c.Class || !t.Status.Open() {
		return nil
	}
	for _, d := range s.limitDeadlines(string(t.Type), c.Class, t.CreatedAt) {
		same := false
		for _, o := range t.Deadlines {
			// Stamped a moment before the store set CreatedAt: within a
			// second is the same limit.
			same = same || (o.Active() && o.Kind == d.Kind && o.Group == d.Group && o.Due.Sub(d.Due).Abs() < time.Second)
		}
		if !same {
			c.Deadlines = append(c.Deadlines, d)
		}
	}
	return nil
}

// verifyDeadlines: once it is known whose responsibility a complaint is,
// the customer is contacted within 1 hour when it is theirs and within 1
// working day when it is the utility's (seed 001 §4.3).
func (s *Service) verifyDeadlines(c *tickets.Change) {
	esc := s.Policy.Escalation()
	span, rule := esc.ContactIfUtility, "escalation.contact_if_utility_within"
	if c.Responsibility == tickets.ResponsibilityCustomer {
		span, rule = esc.ContactIfCustomer, "escalation.contact_if_customer_within"
	}
	c.Deadlines = append(c.Deadlines, tickets.Deadline{Kind: tickets.DeadlineContact, Group: tickets.GroupVerify,
		Due: s.Policy.Due(s.now(), span), Rule: rule + " " + span.String()})
}

// escalate moves a ticket one rung up the ladder with that rung's own
// time; the deadlines already missed are recorded as missed. At the top it
// is supervised (督办) instead, with the top rung's time again. Reaching
// the top, the leadership is to call the customer back.
func (s *Service) escalate(ctx context.Context, t tickets.Ticket, why string) (tickets.Ticket, error) {
	now := s.now()
	missed := t.OverdueDeadlines(now)
	next, ok := s.Policy.NextLevel(t.EscalationLevel)
	if !ok {
		ladder := s.Policy.Ladder()
		top := ladder[len(ladder)-1]
		d := rungDeadline(s.Policy, top, now)
		out, err := s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionSupervise, Actor: tickets.SystemActor,
			EndMissed: true, Deadlines: []tickets.Deadline{d}, Note: why + "; already at the top of the ladder, supervised"})
		if err == nil {
			s.countMissed(missed)
		}
		return out, err
	}
	rung := rungDeadline(s.Policy, next, now)
	ds := []tickets.Deadline{rung}
	// The new rung owns the ticket from now: a customer not contacted yet
	// is theirs to contact within the rung's time.
	for _, d := range missed {
		if d.Kind == tickets.DeadlineContact && t.ContactedAt.IsZero() {
			ds = append(ds, tickets.Deadline{Kind: tickets.DeadlineContact, Group: tickets.GroupRung, Level: next.ID,
				Due: rung.Due, Rule: rung.Rule})
			break
		}
	}
	out, err := s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionEscalate, Actor: tickets.SystemActor,
		Level: next.ID, Grade: next.Grade, EndMissed: true, Deadlines: ds,
		Note: fmt.Sprintf("%s; escalated to %s (%s), grade %s, answer by %s", why, next.ID, next.Name, next.Grade,
			rung.Due.In(china.Zone).Format("2006-01-02 15:04"))})
	if err != nil {
		return out, err
	}
	s.countMissed(missed)
	s.m.TicketsEscalated.WithLabelValues(next.ID).Inc()
	s.log.Info().Str("ticket_id", t.ID).Str("level", next.ID).Str("grade", next.Grade).Msg("ticket escalated")
	if ladder := s.Policy.Ladder(); ladder[len(ladder)-1].ID == next.ID {
		return s.leadershipCallback(ctx, out)
	}
	return out, nil
}

func (s *Service) countMissed(ds []tickets.Deadline) {
	for _, d := range ds {
		s.m.DeadlinesMissed.WithLabelValues(d.Kind).Inc()
	}
}

// leadershipCallback: at the top rung the bureau's leadership calls the
// customer back within escalation.callback_within (seed 001 §4.9). The
// callback engine keeps the promise (kind leadership, agent first), and
// the deadline is on the ticket; a contact recorded on the ticket, or the
// callback answered in time, meets it.
func (s *Service) leadershipCallback(ctx context.Context, t tickets.Ticket) (tickets.Ticket, error) {
	now := s.now()
	span := s.Policy.Escalation().CallbackWithin
	due := s.Policy.Due(now, span)
	d := tickets.Deadline{Kind: tickets.DeadlineCallback, Group: tickets.GroupLeadership, Level: t.EscalationLevel, Due: due,
		Rule: "escalation.callback_within " + span.String()}
	note := "the leadership calls the customer back by " + due.In(china.Zone).Format("2006-01-02 15:04")
	if t.Phone != "" {
		id, _, err := s.Callbacks.Schedule(ctx, callbacks.Request{Phone: t.Phone, Kind: callbacks.KindLeadership, TicketID: t.ID,
			Reason: "leadership call back on complaint " + t.ID, Window: due.Sub(now), Deadline: due})
		if err != nil {
			s.log.Error().Err(err).Str("ticket_id", t.ID).Msg("promise the leadership's call back")
			note += "; the callback could not be scheduled: " + err.Error()
		} else {
			s.m.CallbacksSched.Inc()
			d.Ref = id
			note += " (callback " + id + ")"
		}
	} else {
		note += "; no number on the order: by letter or visit"
	}
	return s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionNote, Actor: tickets.SystemActor, Note: note,
		Deadlines: []tickets.Deadline{d}})
}
