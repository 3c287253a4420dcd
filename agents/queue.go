package agents

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Priority orders callers: a callback goes ahead of every new caller because
// that customer already waited once (their place is kept).
type Priority int

const (
	Normal   Priority = 0
	Callback Priority = 1
)

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
	Joined   time.Time // kept across attempts so a re-queued caller keeps its place
}

// Outcome is how waiting for an agent ended.
type Outcome string

const (
	Connected Outcome = "connected" // talked to an agent; the call is over
	Abandoned Outcome = "abandoned" // hung up before an agent answered
)

// Config is the queue policy.
type Config struct {
	RingTimeout time.Duration
	Poll        time.Duration
	MOHClass    string
	Tech        string // "PJSIP": agents are rung at Tech/ID
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

// statsKey holds a queue's counts for one China day: offered, answered,
// answered_20s, answered_30s, abandoned. Every replica adds to the same
// hash, so the wallboard's service level is the whole hotline's.
func (d *Dispatcher) statsKey(q string, t time.Time) string {
	return d.reg.p + "queue:" + q + ":stats:" + t.In(china).Format("20060102")
}

var china = time.FixedZone("CST", 8*3600)

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

func (d *Dispatcher) enqueue(ctx context.Context, c Caller) error {
	_, err := d.reg.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, d.queueKey(c.Queue), redis.Z{Score: d.score(c), Member: c.CallID})
		p.ZAdd(ctx, d.joinedKey(c.Queue), redis.Z{Score: float64(c.Joined.UnixMilli()), Member: c.CallID})
		p.Set(ctx, d.hbKey(c.Queue, c.CallID), "1", d.heartbeatTTL())
		return nil
	})
	return err
}

func (d *Dispatcher) leave(ctx context.Context, c Caller) {
	ctx = context.WithoutCancel(ctx)
	_, err := d.reg.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, d.queueKey(c.Queue), c.CallID)
		p.ZRem(ctx, d.joinedKey(c.Queue), c.CallID)
		p.Del(ctx, d.hbKey(c.Queue, c.CallID))
		return nil
	})
	if err != nil {
		d.m.RedisErrors.WithLabelValues("queue_leave").Inc()
		d.log.Error().Err(err).Str("call_id", c.CallID).Msg("leave queue")
	}
}

// leaveJoined drops the caller from the waiting-time index once an agent has
// answered; the queue entry itself was removed by the claim.
func (d *Dispatcher) leaveJoined(ctx context.Context, c Caller) {
	if err := d.reg.rdb.ZRem(context.WithoutCancel(ctx), d.joinedKey(c.Queue), c.CallID).Err(); err != nil {
		d.m.RedisErrors.WithLabelValues("queue_leave").Inc()
	}
}

// claim gives the longest-idle available agent to the caller at the head of
// the queue, if that is us, in one atomic step.
var claim = redis.NewScript(`
local queue, avail = KEYS[1], KEYS[2]
local me, hb, prefix, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
while true do
  local head = redis.call('ZRANGE', queue, 0, 0)
  if #head == 0 then return {'empty'} end
  if redis.call('EXISTS', hb .. head[1]) == 1 then
    if head[1] ~= me then return {'wait'} end
    break
  end
  redis.call('ZREM', queue, head[1]) -- its owner is gone
  redis.call('ZREM', KEYS[3], head[1])
end
local a = redis.call('ZRANGE', avail, 0, 0)
if #a == 0 then return {'none'} end
local id = a[1]
redis.call('ZREM', avail, id)
redis.call('ZREM', queue, me)
redis.call('HSET', prefix .. 'agent:' .. id, 'state', 'ringing', 'since', now, 'call_id', me, 'reason', '')
redis.call('SET', prefix .. 'agent:' .. id .. ':lease', me, 'PX', ttl)
return {'claimed', id}
`)

