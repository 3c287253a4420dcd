package cdr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// The fold reads the agents' event stream (P agents:events, written by
// package agents on every state change and screen pop) and adds each
// agent's time in each state (talking, after-call work, idle, ringing,
// paused by reason) to the statistics intervals, with the calls offered to
// and answered by each agent. It also remembers each agent's last call and
// its caller (from the screen pop), which the desk needs after the call,
// and counts the call's work order (the pop's) among the agent's own.
//
// One replica folds at a time, under a lease; the stream position is kept
// in Redis and moved in the same script that adds the batch, so an event
// is counted once even when the lease changes hands mid-batch.

// Fold folds the agent event stream into statistics.
type Fold struct {
	s       *Store
	stream  string
	replica string
	log     zerolog.Logger
	// Every is how often the stream is read (1 s); Lease how long a
	// replica's hold lasts without renewal (10 s).
	Every, Lease time.Duration
}

// NewFold returns the fold of stream (the agents' event stream key, e.g.
// agents.Registry.EventsKey()) for this replica.
func (s *Store) NewFold(stream, replica string, log zerolog.Logger) *Fold {
	return &Fold{s: s, stream: stream, replica: replica, log: log, Every: time.Second, Lease: 10 * time.Second}
}

// Run folds until ctx ends.
func (f *Fold) Run(ctx context.Context) {
	t := time.NewTicker(f.Every)
	defer t.Stop()
	for {
		if _, err := f.Once(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn().Err(err).Msg("fold agent events into statistics")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var leaseLua = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end
return 0
`)

// foldLua adds a batch of events.
//
// ARGV: 1 prefix, 2 the cursor the batch was read after, 3 the id of its
// last event, 4 interval ms, 5 China offset ms, 6 counters TTL ms, 7 the
// retention ms, then eight values per event: type, agent, state, reason, since ms, call id,
// phone, ticket.
var foldLua = redis.NewScript(`
local P = ARGV[1]
local ck = P .. 'stats:fold:cursor'
if (redis.call('GET', ck) or '0-0') ~= ARGV[2] then return -1 end
local I, off, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local function fmt(x) return string.format('%.0f', x) end
local function bump(t, field, n)
  local key = P .. 'stats:' .. fmt(t - ((t + off) % I))
  redis.call('HINCRBY', key, field, fmt(n))
  redis.call('PEXPIRE', key, ttl)
end
local n = 0
for i = 8, #ARGV, 8 do
  local typ, agent, state, reason = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local since, call = tonumber(ARGV[i + 4]), ARGV[i + 5]
  local ak = P .. 'stats:agent:' .. agent
  if typ == 'screen_pop' then
    redis.call('HSET', ak, 'pop_call', call, 'pop_phone', ARGV[i + 6], 'pop_ticket', ARGV[i + 7])
  else
    local prev = redis.call('HMGET', ak, 'state', 'reason', 'since')
    local pstate, preason, psince = prev[1], prev[2] or '', tonumber(prev[3] or '')
    if pstate and psince and pstate ~= 'logged_out' and since > psince then
      local field = 'a:' .. agent .. '|ms:' .. pstate
      if pstate == 'paused' then
        if preason == '' then preason = 'other' end
        field = field .. ':' .. preason
      end
      local t, k = psince, 0
      while t < since and k < 100000 do
        local e = math.min(t - ((t + off) % I) + I, since)
        bump(t, field, e - t)
        t, k = e, k + 1
      end
    end
    if state == 'ringing' then bump(since, 'a:' .. agent .. '|rung', 1) end
    if state == 'on_call' then
      bump(since, 'a:' .. agent .. '|picked_up', 1)
      local pop = redis.call('HMGET', ak, 'pop_call', 'pop_phone', 'pop_ticket')
      local phone, ticket = '', ''
      if pop[1] == call then phone, ticket = pop[2] or '', pop[3] or '' end
      redis.call('HSET', ak, 'last_call', call, 'last_phone', phone, 'last_ticket', ticket, 'last_at', fmt(since))
      if ticket ~= '' then
        -- the call's work order is one of the agent's own from now on
        local tk = P .. 'cdrs:agent:' .. agent .. ':tickets'
        redis.call('ZADD', tk, 'GT', fmt(since), ticket)
        redis.call('PEXPIRE', tk, ARGV[7])
      end
    end
    if psince and since < psince then since = psince end
    redis.call('HSET', ak, 'state', state, 'reason', reason, 'since', fmt(since))
    redis.call('SADD', P .. 'stats:agents', agent)
  end
  n = n + 1
end
redis.call('SET', ck, ARGV[3])
return n
`)

// foldBatch is how many events one pass reads at most.
const foldBatch = 500

// Once folds what the stream holds beyond the cursor, if this replica
// holds the lease; it returns how many events it folded.
func (f *Fold) Once(ctx context.Context) (int, error) {
	s := f.s
	ok, err := leaseLua.Run(ctx, s.rdb, []string{s.p + "stats:fold:lease"}, f.replica, f.Lease.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("cdr: fold lease: %w", err)
	}
	if ok != 1 {
		return 0, nil // another replica folds
	}
	total := 0
	for {
		cursor, err := s.rdb.Get(ctx, s.p+"stats:fold:cursor").Result()
		if errors.Is(err, redis.Nil) {
			cursor = "0-0"
		} else if err != nil {
			return total, fmt.Errorf("cdr: fold cursor: %w", err)
		}
		msgs, err := s.rdb.XRangeN(ctx, f.stream, "("+cursor, "+", foldBatch).Result()
		if err != nil {
			return total, fmt.Errorf("cdr: read agent events: %w", err)
		}
		if len(msgs) == 0 {
			return total, nil
		}
		args := []any{s.p, cursor, msgs[len(msgs)-1].ID, s.pol.Interval.Milliseconds(), chinaOffset.Milliseconds(),
			(s.pol.Retention + s.pol.Interval).Milliseconds(), s.pol.Retention.Milliseconds()}
		for _, m := range msgs {
			args = append(args, eventArgs(m)...)
		}
		n, err := foldLua.Run(ctx, s.rdb, nil, args...).Int()
		if err != nil {
			return total, fmt.Errorf("cdr: fold: %w", err)
		}
		if n < 0 {
			return total, nil // another replica moved the cursor: it folds now
		}
		total += len(msgs)
		if len(msgs) < foldBatch {
			return total, nil
		}
	}
}

// eventArgs are the eight fold values of one stream entry. Entries of
// other types, or unreadable ones, become a screen pop of nobody, which
// the script ignores harmlessly.
func eventArgs(m redis.XMessage) []any {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	agent, typ := str("agent"), str("type")
	var d struct {
		State    string `json:"state"`
		Reason   string `json:"reason"`
		Since    string `json:"since"`
		CallID   string `json:"call_id"`
		Phone    string `json:"phone"`
		TicketID string `json:"ticket_id"`
	}
	_ = json.Unmarshal([]byte(str("data")), &d)
	since := idTime(m.ID)
	if t, err := time.Parse(time.RFC3339Nano, d.Since); err == nil {
		since = t.UnixMilli()
	}
	if agent == "" || (typ != "state" && typ != "screen_pop") || (typ == "state" && d.State == "") {
		return []any{"screen_pop", "_", "", "", since, "", "", ""}
	}
	return []any{typ, agent, d.State, d.Reason, since, d.CallID, d.Phone, d.TicketID}
}

// idTime is the milliseconds part of a stream id.
func idTime(id string) int64 {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return n
}

// AgentCall is a call an agent took, as the fold saw it.
type AgentCall struct {
	CallID   string    `json:"call_id"`
	Phone    string    `json:"phone,omitempty"`
	TicketID string    `json:"ticket_id,omitempty"`
	At       time.Time `json:"at"` // the agent answered
}

// FoldState is what the fold knows of one agent now.
type FoldState struct {
	State, Reason string
	Since         time.Time
	Last          AgentCall // the last call the agent answered
	Pop           AgentCall // the last screen pop (At is zero)
}

// Agent returns what the fold knows of an agent (zero when nothing yet).
func (s *Store) Agent(ctx context.Context, agent string) (FoldState, error) {
	h, err := s.rdb.HGetAll(ctx, s.p+"stats:agent:"+agent).Result()
	if err != nil {
		return FoldState{}, fmt.Errorf("cdr: agent %s: %w", agent, err)
	}
	return FoldState{State: h["state"], Reason: h["reason"], Since: fromMS(h["since"]),
		Last: AgentCall{CallID: h["last_call"], Phone: h["last_phone"], TicketID: h["last_ticket"], At: fromMS(h["last_at"])},
		Pop:  AgentCall{CallID: h["pop_call"], Phone: h["pop_phone"], TicketID: h["pop_ticket"]}}, nil
}

// LastCall is the last call an agent took: its newest call record, or the
// fold's last call when that is newer (its record not written yet).
func (s *Store) LastCall(ctx context.Context, agent string) (AgentCall, bool, error) {
	st, err := s.Agent(ctx, agent)
	if err != nil {
		return AgentCall{}, false, err
	}
	rec, ok, err := s.Latest(ctx, agent)
	if err != nil {
		return AgentCall{}, false, err
	}
	if ok && (st.Last.CallID == "" || st.Last.CallID == rec.CallID || !rec.AgentAnswer.Before(st.Last.At)) {
		at := rec.AgentAnswer
		if at.IsZero() {
			at = rec.Start
		}
		return AgentCall{CallID: rec.CallID, Phone: rec.Phone, TicketID: rec.TicketID, At: at}, true, nil
	}
	return st.Last, st.Last.CallID != "", nil
}

// addOpenStates counts each agent's current state, not folded until it
// ends, from its start up to now (or until) into the intervals.
func (s *Store) addOpenStates(ctx context.Context, agents []string, buckets []int64, until time.Time, per []tally) error {
	if len(buckets) == 0 || len(agents) == 0 {
		return nil
	}
	cmds := make([]*redis.SliceCmd, len(agents))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, a := range agents {
			cmds[i] = p.HMGet(ctx, s.p+"stats:agent:"+a, "state", "reason", "since")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cdr: agents' states: %w", err)
	}
	end := min(s.now().UnixMilli(), until.UnixMilli())
	step := s.pol.Interval.Milliseconds()
	for i, a := range agents {
		v := cmds[i].Val()
		state, _ := v[0].(string)
		reason, _ := v[1].(string)
		sinceS, _ := v[2].(string)
		since, err := strconv.ParseInt(sinceS, 10, 64)
		if err != nil || state == "" || state == "logged_out" {
			continue
		}
		field := "a:" + a + "|ms:" + state
		if state == "paused" {
			if reason == "" {
				reason = "other"
			}
			field += ":" + reason
		}
		for j, b := range buckets {
			from, to := max(since, b), min(end, b+step)
			if to > from {
				per[j].add(field, to-from)
			}
		}
	}
	return nil
}
