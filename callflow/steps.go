package callflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/tickets"
)

// The self-service steps a menu may name (menus.Names.Steps).
const (
	StepIdentifyCaller = "identify_caller"  // find the caller's account by phone number
	StepNotices        = "notices"          // play the timed notices for the caller's area, or for all (barge-in)
	StepOutageNotice   = "outage_notice"    // tell a caller in an outage area about it (barge-in)
	StepOpenTicket     = "open_ticket"      // an open work order? say its status; results: open, none
	StepUrge           = "urge_open_ticket" // urge (催办) the open work order just read out
	StepBalance        = "billing_balance"  // read balance and last bill; results: ok, need_account
	StepLookup         = "billing_lookup"   // look up the number entered; results: found, unknown, too_many
	StepSenior         = "senior_check"     // an elderly caller by profile who pressed no key; results: senior, no
	StepElderly        = "elderly_service"  // slower, louder prompts for the rest of the call (a key on the welcome)
	StepEnglish        = "english_service"  // English prompts for the rest of the call (a key on the welcome)
)

// MenuNames are what a menu may name: the steps this flow implements, the
// agents' queues and the work-order types it can write. The wiring hands
// them to the menu loader.
func MenuNames() menus.Names {
	return menus.Names{
		Steps: []string{StepIdentifyCaller, StepNotices, StepOutageNotice, StepOpenTicket, StepUrge, StepBalance,
			StepLookup, StepSenior, StepElderly, StepEnglish},
		Queues:  policy.QueueNames,
		Tickets: tickets.TypeNames(),
	}
}

// steps is the domain work the menu (menus.Runner) calls on for one call:
// the flow's side of menus.Steps, bound to that call's own state.
type steps struct {
	f *Flow
	c *call
}

var _ menus.Steps = steps{}

// Run runs a named self-service step of the menu.
func (s steps) Run(ctx context.Context, step string, st *menus.State) (string, error) {
	f, c := s.f, s.c
	switch step {
	case StepIdentifyCaller:
		f.identify(ctx, c)
		return "", nil
	case StepNotices:
		return "", f.playNotices(ctx, c, st)
	case StepOutageNotice:
		return "", f.tellOutage(ctx, c)
	case StepSenior:
		if !f.senior(c) {
			return "", nil
		}
		// An elderly caller gets a person at once, unless they pressed a
		// key during the notice: then they chose the menu themselves.
		st.Path = append(st.Path, "senior")
		f.markOpenTicket(ctx, c)
		// Slower and louder, as if they had pressed 4. The slower transfer
		// prompt costs no place: it plays while the caller already waits
		// in the queue, with their join time taken before it.
		f.elderly(ctx, c, st, true)
		return "senior", nil
	case StepElderly:
		f.elderly(ctx, c, st, true)
		return "", nil
	case StepEnglish:
		st.Voice = prompts.VoiceEnglish
		c.log.Info().Msg("caller chose English")
		st.Say("welcome")
		return "", nil
	case StepOpenTicket:
		return f.openTicket(ctx, c, st), nil
	case StepUrge:
		return "", f.urge(ctx, c, st)
	case StepBalance:
		if c.account == nil {
			return "need_account", nil
		}
		f.balance(c, st)
		return "ok", nil
	case StepLookup:
		return f.lookupAccount(ctx, c, st)
	}
	return "", fmt.Errorf("callflow: unknown step %q", step)
}

// CreateTicket writes the work order a menu node asks for.
func (s steps) CreateTicket(ctx context.Context, kind string, st *menus.State) error {
	f, c := s.f, s.c
	t, err := f.newTicket(ctx, c, tickets.Type(kind))
	if err != nil {
		return err
	}
	c.served = true
	st.Ticket = t.ID
	if t.ParentID != "" {
		st.Say("fault_merged")
	}
	return nil
}

// Enqueue serves the caller in queue (the node has played its prompt) and
// remembers how the call ended.
func (s steps) Enqueue(ctx context.Context, name, reason string, st *menus.State) error {
	c := s.c
	c.end = s.f.serve(ctx, c, name, st.Intro)
	if c.end == metrics.EndError {
		return errors.New("callflow: serving the caller failed")
	}
	return nil
}

// Transfer is not offered by this controller: no menu of ours names a
// destination, and a file that does ends the call with an apology rather
// than dropping it silently.
func (s steps) Transfer(ctx context.Context, to, reason string, st *menus.State) error {
	return fmt.Errorf("callflow: transfer to %q is not supported", to)
}

