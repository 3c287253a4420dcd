// Package callflow is the 95598 hotline as a caller hears it, from the
// moment a channel enters our application (router.go) to its hang-up. Each
// call is one value owned by its goroutine (call.go). The IVR itself
// (welcome, main menu, fault report, billing, complaint, the ways to a
// human agent) is data: a menus.Menu run by a menus.Runner, for which this
// package does the domain work (steps.go). The callback to a caller who
// gave up waiting, the follow-up call and what happens to a caller the
// switch or a dead controller cut off (cutoff.go) are code here.
package callflow

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/hold"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/tickets"
)

// The flow depends on these small interfaces only; the Redis stores
// satisfy them in production and fakes in unit tests.

// Orders is the back office as a call sees it: work orders with their
// deadlines, a caller's open orders, outages, follow-up verdicts.
type Orders interface {
	Create(ctx context.Context, t tickets.Ticket) (tickets.Ticket, error)
	Get(ctx context.Context, id string) (tickets.Ticket, error)
	OpenByPhone(ctx context.Context, phone string) ([]tickets.Ticket, error)
	RepeatCall(ctx context.Context, id string) error
	Urge(ctx context.Context, id string) error
	FollowUpAnswered(ctx context.Context, id string, satisfied bool) (tickets.Ticket, error)
	OutageFor(ctx context.Context, area, transformer string) (outages.Outage, bool, error)
	AddNote(ctx context.Context, id, actor, note string) error
	// SetFirstResponder records the agent who first answered the caller
	// of an order (seed 001 §7: who took it); later agents leave it.
	SetFirstResponder(ctx context.Context, id, agent, queue string) (tickets.Ticket, error)
	// RecordSurvey records a post-call survey answer on an order; a
	// dissatisfied complaint is supervised in the same write.
	RecordSurvey(ctx context.Context, id string, sv tickets.Survey) (tickets.Ticket, bool, error)
}

// Accounts finds customers.
type Accounts interface {
	ByPhone(ctx context.Context, phone string) (accounts.Account, error)
	ByNumber(ctx context.Context, number string) (accounts.Account, error)
}

// Queue connects a caller to a human agent (package hold).
type Queue interface {
	Serve(ctx context.Context, sess *ivr.Session, c queue.Caller) (hold.Result, error)
}

// Callbacks promises a call back.
type Callbacks interface {
	Schedule(ctx context.Context, r callbacks.Request) (id string, created bool, err error)
	CancelServed(ctx context.Context, phone string, kinds ...string) ([]string, error)
}

// Tracker records which replica owns a call and what it produced, so a
// call cut off by a controller restart or a dead replica can be followed
// up (package recovery).
type Tracker interface {
	// Start records the call as ours; the context it returns ends when
	// the switch lost the call; done gives up the record.
	Start(ctx context.Context, callID, phone string) (context.Context, func())
	Attach(ctx context.Context, callID, ticketID string)
}

// Config is the menu policy.
type Config struct {
	MenuTimeout      time.Duration
	InterDigit       time.Duration
	MaxFailures      int
	AccountMaxDigits int
	// SeniorAge: callers this old or more (by their customer profile) go
	// straight to the senior queue, skipping the menu; 0 turns it off.
	SeniorAge int
	// ElderlyVolume is the gain factor (Asterisk's VOLUME(TX)) applied to
	// what an elderly caller hears for the rest of the call; 0 leaves it.
	ElderlyVolume int
	// Menus holds the IVR menu new calls run. Nil means the built-in menu,
	// tuned with MenuTimeout, InterDigit and MaxFailures.
	Menus *menus.Holder
	// Survey is the post-call survey (policy survey); the zero value asks
	// nobody.
	Survey policy.Survey
	// MenuMetrics counts menu nodes and outcomes; nil counts nothing.
	MenuMetrics *menus.Metrics
	Now         func() time.Time
}

// Flow serves calls. It holds no per-call state: each call's goroutine
// keeps its own in a call value.
type Flow struct {
	cfg       Config
	orders    Orders
	accounts  Accounts
	queue     Queue
	callbacks Callbacks
	tracker   Tracker
	m         *metrics.Metrics
	log       zerolog.Logger
	menus     *menus.Holder
	runner    *menus.Runner
	notices   Notices     // nil: the menu's notices step plays none
	records   CallRecords // nil: no call records
	replica   string
}

