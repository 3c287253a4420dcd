// Package hold is the caller waiting for an agent: on hold with music,
// told their place and wait, offered a callback that keeps their place,
// moved on after the queue's longest wait, and rung through to the agent
// the line (package queue) gives them. Each waiting caller's own goroutine
// runs Serve; the order among callers and the choice of agent are decided
// in Redis, so callers on different replicas share one fair line.
package hold

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/queue"
)

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

// Result is how a caller's wait ended, and with whom.
type Result struct {
	Outcome Outcome
	// Queue is the queue the caller was in last (overflow moves them).
	Queue string
	// Agent who answered, when Connected.
	Agent string
	// Answered is when the agent answered.
	Answered time.Time
	// AgentHungUp: the agent ended the conversation, the caller is still
	// on the line (when Connected).
	AgentHungUp bool
	// Transfers are the transfers of the call, in order; Agent is then
	// the last agent's, Answered that agent's for a blind transfer (the
	// first agent's for an attended one: the caller was served since).
	Transfers []Transfer
}

// Config is how callers are held and agents rung.
type Config struct {
	RingTimeout time.Duration
	Poll        time.Duration
	MOHClass    string
	// OfferTimeout is how long the caller has to press 1 after the offer
	// of a callback.
	OfferTimeout time.Duration
}

// Hold serves waiting callers.
type Hold struct {
	line   *queue.Queue
	reg    *agents.Registry
	sw     ivr.Switch
	phones agents.Phones
	cfg    Config
	m      *metrics.Metrics
	log    zerolog.Logger

	// Recording calls bridged to agents (SetRecordings); nil: none.
	recs     Recordings
	calls    CallRecords
	recorder ivr.Recorder
	// Requests to transfer bridged calls (SetTransfers); nil: none.
	transfers Transfers
	// notes writes completed attended transfers down (SetTransfers).
	notes TransferNotes
}

// New returns the holder of waiting callers.
func New(line *queue.Queue, reg *agents.Registry, sw ivr.Switch, phones agents.Phones, cfg Config, m *metrics.Metrics, log zerolog.Logger) *Hold {
	return &Hold{line: line, reg: reg, sw: sw, phones: phones, cfg: cfg, m: m, log: log}
}

// waiter is one caller's wait, owned by the caller's goroutine.
type waiter struct {
	h        *Hold
	sess     *ivr.Session
	c        queue.Caller
	base     zerolog.Logger // the caller's, without the queue
	log      zerolog.Logger
	mohOn    bool // music on hold started: it must be stopped before the bridge
	intro    bool // the intro still plays in the background
	entered  time.Time
	pol      policy.Queue
	queued   bool
	attempt  int
	recorded int // recordings made of this call (a second one is named apart)
	// waitFrom is when the current wait began: the join time, or the
	// last transfer (the wait counted against the new queue).
	waitFrom  time.Time
	moved     *Transfer  // a transfer agreed during the conversation, to carry out
	transfers []Transfer // the transfers carried out
	cur       *party     // the agent the caller talks to
	unbridge  func()     // ends the recording and the bridge of caller and agent
}

// Serve puts the caller on hold in the queue until an agent answers and the
// conversation ends (Connected), the caller hangs up first (Abandoned), takes
// the offer of a callback that keeps their place (KeptPlace) or waits longer
// than the queue allows with a callback as its overflow (Overflowed). A
// queue whose overflow is another queue moves the caller there, keeping
// their place. Redis trouble never drops the caller: they stay on hold and
// we retry.
func (h *Hold) Serve(ctx context.Context, sess *ivr.Session, c queue.Caller) (Result, error) {
	if c.Joined.IsZero() {
		c.Joined = h.reg.Now()
	}
	w := &waiter{h: h, sess: sess, c: c, attempt: 1, waitFrom: c.Joined, unbridge: func() {},
		base: h.log.With().Str("call_id", c.CallID).Str("phone", logx.MaskPhone(c.Phone)).Logger()}
	w.log = w.base.With().Str("queue", c.Queue).Logger()
	h.m.QueueOffered.WithLabelValues(c.Queue).Inc()
	h.line.Count(ctx, c.Queue, "offered")
	w.intro = len(c.Intro) > 0 && sess.Background(ctx, c.Intro...) == nil
	if !w.intro {
		w.moh(ctx)
	}
	defer func() { h.line.Leave(ctx, w.c) }() // w.c.Queue may change on overflow
	w.enter(c.Queue)
	res, err := w.wait(ctx)
	res.Queue, res.Transfers = w.c.Queue, w.transfers
	return res, err
}

