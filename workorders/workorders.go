// Package workorders is the 95598 back office's rules over the ticket store:
// deadlines from the policy file, the escalation watcher that moves an
// overdue complaint up the ladder, the follow-up call (回访) when a ticket
// is resolved, and outages whose fault reports merge under one parent.
package workorders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/report"
	"github.com/hotline95598/hotline/tickets"
)

// Config is the back office's own timing; the figures of the work-order
// rules themselves are in the policy file.
type Config struct {
	WatchEvery time.Duration // how often overdue tickets are looked for
	DueSoon    time.Duration // "due soon" horizon for the metric
}

// Service applies the work-order rules.
type Service struct {
	Tickets   *tickets.Store
	Policy    *policy.Policy
	Callbacks *callbacks.Store
	Outages   *outages.Store

	rdb     redis.UniversalClient
	lockKey string
	replica string
	cfg     Config
	m       *metrics.Metrics
	log     zerolog.Logger
	now     func() time.Time
}

// New returns the service.
func New(ts *tickets.Store, pol *policy.Policy, cb *callbacks.Store, os *outages.Store, rdb redis.UniversalClient,
	prefix, replica string, cfg Config, m *metrics.Metrics, log zerolog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.WatchEvery <= 0 {
		cfg.WatchEvery = 30 * time.Second
	}
	if cfg.DueSoon <= 0 {
		cfg.DueSoon = time.Hour
	}
	return &Service{Tickets: ts, Policy: pol, Callbacks: cb, Outages: os, rdb: rdb, lockKey: prefix + "workorders:watcher",
		replica: replica, cfg: cfg, m: m, log: log, now: now}
}

// Stamp gives a new ticket its deadlines from the policy and, for a
// complaint, the first rung of the ladder (first-responder responsibility,
// 首问负责制: the staff who took it own it).
func (s *Service) Stamp(t *tickets.Ticket) {
	now := s.now()
	if contact, answer, ok := s.Policy.Limits(string(t.Type), t.Class); ok {
		if t.ContactBy.IsZero() {
			t.ContactBy = s.Policy.Due(now, contact)
		}
		if t.AnswerBy.IsZero() {
			t.AnswerBy = s.Policy.Due(now, answer)
		}
	}
	if t.Type == tickets.TypeComplaint && t.EscalationLevel == "" {
		if ladder := s.Policy.Ladder(); len(ladder) > 0 {
			t.EscalationLevel, t.Grade = ladder[0].ID, ladder[0].Grade
		}
	}
}

// Create stamps and stores a ticket.
func (s *Service) Create(ctx context.Context, t tickets.Ticket) (tickets.Ticket, error) {
	s.Stamp(&t)
	t, err := s.Tickets.Create(ctx, t)
	if err != nil {
		return t, err
	}
	s.m.TicketsCreated.WithLabelValues(string(t.Type)).Inc()
	s.promiseFirstContact(ctx, t)
	return t, nil
}

// promiseFirstContact: a complaint that did not come in by a call to us
// (12398, 12345, a letter, the counter) needs the customer contacted within
// its contact deadline; the callback engine keeps that promise. A complaint
// taken on a 95598 call was contacted on that call.
func (s *Service) promiseFirstContact(ctx context.Context, t tickets.Ticket) {
	if t.Type != tickets.TypeComplaint || t.Phone == "" || t.Channel == tickets.Channel95598 {
		return
	}
	id, _, err := s.Callbacks.Schedule(ctx, callbacks.Request{Phone: t.Phone, Kind: callbacks.KindFirstContact,
		Reason: "first contact on complaint " + t.ID, TicketID: t.ID, Deadline: t.ContactBy})
	if err != nil {
		s.log.Error().Err(err).Str("ticket_id", t.ID).Msg("promise first contact")
		return
	}
	s.m.CallbacksSched.Inc()
	s.log.Info().Str("ticket_id", t.ID).Str("callback_id", id).Msg("first contact promised")
}

// Apply changes a ticket. Resolving one starts its follow-up call.
func (s *Service) Apply(ctx context.Context, id string, c tickets.Change) (tickets.Ticket, error) {
	if c.Action == tickets.ActionEscalate && c.Level == "" {
		// Escalating by hand means one rung up, with that rung's grade and deadline.
		t, err := s.Tickets.Get(ctx, id)
		if err != nil {
			return t, err
		}
		why := "escalated by " + c.Actor
		if c.Note != "" {
			why += ": " + c.Note
		}
		return s.escalate(ctx, t, why)
	}
	t, err := s.Tickets.Apply(ctx, id, c)
	if err != nil {
		return t, err
	}
	switch c.Action {
	case tickets.ActionResolve:
		return s.startFollowUp(ctx, t, c.Actor)
	case tickets.ActionRegister:
		// Registering is contact made: the first-contact callback is done.
		if t.Phone != "" {
			if _, err := s.Callbacks.CancelServed(ctx, t.Phone, callbacks.KindFirstContact); err != nil {
				s.log.Warn().Err(err).Str("ticket_id", t.ID).Msg("cancel first-contact callback")
			}
		}
	}
	return t, nil
}

