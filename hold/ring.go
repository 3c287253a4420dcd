package hold

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/legs"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/transfer"
)

// busyRecheck: an agent whose phone was busy with another call is not
// offered callers again for this long (then the phone is asked again).
const busyRecheck = 5 * time.Second

// ring offers the caller to one claimed agent. done is false when the agent
// did not take the call and the caller waits on in the same place.
func (w *waiter) ring(ctx context.Context, agent string) (res Result, done bool, err error) {
	h, c := w.h, w.c
	log := w.log.With().Str("agent", agent).Logger()
	bg := context.WithoutCancel(ctx)
	online, busy, err := h.phones.Status(ctx, agent)
	if err != nil || !online {
		// Never ring a softphone that is not registered: pause it so the
		// supervisor sees why, and try the next agent.
		log.Warn().Err(err).Msg("agent softphone not registered; pausing agent")
		if err := h.reg.NoAnswer(ctx, agent, c.CallID, agents.ReasonUnregistered); err != nil {
			log.Error().Err(err).Msg("pause unregistered agent")
		}
		return Result{}, false, nil
	}
	if busy {
		// On a call we did not place: not offered, not paused. The claim
		// skips the agent for a while and the caller keeps their place.
		log.Info().Msg("agent's phone is busy with another call; offering the caller elsewhere")
		if err := h.reg.MarkBusy(ctx, agent, busyRecheck); err != nil {
			h.m.RedisErrors.WithLabelValues("queue_claim").Inc()
		}
		if err := h.reg.Release(ctx, agent, c.CallID, false); err != nil {
			log.Error().Err(err).Msg("release busy agent")
		}
		return Result{}, false, nil
	}
	w.screenPop(ctx, agent, nil)
	stopLease := h.reg.KeepLease(ctx, agent, c.CallID)
	defer stopLease()
	leg, err := ivr.Dial(ctx, h.sw, ivr.OriginateRequest{
		ChannelID: legs.Agent(c.CallID, w.attempt), Endpoint: h.phones.Endpoint(agent), CallerID: c.Phone,
		Timeout: h.cfg.RingTimeout, AppArgs: []string{"agent", c.CallID, agent},
	}, log)
	if err != nil {
		log.Error().Err(err).Msg("ring agent")
		_ = h.reg.NoAnswer(bg, agent, c.CallID, agents.ReasonNoAnswer)
		return Result{}, false, nil
	}
	defer leg.Close(bg) // hangs the agent up unless they already did
	log.Info().Msg("ringing agent")
	// Asterisk ends the ring after RingTimeout; our own timer is the backstop.
	r, err := leg.AwaitAnswer(ctx, h.cfg.RingTimeout+2*time.Second, w.sess)
	switch {
	case err != nil:
		_ = h.reg.Release(bg, agent, c.CallID, false)
		return Result{}, true, err
	case r.Gone != nil:
		leg.Close(bg)
		_ = h.reg.Release(bg, agent, c.CallID, false)
		return w.abandoned(), true, nil
	case !r.Answered:
		leg.Close(bg)
		h.m.AgentRingNoAnswer.Inc()
		log.Info().Msg("agent did not answer; pausing them and ringing the next")
		if err := h.reg.NoAnswer(bg, agent, c.CallID, agents.ReasonNoAnswer); err != nil {
			log.Error().Err(err).Msg("pause agent after no answer")
		}
		return Result{}, false, nil
	}
	res, err = w.talk(ctx, agent, leg, stopLease)
	return res, w.moved == nil, err
}

// screenPop tells the agent's desk who is calling before the phone rings.
// It is best effort: the call is offered whether or not a desk listens.
// via is the transfer that brings the caller (nil: the call's last, if
// any).
func (w *waiter) screenPop(ctx context.Context, agent string, via *Transfer) {
	c := w.c
	pop := agents.ScreenPop{Agent: agent, CallID: c.CallID, Phone: c.Phone, Account: c.Account, Name: c.Name,
		TicketID: c.TicketID, MenuPath: c.MenuPath, Queue: c.Queue, Priority: c.Priority.String(),
		WaitedS: w.h.reg.Now().Sub(w.waitFrom).Round(time.Millisecond).Seconds()}
	if n := len(w.transfers); n > 0 && via == nil {
		via = &w.transfers[n-1]
	}
	if via != nil {
		pop.Transfer, pop.FromAgent, pop.FromQueue, pop.TransferKind = true, via.FromAgent, via.FromQueue, via.Kind
		if pop.TransferKind == "" {
			pop.TransferKind = "blind"
		}
	}
	if err := w.h.reg.Publish(ctx, agent, agents.EventScreenPop, pop); err != nil {
		w.h.m.RedisErrors.WithLabelValues("screen_pop").Inc()
		w.log.Warn().Err(err).Msg("screen pop")
	}
}

