// Package callbacks keeps the promises made to customers that we will call
// them back: after they gave up waiting, after a restart cut them off, to
// follow up a resolved work order, to make first contact on a complaint, at
// a time agreed with an agent, or to keep their place in the queue. Every
// callback lives in Redis. Due times are a sorted set that replicas claim
// from atomically, so a callback is dialled once even with two replicas,
// and a claim is a lease, so a callback whose replica died is not forgotten.
package callbacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hotline95598/hotline/internal/durable"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/prompts"
	"github.com/redis/go-redis/v9"
)

// Status of a callback.
type Status string

const (
	Pending   Status = "pending"   // waiting for its due time
	Placing   Status = "placing"   // an attempt is ringing now
	Completed Status = "completed" // the customer answered
	Failed    Status = "failed"    // no answer on every attempt, or a number that cannot be reached
	Expired   Status = "expired"   // the window closed before an attempt could be made
	Cancelled Status = "cancelled" // the customer called in and was served first
)

// Final reports whether no further attempt will be made.
func (s Status) Final() bool {
	return s == Completed || s == Failed || s == Expired || s == Cancelled
}

// Kinds of callback; each has its policy in the policy file. A number has
// at most one pending callback of each kind.
const (
	KindAbandoned    = "abandoned"     // hung up while waiting for an agent
	KindCutOff       = "cut_off"       // the call was cut off by a controller restart
	KindFollowUp     = "follow_up"     // 回访: did the resolved work order satisfy the customer?
	KindFirstContact = "first_contact" // first contact on a complaint, within its contact deadline
	KindLeadership   = "leadership"    // the leadership calls back a complaint at the top of the ladder (seed 001 §4.9)
	KindScheduled    = "scheduled"     // at a time an agent agreed with the customer
	KindVirtualHold  = "virtual_hold"  // called back instead of waiting, keeping their place
)

// ErrNotFound: no such callback.
var ErrNotFound = errors.New("callback not found")

// ErrInvalid: a request that cannot be a promise.
var ErrInvalid = errors.New("invalid callback request")

// Attempt is one dialling of a callback.
type Attempt struct {
	N       int       `json:"n"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"` // answered, no_answer, busy, rejected, unreachable, failed
}

