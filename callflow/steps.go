package callflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/tickets"
)

// steps is the domain work the menu (menus.Runner) calls on: the flow's
// side of menus.Steps. Its State.Data is the call's *call.
type steps struct{ f *Flow }

var _ menus.Steps = steps{}

func callOf(st *menus.State) *call { return st.Data.(*call) }

// Run runs a named self-service step of the menu.
func (s steps) Run(ctx context.Context, step string, st *menus.State) (string, error) {
	f, c := s.f, callOf(st)
	switch step {
	case "identify_caller":
		f.identify(ctx, c)
		return "", nil
	case "notices":
		return "", f.playNotices(ctx, c, st)
	case "outage_notice":
		return "", f.tellOutage(ctx, c)
	case "senior_check":
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
	case "elderly_service":
		f.elderly(ctx, c, st, true)
		return "", nil
	case "english_service":
		st.Voice = prompts.VoiceEnglish
		f.m.IVRSelections.WithLabelValues("english").Inc()
		c.log.Info().Msg("caller chose English")
		st.Say("welcome")
		return "", nil
	case "open_ticket":
		return f.openTicket(ctx, c, st), nil
	case "urge_open_ticket":
		return "", f.urge(ctx, c, st)
	case "billing_balance":
		if c.account == nil {
			return "need_account", nil
		}
		f.balance(c, st)
		return "ok", nil
	case "billing_lookup":
		return f.lookupAccount(ctx, c, st)
	}
	return "", fmt.Errorf("callflow: unknown step %q", step)
}

// CreateTicket writes the work order a menu node asks for.
func (s steps) CreateTicket(ctx context.Context, kind string, st *menus.State) error {
	f, c := s.f, callOf(st)
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
func (s steps) Enqueue(ctx context.Context, queue, reason string, st *menus.State) error {
	c := callOf(st)
	c.end = s.f.serve(ctx, c, queue, st.Intro)
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
	f.m.IVRSelections.WithLabelValues("elderly").Inc()
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

// choiceNames label the main-menu keys in metrics.
var choiceNames = map[string]string{"1": "fault", "2": "billing", "3": "complaint", "0": "agent", "*": "repeat",
	"4": "elderly", "6": "english"}

// onChoice keeps the flow's own metrics of the main menu's keys.
func (f *Flow) onChoice(st *menus.State, node, key string) {
	if node != mainNode {
		return
	}
	if name, ok := choiceNames[key]; ok && key != "4" && key != "6" {
		// 4 and 6 are counted by their steps, which a profile can reach too.
		f.m.IVRSelections.WithLabelValues(name).Inc()
	}
	callOf(st).log.Info().Str("key", key).Msg("menu choice")
}

// onFailure counts a timeout or invalid key at any menu or number entry.
func (f *Flow) onFailure(st *menus.State, node, kind string) {
	f.m.MenuFailures.WithLabelValues(kind).Inc()
}

// mainNode is the main menu's node id in the built-in menu; its keys are
// counted in hotline_ivr_selections_total.
const mainNode = "main"

// endReason maps how the menu ended to the call-end reason.
func endReason(c *call, out menus.Outcome) string {
	if c.end != "" {
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
func (f *Flow) queueCaller(c *call, queue string) agents.Caller {
	caller := agents.Caller{CallID: c.id, Phone: c.phone, Queue: queue, Priority: c.prio, Joined: f.cfg.Now(),
		TicketID: c.ticket, MenuPath: c.menuPath(), Voice: c.voice()}
	if caller.TicketID == "" {
		caller.TicketID = c.open
	}
	if a := c.account; a != nil {
		caller.Account, caller.Name = a.Number, a.Name
	}
	return caller
}