// New returns a flow.
func New(cfg Config, o Orders, a Accounts, q Queue, cb Callbacks, tr Tracker, m *metrics.Metrics, log zerolog.Logger) *Flow {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Flow{cfg: cfg, orders: o, accounts: a, queue: q, callbacks: cb, tracker: tr, m: m, log: log, menus: cfg.Menus}
	if f.menus == nil {
		f.menus = menus.NewHolder(BuiltinMenu(cfg), MenuNames(), cfg.MenuMetrics)
	}
	f.runner = &menus.Runner{Metrics: cfg.MenuMetrics, Log: log}
	return f
}

// BuiltinMenu is the compiled-in menu with the timeouts and retries of
// the configuration (HOTLINE_MENU_TIMEOUT, HOTLINE_INTERDIGIT_TIMEOUT,
// HOTLINE_MENU_MAX_FAILURES); a menu file states its own.
func BuiltinMenu(cfg Config) *menus.Menu {
	return menus.Default(MenuNames()).Tuned(cfg.MenuTimeout, cfg.InterDigit, cfg.MaxFailures)
}

// Menus returns the holder of the menu new calls run, for reloads.
func (f *Flow) Menus() *menus.Holder { return f.menus }

// Inbound serves a customer who dialled 95598, from answer to hang-up.
func (f *Flow) Inbound(ctx context.Context, sess *ivr.Session, info ivr.ChannelInfo) {
	c, ctx := f.begin(ctx, sess, KindInbound, info.CallerNum, f.log)
	defer c.finish(ctx)
	f.m.CallsStarted.Inc()
	if err := sess.Answer(ctx); err != nil {
		c.log.Error().Err(err).Msg("answer")
		return
	}
	c.answered = f.cfg.Now()
	// The menu is taken once: a reload meanwhile does not change this call's.
	m := f.menus.Load()
	c.log.Info().Str("menu", m.Version).Msg("call answered")
	out, _ := f.runner.Run(ctx, m, &c.menu, steps{f, c}) // the runner logs its errors
	c.end = endReason(c, out)
	if c.end != metrics.EndSelfService && !c.queued && cutOff(ctx, c) {
		c.end = f.cutOffInMenu(ctx, c)
	}
}

// tellOutage tells a caller in an area with a declared outage about it
// before the menu: most would otherwise report it again. Keys pressed
// meanwhile go straight to the menu.
func (f *Flow) tellOutage(ctx context.Context, c *call) error {
	if c.account == nil {
		return nil
	}
	o, ok, err := f.orders.OutageFor(ctx, c.account.Area, c.account.Transformer)
	if err != nil {
		f.m.RedisErrors.WithLabelValues("outage_lookup").Inc()
		c.log.Error().Err(err).Msg("look up outages")
		return nil
	}
	if !ok {
		return nil
	}
	c.outage = &o
	f.m.OutageNotices.Inc()
	c.log.Info().Str("outage_id", o.ID).Msg("telling caller about the outage")
	// What to say is the outages package's decision: never a restore time
	// that has passed.
	sp := o.Speech(f.cfg.Now())
	speech := c.media(sp.Before...)
	if !sp.Restore.IsZero() {
		speech = append(speech, c.media(prompts.WhenIn(c.voice(), sp.Restore.In(china.Zone))...)...)
	}
	// A key cuts the notice short and counts as the menu choice.
	return c.sess.Announce(ctx, join(speech, c.media(sp.After...))...)
}

// senior reports whether the caller goes to the senior queue: old enough by
// their customer profile and no key pressed yet.
func (f *Flow) senior(c *call) bool {
	if f.cfg.SeniorAge <= 0 || c.account == nil || c.sess.HasTypeahead() {
		return false
	}
	age := c.account.Age(f.cfg.Now().In(china.Zone))
	return age >= f.cfg.SeniorAge
}