// Callback is one promised call back to a customer.
type Callback struct {
	ID        string    `json:"id"`
	Phone     string    `json:"phone"`
	Kind      string    `json:"kind"`
	Reason    string    `json:"reason"`
	CallID    string    `json:"call_id,omitempty"`   // the call that led to it
	TicketID  string    `json:"ticket_id,omitempty"` // the work order it is about
	Status    Status    `json:"status"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
	DueAt     time.Time `json:"due_at"`   // the next attempt, not before
	Deadline  time.Time `json:"deadline"` // the window closes
	// Deferred: the dialing hours pushed the first attempt past the window
	// counted from the promise, so the window starts when dialing opens.
	Deferred bool      `json:"deferred,omitempty"`
	PlacedAt time.Time `json:"placed_at,omitempty"` // last attempt
	Outcome  string    `json:"outcome,omitempty"`   // last attempt's outcome
	// MaxAttempts, Retry and AnyHour are fixed when the callback is
	// promised, so a policy change does not alter a promise already made.
	MaxAttempts int           `json:"max_attempts"`
	Retry       time.Duration `json:"retry_ns"`
	AnyHour     bool          `json:"any_hour,omitempty"`
	// QueuedAt is when the customer first joined the queue (virtual hold):
	// answering, they rejoin in that place, not at the back.
	QueuedAt time.Time `json:"queued_at,omitempty"`
	// Voice is the set of prompts the customer chose on the call that led
	// here (English, slow): the callback speaks to them the same way.
	Voice   string    `json:"voice,omitempty"`
	History []Attempt `json:"history"`
}

// Request asks for a callback. Zero figures take the kind's policy.
type Request struct {
	Phone, Kind, Reason, CallID, TicketID string
	// At, when set, is the agreed time of a scheduled callback.
	At time.Time
	// Deadline, when set and earlier than the kind's window, closes the
	// window sooner (a complaint's contact deadline).
	Deadline time.Time
	// AnyHour exempts the callback from the dialing hours (e.g. a fault
	// follow-up, which the policy allows at night).
	AnyHour              bool
	Delay, Window, Retry time.Duration
	MaxAttempts          int
	// QueuedAt keeps a virtual-hold caller's place in the queue.
	QueuedAt time.Time
	// Voice: the prompts the customer heard ("" Mandarin, "en", "slow").
	Voice string
}

// Store keeps callbacks in Redis.
type Store struct {
	rdb redis.UniversalClient
	p   string
	pol policy.CallbackPolicy
	now func() time.Time
	ack durable.Policy // replicas that must hold a promise (SetReplicaAck)
}

// SetReplicaAck makes Schedule wait until p.Replicas Redis replicas hold
// the promise before it returns; when they do not confirm in time Schedule
// returns an error wrapping durable.ErrNotReplicated (the callback is on
// the master and will be placed, but the caller must not count on it).
// Call it before the store is used.
func (s *Store) SetReplicaAck(p durable.Policy) { s.ack = p }

// NewStore returns a store using keys under prefix.
func NewStore(rdb redis.UniversalClient, prefix string, pol policy.CallbackPolicy, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, p: prefix, pol: pol, now: now}
}

// Policy returns the store's callback policy.
func (s *Store) Policy() policy.CallbackPolicy { return s.pol }

func (s *Store) key(id string) string            { return s.p + "callback:" + id }
func (s *Store) attemptsKey(id string) string    { return s.p + "callback:" + id + ":attempts" }
func (s *Store) phoneKey(kind, ph string) string { return s.p + "callback:pending:" + kind + ":" + ph }
func (s *Store) historyKey(ph string) string     { return s.p + "callbacks:phone:" + ph }
func (s *Store) dueKey() string                  { return s.p + "callbacks:due" }
func (s *Store) placingKey() string              { return s.p + "callbacks:placing" }
func (s *Store) deadlineKey() string             { return s.p + "callbacks:deadlines" }
func (s *Store) seqKey() string                  { return s.p + "callbacks:seq" }

// schedule creates a callback unless one of the kind is already pending for
// the number (a customer who abandons twice is called back once).
var schedule = redis.NewScript(`
local pending, due, hist, seq, deadlines = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local existing = redis.call('GET', pending)
if existing then return {existing, 0} end
local id = tostring(redis.call('INCR', seq))
local key = ARGV[1] .. id
redis.call('HSET', key, 'id', id, 'phone', ARGV[2], 'reason', ARGV[3], 'call_id', ARGV[4], 'ticket_id', ARGV[5],
  'status', 'pending', 'attempts', 0, 'created_at', ARGV[6], 'due_at', ARGV[7], 'deadline', ARGV[8],
  'kind', ARGV[9], 'max_attempts', ARGV[10], 'retry', ARGV[11], 'any_hour', ARGV[12], 'deferred', ARGV[13], 'queued_at', ARGV[14], 'voice', ARGV[15])
redis.call('SET', pending, id)
redis.call('ZADD', due, ARGV[7], id)
redis.call('ZADD', hist, ARGV[6], id)
redis.call('ZADD', deadlines, ARGV[8], id)
return {id, 1}
`)

// Schedule promises a callback.
func (s *Store) Schedule(ctx context.Context, r Request) (id string, created bool, err error) {
	if r.Phone == "" {
		return "", false, fmt.Errorf("schedule callback: no phone number: %w", ErrInvalid)
	}
	if r.Kind == "" {
		r.Kind = KindAbandoned
	}
	kp, ok := s.pol.Kinds[r.Kind]
	if !ok {
		return "", false, fmt.Errorf("schedule callback: unknown kind %q: %w", r.Kind, ErrInvalid)
	}
	if r.Voice != "" && !slices.Contains(prompts.Voices, r.Voice) {
		return "", false, fmt.Errorf("schedule callback: unknown voice %q: %w", r.Voice, ErrInvalid)
	}
	if r.Delay == 0 {
		r.Delay = kp.Delay
	}
	if r.Window == 0 {
		r.Window = kp.Window
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = kp.MaxAttempts
	}
	if r.Retry == 0 {
		r.Retry = kp.Retry
	}
	now := s.now()
	due := now.Add(r.Delay)
	if !r.At.IsZero() {
		if r.At.Before(now.Add(-time.Minute)) {
			return "", false, fmt.Errorf("schedule callback: %s is in the past: %w", r.At.Format(time.RFC3339), ErrInvalid)
		}
		due = r.At
	}
	deadline := due.Add(r.Window - r.Delay)
	deferred := false
	if !r.AnyHour {
		if open := kp.Hours.Next(due); !open.Equal(due) {
			// Nobody is called at night: the first attempt waits for the
			// dialing hours, and the window runs from then.
			due, deadline, deferred = open, open.Add(r.Window-r.Delay), true
		}
	}
	if !r.Deadline.IsZero() && r.Deadline.Before(deadline) && r.Deadline.After(due) {
		deadline = r.Deadline
	}
	res, err := s.ack.Run(ctx, s.rdb, schedule, []string{s.phoneKey(r.Kind, r.Phone), s.dueKey(), s.historyKey(r.Phone), s.seqKey(), s.deadlineKey()},
		s.p+"callback:", r.Phone, r.Reason, r.CallID, r.TicketID, now.UnixMilli(), due.UnixMilli(), deadline.UnixMilli(),
		r.Kind, r.MaxAttempts, int64(r.Retry), boolFlag(r.AnyHour), boolFlag(deferred), msOrZero(r.QueuedAt), r.Voice).Slice()
	if err != nil {
		return "", false, fmt.Errorf("schedule callback: %w", err)
	}
	return fmt.Sprint(res[0]), res[1].(int64) == 1, nil
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func boolFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// claimDue takes one due callback for this replica: the due one whose
// window closes first, so when lines are short the nearest deadline goes
// first. It walks the deadline index from the nearest deadline (up to
// ARGV[5] entries, read with one ZMSCORE) and takes the first that is due;
// entries ringing now or not yet due are skipped. It moves the callback
// from the due set to the placing set (scored by its lease) in one step, so
// no other replica can take it too, and only while fewer than ARGV[4]
// attempts hold a live lease (the outbound line limit; 0 means none).
var claimDue = redis.NewScript(`
local due, placing, deadlines = KEYS[1], KEYS[2], KEYS[3]
local now, lease, prefix, limit, scan = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
if limit > 0 and redis.call('ZCOUNT', placing, '(' .. now, '+inf') >= limit then return false end
local best = nil
local cands = redis.call('ZRANGE', deadlines, 0, scan - 1)
if #cands > 0 then
  local scores = redis.call('ZMSCORE', due, unpack(cands))
  for i, sc in ipairs(scores) do
    if sc and tonumber(sc) <= now then best = cands[i] break end
  end
end
if not best then
  -- Every near deadline is ringing or not yet due: take the earliest due.
  local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, 1)
  if #ids == 0 then return false end
  best = ids[1]
