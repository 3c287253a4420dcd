//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

// setSkills gives an agent skills for the test and makes them a generalist
// again afterwards.
func (e *Env) setSkills(t *testing.T, id string, skills map[string]int) {
	t.Helper()
	if code := e.putSkills(t, id, skills); code != 200 {
		t.Fatalf("skills of %s: %d", id, code)
	}
	t.Cleanup(func() { e.putSkills(t, id, map[string]int{}) })
}

// nextPop waits for the next screen pop on an event stream.
func nextPop(t *testing.T, events <-chan agentEvent, within time.Duration) agentEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("event stream ended")
			}
			if ev.Type == "screen_pop" {
				return ev
			}
		case <-deadline:
			t.Fatalf("no screen pop within %s", within)
		}
	}
}

// A complaint goes to the agent with the complaint skill, not to the
// longest-idle agent who only has billing.
func TestSkillRouting(t *testing.T) {
	env := loadEnv(t)
	billing, complaint := env.phone(t, "2001"), env.phone(t, "2002")
	env.setSkills(t, "2001", map[string]int{"billing": 1})
	env.setSkills(t, "2002", map[string]int{"complaint": 1, "general": 2})
	env.agentsOnly(t, "2001", "2002") // 2001 idle longest
	events := agentStream(t, env, "/api/v1/agents/events")
	_ = billing
	agentCall := agentTalksBriefly(t, complaint)
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("3"), awaitByeWithin(60*time.Second))
	pop := nextPop(t, events, 30*time.Second)
	if pop.Data["agent"] != "2002" || pop.Data["queue"] != "complaint" || pop.Data["phone"] != phone {
		t.Fatalf("screen pop %+v, want agent 2002 in the complaint queue", pop.Data)
	}
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
	if a := env.agentState(t, "2001"); a.State != "available" {
		t.Fatalf("the billing agent was disturbed: %+v", a)
	}
}

// An elderly caller (by the customer profile) skips the menu into the
// senior queue and hears position and wait; with nobody staffed they are
// offered a callback that keeps their place and take it. A younger caller
// joins the general queue after them. When the callback is answered the
// elderly customer is served first: their place was kept, although the
// other caller has now been waiting longer.
func TestVirtualHoldKeepsPlace(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t)           // nobody staffed: no estimate, so the offer comes
	const elder = "15800158000" // born 1949, in deploy/dev/accounts.csv
	const requeued = `hotline_queue_calls_offered_total{queue="callback"}`
	before := env.metric(t, requeued)
	a := caller(t, env, elder, pause(6*time.Second), press("1"), awaitBye)
	queuePlace(t, redisClient(t), redisPrefix(t), channelOf(t, env, elder)) // the elder waits first
	younger := uniquePhone()
	b := caller(t, env, younger, pause(1500*time.Millisecond), press("0"), awaitByeWithin(120*time.Second))
	// The carrier side answers our callback and stays on until the agent
	// who serves them hangs up.
	customer := customerAnsweringUntilBye(t, env)
	a.wait(t, 40*time.Second)

	type callback struct {
		Kind, Status string
		QueuedAt     time.Time `json:"queued_at"`
		CreatedAt    time.Time `json:"created_at"`
	}
	var cbs struct{ Callbacks []callback }
	eventually(t, 5*time.Second, "kept-place callback promised", func() bool {
		env.api(t, "GET", "/api/v1/callbacks?phone="+elder, &cbs)
		for _, cb := range cbs.Callbacks {
			if cb.Kind == "virtual_hold" {
				return true
			}
		}
		return false
	})
	var vh callback
	for _, cb := range cbs.Callbacks {
		if cb.Kind == "virtual_hold" {
			vh = cb
		}
	}
	if vh.QueuedAt.IsZero() || !vh.QueuedAt.Before(vh.CreatedAt.Add(-3*time.Second)) {
		t.Fatalf("callback %+v: the place kept must be when the caller first queued", vh)
	}
	// Wait until the called-back customer is queued again, then staff.
	eventually(t, 30*time.Second, "called-back customer queued", func() bool {
		return env.metric(t, requeued) > before
	})
	ag := env.phone(t, "2001")
	events := agentStream(t, env, "/api/v1/agents/2001/events")
	first := agentTalksBriefly(t, ag)
	env.agentsOnly(t, "2001")
	pop := nextPop(t, events, 30*time.Second)
	if pop.Data["phone"] != elder || pop.Data["queue"] != "callback" {
		t.Fatalf("first served %+v, want the kept-place customer %s", pop.Data, elder)
	}
	first.wait(t, 30*time.Second)
	customer.wait(t, 10*time.Second)
	second := agentTalksBriefly(t, ag)
	pop = nextPop(t, events, 30*time.Second)
	if pop.Data["phone"] != younger {
		t.Fatalf("second served %+v, want %s", pop.Data, younger)
	}
	b.wait(t, 90*time.Second)
	second.wait(t, 10*time.Second)
}