// markOpenTicket finds the caller's open work order, counts the repeat call
// and gives the caller the priority of a repeat caller.
func (f *Flow) markOpenTicket(ctx context.Context, c *call) (tickets.Ticket, bool) {
	if c.phone == "" {
		return tickets.Ticket{}, false
	}
	open, err := f.orders.OpenByPhone(ctx, c.phone)
	if err != nil {
		f.m.RedisErrors.WithLabelValues("open_tickets").Inc()
		c.log.Error().Err(err).Msg("look up open tickets")
		return tickets.Ticket{}, false
	}
	if len(open) == 0 {
		return tickets.Ticket{}, false
	}
	t := open[0]
	c.open = t.ID
	if c.prio < queue.Repeat {
		c.prio = queue.Repeat
	}
	if err := f.orders.RepeatCall(ctx, t.ID); err != nil {
		c.log.Warn().Err(err).Str("ticket_id", t.ID).Msg("count repeat call")
	}
	return t, true
}

func (f *Flow) identify(ctx context.Context, c *call) {
	if c.phone == "" {
		return
	}
	a, err := f.accounts.ByPhone(ctx, c.phone)
	switch {
	case err == nil:
		c.account = &a
		c.log = c.log.With().Str("account", a.Number).Logger()
		if a.Class == accounts.ClassImportant {
			c.prio = queue.Important
		}
	case errors.Is(err, accounts.ErrNotFound):
	default:
		// The caller is served anyway, as an unidentified caller.
		f.m.RedisErrors.WithLabelValues("account_lookup").Inc()
		c.log.Error().Err(err).Msg("look up caller's account")
	}
}

// newTicket writes a work order for this call at once, so it survives
// whatever happens to the call next.
func (f *Flow) newTicket(ctx context.Context, c *call, typ tickets.Type) (tickets.Ticket, error) {
	t := tickets.Ticket{Type: typ, Channel: tickets.Channel95598, Phone: c.phone, CallID: c.id, MenuPath: c.menuPath()}
	if a := c.account; a != nil {
		t.Account, t.Name, t.Address, t.Area, t.Transformer = a.Number, a.Name, a.Address, a.Area, a.Transformer
		t.Named = true // identified by their account
	}
	if typ == tickets.TypeFault && c.outage != nil && c.outage.ParentTicket != "" {
		// Reports of a known outage merge under its parent work order.
		t.ParentID = c.outage.ParentTicket
	}
	// The caller may hang up at any moment; the ticket must still be written.
	t, err := f.orders.Create(context.WithoutCancel(ctx), t)
	if err != nil {
		f.m.RedisErrors.WithLabelValues("ticket_create").Inc()
		c.log.Error().Err(err).Str("type", string(typ)).Msg("create ticket")
		return t, err
	}
	c.ticket = t.ID
	c.log = c.log.With().Str("ticket_id", t.ID).Logger()
	c.log.Info().Str("type", string(typ)).Msg("ticket created")
	if f.tracker != nil {
		f.tracker.Attach(ctx, c.id, t.ID)
	}
	return t, nil
}

// serve queues the caller for a human in the queue of the branch they
// chose and returns the call-end reason; a caller who gives up waiting is
// promised a callback, and one who takes the offer of a callback that
// keeps their place (or waits the queue's longest wait) gets one with
// their place kept.
func (f *Flow) serve(ctx context.Context, c *call, queueName string, intro []string) string {
	caller := f.queueCaller(c, queueName)
	caller.Intro = intro // played while the agent is already rung
	c.queued = true
	c.joinedQueue()
	res, err := f.queue.Serve(ctx, c.sess, caller)
	c.waited(res)
	if err != nil {
		c.log.Error().Err(err).Msg("queue")
		return metrics.EndError
	}
	switch res.Outcome {
	case hold.Connected:
		f.served(ctx, c)
		f.firstResponder(ctx, c, caller.TicketID, res)
		f.survey(ctx, c, res)
		return metrics.EndAgent
	case hold.KeptPlace, hold.Overflowed:
		say, reason := "queue_vhold_confirm", metrics.EndKeptPlace
		if res.Outcome == hold.Overflowed {
			say, reason = "queue_overflow_callback", metrics.EndOverflow
		}
		if !f.keepPlace(ctx, c, caller, "kept place in the "+res.Queue+" queue") {
			// Promise nothing we could not record.
			_ = c.sess.Say(ctx, c.media("error_try_later")...)
			return metrics.EndError
		}
		_ = c.sess.Say(ctx, c.media(say)...)
		return reason
	}
	if cutOff(ctx, c) {
		// Asterisk cut a waiting caller off: they did not give up.
		f.CutOff(ctx, f.lost(c, &queue.Place{Queue: res.Queue, Joined: caller.Joined}))
		return metrics.EndCutOff
	}
	f.promiseCallback(ctx, c)
	return metrics.EndAbandoned
}

