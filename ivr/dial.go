package ivr

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Placing a leg, waiting for it to answer and bridging it is what the queue
// (ringing an agent for a caller), the callback worker (dialling a customer,
// or an agent first) and supervisor monitoring all do; they do it with
// these helpers, so the order that matters (subscribe before originate, a
// timer that never trusts Asterisk alone, a hang-up of the other party
// ending the wait) is written once.

// Dial places an outbound leg into our application and returns its
// session. It subscribes before it originates, so the leg's answer or
// hang-up can never be missed. Closing the session hangs the leg up.
func Dial(ctx context.Context, sw Switch, req OriginateRequest, log zerolog.Logger) (*Session, error) {
	s := NewSession(sw, req.ChannelID, log)
	if err := sw.Originate(ctx, req); err != nil {
		s.hungup = true // nothing was placed: nothing to hang up
		s.Close(ctx)
		return nil, fmt.Errorf("originate %s: %w", req.Endpoint, err)
	}
	return s, nil
}

// Watch follows the events of a channel someone else owns (e.g. the call a
// supervisor listens to): its session never hangs the channel up.
func Watch(sw Switch, channelID string, log zerolog.Logger) *Session {
	s := NewSession(sw, channelID, log)
	s.passive = true
	return s
}

// Ring is how waiting for an originated leg ended.
type Ring struct {
	Answered bool
	// Cause is the Q.850 cause of a leg that ended unanswered (19, no
	// answer, when our own timer ran out first).
	Cause int
	// TimedOut: our timer ran out before Asterisk ended the ring. The leg
	// may still ring: close its session to hang it up.
	TimedOut bool
	// Gone is the watched session that hung up while the leg rang.
	Gone *Session
}

// causeNoAnswer is Q.850's "no answer from user".
const causeNoAnswer = 19

// AwaitAnswer waits, up to within, for the leg to be answered (it enters
// our application). Asterisk ends the ring by itself after the originate's
// timeout; within is our backstop and should be a little longer. While it
// rings, up to two watched sessions (the caller waiting for this agent, the
// agent waiting for this customer) are kept up to date: keys become their
// type-ahead, background playback ends are noted, and a hang-up of one of
// them ends the wait with Ring.Gone. The error is the context's.
func (s *Session) AwaitAnswer(ctx context.Context, within time.Duration, watch ...*Session) (Ring, error) {
	if len(watch) > 2 {
		panic("ivr: AwaitAnswer watches at most two sessions")
	}
	var w [2]*Session
	var wc [2]<-chan Event // nil: never ready
	for i, o := range watch {
		w[i], wc[i] = o, o.events
	}
	t := time.NewTimer(within)
	defer t.Stop()
	other := func(i int, ev Event, ok bool) bool {
		if !ok || ev.Kind == EvHangup {
			w[i].MarkHungUp(ev)
			return true
		}
		w[i].absorb(ev)
		return false
	}
	for {
		select {
		case <-ctx.Done():
			return Ring{}, ctx.Err()
		case <-t.C:
			return Ring{Cause: causeNoAnswer, TimedOut: true}, nil
		case ev, ok := <-s.events:
			switch {
			case !ok || ev.Kind == EvHangup:
				s.MarkHungUp(ev)
				return Ring{Cause: ev.Cause}, nil
			case ev.Kind == EvAnswered:
				return Ring{Answered: true}, nil
			}
		case ev, ok := <-wc[0]:
			if other(0, ev, ok) {
				return Ring{Gone: w[0]}, nil
			}
		case ev, ok := <-wc[1]:
			if other(1, ev, ok) {
				return Ring{Gone: w[1]}, nil
			}
		}
	}
}

// FirstHangup holds while two parties talk and returns the one who hung up
// first (nil with the context's error when ctx ends first). Keys pressed
// meanwhile are kept as each party's type-ahead.
func FirstHangup(ctx context.Context, a, b *Session) (*Session, error) {
	return FirstHangupOf(ctx, a, b)
}

// Bridge joins channels in a new mixing bridge. The function it returns
// destroys the bridge; call it whatever happens next (it is bounded by a
// context of its own, so it works after the call's context has ended).
func Bridge(ctx context.Context, sw Switch, id string, channels ...string) (destroy func(), err error) {
	if err := createBridge(ctx, sw, id); err != nil {
		return func() {}, err
	}
	destroy = func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = sw.DestroyBridge(dctx, id)
	}
	if err := sw.AddToBridge(ctx, id, channels...); err != nil {
		destroy()
		return func() {}, fmt.Errorf("bridge %v: %w", channels, err)
	}
	return destroy, nil
}

// staleBridgeWait bounds how long createBridge waits for Asterisk to let
// go of a bridge id the call used before; staleBridgeRetry is its pace.
const (
	staleBridgeWait  = 3 * time.Second
	staleBridgeRetry = 100 * time.Millisecond
)

// createBridge creates bridge id. Bridge ids are the call's own (legs), so
// a bridge of this id that Asterisk refuses to make again is this call's
// earlier one. Asterisk once refused the attended transfer's complete with
// 409 "Bridge with id ... already exists" a second after the call had
// deleted that bridge (under load on a CI-like run; most likely the id is
// kept until the conversation's recorder lets go of the bridge). It is
// removed (idempotent) and made again until staleBridgeWait has passed; a
// failure of another kind fails every time and is returned.
func createBridge(ctx context.Context, sw Switch, id string) error {
	err := sw.CreateBridge(ctx, id)
	if err == nil {
		return nil
	}
	first := err
	deadline := time.NewTimer(staleBridgeWait)
	defer deadline.Stop()
	for {
		if derr := sw.DestroyBridge(ctx, id); derr != nil {
			return fmt.Errorf("create bridge %s: %w", id, first)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create bridge %s: %w", id, first)
		case <-deadline.C:
			return fmt.Errorf("create bridge %s: %w (still refused after %s: %w)", id, first, staleBridgeWait, err)
		case <-time.After(staleBridgeRetry):
		}
		if err = sw.CreateBridge(ctx, id); err == nil {
			return nil
		}
	}
}

// FirstHangupOf is FirstHangup for up to three parties (the caller on
// hold, an agent and the colleague it consults): fewer leave the others'
// channels nil, never ready.
func FirstHangupOf(ctx context.Context, ss ...*Session) (*Session, error) {
	if len(ss) > 3 {
		panic("ivr: FirstHangupOf watches at most three sessions")
	}
	var s [3]*Session
	var c [3]<-chan Event // nil: never ready
	for i, o := range ss {
		s[i], c[i] = o, o.events
	}
	for {
		var i int
		var ev Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, ok = <-c[0]:
		case ev, ok = <-c[1]:
			i = 1
		case ev, ok = <-c[2]:
			i = 2
		}
		if !ok || ev.Kind == EvHangup {
			s[i].MarkHungUp(ev)
			return s[i], nil
		}
		s[i].absorb(ev)
	}
}
