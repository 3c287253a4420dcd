package service

import (
	"context"
	"time"

	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/wallboard"
)

// wallboardSource builds the wallboard's snapshot from Redis, so every
// replica's wallboard shows the whole hotline.
type wallboardSource struct{ s *Service }

func (w wallboardSource) Snapshot(ctx context.Context) (wallboard.Snapshot, error) {
	s := w.s
	snap := wallboard.Snapshot{At: time.Now(), Agents: map[string]int{}}
	for _, q := range policy.QueueNames {
		waiting, err := s.line.Waiting(ctx, q)
		if err != nil {
			return snap, err
		}
		longest, err := s.line.LongestWait(ctx, q)
		if err != nil {
			return snap, err
		}
		today, err := s.line.Today(ctx, q)
		if err != nil {
			return snap, err
		}
		snap.Queues = append(snap.Queues, wallboard.Queue{Name: q, Waiting: waiting[q], LongestWaitSeconds: longest.Seconds(),
			Offered: today.Offered, Answered: today.Answered, AnsweredSL: today.AnsweredSL, Abandoned: today.Abandoned})
	}
	as, err := s.agents.List(ctx)
	if err != nil {
		return snap, err
	}
	for _, a := range as {
		snap.Agents[string(a.State)]++
	}
	if snap.CallbacksPending, err = s.callbacks.Pending(ctx); err != nil {
		return snap, err
	}
	if snap.CallbacksOverdue, err = s.callbacks.Overdue(ctx); err != nil {
		return snap, err
	}
	return snap, nil
}