// party is the agent the caller talks to: its leg, the lease that keeps
// it, and when it answered.
type party struct {
	agent     string
	leg       *ivr.Session
	stopLease func()
	answered  time.Time
	released  bool
}

// talk bridges caller and agent and holds until either hangs up. The
// agent may hand the caller to a colleague meanwhile (an attended
// transfer): the result is then the colleague's.
func (w *waiter) talk(ctx context.Context, agent string, leg *ivr.Session, stopLease func()) (Result, error) {
	h, c, sess := w.h, w.c, w.sess
	log := w.log.With().Str("agent", agent).Logger()
	// Requests for the call are heard from before the agent shows on the
	// call, so none asked then is missed.
	var orders <-chan transfer.Order
	if h.transfers != nil {
		var stop func()
		orders, stop = h.transfers.Watch(c.CallID)
		defer stop()
	}
	if err := h.reg.Answered(ctx, agent, c.CallID); err != nil {
		log.Error().Err(err).Msg("mark agent on call")
	}
	answered := h.reg.Now()
	waited := answered.Sub(w.waitFrom)
	h.m.QueueAnswered.WithLabelValues(c.Queue).Inc()
	h.m.QueueWaitSeconds.WithLabelValues(c.Queue, "answered").Observe(waited.Seconds())
	h.line.Answered(ctx, c, waited) // and no longer waiting
	res := Result{Outcome: Connected, Agent: agent, Answered: answered}
	w.cur = &party{agent: agent, leg: leg, stopLease: stopLease, answered: answered}
	defer func() {
		w.unbridge() // the recording stops before the bridge goes
		w.release(ctx, w.cur)
	}()
	sess.StopBackground(ctx)
	w.stopMOH(ctx)
	if err := w.bridgeTo(ctx, w.cur); err != nil {
		return res, err
	}
	log.Info().Msg("caller connected to agent")
	first, err := w.converse(ctx, orders)
	res.Agent = w.cur.agent
	res.AgentHungUp = first != nil && first == w.cur.leg
	return res, err
}

// stopMOH stops the caller's music on hold before a bridge (a caller
// answered during the intro never heard music).
func (w *waiter) stopMOH(ctx context.Context) {
	if !w.mohOn {
		return
	}
	w.mohOn = false
	if err := w.sess.Channel().StopMOH(ctx); err != nil {
		w.log.Warn().Err(err).Msg("stop music on hold")
	}
}

// bridgeTo bridges the caller with an agent and records them.
func (w *waiter) bridgeTo(ctx context.Context, p *party) error {
	destroy, err := ivr.Bridge(ctx, w.h.sw, legs.CallBridge(w.c.CallID), w.sess.ID(), p.leg.ID())
	if err != nil {
		return fmt.Errorf("bridge caller and agent: %w", err)
	}
	stop := w.record(ctx, p.agent)
	w.unbridge = func() { stop(); destroy(); w.unbridge = func() {} }
	return nil
}

// release hangs an agent up and frees it after its conversation with the
// caller: after-call work, the queue's talk and handle times. Once only.
func (w *waiter) release(ctx context.Context, p *party) {
	if p == nil || p.released {
		return
	}
	p.released = true
	h, c := w.h, w.c
	bg := context.WithoutCancel(ctx)
	talked := h.reg.Now().Sub(p.answered)
	h.m.QueueTalkSeconds.WithLabelValues(c.Queue).Observe(talked.Seconds())
	p.leg.Close(bg)
	p.stopLease()
	wrap := h.line.Policy(c.Queue).WrapUp
	if err := h.reg.ReleaseAfter(bg, p.agent, c.CallID, true, wrap); err != nil {
		w.log.Error().Err(err).Str("agent", p.agent).Msg("release agent")
	}
	if wrap <= 0 {
		wrap = h.reg.WrapUp()
	}
	h.line.HandleTime(bg, c.Queue, talked+wrap)
}
