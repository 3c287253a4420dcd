// Package queue is the line of callers waiting for an agent, kept in Redis:
// one sorted set per queue ordered by priority then join time, a heartbeat
// per waiting caller, the place each caller holds (so a cut-off caller can
// be called back keeping it), and the per-day counts and handle times the
// wallboard, the estimates and the metrics read. Every replica's callers
// share one line; the claim of an agent is one Lua script (claim.go).
//
// What a waiting caller hears and how their agent is rung is package hold.
package queue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
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

// String labels a priority in logs and screen pops.
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

// Queue is the line in Redis.
type Queue struct {
	rdb  redis.UniversalClient
	p    string
	reg  *agents.Registry
	pol  map[string]policy.Queue
	poll time.Duration
	m    *metrics.Metrics
	sl   policy.ServiceLevel // marks an answered caller's wait counts against
}

// New returns the line. pol is each queue's waiting policy (a queue not
// listed gets the zero policy); poll is how often a waiting caller looks
// for a free agent, which sets how long a heartbeat lasts.
func New(rdb redis.UniversalClient, prefix string, reg *agents.Registry, pol map[string]policy.Queue, poll time.Duration, m *metrics.Metrics) *Queue {
	return &Queue{rdb: rdb, p: prefix, reg: reg, pol: pol, poll: poll, m: m, sl: policy.Default().ServiceLevel()}
}

// SetServiceLevel sets the marks an answered caller's wait is counted
// against (the policy's service_level); call it before the queue is used.
func (q *Queue) SetServiceLevel(sl policy.ServiceLevel) { q.sl = sl }

// Policy is a queue's waiting policy.
func (q *Queue) Policy(name string) policy.Queue { return q.pol[name] }

func (q *Queue) now() time.Time { return q.reg.Now() }

func (q *Queue) lineKey(name string) string     { return q.p + "queue:" + name }
func (q *Queue) hbKey(name, call string) string { return q.p + "queue:" + name + ":hb:" + call }
func (q *Queue) joinedKey(name string) string   { return q.p + "queue:" + name + ":joined" }

// ahtKey holds a queue's average handle time (talk plus after-call work) in
// milliseconds, a moving average every replica updates.
func (q *Queue) ahtKey(name string) string { return q.p + "queue:" + name + ":aht" }

// placeKey remembers where a waiting caller is (queue and join time), so if
// their replica dies the replica that cleans up can call them back keeping
// their place. It outlives the queue entry, which a dead heartbeat removes.
func (q *Queue) placeKey(call string) string { return q.p + "queue:place:" + call }

// placeTTL: long enough for any replica's orphan sweep to find it.
const placeTTL = time.Hour

// HeartbeatTTL is how long a waiting caller's heartbeat lasts: a caller
// whose replica died stops beating and is dropped from the head of the
// line instead of blocking everyone behind it.
func (q *Queue) HeartbeatTTL() time.Duration {
	if t := 10 * q.poll; t > 5*time.Second {
		return t
	}
	return 5 * time.Second
}

func score(c Caller) float64 {
	return float64(c.Joined.UnixMilli() - int64(c.Priority)*priorityStep)
}

// Join puts a caller in line at the place their priority and join time give.
func (q *Queue) Join(ctx context.Context, c Caller) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, q.lineKey(c.Queue), redis.Z{Score: score(c), Member: c.CallID})
		p.ZAdd(ctx, q.joinedKey(c.Queue), redis.Z{Score: float64(c.Joined.UnixMilli()), Member: c.CallID})
		p.Set(ctx, q.hbKey(c.Queue, c.CallID), "1", q.HeartbeatTTL())
		p.HSet(ctx, q.placeKey(c.CallID), "queue", c.Queue, "joined", c.Joined.UnixMilli())
		p.Expire(ctx, q.placeKey(c.CallID), placeTTL)
		return nil
	})
	return err
}

// KeepAlive extends a waiting caller's heartbeat by extra beyond the usual,
// for a stretch (an announcement) that outlasts a poll.
func (q *Queue) KeepAlive(ctx context.Context, c Caller, extra time.Duration) error {
	return q.rdb.Set(ctx, q.hbKey(c.Queue, c.CallID), "1", q.HeartbeatTTL()+extra).Err()
}

