// Package sipp holds the sipp scenarios of the hotline's SIP tests, written
// once: the end-to-end tests (e2e), the load benchmark (bench/sipload) and
// the scenarios a newcomer runs by hand (deploy/dev/sipp, generated from
// here by Dev) all build theirs from these parts.
//
// A scenario is a text/template over Data. A caller is Caller(data, steps...):
// the INVITE to the hotline, then its script of Steps (pauses, key presses,
// speech, who hangs up). The other side of a call the hotline places (an
// agent's softphone, a customer called back through the carrier) is built
// from the UAS parts: UASHead, UASAnswer, then UASAwaitBye, UASHangUp or
// UASRingOut, then Tail. Register and Feature are an agent's softphone
// registering and dialling a feature code.
//
// With Data.Stamp each step that matters logs the caller's number and the
// wall clock (inv, ans, key, bye; ring and talk at the agent), so that the
// benchmark can join caller and agent logs per call.
package sipp

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// PcapDir is where Debian's sip-tester package installs sipp's recordings.
const PcapDir = "/usr/share/sip-tester"

// Data fills a scenario's template.
type Data struct {
	Name    string // the scenario's name (default "caller")
	Comment string // an XML comment at the top, for a file people read
	// Phone is the caller's number; "[field0]" takes it from an injection
	// file (-inf).
	Phone string
	// Service is the number dialled (default "95598"); "[service]" takes
	// it from sipp's -s.
	Service      string
	ID, Password string // an agent's SIP account (Register, Feature)
	// ByeTimeoutMS is how long a caller waits for the hotline's BYE in
	// AwaitBye (default 60000).
	ByeTimeoutMS  int
	AnswerAfterMS int // how long a softphone rings before it answers (UASAnswer)
	TalkMS        int // how long the answering side talks before it hangs up (UASHangUp)
	Stamp         bool
}

// Render fills the scenario text with d (defaults applied).
func Render(text string, d Data) (string, error) {
	if d.Name == "" {
		d.Name = "caller"
	}
	if d.Service == "" {
		d.Service = "95598"
	}
	if d.ByeTimeoutMS == 0 {
		d.ByeTimeoutMS = 60000
	}
	tpl, err := template.New("scenario").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("sipp scenario: %w", err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("sipp scenario: %w", err)
	}
	return b.String(), nil
}

// Step is one part of a caller's script: sipp XML, itself a template over
// Data.
type Step string

// Pause: the caller does nothing for d.
func Pause(d time.Duration) Step {
	return Step(fmt.Sprintf(`<pause milliseconds="%d"/>`, d.Milliseconds()))
}

// stampKey logs the moment of a key press (the benchmark's "key" line).
const stampKey = `{{if .Stamp}}<nop><action><gettimeofday assign_to="s2,u2"/><log message="key {{.Phone}} [$s2] [$u2]"/></action></nop>
{{end}}`

// Tone plays a recording (pcap) to the hotline, e.g. one of sipp's DTMF
// recordings: ShippedKey.
func Tone(pcap string) Step {
	return Step(fmt.Sprintf(`<nop><action><exec play_pcap_audio="%s"/></action></nop>`, pcap))
}

// ShippedKey presses key with the RFC 4733 recording sipp ships. These all
// share one RTP sequence range, so Asterisk drops a second press in one
// call as a duplicate: use a Keypad for more than one key.
func ShippedKey(key rune) Step {
	return stampKey + Tone(fmt.Sprintf("%s/dtmf_2833_%c.pcap", PcapDir, key))
}

// Talk plays 7 s of speech (A-law) to whoever is listening.
func Talk() Step { return Tone(PcapDir + "/g711a.pcap") }

// HangUp: the caller sends BYE.
const HangUp Step = `<send retrans="500"><![CDATA[
BYE sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.Phone}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:{{.Phone}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>
`

// AwaitBye: the hotline hangs the caller up within Data.ByeTimeoutMS.
const AwaitBye Step = `<recv request="BYE" timeout="{{.ByeTimeoutMS}}"` + `{{if .Stamp}}><action><gettimeofday assign_to="s3,u3"/><log message="bye {{.Phone}} [$s3] [$u3]"/></action></recv>{{else}}/>{{end}}
` + okToBye