// startFollowUp promises the follow-up call within the policy window:
// always for a named reporter, and for every ticket with a number to call.
func (s *Service) startFollowUp(ctx context.Context, t tickets.Ticket, actor string) (tickets.Ticket, error) {
	fu := s.Policy.FollowUp()
	if t.Phone == "" || (!t.Named && fu.AlwaysForNamed && t.Type != tickets.TypeComplaint && t.Type != tickets.TypeFault) {
		return t, nil
	}
	// Window, attempts and delay come from the policy's follow_up kind;
	// some ticket types (faults) may be followed up at any hour.
	kind := s.Callbacks.Policy().Kinds[callbacks.KindFollowUp]
	id, _, err := s.Callbacks.Schedule(ctx, callbacks.Request{
		Phone: t.Phone, Kind: callbacks.KindFollowUp, Reason: "follow-up of " + t.ID, TicketID: t.ID,
		AnyHour: slices.Contains(kind.AnyHourFor, string(t.Type)),
	})
	if err != nil {
		return t, fmt.Errorf("schedule follow-up of %s: %w", t.ID, err)
	}
	s.m.CallbacksSched.Inc()
	return s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionFollowUp, Actor: "system",
		Note: fmt.Sprintf("follow-up call %s promised within %s of the result (resolved by %s)", id, kind.Window, actor)})
}

// FollowUpAnswered records the customer's verdict from the follow-up call:
// satisfied closes the ticket; not satisfied reopens it and escalates it,
// supervised until the customer is satisfied (seed 001, §6).
func (s *Service) FollowUpAnswered(ctx context.Context, id string, satisfied bool) (tickets.Ticket, error) {
	if satisfied {
		s.m.FollowUps.WithLabelValues("satisfied").Inc()
		return s.Tickets.Apply(ctx, id, tickets.Change{Action: tickets.ActionClose, Actor: "customer", FollowUp: "satisfied",
			Note: "customer satisfied on the follow-up call"})
	}
	s.m.FollowUps.WithLabelValues("unsatisfied").Inc()
	t, err := s.Tickets.Apply(ctx, id, tickets.Change{Action: tickets.ActionReopen, Actor: "customer", FollowUp: "unsatisfied",
		Note: "customer not satisfied on the follow-up call"})
	if err != nil {
		return t, err
	}
	if t.Type != tickets.TypeComplaint {
		// Only complaints climb the ladder and carry a grade; any other
		// order is supervised (督办) until the customer is satisfied.
		return s.Tickets.Apply(ctx, id, tickets.Change{Action: tickets.ActionSupervise, Actor: "system",
			Note: "customer not satisfied on the follow-up call; supervised until satisfied"})
	}
	return s.escalate(ctx, t, "customer not satisfied on the follow-up call")
}

// FollowUpUnreached records that the customer could not be reached.
func (s *Service) FollowUpUnreached(ctx context.Context, id string) error {
	s.m.FollowUps.WithLabelValues("no_answer").Inc()
	return s.Tickets.AddNote(ctx, id, "system", "follow-up call not answered after every attempt")
}

// escalate moves a ticket one rung up the ladder with a fresh deadline for
// that rung; at the top it is supervised (督办) instead.
func (s *Service) escalate(ctx context.Context, t tickets.Ticket, why string) (tickets.Ticket, error) {
	now := s.now()
	next, ok := s.Policy.NextLevel(t.EscalationLevel)
	if !ok {
		// At the top the leadership supervises (督办), with the top rung's
		// time again before the next supervision.
		ladder := s.Policy.Ladder()
		due := s.Policy.Due(now, ladder[len(ladder)-1].Within)
		return s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionSupervise, Actor: "system",
			AnswerBy: due, ContactBy: due, Note: why + "; already at the top of the ladder, supervised"})
	}
	answerBy := s.Policy.Due(now, next.Within)
	// The new rung owns the ticket from now: a contact deadline already
	// missed is theirs to meet within the rung's time too, or the same miss
	// would escalate the ticket again at once.
	var contactBy time.Time
	if !t.ContactBy.IsZero() && t.ContactBy.Before(now) {
		contactBy = answerBy
	}
	t, err := s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionEscalate, Actor: "system",
		Level: next.ID, Grade: next.Grade, AnswerBy: answerBy, ContactBy: contactBy,
		Note: fmt.Sprintf("%s; escalated to %s (%s), grade %s, answer by %s", why, next.ID, next.Name, next.Grade,
			answerBy.In(china.Zone).Format("2006-01-02 15:04"))})
	if err == nil {
		s.m.TicketsEscalated.WithLabelValues(next.ID).Inc()
		s.log.Info().Str("ticket_id", t.ID).Str("level", next.ID).Str("grade", next.Grade).Msg("ticket escalated")
	}
	return t, err
}

