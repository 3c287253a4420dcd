package agents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/prompts"
)

// Priority orders callers: a higher priority is served first whatever the
// waiting times; among equal priorities the caller who joined first is
// served first, across every queue an agent serves. A callback customer
// comes back with the join time of their first call, so they keep their
// place rather than jump the queue.
type Priority int

const (
	Normal    Priority = 0
	Repeat    Priority = 1 // calls again about an open work order
	Important Priority = 2 // an important customer (customer class)
)

// PriorityName labels a priority in logs and screen pops.
func (p Priority) String() string {
	switch p {
	case Repeat:
		return "repeat"
	case Important:
		return "important"
	}
	return "normal"
}

// priorityStep is subtracted from the queue score per priority level: larger
// than any possible difference in join times, so priority always wins and
// equal priorities are served first come, first served.
const priorityStep = int64(1) << 50

// Caller is one caller wanting an agent.
type Caller struct {
	CallID   string
	Phone    string
	Queue    string
	Priority Priority
	Joined   time.Time // kept across attempts and queues so the caller keeps their place

	// Intro is played while agents are already being looked for and rung
	// (e.g. "transferring you"); music on hold starts when it ends.
	Intro []string
	// Voice is the set of recordings the caller hears announcements in
	// (prompts.VoiceEnglish, prompts.VoiceSlow; "" Mandarin): an English
	// caller must not be told their place in Mandarin.
	Voice string

	// For the agent's screen pop.
	Account  string
	Name     string
	TicketID string
	MenuPath string
}

// Outcome is how waiting for an agent ended.
type Outcome string

const (
	Connected Outcome = "connected" // talked to an agent; the call is over
	Abandoned Outcome = "abandoned" // hung up before an agent answered
	// KeptPlace: the caller took the offer of a callback that keeps their
	// place; the caller's flow promises it (a virtual-hold callback).
	KeptPlace Outcome = "kept_place"
	// Overflowed: the longest wait ran out in a queue whose overflow is a
	// callback that keeps the caller's place.
	Overflowed Outcome = "overflowed"
)

// Config is the queue policy.
type Config struct {
	RingTimeout time.Duration
	Poll        time.Duration
	MOHClass    string
	Tech        string // "PJSIP": agents are rung at Tech/ID
	// Queues is each queue's waiting policy; a queue not listed gets the
	// zero policy: no announcements, no overflow, any skill level.
	Queues map[string]policy.Queue
	// OfferTimeout is how long the caller has to press 1 after the offer of
	// a callback.
	OfferTimeout time.Duration
}

// Dispatcher connects waiting callers to agents. Each waiting caller's own
// goroutine runs Serve; the order among callers and the choice of agent are
// decided in Redis, so callers on different replicas share one fair queue.
type Dispatcher struct {
	reg *Registry
	sw  ivr.Switch
	cfg Config
	m   *metrics.Metrics
	log zerolog.Logger
}

// NewDispatcher returns a dispatcher.
func NewDispatcher(reg *Registry, sw ivr.Switch, cfg Config, m *metrics.Metrics, log zerolog.Logger) *Dispatcher {
	return &Dispatcher{reg: reg, sw: sw, cfg: cfg, m: m, log: log}
}

func (d *Dispatcher) queueKey(q string) string  { return d.reg.p + "queue:" + q }
func (d *Dispatcher) hbPrefix(q string) string  { return d.reg.p + "queue:" + q + ":hb:" }
func (d *Dispatcher) joinedKey(q string) string { return d.reg.p + "queue:" + q + ":joined" }

// ahtKey holds a queue's average handle time (talk plus after-call work) in
// milliseconds, a moving average every replica updates.
func (d *Dispatcher) ahtKey(q string) string { return d.reg.p + "queue:" + q + ":aht" }

