//go:build e2e

package e2e

import (
	"testing"
	"time"
)

// featureXML: an agent's softphone dials a feature code, answering the
// digest challenge as a real phone does, and the hotline hangs up after
// confirming.
const featureXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="feature code">
<send retrans="500"><![CDATA[
INVITE sip:{{.Phone}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:{{.Phone}}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{{.ID}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=agent 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000

]]></send>
<recv response="100" optional="true"/>
<recv response="401" auth="true"/>
<send><![CDATA[
ACK sip:{{.Phone}}@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]feat[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Content-Length: 0

]]></send>
<send retrans="500"><![CDATA[
INVITE sip:{{.Phone}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:{{.Phone}}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:{{.ID}}@[local_ip]:[local_port]>
[authentication username={{.ID}} password={{.Password}}]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=agent 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000

]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rtd="true"/>
<send><![CDATA[
ACK sip:{{.Phone}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:{{.Phone}}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 ACK
Content-Length: 0

]]></send>
` + string(awaitBye) + scenarioTail

// dialFeature makes agent id's softphone dial a feature code.
func dialFeature(t *testing.T, env *Env, id, code string) {
	t.Helper()
	sipPort, mediaPort := ports()
	s := startSipp(t, "feature-"+id+"-"+code,
		render(t, featureXML, scenarioData{ID: id, Password: env.Agents[id], Phone: code}), env.SIPAddr, sipPort, mediaPort)
	s.wait(t, 30*time.Second)
}

// An agent logs in, pauses, gets ready and logs out from the softphone
// with feature codes; each change is what the API then shows.
func TestAgentFeatureCodes(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t)
	for _, step := range []struct{ code, state, reason string }{
		{"*21", "available", ""},
		{"*23", "paused", "softphone"},
		{"*24", "available", ""},
		{"*22", "logged_out", ""},
	} {
		dialFeature(t, env, "2002", step.code)
		a := env.agentState(t, "2002")
		if a.State != step.state || a.Reason != step.reason {
			t.Fatalf("after %s: %+v, want %s %s", step.code, a, step.state, step.reason)
		}
	}
}
