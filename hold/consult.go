package hold

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/legs"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/transfer"
)

// consultPrompt is what a caller hears before music on hold while their
// agent consults a colleague.
const consultPrompt = "transfer_consult"

// How a consultation (attended transfer) ended, the outcome label of
// hotline_agent_transfers_total.
const (
	consultCompleted    = "completed"        // the colleague took the caller over
	consultReturned     = "returned"         // the agent took the caller back (cancel)
	consultNoAnswer     = "no_answer"        // the colleague's phone was not answered in the ring time
	consultColleagueBye = "colleague_hangup" // the colleague hung up during the consultation
	consultCallerBye    = "caller_hangup"    // the caller hung up while holding
)

// consultation is one attended transfer under way, owned by the call's
// goroutine.
type consultation struct {
	w       *waiter
	o       transfer.Order // the request that started it
	a, b    *party         // the agent on the call, the colleague consulted
	t       Transfer
	bridge  string
	destroy func() // the bridge of agent and colleague
	log     zerolog.Logger
	// prompting: the caller hears the consult prompt; the hold music
	// starts when it ends.
	prompting bool
}

// promptPoll bounds each wait of the consultation while the caller hears
// the prompt, so the music starts soon after the prompt ends.
const promptPoll = 250 * time.Millisecond

// slice is how long the next wait may last: d, or less while the prompt
// plays.
func (k *consultation) slice(d time.Duration) time.Duration {
	if k.prompting && d > promptPoll {
		return promptPoll
	}
	return d
}

// musicAfterPrompt starts the hold music once the prompt is over (its end
// is noted by whichever wait read the caller's events).
func (k *consultation) musicAfterPrompt(ctx context.Context) {
	if k.prompting && !k.w.sess.BackgroundPlaying() {
		k.prompting = false
		k.w.moh(ctx)
	}
}

// unhold ends the caller's prompt or music before a bridge.
func (k *consultation) unhold(ctx context.Context) {
	k.prompting = false
	k.w.sess.StopBackground(ctx)
	k.w.stopMOH(ctx)
}

