//go:build e2e

package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/browser"
)

// postAs POSTs a JSON body to base+path with a token; it returns the
// status and the body.
func postAs(t *testing.T, base, token, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// A real caller reports a complaint and reaches agent 2001 (complaint
// skill only). Two controller replicas run; the agent's transfer request
// goes to the replica that does NOT own the call, so it must travel
// through Redis to the owner. The owner hangs agent 2001 up (after-call
// work), the caller hears the transfer prompt and waits in the billing
// queue, and agent 2002 (billing skill only) gets the caller: the screen
// pop (API stream and the desk page in Chromium, screenshot checked) says
// it is a transfer from 2001 in the complaint queue and carries the
// complaint. The work order's audit trail and the call record note the
// transfer; agent 2002 is the record's agent. Refusals are clear: another
// agent may not transfer the call, an unknown queue is a 400.
func TestBlindTransferToAnotherQueue(t *testing.T) {
	env := loadEnv(t)
	rdb, prefix := deskRedis(t)
	ctx := context.Background()
	bin := ensureChromium(t)
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
	env.setSkills(t, "2002", map[string]int{"billing": 1})
	env.agentsOnly(t, "2001", "2002")
	events := agentStream(t, env, "/api/v1/agents/2002/events")

	// Agent 2002's desk, in a real browser.
	bctx, cancel := context.WithTimeout(ctx, 170*time.Second)
	defer cancel()
	b, err := browser.Launch(bctx, bin, 1440, 900)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Deadline(time.Now().Add(180 * time.Second))
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
	step("available", b.WaitFor(bctx, `document.getElementById("state").dataset.state === "available"`))

	first := ag1.answer(t, 300*time.Millisecond) // stays on until the hotline hangs it up
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("3"), awaitByeWithin(150*time.Second))
	var a1 struct {
		State  string
		CallID string `json:"call_id"`
	}
	eventually(t, 60*time.Second, "agent 2001 talking to the caller", func() bool {
		return env.api(t, "GET", "/api/v1/agents/2001", &a1) == 200 && a1.State == "on_call" && a1.CallID != ""
	})
	callID := a1.CallID
	var ticketID string
	for _, tk := range env.tickets(t, phone) {
		if tk.Type == "complaint" {
			ticketID = tk.ID
		}
	}
	if ticketID == "" {
		t.Fatalf("no complaint of %s", phone)
	}
	owner := rdb.HGet(ctx, prefix+"call:"+callID, "owner").Val()
	other := map[string]string{"test-replica": httpB, "test-replica-b": env.HTTP}[owner]
	if other == "" {
		t.Fatalf("call %s has owner %q", callID, owner)
	}
	t.Logf("call %s is owned by %s; the transfer is asked at %s", callID, owner, other)

	path := "/api/v1/calls/" + callID + "/transfer"
	for _, tc := range []struct {
		token, body string
		code        int
		want        string
	}{
		{testAgent2002Token, `{"queue":"billing"}`, 403, "is not the call this agent is on"},
		{testAgent2001Token, `{"queue":"sales"}`, 400, "unknown queue"},
		{testAgent2001Token, `{"queue":`, 400, "malformed JSON"},
	} {
		if code, body := postAs(t, other, tc.token, path, tc.body); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s; want %d with %q", tc.body, code, body, tc.code, tc.want)
		}
	}
	// Agent 2002's phone answers after 3 s: the caller hears the
	// transfer prompt meanwhile.
	second := ag2.talk(t, 3*time.Second, 4*time.Second)
	code, body := postAs(t, other, testAgent2001Token, path, `{"queue":"billing"}`)
	if code != 200 || !strings.Contains(body, `"from_agent":"2001"`) || !strings.Contains(body, `"from_queue":"complaint"`) ||
		!strings.Contains(body, `"ticket_id":"`+ticketID+`"`) {
		t.Fatalf("transfer: %d %s", code, body)
	}
	t.Logf("transfer: %s", body)
	env.awaitMedia(t, phone, "sound:hotline/transfer_queue", 5*time.Second)
	first.wait(t, 15*time.Second) // the hotline hung agent 2001 up
	if st := env.agentState(t, "2001").State; st != "wrap_up" && st != "available" {
		t.Errorf("agent 2001 after the transfer: %s", st)
	}

	pop := nextPop(t, events, 30*time.Second)
	t.Logf("screen pop of agent 2002: %v", pop.Data)
	if pop.Data["call_id"] != callID || pop.Data["transfer"] != true || pop.Data["from_agent"] != "2001" ||
		pop.Data["from_queue"] != "complaint" || pop.Data["queue"] != "billing" || pop.Data["ticket_id"] != ticketID {
		t.Fatalf("screen pop %v", pop.Data)
	}
	step("transfer pop on the desk", b.WaitFor(bctx, `document.getElementById("pop").dataset.call === "`+callID+`" && `+
		`document.getElementById("pop").dataset.transfer === "true" && !document.getElementById("pop-xfer").hidden`))
	step("the complaint opens", b.WaitFor(bctx, `document.getElementById("order").dataset.ticket === "`+ticketID+`"`))
	var said string
	step("pop text", b.Eval(`document.getElementById("pop-xfer").textContent + " " + document.getElementById("pop-from").textContent`, &said))
	if said != "转接 由坐席 2001 从「投诉」队列转入" {
		t.Errorf("the desk says %q", said)
	}
	png, err := b.Screenshot()
	step("screenshot", err)
	dir := os.Getenv("HOTLINE_RUN_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	step("save screenshot", os.WriteFile(filepath.Join(dir, "desk-transfer.png"), png, 0o644))
	for _, sel := range []string{"#pop", "#order"} {
		r, err := b.Box(sel)
		step("box of "+sel, err)
		reg, err := browser.Inspect(png, r)
		step("inspect "+sel, err)
		t.Logf("%s: %.0fx%.0f px, %d colours, %.1f%% ink", sel, r.Width, r.Height, reg.Colours, 100*reg.Ink)
		if r.Width < 200 || r.Height < 200 || reg.Colours < 20 || reg.Ink < 0.02 {
			t.Errorf("%s looks blank in the screenshot: %+v %+v", sel, r, reg)
		}
	}
	// The violet 转接 tag is drawn.
	r, err := b.Box("#pop-xfer")
	step("box of the tag", err)
	if reg, err := browser.Inspect(png, r); err != nil || r.Width < 20 || reg.Ink < 0.1 {
		t.Errorf("the 转接 tag is not drawn: %+v %+v %v", r, reg, err)
	}

	second.wait(t, 60*time.Second) // agent 2002 talked and hung up
	c.wait(t, 30*time.Second)

	var tk struct {
		Audit []struct{ Actor, Action, Note string }
	}
	if code := env.api(t, "GET", "/api/v1/tickets/"+ticketID, &tk); code != 200 {
		t.Fatalf("ticket %s: %d", ticketID, code)
	}
	noted := false
	for _, a := range tk.Audit {
		noted = noted || (a.Action == "note" && a.Actor == "e2e-agent-2001" && strings.Contains(a.Note, "转接") && strings.Contains(a.Note, "billing"))
	}
	if !noted {
		t.Errorf("no transfer note on work order %s: %+v", ticketID, tk.Audit)
	}
	var cr struct {
		Queue, Agent, Outcome string
		TicketID              string `json:"ticket_id"`
		Transfers             []struct {
			FromAgent string `json:"from_agent"`
			FromQueue string `json:"from_queue"`
			ToQueue   string `json:"to_queue"`
			By        string
		}
	}
	eventually(t, 10*time.Second, "the call record of "+callID, func() bool {
		return env.apiJSON(t, testSupervisorToken, "/api/v1/calls/"+callID, &cr) == 200
	})
	t.Logf("call record %s: %+v", callID, cr)
	if cr.Agent != "2002" || cr.Queue != "billing" || cr.Outcome != "agent" || cr.TicketID != ticketID || len(cr.Transfers) != 1 ||
		cr.Transfers[0].FromAgent != "2001" || cr.Transfers[0].FromQueue != "complaint" || cr.Transfers[0].ToQueue != "billing" ||
		cr.Transfers[0].By != "e2e-agent-2001" {
		t.Errorf("call record %s: %+v", callID, cr)
	}
	// Agent 2001 passed the caller on but still reaches the work order.
	if code, _ := env.apiAs(t, testAgent2001Token, "GET", "/api/v1/tickets/"+ticketID); code != 200 {
		t.Errorf("agent 2001 reads the transferred work order: %d", code)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
}
