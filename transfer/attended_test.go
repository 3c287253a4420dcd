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

// Who may start, complete or cancel a consultation, and which colleague
// may be consulted: the request reaches the call's owner only for a known
// and available colleague, on a call connected to the agent who asks (or
// any, for a supervisor). The colleague consulted is never taken for the
// call's agent.
func TestAttended(t *testing.T) {
	on := fakeAgents{
		{ID: "1001", State: agents.OnCall, CallID: "c1"},
		{ID: "1002", State: agents.Available},
		{ID: "1005", State: agents.Paused, Reason: "lunch"},
		{ID: "1003", State: agents.OnCall, CallID: "c4", Reason: agents.ReasonConsult}, // listed first: consulted by 1004
		{ID: "1004", State: agents.OnCall, CallID: "c4"},
		{ID: "1006", State: agents.Ringing, CallID: "c6"},
	}
	ok := Reply{OK: true, CallID: "c1", FromAgent: "1001", Kind: KindAttended, ToAgent: "1002", State: "ringing"}
	for _, tc := range []struct {
		name                string
		kind, call, to, who string // who asks ("" a supervisor)
		reply               Reply
		askErr              error
		err                 error
		asked               bool
	}{
		{name: "consult", kind: KindConsult, call: "c1", to: "1002", who: "1001", reply: ok, asked: true},
		{name: "a supervisor", kind: KindConsult, call: "c1", to: "1002", reply: ok, asked: true},
		{name: "unknown colleague", kind: KindConsult, call: "c1", to: "9999", who: "1001", err: ErrBadRequest},
		{name: "no colleague", kind: KindConsult, call: "c1", who: "1001", err: ErrBadRequest},
		{name: "oneself", kind: KindConsult, call: "c1", to: "1001", who: "1001", err: ErrBadRequest},
		{name: "colleague paused", kind: KindConsult, call: "c1", to: "1005", who: "1001", err: ErrUnavailable},
		{name: "colleague on a call", kind: KindConsult, call: "c1", to: "1004", who: "1001", err: ErrUnavailable},
		{name: "another agent's call", kind: KindConsult, call: "c1", to: "1002", who: "1005", err: ErrNotYours},
		{name: "the consulted colleague asks", kind: KindComplete, call: "c4", who: "1003", err: ErrNotYours},
		{name: "the consulting agent completes", kind: KindComplete, call: "c4", who: "1004", reply: Reply{OK: true}, asked: true},
		{name: "still ringing", kind: KindConsult, call: "c6", to: "1002", who: "1006", err: ErrNotBridged},
		{name: "cancel", kind: KindCancel, call: "c1", who: "1001", reply: Reply{OK: true}, asked: true},
		{name: "no owner answers", kind: KindCancel, call: "c1", who: "1001", askErr: ErrNoOwner, err: ErrNotBridged, asked: true},
		{name: "the owner refuses", kind: KindComplete, call: "c1", who: "1001", reply: Reply{Error: "no consultation"}, err: ErrRefused, asked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := &fakeAsker{reply: tc.reply, err: tc.askErr}
			d := NewDesk(hub, on, nil, nil, Queues(), zerolog.Nop())
			var err error
			switch tc.kind {
			case KindConsult:
				_, err = d.Consult(context.Background(), tc.call, tc.to, tc.who, "tok")
			case KindComplete:
				_, err = d.Complete(context.Background(), tc.call, tc.who, "tok")
			case KindCancel:
				_, err = d.Cancel(context.Background(), tc.call, tc.who, "tok")
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.asked != (len(hub.asked) == 1) {
				t.Fatalf("asked %+v", hub.asked)
			}
			if tc.asked {
				r := hub.asked[0]
				if r.Kind != tc.kind || r.ToAgent != tc.to || r.Agent != tc.who || r.CallID != tc.call || r.By != "tok" || r.ID == "" {
					t.Errorf("request %+v", r)
				}
			}
		})
	}
}

// A completed attended transfer is written down: the call record lists
// it with the colleague, the first agent keeps the work order, the audit
// trail gets a note.
func TestAttendedWrittenDown(t *testing.T) {
	orders, recs := &fakeOrders{changes: map[string][]tickets.Change{}}, &fakeRecords{}
	d := NewDesk(&fakeAsker{}, fakeAgents{}, orders, recs, Queues(), zerolog.Nop())
	d.Attended(context.Background(), Reply{OK: true, CallID: "c1", FromAgent: "1001", FromQueue: "complaint", Kind: KindAttended,
		ToAgent: "1002", TicketID: "T1"}, "tok-1001")
	if len(recs.transfers) != 1 || recs.transfers[0] != "c1 1001 attended 1002 complaint tok-1001" {
		t.Errorf("call record %v", recs.transfers)
	}
	if len(recs.links) != 1 || recs.links[0] != "c1 1001 T1" {
		t.Errorf("links %v", recs.links)
	}
	ch := orders.changes["T1"]
	if len(ch) != 1 || ch[0].Action != tickets.ActionNote || ch[0].Actor != "tok-1001" || !strings.Contains(ch[0].Note, "咨询转接") ||
		!strings.Contains(ch[0].Note, "1002") {
		t.Errorf("audit %+v", ch)
	}
}
