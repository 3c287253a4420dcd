package workorders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/tickets"
)

// ResultPowerRestored is the handling result of the fault reports of a
// cleared outage; the follow-up call speaks it.
const ResultPowerRestored = "power_restored"

// DeclareOutage records an outage and opens the parent work order that
// fault reports from its area or transformer attach to.
func (s *Service) DeclareOutage(ctx context.Context, o outages.Outage) (outages.Outage, error) {
	o, err := s.Outages.Declare(ctx, o)
	if err != nil {
		return o, err
	}
	what := "declared by " + o.DeclaredBy
	if o.Unconfirmed {
		what = "declared by the hotline, to be confirmed by a supervisor"
	}
	parent, err := s.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Channel: tickets.ChannelWeb, Area: o.Area, Transformer: o.Transformer,
		Note:  fmt.Sprintf("%s outage %s %s: %s", o.Kind, o.ID, what, o.Reason),
		Audit: []tickets.AuditEntry{{Actor: o.DeclaredBy}}})
	if err != nil {
		return o, fmt.Errorf("outage %s: parent work order: %w", o.ID, err)
	}
	if o.ParentTicket, err = s.Outages.SetParentTicket(ctx, o.ID, parent.ID); err != nil {
		return o, fmt.Errorf("outage %s: link parent work order: %w", o.ID, err)
	}
	return o, nil
}

// UpdateOutage sets an active outage's expected restore time (callers hear
// the new one) and, when given, its reason; the parent order notes it.
func (s *Service) UpdateOutage(ctx context.Context, id string, restore time.Time, reason, by string) (outages.Outage, error) {
	o, err := s.Outages.Update(ctx, id, restore, reason)
	if err != nil {
		return o, err
	}
	when := "unknown"
	if !restore.IsZero() {
		when = restore.In(china.Zone).Format("2006-01-02 15:04")
	}
	s.noteParent(ctx, o, by, "outage "+o.ID+": expected restore time now "+when)
	return o, nil
}

// ConfirmOutage records a supervisor's confirmation of an outage the
// hotline declared by itself.
func (s *Service) ConfirmOutage(ctx context.Context, id, by string) (outages.Outage, error) {
	o, err := s.Outages.Confirm(ctx, id, by)
	if err == nil {
		s.noteParent(ctx, o, by, "outage "+o.ID+" confirmed")
	}
	return o, err
}

