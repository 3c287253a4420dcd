//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The work-order tests run against deploy/test/policy.yaml, whose deadlines
// are seconds long so a whole escalation ladder fits in a test.

type audit struct {
	Action, Actor, Note, From, To string
}

type order struct {
	ID, Type, Status, Phone, Grade, Result string
	EscalationLevel                        string   `json:"escalation_level"`
	ParentID                               string   `json:"parent_id"`
	Children                               []string `json:"children"`
	FollowUp                               string   `json:"follow_up"`
	UrgeCount                              int      `json:"urge_count"`
	RepeatCalls                            int      `json:"repeat_calls"`
	Audit                                  []audit
}

func (e *Env) post(t *testing.T, path string, body any, out any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.HTTP+path, strings.NewReader(string(raw)))
	req.Header.Set("Authorization", "Bearer "+e.Token)
	req.Header.Set("X-Actor", "e2e")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (e *Env) order(t *testing.T, id string) order {
	t.Helper()
	var o order
	if code := e.api(t, "GET", "/api/v1/tickets/"+id, &o); code != 200 {
		t.Fatalf("ticket %s: %d", id, code)
	}
	return o
}

func escalations(o order) []string {
	var levels []string
	for _, a := range o.Audit {
		if a.Action == "escalate" {
			levels = append(levels, a.To)
		}
	}
	return levels
}

// A complaint taken on a call climbs the ladder one rung per missed
// deadline when nobody acts on it, each step in its audit trail.
func TestComplaintEscalatesWhenNobodyActs(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2003")
	env.agentsOnly(t, "2003")
	agentCall := agentTalksBriefly(t, ag)
	phone := uniquePhone()
	// The caller complains and talks to the agent; nobody then works the order.
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("3"), awaitByeWithin(60*time.Second))
	c.wait(t, 40*time.Second)
	agentCall.wait(t, 10*time.Second)
	tks := env.tickets(t, phone)
	if len(tks) != 1 || tks[0].Type != "complaint" {
		t.Fatalf("tickets %+v", tks)
	}
	var o order
	eventually(t, 60*time.Second, "three escalations", func() bool {
		o = env.order(t, tks[0].ID)
		return len(escalations(o)) >= 3
	})
	if got := strings.Join(escalations(o)[:3], ">"); got != "technician>station_head>service_centre" {
		t.Fatalf("ladder climbed %s", got)
	}
	o = env.order(t, tks[0].ID)
	if o.Grade == "V" || o.Status != "accepted" {
		t.Fatalf("after escalation: grade %s status %s", o.Grade, o.Status)
	}
}

