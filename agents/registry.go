// Package agents keeps the human agents and the queue of callers waiting for
// them. Everything lives in Redis, and every change of more than one key is
// one Lua script, so two controller replicas can share one set of agents.
package agents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hotline95598/hotline/metrics"
	"github.com/redis/go-redis/v9"
)

// State is an agent's state.
type State string

const (
	LoggedOut State = "logged_out"
	Available State = "available"
	Ringing   State = "ringing"
	OnCall    State = "on_call"
	WrapUp    State = "wrap_up" // after-call work: timed, then available
	Paused    State = "paused"
)

// States lists every state, for metrics.
var States = []State{LoggedOut, Available, Ringing, OnCall, WrapUp, Paused}

// Pause reasons the system sets by itself.
const (
	ReasonNoAnswer     = "no_answer"    // let a call ring out
	ReasonUnregistered = "unregistered" // softphone not registered when offered a call
	// ReasonConsult marks an agent ringing or talking as the colleague
	// another agent consults before an attended transfer: it is not (yet)
	// the agent of the call.
	ReasonConsult = "consult"
)

var (
	ErrBadSkill     = errors.New("bad skill")
	ErrUnknownAgent = errors.New("unknown agent")
	ErrBadState     = errors.New("not allowed in the agent's current state")
)