// Watch escalates overdue complaints until ctx ends. Only one replica
// watches at a time (a Redis lease), so a ticket is never escalated twice
// for the same missed deadline.
func (s *Service) Watch(ctx context.Context) {
	t := time.NewTicker(s.cfg.WatchEvery)
	defer t.Stop()
	for {
		if err := s.WatchOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("escalation watcher")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WatchOnce runs one pass of the watcher, if this replica holds the lease.
func (s *Service) WatchOnce(ctx context.Context) error {
	ok, err := s.rdb.SetNX(ctx, s.lockKey, s.replica, s.cfg.WatchEvery*2).Result()
	if err != nil {
		s.m.RedisErrors.WithLabelValues("watcher_lock").Inc()
		return fmt.Errorf("watcher lease: %w", err)
	}
	if !ok {
		owner, _ := s.rdb.Get(ctx, s.lockKey).Result()
		if owner != s.replica {
			return nil // another replica watches
		}
		s.rdb.Expire(ctx, s.lockKey, s.cfg.WatchEvery*2)
	}
	now := s.now()
	overdue, err := s.Tickets.Overdue(ctx, now, 200)
	if err != nil {
		return err
	}
	s.m.TicketsOverdue.Set(float64(len(overdue)))
	var errs []error
	for _, t := range overdue {
		if t.Type != tickets.TypeComplaint {
			continue // counted as overdue; only complaints climb the ladder
		}
		why := "deadline passed at level " + t.EscalationLevel + " (contact by " + t.ContactBy.In(china.Zone).Format("2006-01-02 15:04") +
			", answer by " + t.AnswerBy.In(china.Zone).Format("2006-01-02 15:04") + ")"
		if _, err := s.escalate(ctx, t, why); err != nil && !errors.Is(err, tickets.ErrNotFound) {
			errs = append(errs, fmt.Errorf("escalate %s: %w", t.ID, err))
		}
	}
	if n, err := s.Tickets.DueBefore(ctx, now.Add(s.cfg.DueSoon)); err == nil {
		s.m.TicketsDueSoon.Set(float64(n) - float64(len(overdue)))
	}
	s.countOpen(ctx, now)
	return errors.Join(errs...)
}

// countOpen sets the open-tickets gauge by type, grade and deadline state.
// It reads at most tickets.MaxLimit open tickets a pass; past that the
// gauge undercounts, which the log says.
func (s *Service) countOpen(ctx context.Context, now time.Time) {
	open, err := s.Tickets.List(ctx, tickets.Filter{Open: true, Limit: tickets.MaxLimit})
	if err != nil {
		return
	}
	if len(open) == tickets.MaxLimit {
		s.log.Warn().Int("limit", tickets.MaxLimit).Msg("open-ticket gauge counts only the newest tickets")
	}
	type key struct{ typ, grade, deadline string }
	counts := map[key]int{}
	for _, t := range open {
		state := "ok"
		switch next := t.NextDeadline(); {
		case next.IsZero():
		case !next.After(now):
			state = "overdue"
		case next.Before(now.Add(s.cfg.DueSoon)):
			state = "due_soon"
		}
		counts[key{string(t.Type), t.Grade, state}]++
	}
	s.m.TicketsOpen.Reset()
	for k, n := range counts {
		s.m.TicketsOpen.WithLabelValues(k.typ, k.grade, k.deadline).Set(float64(n))
	}
}

// DeclareOutage records an outage and opens the parent work order that
// fault reports from its area or transformer attach to.
func (s *Service) DeclareOutage(ctx context.Context, o outages.Outage) (outages.Outage, error) {
	o, err := s.Outages.Declare(ctx, o)
	if err != nil {
		return o, err
	}
	parent, err := s.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Channel: "web", Area: o.Area, Transformer: o.Transformer,
		Note: fmt.Sprintf("%s outage %s declared by %s: %s", o.Kind, o.ID, o.DeclaredBy, o.Reason)})
	if err != nil {
		return o, fmt.Errorf("outage %s: parent work order: %w", o.ID, err)
	}
	if o.ParentTicket, err = s.Outages.SetParentTicket(ctx, o.ID, parent.ID); err != nil {
		return o, fmt.Errorf("outage %s: link parent work order: %w", o.ID, err)
	}
	return o, nil
}

