package hold

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/transfer"
)

type fakeNotes struct {
	mu   sync.Mutex
	reps []transfer.Reply
	by   []string
}

func (f *fakeNotes) Attended(_ context.Context, rep transfer.Reply, by string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reps, f.by = append(f.reps, rep), append(f.by, by)
}

func (f *fakeNotes) list() ([]transfer.Reply, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]transfer.Reply(nil), f.reps...), append([]string(nil), f.by...)
}

// consultCall is caller c1 talking to agent 1001 (leg c1-agent-1) with
// agent 1002 logged in and available; colleague says whether 1002's
// phone answers a consultation.
type consultCall struct {
	reg   *agents.Registry
	d     *tdisp
	sw    *ivrtest.Switch
	hub   *transfer.Hub
	notes *fakeNotes
	out   <-chan Result
}

func newConsultCall(t *testing.T, colleague bool) *consultCall {
	t.Helper()
	reg, d, sw, clk := setup(t, "1001", "1002")
	hub := withHub(t, d)
	k := &consultCall{reg: reg, d: d, sw: sw, hub: hub, notes: &fakeNotes{}}
	d.SetTransfers(hub, k.notes)
	sw.OnOriginate = answerWhen(map[string]bool{"1001": true, "1002": colleague})
	login(t, reg, clk, "1001")
	sess := ivr.NewSession(sw, "c1", zerolog.Nop())
	k.out = serveFull(d, sess, queue.Caller{CallID: "c1", Phone: "13800138000", Queue: "general", TicketID: "T1"})
	waitFor(t, "1001 talking", func() bool { return state(t, reg, "1001").State == agents.OnCall })
	login(t, reg, clk, "1002")
	return k
}

func (k *consultCall) ask(t *testing.T, kind, by string) transfer.Reply {
	t.Helper()
	rep, err := k.hub.Ask(context.Background(), transfer.Request{ID: kind + by + time.Now().String(), CallID: "c1", Kind: kind,
		ToAgent: "1002", Agent: "1001", By: by})
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	return rep
}