// consult carries out a request to consult a colleague: the colleague,
// who must be available and reachable as the queue would require, is
// reserved and rung; the caller leaves the bridge for a short prompt and
// music on hold; the agent waits in a bridge of its own, where the
// colleague joins on answering. Then the agent completes (the colleague
// takes the caller, the agent goes to after-call work) or cancels (back to
// the caller). The colleague not answering in the ring time, or hanging
// up, brings the agent back to the caller; the agent hanging up completes
// the transfer (or, while the colleague still rings, completes it on the
// answer and puts the caller back in line, same place, on no answer); the
// caller hanging up ends it all. It returns the caller's session when the
// caller hung up, else nil: the conversation goes on with w.cur, or
// w.moved is set.
func (w *waiter) consult(ctx context.Context, o transfer.Order, orders <-chan transfer.Order) (*ivr.Session, error) {
	h, c, a := w.h, w.c, w.cur
	rep := transfer.Reply{CallID: c.CallID, FromAgent: a.agent, FromQueue: c.Queue, Kind: transfer.KindAttended,
		ToAgent: o.ToAgent, TicketID: c.TicketID}
	refuse := func(why string) (*ivr.Session, error) {
		rep.Error = why
		o.Answer(ctx, rep)
		w.log.Warn().Str("agent", a.agent).Str("consult", o.ToAgent).Str("error", why).Msg("consultation refused; the conversation goes on")
		return nil, nil
	}
	b := o.ToAgent
	if b == "" || b == a.agent {
		return refuse("no other agent to consult")
	}
	// The checks the queue makes before it rings an agent.
	online, busy, err := h.phones.Status(ctx, b)
	switch {
	case err != nil:
		return refuse("agent " + b + "'s phone: " + err.Error())
	case !online:
		return refuse("agent " + b + "'s softphone is not registered")
	case busy:
		return refuse("agent " + b + "'s phone is busy with another call")
	}
	if err := h.reg.Reserve(ctx, b, c.CallID); err != nil {
		return refuse(err.Error())
	}
	k := &consultation{w: w, o: o, a: a, destroy: func() {},
		t:   Transfer{Kind: transfer.KindAttended, FromAgent: a.agent, FromQueue: c.Queue, ToAgent: b, By: o.By},
		log: w.log.With().Str("agent", a.agent).Str("consult", b).Logger()}
	w.screenPop(ctx, b, &k.t)
	stopLease := h.reg.KeepLease(ctx, b, c.CallID)
	w.attempt++
	leg, err := ivr.Dial(ctx, h.sw, ivr.OriginateRequest{
		ChannelID: legs.Agent(c.CallID, w.attempt), Endpoint: h.phones.Endpoint(b), CallerID: c.Phone,
		Timeout: h.cfg.RingTimeout, AppArgs: []string{"agent", c.CallID, b},
	}, k.log)
	if err != nil {
		stopLease()
		_ = h.reg.Release(context.WithoutCancel(ctx), b, c.CallID, false)
		return refuse("ring agent " + b + ": " + err.Error())
	}
	k.b = &party{agent: b, leg: leg, stopLease: stopLease}
	rep.OK, rep.State = true, "ringing"
	o.Answer(ctx, rep)
	k.tell(ctx, "ringing")
	k.log.Info().Msg("attended transfer: the caller holds, the agent consults a colleague")

	// The caller leaves the bridge (the recording of the conversation
	// ends with it), the agent waits for the colleague in a bridge of
	// their own.
	w.unbridge()
	k.bridge = legs.ConsultBridge(c.CallID, w.attempt)
	if k.destroy, err = ivr.Bridge(ctx, h.sw, k.bridge, a.leg.ID()); err != nil {
		k.log.Error().Err(err).Msg("bridge for the consultation")
	}
	// The prompt plays while the colleague's phone rings; the music
	// follows it (musicAfterPrompt).
	k.prompting = w.sess.Background(ctx, prompts.MediaList(c.Voice, consultPrompt)...) == nil
	if !k.prompting {
		w.moh(ctx)
	}
	if gone, done, err := k.ring(ctx, orders); done {
		return gone, err
	}
	return k.talk(ctx, orders)
}

// ring waits for the colleague to answer. done: the consultation is over
// (gone and err are consult's); else the colleague answered.
func (k *consultation) ring(ctx context.Context, orders <-chan transfer.Order) (gone *ivr.Session, done bool, err error) {
	w, h := k.w, k.w.h
	deadline := time.Now().Add(h.cfg.RingTimeout + 2*time.Second) // Asterisk ends the ring first; ours is the backstop
	for {
		var r ivr.Ring
		var rerr error
		watch := []*ivr.Session{w.sess, k.a.leg}
		if k.a.released {
			watch = watch[:1]
		}
		left := time.Until(deadline)
		got := until(ctx, orders, func(ctx context.Context) { r, rerr = k.b.leg.AwaitAnswer(ctx, k.slice(left), watch...) })
		if got == nil && rerr == nil && r.TimedOut && k.slice(left) < left {
			k.musicAfterPrompt(ctx) // a slice of the wait is over, not the ring time
			continue
		}
		if got != nil {
			if got.Kind == transfer.KindCancel && !k.a.released && r.Gone == nil {
				k.answer(ctx, *got, "returned", "")
				k.back(ctx, consultReturned)
				return nil, true, nil
			}
			k.answer(ctx, *got, "", "agent "+k.b.agent+" has not answered yet")
		}
		switch {
		case rerr != nil && ctx.Err() != nil:
			gone, err := k.callerGone(ctx)
			return gone, true, err
		case rerr != nil: // a request ended the wait: wait on
		case r.Gone == w.sess:
			gone, err := k.callerGone(ctx)
			return gone, true, err
		case r.Gone != nil: // the agent hung up: the colleague gets the caller on answering
			k.log.Info().Msg("the agent hung up while the colleague rang: the transfer completes if the colleague answers")
			w.release(ctx, k.a)
		case !r.Answered:
			k.noAnswer(ctx)
			return nil, true, nil
		default:
			if err := h.reg.Consulted(ctx, k.b.agent, w.c.CallID); err != nil {
				k.log.Error().Err(err).Msg("mark the colleague talking")
			}
			k.b.answered = h.reg.Now()
			k.tell(ctx, "talking")
			return nil, false, nil
		}
	}
}

