package sipp

// The side of a call the hotline places: an agent's softphone, a customer
// called back through the carrier. A scenario is UASHead(captures), then
// UASAnswer (or UASRingOut, or a refusal such as Busy's), then UASAwaitBye
// or UASHangUp, then Tail.

// Captures for UASHead: what the rest of the scenario needs from the
// INVITE (sipp refuses a variable that is set but never used).
const (
	// CaptureCSeq keeps the INVITE's CSeq, for UASRingOut's 487.
	CaptureCSeq = `<ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="cseq"/>`
	// CaptureDialog keeps From and Contact, for UASHangUp's BYE.
	CaptureDialog = `<ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/><ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>`
	// Require95598 fails the scenario unless the call shows 95598 as its
	// caller ID (a callback through the carrier), and logs it.
	Require95598 = `<ereg regexp="95598" search_in="hdr" header="From:" check_it="true" assign_to="shown"/><log message="caller ID shown: [$shown]"/>`
)

// UASHead receives an INVITE with the captures the scenario needs, and
// rings. With Data.Stamp it logs the caller's number and the moment
// ("ring"), which needs CaptureDialog.
func UASHead(captures string) string {
	const stamp = `{{if .Stamp}}<gettimeofday assign_to="s0,u0"/><ereg regexp="[0-9]{11}" search_in="hdr" header="From:" assign_to="phone"/><log message="ring [$phone] [$s0] [$u0]"/>{{end}}`
	recv := `<recv request="INVITE" crlf="true"{{if .Stamp}}><action>` + stamp + `</action></recv>{{else}}/>{{end}}`
	if captures != "" {
		recv = `<recv request="INVITE" crlf="true"><action>` + captures + stamp + `</action></recv>`
	}
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
{{if .Comment}}<!-- {{.Comment}} -->
{{end}}<scenario name="uas">
` + recv + `
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Length: 0

]]></send>
`
}

// UASAnswer answers after Data.AnswerAfterMS, offering A-law, µ-law and
// RFC 4733 events, and takes the ACK (logged "talk" with Data.Stamp).
const UASAnswer = `<pause milliseconds="{{.AnswerAfterMS}}"/>
<send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=uas 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv

]]></send>
<recv request="ACK" crlf="true"{{if .Stamp}}><action><gettimeofday assign_to="s1,u1"/><log message="talk [$phone] [$s1] [$u1]"/></action></recv>{{else}}/>{{end}}
`

// UASAwaitBye: the other side hangs up (within two minutes).
const UASAwaitBye = `<recv request="BYE" timeout="120000"/>
` + okToBye

// UASHangUp: this side hangs up after Data.TalkMS (needs CaptureDialog).
const UASHangUp = `<pause milliseconds="{{.TalkMS}}"/>
<send retrans="500"><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:uas@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$from]
Call-ID: [call_id]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
`

// UASRingOut: never answers; the caller cancels (needs CaptureCSeq).
const UASRingOut = `<recv request="CANCEL" timeout="120000"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
<send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq:[$cseq]
Content-Length: 0

]]></send>
<recv request="ACK"/>
`

// Busy answers an INVITE with 486 Busy Here: a whole scenario.
const Busy = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="busy">
<recv request="INVITE" crlf="true"/>
<send><![CDATA[
SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
<recv request="ACK"/>
</scenario>
`

// Softphone is an agent's phone taking the next call: it rings, answers
// after Data.AnswerAfterMS and hangs up after Data.TalkMS.
func Softphone() string { return UASHead(CaptureDialog) + UASAnswer + UASHangUp + Tail }
