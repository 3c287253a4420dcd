package transfer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
)

// Errors of a blind transfer, each one answer of the API.
var (
	ErrBadRequest = errors.New("bad transfer request")                  // unknown queue, no call
	ErrNotYours   = errors.New("the call is not this agent's")          // an agent asks for another's call
	ErrNotBridged = errors.New("the call is not connected to an agent") // ringing, waiting, over, unknown
	ErrRefused    = errors.New("the call's owner refused the transfer") // e.g. one is already under way
)

// Agents are the agents' states (agents.Registry).
type Agents interface {
	List(ctx context.Context) ([]agents.Agent, error)
}

// Orders writes the transfer into the work order's audit trail
// (tickets.Store).
type Orders interface {
	Apply(ctx context.Context, id string, c tickets.Change) (tickets.Ticket, error)
}

// Records notes the transfer on the call's record and keeps the work order
// within reach of the agent who passed the call on (cdr.Store).
type Records interface {
	AddTransfer(ctx context.Context, callID, fromAgent, fromQueue, toQueue, by string) error
	AddAttended(ctx context.Context, callID, fromAgent, toAgent, queue, by string) error
	Link(ctx context.Context, callID, agent, ticketID string) error
}

// Asker reaches the call's owner (Hub).
type Asker interface {
	Ask(ctx context.Context, r Request) (Reply, error)
}

// Desk transfers calls on an agent's or a supervisor's request.
type Desk struct {
	hub     Asker
	agents  Agents
	orders  Orders  // nil: no audit entry
	records Records // nil: no note on the call record
	queues  []string
	log     zerolog.Logger
}

// NewDesk returns the transfer service; queues are the queues a caller may
// be transferred to.
func NewDesk(hub Asker, ag Agents, orders Orders, records Records, queues []string, log zerolog.Logger) *Desk {
	return &Desk{hub: hub, agents: ag, orders: orders, records: records, queues: queues, log: log}
}

// Queues are the queues an agent may transfer a caller to: every agent
// queue but the callback queue, which is for customers we called back.
func Queues() []string {
	var out []string
	for _, q := range policy.QueueNames {
		if q != policy.QueueCallback {
			out = append(out, q)
		}
	}
	return out
}

// Queues are the queues a caller may be transferred to.
func (d *Desk) Queues() []string { return slices.Clone(d.queues) }

// Blind transfers the caller of callID to queue: the agent's leg is hung
// up (the agent goes to after-call work), the caller hears that they are
// being transferred and waits in queue with the priority and join time
// they had, so they keep their place; the next agent's screen pop says it
// is a transfer. agent is the agent who asks ("" for a supervisor), by the
// name of whoever asks. The work order's audit trail and the call record
// note it; the agent who passed the call on may still work the order.
func (d *Desk) Blind(ctx context.Context, callID, queue, agent, by string) (Reply, error) {
	if callID == "" {
		return Reply{}, fmt.Errorf("%w: no call id", ErrBadRequest)
	}
	if queue == "" || !slices.Contains(d.queues, queue) {
		return Reply{}, fmt.Errorf("%w: unknown queue %s: the queues are %s", ErrBadRequest, strconv.Quote(queue), strings.Join(d.queues, ", "))
	}
	if _, err := d.mine(ctx, callID, agent); err != nil {
		return Reply{}, err
	}
	rep, err := d.ask(ctx, Request{ID: requestID(), CallID: callID, Queue: queue, Agent: agent, By: by})
	if err != nil {
		return rep, err
	}
	d.note(ctx, rep, by)
	return rep, nil
}

// onCall finds the agent whose call callID is (ringing or talking); a
// colleague consulted on the call is not its agent.
func (d *Desk) onCall(ctx context.Context, callID string) (agents.Agent, error) {
	list, err := d.agents.List(ctx)
	if err != nil {
		return agents.Agent{}, err
	}
	for _, a := range list {
		if a.CallID == callID && (a.State == agents.OnCall || a.State == agents.Ringing) && a.Reason != agents.ReasonConsult {
			return a, nil
		}
	}
	return agents.Agent{}, fmt.Errorf("no agent is on call %s: %w", callID, ErrNotBridged)
}

// requestID names a request and its reply list: random, so two replicas
// never pick the same.
func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// note writes a blind transfer down after the fact (writeDown).
func (d *Desk) note(ctx context.Context, rep Reply, by string) {
	d.writeDown(ctx, rep, by, "transfer", AuditNote(rep), func(ctx context.Context) error {
		return d.records.AddTransfer(ctx, rep.CallID, rep.FromAgent, rep.FromQueue, rep.ToQueue, by)
	})
}

// writeDown records a transfer of either kind: the call record lists it
// (addRecord, the kind's own entry), the agent who passed the caller on
// keeps the work order within reach, and the work order's audit trail gets
// note. The caller has moved whatever the stores say, so a failure is
// logged, not returned; what names the transfer in the log.
func (d *Desk) writeDown(ctx context.Context, rep Reply, by, what, note string, addRecord func(context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	log := d.log.With().Str("call_id", rep.CallID).Str("ticket_id", rep.TicketID).Logger()
	if d.records != nil {
		if err := addRecord(ctx); err != nil {
			log.Error().Err(err).Msg("note the " + what + " on the call record")
		}
		if rep.TicketID != "" && rep.FromAgent != "" {
			if err := d.records.Link(ctx, rep.CallID, rep.FromAgent, rep.TicketID); err != nil {
				log.Error().Err(err).Msg("keep the work order within reach of the agent who transferred")
			}
		}
	}
	if d.orders != nil && rep.TicketID != "" {
		_, err := d.orders.Apply(ctx, rep.TicketID, tickets.Change{Action: tickets.ActionNote, Actor: by, Note: note})
		if err != nil {
			log.Error().Err(err).Msg("note the " + what + " on the work order")
		}
	}
}

// AuditNote is what the work order's audit trail says of a transfer.
func AuditNote(rep Reply) string {
	return fmt.Sprintf("来电转接：坐席 %s 将客户从 %s 队列转至 %s 队列 (call transferred by agent %s from the %s queue to the %s queue)",
		rep.FromAgent, rep.FromQueue, rep.ToQueue, rep.FromAgent, rep.FromQueue, rep.ToQueue)
}
