package hold

import (
	"context"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/transfer"
)

// Transfers brings the call's goroutine the requests to transfer a call
// while it is bridged to an agent, from whichever replica took them
// (transfer.Hub).
type Transfers interface {
	Watch(callID string) (<-chan transfer.Order, func())
}

// TransferNotes writes a completed attended transfer down: call record,
// work order, the first agent's reach (transfer.Desk). The call's owner
// writes it, since the first agent hanging up completes one too.
type TransferNotes interface {
	Attended(ctx context.Context, rep transfer.Reply, by string)
}

// SetTransfers lets agents and supervisors transfer bridged calls; notes
// (may be nil) writes attended transfers down.
func (h *Hold) SetTransfers(t Transfers, notes TransferNotes) { h.transfers, h.notes = t, notes }

// Transfer is one transfer of a call: blind to another queue, or attended
// to another agent.
type Transfer struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind,omitempty"` // "" blind, or transfer.KindAttended
	FromAgent string    `json:"from_agent"`
	FromQueue string    `json:"from_queue"`
	ToQueue   string    `json:"to_queue,omitempty"`
	ToAgent   string    `json:"to_agent,omitempty"`
	By        string    `json:"by"` // who asked (a token's name)
}

// transferPrompt is what a transferred caller hears before music on hold.
const transferPrompt = "transfer_queue"

// converse holds while the caller talks to the agent (w.cur) and returns
// the party who hung up first, like ivr.FirstHangup. A blind transfer
// request for the call that is in order ends the conversation too (nil,
// nil) with w.moved set: the caller of ring hangs the agent up and carries
// the transfer out. A request to consult a colleague runs the
// consultation (consult), after which the caller talks to the same agent
// or to the colleague.
func (w *waiter) converse(ctx context.Context, orders <-chan transfer.Order) (*ivr.Session, error) {
	if orders == nil {
		return ivr.FirstHangup(ctx, w.sess, w.cur.leg)
	}
	for {
		var first *ivr.Session
		var err error
		got := until(ctx, orders, func(ctx context.Context) { first, err = ivr.FirstHangup(ctx, w.sess, w.cur.leg) })
		if got == nil {
			return first, err
		}
		o, agent := *got, w.cur.agent
		ended := first != nil || ctx.Err() != nil
		rep := transfer.Reply{CallID: w.c.CallID, FromAgent: agent, FromQueue: w.c.Queue, ToQueue: o.Queue, TicketID: w.c.TicketID}
		switch {
		case ended:
			rep.Error = "the call ended before it could be transferred"
		case o.Agent != "" && o.Agent != agent:
			rep.Error = "agent " + o.Agent + " is not the agent on this call"
		case o.Kind == transfer.KindConsult:
			gone, err := w.consult(ctx, o, orders)
			if gone != nil || err != nil || w.moved != nil {
				return gone, err
			}
			continue
		case o.Kind == transfer.KindComplete || o.Kind == transfer.KindCancel:
			rep.Error = "no consultation of another agent is under way"
		case o.Kind != transfer.KindBlind:
			rep.Error = "unknown kind of transfer " + o.Kind
		case o.Queue == "":
			rep.Error = "no queue to transfer to"
		default:
			rep.OK = true
		}
		o.Answer(ctx, rep)
		if ended {
			return first, err
		}
		if rep.OK {
			w.moved = &Transfer{At: w.h.reg.Now(), FromAgent: agent, FromQueue: w.c.Queue, ToQueue: o.Queue, By: o.By}
			w.log.Info().Str("agent", agent).Str("to", o.Queue).Str("by", o.By).Msg("blind transfer: hanging the agent up, the caller rejoins in the same place")
			return nil, nil
		}
		w.log.Warn().Str("agent", agent).Str("error", rep.Error).Msg("transfer request refused; the conversation goes on")
	}
}

// until runs wait with a context that also ends when a request for the
// call arrives, and returns that request (nil: wait ended by itself). A
// helper only forwards the request: the call's state stays its
// goroutine's.
func until(ctx context.Context, orders <-chan transfer.Order, wait func(context.Context)) *transfer.Order {
	tctx, cancel := context.WithCancel(ctx)
	var got *transfer.Order
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case o := <-orders:
			got = &o
			cancel()
		case <-tctx.Done():
		}
	}()
	wait(tctx)
	cancel()
	<-done
	return got
}

// rejoin carries out a transfer once the agent's leg is gone: the caller
// hears that they are being transferred and waits in the new queue with
// the priority and join time they had, so they keep their place. The next
// agent's screen pop says it is a transfer.
func (w *waiter) rejoin(ctx context.Context) {
	h, t := w.h, *w.moved
	w.moved = nil
	w.transfers = append(w.transfers, t)
	h.line.Leave(ctx, w.c) // the claim took us out of the line; this clears our place there
	if t.Kind == "" {      // the caller back in line after a consultation is not a blind transfer
		h.m.QueueTransfers.WithLabelValues(t.FromQueue, t.ToQueue).Inc()
	}
	h.m.QueueOffered.WithLabelValues(t.ToQueue).Inc()
	h.line.Count(ctx, t.ToQueue, "offered")
	w.enter(t.ToQueue)
	w.waitFrom = h.reg.Now()
	w.mohOn = false // stopped for the bridge
	w.intro = w.sess.Background(ctx, prompts.MediaList(w.c.Voice, transferPrompt)...) == nil
	if !w.intro {
		w.moh(ctx)
	}
}
