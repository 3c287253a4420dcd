//go:build e2e

package e2e

import (
	"testing"
	"time"
)

func TestHealthy(t *testing.T) {
	env := loadEnv(t)
	var h struct {
		Status string
		Parts  map[string]struct{ OK bool }
	}
	resp := env.api(t, "GET", "/healthz", &h)
	if resp != 200 || h.Status != "ok" || !h.Parts["ari"].OK || !h.Parts["redis"].OK {
		t.Fatalf("healthz %d %+v", resp, h)
	}
}

// Pressing 1 writes a fault ticket at once, with the account of a known
// number; the caller hears the number and hangs up.
func TestFaultReport(t *testing.T) {
	env := loadEnv(t)
	const known = "13800138000"
	before := len(env.tickets(t, known))
	c := caller(t, env, known, pause(1500*time.Millisecond), press("1"), pause(3*time.Second), hangUp)
	c.wait(t, 30*time.Second)
	eventually(t, 5*time.Second, "fault ticket", func() bool { return len(env.tickets(t, known)) == before+1 })
	tk := env.tickets(t, known)[0]
	if tk.Type != "fault" || tk.Status != "accepted" || tk.Account != "1000000001" || tk.Address == "" || len(tk.ID) != 14 {
		t.Fatalf("ticket %+v", tk)
	}
}

// Billing for a known number is read out and the hotline says goodbye and
// hangs up; an unknown account gets a clear message and a second try.
func TestBilling(t *testing.T) {
	env := loadEnv(t)
	selfServed := env.metric(t, `hotline_calls_ended_total{reason="self_service"}`)
	// 13900139000 is in arrears: a negative balance is read out too.
	c := caller(t, env, "13900139000", pause(1500*time.Millisecond), press("2"), awaitBye)
	c.wait(t, 90*time.Second)

	// Unknown number: enter an unknown account, choose to retry, enter a good one.
	c = caller(t, env, uniquePhone(), pause(1500*time.Millisecond), press("2"),
		pause(1500*time.Millisecond), press("999#"),
		pause(1500*time.Millisecond), press("2"),
		pause(1500*time.Millisecond), press("1000000001#"), awaitBye)
	c.wait(t, 120*time.Second)
	eventually(t, 5*time.Second, "two self-service calls", func() bool {
		return env.metric(t, `hotline_calls_ended_total{reason="self_service"}`) >= selfServed+2
	})
}

// Pressing 3 records a complaint and reaches a registered, logged-in agent;
// the two are bridged and audio flows both ways.
func TestComplaintReachesAgent(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2001")
	env.agentsOnly(t, "2001")
	agentCall := ag.answer(t, 500*time.Millisecond)
	phone := uniquePhone()
	// The complaint number and the transfer prompt take about 15 s; the
	// caller speaks once the agent is on the line.
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("3"), pause(22*time.Second), talk(), pause(12*time.Second), hangUp)

	eventually(t, 40*time.Second, "agent on call", func() bool { return env.agentState(t, "2001").State == "on_call" })
	// The bridge holds the caller and the agent, and media flows through it.
	var bridges []struct {
		ID       string   `json:"id"`
		Channels []string `json:"channels"`
	}
	// The agent is on call as they answer; the bridge follows a moment later.
	var legs []string
	eventually(t, 5*time.Second, "a two-party bridge", func() bool {
		env.ari(t, "/bridges", &bridges)
		for _, b := range bridges {
			if len(b.Channels) == 2 {
				legs = b.Channels
			}
		}
		return legs != nil
	})
	eventually(t, 25*time.Second, "audio both ways", func() bool {
		for _, ch := range legs {
			var st struct {
				TxCount int `json:"txcount"`
				RxCount int `json:"rxcount"`
			}
			if env.ari(t, "/channels/"+ch+"/rtp_statistics", &st) != 200 || st.TxCount == 0 || st.RxCount == 0 {
				return false
			}
		}
		return true
	})
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
	tks := env.tickets(t, phone)
	if len(tks) != 1 || tks[0].Type != "complaint" {
		t.Fatalf("tickets %+v", tks)
	}
	// After the call the agent does their after-call work, then is free.
	eventually(t, 5*time.Second, "agent in wrap-up", func() bool { return env.agentState(t, "2001").State == "wrap_up" })
	eventually(t, 10*time.Second, "agent free again", func() bool { return env.agentState(t, "2001").State == "available" })
}

