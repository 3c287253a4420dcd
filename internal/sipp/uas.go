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
	return header("uas") + recv + "\n" + reply{status: "180 Ringing", toTag: true, contact: true}.String()
}

// UASAnswer answers after Data.AnswerAfterMS, offering A-law, µ-law and
// RFC 4733 events, and takes the ACK (logged "talk" with Data.Stamp).
var UASAnswer = `<pause milliseconds="{{.AnswerAfterMS}}"/>
` + reply{status: "200 OK", toTag: true, contact: true, sdp: sdp("uas", "8 0 101"), retrans: true}.String() +
	`<recv request="ACK" crlf="true"{{if .Stamp}}><action><gettimeofday assign_to="s1,u1"/><log message="talk [$phone] [$s1] [$u1]"/></action></recv>{{else}}/>{{end}}
`

// UASAwaitBye: the other side hangs up (within two minutes).
var UASAwaitBye = `<recv request="BYE" timeout="120000"/>
` + okToBye

// UASHangUp: this side hangs up after Data.TalkMS (needs CaptureDialog).
var UASHangUp = `<pause milliseconds="{{.TalkMS}}"/>
` + request{method: "BYE", uri: "[$contact]", from: "From: <sip:uas@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]",
	to: "To: [$from]", cseq: 1}.String() + `<recv response="200"/>
`

// UASRingOut: never answers; the caller cancels (needs CaptureCSeq).
var UASRingOut = `<recv request="CANCEL" timeout="120000"/>
` + reply{status: "200 OK"}.String() + reply{status: "487 Request Terminated", toTag: true, cseq: "CSeq:[$cseq]"}.String() +
	`<recv request="ACK"/>
`

// Busy answers an INVITE with 486 Busy Here: a whole scenario.
var Busy = header("busy") + `<recv request="INVITE" crlf="true"/>
` + reply{status: "486 Busy Here", toTag: true}.String() + `<recv request="ACK"/>
</scenario>
`

// Softphone is an agent's phone taking the next call: it rings, answers
// after Data.AnswerAfterMS and hangs up after Data.TalkMS.
func Softphone() string { return UASHead(CaptureDialog) + UASAnswer + UASHangUp + Tail }