// updateAHT folds one call's handle time into the queue's moving average
// (weight 1/8 per call: it follows a change within a few dozen calls).
var updateAHT = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]))
local x = tonumber(ARGV[1])
if cur then x = cur + (x - cur) / 8 end
redis.call('SET', KEYS[1], math.floor(x), 'EX', 86400 * 7)
return math.floor(x)
`)

// statsKey holds a queue's counts for one China day: offered, answered,
// answered_20s, answered_30s, abandoned. Every replica adds to the same
// hash, so the wallboard's service level is the whole hotline's.
func (d *Dispatcher) statsKey(q string, t time.Time) string {
	return d.reg.p + "queue:" + q + ":stats:" + t.In(china.Zone).Format("20060102")
}

// Stats is one queue's counts for today.
type Stats struct {
	Offered, Answered, Answered20s, Answered30s, Abandoned int64
}

func (d *Dispatcher) count(ctx context.Context, q string, fields ...string) {
	key := d.statsKey(q, d.reg.now())
	_, err := d.reg.rdb.Pipelined(context.WithoutCancel(ctx), func(p redis.Pipeliner) error {
		for _, f := range fields {
			p.HIncrBy(ctx, key, f, 1)
		}
		p.Expire(ctx, key, 8*24*time.Hour)
		return nil
	})
	if err != nil {
		d.m.RedisErrors.WithLabelValues("queue_stats").Inc()
	}
}

// Today returns a queue's counts since midnight (China time).
func (d *Dispatcher) Today(ctx context.Context, q string) (Stats, error) {
	h, err := d.reg.rdb.HGetAll(ctx, d.statsKey(q, d.reg.now())).Result()
	if err != nil {
		return Stats{}, fmt.Errorf("queue %s stats: %w", q, err)
	}
	n := func(k string) int64 { v, _ := strconv.ParseInt(h[k], 10, 64); return v }
	return Stats{Offered: n("offered"), Answered: n("answered"), Answered20s: n("answered_20s"),
		Answered30s: n("answered_30s"), Abandoned: n("abandoned")}, nil
}

// LongestWait is how long the longest-waiting caller of a queue has waited
// (zero when nobody waits).
func (d *Dispatcher) LongestWait(ctx context.Context, q string) (time.Duration, error) {
	oldest, err := d.reg.rdb.ZRangeWithScores(ctx, d.joinedKey(q), 0, 0).Result()
	if err != nil {
		return 0, fmt.Errorf("queue %s longest wait: %w", q, err)
	}
	if len(oldest) == 0 {
		return 0, nil
	}
	return d.reg.now().Sub(time.UnixMilli(int64(oldest[0].Score))), nil
}
func (d *Dispatcher) hbKey(q, callID string) string { return d.hbPrefix(q) + callID }

// heartbeat: a waiting caller proves it is still there; a caller whose
// replica died stops beating and is dropped from the head of the queue
// instead of blocking everyone behind it.
func (d *Dispatcher) heartbeatTTL() time.Duration {
	if t := 10 * d.cfg.Poll; t > 5*time.Second {
		return t
	}
	return 5 * time.Second
}

func (d *Dispatcher) score(c Caller) float64 {
	return float64(c.Joined.UnixMilli() - int64(c.Priority)*priorityStep)
}

func (d *Dispatcher) policyOf(q string) policy.Queue { return d.cfg.Queues[q] }

// queueArgs lists every queue with its any-level wait, for the claim's
// fairness check across the queues an agent serves.
func (d *Dispatcher) queueArgs() []any {
	names := make([]string, 0, len(d.cfg.Queues))
	for q := range d.cfg.Queues {
		names = append(names, q)
	}
	sort.Strings(names)
	args := []any{len(names)}
	for _, q := range names {
		args = append(args, q, d.cfg.Queues[q].AnyLevelAfter.Milliseconds())
	}
	return args
}

// placeKey remembers where a waiting caller is (queue and join time), so if
// their replica dies the replica that cleans up can call them back keeping
// their place. It outlives the queue entry, which a dead heartbeat removes.
func (d *Dispatcher) placeKey(callID string) string { return d.reg.p + "queue:place:" + callID }

// placeTTL: long enough for any replica's orphan sweep to find it.
const placeTTL = time.Hour

func (d *Dispatcher) enqueue(ctx context.Context, c Caller) error {
	_, err := d.reg.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, d.queueKey(c.Queue), redis.Z{Score: d.score(c), Member: c.CallID})
		p.ZAdd(ctx, d.joinedKey(c.Queue), redis.Z{Score: float64(c.Joined.UnixMilli()), Member: c.CallID})
		p.Set(ctx, d.hbKey(c.Queue, c.CallID), "1", d.heartbeatTTL())
		p.HSet(ctx, d.placeKey(c.CallID), "queue", c.Queue, "joined", c.Joined.UnixMilli())
		p.Expire(ctx, d.placeKey(c.CallID), placeTTL)
		return nil
	})
	return err
}

// Drop takes a caller out of a queue for good: their call was cut off and
// a kept-place callback answers for them, so nobody may count them as
// waiting any more (a dead replica's caller would otherwise stay in the
// count until a claim happened to reach them).
func (d *Dispatcher) Drop(ctx context.Context, queue, callID string) {
	d.leave(ctx, Caller{CallID: callID, Queue: queue})
}

// Place is where a caller waited.
type Place struct {
	Queue  string
	Joined time.Time
}

// PlaceOf returns where a caller was waiting when their call was cut off
// (ok=false when they were not waiting).
func (d *Dispatcher) PlaceOf(ctx context.Context, callID string) (Place, bool, error) {
	h, err := d.reg.rdb.HGetAll(ctx, d.placeKey(callID)).Result()
	if err != nil {
		return Place{}, false, fmt.Errorf("place of %s: %w", callID, err)
	}
	ms, err := strconv.ParseInt(h["joined"], 10, 64)
	if h["queue"] == "" || err != nil {
		return Place{}, false, nil
	}
	return Place{Queue: h["queue"], Joined: time.UnixMilli(ms)}, true, nil
}

func (d *Dispatcher) leave(ctx context.Context, c Caller) {
	ctx = context.WithoutCancel(ctx)
	_, err := d.reg.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, d.queueKey(c.Queue), c.CallID)
		p.ZRem(ctx, d.joinedKey(c.Queue), c.CallID)
		p.Del(ctx, d.hbKey(c.Queue, c.CallID))
		p.Del(ctx, d.placeKey(c.CallID))
		return nil
	})
	if err != nil {
		d.m.RedisErrors.WithLabelValues("queue_leave").Inc()
		d.log.Error().Err(err).Str("call_id", c.CallID).Msg("leave queue")
	}
}

// countAnswered counts an answered caller in the queue's stats and drops
// them from the waiting-time index (the queue entry itself was removed by
// the claim), in one round trip.
func (d *Dispatcher) countAnswered(ctx context.Context, c Caller, fields []string) {
	ctx = context.WithoutCancel(ctx)
	key := d.statsKey(c.Queue, d.reg.now())
	var zrem *redis.IntCmd
	cmds, err := d.reg.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, f := range fields {
			p.HIncrBy(ctx, key, f, 1)
		}
		p.Expire(ctx, key, 8*24*time.Hour)
		zrem = p.ZRem(ctx, d.joinedKey(c.Queue), c.CallID)
		return nil
	})
	if err == nil {
		return
	}
	if zrem.Err() != nil {
		d.m.RedisErrors.WithLabelValues("queue_leave").Inc()
	}
	for _, cmd := range cmds {
		if cmd != zrem && cmd.Err() != nil {
			d.m.RedisErrors.WithLabelValues("queue_stats").Inc()
			break
		}
	}
}

// claim gives an agent to the caller at the head of a queue, if that is us,
// in one atomic step. The agent is the longest idle among the best-skilled
// available agents the caller may have (level 1 only until the queue's
// any-level wait has passed). An agent who also serves other queues goes to
// whichever head caller ranks first (priority, then join time), so a caller
// is never overtaken because they picked another menu branch.
var claim = redis.NewScript(`
local queue, avail, joined, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local me, p, now, ttl, q, maxlvl, iso = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local function hb(qq, id) return p .. 'queue:' .. qq .. ':hb:' .. id end
-- Our own heartbeat first (ARGV[8], ms): every poll proves we are still
-- here, in the same round trip as the claim.
redis.call('SET', hb(q, me), '1', 'PX', ARGV[8])
while true do
  local head = redis.call('ZRANGE', queue, 0, 0)
  if #head == 0 then return {'gone'} end
  if redis.call('EXISTS', hb(q, head[1])) == 1 then break end
  redis.call('ZREM', queue, head[1]) -- its owner is gone
  redis.call('ZREM', joined, head[1])