// Leave takes a caller out of line: served, gone, or moved to another queue.
func (q *Queue) Leave(ctx context.Context, c Caller) {
	ctx = context.WithoutCancel(ctx)
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, q.lineKey(c.Queue), c.CallID)
		p.ZRem(ctx, q.joinedKey(c.Queue), c.CallID)
		p.Del(ctx, q.hbKey(c.Queue, c.CallID))
		p.Del(ctx, q.placeKey(c.CallID))
		return nil
	})
	if err != nil {
		q.m.RedisErrors.WithLabelValues("queue_leave").Inc()
	}
}

// Drop takes a caller out of a queue for good: their call was cut off and
// a kept-place callback answers for them, so nobody may count them as
// waiting any more (a dead replica's caller would otherwise stay in the
// count until a claim happened to reach them).
func (q *Queue) Drop(ctx context.Context, queue, callID string) {
	q.Leave(ctx, Caller{CallID: callID, Queue: queue})
}

// Place is where a caller waited.
type Place struct {
	Queue  string
	Joined time.Time
}

// PlaceOf returns where a caller was waiting when their call was cut off
// (ok=false when they were not waiting).
func (q *Queue) PlaceOf(ctx context.Context, callID string) (Place, bool, error) {
	h, err := q.rdb.HGetAll(ctx, q.placeKey(callID)).Result()
	if err != nil {
		return Place{}, false, fmt.Errorf("place of %s: %w", callID, err)
	}
	ms, err := strconv.ParseInt(h["joined"], 10, 64)
	if h["queue"] == "" || err != nil {
		return Place{}, false, nil
	}
	return Place{Queue: h["queue"], Joined: time.UnixMilli(ms)}, true, nil
}

// Waiting returns how many callers wait in each queue.
func (q *Queue) Waiting(ctx context.Context, queues ...string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, name := range queues {
		n, err := q.rdb.ZCard(ctx, q.lineKey(name)).Result()
		if err != nil {
			return nil, fmt.Errorf("queue %s length: %w", name, err)
		}
		out[name] = n
	}
	return out, nil
}

// LongestWait is how long the longest-waiting caller of a queue has waited
// (zero when nobody waits).
func (q *Queue) LongestWait(ctx context.Context, name string) (time.Duration, error) {
	oldest, err := q.rdb.ZRangeWithScores(ctx, q.joinedKey(name), 0, 0).Result()
	if err != nil {
		return 0, fmt.Errorf("queue %s longest wait: %w", name, err)
	}
	if len(oldest) == 0 {
		return 0, nil
	}
	return q.now().Sub(time.UnixMilli(int64(oldest[0].Score))), nil
}

// statsKey holds a queue's counts for one China day: offered, answered,
// answered_sl and answered_sl2 (within the policy's service-level marks,
// 20 s and 30 s by default), abandoned, overflowed, kept_place. Every
// replica adds to the same hash, so the wallboard's service level is the
// whole hotline's.
func (q *Queue) statsKey(name string, t time.Time) string {
	return q.p + "queue:" + name + ":stats:" + t.In(china.Zone).Format("20060102")
}

// Stats is one queue's counts for today.
type Stats struct {
	Offered, Answered, AnsweredSL, AnsweredSL2, Abandoned int64
}

// Count adds one to each of the named counts of a queue's day.
func (q *Queue) Count(ctx context.Context, name string, fields ...string) {
	ctx = context.WithoutCancel(ctx)
	key := q.statsKey(name, q.now())
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, f := range fields {
			p.HIncrBy(ctx, key, f, 1)
		}
		p.Expire(ctx, key, 8*24*time.Hour)
		return nil
	})
	if err != nil {
		q.m.RedisErrors.WithLabelValues("queue_stats").Inc()
	}
}

// Today returns a queue's counts since midnight (China time).
func (q *Queue) Today(ctx context.Context, name string) (Stats, error) {
	h, err := q.rdb.HGetAll(ctx, q.statsKey(name, q.now())).Result()
	if err != nil {
		return Stats{}, fmt.Errorf("queue %s stats: %w", name, err)
	}
	n := func(k string) int64 { v, _ := strconv.ParseInt(h[k], 10, 64); return v }
	return Stats{Offered: n("offered"), Answered: n("answered"), AnsweredSL: n("answered_sl"),
		AnsweredSL2: n("answered_sl2"), Abandoned: n("abandoned")}, nil
}