// elderly makes the rest of the call louder and, if slow, switches it to
// the slower prompts.
func (f *Flow) elderly(ctx context.Context, c *call, st *menus.State, slow bool) {
	if slow {
		st.Voice = prompts.VoiceSlow
	}
	if f.cfg.ElderlyVolume > 0 {
		if vs, ok := c.sess.Channel().(ivr.VarSetter); ok {
			if err := vs.SetVar(ctx, "VOLUME(TX)", strconv.Itoa(f.cfg.ElderlyVolume)); err != nil {
				c.log.Warn().Err(err).Msg("raise the volume for an elderly caller")
			}
		}
	}
	c.log.Info().Bool("slow", slow).Msg("elderly service: louder prompts")
}

// openTicket finds the caller's open work order and queues its number,
// status and promised answer time to be heard with the urge offer.
func (f *Flow) openTicket(ctx context.Context, c *call, st *menus.State) string {
	t, ok := f.markOpenTicket(ctx, c)
	if !ok {
		return "none"
	}
	st.Say("open_ticket_intro")
	st.Say(prompts.Digits(t.ID)...)
	if status := "status_" + string(t.Status); prompts.Has(status) {
		st.Say(status)
	}
	if !t.AnswerBy.IsZero() {
		st.Say("open_ticket_deadline")
		st.Say(prompts.WhenIn(st.Voice, t.AnswerBy.In(china.Zone))...)
	}
	return "open"
}

// urge urges (催办) the open work order just read out.
func (f *Flow) urge(ctx context.Context, c *call, st *menus.State) error {
	if c.open == "" {
		return nil
	}
	if err := f.orders.Urge(ctx, c.open); err != nil {
		c.log.Error().Err(err).Str("ticket_id", c.open).Msg("urge ticket")
		return c.sess.Say(ctx, st.Media("error_try_later")...)
	}
	c.log.Info().Str("ticket_id", c.open).Msg("caller urged their ticket")
	return c.sess.Say(ctx, st.Media("urge_recorded")...)
}

// balance queues the balance and last bill of the caller's account.
func (f *Flow) balance(c *call, st *menus.State) {
	a := c.account
	c.served = true
	c.log.Info().Str("account", a.Number).Msg("reading balance")
	st.Say("billing_balance")
	st.Say(prompts.MoneyIn(st.Voice, a.BalanceFen)...)
	st.Say("billing_last_bill")
	st.Say(prompts.MoneyIn(st.Voice, a.LastBillFen)...)
	if !a.LastBillDate.IsZero() {
		st.Say("billing_bill_date")
		st.Say(prompts.DateIn(st.Voice, a.LastBillDate)...)
	}
}

// lookupAccount looks up the account number just entered. Unknown numbers
// are counted: after MaxFailures of them the caller gets a person.
func (f *Flow) lookupAccount(ctx context.Context, c *call, st *menus.State) (string, error) {
	a, err := f.accounts.ByNumber(ctx, st.Input)
	switch {
	case err == nil:
		c.account = &a
		return "found", nil
	case !errors.Is(err, accounts.ErrNotFound):
		f.m.RedisErrors.WithLabelValues("account_lookup").Inc()
		return "", fmt.Errorf("look up account: %w", err)
	}
	c.unknown++
	c.log.Info().Int("unknown", c.unknown).Msg("unknown account entered")
	if c.unknown >= f.cfg.MaxFailures {
		return "too_many", nil
	}
	return "unknown", nil
}

// endReason maps how the menu ended to the call-end reason.
func endReason(c *call, out menus.Outcome) string {
	if c.queued {
		return c.end // the queue decided
	}
	switch out.Kind {
	case menus.OutcomeContained:
		return metrics.EndSelfService
	case menus.OutcomeCallerHangup:
		if c.served {
			// Hung up after the ticket or the balance: served by the IVR.
			return metrics.EndSelfService
		}
		return metrics.EndHangupMenu
	case menus.OutcomeAgent:
		return metrics.EndHangupMenu // gone before the queue took them
	}
	return metrics.EndError
}

// queueCaller is the caller as the agents' queue sees it.
func (f *Flow) queueCaller(c *call, name string) queue.Caller {
	caller := queue.Caller{CallID: c.id, Phone: c.phone, Queue: name, Priority: c.prio, Joined: f.cfg.Now(),
		TicketID: c.ticket, MenuPath: c.menuPath(), Voice: c.voice()}
	if caller.TicketID == "" {
		caller.TicketID = c.open
	}
	if a := c.account; a != nil {
		caller.Account, caller.Name = a.Number, a.Name
	}
	return caller
}
