//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"
)

// The scenarios are generated per test: each test scripts its own caller
// (keys, pauses, who hangs up), agent softphones and carrier side.

const pcapDir = "/usr/share/sip-tester"

var nextPort atomic.Int32

func init() { nextPort.Store(int32(21000 + (os.Getpid()%50)*100)) }

// ports returns a SIP port and a media port unused by earlier sipp runs.
func ports() (sip, media int) {
	p := int(nextPort.Add(10))
	return p, p + 4
}

// A step of a caller's script.
type step string

func pause(d time.Duration) step {
	return step(fmt.Sprintf(`<pause milliseconds="%d"/>`, d.Milliseconds()))
}

// press sends keys as RFC 4733 events, one after another.
func press(keys string) step {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, `<nop><action><exec play_pcap_audio="%s"/></action></nop><pause milliseconds="400"/>`+"\n", dtmfPcap(k))
	}
	return step(b.String())
}

// talk plays 7 s of speech (A-law) to whoever is listening.
func talk() step {
	return step(fmt.Sprintf(`<nop><action><exec play_pcap_audio="%s/g711a.pcap"/></action></nop>`, pcapDir))
}

// hangUp: the caller sends BYE.
const hangUp step = `<send retrans="500"><![CDATA[
BYE sip:95598@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.Phone}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:95598@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:{{.Phone}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>
`

// awaitBye: the hotline hangs up the caller.
const awaitBye step = `<recv request="BYE" timeout="{{.ByeTimeoutMS}}"/>
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

const callerHead = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
<send retrans="500"><![CDATA[
INVITE sip:95598@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.Phone}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:95598@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{{.Phone}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv

]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rtd="true"/>
<send><![CDATA[
ACK sip:95598@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{{.Phone}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:95598@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:{{.Phone}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
`

const scenarioTail = `
<ResponseTimeRepartition value="10, 20"/>
</scenario>
`

// sipp is one running sipp process.
type sipp struct {
	name string
	cmd  *exec.Cmd
	dir  string
	out  bytes.Buffer
	done chan error
}

type scenarioData struct {
	Phone, ID, Password string
	ByeTimeoutMS        int
	AnswerAfterMS       int
}

func render(t *testing.T, text string, d scenarioData) string {
	t.Helper()
	if d.ByeTimeoutMS == 0 {
		d.ByeTimeoutMS = 60000
	}
	tpl, err := template.New("s").Parse(text)
	if err != nil {
		t.Fatalf("scenario template: %v", err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, d); err != nil {
		t.Fatalf("scenario template: %v", err)
	}
	return b.String()
}

// startSipp runs sipp with a scenario. target is "" for a server (UAS).
func startSipp(t *testing.T, name, scenario, target string, sipPort, mediaPort int, extra ...string) *sipp {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(sf, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-sf", sf, "-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(sipPort),
		"-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPort), "-bg", "-nostdin",
		"-trace_err", "-trace_msg", "-timeout", "180s", "-timeout_error", "-max_recv_loops", "1000"}
	args = append(args, extra...)
	if target != "" {
		args = append(args, target)
	}
	s := &sipp{name: name, dir: dir, done: make(chan error, 1)}
	// -bg would detach; we want to wait, so run in the foreground instead.
	args = removeArg(args, "-bg")
	s.cmd = exec.Command("sipp", args...)
	s.cmd.Dir = dir
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sipp %s: %v", name, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("sipp %s:\n%s", name, s.logs())
		}
	})
	return s
}

func removeArg(args []string, a string) []string {
	out := args[:0]
	for _, x := range args {
		if x != a {
			out = append(out, x)
		}
	}
	return out
}

// wait waits for sipp to end and fails the test if its scenario failed.
func (s *sipp) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // keep it for the clean-up
		if err != nil {
			t.Fatalf("sipp %s failed: %v", s.name, err)
		}
	case <-time.After(within):
		t.Fatalf("sipp %s did not finish within %s", s.name, within)
	}
}

// logs returns sipp's error log and the tail of its message trace.
func (s *sipp) logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.dir, "*_errors.log"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), tail(string(raw), 3000))
	}
	files, _ = filepath.Glob(filepath.Join(s.dir, "*_messages.log"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), tail(string(raw), 4000))
	}
	fmt.Fprintf(&b, "--- output\n%s\n", tail(s.out.String(), 2000))
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// caller dials 95598 from phone and follows the script.
func caller(t *testing.T, env *Env, phone string, script ...step) *sipp {
	t.Helper()
	var body strings.Builder
	body.WriteString(callerHead)
	for _, s := range script {
		body.WriteString(string(s))
		body.WriteString("\n")
	}
	body.WriteString(scenarioTail)
	sipPort, mediaPort := ports()
	return startSipp(t, "caller-"+phone, render(t, body.String(), scenarioData{Phone: phone}), env.SIPAddr, sipPort, mediaPort)
}