end
redis.call('ZREM', due, best)
redis.call('ZADD', placing, lease, best)
redis.call('HSET', prefix .. best, 'status', 'placing')
redis.call('HINCRBY', prefix .. best, 'attempts', 1)
return best
`)

// scanDue bounds how many of the nearest deadlines a claim looks through;
// the lines ringing now are among them, so it is added to the line limit.
const scanDue = 64

// ClaimDue returns the next callback to dial now, or ok=false when none is
// due or every outbound line is busy. The claim lasts until lease; an
// attempt not finished by then (its replica died) goes back to the due set
// through Recover.
func (s *Store) ClaimDue(ctx context.Context, lease time.Duration) (Callback, bool, error) {
	now := s.now()
	id, err := claimDue.Run(ctx, s.rdb, []string{s.dueKey(), s.placingKey(), s.deadlineKey()},
		now.UnixMilli(), now.Add(lease).UnixMilli(), s.p+"callback:", s.pol.MaxConcurrent, scanDue+s.pol.MaxConcurrent).Text()
	if errors.Is(err, redis.Nil) {
		return Callback{}, false, nil
	}
	if err != nil {
		return Callback{}, false, fmt.Errorf("claim callback: %w", err)
	}
	cb, err := s.Get(ctx, id)
	return cb, err == nil, err
}

// finish records an attempt's outcome and what follows: a final status
// frees the number for a new promise of the kind; a retry goes back into
// the due set.
var finish = redis.NewScript(`
local key, placing, due, pending, deadlines, attempts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, status, outcome, placed, nextdue, attempt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
redis.call('ZREM', placing, id)
redis.call('ZREM', due, id)
redis.call('HSET', key, 'status', status, 'outcome', outcome, 'placed_at', placed)
if attempt ~= '' then redis.call('RPUSH', attempts, attempt) end
if status == 'pending' then
  redis.call('HSET', key, 'due_at', nextdue)
  redis.call('ZADD', due, nextdue, id)
