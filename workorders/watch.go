package workorders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/tickets"
)

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

// WatchOnce runs one pass of the watcher, if this replica holds the lease:
//
//   - an open complaint that missed a deadline climbs one rung (all its
//     missed deadlines recorded as missed);
//   - the leadership's call back past due is met if its callback was
//     answered in time, else missed and the order supervised;
//   - a 12398 item not closed within its limit is supervised (督办);
//   - other orders stay counted as overdue;
//
// then it sets the work-order and outage gauges, and every WarnEvery the
// early-warning ones.
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
	overdue, err := s.Tickets.Overdue(ctx, now, tickets.MaxLimit)
	if err != nil {
		return err
	}
	s.m.TicketsOverdue.Set(float64(len(overdue)))
	byKind := map[string]int{}
	var errs []error
	for _, t := range overdue {
		missed := t.OverdueDeadlines(now)
		for _, d := range missed {
			byKind[d.Kind]++
		}
		if err := s.actOnMiss(ctx, t, missed, now); err != nil && !errors.Is(err, tickets.ErrNotFound) {
			errs = append(errs, fmt.Errorf("ticket %s: %w", t.ID, err))
		}
	}
	for _, k := range tickets.DeadlineKinds() {
		s.m.DeadlinesOverdue.WithLabelValues(k).Set(float64(byKind[k]))
	}
	if n, err := s.Tickets.DueBefore(ctx, now.Add(s.cfg.DueSoon)); err == nil {
		s.m.TicketsDueSoon.Set(float64(n) - float64(len(overdue)))
	}
	s.countOpen(ctx, now)
	if err := s.outageGauges(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if now.Sub(s.lastWarn) >= s.cfg.WarnEvery {
		if err := s.warningGauges(ctx, now); err != nil {
			errs = append(errs, err)
		} else {
			s.lastWarn = now
		}
	}
	return errors.Join(errs...)
}

// actOnMiss applies the rule for the deadlines t missed (see WatchOnce).
func (s *Service) actOnMiss(ctx context.Context, t tickets.Ticket, missed []tickets.Deadline, now time.Time) error {
	var kinds []string
	for _, d := range missed {
		if d.Kind == tickets.DeadlineCallback && d.Ref != "" && s.callbackAnsweredInTime(ctx, t, d) {
			return nil // met after all; the next pass sees what is left
		}
		kinds = append(kinds, fmt.Sprintf("%s by %s", d.Kind, d.Due.In(china.Zone).Format("2006-01-02 15:04")))
	}
	why := "deadline passed at level " + t.EscalationLevel + " (" + strings.Join(kinds, ", ") + ")"
	if t.Type == tickets.TypeComplaint && t.Status.Open() {
		_, err := s.escalate(ctx, t, why)
		return err
	}
	var act bool
	for _, d := range missed {
		act = act || d.Kind == tickets.DeadlineRegulator || d.Kind == tickets.DeadlineCallback
	}
	if !act {
		return nil // counted as overdue; only complaints climb the ladder
	}
	_, err := s.Tickets.Apply(ctx, t.ID, tickets.Change{Action: tickets.ActionSupervise, Actor: tickets.SystemActor, EndMissed: true,
		Note: why + "; supervised"})
	if err == nil {
		s.countMissed(missed)
	}
	return err
}

// callbackAnsweredInTime meets the leadership's call-back deadline when its
// callback was answered by the due time, and reports whether it did.
func (s *Service) callbackAnsweredInTime(ctx context.Context, t tickets.Ticket, d tickets.Deadline) bool {
	cb, err := s.Callbacks.Get(ctx, d.Ref)
	if err != nil || cb.Status != callbacks.Completed || cb.PlacedAt.After(d.Due) {
		return false
	}
	_, n, err := s.Tickets.MeetDeadline(ctx, t.ID, tickets.DeadlineCallback, tickets.GroupLeadership, cb.PlacedAt, tickets.SystemActor,
		"the leadership's call back "+cb.ID+" was answered")
	return err == nil && n > 0
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