// ClearOutage ends an outage and closes it as a whole: every fault report
// merged under its parent order is resolved with the result
// power_restored, which schedules its follow-up call per the policy, and
// the parent order is resolved too. Clearing again finishes what a failed
// attempt left open.
func (s *Service) ClearOutage(ctx context.Context, id, by string) (outages.Outage, error) {
	o, err := s.Outages.Clear(ctx, id, by)
	if err != nil || o.ParentTicket == "" {
		return o, err
	}
	parent, err := s.Tickets.Get(ctx, o.ParentTicket)
	if err != nil {
		return o, fmt.Errorf("outage %s cleared; its parent order: %w", o.ID, err)
	}
	note := "outage " + o.ID + " cleared by " + by + ": power restored"
	var errs []error
	for _, cid := range parent.Children {
		child, err := s.Tickets.Get(ctx, cid)
		if err != nil || !child.Status.Open() {
			continue
		}
		if _, err := s.Apply(ctx, cid, tickets.Change{Action: tickets.ActionResolve, Actor: by, Result: ResultPowerRestored, Note: note}); err != nil {
			errs = append(errs, fmt.Errorf("resolve %s: %w", cid, err))
		}
	}
	if parent.Status.Open() {
		if _, err := s.Apply(ctx, parent.ID, tickets.Change{Action: tickets.ActionResolve, Actor: by, Result: ResultPowerRestored, Note: note}); err != nil {
			errs = append(errs, fmt.Errorf("resolve parent %s: %w", parent.ID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("outage %s cleared; clear it again to finish its orders: %w", o.ID, err)
	}
	return o, nil
}

func (s *Service) noteParent(ctx context.Context, o outages.Outage, by, note string) {
	if o.ParentTicket == "" {
		return
	}
	if err := s.Tickets.AddNote(ctx, o.ParentTicket, by, note); err != nil {
		s.log.Warn().Err(err).Str("ticket_id", o.ParentTicket).Msg("note on the outage's parent order")
	}
}

// maybeDeclareOutage declares an unconfirmed outage on the transformer of a
// new fault report when reports from that many different customers there
// came in within the policy's window (outages.auto_declare), and merges
// the open reports under its parent order. A supervisor confirms or
// clears it. Only one replica's declaration wins; the others see the
// outage already there.
func (s *Service) maybeDeclareOutage(ctx context.Context, t tickets.Ticket) {
	op := s.Policy.Outages()
	if op.AutoReports == 0 || t.Type != tickets.TypeFault || t.Transformer == "" || t.ParentID != "" || (t.Phone == "" && t.Account == "") {
		return
	}
	if _, ok, err := s.Outages.ForCustomer(ctx, t.Area, t.Transformer); err != nil || ok {
		return
	}
	now := s.now()
	var reports []tickets.Ticket
	customers := map[string]bool{}
	err := s.Tickets.ScanType(ctx, tickets.TypeFault, now.Add(-op.AutoWithin), time.Time{}, func(ts []tickets.Ticket) error {
		for _, r := range ts {
			if r.Transformer != t.Transformer || !r.Status.Open() || r.ParentID != "" || (r.Phone == "" && r.Account == "") {
				continue
			}
			reports = append(reports, r)
			if r.Account != "" {
				customers["a:"+r.Account] = true
			} else {
				customers["p:"+r.Phone] = true
			}
		}
		return nil
	})
	if err != nil || len(customers) < op.AutoReports {
		return
	}
	o, err := s.DeclareOutage(ctx, outages.Outage{Kind: outages.KindFault, Area: t.Area, Transformer: t.Transformer,
		Unconfirmed: true, DeclaredBy: tickets.SystemActor,
		Reason: fmt.Sprintf("%d customers reported a fault on transformer %s within %s", len(customers), t.Transformer, op.AutoWithin)})
	var conflict *outages.ConflictError
	if errors.As(err, &conflict) {
		return // another replica declared it first
	}
	if err != nil {
		s.log.Error().Err(err).Str("transformer", t.Transformer).Msg("declare an outage from fault reports")
		return
	}
	s.m.OutagesAuto.Inc()
	s.log.Warn().Str("outage_id", o.ID).Str("transformer", t.Transformer).Int("customers", len(customers)).
		Msg("outage declared from fault reports; a supervisor must confirm or clear it")
	for _, r := range reports {
		if _, err := s.Tickets.Merge(ctx, r.ID, o.ParentTicket, tickets.SystemActor); err != nil {
			s.log.Warn().Err(err).Str("ticket_id", r.ID).Msg("merge a report under the declared outage")
		}
	}
}

// OutageFor returns the active outage covering a customer.
func (s *Service) OutageFor(ctx context.Context, area, transformer string) (outages.Outage, bool, error) {
	return s.Outages.ForCustomer(ctx, area, transformer)
}

// ActiveOutages lists the outages in force.
func (s *Service) ActiveOutages(ctx context.Context) ([]outages.Outage, error) {
	return s.Outages.Active(ctx)
}

// GetOutage returns one outage, active or cleared.
func (s *Service) GetOutage(ctx context.Context, id string) (outages.Outage, error) {
	return s.Outages.Get(ctx, id)
}

// outageGauges sets the outage metrics from Redis.
func (s *Service) outageGauges(ctx context.Context, now time.Time) error {
	active, err := s.Outages.Active(ctx)
	if err != nil {
		return err
	}
	kinds := map[outages.Kind]int{outages.KindFault: 0, outages.KindPlanned: 0}
	overrun, unconfirmed := 0, 0
	for _, o := range active {
		kinds[o.Kind]++
		if o.Overrun(now) {
			overrun++
		}
		if o.Unconfirmed {
			unconfirmed++
		}
	}
	for k, n := range kinds {
		s.m.OutagesActive.WithLabelValues(string(k)).Set(float64(n))
	}
	s.m.OutagesOverrun.Set(float64(overrun))
	s.m.OutagesUnconfirm.Set(float64(unconfirmed))
	return nil
}
