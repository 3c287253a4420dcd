package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/desk"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/recordings"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
)

// deskEnv is the API with the desk wired in, on one real Redis: agent
// 1001 talks to 13800138000 on call c1; agent 1002 is available. ids
// names the work orders, calls and recordings by role in the story.
type deskEnv struct {
	*env
	ids map[string]string
}

func newDeskEnv(t *testing.T) *deskEnv {
	t.Helper()
	ctx := context.Background()
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	pol := policy.Default()
	reg := agents.NewRegistry(rdb, "t:", nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Ensure(ctx, []string{"1001", "1002"}))
	tk := tickets.New(rdb, "t:", nil)
	tk.SetTaxonomy(pol)
	cbs := callbacks.NewStore(rdb, "t:", pol.Callbacks(), nil)
	wo := workorders.New(tk, pol, cbs, outages.New(rdb, "t:", nil), rdb, "t:", "test", workorders.Config{}, metrics.Discard(), zerolog.Nop(), nil)
	recs := cdr.New(rdb, "t:", pol.Records(), nil)
	accts := accounts.New(rdb, "t:")
	must(accts.Put(ctx, accounts.Account{Number: "1000000001", Name: "张伟", Phones: []string{"13800138000"},
		Address: "海淀区中关村大街1号", Area: "海淀区", Class: "important", BirthYear: 1950}))
	dir := t.TempDir()
	rec := recordings.New(rdb, "t:", dir, pol.Recordings(), nil)

	ids := map[string]string{}
	create := func(name, phone string) {
		t.Helper()
		tt, err := tk.Create(ctx, tickets.Ticket{Type: tickets.TypeComplaint, Phone: phone})
		must(err)
		ids[name] = tt.ID
	}
	create("call", "13800138000")     // the work order of agent 1001's call
	create("caller", "13800138000")   // another of the same caller
	create("stranger", "13900139000") // somebody else's
	create("past", "13700137000")     // of a call agent 1001 took before
	create("other", "13600136000")    // of a call agent 1002 took

	// Earlier calls, on record.
	now := time.Now()
	for _, r := range []cdr.Record{
		{CallID: "c0", Kind: cdr.KindInbound, Phone: "13700137000", Start: now.Add(-time.Hour), AgentAnswer: now.Add(-59 * time.Minute),
			QueueJoin: now.Add(-59*time.Minute - 10*time.Second), End: now.Add(-55 * time.Minute), Queue: "complaint", Agent: "1001",
			Outcome: "agent", TicketID: ids["past"]},
		{CallID: "c9", Kind: cdr.KindInbound, Phone: "13600136000", Start: now.Add(-time.Hour), AgentAnswer: now.Add(-59 * time.Minute),
			QueueJoin: now.Add(-59*time.Minute - 10*time.Second), End: now.Add(-55 * time.Minute), Queue: "complaint", Agent: "1002",
			Outcome: "agent", TicketID: ids["other"]},
	} {
		must(recs.Write(ctx, r))
	}
	for _, r := range []recordings.Recording{
		{ID: "r-c0", CallID: "c0", Agent: "1001", TicketID: ids["past"], Phone: "13700137000", Start: now.Add(-59 * time.Minute)},
		{ID: "r-c9", CallID: "c9", Agent: "1002", TicketID: ids["other"], Phone: "13600136000", Start: now.Add(-59 * time.Minute)},
	} {
		must(rec.Add(ctx, r))
		must(os.WriteFile(filepath.Join(dir, r.ID+".wav"), []byte("RIFF-"+r.ID), 0o644))
	}

	// Agent 1001 takes call c1, as the queue does it.
	must(reg.Login(ctx, "1001"))
	must(rdb.HSet(ctx, "t:call:c1", "owner", "test", "phone", "13800138000", "ticket", ids["call"]).Err())
	if id, ok, err := reg.ClaimIdle(ctx, "c1"); err != nil || !ok || id != "1001" {
		t.Fatalf("claim %s %v %v", id, ok, err)
	}
	must(reg.Publish(ctx, "1001", agents.EventScreenPop, agents.ScreenPop{Agent: "1001", CallID: "c1", Phone: "13800138000", TicketID: ids["call"]}))
	must(reg.Answered(ctx, "1001", "c1"))
	must(reg.Login(ctx, "1002"))
	if _, err := recs.NewFold(reg.EventsKey(), "test", zerolog.Nop()).Once(ctx); err != nil {
		t.Fatal(err)
	}

	e := &env{redis: rs, tk: tk, ariOK: true}
	d := Deps{Token: token, Tokens: testTokens(t), Metrics: http.NotFoundHandler(), Tickets: tk, Orders: wo, Agents: reg, Callbacks: cbs,
		Health: func(context.Context) map[string]Part { return map[string]Part{} }, Log: zerolog.Nop(),
		Policy: pol, Work: desk.NewWork(reg, recs, rdb, "t:"), Accounts: accts, Calls: recs, Recordings: rec,
		Desk: http.NotFoundHandler()}
	e.srv = httptest.NewServer(New(d))
	t.Cleanup(e.srv.Close)
	return &deskEnv{env: e, ids: ids}
}

