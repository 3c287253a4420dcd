package transfer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/tickets"
)

type fakeAgents []agents.Agent

func (f fakeAgents) List(context.Context) ([]agents.Agent, error) { return f, nil }

type fakeAsker struct {
	asked []Request
	reply Reply
	err   error
}

func (f *fakeAsker) Ask(_ context.Context, r Request) (Reply, error) {
	f.asked = append(f.asked, r)
	return f.reply, f.err
}

type fakeOrders struct{ changes map[string][]tickets.Change }

func (f *fakeOrders) Apply(_ context.Context, id string, c tickets.Change) (tickets.Ticket, error) {
	f.changes[id] = append(f.changes[id], c)
	return tickets.Ticket{ID: id}, nil
}

type fakeRecords struct{ transfers, links []string }

func (f *fakeRecords) AddAttended(_ context.Context, callID, fromAgent, toAgent, queue, by string) error {
	f.transfers = append(f.transfers, strings.Join([]string{callID, fromAgent, "attended", toAgent, queue, by}, " "))
	return nil
}

func (f *fakeRecords) AddTransfer(_ context.Context, callID, fromAgent, fromQueue, toQueue, by string) error {
	f.transfers = append(f.transfers, strings.Join([]string{callID, fromAgent, fromQueue, toQueue, by}, " "))
	return nil
}

func (f *fakeRecords) Link(_ context.Context, callID, agent, ticketID string) error {
	f.links = append(f.links, callID+" "+agent+" "+ticketID)
	return nil
}

// Who may transfer which call, and what a transfer leaves behind: the
// request reaches the call's owner only when the queue is known, the call
// is connected to an agent and (for an agent) it is the agent's own; a
// transfer done is noted on the work order's audit trail and the call
// record, and the agent who passed the caller on keeps the work order.
func TestBlind(t *testing.T) {
	on := fakeAgents{
		{ID: "1001", State: agents.OnCall, CallID: "c1"},
		{ID: "1002", State: agents.Ringing, CallID: "c2"},
		{ID: "1003", State: agents.Available},
	}
	ok := Reply{OK: true, CallID: "c1", FromAgent: "1001", FromQueue: "general", ToQueue: "billing", TicketID: "T1"}
	for _, tc := range []struct {
		name                 string
		call, queue, agent   string
		reply                Reply
		askErr               error
		err                  error
		asked, noted, audits int
	}{
		{name: "the agent on the call", call: "c1", queue: "billing", agent: "1001", reply: ok, asked: 1, noted: 1, audits: 1},
		{name: "a supervisor", call: "c1", queue: "billing", reply: ok, asked: 1, noted: 1, audits: 1},
		{name: "no work order", call: "c1", queue: "billing", reply: Reply{OK: true, CallID: "c1", FromAgent: "1001", FromQueue: "general", ToQueue: "billing"}, asked: 1, noted: 1},
		{name: "unknown queue", call: "c1", queue: "sales", err: ErrBadRequest},
		{name: "the callback queue", call: "c1", queue: "callback", err: ErrBadRequest},
		{name: "no queue", call: "c1", err: ErrBadRequest},
		{name: "another agent's call", call: "c1", queue: "billing", agent: "1003", err: ErrNotYours},
		{name: "still ringing", call: "c2", queue: "billing", err: ErrNotBridged},
		{name: "no agent on the call", call: "c9", queue: "billing", err: ErrNotBridged},
		{name: "no owner answers", call: "c1", queue: "billing", askErr: ErrNoOwner, err: ErrNotBridged, asked: 1},
		{name: "the owner refuses", call: "c1", queue: "billing", reply: Reply{CallID: "c1", Error: "already under way"}, err: ErrRefused, asked: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := &fakeAsker{reply: tc.reply, err: tc.askErr}
			orders, recs := &fakeOrders{changes: map[string][]tickets.Change{}}, &fakeRecords{}
			d := NewDesk(hub, on, orders, recs, Queues(), zerolog.Nop())
			rep, err := d.Blind(context.Background(), tc.call, tc.queue, tc.agent, "token-1")
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if len(hub.asked) != tc.asked || len(recs.transfers) != tc.noted || len(orders.changes["T1"]) != tc.audits {
				t.Fatalf("asked %v, noted %v, audits %v", hub.asked, recs.transfers, orders.changes)
			}
			if tc.asked > 0 && (hub.asked[0].Agent != tc.agent || hub.asked[0].Queue != tc.queue || hub.asked[0].By != "token-1" || hub.asked[0].ID == "") {
				t.Errorf("request %+v", hub.asked[0])
			}
			if tc.err != nil {
				return
			}
			if rep != tc.reply {
				t.Errorf("reply %+v", rep)
			}
			if recs.transfers[0] != "c1 1001 general billing token-1" {
				t.Errorf("call record note %q", recs.transfers[0])
			}
			if tc.audits > 0 {
				c := orders.changes["T1"][0]
				if c.Action != tickets.ActionNote || c.Actor != "token-1" || !strings.Contains(c.Note, "转接") || !strings.Contains(c.Note, "billing") {
					t.Errorf("audit %+v", c)
				}
				if len(recs.links) != 1 || recs.links[0] != "c1 1001 T1" {
					t.Errorf("links %v: the first agent keeps the work order", recs.links)
				}
			}
		})
	}
}
