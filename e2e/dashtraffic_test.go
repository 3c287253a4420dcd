//go:build e2e

package e2e

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/policy"
)

// dashboardTraffic makes, in about a minute and a half, the traffic every
// dashboard panel needs to draw something. A ratio or quantile panel needs
// its denominator to grow inside one minute (a new series starting at 1
// grows by nothing), so what they divide by happens twice: two calls
// answered in the general queue, two follow-up calls.
//
//   - agent 2002 logged in and paused for lunch (paused agents by reason);
//   - a complaint that nobody works, climbing the ladder;
//   - a fault report, a billing self-service call, an invalid key;
//   - the elder waits in the senior queue (offered a kept-place callback,
//     which they let pass) until it overflows into general;
//   - one caller gives up in general (abandoned; the callback it is
//     promised is cancelled before it rings);
//   - two follow-up calls (回访) through the carrier, satisfied and not;
//   - agent 2001 then takes the two callers waiting in general.
func dashboardTraffic(t *testing.T, env *Env) {
	t.Helper()
	if code := env.api(t, "POST", "/api/v1/agents/2002/login", nil); code != 200 {
		t.Fatalf("login 2002: %d", code)
	}
	if code := env.post(t, "/api/v1/agents/2002/pause", map[string]string{"reason": "lunch"}, nil); code != 200 {
		t.Fatalf("pause 2002: %d", code)
	}
	var complaint order
	// Taken on the hotline (a complaint from another channel would promise
	// an agent-first contact callback, which would ring 2001 below).
	if code := env.post(t, "/api/v1/tickets", map[string]any{"type": "complaint", "channel": "95598", "phone": uniquePhone(),
		"named": true, "class": "service", "subject": "staff_attitude"}, &complaint); code != 201 {
		t.Fatalf("complaint: %d %+v", code, complaint)
	}

	const overflowed = `hotline_queue_overflows_total{queue="senior",to="general"}`
	overflows := env.metric(t, overflowed)
	fault := caller(t, env, uniquePhone(), pause(1500*time.Millisecond), press("1"), pause(3*time.Second), hangUp)
	billing := caller(t, env, "13900139000", pause(1500*time.Millisecond), press("2"), awaitByeWithin(90*time.Second))
	elder := caller(t, env, "15800158000", awaitByeWithin(150*time.Second))
	waiting := caller(t, env, uniquePhone(), pause(1500*time.Millisecond), press("7"), pause(2500*time.Millisecond), press("0"),
		awaitByeWithin(150*time.Second))
	quitter := uniquePhone()
	gaveUp := caller(t, env, quitter, pause(1500*time.Millisecond), press("0"), pause(6*time.Second), hangUp)

	// The caller who gave up is promised a callback 2 s later: cancel it
	// before it rings the carrier side, which the follow-ups use.
	gaveUp.wait(t, 30*time.Second)
	eventually(t, 5*time.Second, "callback promised to the caller who gave up", func() bool {
		return len(env.callbacksOf(t, quitter)) == 1
	})
	st := callbacks.NewStore(redisClient(t), redisPrefix(t), policy.CallbackPolicy{}, nil)
	if ids, err := st.CancelServed(context.Background(), quitter, callbacks.KindAbandoned); err != nil || len(ids) != 1 {
		t.Fatalf("cancel the abandoned caller's callback: %v %v", ids, err)
	}

	followUp(t, env, uniquePhone(), "1")
	followUp(t, env, uniquePhone(), "2")

	eventually(t, 60*time.Second, "the elder moved from senior to general", func() bool {
		return env.metric(t, overflowed) > overflows
	})
	ag := env.phone(t, "2001")
	events := agentStream(t, env, "/api/v1/agents/2001/events")
	call := agentTalksBriefly(t, ag)
	if code := env.api(t, "POST", "/api/v1/agents/2001/login", nil); code != 200 {
		t.Fatalf("login 2001: %d", code)
	}
	for i := 0; i < 2; i++ {
		if pop := nextPop(t, events, 40*time.Second); pop.Data["queue"] != "general" {
			t.Fatalf("2001 offered %+v, want a caller of the general queue", pop.Data)
		}
		call.wait(t, 30*time.Second)
		if i == 0 {
			call = agentTalksBriefly(t, ag)
		}
	}
	elder.wait(t, 20*time.Second)
	waiting.wait(t, 20*time.Second)
	fault.wait(t, 30*time.Second)
	billing.wait(t, 90*time.Second)
	eventually(t, 30*time.Second, "the complaint escalated", func() bool {
		return len(escalations(env.order(t, complaint.ID))) > 0
	})
}

// awaitScraped waits until Prometheus has scraped what the query asks for.
func awaitScraped(t *testing.T, base, query string) {
	t.Helper()
	eventually(t, 30*time.Second, "Prometheus to scrape "+query, func() bool {
		pr, err := promGet(base, "/api/v1/query", url.Values{"query": {query}})
		return err == nil && len(pr.Data.Result) > 0
	})
}
