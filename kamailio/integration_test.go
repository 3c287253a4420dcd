package kamailio

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The integration test runs the real Kamailio with the configuration
// deploy/kamailio/render.sh writes, real sipp softphones (REGISTER and calls
// with digest authentication) and two Go stand-ins for Asterisk nodes on
// 127.0.0.2 and 127.0.0.3. It is skipped when kamailio or sipp is missing,
// unless HOTLINE_REQUIRE_KAMAILIO is set (`make test` installs both and sets it).

type edge struct {
	sip, rpc string // 127.0.0.1:port, http://127.0.0.1:port/RPC
	dir      string
	log      *bytes.Buffer
	client   *Client
}

func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("HOTLINE_REQUIRE_KAMAILIO") != "" {
				t.Fatalf("%s not found and HOTLINE_REQUIRE_KAMAILIO is set: %v", b, err)
			}
			t.Skipf("%s not installed", b)
		}
	}
}

func freeUDP(t *testing.T, ip string) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// mediaPort is a free UDP port for sipp's media socket (the scenarios carry
// no media, but sipp binds one).
func mediaPort(t *testing.T, ip string) string {
	_, port, _ := net.SplitHostPort(freeUDP(t, ip))
	return port
}

func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startEdge(t *testing.T, nodes []string, env ...string) *edge {
	t.Helper()
	e := &edge{sip: freeUDP(t, "127.0.0.1"), dir: t.TempDir(), log: &bytes.Buffer{}}
	e.rpc = "http://" + freeTCP(t) + "/RPC"
	render := exec.Command("../deploy/kamailio/render.sh", e.dir)
	render.Env = append(os.Environ(), "HOTLINE_SIP_EDGE="+e.sip, "HOTLINE_KAMAILIO_RPC="+e.rpc,
		"HOTLINE_SIP_NODES="+strings.Join(nodes, ","), "HOTLINE_KAMAILIO_PROBE_INTERVAL=1",
		"HOTLINE_KAMAILIO_PROBE_FAILURES=2", "HOTLINE_KAMAILIO_NODE_TIMEOUT_MS=1000", "HOTLINE_KAMAILIO_CHILDREN=2")
	render.Env = append(render.Env, env...)
	if out, err := render.CombinedOutput(); err != nil {
		t.Fatalf("render: %v\n%s", err, out)
	}
	cfg := filepath.Join(e.dir, "kamailio.cfg")
	if out, err := exec.Command("kamailio", "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("kamailio -c refuses the rendered configuration: %v\n%s", err, out)
	}
	cmd := exec.Command("kamailio", "-f", cfg, "-DD", "-E", "-Y", e.dir, "-P", filepath.Join(e.dir, "kamailio.pid"))
	cmd.Stdout, cmd.Stderr = e.log, e.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("kamailio log:\n%s", tailOf(e.log.String(), 6000))
		}
	})
	e.client = New(e.rpc, time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := e.client.Nodes(context.Background()); err == nil {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio's JSON-RPC on %s did not answer:\n%s", e.rpc, tailOf(e.log.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// sipp runs one sipp scenario to its end and returns its exit error; its
// logs are shown when it fails.
func sipp(t *testing.T, scenario, local, target string, args ...string) error {
	return sippRun(t, true, scenario, local, target, args...)
}

// sippFails is sipp for a scenario that is meant to fail (no logs shown).
func sippFails(t *testing.T, scenario, local, target string, args ...string) bool {
	return sippRun(t, false, scenario, local, target, args...) != nil
}

func sippRun(t *testing.T, show bool, scenario, local, target string, args ...string) error {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, "s.xml")
	if err := os.WriteFile(sf, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(local)
	all := append([]string{"-sf", sf, "-m", "1", "-i", host, "-p", port, "-nostdin", "-timeout", "20s",
		"-timeout_error", "-trace_err", "-mp", mediaPort(t, host)}, args...)
	all = append(all, target)
	cmd := exec.Command("sipp", all...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil && show {
		logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		for _, l := range logs {
			raw, _ := os.ReadFile(l)
			t.Logf("sipp errors:\n%s", tailOf(string(raw), 2000))
		}
		t.Logf("sipp output:\n%s", tailOf(string(out), 1500))
	}
	return err
}

const registerXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
[authentication]
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
`

// registerAlone is one REGISTER without credentials: the answer must be the
// one given (403 from a stranger's address).
const registerAlone = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="403"/>
</scenario>
`

// agentCallXML: an agent dials a feature code, authenticates (407), talks
// for a while and hangs up. It writes a forged X-Hotline-Agent header,
// which the edge must replace.
const agentCallXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent call">
<send retrans="500"><![CDATA[
INVITE sip:*21@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]a[call_number]
To: <sip:*21@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[service]@[local_ip]:[local_port]>
X-Hotline-Agent: forged
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="407" auth="true"/>
<send><![CDATA[
ACK sip:*21@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:[service]@[remote_ip]>;tag=[pid]a[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
<send retrans="500"><![CDATA[
INVITE sip:*21@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]a[call_number]
To: <sip:*21@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:[service]@[local_ip]:[local_port]>
X-Hotline-Agent: forged
[authentication]
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="200" rrs="true"/>
<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]a[call_number]
To: <sip:*21@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 ACK
[routes]
Max-Forwards: 70
Content-Length: 0

]]></send>
<pause milliseconds="2500"/>
<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]a[call_number]
To: <sip:*21@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
[routes]
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
`

// ringThenBusyXML: the agent's phone rings for a while, then refuses.
const ringThenBusyXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ring then busy">
<recv request="INVITE" crlf="true"/>
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]u[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<pause milliseconds="2500"/>
<send><![CDATA[
SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]u[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
<recv request="ACK"/>
</scenario>
`

func TestEdge(t *testing.T) {
	need(t, "kamailio", "sipp")
	a := startNode(t, freeUDP(t, "127.0.0.2"))
	b := startNode(t, freeUDP(t, "127.0.0.3"))
	e := startEdge(t, []string{a.addr, b.addr},
		"HOTLINE_CARRIER_ADDRS=127.0.0.1", "HOTLINE_AGENT_NETS=127.0.0.1,127.0.0.4",
		"HOTLINE_SIP_AGENTS=1001:secret1001,1002:secret1002")
	ctx := context.Background()
	// nodeOf: the node that got the call last (the one that answered it).
	nodeOf := func(callID string) string {
		var last string
		var at time.Time
		for _, n := range []*node{a, b} {
			for _, m := range n.invitesSeen() {
				if m.get("Call-ID") == callID && m.at.After(at) {
					last, at = n.addr, m.at
				}
			}
		}
		return last
	}
	stateOf := func() map[string]string {
		nodes, err := e.client.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range nodes {
			out[strings.TrimPrefix(n.URI, "sip:")] = n.State
		}
		return out
	}
	eventually(t, 10*time.Second, "both nodes active (answered probes)", func() bool {
		s := stateOf()
		return s[a.addr] == "active" && s[b.addr] == "active"
	})

	t.Run("carrier calls are spread over both nodes", func(t *testing.T) {
		got := map[string]int{}
		for range 4 {
			code, id := carrierInvite(t, "127.0.0.1", e.sip, "X-Hotline-Agent: 1001\r\n")
			if code != 200 {
				t.Fatalf("carrier INVITE: %d", code)
			}
			got[nodeOf(id)]++
		}
		if got[a.addr] != 2 || got[b.addr] != 2 {
			t.Fatalf("calls per node %v; want 2 on each of %s and %s", got, a.addr, b.addr)
		}
		for _, n := range []*node{a, b} {
			for _, m := range n.invitesSeen() {
				if v := m.all(AgentHeader); len(v) > 0 {
					t.Fatalf("a carrier's %s: %v reached node %s", AgentHeader, v, n.addr)
				}
			}
		}
	})

	t.Run("a stranger is refused", func(t *testing.T) {
		if code, _ := carrierInvite(t, "127.0.0.5", e.sip, ""); code != 403 {
			t.Fatalf("INVITE from 127.0.0.5: %d; want 403", code)
		}
		// An agents' network is not the carrier's.
		if code, _ := carrierInvite(t, "127.0.0.4", e.sip, ""); code != 407 {
			t.Fatalf("INVITE from the agents' network 127.0.0.4 without credentials: %d; want 407", code)
		}
		if err := sipp(t, registerAlone, freeUDP(t, "127.0.0.5"), e.sip, "-s", "1001"); err != nil {
			t.Fatalf("REGISTER from 127.0.0.5 was not refused with 403: %v", err)
		}
	})

	t.Run("a node answering 5xx passes the call on", func(t *testing.T) {
		a.setAnswer(503)
		defer a.setAnswer(200)
		before := len(a.invitesSeen())
		for range 2 {
			code, id := carrierInvite(t, "127.0.0.1", e.sip, "")
			if code != 200 || nodeOf(id) != b.addr {
				t.Fatalf("INVITE: %d on %q; want 200 on %s", code, nodeOf(id), b.addr)
			}
		}
		if len(a.invitesSeen()) == before {
			t.Fatal("node A was never tried")
		}
	})

	agent := freeUDP(t, "127.0.0.1")
	t.Run("registration with digest auth", func(t *testing.T) {
		if reg, busy, err := e.client.Status(ctx, "1001"); err != nil || reg || busy {
			t.Fatalf("before REGISTER: %v %v %v", reg, busy, err)
		}
		if err := sipp(t, registerXML, agent, e.sip, "-s", "1001", "-au", "1001", "-ap", "secret1001"); err != nil {
			t.Fatalf("REGISTER 1001 with its password: %v", err)
		}
		if reg, busy, err := e.client.Status(ctx, "1001"); err != nil || !reg || busy {
			t.Fatalf("after REGISTER: registered %v busy %v %v", reg, busy, err)
		}
		if !sippFails(t, registerXML, freeUDP(t, "127.0.0.1"), e.sip, "-s", "1002", "-au", "1002", "-ap", "secret1001") {
			t.Fatal("REGISTER 1002 with a wrong password succeeded")
		}
		if reg, _, err := e.client.Status(ctx, "1002"); err != nil || reg {
			t.Fatalf("1002 after a wrong password: registered %v %v", reg, err)
		}
		// The name in From must be the one that authenticates.
		if !sippFails(t, registerXML, freeUDP(t, "127.0.0.1"), e.sip, "-s", "1002", "-au", "1001", "-ap", "secret1001") {
			t.Fatal("1001's password registered 1002")
		}
	})

	t.Run("an agent's own call carries the agent and counts as busy", func(t *testing.T) {
		before := map[*node]int{a: len(a.invitesSeen()), b: len(b.invitesSeen())}
		done := make(chan error, 1)
		go func() {
			done <- sipp(t, agentCallXML, freeUDP(t, "127.0.0.1"), e.sip, "-s", "1002", "-au", "1002", "-ap", "secret1002")
		}()
		eventually(t, 10*time.Second, "1002 busy during its call", func() bool {
			_, busy, err := e.client.Status(ctx, "1002")
			return err == nil && busy
		})
		if err := <-done; err != nil {
			t.Fatalf("agent call: %v", err)
		}
		var got []string
		for _, n := range []*node{a, b} {
			for _, m := range n.invitesSeen()[before[n]:] {
				got = append(got, m.all(AgentHeader)...)
			}
		}
		if strings.Join(got, ",") != "1002" {
			t.Fatalf("%s at the node: %q; want exactly 1002 (the forged value removed)", AgentHeader, got)
		}
		eventually(t, 5*time.Second, "1002 free after BYE", func() bool {
			_, busy, err := e.client.Status(ctx, "1002")
			return err == nil && !busy
		})
	})

	t.Run("a node rings an agent through the edge", func(t *testing.T) {
		if codes := a.invite(t, e.sip, "sip:1002@"+e.sip); codes[len(codes)-1] != 480 {
			t.Fatalf("INVITE for unregistered 1002: %v; want 480", codes)
		}
		if codes := a.invite(t, e.sip, "sip:9999@"+e.sip); codes[len(codes)-1] != 404 {
			t.Fatalf("INVITE for unknown 9999: %v; want 404", codes)
		}
		phone := make(chan error, 1)
		go func() { phone <- sipp(t, ringThenBusyXML, agent, "", "-s", "1001") }()
		time.Sleep(500 * time.Millisecond) // sipp binds its port
		codes := make(chan []int, 1)
		go func() { codes <- a.invite(t, e.sip, "sip:1001@"+e.sip) }()
		eventually(t, 10*time.Second, "1001 busy while ringing", func() bool {
			_, busy, err := e.client.Status(ctx, "1001")
			return err == nil && busy
		})
		if c := <-codes; c[len(c)-1] != 486 {
			t.Fatalf("node's INVITE to 1001: %v; want ringing then 486", c)
		}
		if err := <-phone; err != nil {
			t.Fatalf("agent phone: %v", err)
		}
		eventually(t, 5*time.Second, "1001 free after the refusal", func() bool {
			reg, busy, err := e.client.Status(ctx, "1001")
			return err == nil && reg && !busy
		})
	})

	t.Run("probing takes a dead node out and a returning node back", func(t *testing.T) {
		b.down()
		took := eventually(t, 10*time.Second, "node B inactive", func() bool { return stateOf()[b.addr] == "inactive" })
		t.Logf("node B out of the set %.1f s after it stopped answering", took.Seconds())
		for range 4 {
			start := time.Now()
			code, id := carrierInvite(t, "127.0.0.1", e.sip, "")
			if code != 200 || nodeOf(id) != a.addr {
				t.Fatalf("INVITE with B down: %d on %q", code, nodeOf(id))
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Fatalf("INVITE took %s: it waited for the dead node", d)
			}
		}
		b.up()
		took = eventually(t, 10*time.Second, "node B active again", func() bool { return stateOf()[b.addr] == "active" })
		t.Logf("node B back in the set %.1f s after it answered again", took.Seconds())
		got := map[string]int{}
		for range 4 {
			_, id := carrierInvite(t, "127.0.0.1", e.sip, "")
			got[nodeOf(id)]++
		}
		if got[b.addr] == 0 {
			t.Fatalf("calls after B came back: %v", got)
		}
	})

	t.Run("a call to a node that just died goes to the next one", func(t *testing.T) {
		b.down()
		defer b.up()
		// Before the probes notice, a call sent to the dead node is passed
		// on after the INVITE timeout (1 s here), and the node is taken out.
		for range 2 {
			if code, id := carrierInvite(t, "127.0.0.1", e.sip, ""); code != 200 || nodeOf(id) != a.addr {
				t.Fatalf("INVITE right after B died: %d on %q; want 200 on %s", code, nodeOf(id), a.addr)
			}
		}
		if st := stateOf()[b.addr]; st != "inactive" && st != "trying" {
			t.Fatalf("node B is %s after an INVITE to it timed out", st)
		}
	})
}
