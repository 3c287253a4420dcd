package tickets

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Overdue returns up to limit open tickets whose next deadline
// (Ticket.NextDeadline: a missed ContactBy or AnswerBy) is before now, most
// overdue first; limit <= 0 means DefaultLimit, capped at MaxLimit. now is
// a parameter, not the store's clock, so the watcher decides what "now"
// means (and tests can ask about any moment).
//
// It reads the deadline index, which every change maintains in the same
// transaction, so it costs one range query plus one MGET however many
// tickets are open.
func (s *Store) Overdue(ctx context.Context, now time.Time, limit int) ([]Ticket, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	ids, err := s.rdb.ZRangeByScore(ctx, s.deadlineKey(), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(now.UnixMilli(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("tickets: overdue: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ts, err := s.load(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("tickets: overdue: %w", err)
	}
	// The index and the tickets are written together, but a ticket can
	// change between the two reads above; report only what is still true.
	out := ts[:0]
	for _, t := range ts {
		if d := t.NextDeadline(); !d.IsZero() && d.Before(now) {
			out = append(out, t)
		}
	}
	return out, nil
}

// DueBefore counts the open tickets whose next deadline is before t,
// including those already overdue; "due soon" is DueBefore(now+horizon)
// minus DueBefore(now).
func (s *Store) DueBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.rdb.ZCount(ctx, s.deadlineKey(), "-inf", "("+strconv.FormatInt(t.UnixMilli(), 10)).Result()
	if err != nil {
		return 0, fmt.Errorf("tickets: due before: %w", err)
	}
	return n, nil
}

// CountOpen returns the number of open tickets of every type (zero
// included), in one round trip.
func (s *Store) CountOpen(ctx context.Context) (map[Type]int64, error) {
	types := Types()
	cmds := make([]*redis.IntCmd, len(types))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, typ := range types {
			cmds[i] = pipe.ZCard(ctx, s.openTypeKey(typ))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: count open: %w", err)
	}
	out := make(map[Type]int64, len(types))
	for i, typ := range types {
		out[typ] = cmds[i].Val()
	}
	return out, nil
}
