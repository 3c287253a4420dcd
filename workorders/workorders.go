// Package workorders is the 95598 back office's rules over the ticket store:
// deadlines from the policy file, the escalation watcher that moves an
// overdue complaint up the ladder, the follow-up call (回访) when a ticket
// is resolved, outages whose fault reports merge under one parent, the
// early warnings, and the complaint report.
package workorders

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
)

// Config is the back office's own timing; the figures of the work-order
// rules themselves are in the policy file.
type Config struct {
	WatchEvery time.Duration // how often overdue tickets are looked for
	DueSoon    time.Duration // "due soon" horizon for the metric
	// WarnEvery is how often the early warnings (complaint hot spots,
	// repeated outages) are worked out for the metrics; default 5 minutes.
	WarnEvery time.Duration
}

// Service applies the work-order rules.
type Service struct {
	Tickets   *tickets.Store
	Policy    *policy.Policy
	Callbacks *callbacks.Store
	Outages   *outages.Store

	rdb      redis.UniversalClient
	lockKey  string
	prefix   string
	replica  string
	cfg      Config
	m        *metrics.Metrics
	log      zerolog.Logger
	now      func() time.Time
	lastWarn time.Time
}

// New returns the service. The outage store is given the policy's overrun
// grace.
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
	if cfg.WarnEvery <= 0 {
		cfg.WarnEvery = 5 * time.Minute
	}
	if os != nil {
		os = os.WithOverrunGrace(pol.Outages().OverrunGrace)
	}
	return &Service{Tickets: ts, Policy: pol, Callbacks: cb, Outages: os, rdb: rdb, lockKey: prefix + "workorders:watcher",
		prefix: prefix, replica: replica, cfg: cfg, m: m, log: log, now: now}
}

// Create stamps and stores a ticket: its deadlines from the policy, the
// first rung of the ladder for a complaint. A complaint from another
// channel is promised its first contact; a fault report may declare an
// outage when reports from its transformer pile up.
func (s *Service) Create(ctx context.Context, t tickets.Ticket) (tickets.Ticket, error) {
	if t.Subtype = strings.TrimSpace(t.Subtype); t.Subtype != "" {
		switch {
		case t.Type == tickets.TypeComplaint:
			return t, fmt.Errorf("%w: a complaint's sub-type is its class: give class and subject instead of subtype", tickets.ErrInvalid)
		case !s.Policy.HasSubtype(string(t.Type), t.Subtype):
			return t, fmt.Errorf("%w: unknown %s sub-type %q (the policy has: %s)", tickets.ErrInvalid, t.Type, t.Subtype,
				strings.Join(s.Policy.Subtypes(string(t.Type)), ", "))
		}
	}
	s.Stamp(&t)
	t, err := s.Tickets.Create(ctx, t)
	if err != nil {
		return t, err
	}
	s.m.TicketsCreated.WithLabelValues(string(t.Type)).Inc()
	s.promiseFirstContact(ctx, t)
	s.maybeDeclareOutage(ctx, t)
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

// Apply changes a ticket. Classifying a complaint sets the limits of its
// class; verifying it sets the contact its responsibility calls for;
// escalating by hand climbs one rung; resolving starts the follow-up call;
// registering cancels the first-contact callback.
func (s *Service) Apply(ctx context.Context, id string, c tickets.Change) (tickets.Ticket, error) {
	switch c.Action {
	case tickets.ActionEscalate:
		if c.Level != "" {
			break
		}
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
	case tickets.ActionClassify:
		if err := s.classifyDeadlines(ctx, id, &c); err != nil {
			return tickets.Ticket{}, err
		}
	case tickets.ActionVerify:
		s.verifyDeadlines(&c)
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

// SetFirstResponder records the agent who first answered the caller of a
// work order, and the queue they answered in (首问负责制). It is
// idempotent: an order that has a first responder keeps it, so the call
// path may call it whenever an agent answers a caller with a work order.
func (s *Service) SetFirstResponder(ctx context.Context, id, agent, queue string) (tickets.Ticket, error) {
	return s.Tickets.SetFirstResponder(ctx, id, agent, queue)
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
	return s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionFollowUp, Actor: tickets.SystemActor,
		Note: fmt.Sprintf("follow-up call %s promised within %s of the result (resolved by %s)", id, kind.Window, actor)})
}

// FollowUpAnswered records the customer's verdict from the follow-up call:
// satisfied closes the ticket (or, for a complaint whose root cause and
// corrective measure are not on record yet, records the verdict and leaves
// the filing for after the investigation, 四不放过); not satisfied reopens
// it and escalates it, supervised until the customer is satisfied (seed
// 001, §6).
func (s *Service) FollowUpAnswered(ctx context.Context, id string, satisfied bool) (tickets.Ticket, error) {
	if satisfied {
		s.m.FollowUps.WithLabelValues("satisfied").Inc()
		t, err := s.Tickets.Get(ctx, id)
		if err != nil {
			return t, err
		}
		if t.Type == tickets.TypeComplaint && (t.Cause == "" || t.Measure == "") {
			return s.Tickets.Apply(ctx, id, tickets.Change{Action: tickets.ActionFollowUp, Actor: "customer", FollowUp: "satisfied",
				Note: "customer satisfied on the follow-up call; filed once its cause and corrective measure are recorded (四不放过)"})
		}
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
		return s.Tickets.Apply(ctx, id, tickets.Change{Action: tickets.ActionSupervise, Actor: tickets.SystemActor,
			Note: "customer not satisfied on the follow-up call; supervised until satisfied"})
	}
	return s.escalate(ctx, t, "customer not satisfied on the follow-up call")
}

// RecordSurvey records a caller's post-call survey answer on order id; a
// dissatisfied answer on a complaint is supervised (督办) in the same write
// (tickets.Store.RecordSurvey).
func (s *Service) RecordSurvey(ctx context.Context, id string, sv tickets.Survey) (tickets.Ticket, bool, error) {
	return s.Tickets.RecordSurvey(ctx, id, sv)
}

// FollowUpUnreached records that the customer could not be reached.
func (s *Service) FollowUpUnreached(ctx context.Context, id string) error {
	s.m.FollowUps.WithLabelValues("no_answer").Inc()
	return s.Tickets.AddNote(ctx, id, tickets.SystemActor, "follow-up call not answered after every attempt")
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

// List filters tickets.
func (s *Service) List(ctx context.Context, f tickets.Filter) ([]tickets.Ticket, error) {
	return s.Tickets.List(ctx, f)
}
