package transfer

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hotline95598/hotline/agents"
)

// The kinds of request the call's owner carries out.
const (
	KindBlind    = ""         // to another queue, at once
	KindConsult  = "consult"  // start an attended transfer: the agent consults a colleague
	KindComplete = "complete" // hand the caller to the consulted colleague
	KindCancel   = "cancel"   // drop the colleague, back to the caller
	// KindAttended names an attended transfer on the call record, the
	// screen pop and the metric.
	KindAttended = "attended"
)

// ErrUnavailable: the colleague to consult is not logged in and ready,
// or its phone is not registered or busy.
var ErrUnavailable = errors.New("the agent to consult is not available")

// Consult starts an attended transfer of callID: the caller holds (music
// on hold), the agent on the call is bridged to toAgent's phone once it
// answers. toAgent must be available, as the queue would offer it a
// caller; it is reserved meanwhile, so the queue does not ring it. agent
// is the agent who asks ("" for a supervisor), by the asker's name.
func (d *Desk) Consult(ctx context.Context, callID, toAgent, agent, by string) (Reply, error) {
	if callID == "" || toAgent == "" {
		return Reply{}, fmt.Errorf("%w: a call and the agent to consult are needed", ErrBadRequest)
	}
	list, err := d.agents.List(ctx)
	if err != nil {
		return Reply{}, err
	}
	var to *agents.Agent
	for i := range list {
		if list[i].ID == toAgent {
			to = &list[i]
		}
	}
	if to == nil {
		return Reply{}, fmt.Errorf("%w: unknown agent %s", ErrBadRequest, strconv.Quote(toAgent))
	}
	on, err := d.mine(ctx, callID, agent)
	if err != nil {
		return Reply{}, err
	}
	switch {
	case on.ID == toAgent:
		return Reply{}, fmt.Errorf("%w: agent %s is the agent on call %s", ErrBadRequest, toAgent, callID)
	case to.State != agents.Available:
		return Reply{}, fmt.Errorf("agent %s is %s: %w", toAgent, to.State, ErrUnavailable)
	}
	return d.ask(ctx, Request{ID: requestID(), CallID: callID, Kind: KindConsult, ToAgent: toAgent, Agent: agent, By: by})
}

// Complete hands the caller of callID to the agent consulted: the agent
// who consulted is hung up and does its after-call work.
func (d *Desk) Complete(ctx context.Context, callID, agent, by string) (Reply, error) {
	return d.end(ctx, callID, KindComplete, agent, by)
}

// Cancel ends the consultation of callID: the colleague is hung up and the
// agent talks to the caller again.
func (d *Desk) Cancel(ctx context.Context, callID, agent, by string) (Reply, error) {
	return d.end(ctx, callID, KindCancel, agent, by)
}

func (d *Desk) end(ctx context.Context, callID, kind, agent, by string) (Reply, error) {
	if callID == "" {
		return Reply{}, fmt.Errorf("%w: no call id", ErrBadRequest)
	}
	if _, err := d.mine(ctx, callID, agent); err != nil {
		return Reply{}, err
	}
	return d.ask(ctx, Request{ID: requestID(), CallID: callID, Kind: kind, Agent: agent, By: by})
}

// mine finds the agent talking on callID, which must be agent (when not a
// supervisor asks).
func (d *Desk) mine(ctx context.Context, callID, agent string) (agents.Agent, error) {
	on, err := d.onCall(ctx, callID)
	if err != nil {
		return agents.Agent{}, err
	}
	switch {
	case agent != "" && on.ID != agent:
		return agents.Agent{}, fmt.Errorf("call %s is agent %s's, not %s's: %w", callID, on.ID, agent, ErrNotYours)
	case on.State != agents.OnCall:
		return agents.Agent{}, fmt.Errorf("call %s is %s at agent %s, not yet talking: %w", callID, on.State, on.ID, ErrNotBridged)
	}
	return on, nil
}

// ask carries a request to the call's owner.
func (d *Desk) ask(ctx context.Context, r Request) (Reply, error) {
	rep, err := d.hub.Ask(ctx, r)
	if errors.Is(err, ErrNoOwner) {
		return Reply{}, fmt.Errorf("%w: %w", ErrNotBridged, err)
	}
	if err != nil {
		return Reply{}, err
	}
	if !rep.OK {
		return rep, fmt.Errorf("call %s: %s: %w", r.CallID, rep.Error, ErrRefused)
	}
	return rep, nil
}

// Attended writes a completed attended transfer down: the call record
// lists it, the agent who passed the caller on keeps the work order
// within reach, and the work order's audit trail gets a note. The call's
// owner calls it, since a consultation also completes when the first
// agent hangs up, with no request. Failures are logged: the caller has
// moved whatever the stores say.
func (d *Desk) Attended(ctx context.Context, rep Reply, by string) {
	d.writeDown(ctx, rep, by, "attended transfer", AttendedNote(rep), func(ctx context.Context) error {
		return d.records.AddAttended(ctx, rep.CallID, rep.FromAgent, rep.ToAgent, rep.FromQueue, by)
	})
}

// AttendedNote is what the audit trail says of an attended transfer.
func AttendedNote(rep Reply) string {
	return fmt.Sprintf("来电咨询转接：坐席 %s 与坐席 %s 沟通后将客户转交坐席 %s (attended transfer: agent %s consulted agent %s and handed the caller over)",
		rep.FromAgent, rep.ToAgent, rep.ToAgent, rep.FromAgent, rep.ToAgent)
}
