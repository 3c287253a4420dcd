//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/browser"
	"github.com/hotline95598/hotline/recordings"
)

// deskRedis is the test stack's Redis, for what the API cannot do: a
// customer account of the test's own, a recording's index entry.
func deskRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: envValue(t, "HOTLINE_REDIS_ADDR"), Password: envValue(t, "HOTLINE_REDIS_PASSWORD")})
	t.Cleanup(func() { _ = rdb.Close() })
	prefix := envValue(t, "HOTLINE_REDIS_PREFIX")
	if prefix == "" {
		prefix = "hotline:"
	}
	return rdb, prefix
}

// apiAs calls the API with a token; it returns the status and the body.
func (e *Env) apiAs(t *testing.T, token, method, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.HTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// An agent signs in on /desk/ with its own token in a real browser, logs
// in, and a real sipp caller (a known customer who reports a complaint)
// reaches it: the screen pop shows the caller with the address from the
// customer profile, the complaint opens with its audit trail, and the note
// the agent types during the call lands on the work order under the
// agent's name. The screenshots are checked (the pop and the order are not
// blank) and kept in .run/test/. The controller records the conversation
// (the policy records every agent call): the recording is listed by the
// caller's number and the work order, the supervisor and the agent on the
// call download it as WAV, the other agent may not; and the call leaves
// one call record naming the agent, the queue and the recording.
func TestDeskScreenPopAndNote(t *testing.T) {
	env := loadEnv(t)
	bin := ensureChromium(t)
	ctx := context.Background()
	rdb, prefix := deskRedis(t)
	phone := uniquePhone()
	acct := accounts.Account{Number: "88" + phone[len(phone)-8:], Name: "王秀英", Phones: []string{phone},
		Address: "北京市海淀区学院路30号科大院12号楼", Area: "海淀区", Transformer: "TX-0301", Class: "important", BirthYear: 1980}
	if err := accounts.New(rdb, prefix).Put(ctx, acct); err != nil {
		t.Fatal(err)
	}
	ag := env.phone(t, "2001")
	env.agentsOnly(t) // everyone logged out; the desk logs 2001 in

	bctx, cancel := context.WithTimeout(ctx, 150*time.Second)
	defer cancel()
	b, err := browser.Launch(bctx, bin, 1440, 900)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Deadline(time.Now().Add(160 * time.Second))
	dir := os.Getenv("HOTLINE_RUN_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			dom, _ := b.DOM()
			t.Fatalf("%s: %v\npage errors: %v\n%s", what, err, b.Errors(), tail(dom, 5000))
		}
	}
	shot := func(name string) []byte {
		t.Helper()
		png, err := b.Screenshot()
		step("screenshot", err)
		path := filepath.Join(dir, name)
		step("save screenshot", os.WriteFile(path, png, 0o644))
		t.Logf("screenshot %s (%d bytes)", path, len(png))
		return png
	}
	// notBlank checks that a part of the page drew something: text and
	// lines in more than one colour, not one flat panel.
	notBlank := func(png []byte, selector string) {
		t.Helper()
		r, err := b.Box(selector)
		step("box of "+selector, err)
		reg, err := browser.Inspect(png, r)
		step("inspect "+selector, err)
		t.Logf("%s: %.0fx%.0f px, %d colours, %.1f%% ink", selector, r.Width, r.Height, reg.Colours, 100*reg.Ink)
		if r.Width < 200 || r.Height < 200 || reg.Colours < 20 || reg.Ink < 0.02 {
			t.Errorf("%s looks blank in the screenshot: %+v %+v", selector, r, reg)
		}
	}

	step("open the desk", b.Navigate(env.HTTP+"/desk/"))
	step("sign-in form", b.WaitFor(bctx, `document.body && document.body.dataset.ready === "true"`))
	step("type the token", b.Type("#token", testAgent2001Token))
	step("sign in", b.Click("#btn-signin"))
	step("live stream", b.WaitFor(bctx, `document.getElementById("conn").dataset.state === "connected"`))
	step("agent shown", b.WaitFor(bctx, `document.getElementById("state").dataset.state === "logged_out"`))
	step("log in", b.Click("#btn-login"))
	step("available", b.WaitFor(bctx, `document.getElementById("state").dataset.state === "available"`))

	// The phone rings 2 s before it answers: the pop shows while it rings.
	agentCall := ag.answer(t, 2*time.Second)
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("3"), pause(45*time.Second), hangUp)
	popped := `document.getElementById("pop").dataset.live === "true" && ` +
		`document.querySelector('#pop [data-field="phone"]').textContent === "` + phone + `" && ` +
		`document.querySelector('#pop [data-field="address"]').textContent === "` + acct.Address + `"`
	step("screen pop of the call", b.WaitFor(bctx, popped))
	var callID, ticketID string
	step("call id", b.Eval(`document.getElementById("pop").dataset.call`, &callID))
	step("the complaint opens", b.WaitFor(bctx, `document.getElementById("order").dataset.ticket !== "" && `+
		`document.querySelector('#order [data-field="type"]').dataset.value === "complaint"`))
	step("ticket id", b.Eval(`document.getElementById("order").dataset.ticket`, &ticketID))
	var pop map[string]string
	step("pop fields", b.Eval(`Object.fromEntries([...document.querySelectorAll('#pop [data-field]')].map(e => [e.dataset.field, e.textContent]))`, &pop))
	t.Logf("screen pop of call %s, work order %s: %v", callID, ticketID, pop)
	if pop["account"] != acct.Number || pop["name"] != acct.Name || pop["area"] != "海淀区" || pop["class"] != "重要客户" ||
		!strings.Contains(pop["menu_path"], "3") || pop["queue"] != "投诉" || pop["age_group"] != "成年" {
		t.Errorf("screen pop %v", pop)
	}
	png := shot("desk-pop.png")
	notBlank(png, "#pop")
	notBlank(png, "#order")

	// During the call the agent notes the complaint.
	step("on the call", b.WaitFor(bctx, `document.getElementById("state").dataset.state === "on_call"`))
	const note = "客户反映抄表员上门态度恶劣，要求道歉并核实"
	step("type the note", b.Type("#note-text", note))
	step("add the note", b.Click("#btn-note"))
	step("note in the audit trail", b.WaitFor(bctx, `[...document.querySelectorAll('#audit tbody tr[data-action="note"] td.note')].some(td => td.textContent === "`+note+`")`))
	png = shot("desk-note.png")
	notBlank(png, "#order")

	// Still during the call, the agent classifies the complaint the IVR
	// opened: class, a subject of that class, the grade.
	sel := func(id, value string) {
		t.Helper()
		step("choose "+id, b.Eval(`(function(){var s=document.getElementById("`+id+`");s.value="`+value+`";s.dispatchEvent(new Event("change"));return s.value;})()`, nil))
	}
	sel("cls-class", "service")
	sel("cls-subject", "staff_attitude")
	sel("cls-grade", "IV")
	step("classify", b.Click("#btn-classify"))
	step("classify in the audit trail", b.WaitFor(bctx, `document.querySelector('#audit tbody tr[data-action="classify"]') !== null`))
	png = shot("desk-classified.png")
	notBlank(png, "#order")
	var tk struct {
		Class, Subject, Grade string
		Audit                 []struct{ Actor, Action, Note, To string }
	}
	if code := env.api(t, "GET", "/api/v1/tickets/"+ticketID, &tk); code != 200 {
		t.Fatalf("ticket %s: %d", ticketID, code)
	}
	found, classified := false, false
	for _, a := range tk.Audit {
		found = found || (a.Action == "note" && a.Actor == "e2e-agent-2001" && a.Note == note)
		classified = classified || (a.Action == "classify" && a.Actor == "e2e-agent-2001" && a.To == "service/staff_attitude IV")
	}
	if !found {
		t.Fatalf("the note is not on work order %s under the agent's name: %+v", ticketID, tk.Audit)
	}
	// The grade is checked on the classify entry: the test policy's
	// deadlines are seconds, so the ladder may raise it right after.
	if !classified || tk.Class != "service" || tk.Subject != "staff_attitude" {
		t.Fatalf("work order %s after classify: class %q subject %q grade %q, audit %+v", ticketID, tk.Class, tk.Subject, tk.Grade, tk.Audit)
	}

	// The controller records the conversation from the agent's answer:
	// the recording is listed while the call goes on.
	var listed struct{ Recordings []recordings.Recording }
	eventually(t, 10*time.Second, "the call's recording listed by the caller's number", func() bool {
		listed.Recordings = nil
		code := env.apiJSON(t, testSupervisorToken, "/api/v1/recordings?phone="+phone, &listed)
		return code == 200 && len(listed.Recordings) > 0
	})
	rec := listed.Recordings[0]
	if len(listed.Recordings) != 1 || rec.CallID != callID || rec.TicketID != ticketID || rec.Agent != "2001" || rec.Queue != "complaint" {
		t.Fatalf("recordings of %s: %+v", phone, listed.Recordings)
	}

	// English, then the end of the call: after-call work and the wrap-up code.
	step("switch to English", b.Click("#btn-lang"))
	step("English labels", b.WaitFor(bctx, `document.documentElement.lang === "en" && document.querySelector('[data-i18n="pop_title"]').textContent === "Screen pop"`))
	shot("desk-en.png")
	c.wait(t, 90*time.Second)
	agentCall.wait(t, 20*time.Second)
	step("after the call", b.WaitFor(bctx, `document.getElementById("pop").dataset.live === "false"`))
	step("set the wrap-up code", b.Click("#btn-wrapup"))
	step("wrap-up saved", b.WaitFor(bctx, `document.getElementById("wrapup-done").textContent.includes("`+callID+`")`))
	if got := rdb.HGet(ctx, prefix+"cdr:"+callID, "wrap_up").Val(); got != "answered" {
		t.Errorf("wrap-up code of call %s in Redis: %q", callID, got)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}

	// The recording ended with the call: it has a duration, and the
	// supervisor and the agent on the call download it; another agent may not.
	var got recordings.Recording
	eventually(t, 10*time.Second, "the recording's duration", func() bool {
		return env.apiJSON(t, testSupervisorToken, "/api/v1/recordings?call="+callID, &listed) == 200 &&
			len(listed.Recordings) == 1 && listed.Recordings[0].DurationS > 0
	})
	got = listed.Recordings[0]
	t.Logf("recording %s of call %s: %.1f s, file %s", got.ID, callID, got.DurationS, got.File)
	for _, tc := range []struct {
		token string
		code  int
	}{{testSupervisorToken, 200}, {testAgent2001Token, 200}, {testAgent2002Token, 403}} {
		code, body := env.apiAs(t, tc.token, "GET", "/api/v1/recordings/"+got.ID)
		if code != tc.code || (code == 200 && (!strings.HasPrefix(string(body), "RIFF") || len(body) <= 44)) {
			t.Errorf("download as %.12s…: %d %.80q; want %d", tc.token, code, body, tc.code)
		}
		if code == 200 {
			t.Logf("downloaded %s: %d bytes of WAV", got.ID, len(body))
		}
	}
	code, body := env.apiAs(t, testSupervisorToken, "GET", "/api/v1/recordings?ticket="+ticketID)
	if code != 200 || !strings.Contains(string(body), `"id":"`+got.ID+`"`) {
		t.Errorf("recordings of the work order: %d %s", code, body)
	}

	// One call record: the agent, the queue, the recording, the work order.
	var cr struct {
		Kind, Phone, Queue, Agent, Outcome string
		EndReason                          string    `json:"end_reason"`
		TicketID                           string    `json:"ticket_id"`
		RecordingID                        string    `json:"recording_id"`
		WrapUpCode                         string    `json:"wrap_up_code"`
		AgentAnswer                        time.Time `json:"agent_answer"`
	}
	eventually(t, 10*time.Second, "the call record of "+callID, func() bool {
		return env.apiJSON(t, testSupervisorToken, "/api/v1/calls/"+callID, &cr) == 200
	})
	t.Logf("call record %s: %+v", callID, cr)
	if cr.Kind != "inbound" || cr.Phone != phone || cr.Queue != "complaint" || cr.Agent != "2001" || cr.Outcome != "agent" ||
		cr.TicketID != ticketID || cr.RecordingID != got.ID || cr.WrapUpCode != "answered" || cr.AgentAnswer.IsZero() ||
		(cr.EndReason != "caller_hangup" && cr.EndReason != "agent_hangup") {
		t.Errorf("call record %s: %+v", callID, cr)
	}
}

// apiJSON GETs path with a token and decodes a 200 answer into out.
func (e *Env) apiJSON(t *testing.T, token, path string, out any) int {
	t.Helper()
	code, body := e.apiAs(t, token, "GET", path)
	if code == 200 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return code
}

// testAgent2002Token is the plain token of agent 2002 in deploy/test/api-tokens.
const testAgent2002Token = "test-agent-2002-token-not-secret"