// talk holds while agent and colleague talk, until the agent completes or
// cancels, or someone hangs up.
func (k *consultation) talk(ctx context.Context, orders <-chan transfer.Order) (*ivr.Session, error) {
	w, h := k.w, k.w.h
	if k.a.released { // the agent left while the colleague rang
		return nil, k.complete(ctx, nil)
	}
	if err := h.sw.AddToBridge(ctx, k.bridge, k.b.leg.ID()); err != nil {
		k.log.Error().Err(err).Msg("bridge the colleague to the agent")
	}
	k.log.Info().Msg("the agent talks to the colleague")
	for {
		var first *ivr.Session
		var ferr error
		sliced := k.prompting
		got := until(ctx, orders, func(ctx context.Context) {
			if sliced {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, promptPoll)
				defer cancel()
			}
			first, ferr = ivr.FirstHangupOf(ctx, w.sess, k.a.leg, k.b.leg)
		})
		if sliced && got == nil && first == nil && ctx.Err() == nil {
			k.musicAfterPrompt(ctx)
			continue
		}
		if got != nil {
			switch {
			case first == nil && got.Kind == transfer.KindComplete:
				return nil, k.complete(ctx, got)
			case first == nil && got.Kind == transfer.KindCancel:
				k.answer(ctx, *got, "returned", "")
				k.back(ctx, consultReturned)
				return nil, nil
			case first == nil:
				k.answer(ctx, *got, "", "a consultation of agent "+k.b.agent+" is under way: complete or cancel it first")
			default:
				k.answer(ctx, *got, "", "the consultation has just ended")
			}
		}
		switch {
		case first == w.sess || (first == nil && ctx.Err() != nil):
			gone, err := k.callerGone(ctx)
			if gone == nil && ferr != nil {
				err = ferr
			}
			return gone, err
		case first == k.a.leg:
			k.log.Info().Msg("the agent hung up during the consultation: the colleague takes the caller")
			return nil, k.complete(ctx, nil)
		case first == k.b.leg:
			k.log.Info().Msg("the colleague hung up: the agent is back with the caller")
			k.back(ctx, consultColleagueBye)
			return nil, nil
		}
	}
}

// tell shows the agent's desk how the consultation goes (best effort).
func (k *consultation) tell(ctx context.Context, state string) {
	w := k.w
	ev := agents.Consult{Agent: k.a.agent, CallID: w.c.CallID, ToAgent: k.b.agent, State: state}
	if err := w.h.reg.Publish(context.WithoutCancel(ctx), k.a.agent, agents.EventConsult, ev); err != nil {
		w.h.m.RedisErrors.WithLabelValues("screen_pop").Inc()
		k.log.Warn().Err(err).Msg("tell the desk about the consultation")
	}
}

// answer replies to a request during the consultation: OK with state, or
// refused with why.
func (k *consultation) answer(ctx context.Context, o transfer.Order, state, why string) {
	w := k.w
	rep := transfer.Reply{CallID: w.c.CallID, FromAgent: k.a.agent, FromQueue: w.c.Queue, Kind: transfer.KindAttended,
		ToAgent: k.b.agent, TicketID: w.c.TicketID, State: state, OK: why == "", Error: why}
	if o.Agent != "" && o.Agent != k.a.agent {
		rep.OK, rep.State, rep.Error = false, "", "agent "+o.Agent+" is not the agent on this call"
	}
	o.Answer(ctx, rep)
}

// freeColleague hangs the colleague up and makes it available again,
// keeping its place: it served no caller.
func (k *consultation) freeColleague(ctx context.Context) {
	bg := context.WithoutCancel(ctx)
	k.b.leg.Close(bg)
	k.b.stopLease()
	k.b.released = true
	if err := k.w.h.reg.Release(bg, k.b.agent, k.w.c.CallID, false); err != nil {
		k.log.Error().Err(err).Msg("free the colleague")
	}
}

