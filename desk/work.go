// Package desk is the agents' desk: the web page an agent works calls and
// work orders on (served at /desk/), and the rules of what an agent may
// see and touch: the work orders of its own calls and of the caller it is
// serving now, nothing else.
package desk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/tickets"
)

// ErrNoCaller: the agent serves nobody now (not ringing, on a call or in
// the after-call work of one).
var ErrNoCaller = errors.New("desk: the agent is serving no caller")

// Agents is the agents' state.
type Agents interface {
	Get(ctx context.Context, id string) (agents.Agent, error)
}

// Records are the call records and what the fold knows of agents (cdr.Store).
type Records interface {
	LastCall(ctx context.Context, agent string) (cdr.AgentCall, bool, error)
	Agent(ctx context.Context, agent string) (cdr.FoldState, error)
	AgentHasTicket(ctx context.Context, agent, ticketID string) (bool, error)
	Link(ctx context.Context, callID, agent, ticketID string) error
}

// Caller is who an agent serves now.
type Caller struct {
	CallID   string `json:"call_id"`
	Phone    string `json:"phone"`
	TicketID string `json:"ticket_id,omitempty"`
	// Live: the call is ringing or connected; false: the agent is in the
	// after-call work of its last call.
	Live  bool   `json:"live"`
	State string `json:"state"` // the agent's state
}

// Work answers who an agent serves and which work orders are theirs.
type Work struct {
	agents  Agents
	records Records
	rdb     redis.UniversalClient
	prefix  string
}

// NewWork returns the desk's rules over the agents, the call records and
// Redis (where the controller keeps each live call's number, see
// service/calls.go: P call:<id>, fields phone and ticket).
func NewWork(ag Agents, rec Records, rdb redis.UniversalClient, prefix string) *Work {
	return &Work{agents: ag, records: rec, rdb: rdb, prefix: prefix}
}

// Caller returns who the agent serves: the caller of its call while the
// phone rings or the call is connected; the caller of its last call while
// it does that call's after-call work. ErrNoCaller otherwise.
func (w *Work) Caller(ctx context.Context, agent string) (Caller, error) {
	a, err := w.agents.Get(ctx, agent)
	if err != nil {
		return Caller{}, err
	}
	switch a.State {
	case agents.Ringing, agents.OnCall:
		if a.CallID == "" {
			break
		}
		c := Caller{CallID: a.CallID, Live: true, State: string(a.State)}
		h, err := w.rdb.HMGet(ctx, w.prefix+"call:"+a.CallID, "phone", "ticket").Result()
		if err != nil {
			return Caller{}, fmt.Errorf("desk: call %s: %w", a.CallID, err)
		}
		c.Phone, _ = h[0].(string)
		c.TicketID, _ = h[1].(string)
		if c.Phone == "" || c.TicketID == "" {
			// The screen pop names them too (a callback leg, or the
			// call's record is being written).
			st, err := w.records.Agent(ctx, agent)
			if err != nil {
				return Caller{}, err
			}
			if st.Pop.CallID == a.CallID {
				c.Phone = cmp(c.Phone, st.Pop.Phone)
				c.TicketID = cmp(c.TicketID, st.Pop.TicketID)
			}
		}
		return c, nil
	case agents.WrapUp:
		last, ok, err := w.records.LastCall(ctx, agent)
		if err != nil {
			return Caller{}, err
		}
		if ok {
			return Caller{CallID: last.CallID, Phone: last.Phone, TicketID: last.TicketID, State: string(a.State)}, nil
		}
	}
	return Caller{}, fmt.Errorf("agent %s is %s: %w", agent, a.State, ErrNoCaller)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// realPhone: a number that identifies a caller ("anonymous" does not).
func realPhone(p string) bool { return p != "" && p != "anonymous" && accounts.ValidPhone(p) }

// MayTicket reports whether an agent may read and work a work order: one
// of its own calls' (on their records, or created for their callers on the
// desk), or one of the caller it serves now (same number, or the call's
// own order). why says what is missing when it may not.
func (w *Work) MayTicket(ctx context.Context, agent string, t tickets.Ticket) (ok bool, why string, err error) {
	own, err := w.records.AgentHasTicket(ctx, agent, t.ID)
	if err != nil || own {
		return own, "", err
	}
	c, err := w.Caller(ctx, agent)
	if errors.Is(err, ErrNoCaller) {
		return false, fmt.Sprintf("work order %s is not of a call of agent %s, and the agent is serving no caller now", t.ID, agent), nil
	}
	if err != nil {
		return false, "", err
	}
	if t.ID == c.TicketID || (realPhone(c.Phone) && t.Phone == c.Phone) {
		return true, "", nil
	}
	return false, fmt.Sprintf("work order %s is neither of a call of agent %s nor of the caller it serves now", t.ID, agent), nil
}

// MayCreate returns the caller an agent may create a work order for on
// phone: only the caller it serves now. why says why not.
func (w *Work) MayCreate(ctx context.Context, agent, phone string) (c Caller, why string, err error) {
	c, err = w.Caller(ctx, agent)
	if errors.Is(err, ErrNoCaller) {
		return c, fmt.Sprintf("agent %s is serving no caller now: an agent creates work orders for its caller only", agent), nil
	}
	if err != nil {
		return c, "", err
	}
	if !realPhone(c.Phone) {
		return c, "the caller's number is withheld: ask a supervisor to create the work order", nil
	}
	if phone != c.Phone {
		return c, fmt.Sprintf("an agent creates work orders for the caller it serves (%s) only", c.Phone), nil
	}
	return c, "", nil
}

// Created ties a work order an agent created for its caller to the call,
// so the agent may go on working it after the call.
func (w *Work) Created(ctx context.Context, agent string, c Caller, ticketID string) error {
	return w.records.Link(ctx, c.CallID, agent, ticketID)
}

// LastCall is the call an agent's wrap-up code belongs to: its call now,
// or its last one.
func (w *Work) LastCall(ctx context.Context, agent string) (string, error) {
	a, err := w.agents.Get(ctx, agent)
	if err != nil {
		return "", err
	}
	if (a.State == agents.OnCall || a.State == agents.Ringing) && a.CallID != "" {
		return a.CallID, nil
	}
	last, ok, err := w.records.LastCall(ctx, agent)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("agent %s has taken no call yet: %w", agent, ErrNoCaller)
	}
	return last.CallID, nil
}