// agentPhone is a softphone: it registers with Asterisk from the port it
// then listens on for calls.
type agentPhone struct {
	ID, Password string
	sipPort      int
	mediaPort    int
}

const registerXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
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

// register makes the softphone register (REGISTER with digest auth).
func (a *agentPhone) register(t *testing.T, env *Env) {
	t.Helper()
	if a.sipPort == 0 {
		a.sipPort, a.mediaPort = ports()
	}
	s := startSipp(t, "register-"+a.ID, render(t, registerXML, scenarioData{ID: a.ID, Password: a.Password}), env.SIPAddr, a.sipPort, a.mediaPort)
	s.wait(t, 20*time.Second)
}

// uasHead receives an INVITE, captures what the rest of the scenario needs
// (sipp refuses variables that are set but never used), and rings.
func uasHead(captures string) string {
	recv := `<recv request="INVITE" crlf="true"/>`
	if captures != "" {
		recv = `<recv request="INVITE" crlf="true"><action>` + captures + `</action></recv>`
	}
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas">
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

const (
	captureCSeq   = `<ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="cseq"/>`
	captureDialog = `<ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/><ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>`
	require95598  = `<ereg regexp="95598" search_in="hdr" header="From:" check_it="true" assign_to="shown"/>`
)

const uasAnswer = `<pause milliseconds="{{.AnswerAfterMS}}"/>
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
<recv request="ACK" crlf="true"/>
`

// uasAwaitBye: the other side hangs up.
const uasAwaitBye = `<recv request="BYE" timeout="120000"/>
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

// uasHangUp: this side hangs up after a while.
const uasHangUp = `<pause milliseconds="{{.ByeTimeoutMS}}"/>
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

// uasRingOut: never answers; the caller cancels.
const uasRingOut = `<recv request="CANCEL" timeout="120000"/>
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

// answerCalls starts the softphone listening: it rings, answers after
// answerAfter, echoes the caller's audio back, and waits for the hang-up.
func (a *agentPhone) answer(t *testing.T, answerAfter time.Duration) *sipp {
	body := uasHead("") + uasAnswer + uasAwaitBye + scenarioTail
	return startSipp(t, "agent-"+a.ID, render(t, body, scenarioData{AnswerAfterMS: int(answerAfter.Milliseconds())}), "", a.sipPort, a.mediaPort, "-rtp_echo")
}

// ringOut starts the softphone listening; it rings until cancelled.
func (a *agentPhone) ringOut(t *testing.T) *sipp {
	body := uasHead(captureCSeq) + uasRingOut + scenarioTail
	return startSipp(t, "agent-noanswer-"+a.ID, render(t, body, scenarioData{}), "", a.sipPort, a.mediaPort)
}

// customerAnswering is the carrier side receiving our callback: it checks
// the call shows 95598, answers, and hangs up after talkFor.
func customerAnswering(t *testing.T, env *Env, talkFor time.Duration) *sipp {
	// The caller ID shown must be 95598: check_it fails the scenario otherwise.
	body := uasHead(captureDialog+require95598) +
		`<nop><action><log message="caller ID shown: [$shown]"/></action></nop>` +
		uasAnswer + uasHangUp + scenarioTail
	_, media := ports()
	return startSipp(t, "customer-callback", render(t, body, scenarioData{ByeTimeoutMS: int(talkFor.Milliseconds())}), "", env.CarrierPort, media, "-rtp_echo")
}

var _ = context.Background

// customerPressing is the carrier side receiving a follow-up call: it checks
// the call shows 95598, answers, presses keys after a while, and waits for
// the hotline to hang up.
func customerPressing(t *testing.T, env *Env, after time.Duration, keys string) *sipp {
	body := uasHead(require95598) +
		`<nop><action><log message="caller ID shown: [$shown]"/></action></nop>` +
		uasAnswer + string(pause(after)) + string(press(keys)) + uasAwaitBye + scenarioTail
	_, media := ports()
	return startSipp(t, "customer-followup", render(t, body, scenarioData{}), "", env.CarrierPort, media)
}