// firstResponder notes on the caller's work order the agent who answered
// them, once per order (the store keeps the first). The caller may have
// hung up; the note is still written. A failure is logged and counted: the
// conversation took place whatever the record says.
func (f *Flow) firstResponder(ctx context.Context, c *call, ticket string, res hold.Result) {
	if ticket == "" || res.Agent == "" {
		return
	}
	if _, err := f.orders.SetFirstResponder(context.WithoutCancel(ctx), ticket, res.Agent, res.Queue); err != nil {
		f.m.RedisErrors.WithLabelValues("first_responder").Inc()
		c.log.Error().Err(err).Str("agent", res.Agent).Msg("record the first responder")
	}
}

// keepPlace promises a virtual-hold callback: when it is answered the
// customer queues with the join time of this call.
func (f *Flow) keepPlace(ctx context.Context, c *call, caller queue.Caller, reason string) bool {
	_, ok := f.promise(ctx, c, callbacks.Request{Kind: callbacks.KindVirtualHold, Reason: reason,
		TicketID: caller.TicketID, QueuedAt: caller.Joined})
	return ok
}

// promise schedules a callback to the caller of c about this call, in the
// voice they heard, and counts it. It reports false when nothing could be
// promised: no number to call, or Redis failed (counted and logged). The
// caller may hang up at any moment: the promise is still written.
func (f *Flow) promise(ctx context.Context, c *call, r callbacks.Request) (string, bool) {
	if c.phone == "" || c.phone == "anonymous" {
		return "", false
	}
	r.Phone, r.CallID, r.Voice = c.phone, c.id, c.voice()
	return f.schedule(ctx, r, c.log)
}

// schedule writes a callback promise and counts it; the caller may hang up
// at any moment, the promise is still written.
func (f *Flow) schedule(ctx context.Context, r callbacks.Request, log zerolog.Logger) (string, bool) {
	if r.Phone == "" || r.Phone == "anonymous" {
		return "", false
	}
	id, created, err := f.callbacks.Schedule(context.WithoutCancel(ctx), r)
	if err != nil {
		f.m.RedisErrors.WithLabelValues("callback_schedule").Inc()
		log.Error().Err(err).Str("kind", r.Kind).Msg("schedule callback")
		return "", false
	}
	if created {
		f.m.CallbacksSched.Inc()
	} else {
		f.m.CallbacksDeduped.Inc()
	}
	ev := log.Info().Str("callback_id", id).Str("kind", r.Kind).Bool("new", created)
	if !r.QueuedAt.IsZero() {
		ev = ev.Time("queued_at", r.QueuedAt)
	}
	ev.Msg("callback promised")
	return id, true
}

// served cancels callbacks still pending for a caller an agent has just
// served: calling them back now would only disturb them.
func (f *Flow) served(ctx context.Context, c *call) {
	if c.phone == "" {
		return
	}
	ids, err := f.callbacks.CancelServed(context.WithoutCancel(ctx), c.phone,
		callbacks.KindAbandoned, callbacks.KindCutOff, callbacks.KindVirtualHold)
	if err != nil {
		c.log.Warn().Err(err).Msg("cancel callbacks of a served caller")
		return
	}
	if len(ids) > 0 {
		c.log.Info().Strs("callback_ids", ids).Msg("pending callbacks cancelled: the caller was served")
	}
}

func (f *Flow) promiseCallback(ctx context.Context, c *call) {
	f.promise(ctx, c, callbacks.Request{Kind: callbacks.KindAbandoned, Reason: "hung up while waiting for an agent",
		TicketID: c.ticket})
}