// ClearOutage ends an outage and notes it on its parent work order.
func (s *Service) ClearOutage(ctx context.Context, id, by string) (outages.Outage, error) {
	o, err := s.Outages.Clear(ctx, id, by)
	if err != nil {
		return o, err
	}
	if o.ParentTicket != "" {
		if err := s.Tickets.AddNote(ctx, o.ParentTicket, by, "outage "+o.ID+" cleared: power restored"); err != nil {
			s.log.Warn().Err(err).Str("ticket_id", o.ParentTicket).Msg("note outage cleared")
		}
	}
	return o, nil
}

// Get returns a ticket.
func (s *Service) Get(ctx context.Context, id string) (tickets.Ticket, error) {
	return s.Tickets.Get(ctx, id)
}

// OpenByPhone returns a caller's open tickets, newest first.
func (s *Service) OpenByPhone(ctx context.Context, phone string) ([]tickets.Ticket, error) {
	return s.Tickets.OpenByPhone(ctx, phone)
}

// RepeatCall records that the customer called again about an open ticket.
func (s *Service) RepeatCall(ctx context.Context, id string) error {
	s.m.RepeatCalls.Inc()
	return s.Tickets.AddRepeatCall(ctx, id, "ivr")
}

// AddNote adds a note to a ticket (e.g. that its call was cut off).
func (s *Service) AddNote(ctx context.Context, id, actor, note string) error {
	return s.Tickets.AddNote(ctx, id, actor, note)
}

// Urge records the caller's 催办 on an open ticket.
func (s *Service) Urge(ctx context.Context, id string) error {
	s.m.Urges.Inc()
	_, err := s.Tickets.Apply(ctx, id, tickets.Change{Action: tickets.ActionUrge, Actor: "customer", Note: "urged by the caller on the hotline"})
	return err
}

// OutageFor returns the active outage covering a customer.
func (s *Service) OutageFor(ctx context.Context, area, transformer string) (outages.Outage, bool, error) {
	return s.Outages.ForCustomer(ctx, area, transformer)
}

// List filters tickets.
func (s *Service) List(ctx context.Context, f tickets.Filter) ([]tickets.Ticket, error) {
	return s.Tickets.List(ctx, f)
}

// ActiveOutages lists the outages in force.
func (s *Service) ActiveOutages(ctx context.Context) ([]outages.Outage, error) {
	return s.Outages.Active(ctx)
}

// ComplaintReport analyses the work orders created in [from, to).
func (s *Service) ComplaintReport(ctx context.Context, from, to time.Time) (report.Report, report.Labels, error) {
	ts, err := s.Tickets.List(ctx, tickets.Filter{Since: from, Until: to, Limit: tickets.MaxLimit})
	if err != nil {
		return report.Report{}, report.Labels{}, err
	}
	items := make([]report.Item, 0, len(ts))
	for _, t := range ts {
		escalations := 0
		for _, a := range t.Audit {
			if a.Action == string(tickets.ActionEscalate) {
				escalations++
			}
		}
		items = append(items, report.Item{ID: t.ID, Type: string(t.Type), Status: string(t.Status), Class: t.Class,
			Subject: t.Subject, Area: t.Area, Phone: t.Phone, Grade: t.Grade, FollowUp: t.FollowUp, CreatedAt: t.CreatedAt,
			AnswerBy: t.AnswerBy, ClosedAt: t.ClosedAt, RepeatCalls: t.RepeatCalls, Escalations: escalations})
	}
	labels := report.Labels{Classes: map[string]string{}, Subjects: map[string]string{}, Types: typeNames}
	for _, c := range s.Policy.Classes() {
		labels.Classes[c.ID] = c.Name
	}
	for _, sub := range s.Policy.Subjects() {
		labels.Subjects[sub.ID] = sub.Name
	}
	rep := report.Build(items, from, to, s.now())
	rep.Labels = labels
	return rep, labels, nil
}

// typeNames are the work-order types as a 95598 back office names them.
var typeNames = map[string]string{
	"fault": "故障报修", "complaint": "投诉", "report": "举报", "consultation": "咨询查询",
	"service": "服务申请", "opinion": "意见", "suggestion": "建议", "praise": "表扬",
}
