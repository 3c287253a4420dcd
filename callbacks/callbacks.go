// Package callbacks keeps the promise made to a caller who gave up waiting:
// we call them back, through the carrier, inside the mandated window. Every
// callback lives in Redis; due times are a sorted set that replicas claim
// from atomically, so a callback is placed once even with two replicas.
package callbacks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Status of a callback.
type Status string

const (
	Pending   Status = "pending"   // waiting for its due time
	Placing   Status = "placing"   // an attempt is ringing now
	Completed Status = "completed" // the customer answered
	Failed    Status = "failed"    // no answer on every attempt
	Expired   Status = "expired"   // the window closed before an attempt could be made
)

// Final reports whether no further attempt will be made.
func (s Status) Final() bool { return s == Completed || s == Failed || s == Expired }

// Kinds of callback. Each number has at most one pending callback per kind.
const (
	KindAbandoned = "abandoned" // hung up while waiting for an agent
	KindCutOff    = "cut_off"   // the call was cut off by a controller restart
	KindFollowUp  = "follow_up" // 回访: ask whether a resolved work order satisfied the customer
)

// ErrNotFound: no such callback.
var ErrNotFound = errors.New("callback not found")

// Callback is one promised call back to a customer.
type Callback struct {
	ID        string    `json:"id"`
	Phone     string    `json:"phone"`
	Kind      string    `json:"kind"`
	Reason    string    `json:"reason"`
	CallID    string    `json:"call_id,omitempty"`   // the call that was abandoned
	TicketID  string    `json:"ticket_id,omitempty"` // the work order of that call, if any
	Status    Status    `json:"status"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
	DueAt     time.Time `json:"due_at"`
	Deadline  time.Time `json:"deadline"`
	PlacedAt  time.Time `json:"placed_at,omitempty"` // last attempt
	Outcome   string    `json:"outcome,omitempty"`   // last attempt's outcome
	// MaxAttempts and Retry are fixed when the callback is promised, so a
	// policy change does not alter a promise already made.
	MaxAttempts int           `json:"max_attempts"`
	Retry       time.Duration `json:"retry_ns"`
}

// Request asks for a callback. Zero Delay, Window, MaxAttempts and Retry
// take the store's policy.
type Request struct {
	Phone, Kind, Reason, CallID, TicketID string
	Delay, Window, Retry                  time.Duration
	MaxAttempts                           int
}

// Policy is when and how often callbacks are tried.
type Policy struct {
	Delay       time.Duration // first attempt this long after the request
	Window      time.Duration // no attempt later than this after the request
	MaxAttempts int
	Retry       time.Duration // between unanswered attempts
}

// Store keeps callbacks in Redis.
type Store struct {
	rdb redis.UniversalClient
	p   string
	pol Policy
	now func() time.Time
}

// NewStore returns a store using keys under prefix.
func NewStore(rdb redis.UniversalClient, prefix string, pol Policy, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, p: prefix, pol: pol, now: now}
}

func (s *Store) key(id string) string            { return s.p + "callback:" + id }
func (s *Store) phoneKey(kind, ph string) string { return s.p + "callback:pending:" + kind + ":" + ph }
func (s *Store) historyKey(ph string) string     { return s.p + "callbacks:phone:" + ph }
func (s *Store) dueKey() string                  { return s.p + "callbacks:due" }
func (s *Store) placingKey() string              { return s.p + "callbacks:placing" }
func (s *Store) deadlineKey() string             { return s.p + "callbacks:deadlines" }
func (s *Store) seqKey() string                  { return s.p + "callbacks:seq" }

// schedule creates a callback unless one is already pending for the number
// (one pending callback per number: a customer who abandons twice is called
// back once). Returns the callback id and whether it was new.
var schedule = redis.NewScript(`
local pending, cbkey_prefix, due, hist, seq, deadlines = KEYS[1], ARGV[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local existing = redis.call('GET', pending)
if existing then return {existing, 0} end
local id = tostring(redis.call('INCR', seq))
local key = cbkey_prefix .. id
redis.call('HSET', key, 'id', id, 'phone', ARGV[2], 'reason', ARGV[3], 'call_id', ARGV[4], 'ticket_id', ARGV[5],
  'status', 'pending', 'attempts', 0, 'created_at', ARGV[6], 'due_at', ARGV[7], 'deadline', ARGV[8],
  'kind', ARGV[9], 'max_attempts', ARGV[10], 'retry', ARGV[11])
redis.call('SET', pending, id)
redis.call('ZADD', due, ARGV[7], id)
redis.call('ZADD', hist, ARGV[6], id)
redis.call('ZADD', deadlines, ARGV[8], id)
return {id, 1}
`)

// Schedule promises a callback.
func (s *Store) Schedule(ctx context.Context, r Request) (id string, created bool, err error) {
	if r.Phone == "" {
		return "", false, errors.New("schedule callback: no phone number")
	}
	if r.Kind == "" {
		r.Kind = KindAbandoned
	}
	if r.Delay == 0 {
		r.Delay = s.pol.Delay
	}
	if r.Window == 0 {
		r.Window = s.pol.Window
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = s.pol.MaxAttempts
	}
	if r.Retry == 0 {
		r.Retry = s.pol.Retry
	}
	now := s.now()
	due := now.Add(r.Delay)
	deadline := now.Add(r.Window)
	res, err := schedule.Run(ctx, s.rdb, []string{s.phoneKey(r.Kind, r.Phone), s.dueKey(), s.historyKey(r.Phone), s.seqKey(), s.deadlineKey()},
		s.p+"callback:", r.Phone, r.Reason, r.CallID, r.TicketID, now.UnixMilli(), due.UnixMilli(), deadline.UnixMilli(),
		r.Kind, r.MaxAttempts, int64(r.Retry)).Slice()
	if err != nil {
		return "", false, fmt.Errorf("schedule callback: %w", err)
	}
	return fmt.Sprint(res[0]), res[1].(int64) == 1, nil
}

// claimDue takes the earliest due callback for this replica: it moves from
// the due set to the placing set (with a lease deadline) in one step, so no
// other replica can take it too.
var claimDue = redis.NewScript(`
local due, placing = KEYS[1], KEYS[2]
local now, lease, prefix = ARGV[1], ARGV[2], ARGV[3]
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, 1)
if #ids == 0 then return false end
local id = ids[1]
redis.call('ZREM', due, id)
redis.call('ZADD', placing, lease, id)
redis.call('HSET', prefix .. id, 'status', 'placing')
redis.call('HINCRBY', prefix .. id, 'attempts', 1)
return id
`)

// ClaimDue returns the next callback due now, or ok=false. The claim lasts
// until lease; an attempt not finished by then (its replica died) is
// returned to the due set by Recover.
func (s *Store) ClaimDue(ctx context.Context, lease time.Duration) (Callback, bool, error) {
	now := s.now()
	id, err := claimDue.Run(ctx, s.rdb, []string{s.dueKey(), s.placingKey()},
		now.UnixMilli(), now.Add(lease).UnixMilli(), s.p+"callback:").Text()
	if errors.Is(err, redis.Nil) {
		return Callback{}, false, nil
	}
	if err != nil {
		return Callback{}, false, fmt.Errorf("claim callback: %w", err)
	}
	cb, err := s.Get(ctx, id)
	return cb, err == nil, err
}

// finish records an attempt's outcome: final statuses free the number for a
// new callback; a retry goes back into the due set.
var finish = redis.NewScript(`
local key, placing, due, pending, deadlines = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, status, outcome, placed, nextdue = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('ZREM', placing, id)
redis.call('HSET', key, 'status', status, 'outcome', outcome, 'placed_at', placed)
if status == 'pending' then
  redis.call('HSET', key, 'due_at', nextdue)
  redis.call('ZADD', due, nextdue, id)
else
  if redis.call('GET', pending) == id then redis.call('DEL', pending) end
  redis.call('ZREM', deadlines, id)
end
return 1
`)

// Finish records the outcome of the attempt on cb and decides what follows:
// answered → completed; otherwise a retry if one fits in the window and the
// attempts allow, else failed.
func (s *Store) Finish(ctx context.Context, cb Callback, answered bool, outcome string) (Status, error) {
	now := s.now()
	status := Completed
	next := time.Time{}
	if !answered {
		next = now.Add(cb.Retry)
		if cb.Attempts < cb.MaxAttempts && !next.After(cb.Deadline) {
			status = Pending
		} else {
			status = Failed
		}
	}
	return status, s.setOutcome(ctx, cb, status, outcome, now, next)
}

// Expire closes a callback whose window passed before it could be placed.
func (s *Store) Expire(ctx context.Context, cb Callback) error {
	return s.setOutcome(ctx, cb, Expired, "window_passed", s.now(), time.Time{})
}

func (s *Store) setOutcome(ctx context.Context, cb Callback, st Status, outcome string, placed, next time.Time) error {
	err := finish.Run(ctx, s.rdb, []string{s.key(cb.ID), s.placingKey(), s.dueKey(), s.phoneKey(cb.Kind, cb.Phone), s.deadlineKey()},
		cb.ID, string(st), outcome, placed.UnixMilli(), next.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("record callback %s outcome: %w", cb.ID, err)
	}
	return nil
}

// Recover returns callbacks whose attempt lease ran out (their replica died
// mid-attempt) to the due set, so they are tried again rather than lost.
func (s *Store) Recover(ctx context.Context) (int, error) {
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	ids, err := s.rdb.ZRangeByScore(ctx, s.placingKey(), &redis.ZRangeBy{Min: "-inf", Max: now}).Result()
	if err != nil {
		return 0, fmt.Errorf("recover callbacks: %w", err)
	}
	n := 0
	for _, id := range ids {
		removed, err := s.rdb.ZRem(ctx, s.placingKey(), id).Result()
		if err != nil {
			return n, fmt.Errorf("recover callback %s: %w", id, err)
		}
		if removed == 1 { // we won the race with other replicas
			_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, s.key(id), "status", string(Pending))
				p.ZAdd(ctx, s.dueKey(), redis.Z{Score: float64(s.now().UnixMilli()), Member: id})
				return nil
			})
			if err != nil {
				return n, fmt.Errorf("recover callback %s: %w", id, err)
			}
			n++
		}
	}
	return n, nil
}

// Get returns one callback.
func (s *Store) Get(ctx context.Context, id string) (Callback, error) {
	h, err := s.rdb.HGetAll(ctx, s.key(id)).Result()
	if err != nil {
		return Callback{}, fmt.Errorf("get callback %s: %w", id, err)
	}
	if len(h) == 0 {
		return Callback{}, fmt.Errorf("callback %s: %w", id, ErrNotFound)
	}
	return decode(h), nil
}

// ListByPhone returns the callbacks for a number, newest first.
func (s *Store) ListByPhone(ctx context.Context, phone string, limit int) ([]Callback, error) {
	if limit <= 0 {
		limit = 50
	}
	ids, err := s.rdb.ZRevRange(ctx, s.historyKey(phone), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("list callbacks: %w", err)
	}
	out := make([]Callback, 0, len(ids))
	for _, id := range ids {
		cb, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, cb)
	}
	return out, nil
}

// Overdue counts callbacks not finished whose window has closed: promises
// the hotline is breaking right now.
func (s *Store) Overdue(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCount(ctx, s.deadlineKey(), "-inf", strconv.FormatInt(s.now().UnixMilli(), 10)).Result()
	if err != nil {
		return 0, fmt.Errorf("count overdue callbacks: %w", err)
	}
	return n, nil
}

// Pending counts callbacks waiting to be placed or being placed.
func (s *Store) Pending(ctx context.Context) (int64, error) {
	a, err := s.rdb.ZCard(ctx, s.dueKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("count callbacks: %w", err)
	}
	b, err := s.rdb.ZCard(ctx, s.placingKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("count callbacks: %w", err)
	}
	return a + b, nil
}

func decode(h map[string]string) Callback {
	n, _ := strconv.Atoi(h["attempts"])
	maxAttempts, _ := strconv.Atoi(h["max_attempts"])
	retry, _ := strconv.ParseInt(h["retry"], 10, 64)
	return Callback{
		ID: h["id"], Phone: h["phone"], Kind: h["kind"], Reason: h["reason"], CallID: h["call_id"], TicketID: h["ticket_id"],
		MaxAttempts: maxAttempts, Retry: time.Duration(retry),
		Status: Status(h["status"]), Attempts: n, Outcome: h["outcome"],
		CreatedAt: ms(h["created_at"]), DueAt: ms(h["due_at"]), Deadline: ms(h["deadline"]), PlacedAt: ms(h["placed_at"]),
	}
}

func ms(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}