// raw makes a request and returns the status, content type and body.
func (e *env) raw(t *testing.T, tok, method, path string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestDeskAccess is the access table of the desk and of the work an agent
// token may reach, route by role. Rows run in order.
func TestDeskAccess(t *testing.T) {
	e := newDeskEnv(t)
	const (
		a1    = agent1001Token
		a2    = agent1002Token
		sup   = supervisorToken
		admin = token
	)
	id := func(name string) string { return e.ids[name] }
	tkt := func(name string) string { return "/api/v1/tickets/" + id(name) }
	act := func(action string) string { return `{"action":"` + action + `"}` }
	for _, tc := range []struct {
		who, method, path, body string
		code                    int
		want, not               string
	}{
		// Who am I; the lists a desk picks from.
		{a1, "GET", "/api/v1/whoami", "", 200, `"agent":"1001"`, ""},
		{sup, "GET", "/api/v1/whoami", "", 200, `"role":"supervisor"`, ""},
		{a2, "GET", "/api/v1/taxonomy", "", 200, `"pause_reasons":[{"en":"Break","id":"break","name":"小休"}`, ""},
		{admin, "GET", "/api/v1/taxonomy", "", 200, `"subjects":[{"class":"business","id":"meter_seal"`, ""},

		// The caller an agent serves, with its profile and work orders.
		{a1, "GET", "/api/v1/agents/1001/caller", "", 200, `"address":"海淀区中关村大街1号"`, ""},
		{a1, "GET", "/api/v1/agents/1001/caller", "", 200, `"age_group":"senior"`, ""},
		{a1, "GET", "/api/v1/agents/1001/caller", "", 200, `"live":true`, ""},
		{a2, "GET", "/api/v1/agents/1001/caller", "", 403, "may act only on agent 1002", ""},
		{a2, "GET", "/api/v1/agents/1002/caller", "", 409, "serving no caller", ""},
		{sup, "GET", "/api/v1/agents/1001/caller", "", 200, `"phone":"13800138000"`, ""},

		// Work orders: the caller's and the agent's own calls'.
		{a1, "GET", "/api/v1/tickets?phone=13800138000", "", 200, id("caller"), id("stranger")},
		{a1, "GET", "/api/v1/tickets?phone=13900139000", "", 403, "only: ?phone=13800138000", ""},
		{a1, "GET", "/api/v1/tickets", "", 403, "only: ?phone=13800138000", ""},
		{a2, "GET", "/api/v1/tickets?phone=13800138000", "", 403, "serves no caller now", ""},
		{sup, "GET", "/api/v1/tickets?phone=13900139000", "", 200, id("stranger"), ""},
		{a1, "GET", tkt("call"), "", 200, `"id":"` + id("call"), ""},
		{a1, "GET", tkt("caller"), "", 200, `"id":"` + id("caller"), ""},
		{a1, "GET", tkt("past"), "", 200, `"id":"` + id("past"), ""},
		{a1, "GET", tkt("stranger"), "", 403, "neither of a call of agent 1001 nor of the caller", ""},
		{a1, "GET", tkt("other"), "", 403, "neither of a call", ""},
		{a1, "GET", "/api/v1/tickets/20990101000001", "", 403, "is not of a call of this agent", ""},
		{a2, "GET", tkt("call"), "", 403, "the agent is serving no caller now", ""},
		{a2, "GET", tkt("other"), "", 200, `"id":"` + id("other"), ""},
		{sup, "GET", "/api/v1/tickets/20990101000001", "", 404, "not found", ""},
		{admin, "GET", tkt("stranger"), "", 200, `"id":"`, ""},

		// Acting on them: note, classify, register, assign, transfer, start, resolve.
		{a1, "POST", tkt("call") + "/actions", `{"action":"note","note":"客户反映抄表员态度差"}`, 200, `"actor":"zhang.wei"`, ""},
		{a1, "POST", tkt("call") + "/notes", `{"note":"已致歉"}`, 200, `"note":"已致歉"`, ""},
		{a1, "POST", tkt("call") + "/actions", `{"action":"classify"}`, 400, "", "403"},
		{a1, "POST", tkt("call") + "/actions", act("register"), 200, `"status":"registered"`, ""},
		{a1, "POST", tkt("call") + "/assign", `{"to":"1001"}`, 200, `"assigned_to":"1001"`, ""},
		{a1, "POST", tkt("call") + "/actions", `{"action":"transfer","assign_to":"station-7"}`, 200, `"assigned_to":"station-7"`, ""},
		{a1, "POST", tkt("call") + "/actions", act("start"), 200, `"status":"in_progress"`, ""},
		{a1, "POST", tkt("call") + "/actions", `{"action":"resolve","result":"explained"}`, 200, `"result":"explained"`, ""},
		{a1, "POST", tkt("call") + "/actions", act("close"), 403, `action \"close\" is the back office's`, ""},
		{a1, "POST", tkt("caller") + "/actions", act("urge"), 403, "back office", ""},
		{a1, "POST", tkt("caller") + "/actions", act("escalate"), 403, "back office", ""},
		{a1, "POST", tkt("stranger") + "/actions", `{"action":"note","note":"x"}`, 403, "neither of a call", ""},
		{a1, "POST", tkt("stranger") + "/notes", `{"note":"x"}`, 403, "neither of a call", ""},
		{a1, "POST", tkt("stranger") + "/assign", `{"to":"1001"}`, 403, "neither of a call", ""},
		{a2, "POST", tkt("call") + "/notes", `{"note":"x"}`, 403, "serving no caller", ""},
		{sup, "POST", tkt("caller") + "/actions", act("urge"), 200, `"urge_count":1`, ""},

		// Creating: for the caller served now only.
		{a1, "POST", "/api/v1/tickets", `{"type":"consultation","phone":"13800138000","note":"问电价"}`, 201, `"actor":"zhang.wei"`, ""},
		{a1, "POST", "/api/v1/tickets", `{"type":"consultation","phone":"13900139000"}`, 403, "for the caller it serves (13800138000) only", ""},
		{a2, "POST", "/api/v1/tickets", `{"type":"consultation","phone":"13800138000"}`, 403, "serving no caller now", ""},
		{sup, "POST", "/api/v1/tickets", `{"type":"consultation","phone":"13900139000"}`, 201, `"type":"consultation"`, ""},

		// Pauses from the policy's list; the system's reasons are not chosen.
		{a2, "POST", "/api/v1/agents/1002/pause", `{"reason":"nap"}`, 400, "unknown pause reason \\\"nap\\\": the policy's reasons are break, lunch", ""},
		{a2, "POST", "/api/v1/agents/1002/pause", `{"reason":"no_answer"}`, 400, "unknown pause reason", ""},
		{a2, "POST", "/api/v1/agents/1002/pause", `{"reason":"training"}`, 200, `"reason":"training"`, ""},
		{a2, "POST", "/api/v1/agents/1002/pause", "", 200, `"reason":"break"`, ""},
		{a2, "POST", "/api/v1/agents/1002/ready", "", 200, `"state":"available"`, ""},

		// The wrap-up code of the agent's call.
		{a1, "POST", "/api/v1/agents/1001/wrapup", `{"code":"order_taken"}`, 200, `"call_id":"c1"`, ""},
		{a1, "POST", "/api/v1/agents/1001/wrapup", `{"code":"lunch"}`, 400, "unknown wrap-up code", ""},
		{a2, "POST", "/api/v1/agents/1001/wrapup", `{"code":"answered"}`, 403, "may act only on agent 1002", ""},
		{a2, "POST", "/api/v1/agents/1002/wrapup", `{"code":"answered"}`, 200, `"call_id":"c9"`, ""},
		{sup, "POST", "/api/v1/agents/1001/wrapup", `{"code":"answered"}`, 200, `"call_id":"c1"`, ""},

		// Call records and statistics: an agent sees its own.
		{a1, "GET", "/api/v1/calls", "", 200, `"call_id":"c0"`, `"call_id":"c9"`},
		{a1, "GET", "/api/v1/calls?agent=1002", "", 403, "its own calls and figures only", ""},
		{a1, "GET", "/api/v1/calls/c0", "", 200, `"agent":"1001"`, ""},
		{a1, "GET", "/api/v1/calls/c9", "", 403, "not one this agent took", ""},
		{sup, "GET", "/api/v1/calls", "", 200, `"call_id":"c9"`, ""},
		{sup, "GET", "/api/v1/calls?queue=complaint&phone=13600136000", "", 200, `"call_id":"c9"`, `"call_id":"c0"`},
		{sup, "GET", "/api/v1/calls?queue=vip", "", 400, "unknown queue", ""},
		{sup, "GET", "/api/v1/calls?since=yesterday", "", 400, "since must be", ""},
		{sup, "GET", "/api/v1/calls/c9", "", 200, `"wrap_up_code":"answered"`, ""},
		{a1, "GET", "/api/v1/stats", "", 200, `"agent":"1001"`, `"agent":"1002"`},
		{a1, "GET", "/api/v1/stats?agent=1002", "", 403, "its own", ""},
		{sup, "GET", "/api/v1/stats", "", 200, `"agent":"1002"`, ""},

		// Recordings: an agent lists its own calls' only.
		{a1, "GET", "/api/v1/recordings", "", 200, `"id":"r-c0"`, `"r-c9"`},
		{a1, "GET", "/api/v1/recordings?agent=1002", "", 403, "its own", ""},
		{a1, "GET", "/api/v1/recordings/r-c9", "", 403, "not of a call this agent took", ""},
		{a1, "GET", "/api/v1/recordings/nope", "", 403, "not of a call this agent took", ""},
		{sup, "GET", "/api/v1/recordings?ticket=" + id("other"), "", 200, `"id":"r-c9"`, `"r-c0"`},
		{sup, "GET", "/api/v1/recordings/nope", "", 404, "not found", ""},
	} {
		who := map[string]string{a1: "agent1001", a2: "agent1002", sup: "supervisor", admin: "admin"}[tc.who]
		t.Run(who+" "+tc.method+" "+tc.path, func(t *testing.T) {
			code, body, _ := e.as(t, tc.who, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) || (tc.not != "" && strings.Contains(body, tc.not)) {
				t.Fatalf("%d %s; want %d with %q without %q", code, body, tc.code, tc.want, tc.not)
			}
		})
	}
	// The order agent 1001 created for its caller is its own from now on.
	_, body, _ := e.as(t, a1, "GET", "/api/v1/tickets?phone=13800138000", "")
	if !strings.Contains(body, `"type":"consultation"`) {
		t.Fatalf("created order not listed: %s", body)
	}
}

// Downloads: WAV for supervisors and the agent on the call; CSV of calls.
func TestDeskDownloads(t *testing.T) {
	e := newDeskEnv(t)
	for _, tc := range []struct {
		who, path string
		code      int
		ctype     string
		want      string
	}{
		{supervisorToken, "/api/v1/recordings/r-c9", 200, "audio/wav", "RIFF-r-c9"},
		{agent1002Token, "/api/v1/recordings/r-c9", 200, "audio/wav", "RIFF-r-c9"},
		{agent1001Token, "/api/v1/recordings/r-c0", 200, "audio/wav", "RIFF-r-c0"},
		{agent1001Token, "/api/v1/recordings/r-c9", 403, "application/json", "not of a call this agent took"},
		{supervisorToken, "/api/v1/calls?format=csv", 200, "text/csv", "c0,inbound,13700137000"},
		{agent1001Token, "/api/v1/calls?format=csv", 200, "text/csv", "c0,inbound"},
	} {
		code, ctype, body := e.raw(t, tc.who, "GET", tc.path)
		if code != tc.code || !strings.HasPrefix(ctype, tc.ctype) || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s %q; want %d %s with %q", tc.path, code, ctype, body, tc.code, tc.ctype, tc.want)
		}
		if tc.who == agent1001Token && strings.Contains(body, "c9,") {
			t.Errorf("%s: agent 1001 got agent 1002's call: %s", tc.path, body)
		}
	}
}