// Customer is what the desk shows of the caller beyond the screen pop.
type Customer struct {
	Caller
	Account     string `json:"account,omitempty"`
	Name        string `json:"name,omitempty"`
	Address     string `json:"address,omitempty"`
	Area        string `json:"area,omitempty"`
	Transformer string `json:"transformer,omitempty"`
	Class       string `json:"class,omitempty"` // accounts.Class*
	// AgeGroup from the birth year: senior (the senior queue's age or
	// more), older (60 or more), adult, minor; "" when unknown.
	AgeGroup string           `json:"age_group,omitempty"`
	Open     []tickets.Ticket `json:"open_tickets"`   // the number's open work orders
	Recent   []tickets.Ticket `json:"recent_tickets"` // its latest work orders, any status
}

// Lookup finds the customer and work orders of a number.
type Lookup struct {
	Accounts interface {
		ByPhone(ctx context.Context, phone string) (accounts.Account, error)
	}
	Tickets interface {
		List(ctx context.Context, f tickets.Filter) ([]tickets.Ticket, error)
	}
	SeniorAge  int // the senior queue's min_age (policy)
	RecentMany int // how many recent work orders (5 when 0)
	Now        func() time.Time
}

// AgeGroup names the age band of someone aged age (-1: unknown).
func AgeGroup(age, seniorAge int) string {
	switch {
	case age < 0:
		return ""
	case seniorAge > 0 && age >= seniorAge:
		return "senior"
	case age >= 60:
		return "older"
	case age >= 18:
		return "adult"
	}
	return "minor"
}

// Customer returns the profile and work orders of c's number.
func (l Lookup) Customer(ctx context.Context, c Caller) (Customer, error) {
	out := Customer{Caller: c, Open: []tickets.Ticket{}, Recent: []tickets.Ticket{}}
	if !realPhone(c.Phone) {
		return out, nil
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	acct, err := l.Accounts.ByPhone(ctx, c.Phone)
	switch {
	case err == nil:
		out.Account, out.Name, out.Address, out.Area, out.Transformer, out.Class = acct.Number, acct.Name, acct.Address, acct.Area, acct.Transformer, acct.Class
		out.AgeGroup = AgeGroup(acct.Age(now()), l.SeniorAge)
	case !errors.Is(err, accounts.ErrNotFound):
		return out, err
	}
	if out.Open, err = l.Tickets.List(ctx, tickets.Filter{Phone: c.Phone, Open: true, Limit: 20}); err != nil {
		return out, err
	}
	many := l.RecentMany
	if many <= 0 {
		many = 5
	}
	if out.Recent, err = l.Tickets.List(ctx, tickets.Filter{Phone: c.Phone, Limit: many}); err != nil {
		return out, err
	}
	if out.Open == nil {
		out.Open = []tickets.Ticket{}
	}
	if out.Recent == nil {
		out.Recent = []tickets.Ticket{}
	}
	return out, nil
}