// Answered counts an answered caller who waited so long in the queue's
// stats, with the service-level marks, and drops them from the
// waiting-time index (the claim took them out of the line itself), in one
// round trip.
func (q *Queue) Answered(ctx context.Context, c Caller, waited time.Duration) {
	fields := []string{"answered"}
	if waited <= q.sl.Within {
		fields = append(fields, "answered_sl")
	}
	if waited <= q.sl.AlsoWithin {
		fields = append(fields, "answered_sl2")
	}
	ctx = context.WithoutCancel(ctx)
	key := q.statsKey(c.Queue, q.now())
	var zrem *redis.IntCmd
	cmds, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, f := range fields {
			p.HIncrBy(ctx, key, f, 1)
		}
		p.Expire(ctx, key, 8*24*time.Hour)
		zrem = p.ZRem(ctx, q.joinedKey(c.Queue), c.CallID)
		return nil
	})
	if err == nil {
		return
	}
	if zrem.Err() != nil {
		q.m.RedisErrors.WithLabelValues("queue_leave").Inc()
	}
	for _, cmd := range cmds {
		if cmd != zrem && cmd.Err() != nil {
			q.m.RedisErrors.WithLabelValues("queue_stats").Inc()
			break
		}
	}
}

// updateAHT folds one call's handle time into the queue's moving average
// (weight 1/8 per call: it follows a change within a few dozen calls).
var updateAHT = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]))
local x = tonumber(ARGV[1])
if cur then x = cur + (x - cur) / 8 end
redis.call('SET', KEYS[1], math.floor(x), 'EX', 86400 * 7)
return math.floor(x)
`)

// HandleTime folds one answered call's talk plus after-call work into the
// queue's handle time, which the wait estimates use.
func (q *Queue) HandleTime(ctx context.Context, name string, d time.Duration) {
	if err := updateAHT.Run(context.WithoutCancel(ctx), q.rdb, []string{q.ahtKey(name)}, d.Milliseconds()).Err(); err != nil {
		q.m.RedisErrors.WithLabelValues("queue_aht").Inc()
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
func (q *Queue) EstimateFor(ctx context.Context, c Caller) (Estimate, error) {
	var rank *redis.IntCmd
	var aht *redis.StringCmd
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		rank = p.ZRank(ctx, q.lineKey(c.Queue), c.CallID)
		aht = p.Get(ctx, q.ahtKey(c.Queue))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Estimate{}, fmt.Errorf("queue %s estimate: %w", c.Queue, err)
	}
	e := Estimate{Ahead: rank.Val()}
	list, err := q.reg.List(ctx)
	if err != nil {
		return Estimate{}, err
	}
	for _, a := range list {
		if _, ok := a.Level(c.Queue); ok && a.State != agents.LoggedOut && a.State != agents.Paused {
			e.Staffed++
		}
	}
	handle := q.Policy(c.Queue).HandleTime
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

// queueArgs lists every queue with its any-level wait, for the claim's
// fairness check across the queues an agent serves.
func (q *Queue) queueArgs() []any {
	names := make([]string, 0, len(q.pol))
	for name := range q.pol {
		names = append(names, name)
	}
	sort.Strings(names)
	args := []any{len(names)}
	for _, name := range names {
		args = append(args, name, q.pol[name].AnyLevelAfter.Milliseconds())
	}
	return args
}

// UpdateGauges sets the callers-waiting and longest-wait gauges of the
// named queues from Redis.
func (q *Queue) UpdateGauges(ctx context.Context, names []string) {
	for _, name := range names {
		if w, err := q.Waiting(ctx, name); err == nil {
			q.m.QueueWaiting.WithLabelValues(name).Set(float64(w[name]))
		}
		if d, err := q.LongestWait(ctx, name); err == nil {
			q.m.QueueLongestWait.WithLabelValues(name).Set(d.Seconds())
		}
	}
}
