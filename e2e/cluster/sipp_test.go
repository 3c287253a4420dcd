//go:build e2ecluster

package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Minimal sipp helpers for calls through the SIP edge. Unlike the
// single-node suite's caller, in-dialog requests (ACK, BYE) follow the
// route set Kamailio records.

var nextPort atomic.Int32

func init() { nextPort.Store(int32(27000 + (os.Getpid()%20)*100)) }

func ports() (sip, media int) {
	p := int(nextPort.Add(10))
	return p, p + 4
}

type step string

func pause(d time.Duration) step {
	return step(fmt.Sprintf(`<pause milliseconds="%d"/>`, d.Milliseconds()))
}

// press sends keys as RFC 4733 events.
func press(keys string) step {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, `<nop><action><exec play_pcap_audio="%s"/></action></nop><pause milliseconds="400"/>`+"\n", dtmfPcap(k))
	}
	return step(b.String())
}

// hangUp: the caller sends BYE along the recorded route.
const hangUp step = `<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:PHONE@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:95598@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
[routes]
Contact: <sip:PHONE@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>
`

// awaitBye: the hotline hangs up the caller within d.
func awaitBye(d time.Duration) step {
	return step(fmt.Sprintf(`<recv request="BYE" timeout="%d"/>
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
`, d.Milliseconds()))
}

const inviteHead = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
<send retrans="500"><![CDATA[
INVITE sip:95598@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:PHONE@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:95598@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:PHONE@[local_ip]:[local_port]>
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
`

// callerHead: the call is answered.
const callerHead = inviteHead + `<recv response="200" rtd="true" rrs="true"/>
<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:PHONE@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:95598@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
[routes]
Contact: <sip:PHONE@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
`

// refusedHead: the call is refused with code.
func refusedHead(code int) string {
	return inviteHead + fmt.Sprintf(`<recv response="%d"/>
<send><![CDATA[
ACK sip:95598@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:PHONE@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
`, code)
}

const scenarioTail = `
<ResponseTimeRepartition value="10, 20"/>
</scenario>
`

type sipp struct {
	name string
	cmd  *exec.Cmd
	dir  string
	out  bytes.Buffer
	done chan error
}

// run starts sipp with the scenario from the local address ip against target.
func run(t *testing.T, name, scenario, ip, target string) *sipp {
	t.Helper()
	sipPort, mediaPort := ports()
	return runOn(t, name, scenario, ip, target, sipPort, mediaPort)
}

// runOn starts sipp on the given ports; target "" makes it a server (UAS).
func runOn(t *testing.T, name, scenario, ip, target string, sipPort, mediaPort int, extra ...string) *sipp {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, "s.xml")
	if err := os.WriteFile(sf, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &sipp{name: name, dir: dir, done: make(chan error, 1)}
	args := []string{"-sf", sf, "-m", "1", "-i", ip, "-p", fmt.Sprint(sipPort), "-mi", ip,
		"-mp", fmt.Sprint(mediaPort), "-nostdin", "-trace_err", "-trace_msg", "-timeout", "120s",
		"-timeout_error", "-max_recv_loops", "1000",
		// The edge keeps every call alive with in-dialog OPTIONS, which
		// real phones and carriers answer: so do ours (-aa: 200 OK).
		"-aa"}
	args = append(args, extra...)
	if target != "" {
		args = append(args, target)
	}
	s.cmd = exec.Command("sipp", args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
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
	})
	return s
}

// caller calls 95598 through the edge from phone (source address 127.0.0.1,
// the carrier) and follows the script.
func caller(t *testing.T, edge, phone string, script ...step) *sipp {
	t.Helper()
	return callFrom(t, "127.0.0.1", edge, phone, callerHead, script...)
}

func callFrom(t *testing.T, ip, edge, phone, head string, script ...step) *sipp {
	t.Helper()
	var b strings.Builder
	b.WriteString(head)
	for _, s := range script {
		b.WriteString(string(s) + "\n")
	}
	b.WriteString(scenarioTail)
	return run(t, "caller-"+phone, strings.ReplaceAll(b.String(), "PHONE", phone), ip, edge)
}

// wait waits for sipp to end and reports whether its scenario succeeded.
func (s *sipp) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(within):
		t.Fatalf("sipp %s did not finish within %s", s.name, within)
		return nil
	}
}

// mustSucceed waits and fails the test, with sipp's logs, when the scenario failed.
func (s *sipp) mustSucceed(t *testing.T, within time.Duration) {
	t.Helper()
	if err := s.wait(t, within); err != nil {
		t.Fatalf("sipp %s failed: %v\n%s", s.name, err, s.logs())
	}
}

func (s *sipp) logs() string {
	var b strings.Builder
	for _, pat := range []string{"*_errors.log", "*_messages.log"} {
		files, _ := filepath.Glob(filepath.Join(s.dir, pat))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(f), tail(string(raw), 4000))
		}
	}
	fmt.Fprintf(&b, "--- output\n%s\n", tail(s.out.String(), 1500))
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