// AwaitByeWithin is AwaitBye for a caller who may wait long: the hotline
// hangs up within d.
func AwaitByeWithin(d time.Duration) Step {
	return Step(strings.Replace(string(AwaitBye), "{{.ByeTimeoutMS}}", fmt.Sprint(d.Milliseconds()), 1))
}

// okToBye answers the BYE just received.
const okToBye = `<send><![CDATA[
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

// sdpOffer is a caller's audio: A-law and RFC 4733 events.
const sdpOffer = `v=0
o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
`

const callerHead = `<?xml version="1.0" encoding="ISO-8859-1" ?>
{{if .Comment}}<!-- {{.Comment}} -->
{{end}}<scenario name="{{.Name}}">
{{if .Stamp}}<nop><action><gettimeofday assign_to="s0,u0"/><log message="inv {{.Phone}} [$s0] [$u0]"/></action></nop>
{{end}}<send retrans="500"><![CDATA[
INVITE sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.Phone}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{{.Service}}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{{.Phone}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

` + sdpOffer + `
]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rtd="true"{{if .Stamp}}><action><gettimeofday assign_to="s1,u1"/><log message="ans {{.Phone}} [$s1] [$u1]"/></action></recv>{{else}}/>{{end}}
<send><![CDATA[
ACK sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.Phone}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{{.Service}}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:{{.Phone}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
`

// Tail ends every scenario.
const Tail = `
<ResponseTimeRepartition value="10, 20, 100, 500, 1000"/>
</scenario>
`

// Caller is the scenario of a customer who dials Data.Service from
// Data.Phone, is answered, and follows the script.
func Caller(script ...Step) string {
	var b strings.Builder
	b.WriteString(callerHead)
	for _, s := range script {
		b.WriteString(string(s))
		b.WriteString("\n")
	}
	b.WriteString(Tail)
	return b.String()
}

// Register is an agent's softphone registering (REGISTER with digest auth)
// as Data.ID with Data.Password, from the port it then takes calls on.
const Register = `<?xml version="1.0" encoding="ISO-8859-1" ?>
{{if .Comment}}<!-- {{.Comment}} -->
{{end}}<scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:{{.ID}}@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:{{.ID}}@[local_ip]:[local_port]>
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:{{.ID}}@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:{{.ID}}@[local_ip]:[local_port]>
[authentication username={{.ID}} password={{.Password}}]
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
`

// featureInvite is an agent's INVITE for the feature code Data.Phone.
func featureInvite(cseq int, auth string) string {
	return fmt.Sprintf(`<send retrans="500"><![CDATA[
INVITE sip:{{.Phone}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:{{.Phone}}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: %d INVITE
Contact: <sip:{{.ID}}@[local_ip]:[local_port]>
%sMax-Forwards: 70
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
`, cseq, auth)
}

// featureChallenged: the first INVITE is refused with a challenge, which
// the phone acknowledges.
const featureChallenged = `<recv response="100" optional="true"/>
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
`

// featureAnswered: the INVITE with credentials is answered and acknowledged.
const featureAnswered = `<recv response="100" optional="true"/>
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
`

// FeatureHangUp: the agent ends its feature-code call (the echo test).
const FeatureHangUp Step = `<send retrans="500"><![CDATA[
BYE sip:{{.Phone}}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]feat[call_number]
To: <sip:{{.Phone}}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
Contact: <sip:{{.ID}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>
`

// Feature is the scenario of an agent's softphone (Data.ID, Data.Password)
// dialling the feature code Data.Phone (*21 …), answering the digest
// challenge as a real phone does, then following the script once answered
// (AwaitBye: the hotline confirms and hangs up; FeatureHangUp: the agent
// ends the call).
func Feature(script ...Step) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="feature code">
`)
	b.WriteString(featureInvite(1, ""))
	b.WriteString(featureChallenged)
	b.WriteString(featureInvite(2, "[authentication username={{.ID}} password={{.Password}}]\n"))
	b.WriteString(featureAnswered)
	for _, s := range script {
		b.WriteString(string(s))
		b.WriteString("\n")
	}
	b.WriteString(Tail)
	return b.String()
}