// An attended transfer, from the consultation to its end: the caller
// holds (prompt, music) while agent 1001 and colleague 1002 talk in a
// bridge of their own, 1002 reserved meanwhile (ringing/on_call with
// reason consult, out of the queue's reach). Completing (asked, or 1001
// hanging up) hands the caller to 1002, who becomes the call's agent,
// 1001 is hung up and released, the transfer is written down and counted;
// cancelling, 1002 hanging up or not answering brings 1001 back to the
// caller, 1002 free (paused when it let the phone ring out).
func TestAttendedTransfer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		colleague bool // 1002 answers
		act       func(t *testing.T, k *consultCall)
		agent     string // the call's agent afterwards
		bState    agents.State
		outcome   string
	}{
		{"complete", true, func(t *testing.T, k *consultCall) {
			if rep := k.ask(t, transfer.KindComplete, "tok-1001"); !rep.OK || rep.State != "completed" || rep.ToAgent != "1002" {
				t.Fatalf("complete: %+v", rep)
			}
		}, "1002", agents.OnCall, consultCompleted},
		{"cancel", true, func(t *testing.T, k *consultCall) {
			if rep := k.ask(t, transfer.KindCancel, "tok-1001"); !rep.OK || rep.State != "returned" {
				t.Fatalf("cancel: %+v", rep)
			}
		}, "1001", agents.Available, consultReturned},
		{"the agent hangs up", true, func(t *testing.T, k *consultCall) { k.sw.HangUp("c1-agent-1") }, "1002", agents.OnCall, consultCompleted},
		{"the colleague hangs up", true, func(t *testing.T, k *consultCall) { k.sw.HangUp("c1-agent-2") }, "1001", agents.Available, consultColleagueBye},
		{"the colleague does not answer", false, func(*testing.T, *consultCall) {}, "1001", agents.Paused, consultNoAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newConsultCall(t, tc.colleague)
			rep := k.ask(t, transfer.KindConsult, "tok-1001")
			if !rep.OK || rep.State != "ringing" || rep.FromAgent != "1001" || rep.ToAgent != "1002" || rep.Kind != transfer.KindAttended || rep.TicketID != "T1" {
				t.Fatalf("consult: %+v", rep)
			}
			if b := state(t, k.reg, "1002"); (b.State != agents.Ringing && b.State != agents.OnCall) || b.Reason != agents.ReasonConsult || b.CallID != "c1" {
				t.Fatalf("colleague not reserved for the call: %+v", b)
			}
			pops := popsOf(t, k.reg, "1002")
			if len(pops) != 1 || !pops[0].Transfer || pops[0].TransferKind != transfer.KindAttended || pops[0].FromAgent != "1001" || pops[0].TicketID != "T1" {
				t.Fatalf("colleague's screen pop %+v", pops)
			}
			waitFor(t, "caller on hold", func() bool {
				return k.sw.Has("play c1 sound:hotline/transfer_consult") && k.sw.Has("moh-start c1") && len(k.sw.Bridge("br-c1")) == 0
			})
			if tc.colleague {
				waitFor(t, "agent and colleague bridged", func() bool { return len(k.sw.Bridge("cs-c1-2")) == 2 })
				if b := state(t, k.reg, "1002"); b.State != agents.OnCall || b.Reason != agents.ReasonConsult {
					t.Fatalf("colleague talking: %+v", b)
				}
			}
			tc.act(t, k)
			legOf := map[string]string{"1001": "c1-agent-1", "1002": "c1-agent-2"}
			waitFor(t, "caller bridged to "+tc.agent, func() bool {
				br := k.sw.Bridge("br-c1")
				return len(br) == 2 && br[0] == "c1" && br[1] == legOf[tc.agent] && len(k.sw.Bridge("cs-c1-2")) == 0
			})
			other := map[string]string{"1001": "1002", "1002": "1001"}[tc.agent]
			weHangUp := tc.name == "complete" || tc.name == "cancel" // else the other party hung up by itself
			waitFor(t, "the other party hung up and released", func() bool {
				a, o := state(t, k.reg, tc.agent), state(t, k.reg, other)
				return (!weHangUp || k.sw.IsHungUp(legOf[other])) && a.State == agents.OnCall && a.Reason == "" && a.CallID == "c1" &&
					o.State != agents.OnCall && o.State != agents.Ringing
			})
			if b := state(t, k.reg, "1002"); b.State != tc.bState {
				t.Errorf("colleague afterwards: %+v, want %s", b, tc.bState)
			}
			if n := count(k.d.m.AgentTransfers.WithLabelValues("general", tc.outcome)); n != 1 {
				t.Errorf("hotline_agent_transfers_total{outcome=%q} = %v", tc.outcome, n)
			}
			var told []string
			evs, _ := k.reg.Tail(context.Background(), "1001", "0", 0)
			for _, e := range evs {
				if e.Type == agents.EventConsult {
					var c agents.Consult
					_ = json.Unmarshal(e.Data, &c)
					told = append(told, c.State)
				}
			}
			if len(told) < 2 || told[0] != "ringing" || told[len(told)-1] != tc.outcome {
				t.Errorf("the agent's desk was told %v", told)
			}
			reps, by := k.notes.list()
			if done := tc.outcome == consultCompleted; done != (len(reps) == 1) ||
				(done && (reps[0].FromAgent != "1001" || reps[0].ToAgent != "1002" || reps[0].TicketID != "T1" || by[0] != "tok-1001")) {
				t.Errorf("written down: %+v by %v", reps, by)
			}
			k.sw.HangUp(legOf[tc.agent]) // the call's agent hangs up first
			res := <-k.out
			if res.Outcome != Connected || res.Agent != tc.agent || !res.AgentHungUp {
				t.Errorf("result %+v", res)
			}
			if done := tc.outcome == consultCompleted; done != (len(res.Transfers) == 1) ||
				(done && (res.Transfers[0].Kind != transfer.KindAttended || res.Transfers[0].ToAgent != "1002" || res.Transfers[0].FromAgent != "1001")) {
				t.Errorf("transfers %+v", res.Transfers)
			}
		})
	}
}

// The caller hanging up while on hold ends everything: both agents are
// hung up and freed, no bridge is left.
func TestAttendedTransferCallerHangsUp(t *testing.T) {
	for _, colleague := range []bool{true, false} {
		t.Run(map[bool]string{true: "talking", false: "ringing"}[colleague], func(t *testing.T) {
			k := newConsultCall(t, colleague)
			if !colleague {
				k.sw.OnOriginate = func(*ivrtest.Switch, ivr.OriginateRequest) {} // rings on
			}
			if rep := k.ask(t, transfer.KindConsult, "tok-1001"); !rep.OK {
				t.Fatalf("consult: %+v", rep)
			}
			waitFor(t, "caller on hold", func() bool { return k.sw.Has("moh-start c1") })
			if colleague {
				waitFor(t, "agent and colleague bridged", func() bool { return len(k.sw.Bridge("cs-c1-2")) == 2 })
			}
			k.sw.HangUp("c1")
			res := <-k.out
			if res.Outcome != Connected || res.Agent != "1001" || res.AgentHungUp || len(res.Transfers) != 0 {
				t.Errorf("result %+v", res)
			}
			for _, id := range []string{"1001", "1002"} {
				if a := state(t, k.reg, id); a.State == agents.OnCall || a.State == agents.Ringing {
					t.Errorf("agent %s left %s", id, a.State)
				}
			}
			if !k.sw.IsHungUp("c1-agent-1") || !k.sw.IsHungUp("c1-agent-2") || len(k.sw.Bridge("cs-c1-2")) != 0 || len(k.sw.Bridge("br-c1")) != 0 {
				t.Errorf("left behind: %v", k.sw.Actions())
			}
			if n := count(k.d.m.AgentTransfers.WithLabelValues("general", consultCallerBye)); n != 1 {
				t.Errorf("caller_hangup counted %v", n)
			}
		})
	}
}