// Agent is one agent as stored.
type Agent struct {
	ID        string    `json:"id"`
	State     State     `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	Since     time.Time `json:"since"`
	IdleSince time.Time `json:"idle_since,omitempty"`
	CallID    string    `json:"call_id,omitempty"`
	// WrapUntil ends the after-call work of an agent in wrap_up.
	WrapUntil time.Time `json:"wrap_until,omitempty"`
	// Skills maps queue → level (1 best). No skills: the agent serves
	// every queue at level 1.
	Skills map[string]int `json:"skills,omitempty"`
}

// MaxLevel is the lowest skill level an agent may have.
const MaxLevel = 9

// LeaseTTL: an agent ringing or on a call is held by the replica that owns
// the call, which renews the lease (KeepLease); if that replica dies the
// lease runs out and a sweep frees the agent instead of leaving them "on
// call" for ever.
const LeaseTTL = 15 * time.Second

// Registry stores agents in Redis.
type Registry struct {
	rdb    redis.UniversalClient
	p      string
	now    func() time.Time
	wrapUp time.Duration
}

// SetWrapUp sets the after-call work time; zero makes agents available as
// soon as a call ends.
func (r *Registry) SetWrapUp(d time.Duration) { r.wrapUp = d }

// NewRegistry returns a registry using keys under prefix.
func NewRegistry(rdb redis.UniversalClient, prefix string, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{rdb: rdb, p: prefix, now: now}
}

// Prefix is the Redis key prefix; the queue's claim script names agents'
// keys from it.
func (r *Registry) Prefix() string { return r.p }

// Now is the registry's clock.
func (r *Registry) Now() time.Time { return r.now() }

// WrapUp is the controller-wide after-call work time.
func (r *Registry) WrapUp() time.Duration { return r.wrapUp }

// AvailKey orders the available agents by how long they have been idle.
func (r *Registry) AvailKey() string { return r.availKey() }

func (r *Registry) agentKey(id string) string  { return r.p + "agent:" + id }
func (r *Registry) leaseKey(id string) string  { return r.p + "agent:" + id + ":lease" }
func (r *Registry) setKey() string             { return r.p + "agents" }
func (r *Registry) availKey() string           { return r.p + "agents:available" }
func (r *Registry) skillsKey(id string) string { return r.p + "agent:" + id + ":skills" }
func (r *Registry) busyKey(id string) string   { return r.p + "agent:" + id + ":busy" }

// wrapKey orders the agents in wrap-up by the end of their after-call work,
// so ending wrap-ups reads only those due, not every agent each second.
func (r *Registry) wrapKey() string { return r.p + "agents:wrapping" }

// isoMillis formats a time for the event stream.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// SetSkills replaces an agent's skills: queue → level, 1 the best and
// MaxLevel the lowest. An empty map makes the agent a generalist who serves
// every queue at level 1.
func (r *Registry) SetSkills(ctx context.Context, id string, skills map[string]int) error {
	for q, l := range skills {
		if l < 1 || l > MaxLevel {
			return fmt.Errorf("agent %s skill %s: level %d is not between 1 and %d: %w", id, q, l, MaxLevel, ErrBadSkill)
		}
	}
	if _, err := r.Get(ctx, id); err != nil {
		return err
	}
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.skillsKey(id))
		for q, l := range skills {
			p.HSet(ctx, r.skillsKey(id), q, l)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("agent %s skills: %w", id, err)
	}
	return nil
}

// Ensure registers the configured agents; existing agents keep their state.
func (r *Registry) Ensure(ctx context.Context, ids []string) error {
	now := strconv.FormatInt(r.now().UnixMilli(), 10)
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.SAdd(ctx, r.setKey(), id)
			p.HSetNX(ctx, r.agentKey(id), "state", string(LoggedOut))
			p.HSetNX(ctx, r.agentKey(id), "since", now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("register agents: %w", err)
	}
	return nil
}

// transition moves an agent between states atomically. from lists the states
// it may leave ("*" any); idle "now" puts it at the back of the longest-idle
// order, "keep" keeps its place; callID, when set, must match the agent's
// current call so a late event from an old call cannot move the agent.
var transition = redis.NewScript(`
local agent, avail, set, lease, events, wrapping = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, from, to, reason, now, callid, idle, newcall, wrapuntil, iso = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
if redis.call('SISMEMBER', set, id) == 0 then return 'unknown' end
local cur = redis.call('HGET', agent, 'state') or 'logged_out'
if from ~= '*' then
  local ok = false
  for s in string.gmatch(from, '[^,]+') do if s == cur then ok = true end end
  if not ok then return 'state:' .. cur end
end
if callid ~= '' and redis.call('HGET', agent, 'call_id') ~= callid then return 'call:' .. cur end
if cur == to and to ~= 'paused' and (redis.call('HGET', agent, 'reason') or '') == reason then return 'ok' end
redis.call('HSET', agent, 'state', to, 'reason', reason, 'since', now, 'call_id', newcall, 'wrap_until', wrapuntil)
if to == 'available' then
  local score = now
  if idle == 'keep' then score = redis.call('HGET', agent, 'idle_since') or now end
  redis.call('HSET', agent, 'idle_since', score)
  redis.call('ZADD', avail, score, id)
else
  redis.call('ZREM', avail, id)
end
if to ~= 'ringing' and to ~= 'on_call' then redis.call('DEL', lease) end
if to == 'wrap_up' then redis.call('ZADD', wrapping, wrapuntil, id) else redis.call('ZREM', wrapping, id) end
redis.call('XADD', events, 'MAXLEN', '~', 10000, '*', 'agent', id, 'type', 'state',
  'data', cjson.encode({id = id, state = to, reason = reason, since = iso, call_id = newcall}))
return 'ok'
`)

func (r *Registry) move(ctx context.Context, id, from string, to State, reason, callID, idle, newCall string) error {
	return r.moveWrap(ctx, id, from, to, reason, callID, idle, newCall, r.wrapUp)
}

func (r *Registry) moveWrap(ctx context.Context, id, from string, to State, reason, callID, idle, newCall string, wrap time.Duration) error {
	now := r.now()
	wrapUntil := ""
	if to == WrapUp {
		wrapUntil = strconv.FormatInt(now.Add(wrap).UnixMilli(), 10)
	}
	res, err := transition.Run(ctx, r.rdb,
		[]string{r.agentKey(id), r.availKey(), r.setKey(), r.leaseKey(id), r.EventsKey(), r.wrapKey()},
		id, from, string(to), reason, now.UnixMilli(), callID, idle, newCall, wrapUntil, isoMillis(now)).Text()
	if err != nil {
		return fmt.Errorf("agent %s to %s: %w", id, to, err)
	}
	switch {
	case res == "ok":
		return nil
	case res == "unknown":
		return fmt.Errorf("agent %s: %w", id, ErrUnknownAgent)
	default:
		return fmt.Errorf("agent %s is %s: %w", id, strings.SplitN(res, ":", 2)[1], ErrBadState)
	}
}

// Login makes a logged-out agent available; logging in twice is harmless.
func (r *Registry) Login(ctx context.Context, id string) error {
	err := r.move(ctx, id, string(LoggedOut), Available, "", "", "now", "")
	if errors.Is(err, ErrBadState) {
		return nil // already logged in: keep the current state
	}
	return err
}

// Logout logs an agent out unless a call is ringing or connected.
func (r *Registry) Logout(ctx context.Context, id string) error {
	return r.move(ctx, id, "available,paused,wrap_up,logged_out", LoggedOut, "", "", "", "")
}

// Pause stops offering calls to an available agent.
func (r *Registry) Pause(ctx context.Context, id, reason string) error {
	if reason == "" {
		reason = "break"
	}
	return r.move(ctx, id, "available,paused,wrap_up", Paused, reason, "", "", "")
}

// Ready makes a paused agent available again, at the back of the idle order;
// an agent in wrap-up may end it early.
func (r *Registry) Ready(ctx context.Context, id string) error {
	return r.move(ctx, id, "paused,wrap_up,available", Available, "", "", "now", "")
}

// Answered records that the agent picked up callID.
func (r *Registry) Answered(ctx context.Context, id, callID string) error {
	return r.move(ctx, id, string(Ringing), OnCall, "", callID, "", callID)
}

// Reserve takes an available agent out of the queue's reach for an
// attended transfer of callID: the agent rings with reason consult, held
// by a lease the caller keeps (KeepLease) like any ringing agent's. An
// agent whose phone was found busy lately (MarkBusy) is not reserved,
// as the queue's claim skips it.
func (r *Registry) Reserve(ctx context.Context, id, callID string) error {
	n, err := r.rdb.Exists(ctx, r.busyKey(id)).Result()
	if err != nil {
		return fmt.Errorf("agent %s: %w", id, err)
	}
	if n > 0 {
		return fmt.Errorf("agent %s's phone is busy with another call: %w", id, ErrBadState)
	}
	// The lease first: a ringing agent without one is freed by the sweep
	// (a lease left on an agent the move refuses is harmless: only ringing
	// and talking agents' leases are looked at).
	if err := r.Renew(ctx, id, callID); err != nil {
		return fmt.Errorf("agent %s: %w", id, err)
	}
	return r.move(ctx, id, string(Available), Ringing, ReasonConsult, "", "", callID)
}

// Consulted records that a reserved agent answered the consultation.
func (r *Registry) Consulted(ctx context.Context, id, callID string) error {
	return r.move(ctx, id, string(Ringing), OnCall, ReasonConsult, callID, "", callID)
}

// TakeOver makes the consulted agent the agent of callID: the attended
// transfer is complete.
func (r *Registry) TakeOver(ctx context.Context, id, callID string) error {
	return r.move(ctx, id, string(OnCall), OnCall, "", callID, "", callID)
}

// NoAnswer pauses an agent who let callID ring out, so the next caller is
// not offered to an empty desk.
func (r *Registry) NoAnswer(ctx context.Context, id, callID, reason string) error {
	return r.move(ctx, id, string(Ringing), Paused, reason, callID, "", "")
}

// Release frees an agent after callID. After a conversation they do their
// after-call work (wrap-up) and then join the back of the idle order; if
// the call never connected they are available at once and keep their place.
func (r *Registry) Release(ctx context.Context, id, callID string, talked bool) error {
	return r.ReleaseAfter(ctx, id, callID, talked, 0)
}

// ReleaseAfter is Release with the after-call work time of the call's
// queue; zero takes the controller-wide wrap-up.
func (r *Registry) ReleaseAfter(ctx context.Context, id, callID string, talked bool, wrap time.Duration) error {
	if wrap <= 0 {
		wrap = r.wrapUp
	}
	if talked && wrap > 0 {
		return r.moveWrap(ctx, id, "ringing,on_call", WrapUp, "", callID, "", "", wrap)
	}
	idle := "keep"
	if talked {
		idle = "now"
	}
	return r.move(ctx, id, "ringing,on_call", Available, "", callID, idle, "")
}

// EndWrapUps makes agents whose after-call work time is over available.
func (r *Registry) EndWrapUps(ctx context.Context) (int, error) {
	due, err := r.rdb.ZRangeByScore(ctx, r.wrapKey(), &redis.ZRangeBy{Min: "-inf",
		Max: strconv.FormatInt(r.now().UnixMilli(), 10)}).Result()
	if err != nil {
		return 0, fmt.Errorf("agents in wrap-up: %w", err)
	}
	n := 0
	for _, id := range due {
		// From wrap_up only: an agent who paused meanwhile stays paused
		// (and left the wrap-up index with that move).
		err := r.move(ctx, id, string(WrapUp), Available, "", "", "now", "")
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrBadState), errors.Is(err, ErrUnknownAgent):
			r.rdb.ZRem(ctx, r.wrapKey(), id) // stale entry
		}
	}
	return n, nil
}

// Renew extends the lease on an agent held by callID.
func (r *Registry) Renew(ctx context.Context, id, callID string) error {
	return r.rdb.Set(ctx, r.leaseKey(id), callID, LeaseTTL).Err()
}

// KeepLease renews the lease on an agent held by callID until the returned
// function is called: while the agent's phone rings and while they talk.
func (r *Registry) KeepLease(ctx context.Context, id, callID string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = r.Renew(ctx, id, callID)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// MarkBusy keeps an agent whose phone is busy with a call we did not place
// out of the claims for d; then the phone is asked again.
func (r *Registry) MarkBusy(ctx context.Context, id string, d time.Duration) error {
	return r.rdb.Set(ctx, r.busyKey(id), "1", d).Err()
}

// RunWrapUps ends agents' after-call work when it is over, every second
// until ctx ends: an agent's wrap-up lasts what the configuration says, not
// up to a slower housekeeping period more. onErr hears of Redis failures.
func (r *Registry) RunWrapUps(ctx context.Context, onErr func(error)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.EndWrapUps(ctx); err != nil && ctx.Err() == nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// Get returns one agent.
func (r *Registry) Get(ctx context.Context, id string) (Agent, error) {
	ok, err := r.rdb.SIsMember(ctx, r.setKey(), id).Result()
	if err != nil {
		return Agent{}, fmt.Errorf("get agent %s: %w", id, err)
	}
	if !ok {
		return Agent{}, fmt.Errorf("agent %s: %w", id, ErrUnknownAgent)
	}
	var h, sk *redis.MapStringStringCmd
	_, err = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		h, sk = p.HGetAll(ctx, r.agentKey(id)), p.HGetAll(ctx, r.skillsKey(id))
		return nil
	})
	if err != nil {
		return Agent{}, fmt.Errorf("get agent %s: %w", id, err)
	}
	return decodeAgent(id, h.Val(), sk.Val()), nil
}

// List returns every agent, by id.
func (r *Registry) List(ctx context.Context) ([]Agent, error) {
	ids, err := r.rdb.SMembers(ctx, r.setKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	sort.Strings(ids)
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	skills := make([]*redis.MapStringStringCmd, len(ids))
	_, err = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, r.agentKey(id))
			skills[i] = p.HGetAll(ctx, r.skillsKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	out := make([]Agent, len(ids))
	for i, id := range ids {
		out[i] = decodeAgent(id, cmds[i].Val(), skills[i].Val())
	}
	return out, nil
}

// Sweep frees agents whose holding replica stopped renewing their lease.
func (r *Registry) Sweep(ctx context.Context) (freed int, err error) {
	agents, err := r.List(ctx)
	if err != nil {
		return 0, err
	}
	for _, a := range agents {
		if a.State == WrapUp && !r.now().Before(a.WrapUntil) {
			// Not in the wrap-up index (written by an older version, or a
			// lost write): ended here, a few seconds late at worst.
			_ = r.move(ctx, a.ID, string(WrapUp), Available, "", "", "now", "")
			continue
		}
		if a.State != Ringing && a.State != OnCall {
			continue
		}
		n, err := r.rdb.Exists(ctx, r.leaseKey(a.ID)).Result()
		if err != nil {
			return freed, fmt.Errorf("sweep: %w", err)
		}
		if n == 0 && r.Release(ctx, a.ID, a.CallID, true) == nil {
			freed++
		}
	}
	return freed, nil
}

func decodeAgent(id string, h, skills map[string]string) Agent {
	a := Agent{ID: id, State: State(h["state"]), Reason: h["reason"], CallID: h["call_id"]}
	for q, l := range skills {
		if n, err := strconv.Atoi(l); err == nil {
			if a.Skills == nil {
				a.Skills = map[string]int{}
			}
			a.Skills[q] = n
		}
	}
	if a.State == "" {
		a.State = LoggedOut
	}
	a.Since = msTime(h["since"])
	if a.State == WrapUp {
		a.WrapUntil = msTime(h["wrap_until"])
	}
	if a.State == Available {
		a.IdleSince = msTime(h["idle_since"])
	}
	return a
}

// Level is the agent's skill level for queue, or ok=false when the agent
// does not serve it. An agent without skills serves every queue at level 1.
func (a Agent) Level(queue string) (level int, ok bool) {
	if len(a.Skills) == 0 {
		return 1, true
	}
	level, ok = a.Skills[queue]
	return level, ok
}

func msTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// claimIdle takes the longest-idle available agent for a call placed from
// our side (an agent-first callback), in one atomic step.
var claimIdle = redis.NewScript(`
local a = redis.call('ZRANGE', KEYS[1], 0, 0)
if #a == 0 then return false end
local id = a[1]
redis.call('ZREM', KEYS[1], id)
redis.call('HSET', ARGV[1] .. 'agent:' .. id, 'state', 'ringing', 'since', ARGV[2], 'call_id', ARGV[3], 'reason', '')
redis.call('SET', ARGV[1] .. 'agent:' .. id .. ':lease', ARGV[3], 'PX', ARGV[4])
redis.call('XADD', ARGV[1] .. 'agents:events', 'MAXLEN', '~', 10000, '*', 'agent', id, 'type', 'state',
  'data', cjson.encode({id = id, state = 'ringing', reason = '', since = ARGV[5], call_id = ARGV[3]}))
return id
`)

// ClaimIdle reserves the longest-idle available agent for callID, or
// ok=false when nobody is free. Release, Answered or NoAnswer follow.
func (r *Registry) ClaimIdle(ctx context.Context, callID string) (string, bool, error) {
	id, err := claimIdle.Run(ctx, r.rdb, []string{r.availKey()}, r.p, r.now().UnixMilli(), callID, LeaseTTL.Milliseconds(), isoMillis(r.now())).Text()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("claim an idle agent: %w", err)
	}
	return id, true, nil
}

// UpdateGauges sets the agents-by-state and paused-by-reason gauges from
// Redis, so every replica reports the whole hotline.
func (r *Registry) UpdateGauges(ctx context.Context, m *metrics.Metrics) {
	list, err := r.List(ctx)
	if err != nil {
		return
	}
	counts := map[State]int{}
	paused := map[string]int{}
	for _, a := range list {
		counts[a.State]++
		if a.State == Paused {
			paused[a.Reason]++
		}
	}
	for _, st := range States {
		m.AgentsByState.WithLabelValues(string(st)).Set(float64(counts[st]))
	}
	// Reasons are bounded: the system's own plus what supervisors allow; a
	// reason no agent has any more reads zero.
	m.AgentsPaused.Reset()
	for reason, n := range paused {
		m.AgentsPaused.WithLabelValues(reason).Set(float64(n))
	}
}
