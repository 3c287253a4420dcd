//go:build e2ecluster

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// featureHead: an agent's phone dials a feature code at the edge, answers
// the edge's digest challenge (407) as a real phone does, is answered, and
// acknowledges along the route set the edge recorded.
func featureHead(id, pw, code string) string {
	invite := func(cseq int, auth string) string {
		return fmt.Sprintf(`<send retrans="500"><![CDATA[
INVITE sip:FEATCODE@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:AGENTID@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:FEATCODE@[remote_ip]>
Call-ID: [call_id]
CSeq: %d INVITE
Contact: <sip:AGENTID@[local_ip]:[local_port]>
%sMax-Forwards: 70
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
`, cseq, auth)
	}
	x := `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="feature code">
` + invite(1, "") + `<recv response="100" optional="true"/>
<recv response="407" auth="true"/>
<send><![CDATA[
ACK sip:FEATCODE@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:AGENTID@[remote_ip]>;tag=[pid]feat[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
` + invite(2, "[authentication username=AGENTID password=AGENTPW]\n") + `<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rrs="true"/>
<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:AGENTID@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:FEATCODE@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 ACK
[routes]
Max-Forwards: 70
Content-Length: 0

]]></send>
`
	return strings.NewReplacer("FEATCODE", code, "AGENTID", id, "AGENTPW", pw).Replace(x)
}

// featureHangUp: the agent ends the call (the echo test) along the route set.
const featureHangUp = `<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:AGENTID@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:FEATCODE@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
[routes]
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
`

// dialFeature makes agent a's phone dial code through the edge; the hotline
// confirms by voice and hangs up.
func (c *cluster) dialFeature(t *testing.T, a *agentPhone, code string) {
	t.Helper()
	x := featureHead(a.ID, c.Agents[a.ID], code) + string(awaitBye(30*time.Second)) + scenarioTail
	sip, rtp := ports()
	runOn(t, "feature-"+a.ID+"-"+code, x, "127.0.0.1", c.Edge, sip, rtp).mustSucceed(t, 40*time.Second)
}

// An agent's phone registered at the edge logs in, pauses, gets ready and
// logs out with feature codes. Each code goes through Kamailio to the next
// node, so both nodes' controllers serve some; whichever node takes it, the
// change is the agent's (named by the edge), and both nodes' APIs show it
// (one Redis). Then the echo test (*43) through the edge: answered by a
// node, and the phone counts as busy for the whole cluster while on it.
func TestAgentFeatureCodesOnEitherNode(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	const id = "2002"
	ag := c.phone(t, id)
	c.logoutAll(t, c.A)
	t.Cleanup(func() { c.logoutAll(t, c.A) })

	served := map[string]int{}
	for round := 0; round < 3 && (round == 0 || served["a"] == 0 || served["b"] == 0); round++ {
		for _, step := range []struct{ code, state, reason string }{
			{"*21", "available", ""},
			{"*23", "paused", "softphone"},
			{"*24", "available", ""},
			{"*22", "logged_out", ""},
		} {
			marks := map[string]logMark{}
			for _, n := range c.nodes() {
				marks[n.Name] = mark(n.Run + "/hotline.log")
			}
			c.dialFeature(t, ag, step.code)
			var by []string
			for _, n := range c.nodes() {
				if strings.Contains(marks[n.Name].since(t), "agent state changed from the softphone") {
					by = append(by, n.Name)
				}
			}
			if len(by) != 1 {
				t.Fatalf("%s: served by nodes %v, want exactly one", step.code, by)
			}
			served[by[0]]++
			for _, n := range c.nodes() {
				var a agentRec
				c.api(t, n, "GET", "/api/v1/agents/"+id, &a)
				if a.State != step.state || a.Reason != step.reason {
					t.Fatalf("after %s (served by node %s), node %s shows %+v; want %s %s", step.code, by[0], n.Name, a, step.state, step.reason)
				}
			}
			t.Logf("%s served by node %s: agent %s %s %s", step.code, by[0], id, step.state, step.reason)
		}
	}
	if served["a"] == 0 || served["b"] == 0 {
		t.Fatalf("feature codes served per node %v: want both nodes", served)
	}

	// *43: the echo test through the edge; while on it the phone is busy
	// for every node (Kamailio's dialog profile), then free again.
	x := featureHead(ag.ID, c.Agents[ag.ID], "*43") + string(pause(3*time.Second)) +
		strings.NewReplacer("FEATCODE", "*43", "AGENTID", ag.ID).Replace(featureHangUp) + scenarioTail
	sip, rtp := ports()
	echo := runOn(t, "echo-"+id, x, "127.0.0.1", c.Edge, sip, rtp)
	eventually(t, 10*time.Second, "agent "+id+"'s phone busy on the echo test", func() bool {
		on, busy, err := c.kam.Status(context.Background(), id)
		return err == nil && on && busy
	})
	echo.mustSucceed(t, 20*time.Second)
	eventually(t, 10*time.Second, "agent "+id+"'s phone free after the echo test", func() bool {
		on, busy, err := c.kam.Status(context.Background(), id)
		return err == nil && on && !busy
	})
}