end
local rank = redis.call('ZRANK', queue, me)
if not rank then return {'gone'} end
-- The k-th caller in line may take the k-th best free agent at once,
-- leaving the better ones to the callers ahead: nobody waits for the
-- callers ahead to poll first.
if rank >= redis.call('ZCARD', avail) then return {'wait'} end
local myscore = tonumber(redis.call('ZSCORE', queue, me))
local qs, anylvl = {}, {}
for i = 0, tonumber(ARGV[9]) - 1 do
  local name = ARGV[10 + 2 * i]
  qs[#qs + 1] = name
  anylvl[name] = tonumber(ARGV[11 + 2 * i])
end
local function level(agent, qq)
  local skills = p .. 'agent:' .. agent .. ':skills'
  local l = redis.call('HGET', skills, qq)
  if l then return tonumber(l) end
  if redis.call('EXISTS', skills) == 0 then return 1 end -- a generalist
  return nil
end
-- The lowest level (max2) a live caller at the head of another queue q2
-- who ranks before us may be served at, or 0 when there is no such caller.
-- Read once per queue: the heads do not change while the script runs.
local heads = {}
local function ahead(q2)
  if heads[q2] == nil then
    heads[q2] = 0
    local h = redis.call('ZRANGE', p .. 'queue:' .. q2, 0, 0, 'WITHSCORES')
    if #h == 2 and tonumber(h[2]) < myscore and redis.call('EXISTS', hb(q2, h[1])) == 1 then
      heads[q2] = 1
      local j = redis.call('ZSCORE', p .. 'queue:' .. q2 .. ':joined', h[1])
      if j and now - tonumber(j) >= anylvl[q2] then heads[q2] = 99 end
    end
  end
  return heads[q2]
end
-- Does a caller who ranks before us wait at the head of another queue this
-- agent may serve them in?
local function owed(a)
  for _, q2 in ipairs(qs) do
    if q2 ~= q then
      local max2 = ahead(q2)
      if max2 > 0 then
        local l2 = level(a, q2)
        if l2 and l2 <= max2 then return true end
      end
    end
  end
  return false
end
-- Candidates are taken best level first, then longest idle: the first not
-- owed to a caller of another queue and not left for a caller ahead of us
-- is ours. Level 1 is the best there is, so a level-1 agent is decided on
-- the spot, in idle order, and the scan stops at the agent we take: with
-- many agents free it reads a few of them, not all. Lower levels are
-- collected and decided after the scan, in the same order a full sort
-- would give.
local skip = rank
local function take(id, l)
  if owed(id) then
    return false -- left for a caller of another queue who ranks before us
  elseif skip > 0 then
    skip = skip - 1 -- left for a caller ahead of us in this queue
    return false
  end
  redis.call('ZREM', avail, id)
  redis.call('ZREM', queue, me)
  redis.call('HSET', p .. 'agent:' .. id, 'state', 'ringing', 'since', now, 'call_id', me, 'reason', '')
  redis.call('SET', p .. 'agent:' .. id .. ':lease', me, 'PX', ttl)
  redis.call('XADD', events, 'MAXLEN', '~', 10000, '*', 'agent', id, 'type', 'state',
    'data', cjson.encode({id = id, state = 'ringing', reason = '', since = iso, call_id = me}))
  return true
end
local lower, found = {}, false
for i, a in ipairs(redis.call('ZRANGE', avail, 0, 499)) do
  local l = level(a, q)
  if l and l <= maxlvl and redis.call('EXISTS', p .. 'agent:' .. a .. ':busy') == 0 then
    found = true
    if l == 1 then
      if take(a, 1) then return {'claimed', a, '1'} end
    else
      lower[#lower + 1] = {a, l, i}
    end
  end
end
if not found then return {'none'} end
table.sort(lower, function(x, y) if x[2] ~= y[2] then return x[2] < y[2] end return x[3] < y[3] end)
for _, c in ipairs(lower) do
  if take(c[1], c[2]) then return {'claimed', c[1], tostring(c[2])} end
end
return {'owed'}
`)

// anyLevel is the claim's "any skill level".
const anyLevel = 99

// tryClaim returns the agent claimed for the caller, or "" when the caller
// must wait on; gone means the caller is no longer in the queue (dropped
// as dead after a lapse of its heartbeat) and must join again, same place.
// maxLevel is the lowest skill level the caller may have.
func (d *Dispatcher) tryClaim(ctx context.Context, c Caller, maxLevel int) (agent string, gone bool, err error) {
	now := d.reg.now()
	args := append([]any{c.CallID, d.reg.p, now.UnixMilli(), leaseTTL.Milliseconds(), c.Queue, maxLevel, isoMillis(now),
		d.heartbeatTTL().Milliseconds()}, d.queueArgs()...)
	res, err := claim.Run(ctx, d.reg.rdb, []string{d.queueKey(c.Queue), d.reg.availKey(), d.joinedKey(c.Queue), d.reg.EventsKey()},
		args...).StringSlice()
	if err != nil {
		return "", false, fmt.Errorf("claim agent: %w", err)
	}
	if len(res) >= 2 && res[0] == "claimed" {
		return res[1], false, nil
	}
	return "", len(res) == 1 && res[0] == "gone", nil
}

// Waiting returns how many callers wait in each queue.
func (d *Dispatcher) Waiting(ctx context.Context, queues ...string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, q := range queues {
		n, err := d.reg.rdb.ZCard(ctx, d.queueKey(q)).Result()
		if err != nil {
			return nil, fmt.Errorf("queue %s length: %w", q, err)
		}
		out[q] = n
	}
	return out, nil
}

// Serve puts the caller on hold in the queue until an agent answers and the
// conversation ends (Connected), the caller hangs up first (Abandoned), takes
// the offer of a callback that keeps their place (KeptPlace) or waits longer
// than the queue allows with a callback as its overflow (Overflowed). A
// queue whose overflow is another queue moves the caller there, keeping
// their place. Redis trouble never drops the caller: they stay on hold and
// we retry.
func (d *Dispatcher) Serve(ctx context.Context, sess *ivr.Session, c Caller) (Outcome, error) {
	if c.Joined.IsZero() {
		c.Joined = d.reg.now()
	}
	log := d.log.With().Str("call_id", c.CallID).Str("queue", c.Queue).Str("phone", logx.MaskPhone(c.Phone)).Logger()
	d.m.QueueOffered.WithLabelValues(c.Queue).Inc()
	d.count(ctx, c.Queue, "offered")
	mohOn := false // music on hold started: it must be stopped before the bridge
	moh := func() {
		if err := sess.Channel().StartMOH(ctx, d.cfg.MOHClass); err != nil {
			log.Warn().Err(err).Msg("music on hold")
			return
		}
		mohOn = true
	}
	intro := len(c.Intro) > 0 && sess.Background(ctx, c.Intro...) == nil
	if !intro {
		moh()
	}
	defer func() { d.leave(ctx, c) }() // c.Queue may change on overflow
	entered := d.reg.now()             // into this queue: its max wait and any-level wait count from here
	qp := d.policyOf(c.Queue)
	nextAnnounce := entered.Add(qp.AnnounceEvery)
	queued := false
	for attempt := 1; ; {
		if intro && !sess.BackgroundPlaying() {
			intro = false
			moh()
		}
		if !queued {
			if err := d.enqueue(ctx, c); err != nil {
				d.m.RedisErrors.WithLabelValues("queue_join").Inc()
				log.Error().Err(err).Msg("join queue; retrying")
			} else {
				queued = true
			}
		}
		agent := ""
		waited := d.reg.now().Sub(entered)
		if queued {
			// The claim renews our heartbeat too.
			maxLevel := 1
			if waited >= qp.AnyLevelAfter {
				maxLevel = anyLevel
			}
			var err error
			var gone bool
			if agent, gone, err = d.tryClaim(ctx, c, maxLevel); err != nil {
				d.m.RedisErrors.WithLabelValues("queue_claim").Inc()
				log.Error().Err(err).Msg("claim agent")
			}
			if gone {
				log.Warn().Msg("dropped from the queue (heartbeat lapsed); joining again in the same place")
				queued = false
			}
		}
		if agent == "" {
			if qp.MaxWait > 0 && waited >= qp.MaxWait {
				if qp.OnMaxWait == policy.KeepPlaceCallback || qp.OnMaxWait == "" {
					d.m.QueueOverflows.WithLabelValues(c.Queue, "callback").Inc()
					d.count(ctx, c.Queue, "overflowed")
					log.Info().Dur("waited", waited).Msg("longest wait reached; a callback will keep the caller's place")
					return Overflowed, nil
				}
				d.m.QueueOverflows.WithLabelValues(c.Queue, qp.OnMaxWait).Inc()
				d.count(ctx, c.Queue, "overflowed")
				log.Info().Dur("waited", waited).Str("to", qp.OnMaxWait).Msg("longest wait reached; moving to the overflow queue, same place")
				d.leave(ctx, c)
				c.Queue, queued, entered = qp.OnMaxWait, false, d.reg.now()
				qp = d.policyOf(c.Queue)
				nextAnnounce = entered.Add(qp.AnnounceEvery)
				log = log.With().Str("queue", c.Queue).Logger()
				continue
			}
			if qp.AnnounceEvery > 0 && !d.reg.now().Before(nextAnnounce) && !intro {
				out, err := d.announce(ctx, sess, c, qp, log)
				nextAnnounce = d.reg.now().Add(qp.AnnounceEvery)
				switch {
				case errors.Is(err, ivr.ErrHangup) || ctx.Err() != nil:
					return d.abandoned(c, log), nil
				case out != "":
					return out, nil
				}
				continue
			}
			if err := sess.Wait(ctx, d.cfg.Poll); err != nil {
				return d.abandoned(c, log), nil
			}
			continue
		}
		queued = false // the claim took us out of the queue
		out, err := d.ring(ctx, sess, c, agent, attempt, mohOn, log)
		attempt++
		switch {
		case err != nil:
			return "", err
		case out != "":
			return out, nil
		}
		// The agent did not answer: back into the queue, same place.
	}
}

// Estimate is a waiting caller's position and expected wait, from the
// queue's state now: callers ahead, agents staffed for the queue (logged in
// and not paused) and the queue's measured handle time.
type Estimate struct {
	Ahead   int64         // callers ahead in the queue
	Staffed int           // agents logged in, not paused, who serve the queue
	Wait    time.Duration // meaningful only when Staffed > 0
}

// Known reports whether there is an estimate at all: with nobody staffed
// there is none.
func (e Estimate) Known() bool { return e.Staffed > 0 }

// EstimateFor computes the estimate for a caller in the queue.
func (d *Dispatcher) EstimateFor(ctx context.Context, c Caller) (Estimate, error) {
	var rank *redis.IntCmd
	var aht *redis.StringCmd
	_, err := d.reg.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		rank = p.ZRank(ctx, d.queueKey(c.Queue), c.CallID)
		aht = p.Get(ctx, d.ahtKey(c.Queue))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Estimate{}, fmt.Errorf("queue %s estimate: %w", c.Queue, err)
	}
	e := Estimate{Ahead: rank.Val()}
	agents, err := d.reg.List(ctx)
	if err != nil {
		return Estimate{}, err
	}
	for _, a := range agents {
		if _, ok := a.Level(c.Queue); ok && a.State != LoggedOut && a.State != Paused {
			e.Staffed++
		}
	}
	handle := d.policyOf(c.Queue).HandleTime
	if ms, err := strconv.ParseInt(aht.Val(), 10, 64); err == nil && ms > 0 {
		handle = time.Duration(ms) * time.Millisecond
	}
	if handle <= 0 {
		handle = 3 * time.Minute
	}
	if e.Staffed > 0 {
		// Each staffed agent frees up once per handle time: the callers
		// ahead and we ourselves are served by Staffed agents in parallel.
		e.Wait = time.Duration(e.Ahead+1) * handle / time.Duration(e.Staffed)
	}
	return e, nil
}

// announce tells a waiting caller their position and expected wait and,
// when the wait is long, offers a callback that keeps their place. It
// returns KeptPlace when the caller took it.
func (d *Dispatcher) announce(ctx context.Context, sess *ivr.Session, c Caller, qp policy.Queue, log zerolog.Logger) (Outcome, error) {
	// The announcement outlasts a poll: keep our heartbeat alive through it.
	_ = d.reg.rdb.Set(ctx, d.hbKey(c.Queue, c.CallID), "1", d.heartbeatTTL()+time.Minute).Err()
	e, err := d.EstimateFor(ctx, c)
	if err != nil {
		d.m.RedisErrors.WithLabelValues("queue_estimate").Inc()
		log.Warn().Err(err).Msg("estimate the wait")
		return "", nil // music on, try again next time
	}
	if e.Known() {
		d.m.QueueEstimatedWait.WithLabelValues(c.Queue).Set(e.Wait.Seconds())
	}
	say := func(ids ...string) []string { return prompts.MediaList(c.Voice, ids...) }
	var speech []string
	if e.Ahead == 0 {
		speech = say("queue_position_next")
	} else {
		speech = say("queue_position_ahead")
		speech = append(speech, say(prompts.Count(c.Voice, e.Ahead)...)...)
		speech = append(speech, say("queue_position_callers")...)
	}
	switch {
	case !e.Known():
		speech = append(speech, say("queue_wait")...)
	case e.Wait < time.Minute:
		speech = append(speech, say("queue_wait_under_minute")...)
	default:
		speech = append(speech, say("queue_wait_about")...)
		speech = append(speech, say(prompts.Count(c.Voice, int64((e.Wait+time.Minute-1)/time.Minute))...)...)
		speech = append(speech, say("queue_wait_minutes")...)
	}
	offer := qp.OfferCallbackOver > 0 && c.Phone != "" && c.Phone != "anonymous" && (!e.Known() || e.Wait > qp.OfferCallbackOver)
	log.Info().Int64("ahead", e.Ahead).Int("staffed", e.Staffed).Dur("estimate", e.Wait).Bool("offer", offer).Msg("announcing position and wait")
	ch := sess.Channel()
	if err := ch.StopMOH(ctx); err != nil {
		log.Warn().Err(err).Msg("stop music on hold")
	}
	defer func() {
		if err := ch.StartMOH(context.WithoutCancel(ctx), d.cfg.MOHClass); err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Msg("music on hold")
		}
	}()
	if !offer {
		return "", sess.Say(ctx, speech...)
	}
	d.m.QueueCallbackOffers.WithLabelValues(c.Queue, "offered").Inc()
	timeout := d.cfg.OfferTimeout
	if timeout <= 0 {
		timeout = 4 * time.Second
	}
	key, err := sess.Collect(ctx, ivr.Collect{Media: append(speech, say("queue_vhold_offer")...), Match: ivr.OneOf("1"), Timeout: timeout})
	if errors.Is(err, ivr.ErrHangup) {
		return "", err
	}
	if err != nil || key != "1" {
		return "", nil
	}
	d.m.QueueCallbackOffers.WithLabelValues(c.Queue, "accepted").Inc()
	d.count(ctx, c.Queue, "kept_place")
	log.Info().Msg("caller took a callback that keeps their place")
	return KeptPlace, nil
}

func (d *Dispatcher) abandoned(c Caller, log zerolog.Logger) Outcome {
	d.m.QueueAbandoned.WithLabelValues(c.Queue).Inc()
	d.count(context.Background(), c.Queue, "abandoned")
	d.m.QueueWaitSeconds.WithLabelValues(c.Queue, "abandoned").Observe(d.reg.now().Sub(c.Joined).Seconds())
	log.Info().Msg("caller abandoned the queue")
	return Abandoned
}

// ring offers the caller to one claimed agent. It returns "" when the agent
// did not take the call (the caller should wait on), or the final outcome.
// mohOn says whether music on hold was started on the caller (not while
// the intro still plays).
func (d *Dispatcher) ring(ctx context.Context, sess *ivr.Session, c Caller, agent string, attempt int, mohOn bool, log zerolog.Logger) (Outcome, error) {
	log = log.With().Str("agent", agent).Logger()
	online, busy, err := d.endpointStatus(ctx, agent)
	if err != nil || !online {
		// Never ring a softphone that is not registered: pause it so the
		// supervisor sees why, and try the next agent.
		log.Warn().Err(err).Msg("agent softphone not registered; pausing agent")
		if err := d.reg.NoAnswer(ctx, agent, c.CallID, ReasonUnregistered); err != nil {
			log.Error().Err(err).Msg("pause unregistered agent")
		}
		return "", nil
	}
	if busy {
		// On a call we did not place: not offered, not paused. The claim
		// skips the agent for a while and the caller keeps their place.
		log.Info().Msg("agent's phone is busy with another call; offering the caller elsewhere")
		if err := d.reg.rdb.Set(ctx, d.reg.busyKey(agent), "1", busyRecheck).Err(); err != nil {
			d.m.RedisErrors.WithLabelValues("queue_claim").Inc()
		}
		if err := d.reg.Release(ctx, agent, c.CallID, false); err != nil {
			log.Error().Err(err).Msg("release busy agent")
		}
		return "", nil
	}
	d.screenPop(ctx, c, agent, log)
	legID := c.CallID + "-agent-" + strconv.Itoa(attempt)
	agentEvents, unsubscribe := d.sw.Subscribe(legID)
	defer unsubscribe()
	leg := d.sw.Channel(legID)
	err = d.sw.Originate(ctx, ivr.OriginateRequest{
		ChannelID: legID, Endpoint: d.cfg.Tech + "/" + agent, CallerID: c.Phone,
		Timeout: d.cfg.RingTimeout, AppArgs: []string{"agent", c.CallID, agent},
	})
	if err != nil {
		log.Error().Err(err).Msg("ring agent")
		_ = d.reg.NoAnswer(ctx, agent, c.CallID, ReasonNoAnswer)
		return "", nil
	}
	log.Info().Msg("ringing agent")
	// Asterisk ends the ring after RingTimeout; our own timer is the backstop.
	ringTimer := time.NewTimer(d.cfg.RingTimeout + 2*time.Second)
	defer ringTimer.Stop()
	renew := time.NewTicker(leaseTTL / 3)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = leg.Hangup(context.WithoutCancel(ctx))
			_ = d.reg.Release(context.WithoutCancel(ctx), agent, c.CallID, false)
			return "", ctx.Err()
		case <-renew.C:
			_ = d.reg.Renew(ctx, agent, c.CallID)
		case ev, ok := <-sess.Events():
			if ok && ev.Kind == ivr.EvPlaybackFinished {
				sess.BackgroundOver(ev.PlaybackID)
			}
			if ok && ev.Kind != ivr.EvHangup {
				continue
			}
			sess.MarkHungUp(ev)
			_ = leg.Hangup(context.WithoutCancel(ctx))
			_ = d.reg.Release(context.WithoutCancel(ctx), agent, c.CallID, false)
			return d.abandoned(c, log), nil
		case ev := <-agentEvents:
			switch ev.Kind {
			case ivr.EvAnswered:
				return d.talk(ctx, sess, c, agent, leg, agentEvents, mohOn, log)
			case ivr.EvHangup:
				d.noAnswer(ctx, agent, c, log)
				return "", nil
			}
		case <-ringTimer.C:
			_ = leg.Hangup(ctx)
			d.noAnswer(ctx, agent, c, log)
			return "", nil
		}
	}
}

// busyRecheck: an agent whose phone was busy with another call is not
// offered callers again for this long (then the phone is asked again).
const busyRecheck = 5 * time.Second

// statusSwitch is a switch that tells registration and busy in one request.
type statusSwitch interface {
	EndpointStatus(ctx context.Context, tech, resource string) (online, busy bool, err error)
}

func (d *Dispatcher) endpointStatus(ctx context.Context, agent string) (online, busy bool, err error) {
	if s, ok := d.sw.(statusSwitch); ok {
		return s.EndpointStatus(ctx, d.cfg.Tech, agent)
	}
	online, err = d.sw.EndpointOnline(ctx, d.cfg.Tech, agent)
	return online, false, err
}

// ScreenPop is what an agent's desk shows when their phone rings.
type ScreenPop struct {
	Agent    string  `json:"agent"`
	CallID   string  `json:"call_id"`
	Phone    string  `json:"phone"`
	Account  string  `json:"account,omitempty"`
	Name     string  `json:"name,omitempty"`
	TicketID string  `json:"ticket_id,omitempty"`
	MenuPath string  `json:"menu_path,omitempty"`
	Queue    string  `json:"queue"`
	Priority string  `json:"priority"`
	WaitedS  float64 `json:"waited_s"`
}

// screenPop tells the agent's desk who is calling before the phone rings.
// It is best effort: the call is offered whether or not a desk listens.
func (d *Dispatcher) screenPop(ctx context.Context, c Caller, agent string, log zerolog.Logger) {
	pop := ScreenPop{Agent: agent, CallID: c.CallID, Phone: c.Phone, Account: c.Account, Name: c.Name,
		TicketID: c.TicketID, MenuPath: c.MenuPath, Queue: c.Queue, Priority: c.Priority.String(),
		WaitedS: d.reg.now().Sub(c.Joined).Round(time.Millisecond).Seconds()}
	if err := d.reg.Publish(ctx, agent, EventScreenPop, pop); err != nil {
		d.m.RedisErrors.WithLabelValues("screen_pop").Inc()
		log.Warn().Err(err).Msg("screen pop")
	}
}

func (d *Dispatcher) noAnswer(ctx context.Context, agent string, c Caller, log zerolog.Logger) {
	d.m.AgentRingNoAnswer.Inc()
	log.Info().Msg("agent did not answer; pausing them and ringing the next")
	if err := d.reg.NoAnswer(ctx, agent, c.CallID, ReasonNoAnswer); err != nil {
		log.Error().Err(err).Msg("pause agent after no answer")
	}
}

// talk bridges caller and agent and holds until either hangs up.
func (d *Dispatcher) talk(ctx context.Context, sess *ivr.Session, c Caller, agent string, leg ivr.Channel, agentEvents <-chan ivr.Event, mohOn bool, log zerolog.Logger) (Outcome, error) {
	bg := context.WithoutCancel(ctx)
	if err := d.reg.Answered(ctx, agent, c.CallID); err != nil {
		log.Error().Err(err).Msg("mark agent on call")
	}
	waited := d.reg.now().Sub(c.Joined)
	d.m.QueueAnswered.WithLabelValues(c.Queue).Inc()
	d.m.QueueWaitSeconds.WithLabelValues(c.Queue, "answered").Observe(waited.Seconds())
	fields := []string{"answered"}
	if waited <= 20*time.Second {
		fields = append(fields, "answered_20s")
	}
	if waited <= 30*time.Second {
		fields = append(fields, "answered_30s")
	}
	d.countAnswered(ctx, c, fields) // and no longer waiting
	talkStart := d.reg.now()
	legGone := false // the agent hung up: no need to hang their leg up
	bridgeID := "br-" + c.CallID
	defer func() {
		talked := d.reg.now().Sub(talkStart)
		d.m.QueueTalkSeconds.WithLabelValues(c.Queue).Observe(talked.Seconds())
		if !legGone {
			_ = leg.Hangup(bg)
		}
		_ = d.sw.DestroyBridge(bg, bridgeID)
		wrap := d.policyOf(c.Queue).WrapUp
		if err := d.reg.ReleaseAfter(bg, agent, c.CallID, true, wrap); err != nil {
			log.Error().Err(err).Msg("release agent")
		}
		if wrap <= 0 {
			wrap = d.reg.wrapUp
		}
		if err := updateAHT.Run(bg, d.reg.rdb, []string{d.ahtKey(c.Queue)}, (talked + wrap).Milliseconds()).Err(); err != nil {
			d.m.RedisErrors.WithLabelValues("queue_aht").Inc()
		}
	}()
	sess.StopBackground(ctx)
	if mohOn { // a caller answered during the intro never heard music
		if err := sess.Channel().StopMOH(ctx); err != nil {
			log.Warn().Err(err).Msg("stop music on hold")
		}
	}
	if err := d.sw.CreateBridge(ctx, bridgeID); err != nil {
		return "", fmt.Errorf("bridge caller and agent: %w", err)
	}
	if err := d.sw.AddToBridge(ctx, bridgeID, sess.ID(), leg.ID()); err != nil {
		return "", fmt.Errorf("bridge caller and agent: %w", err)
	}
	log.Info().Msg("caller connected to agent")
	renew := time.NewTicker(leaseTTL / 3)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return Connected, ctx.Err()
		case <-renew.C:
			_ = d.reg.Renew(ctx, agent, c.CallID)
		case ev, ok := <-sess.Events():
			if !ok || ev.Kind == ivr.EvHangup {
				sess.MarkHungUp(ev)
				return Connected, nil
			}
		case ev := <-agentEvents:
			if ev.Kind == ivr.EvHangup {
				legGone = true
				return Connected, nil // the caller's session hangs up the customer
			}
		}
	}
}
