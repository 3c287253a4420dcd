//go:build e2ecluster

package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

// agentPhone is an agent's softphone that registered once, at the edge,
// from the port it then takes calls on.
type agentPhone struct {
	ID           string
	sipPort, rtp int
}

// phone registers agent id's softphone with Kamailio (digest auth) and
// waits until Kamailio's registrar has it.
func (c *cluster) phone(t *testing.T, id string) *agentPhone {
	t.Helper()
	pw, ok := c.Agents[id]
	if !ok {
		t.Fatalf("agent %s is not in HOTLINE_SIP_AGENTS", id)
	}
	a := &agentPhone{ID: id}
	a.sipPort, a.rtp = ports()
	xml, err := scenario.Render(scenario.Register, scenario.Data{ID: id, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	runOn(t, "register-"+id, xml, "127.0.0.1", c.Edge, a.sipPort, a.rtp).mustSucceed(t, 20*time.Second)
	eventually(t, 10*time.Second, "Kamailio to hold agent "+id+"'s registration", func() bool {
		on, _, err := c.kam.Status(context.Background(), id)
		return err == nil && on
	})
	return a
}

// agentAnswersXML is a softphone taking one call through the edge as a real
// phone does: it rings, copies the edge's Record-Route into its answers,
// answers after 300 ms, talks for 2 s (echoing the caller) and hangs up
// with a BYE along the recorded route, through the edge.
const agentAnswersXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent">
<recv request="INVITE" crlf="true" rrs="true">
  <action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/></action>
</recv>
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:AGENT@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<pause milliseconds="300"/>
<send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:AGENT@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv

]]></send>
<recv request="ACK" crlf="true"/>
<pause milliseconds="2000"/>
<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:AGENT@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To:[$from]
Call-ID: [call_id]
CSeq: 1 BYE
[routes]
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
` + scenarioTail

// answer starts the phone listening for its next call (agentAnswersXML).
func (a *agentPhone) answer(t *testing.T, n int) *sipp {
	t.Helper()
	return runOn(t, fmt.Sprintf("agent-%s-%d", a.ID, n), strings.ReplaceAll(agentAnswersXML, "AGENT", a.ID),
		"127.0.0.1", "", a.sipPort, a.rtp, "-rtp_echo")
}

type agentRec struct {
	ID, State, Reason string
	CallID            string `json:"call_id"`
}

// agentsOnly logs in exactly these agents (through node n's API: agent
// state is in the shared Redis) and everyone out when the test ends.
func (c *cluster) agentsOnly(t *testing.T, n *node, ids ...string) {
	t.Helper()
	c.logoutAll(t, n)
	for _, id := range ids {
		if code := c.api(t, n, "POST", "/api/v1/agents/"+id+"/login", nil); code != 200 {
			t.Fatalf("login %s on node %s: %d", id, n.Name, code)
		}
	}
	t.Cleanup(func() { c.logoutAll(t, n) })
}

func (c *cluster) logoutAll(t *testing.T, n *node) {
	t.Helper()
	var list struct{ Agents []agentRec }
	c.api(t, n, "GET", "/api/v1/agents", &list)
	for _, a := range list.Agents {
		if a.State == "paused" || a.State == "available" || a.State == "wrap_up" {
			c.api(t, n, "POST", "/api/v1/agents/"+a.ID+"/logout", nil)
		}
	}
}

func (c *cluster) agentState(t *testing.T, n *node, id string) string {
	t.Helper()
	var a agentRec
	if code := c.api(t, n, "GET", "/api/v1/agents/"+id, &a); code != 200 {
		t.Fatalf("agent %s on node %s: %d", id, n.Name, code)
	}
	return a.State
}

// agentEvent is one server-sent event of /api/v1/agents/{id}/events.
type agentEvent struct {
	Type string
	Data map[string]any
}

// events opens an agent's event stream on node n; it closes with the test.
func (c *cluster) events(t *testing.T, n *node, agent string) <-chan agentEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", n.HTTP+"/api/v1/agents/"+agent+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("event stream of %s on node %s: %d", agent, n.Name, resp.StatusCode)
	}
	out := make(chan agentEvent, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev agentEvent
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ": ")
			switch k {
			case "event":
				ev.Type = v
			case "data":
				_ = json.Unmarshal([]byte(v), &ev.Data)
			case "":
				if ev.Type != "" {
					out <- ev
				}
				ev = agentEvent{}
			}
		}
	}()
	return out
}

// nextPop waits for the next screen pop on the stream.
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

const generalAnswered = `hotline_queue_calls_answered_total{queue="general"}`

// One agent's phone registers once, at the edge. Callers dial the edge and
// land on both nodes; each presses 0 and is put through to that one agent,
// whichever node took the call: the node rings the phone through the edge
// (PJSIP/edge/sip:2001@edge), Kamailio finds the registration, and the
// controllers ask Kamailio whether the phone is registered and free. The
// agent's state lives in the shared Redis: logged in on node A, watched on
// node B's event stream.
func TestAgentServesCallersOfBothNodes(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	const id = "2001"
	ag := c.phone(t, id)
	c.agentsOnly(t, c.A, id)
	events := c.events(t, c.B, id)

	served := map[string]int{}
	for i := 0; i < 6 && (served["a"] == 0 || served["b"] == 0); i++ {
		calls := callsOn(t, c)
		answered := map[string]float64{}
		for _, n := range c.nodes() {
			answered[n.Name] = metric(t, n, generalAnswered)
		}
		agentCall := ag.answer(t, i)
		phone := uniquePhone(400 + i)
		cl := caller(t, c.Edge, phone, pause(1500*time.Millisecond), press("0"), awaitBye(60*time.Second))
		pop := nextPop(t, events, 30*time.Second)
		if pop.Data["phone"] != phone || pop.Data["agent"] != id {
			t.Fatalf("screen pop %+v, want caller %s put through to agent %s", pop.Data, phone, id)
		}
		agentCall.mustSucceed(t, 30*time.Second)
		cl.mustSucceed(t, 60*time.Second)

		var on *node
		after := callsOn(t, c)
		for _, n := range c.nodes() {
			if after[n.Name]-calls[n.Name] == 1 {
				on = n
			}
		}
		if on == nil || after["a"]+after["b"]-calls["a"]-calls["b"] != 1 {
			t.Fatalf("call %d: calls taken %v -> %v, want one node to take it", i, calls, after)
		}
		if got := metric(t, on, generalAnswered) - answered[on.Name]; got != 1 {
			t.Fatalf("caller %s on node %s: answered in general %v, want 1", phone, on.Name, got)
		}
		served[on.Name]++
		t.Logf("caller %d (%s) took node %s and was put through to agent %s", i, phone, on.Name, id)

		// The phone is free again for the whole cluster (Kamailio saw the
		// BYE end the dialog) and the agent ready after wrap-up.
		eventually(t, 10*time.Second, "Kamailio to see agent "+id+"'s phone free", func() bool {
			on, busy, err := c.kam.Status(context.Background(), id)
			return err == nil && on && !busy
		})
		eventually(t, 15*time.Second, "agent "+id+" available after wrap-up", func() bool {
			return c.agentState(t, c.B, id) == "available"
		})
	}
	if served["a"] == 0 || served["b"] == 0 {
		t.Fatalf("callers served per node %v: want callers of both nodes put through to agent %s", served, id)
	}
}