else
  if redis.call('GET', pending) == id then redis.call('DEL', pending) end
  redis.call('ZREM', deadlines, id)
end
return 1
`)

// giveUp are outcomes no retry will change: the number cannot be reached
// or the customer refused the call.
var giveUp = []string{"rejected", "unreachable"}

// Finish records the outcome of the attempt on cb and decides what
// follows: answered → completed; a refused or unreachable number → failed;
// otherwise a retry if one fits in the window (and its dialing hours) and
// the attempts allow, else failed.
func (s *Store) Finish(ctx context.Context, cb Callback, answered bool, outcome string) (Status, error) {
	now := s.now()
	status := Completed
	next := time.Time{}
	if !answered {
		status = Failed
		next = now.Add(cb.Retry)
		if !cb.AnyHour {
			if kp, ok := s.pol.Kinds[cb.Kind]; ok {
				next = kp.Hours.Next(next)
			}
		}
		if cb.Attempts < cb.MaxAttempts && !next.After(cb.Deadline) && !slices.Contains(giveUp, outcome) {
			status = Pending
		}
	}
	attempt, _ := json.Marshal(Attempt{N: cb.Attempts, At: now.UTC(), Outcome: outcome})
	return status, s.setOutcome(ctx, cb, status, outcome, now, next, string(attempt))
}

// Expire closes a callback whose window passed before it could be placed.
func (s *Store) Expire(ctx context.Context, cb Callback) error {
	return s.setOutcome(ctx, cb, Expired, "window_passed", s.now(), time.Time{}, "")
}

func (s *Store) setOutcome(ctx context.Context, cb Callback, st Status, outcome string, placed, next time.Time, attempt string) error {
	err := finish.Run(ctx, s.rdb,
		[]string{s.key(cb.ID), s.placingKey(), s.dueKey(), s.phoneKey(cb.Kind, cb.Phone), s.deadlineKey(), s.attemptsKey(cb.ID)},
		cb.ID, string(st), outcome, placed.UnixMilli(), next.UnixMilli(), attempt).Err()
	if err != nil {
		return fmt.Errorf("record callback %s outcome: %w", cb.ID, err)
	}
	return nil
}

// cancel closes a pending callback, unless an attempt is ringing already.
var cancel = redis.NewScript(`
local due, pending, deadlines = KEYS[1], KEYS[2], KEYS[3]
local id = redis.call('GET', pending)
if not id then return false end
if redis.call('HGET', ARGV[1] .. id, 'status') ~= 'pending' then return false end
redis.call('ZREM', due, id)
redis.call('ZREM', deadlines, id)
redis.call('DEL', pending)
redis.call('HSET', ARGV[1] .. id, 'status', 'cancelled', 'outcome', ARGV[2])
return id
`)

// CancelServed cancels the pending callbacks of these kinds for a number:
// the customer called in and was served, so calling them back would only
// disturb them. Returns the ids cancelled.
// The kinds are cancelled in one round trip (a pipeline of the script), as
// every caller an agent served is looked up for all of them.
func (s *Store) CancelServed(ctx context.Context, phone string, kinds ...string) ([]string, error) {
	cmds := make([]*redis.Cmd, len(kinds))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range kinds {
			cmds[i] = cancel.EvalSha(ctx, p, []string{s.dueKey(), s.phoneKey(k, phone), s.deadlineKey()},
				s.p+"callback:", "customer called in and was served")
		}
		return nil
	})
	var ids []string
	for i, cmd := range cmds {
		id, err := cmd.Text()
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			// Redis does not have the script yet (restarted): one by
			// one, which loads it.
			return s.cancelEach(ctx, phone, ids, kinds[i:])
		}
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return ids, fmt.Errorf("cancel callbacks of %s: %w", kinds[i], err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (s *Store) cancelEach(ctx context.Context, phone string, ids []string, kinds []string) ([]string, error) {
	for _, k := range kinds {
		id, err := cancel.Run(ctx, s.rdb, []string{s.dueKey(), s.phoneKey(k, phone), s.deadlineKey()},
			s.p+"callback:", "customer called in and was served").Text()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return ids, fmt.Errorf("cancel callbacks of %s: %w", k, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
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
				p.RPush(ctx, s.attemptsKey(id), fmt.Sprintf(`{"n":0,"at":%q,"outcome":"lost"}`, s.now().UTC().Format(time.RFC3339Nano)))
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

// Get returns one callback with every attempt.
func (s *Store) Get(ctx context.Context, id string) (Callback, error) {
	var h *redis.MapStringStringCmd
	var att *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, s.key(id))
		att = p.LRange(ctx, s.attemptsKey(id), 0, -1)
		return nil
	})
	if err != nil {
		return Callback{}, fmt.Errorf("get callback %s: %w", id, err)
	}
	if len(h.Val()) == 0 {
		return Callback{}, fmt.Errorf("callback %s: %w", id, ErrNotFound)
	}
	cb := decode(h.Val())
	cb.History = []Attempt{}
	for _, raw := range att.Val() {
		var a Attempt
		if json.Unmarshal([]byte(raw), &a) == nil {
			cb.History = append(cb.History, a)
		}
	}
	return cb, nil
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

// Due counts callbacks whose time has come but that no line has taken yet:
// a growing number means too few lines.
func (s *Store) Due(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCount(ctx, s.dueKey(), "-inf", strconv.FormatInt(s.now().UnixMilli(), 10)).Result()
	if err != nil {
		return 0, fmt.Errorf("count due callbacks: %w", err)
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
		MaxAttempts: maxAttempts, Retry: time.Duration(retry), AnyHour: h["any_hour"] == "1", Deferred: h["deferred"] == "1",
		Status: Status(h["status"]), Attempts: n, Outcome: h["outcome"],
		CreatedAt: ms(h["created_at"]), DueAt: ms(h["due_at"]), Deadline: ms(h["deadline"]), PlacedAt: ms(h["placed_at"]),
		QueuedAt: ms(h["queued_at"]), Voice: h["voice"],
	}
}

func ms(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// deferClaim hands a claimed callback back without using an attempt: the
// attempt never reached the customer (no agent was free to ring first).
var deferClaim = redis.NewScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], 'status', 'pending', 'due_at', ARGV[2], 'outcome', ARGV[3])
redis.call('HINCRBY', KEYS[3], 'attempts', -1)
return 1
`)

// Defer returns a claimed callback to the due set at until, without
// counting the claim as an attempt.
func (s *Store) Defer(ctx context.Context, cb Callback, until time.Time, why string) error {
	err := deferClaim.Run(ctx, s.rdb, []string{s.placingKey(), s.dueKey(), s.key(cb.ID)}, cb.ID, until.UnixMilli(), why).Err()
	if err != nil {
		return fmt.Errorf("defer callback %s: %w", cb.ID, err)
	}
	return nil
}