// enter starts the wait in a queue: its longest wait and any-level wait
// count from here.
func (w *waiter) enter(name string) {
	w.c.Queue, w.queued, w.entered = name, false, w.h.reg.Now()
	w.pol = w.h.line.Policy(name)
	w.log = w.base.With().Str("queue", name).Logger()
}

func (w *waiter) moh(ctx context.Context) {
	if err := w.sess.Channel().StartMOH(ctx, w.h.cfg.MOHClass); err != nil {
		w.log.Warn().Err(err).Msg("music on hold")
		return
	}
	w.mohOn = true
}

func (w *waiter) wait(ctx context.Context) (Result, error) {
	h := w.h
	nextAnnounce := w.entered.Add(w.pol.AnnounceEvery)
	for {
		if w.intro && !w.sess.BackgroundPlaying() {
			w.intro = false
			w.moh(ctx)
		}
		if !w.queued {
			if err := h.line.Join(ctx, w.c); err != nil {
				h.m.RedisErrors.WithLabelValues("queue_join").Inc()
				w.log.Error().Err(err).Msg("join queue; retrying")
			} else {
				w.queued = true
			}
		}
		agent := ""
		waited := h.reg.Now().Sub(w.entered)
		if w.queued {
			maxLevel := 1
			if waited >= w.pol.AnyLevelAfter {
				maxLevel = queue.AnyLevel
			}
			var err error
			var gone bool
			if agent, gone, err = h.line.Claim(ctx, w.c, maxLevel); err != nil {
				h.m.RedisErrors.WithLabelValues("queue_claim").Inc()
				w.log.Error().Err(err).Msg("claim agent")
			}
			if gone {
				w.log.Warn().Msg("dropped from the queue (heartbeat lapsed); joining again in the same place")
				w.queued = false
			}
		}
		if agent != "" {
			w.queued = false // the claim took us out of the line
			res, done, err := w.ring(ctx, agent)
			w.attempt++
			if w.moved != nil && err == nil {
				w.rejoin(ctx) // transferred: in line in the new queue, same place
				nextAnnounce = w.entered.Add(w.pol.AnnounceEvery)
				continue
			}
			if done || err != nil {
				return res, err
			}
			continue // the agent did not take the call: back in line, same place
		}
		if w.pol.MaxWait > 0 && waited >= w.pol.MaxWait {
			if w.overflow(ctx, waited) {
				return Result{Outcome: Overflowed}, nil
			}
			nextAnnounce = w.entered.Add(w.pol.AnnounceEvery)
			continue
		}
		if w.pol.AnnounceEvery > 0 && !h.reg.Now().Before(nextAnnounce) && !w.intro {
			out, err := w.announce(ctx)
			nextAnnounce = h.reg.Now().Add(w.pol.AnnounceEvery)
			switch {
			case errors.Is(err, ivr.ErrHangup) || ctx.Err() != nil:
				return w.abandoned(), nil
			case out != "":
				return Result{Outcome: out}, nil
			}
			continue
		}
		if err := w.sess.Wait(ctx, h.cfg.Poll); err != nil {
			return w.abandoned(), nil
		}
	}
}

// overflow moves a caller who waited the queue's longest wait to its
// overflow queue, keeping their place, or reports true when the overflow
// is a callback that keeps their place.
func (w *waiter) overflow(ctx context.Context, waited time.Duration) (callback bool) {
	h, to := w.h, w.pol.OnMaxWait
	if to == policy.KeepPlaceCallback || to == "" {
		h.m.QueueOverflows.WithLabelValues(w.c.Queue, "callback").Inc()
		h.line.Count(ctx, w.c.Queue, "overflowed")
		w.log.Info().Dur("waited", waited).Msg("longest wait reached; a callback will keep the caller's place")
		return true
	}
	h.m.QueueOverflows.WithLabelValues(w.c.Queue, to).Inc()
	h.line.Count(ctx, w.c.Queue, "overflowed")
	w.log.Info().Dur("waited", waited).Str("to", to).Msg("longest wait reached; moving to the overflow queue, same place")
	h.line.Leave(ctx, w.c)
	w.enter(to)
	return false
}

func (w *waiter) abandoned() Result {
	h := w.h
	h.m.QueueAbandoned.WithLabelValues(w.c.Queue).Inc()
	h.line.Count(context.Background(), w.c.Queue, "abandoned")
	h.m.QueueWaitSeconds.WithLabelValues(w.c.Queue, "abandoned").Observe(h.reg.Now().Sub(w.c.Joined).Seconds())
	w.log.Info().Msg("caller abandoned the queue")
	return Result{Outcome: Abandoned}
}