func (d *Dispatcher) tryClaim(ctx context.Context, c Caller) (string, error) {
	res, err := claim.Run(ctx, d.reg.rdb, []string{d.queueKey(c.Queue), d.reg.availKey(), d.joinedKey(c.Queue)},
		c.CallID, d.hbPrefix(c.Queue), d.reg.p, d.reg.now().UnixMilli(), leaseTTL.Milliseconds()).StringSlice()
	if err != nil {
		return "", fmt.Errorf("claim agent: %w", err)
	}
	if len(res) == 2 && res[0] == "claimed" {
		return res[1], nil
	}
	return "", nil
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
// conversation ends (Connected) or the caller hangs up first (Abandoned).
// Redis trouble never drops the caller: they stay on hold and we retry.
func (d *Dispatcher) Serve(ctx context.Context, sess *ivr.Session, c Caller) (Outcome, error) {
	if c.Joined.IsZero() {
		c.Joined = d.reg.now()
	}
	log := d.log.With().Str("call_id", c.CallID).Str("queue", c.Queue).Str("phone", logx.MaskPhone(c.Phone)).Logger()
	d.m.QueueOffered.WithLabelValues(c.Queue).Inc()
	d.count(ctx, c.Queue, "offered")
	if err := sess.Channel().StartMOH(ctx, d.cfg.MOHClass); err != nil {
		log.Warn().Err(err).Msg("music on hold")
	}
	defer d.leave(ctx, c)
	queued := false
	for attempt := 1; ; {
		if !queued {
			if err := d.enqueue(ctx, c); err != nil {
				d.m.RedisErrors.WithLabelValues("queue_join").Inc()
				log.Error().Err(err).Msg("join queue; retrying")
			} else {
				queued = true
			}
		}
		agent := ""
		if queued {
			if err := d.reg.rdb.Set(ctx, d.hbKey(c.Queue, c.CallID), "1", d.heartbeatTTL()).Err(); err != nil {
				d.m.RedisErrors.WithLabelValues("queue_heartbeat").Inc()
			}
			var err error
			if agent, err = d.tryClaim(ctx, c); err != nil {
				d.m.RedisErrors.WithLabelValues("queue_claim").Inc()
				log.Error().Err(err).Msg("claim agent")
			}
		}
		if agent == "" {
			if err := sess.Wait(ctx, d.cfg.Poll); err != nil {
				return d.abandoned(c, log), nil
			}
			continue
		}
		queued = false // the claim took us out of the queue
		out, err := d.ring(ctx, sess, c, agent, attempt, log)
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

func (d *Dispatcher) abandoned(c Caller, log zerolog.Logger) Outcome {
	d.m.QueueAbandoned.WithLabelValues(c.Queue).Inc()
	d.count(context.Background(), c.Queue, "abandoned")
	d.m.QueueWaitSeconds.WithLabelValues(c.Queue, "abandoned").Observe(d.reg.now().Sub(c.Joined).Seconds())
	log.Info().Msg("caller abandoned the queue")
	return Abandoned
}

// ring offers the caller to one claimed agent. It returns "" when the agent
// did not take the call (the caller should wait on), or the final outcome.
func (d *Dispatcher) ring(ctx context.Context, sess *ivr.Session, c Caller, agent string, attempt int, log zerolog.Logger) (Outcome, error) {
	log = log.With().Str("agent", agent).Logger()
	if online, err := d.sw.EndpointOnline(ctx, d.cfg.Tech, agent); err != nil || !online {
		// Never ring a softphone that is not registered: pause it so the
		// supervisor sees why, and try the next agent.
		log.Warn().Err(err).Msg("agent softphone not registered; pausing agent")
		if err := d.reg.NoAnswer(ctx, agent, c.CallID, ReasonUnregistered); err != nil {
			log.Error().Err(err).Msg("pause unregistered agent")
		}
		return "", nil
	}
	legID := c.CallID + "-agent-" + strconv.Itoa(attempt)
	agentEvents, unsubscribe := d.sw.Subscribe(legID)
	defer unsubscribe()
	leg := d.sw.Channel(legID)
	err := d.sw.Originate(ctx, ivr.OriginateRequest{
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
			if ok && ev.Kind != ivr.EvHangup {
				continue
			}
			sess.MarkHungUp()
			_ = leg.Hangup(context.WithoutCancel(ctx))
			_ = d.reg.Release(context.WithoutCancel(ctx), agent, c.CallID, false)
			return d.abandoned(c, log), nil
		case ev := <-agentEvents:
			switch ev.Kind {
			case ivr.EvAnswered:
				return d.talk(ctx, sess, c, agent, leg, agentEvents, log)
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

func (d *Dispatcher) noAnswer(ctx context.Context, agent string, c Caller, log zerolog.Logger) {
	d.m.AgentRingNoAnswer.Inc()
	log.Info().Msg("agent did not answer; pausing them and ringing the next")
	if err := d.reg.NoAnswer(ctx, agent, c.CallID, ReasonNoAnswer); err != nil {
		log.Error().Err(err).Msg("pause agent after no answer")
	}
}

// talk bridges caller and agent and holds until either hangs up.
func (d *Dispatcher) talk(ctx context.Context, sess *ivr.Session, c Caller, agent string, leg ivr.Channel, agentEvents <-chan ivr.Event, log zerolog.Logger) (Outcome, error) {
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
	d.count(ctx, c.Queue, fields...)
	d.leaveJoined(ctx, c) // connected: no longer waiting
	talkStart := d.reg.now()
	bridgeID := "br-" + c.CallID
	defer func() {
		d.m.QueueTalkSeconds.WithLabelValues(c.Queue).Observe(d.reg.now().Sub(talkStart).Seconds())
		_ = leg.Hangup(bg)
		_ = d.sw.DestroyBridge(bg, bridgeID)
		if err := d.reg.Release(bg, agent, c.CallID, true); err != nil {
			log.Error().Err(err).Msg("release agent")
		}
	}()
	if err := sess.Channel().StopMOH(ctx); err != nil {
		log.Warn().Err(err).Msg("stop music on hold")
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
				sess.MarkHungUp()
				return Connected, nil
			}
		case ev := <-agentEvents:
			if ev.Kind == ivr.EvHangup {
				return Connected, nil // the caller's session hangs up the customer
			}
		}
	}
}