// An agent who lets the call ring out is paused with reason no_answer and
// the next agent is rung.
func TestRingNoAnswerMovesOn(t *testing.T) {
	env := loadEnv(t)
	first, second := env.phone(t, "2001"), env.phone(t, "2002")
	env.agentsOnly(t, "2001", "2002")
	ringing := first.ringOut(t)
	answering := agentTalksBriefly(t, second)
	c := caller(t, env, uniquePhone(), pause(1500*time.Millisecond), press("0"), awaitByeWithin(60*time.Second))
	c.wait(t, 60*time.Second)
	ringing.wait(t, 10*time.Second)
	answering.wait(t, 10*time.Second)
	if a := env.agentState(t, "2001"); a.State != "paused" || a.Reason != "no_answer" {
		t.Fatalf("agent who did not answer: %+v", a)
	}
}

// Invalid keys are re-prompted; after three failures the caller gets a human.
func TestInvalidKeysGoToAgent(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2002")
	env.agentsOnly(t, "2002")
	agentCall := agentTalksBriefly(t, ag)
	invalid := env.metric(t, `hotline_menu_node_invalid_total{node="main"}`)
	c := caller(t, env, uniquePhone(),
		pause(1500*time.Millisecond), press("7"), pause(2500*time.Millisecond), press("9"),
		pause(2500*time.Millisecond), press("8"), awaitByeWithin(60*time.Second))
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
	if got := env.metric(t, `hotline_menu_node_invalid_total{node="main"}`) - invalid; got != 3 {
		t.Fatalf("invalid-key failures counted %v, want 3", got)
	}
}

// A caller who presses nothing is asked again; after three timeouts, a human.
func TestSilentCallerGoesToAgent(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2003")
	env.agentsOnly(t, "2003")
	agentCall := agentTalksBriefly(t, ag)
	timeouts := env.metric(t, `hotline_menu_node_timeouts_total{node="main"}`)
	// Three rounds of menu and timeout, then the transfer prompt: about 72 s
	// with the rendered prompts; the caller stays on until the agent who
	// takes them hangs up.
	c := caller(t, env, uniquePhone(), awaitByeWithin(120*time.Second))
	agentCall.wait(t, 110*time.Second)
	c.wait(t, 20*time.Second)
	if got := env.metric(t, `hotline_menu_node_timeouts_total{node="main"}`) - timeouts; got != 3 {
		t.Fatalf("timeouts counted %v, want 3", got)
	}
}

// Hanging up in the middle of the menu ends the session cleanly.
func TestHangupInMenu(t *testing.T) {
	env := loadEnv(t)
	before := env.metric(t, `hotline_calls_ended_total{reason="hangup_menu"}`)
	phone := uniquePhone()
	c := caller(t, env, phone, pause(2*time.Second), hangUp)
	c.wait(t, 20*time.Second)
	eventually(t, 5*time.Second, "call ended in menu", func() bool {
		return env.metric(t, `hotline_calls_ended_total{reason="hangup_menu"}`) == before+1
	})
	if tks := env.tickets(t, phone); len(tks) != 0 {
		t.Fatalf("tickets for a caller who hung up in the menu: %+v", tks)
	}
}

// A caller who hangs up while waiting is called back through the carrier,
// showing 95598, within the window; answering, they reach an agent.
func TestAbandonedCallerIsCalledBack(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t) // nobody to answer: the caller waits
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("0"), pause(6*time.Second), hangUp)
	c.wait(t, 30*time.Second)
	type callback struct {
		ID, Status, Outcome string
		Attempts            int
		CreatedAt           time.Time `json:"created_at"`
		Deadline            time.Time `json:"deadline"`
		PlacedAt            time.Time `json:"placed_at"`
	}
	var cbs struct{ Callbacks []callback }
	// The abandon is handled as the BYE arrives, a moment after sipp ends.
	eventually(t, 5*time.Second, "callback promised", func() bool {
		env.api(t, "GET", "/api/v1/callbacks?phone="+phone, &cbs)
		return len(cbs.Callbacks) == 1
	})
	if cbs.Callbacks[0].Status != "pending" {
		t.Fatalf("callbacks after abandon: %+v", cbs)
	}
	// Now an agent is there, and the customer answers our call.
	ag := env.phone(t, "2001")
	env.agentsOnly(t, "2001")
	agentCall := agentTalksBriefly(t, ag)
	customer := customerAnsweringUntilBye(t, env)
	agentCall.wait(t, 90*time.Second)
	customer.wait(t, 10*time.Second)
	env.api(t, "GET", "/api/v1/callbacks?phone="+phone, &cbs)
	cb := cbs.Callbacks[0]
	if cb.Status != "completed" || cb.Outcome != "answered" || cb.PlacedAt.After(cb.Deadline) {
		t.Fatalf("callback %+v", cb)
	}
}