// A caller who waits longer than a queue allows moves to its overflow
// queue: here the senior queue (20 s in the test policy) overflows into
// general, where an agent who serves only general takes the call.
func TestMaxWaitOverflowsToAnotherQueue(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2003")
	env.setSkills(t, "2003", map[string]int{"general": 1})
	env.agentsOnly(t, "2003")
	events := agentStream(t, env, "/api/v1/agents/2003/events")
	overflows := env.metric(t, `hotline_queue_overflows_total{queue="senior",to="general"}`)
	agentCall := agentTalksBriefly(t, ag)
	const elder = "15800158000"
	// The elder never presses: no kept place, just the wait.
	c := caller(t, env, elder, awaitByeWithin(90*time.Second))
	pop := nextPop(t, events, 60*time.Second)
	if pop.Data["phone"] != elder || pop.Data["queue"] != "general" {
		t.Fatalf("screen pop %+v, want the elder in the general queue", pop.Data)
	}
	if w, _ := pop.Data["waited_s"].(float64); w < 20 {
		t.Fatalf("served after %.1f s, before the senior queue's longest wait", w)
	}
	if got := env.metric(t, `hotline_queue_overflows_total{queue="senior",to="general"}`) - overflows; got != 1 {
		t.Fatalf("overflows %v, want 1", got)
	}
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
}

// agentBusyXML: the agent's softphone dials the echo test (*43) and stays
// on it for a while: its phone is busy with a call the hotline did not place.
var agentBusyXML = scenario.Feature(pause(25*time.Second), scenario.FeatureHangUp)

// An agent whose phone is busy with another call (here the echo test) is
// not offered a caller and not paused: the next agent is rung.
func TestBusyPhoneIsNotOffered(t *testing.T) {
	env := loadEnv(t)
	busy, free := env.phone(t, "2001"), env.phone(t, "2002")
	env.agentsOnly(t, "2001", "2002") // 2001 idle longest
	events := agentStream(t, env, "/api/v1/agents/events")
	echo := startSipp(t, "agent-echo-2001", render(t, agentBusyXML, scenarioData{ID: "2001", Password: env.Agents["2001"], Phone: "*43"}),
		env.SIPAddr, busy.sipPort, busy.mediaPort)
	eventually(t, 10*time.Second, "2001's echo call up", func() bool {
		var chs []struct{ Name, State string }
		env.ari(t, "/channels", &chs)
		for _, ch := range chs {
			if strings.HasPrefix(ch.Name, "PJSIP/2001-") && ch.State == "Up" {
				return true
			}
		}
		return false
	})
	agentCall := agentTalksBriefly(t, free)
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("0"), awaitByeWithin(60*time.Second))
	pop := nextPop(t, events, 30*time.Second)
	if pop.Data["agent"] != "2002" || pop.Data["phone"] != phone {
		t.Fatalf("screen pop %+v, want agent 2002: 2001's phone is busy", pop.Data)
	}
	if a := env.agentState(t, "2001"); a.State != "available" {
		t.Fatalf("busy agent %+v, want available, not paused", a)
	}
	c.wait(t, 40*time.Second)
	agentCall.wait(t, 10*time.Second)
	echo.wait(t, 40*time.Second)
}

// After a call the agent does the queue's after-call work (4 s for general
// in the test policy, longer than HOTLINE_WRAP_UP's 2 s) and is not offered
// the caller already waiting until it is over.
func TestWrapUpRespected(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2001")
	env.agentsOnly(t, "2001")
	events := agentStream(t, env, "/api/v1/agents/2001/events")
	rdb, prefix := redisClient(t), redisPrefix(t)
	// The agent talks long enough for the second caller to be waiting
	// when the after-call work starts.
	first := ag.talk(t, 300*time.Millisecond, 8*time.Second)
	c1 := caller(t, env, uniquePhone(), pause(1500*time.Millisecond), press("0"), awaitByeWithin(60*time.Second))
	eventually(t, 30*time.Second, "the first caller with the agent", func() bool { return env.agentState(t, "2001").State == "on_call" })
	second := uniquePhone()
	c2 := caller(t, env, second, pause(1500*time.Millisecond), press("0"), awaitByeWithin(60*time.Second))
	_, _ = queuePlace(t, rdb, prefix, channelOf(t, env, second))
	var wrapAt, nextRingAt time.Time
	deadline := time.After(60 * time.Second)
	for nextRingAt.IsZero() {
		select {
		case ev := <-events:
			if ev.Type != "state" {
				continue
			}
			switch ev.Data["state"] {
			case "wrap_up":
				wrapAt = ev.At
				first.wait(t, 10*time.Second)
				_ = agentTalksBriefly(t, ag) // ready for the next call
			case "ringing":
				if !wrapAt.IsZero() {
					nextRingAt = ev.At
				}
			}
		case <-deadline:
			t.Fatalf("no second call after wrap-up (wrap-up at %v)", wrapAt)
		}
	}
	if gap := nextRingAt.Sub(wrapAt); gap < 3500*time.Millisecond {
		t.Fatalf("offered the next caller %s after the call ended, inside the 4 s wrap-up", gap)
	} else {
		t.Logf("next caller offered %s after the call ended (wrap-up 4 s)", gap.Round(10*time.Millisecond))
	}
	c1.wait(t, 30*time.Second)
	c2.wait(t, 60*time.Second)
}

