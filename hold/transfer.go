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

// SetTransfers lets agents and supervisors transfer bridged calls.
func (h *Hold) SetTransfers(t Transfers) { h.transfers = t }

// Transfer is one blind transfer of a call.
type Transfer struct {
	At        time.Time `json:"at"`
	FromAgent string    `json:"from_agent"`
	FromQueue string    `json:"from_queue"`
	ToQueue   string    `json:"to_queue"`
	By        string    `json:"by"` // who asked (a token's name)
}

// transferPrompt is what a transferred caller hears before music on hold.
const transferPrompt = "transfer_queue"

// converse holds while the caller talks to agent and returns the party who
// hung up first, like ivr.FirstHangup. A transfer request for the call
// that is in order ends the conversation too (nil, nil) with w.moved set:
// the caller of ring hangs the agent up and carries the transfer out.
func (w *waiter) converse(ctx context.Context, agent string, leg *ivr.Session) (*ivr.Session, error) {
	if w.h.transfers == nil {
		return ivr.FirstHangup(ctx, w.sess, leg)
	}
	orders, stop := w.h.transfers.Watch(w.c.CallID)
	defer stop()
	for {
		// A helper only forwards the request: the state stays this
		// goroutine's.
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
		first, err := ivr.FirstHangup(tctx, w.sess, leg)
		cancel()
		<-done
		if got == nil {
			return first, err
		}
		o := *got
		rep := transfer.Reply{CallID: w.c.CallID, FromAgent: agent, FromQueue: w.c.Queue, ToQueue: o.Queue, TicketID: w.c.TicketID}
		switch {
		case first != nil || ctx.Err() != nil:
			rep.Error = "the call ended before it could be transferred"
		case o.Agent != "" && o.Agent != agent:
			rep.Error = "agent " + o.Agent + " is not the agent on this call"
		case o.Queue == "":
			rep.Error = "no queue to transfer to"
		default:
			rep.OK = true
		}
		o.Answer(ctx, rep)
		if first != nil || ctx.Err() != nil {
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

// rejoin carries out a transfer once the agent's leg is gone: the caller
// hears that they are being transferred and waits in the new queue with
// the priority and join time they had, so they keep their place. The next
// agent's screen pop says it is a transfer.
func (w *waiter) rejoin(ctx context.Context) {
	h, t := w.h, *w.moved
	w.moved = nil
	w.transfers = append(w.transfers, t)
	h.line.Leave(ctx, w.c) // the claim took us out of the line; this clears our place there
	h.m.QueueTransfers.WithLabelValues(t.FromQueue, t.ToQueue).Inc()
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
