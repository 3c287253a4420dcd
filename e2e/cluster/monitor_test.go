//go:build e2ecluster

package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// phoneStaysXML is a softphone taking one call through the edge and staying
// on until the other side hangs up: it rings, answers after 300 ms (with the
// edge's Record-Route, so in-dialog requests pass the edge) and answers the
// BYE.
const phoneStaysXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="phone">
<recv request="INVITE" crlf="true" rrs="true"/>
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:PHONE@[local_ip]:[local_port]>
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
Contact: <sip:PHONE@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=phone 53655765 2353687637 IN IP[local_ip_type] [local_ip]
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
` + string(awaitByeTail) + scenarioTail

// awaitByeTail: the other side hangs up (within two minutes).
const awaitByeTail step = `<recv request="BYE" timeout="120000"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Length: 0

]]></send>
`

// stay starts the phone listening for one call it stays on until hung up.
func (a *agentPhone) stay(t *testing.T, name string) *sipp {
	t.Helper()
	return runOn(t, name+"-"+a.ID, strings.ReplaceAll(phoneStaysXML, "PHONE", a.ID), "127.0.0.1", "", a.sipPort, a.rtp, "-rtp_echo")
}

// talk plays 7 s of speech (A-law) to whoever listens.
const talk step = `<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>`

// ari reads node n's Asterisk REST interface.
func (c *cluster) ari(t *testing.T, n *node, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", n.ARI+path, nil)
	req.SetBasicAuth(c.ARIUser, c.ARIPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ARI of node %s %s: %v", n.Name, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("ARI of node %s %s: %s", n.Name, path, raw)
		}
	}
	return resp.StatusCode
}

// bridges lists node n's bridges: id -> channels.
func (c *cluster) bridges(t *testing.T, n *node) map[string][]string {
	t.Helper()
	var bs []struct {
		ID       string   `json:"id"`
		Channels []string `json:"channels"`
	}
	c.ari(t, n, "/bridges", &bs)
	out := map[string][]string{}
	for _, b := range bs {
		out[b.ID] = b.Channels
	}
	return out
}

// post sends a JSON body to node n's API.
func (c *cluster) post(t *testing.T, n *node, path string, body, out any) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", n.HTTP+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s%s: %v", n.HTTP, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		_ = json.Unmarshal(got, out)
	}
	return resp.StatusCode, string(got)
}

type monitorInfo struct {
	ID, Agent, Supervisor, Mode, State string
	CallID                             string `json:"call_id"`
	SupervisorChannel                  string `json:"supervisor_channel"`
}

// A caller lands on one node and is put through to agent 2001 (phone
// registered at the edge). The supervisor (2003, registered at the edge,
// not logged in as an agent) asks the OTHER node's controller to listen:
// the request reaches the controller that owns the call, which rings the
// supervisor through the edge and bridges them with a snoop channel on the
// agent's leg in its own Asterisk; they hear the call. Then whisper (a new
// snoop) and barge (into the call's bridge), each asked of the other node.
// The caller hangs up: agent and supervisor are hung up, nothing is left.
func TestSupervisorMonitorsCallOnOtherNode(t *testing.T) {
	c := loadCluster(t)
	c.healthy(t, 30*time.Second)
	ag, sup := c.phone(t, "2001"), c.phone(t, "2003")
	c.agentsOnly(t, c.A, "2001")
	agentCall, supCall := ag.stay(t, "agent"), sup.stay(t, "supervisor")

	before := callsOn(t, c)
	script := []step{pause(1500 * time.Millisecond), press("0"), pause(4 * time.Second)}
	for range 5 {
		script = append(script, talk, pause(8*time.Second))
	}
	cl := caller(t, c.Edge, uniquePhone(600), append(script, pause(5*time.Second), hangUp)...)
	var owner, asked *node
	eventually(t, 10*time.Second, "the caller to reach a controller", func() bool {
		after := callsOn(t, c)
		for _, n := range c.nodes() {
			if after[n.Name] > before[n.Name] {
				owner = n
				return true
			}
		}
		return false
	})
	asked = c.A
	if owner == c.A {
		asked = c.B
	}
	eventually(t, 40*time.Second, "agent 2001 on the call", func() bool { return c.agentState(t, asked, "2001") == "on_call" })
	var a agentRec
	c.api(t, asked, "GET", "/api/v1/agents/2001", &a)
	callBridge := "br-" + a.CallID
	t.Logf("call %s on node %s; the supervisor asks node %s", a.CallID, owner.Name, asked.Name)

	monitor := func(mode string) monitorInfo {
		t.Helper()
		var info monitorInfo
		if code, body := c.post(t, asked, "/api/v1/agents/2001/monitor", map[string]string{"mode": mode, "supervisor": "2003"}, &info); code != 202 {
			t.Fatalf("monitor %s through node %s: %d %s", mode, asked.Name, code, body)
		}
		return info
	}
	info := monitor("listen")
	if info.CallID != a.CallID || info.SupervisorChannel == "" {
		t.Fatalf("monitor %+v for call %s", info, a.CallID)
	}
	supLeg := info.SupervisorChannel

	// listen: in the owner's Asterisk, the supervisor and a snoop channel on
	// the agent's leg share a bridge of their own; the call's bridge keeps
	// caller and agent.
	snoopBridge := func() (string, string) {
		for id, chs := range c.bridges(t, owner) {
			if !strings.HasPrefix(id, "mon-") || len(chs) != 2 {
				continue
			}
			other := chs[0]
			if other == supLeg {
				other = chs[1]
			}
			if (chs[0] == supLeg || chs[1] == supLeg) && strings.Contains(other, "-agent-snoop") {
				return id, other
			}
		}
		return "", ""
	}
	var monBridge, snoop string
	eventually(t, 15*time.Second, "supervisor bridged with a snoop channel on node "+owner.Name, func() bool {
		monBridge, snoop = snoopBridge()
		return monBridge != ""
	})
	var ch struct{ Name string }
	if c.ari(t, owner, "/channels/"+snoop, &ch); !strings.HasPrefix(ch.Name, "Snoop/") {
		t.Fatalf("channel %s is %q, not a snoop channel", snoop, ch.Name)
	}
	if chs := c.bridges(t, owner)[callBridge]; len(chs) != 2 {
		t.Fatalf("call bridge %s while listening: %v", callBridge, chs)
	}
	sent := func() int {
		var st struct {
			TxCount int `json:"txcount"`
		}
		c.ari(t, owner, "/channels/"+supLeg+"/rtp_statistics", &st)
		return st.TxCount
	}
	start := sent()
	eventually(t, 10*time.Second, "audio to the listening supervisor", func() bool { return sent() > start+25 })
	t.Logf("listen: node %s's %s holds %s and %s (%s); audio flows to the supervisor", owner.Name, monBridge, supLeg, snoop, ch.Name)

	// whisper: a new snoop channel (whispering to the agent) replaces it.
	monitor("whisper")
	eventually(t, 10*time.Second, "whisper snoop bridged", func() bool {
		_, s := snoopBridge()
		return s != "" && s != snoop
	})
	// barge: the supervisor is in the call's bridge; the monitor's own
	// bridge is gone.
	if got := monitor("barge"); got.Mode != "barge" || got.SupervisorChannel != supLeg {
		t.Fatalf("barge %+v", got)
	}
	eventually(t, 10*time.Second, "supervisor in the call's bridge", func() bool {
		chs := c.bridges(t, owner)[callBridge]
		return len(chs) == 3 && strings.Contains(strings.Join(chs, ","), supLeg)
	})
	eventually(t, 5*time.Second, "listen/whisper bridge gone after barging", func() bool {
		_, left := c.bridges(t, owner)[monBridge]
		return !left
	})

	// The caller hangs up: agent and supervisor are hung up, nothing left.
	cl.mustSucceed(t, 90*time.Second)
	agentCall.mustSucceed(t, 15*time.Second)
	supCall.mustSucceed(t, 15*time.Second)
	eventually(t, 10*time.Second, "monitor cleaned up on node "+owner.Name, func() bool {
		for id := range c.bridges(t, owner) {
			if strings.HasPrefix(id, "mon-") {
				return false
			}
		}
		var chs []struct{ ID string }
		c.ari(t, owner, "/channels", &chs)
		for _, x := range chs {
			if strings.Contains(x.ID, "-agent-s") {
				return false
			}
		}
		return true
	})
}
