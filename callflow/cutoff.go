package callflow

import (
	"context"
	"errors"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/queue"
)

// LostCall is a call that was cut off without the caller hanging up:
// Asterisk stopped or lost the channel, or the controller that owned the
// call died or restarted.
type LostCall struct {
	CallID string
	Phone  string // "" or "anonymous": nobody to call back
	Ticket string // the call's work order, or the caller's open one
	Voice  string // what the caller heard, for the callback
	By     string // who cut it off, for the record: "Asterisk", "a controller restart"
	// Place is where the caller waited for an agent; nil when they were
	// not in a queue.
	Place *queue.Place
	// InMenu: the caller was in the menu (as far as we know).
	InMenu bool
	// Detail is added to the work order's note (e.g. how it was found).
	Detail string
}

// CutOff is the one rule for a caller who was cut off: they did not give
// up, so they are called back, keeping their place in the queue when they
// were waiting in one (a virtual-hold callback with their join time), else
// with a cut_off callback; and their work order says what happened. Both
// the call's own goroutine (Asterisk hung it up) and the restart recovery
// (its owner is gone) apply it. It returns the callback promised ("" when
// there was nobody to call or Redis failed).
func (f *Flow) CutOff(ctx context.Context, l LostCall) string {
	ctx = context.WithoutCancel(ctx)
	log := f.log.With().Str("call_id", l.CallID).Str("ticket_id", l.Ticket).Str("phone", logx.MaskPhone(l.Phone)).Logger()
	note := "call cut off by " + l.By
	req := callbacks.Request{Phone: l.Phone, Kind: callbacks.KindCutOff, Reason: "call cut off by " + l.By,
		CallID: l.CallID, TicketID: l.Ticket, Voice: l.Voice}
	if p := l.Place; p != nil {
		req.Kind, req.QueuedAt = callbacks.KindVirtualHold, p.Joined
		req.Reason = "cut off by " + l.By + " while waiting in the " + p.Queue + " queue; kept place"
		note += " while waiting in the " + p.Queue + " queue (joined " + p.Joined.In(china.Zone).Format(time.DateTime) + ")"
	} else if l.InMenu {
		note += " in the menu"
	}
	if l.Detail != "" {
		note += "; " + l.Detail
	}
	id, ok := f.schedule(ctx, req, log)
	if ok {
		note += "; " + req.Kind + " callback " + id + " scheduled"
	}
	if l.Ticket != "" {
		if err := f.orders.AddNote(ctx, l.Ticket, "system", note); err != nil {
			log.Error().Err(err).Msg("note the cut-off on the work order")
		}
	}
	log.Warn().Msg(note)
	return id
}

// cutOff reports whether Asterisk ended the call rather than the caller:
// it hung every channel up as it stopped, or the channel vanished while the
// link to it was down.
func cutOff(ctx context.Context, c *call) bool {
	return c.sess.CutOff() || errors.Is(context.Cause(ctx), ivr.ErrCutOff)
}

// cutOffInMenu: a caller Asterisk cut off in the menu is called back, and
// their work order, if one was written, says what happened.
func (f *Flow) cutOffInMenu(ctx context.Context, c *call) string {
	l := f.lost(c, nil)
	l.InMenu = true
	f.CutOff(ctx, l)
	return metrics.EndCutOff
}

// lost describes a call of ours that Asterisk cut off.
func (f *Flow) lost(c *call, place *queue.Place) LostCall {
	ticket := c.ticket
	if ticket == "" {
		ticket = c.open
	}
	return LostCall{CallID: c.id, Phone: c.phone, Ticket: ticket, Voice: c.voice(), By: "Asterisk", Place: place}
}