// A consultation the call's owner cannot start is refused with the reason
// and the conversation goes on untouched.
func TestAttendedTransferRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prep  func(k *consultCall)
		req   transfer.Request
		want  string
		twice bool // a consultation runs already
	}{
		{"colleague paused", func(k *consultCall) { _ = k.reg.Pause(context.Background(), "1002", "lunch") },
			transfer.Request{Kind: transfer.KindConsult, ToAgent: "1002"}, "paused", false},
		{"colleague unregistered", func(k *consultCall) { k.sw.SetOnline("1002", false) },
			transfer.Request{Kind: transfer.KindConsult, ToAgent: "1002"}, "not registered", false},
		{"colleague's phone busy", func(k *consultCall) { k.sw.SetBusy("1002", true) },
			transfer.Request{Kind: transfer.KindConsult, ToAgent: "1002"}, "busy", false},
		{"oneself", nil, transfer.Request{Kind: transfer.KindConsult, ToAgent: "1001"}, "no other agent", false},
		{"another agent asks", nil, transfer.Request{Kind: transfer.KindConsult, ToAgent: "1002", Agent: "1002"}, "not the agent on this call", false},
		{"complete with no consultation", nil, transfer.Request{Kind: transfer.KindComplete}, "no consultation", false},
		{"cancel with no consultation", nil, transfer.Request{Kind: transfer.KindCancel}, "no consultation", false},
		{"a second consultation", nil, transfer.Request{Kind: transfer.KindConsult, ToAgent: "1002"}, "under way", true},
		{"a blind transfer during one", nil, transfer.Request{Queue: "billing"}, "under way", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newConsultCall(t, true)
			if tc.prep != nil {
				tc.prep(k)
			}
			if tc.twice {
				if rep := k.ask(t, transfer.KindConsult, "x"); !rep.OK {
					t.Fatalf("first consult %+v", rep)
				}
				waitFor(t, "consulting", func() bool { return len(k.sw.Bridge("cs-c1-2")) == 2 })
			}
			tc.req.ID, tc.req.CallID, tc.req.By = "r-"+tc.name, "c1", "x"
			rep, err := k.hub.Ask(context.Background(), tc.req)
			if err != nil || rep.OK || !strings.Contains(rep.Error, tc.want) {
				t.Fatalf("reply %+v %v, want a refusal with %q", rep, err, tc.want)
			}
			if !tc.twice {
				if a := state(t, k.reg, "1001"); a.State != agents.OnCall || len(k.sw.Bridge("br-c1")) != 2 {
					t.Fatalf("a refused consultation ended the conversation: %+v %v", a, k.sw.Actions())
				}
				if b := state(t, k.reg, "1002"); b.Reason == agents.ReasonConsult {
					t.Fatalf("colleague left reserved: %+v", b)
				}
			}
			k.sw.HangUp("c1")
			<-k.out
		})
	}
}

// The agent hanging up while the colleague still rings hands the caller
// over when the colleague answers; if the colleague never answers, the
// caller waits in line again in the same place rather than being dropped.
func TestAttendedTransferAgentLeavesWhileRinging(t *testing.T) {
	for _, answers := range []bool{true, false} {
		t.Run(map[bool]string{true: "colleague answers", false: "colleague does not answer"}[answers], func(t *testing.T) {
			k := newConsultCall(t, true)
			rang := make(chan ivr.OriginateRequest, 1)
			k.sw.OnOriginate = func(_ *ivrtest.Switch, req ivr.OriginateRequest) { rang <- req }
			if rep := k.ask(t, transfer.KindConsult, "tok-1001"); !rep.OK {
				t.Fatalf("consult: %+v", rep)
			}
			req := <-rang
			waitFor(t, "caller on hold", func() bool { return k.sw.Has("moh-start c1") })
			k.sw.HangUp("c1-agent-1")
			waitFor(t, "agent released", func() bool { return state(t, k.reg, "1001").State != agents.OnCall })
			if !answers {
				k.sw.Emit(ivr.Event{Kind: ivr.EvHangup, ChannelID: req.ChannelID, Cause: 19})
				waitFor(t, "caller back in line", func() bool { n, _ := k.d.Waiting(context.Background(), "general"); return n["general"] == 1 })
				if b := state(t, k.reg, "1002"); b.State != agents.Paused {
					t.Errorf("colleague %+v", b)
				}
				k.sw.HangUp("c1")
				if res := <-k.out; res.Outcome != Abandoned {
					t.Errorf("result %+v", res)
				}
				return
			}
			k.sw.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
			waitFor(t, "caller bridged to the colleague", func() bool {
				br := k.sw.Bridge("br-c1")
				return len(br) == 2 && br[1] == "c1-agent-2"
			})
			k.sw.HangUp("c1")
			res := <-k.out
			if res.Outcome != Connected || res.Agent != "1002" || res.AgentHungUp || len(res.Transfers) != 1 {
				t.Errorf("result %+v", res)
			}
			if reps, _ := k.notes.list(); len(reps) != 1 {
				t.Errorf("written down %+v", reps)
			}
		})
	}
}
