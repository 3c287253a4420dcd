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

// The caller's dialog with the hotline.
const (
	callerURI     = "sip:{{.Service}}@[remote_ip]:[remote_port]"
	callerFrom    = "From: <sip:{{.Phone}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"
	callerTo      = "To: <" + callerURI + ">"
	callerContact = "sip:{{.Phone}}@[local_ip]:[local_port]"
)

// callerRequest is the caller's INVITE (with its offer), ACK or BYE.
func callerRequest(method string, cseq int) string {
	r := request{method: method, uri: callerURI, from: callerFrom, to: callerTo + "[peer_tag_param]", cseq: cseq, contact: callerContact}
	switch method {
	case "INVITE":
		r.to, r.sdp = callerTo, sdp("caller", "8 101")
	case "ACK":
		r.once = true
	}
	return r.String()
}

// HangUp: the caller sends BYE.
var HangUp = Step(callerRequest("BYE", 2) + `<recv response="200" crlf="true"/>
`)

// okToBye answers the BYE just received.
var okToBye = reply{status: "200 OK", contact: true}.String()

// AwaitBye: the hotline hangs the caller up within Data.ByeTimeoutMS.
var AwaitBye = Step(`<recv request="BYE" timeout="{{.ByeTimeoutMS}}"` +
	`{{if .Stamp}}><action><gettimeofday assign_to="s3,u3"/><log message="bye {{.Phone}} [$s3] [$u3]"/></action></recv>{{else}}/>{{end}}
` + okToBye)

// AwaitByeWithin is AwaitBye for a caller who may wait long: the hotline
// hangs up within d.
func AwaitByeWithin(d time.Duration) Step {
	return Step(strings.Replace(string(AwaitBye), "{{.ByeTimeoutMS}}", fmt.Sprint(d.Milliseconds()), 1))
}

// answered takes the final answer to an INVITE (provisional ones optional).
func answered(stamp string) string {
	return `<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rtd="true"` + stamp + "\n"
}

var callerHead = header("{{.Name}}") +
	`{{if .Stamp}}<nop><action><gettimeofday assign_to="s0,u0"/><log message="inv {{.Phone}} [$s0] [$u0]"/></action></nop>
{{end}}` + callerRequest("INVITE", 1) +
	answered(`{{if .Stamp}}><action><gettimeofday assign_to="s1,u1"/><log message="ans {{.Phone}} [$s1] [$u1]"/></action></recv>{{else}}/>{{end}}`) +
	callerRequest("ACK", 1)

// Tail ends every scenario.
const Tail = `
<ResponseTimeRepartition value="10, 20, 100, 500, 1000"/>
</scenario>
`

// Caller is the scenario of a customer who dials Data.Service from
// Data.Phone, is answered, and follows the script.
func Caller(steps ...Step) string { return script(callerHead, steps) }

// register is the softphone's REGISTER, the second with credentials.
func register(cseq int, auth string) string {
	return request{method: "REGISTER", uri: "sip:[remote_ip]:[remote_port]",
		from: "From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]reg[call_number]", to: "To: <sip:{{.ID}}@[remote_ip]>",
		cseq: cseq, contact: "sip:{{.ID}}@[local_ip]:[local_port]", extra: auth + "Expires: 3600\n"}.String()
}

// Register is an agent's softphone registering (REGISTER with digest auth)
// as Data.ID with Data.Password, from the port it then takes calls on.
var Register = header("register") + register(1, "") + `<recv response="401" auth="true"/>
` + register(2, credentials) + `<recv response="200"/>
</scenario>
`

// credentials answer a digest challenge as Data.ID.
const credentials = "[authentication username={{.ID}} password={{.Password}}]\n"

// An agent's dialog when it dials a feature code (Data.Phone).
const (
	featureURI  = "sip:{{.Phone}}@[remote_ip]:[remote_port]"
	featureFrom = "From: <sip:{{.ID}}@[remote_ip]>;tag=[pid]feat[call_number]"
	featureTo   = "To: <" + featureURI + ">"
)

// featureRequest is a request of the agent's feature-code call.
func featureRequest(r request) string {
	r.uri, r.from = featureURI, featureFrom
	if r.to == "" {
		r.to = featureTo + "[peer_tag_param]"
	}
	return r.String()
}

// FeatureHangUp: the agent ends its feature-code call (the echo test).
var FeatureHangUp = Step(featureRequest(request{method: "BYE", cseq: 3, contact: "sip:{{.ID}}@[local_ip]:[local_port]"}) +
	`<recv response="200" crlf="true"/>
`)

// Feature is the scenario of an agent's softphone (Data.ID, Data.Password)
// dialling the feature code Data.Phone (*21 …), answering the digest
// challenge as a real phone does, then following the script once answered
// (AwaitBye: the hotline confirms and hangs up; FeatureHangUp: the agent
// ends the call).
func Feature(steps ...Step) string {
	invite := func(cseq int, auth string) string {
		return featureRequest(request{method: "INVITE", to: featureTo, cseq: cseq, contact: "sip:{{.ID}}@[local_ip]:[local_port]",
			extra: auth, sdp: sdp("agent", "8 101")})
	}
	head := header("feature code") + invite(1, "") +
		`<recv response="100" optional="true"/>
<recv response="401" auth="true"/>
` + featureRequest(request{method: "ACK", via: "[last_Via:]", to: "[last_To:]", cseq: 1, once: true}) +
		invite(2, credentials) + answered("/>") +
		featureRequest(request{method: "ACK", cseq: 2, once: true})
	return script(head, steps)
}