// agentTalksBriefly answers the next call on the softphone and hangs up
// after two seconds: the hotline then hangs the caller up, so a caller who
// waits for that (awaitBye) ends when the agent does, not after a pause.
func agentTalksBriefly(t *testing.T, a *agentPhone) *sipp {
	return a.talk(t, 300*time.Millisecond, 2*time.Second)
}

// talk answers the next call after answerAfter, echoes the caller, and
// hangs up after talking for d.
func (a *agentPhone) talk(t *testing.T, answerAfter, d time.Duration) *sipp {
	body := uasHead(captureDialog) + uasAnswer + uasHangUp + scenarioTail
	return startSipp(t, "agent-talk-"+a.ID, render(t, body, scenarioData{AnswerAfterMS: int(answerAfter.Milliseconds()), TalkMS: int(d.Milliseconds())}),
		"", a.sipPort, a.mediaPort, "-rtp_echo")
}

// One agent serves every queue. Three callers wait in three queues: a
// normal caller in general who joined first, an important customer
// (account class) who reached the billing queue after them, and a normal
// complaint caller who joined last. The important customer is served
// first; then the two others in the order they joined, across their queues.
func TestPriorityAndFairnessAcrossQueues(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t) // nobody yet: everyone waits
	ag := env.phone(t, "2001")
	const joined = `hotline_queue_calls_offered_total`
	billing, complaint := env.metric(t, joined+`{queue="billing"}`), env.metric(t, joined+`{queue="complaint"}`)
	first, second := uniquePhone(), uniquePhone()
	const important = "13700137000" // account 1000000003, class important
	rdb, prefix := redisClient(t), redisPrefix(t)
	// Each joins once the one before is waiting.
	a := caller(t, env, first, pause(1500*time.Millisecond), press("0"), awaitByeWithin(120*time.Second))
	queuePlace(t, rdb, prefix, channelOf(t, env, first))
	c := caller(t, env, second, pause(1500*time.Millisecond), press("3"), awaitByeWithin(120*time.Second))
	queuePlace(t, rdb, prefix, channelOf(t, env, second))
	// Billing: the balance is read for the known caller, then 1 for an agent.
	b := caller(t, env, important, pause(1500*time.Millisecond), press("2"), pause(3*time.Second), press("1"), awaitByeWithin(120*time.Second))
	queuePlace(t, rdb, prefix, channelOf(t, env, important))
	eventually(t, 10*time.Second, "all three counted as queued", func() bool {
		return env.metric(t, joined+`{queue="billing"}`) > billing && env.metric(t, joined+`{queue="complaint"}`) > complaint
	})
	events := agentStream(t, env, "/api/v1/agents/2001/events")
	call := agentTalksBriefly(t, ag)
	env.agentsOnly(t, "2001")
	want := []struct{ phone, queue, priority string }{
		{important, "billing", "important"}, {first, "general", "normal"}, {second, "complaint", "normal"},
	}
	for i, w := range want {
		pop := nextPop(t, events, 40*time.Second)
		if pop.Data["phone"] != w.phone || pop.Data["queue"] != w.queue || pop.Data["priority"] != w.priority {
			t.Fatalf("served #%d: %v in %v (%v), want %s in %s (%s)", i+1, pop.Data["phone"], pop.Data["queue"], pop.Data["priority"], w.phone, w.queue, w.priority)
		}
		call.wait(t, 30*time.Second)
		if i < len(want)-1 {
			call = agentTalksBriefly(t, ag)
		}
	}
	a.wait(t, 30*time.Second)
	b.wait(t, 30*time.Second)
	c.wait(t, 30*time.Second)
}

// A caller first waits for the best-skilled agents; after the queue's
// any-level wait (3 s for billing in the test policy) an agent with a lower
// level takes them.
func TestLowerSkillAfterWait(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2001")
	env.setSkills(t, "2001", map[string]int{"billing": 3})
	env.agentsOnly(t, "2001")
	events := agentStream(t, env, "/api/v1/agents/2001/events")
	agentCall := agentTalksBriefly(t, ag)
	phone := uniquePhone()
	// An unknown number: account entry, wrong number, then 1 for an agent.
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("2"), pause(2*time.Second), press("9999999999#"),
		pause(2*time.Second), press("1"), awaitByeWithin(60*time.Second))
	pop := nextPop(t, events, 40*time.Second)
	if pop.Data["queue"] != "billing" || pop.Data["phone"] != phone {
		t.Fatalf("screen pop %+v, want the billing caller", pop.Data)
	}
	if w, _ := pop.Data["waited_s"].(float64); w < 3 {
		t.Fatalf("a level-3 agent was offered the caller after %.1f s, before the 3 s any-level wait", w)
	} else {
		t.Logf("level-3 agent offered the caller after %.1f s", w)
	}
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
}