// Callers in an area with a declared outage hear of it before the menu, and
// their fault reports merge under the outage's one parent work order;
// clearing the outage resolves them and calls each customer back.
func TestOutageMergesReports(t *testing.T) {
	env := loadEnv(t)
	restore := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	var out struct {
		ID           string `json:"id"`
		ParentTicket string `json:"parent_ticket"`
	}
	if code := env.post(t, "/api/v1/outages", map[string]string{"kind": "fault", "area": "海淀区",
		"reason": "10kV line fault", "expected_restore": restore.Format(time.RFC3339)}, &out); code != 201 || out.ParentTicket == "" {
		t.Fatalf("declare outage: %d %+v", code, out)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest("DELETE", env.HTTP+"/api/v1/outages/"+out.ID, nil)
		req.Header.Set("Authorization", "Bearer "+env.Token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	notices := env.metric(t, "hotline_outage_notices_total")
	// Both callers live in 海淀区 and report a fault after hearing the notice.
	for _, phone := range []string{"13600136000", "13500135000"} {
		c := caller(t, env, phone, pause(1500*time.Millisecond), press("1"), pause(4*time.Second), hangUp)
		c.wait(t, 30*time.Second)
	}
	if got := env.metric(t, "hotline_outage_notices_total") - notices; got != 2 {
		t.Fatalf("outage notices %v, want 2", got)
	}
	parent := env.order(t, out.ParentTicket)
	if len(parent.Children) != 2 {
		t.Fatalf("parent %s children %v", parent.ID, parent.Children)
	}
	for _, id := range parent.Children {
		if o := env.order(t, id); o.ParentID != parent.ID || o.Type != "fault" {
			t.Fatalf("child %+v", o)
		}
	}

	// Clearing the outage closes it as a whole: each merged report is
	// resolved with the result power_restored and gets its follow-up call
	// (a fault's may be placed at any hour). Both customers answer it,
	// one after the other, and are satisfied.
	first := customerPressing(t, env, 4*time.Second, "1")
	if code := env.send(t, http.MethodDelete, "/api/v1/outages/"+out.ID, nil, nil); code != 200 {
		t.Fatalf("clear: %d", code)
	}
	for _, id := range parent.Children {
		if o := env.order(t, id); o.Result != "power_restored" || (o.Status != "follow_up" && o.Status != "closed") {
			t.Fatalf("after the clear: %+v", o)
		}
	}
	first.wait(t, 60*time.Second)
	// The other follow-up rang while the first was on: its retry is answered.
	second := customerPressing(t, env, 4*time.Second, "1")
	second.wait(t, 90*time.Second)
	eventually(t, 10*time.Second, "both reports closed, customers satisfied", func() bool {
		for _, id := range parent.Children {
			if o := env.order(t, id); o.Status != "closed" || o.FollowUp != "satisfied" {
				return false
			}
		}
		return true
	})
}

// A caller with an open work order hears its status and presses 9 to urge
// it; the urge (催办) and the repeat call are on the ticket.
func TestRepeatCallerUrges(t *testing.T) {
	env := loadEnv(t)
	phone := uniquePhone()
	// The open work order: a fault report taken at the counter.
	var open order
	if code := env.post(t, "/api/v1/tickets", map[string]any{"type": "fault", "channel": "counter", "phone": phone}, &open); code != 201 {
		t.Fatalf("create: %d %+v", code, open)
	}
	c := caller(t, env, phone, pause(3*time.Second), press("9"), pause(6*time.Second), hangUp)
	c.wait(t, 30*time.Second)
	o := env.order(t, open.ID)
	if o.UrgeCount != 1 || o.RepeatCalls < 1 {
		t.Fatalf("urge count %d, repeat calls %d", o.UrgeCount, o.RepeatCalls)
	}
}

// A repeat caller who already knows what else they want presses its
// main-menu key at the urge offer and gets that choice: 3 writes a
// complaint, without an urge and without "invalid input".
func TestRepeatCallerKeepsTheMenu(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t) // nobody to answer: the complaint caller waits, then hangs up
	phone := uniquePhone()
	var open order
	if code := env.post(t, "/api/v1/tickets", map[string]any{"type": "fault", "phone": phone, "channel": "counter"}, &open); code != 201 {
		t.Fatalf("open order: %d", code)
	}
	c := caller(t, env, phone, pause(3*time.Second), press("3"), pause(8*time.Second), hangUp)
	c.wait(t, 40*time.Second)
	var complaint *ticket
	for _, tk := range env.tickets(t, phone) {
		if tk.Type == "complaint" {
			tk := tk
			complaint = &tk
		}
	}
	if complaint == nil || complaint.MenuPath != "3" {
		t.Fatalf("no complaint from key 3 at the urge offer: %+v", env.tickets(t, phone))
	}
	if o := env.order(t, open.ID); o.UrgeCount != 0 || o.RepeatCalls != 1 {
		t.Fatalf("open order: urge count %d, repeat calls %d; want 0 and 1", o.UrgeCount, o.RepeatCalls)
	}
}

// followUp creates a named complaint from another channel, works it to
// resolved, and lets the customer answer the follow-up call pressing key.
func followUp(t *testing.T, env *Env, phone, key string) order {
	t.Helper()
	var o order
	if code := env.post(t, "/api/v1/tickets", map[string]any{"type": "complaint", "channel": "12398", "phone": phone,
		"named": true, "class": "service", "subject": "staff_attitude", "note": "rude at the counter"}, &o); code != 201 {
		t.Fatalf("create: %d %+v", code, o)
	}
	for _, step := range []map[string]string{
		{"action": "register"}, {"action": "assign", "assign_to": "zhang.wei"}, {"action": "start"},
		// 四不放过: no complaint is closed without its cause and measure.
		{"action": "investigate", "cause": "counter staff impolite", "measure": "service-manner training"},
		{"action": "resolve", "result": "explained", "note": "apologised; staff retrained"},
	} {
		if code := env.post(t, "/api/v1/tickets/"+o.ID+"/actions", step, &o); code != 200 {
			t.Fatalf("%s: %d", step["action"], code)
		}
	}
	if o.Status != "follow_up" {
		t.Fatalf("resolved ticket is %s, want follow_up", o.Status)
	}
	customer := customerPressing(t, env, 4*time.Second, key)
	customer.wait(t, 60*time.Second)
	var after order
	eventually(t, 10*time.Second, "verdict recorded", func() bool {
		after = env.order(t, o.ID)
		return after.FollowUp != ""
	})
	return after
}

// An unhappy customer's ticket is reopened and escalated.
func TestFollowUpUnhappyReopens(t *testing.T) {
	env := loadEnv(t)
	o := followUp(t, env, uniquePhone(), "2")
	if o.FollowUp != "unsatisfied" || o.Status != "in_progress" || len(escalations(o)) == 0 {
		t.Fatalf("after an unhappy follow-up: %+v", o)
	}
}

// A satisfied customer's ticket is closed.
func TestFollowUpSatisfiedCloses(t *testing.T) {
	env := loadEnv(t)
	o := followUp(t, env, uniquePhone(), "1")
	if o.FollowUp != "satisfied" || o.Status != "closed" {
		t.Fatalf("after a satisfied follow-up: %+v", o)
	}
}
