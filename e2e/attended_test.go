//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/browser"
)

// A real caller takes a complaint and talks to agent 2001; agent 2002 is
// free.
// Two controller replicas run, and every request of the attended transfer
// goes to the replica that does NOT own the call. Agent 2001 consults 2002:
// the caller hears the consult prompt and music on hold, 2002's phone
// rings with a screen pop that says it is an attended transfer from 2001,
// and answers; the two agents talk in a bridge of their own. Agent 2001
// completes: 2001 is hung up and goes to after-call work, the caller is
// bridged with 2002. The call record lists the attended transfer and ends
// with agent 2002; the work order's audit trail notes it and 2002 may work
// the order. Refusals are clear: 2002 may not complete 2001's call, an
// unknown agent is a 400, a second consultation a 409. The test ends the
// call by hanging the caller up through ARI.
func TestAttendedTransferToAgent(t *testing.T) {
	env := loadEnv(t)
	rdb, prefix := deskRedis(t)
	ctx := context.Background()
	replicaEnv, err := filepath.Abs("../deploy/test/replica2.env")
	if err != nil {
		t.Fatal(err)
	}
	const httpB = "http://127.0.0.1:8091"
	stackCmd(t, "hotline.sh", "replica-up", replicaEnv)
	t.Cleanup(func() { stackCmd(t, "hotline.sh", "replica-down", replicaEnv) })
	awaitHealthy(t, httpB, 30*time.Second)

	ag1, ag2 := env.phone(t, "2001"), env.phone(t, "2002")
	env.setSkills(t, "2001", map[string]int{"complaint": 1})
	env.setSkills(t, "2002", map[string]int{"complaint": 1})
	env.agentsOnly(t, "2001") // 2002 logs in once 2001 has the caller
	events1 := agentStream(t, env, "/api/v1/agents/2001/events")
	events2 := agentStream(t, env, "/api/v1/agents/2002/events")

	// Agent 2002's desk, in a real browser.
	bctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	b, err := browser.Launch(bctx, ensureChromium(t), 1440, 900)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Deadline(time.Now().Add(100 * time.Second))
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			dom, _ := b.DOM()
			t.Fatalf("%s: %v\npage errors: %v\n%s", what, err, b.Errors(), tail(dom, 3000))
		}
	}
	step("open the desk", b.Navigate(env.HTTP+"/desk/"))
	step("sign-in form", b.WaitFor(bctx, `document.body && document.body.dataset.ready === "true"`))
	step("type the token", b.Type("#token", testAgent2002Token))
	step("sign in", b.Click("#btn-signin"))
	step("live stream", b.WaitFor(bctx, `document.getElementById("conn").dataset.state === "connected"`))

	first := ag1.answer(t, 300*time.Millisecond)   // stays on until the hotline hangs it up
	second := ag2.answer(t, 1000*time.Millisecond) // likewise
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("3"), awaitByeWithin(60*time.Second))
	var a1 struct {
		State  string
		CallID string `json:"call_id"`
	}
	eventually(t, 30*time.Second, "agent 2001 talking to the caller", func() bool {
		return env.api(t, "GET", "/api/v1/agents/2001", &a1) == 200 && a1.State == "on_call" && a1.CallID != ""
	})
	callID := a1.CallID
	if code := env.api(t, "POST", "/api/v1/agents/2002/login", nil); code != 200 {
		t.Fatalf("login 2002: %d", code)
	}
	owner := rdb.HGet(ctx, prefix+"call:"+callID, "owner").Val()
	other := map[string]string{"test-replica": httpB, "test-replica-b": env.HTTP}[owner]
	if other == "" {
		t.Fatalf("call %s has owner %q", callID, owner)
	}
	t.Logf("call %s is owned by %s; the transfer is asked at %s", callID, owner, other)
	var colleagues struct{ Agents []struct{ ID, State string } }
	if code := env.apiJSON(t, testAgent2001Token, "/api/v1/colleagues", &colleagues); code != 200 ||
		!slices.ContainsFunc(colleagues.Agents, func(a struct{ ID, State string }) bool { return a.ID == "2002" }) {
		t.Fatalf("colleagues of 2001: %d %+v", code, colleagues)
	}

	path := "/api/v1/calls/" + callID + "/transfer"
	check := func(token, p, body string, wantCode int, want string) string {
		t.Helper()
		code, got := postAs(t, other, token, p, body)
		if code != wantCode || !strings.Contains(got, want) {
			t.Fatalf("POST %s %s: %d %s; want %d with %q", p, body, code, got, wantCode, want)
		}
		return got
	}
	check(testAgent2001Token, path, `{"agent":"2999"}`, 400, "unknown agent")
	check(testAgent2001Token, path+"/complete", ``, 409, "no consultation")
	got := check(testAgent2001Token, path, `{"agent":"2002"}`, 200, `"state":"ringing"`)
	t.Logf("consult: %s", got)
	check(testAgent2001Token, path, `{"agent":"2002"}`, 409, "")
	check(testAgent2002Token, path+"/complete", ``, 403, "the call is not this agent's") // 2002 is consulted, not the call's agent

	pop := nextPop(t, events2, 15*time.Second)
	t.Logf("screen pop of agent 2002: %v", pop.Data)
	if pop.Data["call_id"] != callID || pop.Data["transfer"] != true || pop.Data["transfer_kind"] != "attended" ||
		pop.Data["from_agent"] != "2001" || pop.Data["phone"] != phone {
		t.Fatalf("screen pop %v", pop.Data)
	}
	env.awaitMedia(t, phone, "sound:hotline/transfer_consult", 10*time.Second)
	step("attended transfer pop on the desk", b.WaitFor(bctx, `document.getElementById("pop").dataset.call === "`+callID+`" && `+
		`document.getElementById("pop").dataset.transferKind === "attended" && !document.getElementById("pop-xfer").hidden`))
	var said string
	step("pop text", b.Eval(`document.getElementById("pop-xfer").textContent + " " + document.getElementById("pop-from").textContent`, &said))
	if said != "咨询转接 坐席 2001 咨询后转入（原「投诉」队列）" {
		t.Errorf("the desk says %q", said)
	}
	png, err := b.Screenshot()
	step("screenshot", err)
	step("save screenshot", os.WriteFile(filepath.Join(runDir(t), "desk-attended.png"), png, 0o644))
	r, err := b.Box("#pop-xfer")
	step("box of the tag", err)
	if reg, err := browser.Inspect(png, r); err != nil || r.Width < 40 || reg.Ink < 0.1 {
		t.Errorf("the 咨询转接 tag is not drawn: %+v %+v %v", r, reg, err)
	}
	eventually(t, 15*time.Second, "agent 2001 and 2002 in the consultation bridge", func() bool {
		for id, chans := range env.bridges(t) {
			if strings.HasPrefix(id, "cs-"+callID+"-") && len(chans) == 2 {
				return true
			}
		}
		return false
	})
	if a := env.agentState(t, "2002"); a.State != "on_call" || a.Reason != "consult" {
		t.Fatalf("agent 2002 consulted: %+v", a)
	}
	got = check(testAgent2001Token, path+"/complete", ``, 200, `"state":"completed"`)
	t.Logf("complete: %s", got)

	eventually(t, 10*time.Second, "the caller bridged with agent 2002", func() bool {
		chans := env.bridges(t)["br-"+callID]
		if len(chans) != 2 || !slices.Contains(chans, callID) {
			return false
		}
		var a2 struct {
			State, Reason string
			CallID        string `json:"call_id"`
		}
		return env.api(t, "GET", "/api/v1/agents/2002", &a2) == 200 && a2.State == "on_call" && a2.Reason == "" && a2.CallID == callID
	})
	first.wait(t, 10*time.Second) // the hotline hung agent 2001 up
	wrapped := false
	for deadline := time.After(10 * time.Second); !wrapped; {
		select {
		case ev := <-events1:
			wrapped = ev.Type == "state" && ev.Data["state"] == "wrap_up"
		case <-deadline:
			t.Fatal("agent 2001 never went to after-call work")
		}
	}

	var ticketID string
	for _, tk := range env.tickets(t, phone) {
		if tk.Type == "complaint" {
			ticketID = tk.ID
		}
	}
	if code, _ := env.apiAs(t, testAgent2002Token, "GET", "/api/v1/tickets/"+ticketID); code != 200 {
		t.Errorf("agent 2002 reads the caller's work order %q: %d", ticketID, code)
	}
	var tk struct {
		Audit []struct{ Actor, Action, Note string }
	}
	if code := env.api(t, "GET", "/api/v1/tickets/"+ticketID, &tk); code != 200 {
		t.Fatalf("ticket %s: %d", ticketID, code)
	}
	if !slices.ContainsFunc(tk.Audit, func(a struct{ Actor, Action, Note string }) bool {
		return a.Action == "note" && a.Actor == "e2e-agent-2001" && strings.Contains(a.Note, "咨询转接") && strings.Contains(a.Note, "2002")
	}) {
		t.Errorf("no attended transfer note on work order %s: %+v", ticketID, tk.Audit)
	}

	env.ariDelete(t, "/channels/"+callID) // the caller's line drops
	c.wait(t, 15*time.Second)
	second.wait(t, 15*time.Second) // and the hotline hung agent 2002 up
	var cr struct {
		Agent, Outcome string
		TicketID       string `json:"ticket_id"`
		Transfers      []struct {
			Kind      string
			FromAgent string `json:"from_agent"`
			ToAgent   string `json:"to_agent"`
			By        string
		}
	}
	eventually(t, 10*time.Second, "the call record of "+callID, func() bool {
		return env.apiJSON(t, testSupervisorToken, "/api/v1/calls/"+callID, &cr) == 200
	})
	t.Logf("call record %s: %+v", callID, cr)
	if cr.Agent != "2002" || cr.Outcome != "agent" || cr.TicketID != ticketID || len(cr.Transfers) != 1 || cr.Transfers[0].Kind != "attended" ||
		cr.Transfers[0].FromAgent != "2001" || cr.Transfers[0].ToAgent != "2002" || cr.Transfers[0].By != "e2e-agent-2001" {
		t.Errorf("call record %s: %+v", callID, cr)
	}
	if a := env.agentState(t, "2002"); a.State != "wrap_up" && a.State != "available" {
		t.Errorf("agent 2002 after the call: %+v", a)
	}
	// Counted by the replica that owns the call.
	ownerEnv := *env
	ownerEnv.HTTP = map[string]string{"test-replica": env.HTTP, "test-replica-b": httpB}[owner]
	if n := ownerEnv.metric(t, `hotline_agent_transfers_total{outcome="completed",queue="complaint"}`); n < 1 {
		t.Errorf("hotline_agent_transfers_total completed = %v", n)
	}
}
