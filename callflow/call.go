package callflow

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/queue"
)

// Kinds of call.
const (
	KindInbound  = "inbound"   // a customer dialled 95598
	KindCallback = "callback"  // a customer answered our callback
	KindFollowUp = "follow_up" // a customer answered our follow-up call (回访)
)

// call is one call's state, owned by the call's goroutine from the moment
// the call is ours to its end: who called, their walk through the menu, the
// work orders, their wait for an agent and how the call ended. Nothing else
// holds per-call state; its end (finish) is the one place a call ends.
type call struct {
	sess    *ivr.Session
	id      string
	kind    string
	phone   string
	started time.Time
	log     zerolog.Logger

	// menu is the caller's walk through the menu: keys taken, voice,
	// prompts queued. A callback or follow-up runs no menu; its path says
	// what the call is and its voice is the one the customer chose before.
	menu menus.State

	account *accounts.Account
	ticket  string // last work order created on this call
	open    string // the caller's open work order, if they have one
	prio    queue.Priority
	outage  *outages.Outage
	unknown int  // unknown account numbers entered
	served  bool // a ticket was written or the balance read
	queued  bool // the caller went to the queue, which decided how the call ended

	// end is the call-end reason (a metrics.End* label); the queue or the
	// flow decides it, finish records it.
	end string
	// For the call's record: when it was answered, joined an agent queue
	// and was answered by an agent, who and in which queue, who ended it.
	answered    time.Time
	queueJoin   time.Time
	agentAnswer time.Time
	queueName   string
	agent       string
	agentHungUp bool
	endReason   string
	callbackID  string
	survey      string // the post-call survey's answer, if asked

	f       *Flow
	untrack func() // ends the call's ownership record
	endOnce sync.Once
}

// begin makes a call ours: it records that this replica owns it (so a
// restart or a dead replica's calls are found and followed up), counts it
// active and returns it with its context. finish must follow.
func (f *Flow) begin(ctx context.Context, sess *ivr.Session, kind, phone string, log zerolog.Logger) (*call, context.Context) {
	c := &call{sess: sess, id: sess.ID(), kind: kind, phone: phone, started: f.cfg.Now(), f: f, end: metrics.EndError,
		log: log.With().Str("call_id", sess.ID()).Str("phone", logx.MaskPhone(phone)).Logger(), untrack: func() {}}
	c.menu = menus.State{Sess: sess, CallID: c.id}
	if f.tracker != nil {
		ctx, c.untrack = f.tracker.Start(ctx, c.id, phone)
	}
	f.m.CallsActive.Inc()
	return c, ctx
}

// finish ends the call, once whatever calls it: it hangs up first (a caller
// is never left connected to nobody), then records why the call ended and
// gives up its ownership record and writes the call's record.
func (c *call) finish(ctx context.Context) {
	c.endOnce.Do(func() {
		c.endReason = c.endedBy(ctx)
		c.sess.Close(ctx)
		c.f.m.CallsActive.Dec()
		c.f.m.CallsEnded.WithLabelValues(c.end).Inc()
		c.untrack()
		c.log.Info().Str("reason", c.end).Str("kind", c.kind).Str("menu_path", c.menuPath()).
			Str("ended_by", c.endReason).Dur("duration", c.f.cfg.Now().Sub(c.started)).Msg("call ended")
		c.writeRecord(ctx)
	})
}

// menuPath is the menu keys taken (or what the call is), for tickets and agents.
func (c *call) menuPath() string { return strings.Join(c.menu.Path, ">") }

// voice is the set of prompts the caller hears ("" Mandarin).
func (c *call) voice() string { return c.menu.Voice }

// media maps prompt ids to media in the call's voice (English, slow).
func (c *call) media(ids ...string) []string { return prompts.MediaList(c.voice(), ids...) }

// media maps prompt ids to Asterisk media in the Mandarin voice.
func media(ids ...string) []string { return prompts.MediaList("", ids...) }

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