// back ends the consultation with the agent back with the caller.
func (k *consultation) back(ctx context.Context, outcome string) {
	w := k.w
	k.freeColleague(ctx)
	k.destroy()
	w.h.m.AgentTransfers.WithLabelValues(w.c.Queue, outcome).Inc()
	k.tell(ctx, outcome)
	k.unhold(ctx)
	if err := w.bridgeTo(ctx, k.a); err != nil {
		k.log.Error().Err(err).Msg("bridge the caller back to the agent")
	}
}

// noAnswer: the colleague let it ring out. Like a caller's ring, that
// pauses the colleague (an empty desk). The agent is back with the caller;
// if the agent left meanwhile, the caller waits in line again in the same
// place.
func (k *consultation) noAnswer(ctx context.Context) {
	w, h := k.w, k.w.h
	bg := context.WithoutCancel(ctx)
	k.b.leg.Close(bg)
	k.b.stopLease()
	k.b.released = true
	h.m.AgentRingNoAnswer.Inc()
	if err := h.reg.NoAnswer(bg, k.b.agent, w.c.CallID, agents.ReasonNoAnswer); err != nil {
		k.log.Error().Err(err).Msg("pause the colleague after no answer")
	}
	k.destroy()
	h.m.AgentTransfers.WithLabelValues(w.c.Queue, consultNoAnswer).Inc()
	k.tell(ctx, consultNoAnswer)
	k.unhold(ctx)
	if k.a.released {
		k.log.Info().Msg("the colleague did not answer and the agent has left: the caller waits in line again, same place")
		t := k.t
		t.At, t.ToQueue = h.reg.Now(), w.c.Queue
		w.moved = &t
		return
	}
	k.log.Info().Msg("the colleague did not answer: the agent is back with the caller")
	if err := w.bridgeTo(ctx, k.a); err != nil {
		k.log.Error().Err(err).Msg("bridge the caller back to the agent")
	}
}

// callerGone: the caller hung up while holding. The colleague is freed;
// the agent is released by talk as after any call.
func (k *consultation) callerGone(ctx context.Context) (*ivr.Session, error) {
	w := k.w
	if k.b != nil {
		k.freeColleague(ctx)
	}
	k.destroy()
	w.h.m.AgentTransfers.WithLabelValues(w.c.Queue, consultCallerBye).Inc()
	if k.b != nil {
		k.tell(ctx, consultCallerBye)
	}
	k.log.Info().Msg("the caller hung up during the consultation")
	if w.sess.HungUp() {
		return w.sess, nil
	}
	return nil, ctx.Err()
}

// complete hands the caller to the colleague: the agent is hung up (after-
// call work), the caller is bridged to the colleague, who becomes the
// agent of the call, and the transfer is written down. o is the request
// that asked, nil when the agent hung up.
func (k *consultation) complete(ctx context.Context, o *transfer.Order) error {
	w, h, c := k.w, k.w.h, k.w.c
	k.destroy()
	w.release(ctx, k.a)
	k.unhold(ctx)
	if err := h.reg.TakeOver(ctx, k.b.agent, c.CallID); err != nil {
		k.log.Error().Err(err).Msg("make the colleague the call's agent")
	}
	w.cur = k.b
	k.t.At = h.reg.Now()
	w.transfers = append(w.transfers, k.t)
	h.m.AgentTransfers.WithLabelValues(c.Queue, consultCompleted).Inc()
	k.tell(ctx, consultCompleted)
	by := k.o.By
	if o != nil {
		by = o.By
		k.answer(ctx, *o, "completed", "")
	}
	if h.notes != nil {
		h.notes.Attended(ctx, transfer.Reply{OK: true, CallID: c.CallID, FromAgent: k.a.agent, FromQueue: c.Queue,
			Kind: transfer.KindAttended, ToAgent: k.b.agent, State: "completed", TicketID: c.TicketID}, by)
	}
	k.log.Info().Msg("attended transfer completed: the colleague has the caller")
	return w.bridgeTo(ctx, k.b)
}