// Callback serves a customer who answered our callback: they are told who
// is calling and join the queue ahead of new callers, in the place they had
// when they first called.
func (f *Flow) Callback(ctx context.Context, sess *ivr.Session, cb callbacks.Callback) {
	c, ctx := f.begin(ctx, sess, KindCallback, cb.Phone, f.log.With().Str("callback_id", cb.ID).Logger())
	defer c.finish(ctx)
	c.ticket, c.menu.Path, c.menu.Voice = cb.TicketID, []string{"callback"}, cb.Voice
	c.answered, c.callbackID = c.started, cb.ID // the customer answered our call
	intro := "callback_intro"
	if k := "callback_intro_" + cb.Kind; prompts.Has(k) {
		intro = k
	}
	if err := sess.Say(ctx, c.media(intro, "callback_connecting")...); err != nil {
		c.end = metrics.EndHangupMenu
		return
	}
	// The customer's place: when they first joined the queue (virtual hold),
	// else when we promised to call back.
	joined := cb.CreatedAt
	if !cb.QueuedAt.IsZero() {
		joined = cb.QueuedAt
	}
	f.identify(ctx, c)
	caller := f.queueCaller(c, policy.QueueCallback)
	caller.Joined = joined
	c.queued = true
	c.joinedQueue()
	res, err := f.queue.Serve(ctx, sess, caller)
	c.waited(res)
	switch {
	case err != nil:
		c.log.Error().Err(err).Msg("queue")
	case res.Outcome == hold.Connected:
		c.end = metrics.EndAgent
		f.firstResponder(ctx, c, caller.TicketID, res)
		f.survey(ctx, c, res)
	case res.Outcome == hold.KeptPlace || res.Outcome == hold.Overflowed:
		c.end = metrics.EndKeptPlace
		if !f.keepPlace(ctx, c, caller, "kept place in the callback queue") {
			_ = sess.Say(ctx, c.media("error_try_later")...)
			c.end = metrics.EndError
			return
		}
		_ = sess.Say(ctx, c.media("queue_vhold_confirm")...)
	default:
		// Not promised again: the customer hung up on the callback itself.
		c.end = metrics.EndAbandoned
	}
}

// results are the handling outcomes a follow-up call can speak; a result
// not in the list is read as "dealt with".
var results = map[string]string{
	"power_restored": "result_power_restored",
	"repaired":       "result_repaired",
	"explained":      "result_explained",
	"refunded":       "result_refunded",
}

// FollowUp serves the follow-up call (回访) of a resolved work order: the
// ticket number, the short result, then 1 satisfied or 2 not satisfied.
func (f *Flow) FollowUp(ctx context.Context, sess *ivr.Session, cb callbacks.Callback) {
	c, ctx := f.begin(ctx, sess, KindFollowUp, cb.Phone, f.log.With().Str("callback_id", cb.ID).Str("ticket_id", cb.TicketID).Logger())
	defer c.finish(ctx)
	c.ticket, c.menu.Path = cb.TicketID, []string{"follow_up"}
	c.answered, c.callbackID = c.started, cb.ID // the customer answered our call
	t, err := f.orders.Get(ctx, cb.TicketID)
	if err != nil {
		c.log.Error().Err(err).Msg("follow-up of a ticket we cannot read")
		_ = sess.Say(ctx, media("error_try_later")...)
		return
	}
	result := results[t.Result]
	if result == "" {
		result = "result_other"
	}
	speech := join(media("followup_intro"), media(prompts.Digits(t.ID)...), media("followup_result", result))
	for tries := 0; tries < f.cfg.MaxFailures; tries++ {
		prompt := media("followup_ask")
		if tries == 0 {
			prompt = join(speech, prompt)
		}
		key, err := sess.Collect(ctx, ivr.Collect{Media: prompt, Match: ivr.OneOf("12"), Timeout: f.cfg.MenuTimeout})
		switch {
		case errors.Is(err, ivr.ErrHangup):
			c.end = metrics.EndHangupMenu
			return
		case err != nil:
			if sess.Say(ctx, media("invalid_input")...) != nil {
				c.end = metrics.EndHangupMenu
				return
			}
			continue
		}
		satisfied := key == "1"
		if _, err := f.orders.FollowUpAnswered(context.WithoutCancel(ctx), t.ID, satisfied); err != nil {
			c.log.Error().Err(err).Bool("satisfied", satisfied).Msg("record follow-up verdict")
			_ = sess.Say(ctx, media("error_try_later")...)
			return
		}
		c.log.Info().Bool("satisfied", satisfied).Msg("follow-up verdict recorded")
		c.end = metrics.EndSelfService
		if satisfied {
			_ = sess.Say(ctx, media("followup_thanks")...)
		} else {
			_ = sess.Say(ctx, media("followup_sorry")...)
		}
		return
	}
	c.end = metrics.EndSelfService
	_ = sess.Say(ctx, media("goodbye")...)
}
