package kamailio

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// A few lines of SIP over UDP for the integration test: enough to play an
// Asterisk node (answer OPTIONS, INVITE, BYE; place an INVITE) and a carrier
// (place an INVITE). Kamailio is the real thing under test.

type sipMsg struct {
	start   string
	headers []string // "Name: value", in order
	body    string
	from    *net.UDPAddr
	at      time.Time // when it arrived
}

func parseSIP(b []byte, from *net.UDPAddr) (*sipMsg, bool) {
	head, body, _ := strings.Cut(string(b), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	if len(lines) < 2 {
		return nil, false
	}
	return &sipMsg{start: lines[0], headers: lines[1:], body: body, from: from, at: time.Now()}, true
}

func (m *sipMsg) isRequest(method string) bool { return strings.HasPrefix(m.start, method+" ") }

func (m *sipMsg) status() int {
	var code int
	if _, err := fmt.Sscanf(m.start, "SIP/2.0 %d", &code); err != nil {
		return 0
	}
	return code
}

// all returns every value of a header.
func (m *sipMsg) all(name string) []string {
	var out []string
	for _, h := range m.headers {
		k, v, ok := strings.Cut(h, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

func (m *sipMsg) get(name string) string {
	if v := m.all(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// reply builds a response to request m.
func (m *sipMsg) reply(code int, reason, contact string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range m.all("Via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	if code >= 200 || code == 180 {
		for _, v := range m.all("Record-Route") {
			fmt.Fprintf(&b, "Record-Route: %s\r\n", v)
		}
	}
	to := m.get("To")
	if code > 100 && !strings.Contains(to, ";tag=") {
		to += ";tag=node" + fmt.Sprint(rand.Int32())
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", m.get("From"), to, m.get("Call-ID"), m.get("CSeq"))
	if contact != "" {
		fmt.Fprintf(&b, "Contact: <%s>\r\n", contact)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// node plays an Asterisk node: it answers OPTIONS with 200, an INVITE with
// 100 then answerCode (200 by default), and BYE with 200, and records the
// INVITEs it got.
type node struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	conn *net.UDPConn
	code int
	// invites holds the INVITEs received, in order; byes the BYEs.
	invites, byes []*sipMsg
	// replies carries responses to requests the node sent itself.
	replies chan *sipMsg
}

func startNode(t *testing.T, addr string) *node {
	t.Helper()
	n := &node{t: t, addr: addr, code: 200, replies: make(chan *sipMsg, 16)}
	n.up()
	t.Cleanup(n.down)
	return n
}

func (n *node) up() {
	n.t.Helper()
	ua, err := net.ResolveUDPAddr("udp", n.addr)
	if err != nil {
		n.t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		n.t.Fatalf("node %s: %v", n.addr, err)
	}
	n.mu.Lock()
	n.conn = conn
	n.mu.Unlock()
	go n.serve(conn)
}

// down stops answering anything, as a killed Asterisk would.
func (n *node) down() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn != nil {
		_ = n.conn.Close()
		n.conn = nil
	}
}

func (n *node) setAnswer(code int) {
	n.mu.Lock()
	n.code = code
	n.mu.Unlock()
}

func (n *node) invitesSeen() []*sipMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*sipMsg(nil), n.invites...)
}

// byeFor reports whether the node got a BYE for the call.
func (n *node) byeFor(callID string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.byes {
		if m.get("Call-ID") == callID {
			return true
		}
	}
	return false
}

func (n *node) serve(conn *net.UDPConn) {
	buf := make([]byte, 65535)
	for {
		k, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, ok := parseSIP(buf[:k], from)
		if !ok {
			continue
		}
		send := func(s string) { _, _ = conn.WriteToUDP([]byte(s), from) }
		switch {
		case m.status() > 0:
			n.replies <- m
		case m.isRequest("BYE"):
			n.mu.Lock()
			n.byes = append(n.byes, m)
			n.mu.Unlock()
			send(m.reply(200, "OK", ""))
		case m.isRequest("OPTIONS"):
			send(m.reply(200, "OK", ""))
		case m.isRequest("INVITE"):
			n.mu.Lock()
			n.invites = append(n.invites, m)
			code := n.code
			n.mu.Unlock()
			send(m.reply(100, "Trying", ""))
			reason := map[int]string{200: "OK", 503: "Service Unavailable"}[code]
			send(m.reply(code, reason, "sip:95598@"+n.addr))
		}
	}
}

// invite sends an INVITE from this node's socket to target and returns the
// responses until the final one (a non-2xx is ACKed, as a UAC must).
func (n *node) invite(t *testing.T, target, ruri string) []int {
	t.Helper()
	n.mu.Lock()
	conn := n.conn
	n.mu.Unlock()
	dst, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	branch := fmt.Sprintf("z9hG4bK-node-%d", rand.Int64())
	callID := fmt.Sprintf("node-%d@%s", rand.Int64(), n.addr)
	head := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=%s;rport\r\nFrom: <sip:95598@%s>;tag=n1\r\nTo: <%s>\r\nCall-ID: %s\r\n",
		n.addr, branch, n.addr, ruri, callID)
	msg := fmt.Sprintf("INVITE %s SIP/2.0\r\n%sCSeq: 1 INVITE\r\nContact: <sip:95598@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		ruri, head, n.addr)
	if _, err := conn.WriteToUDP([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	var codes []int
	timeout := time.After(15 * time.Second)
	for {
		select {
		case r := <-n.replies:
			if r.get("Call-ID") != callID {
				continue
			}
			codes = append(codes, r.status())
			if r.status() >= 200 {
				if r.status() >= 300 {
					ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nFrom: <sip:95598@%s>;tag=n1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
						ruri, n.addr, branch, n.addr, r.get("To"), callID)
					_, _ = conn.WriteToUDP([]byte(ack), dst)
				}
				return codes
			}
		case <-timeout:
			t.Fatalf("node %s: no final answer to INVITE %s (got %v)", n.addr, ruri, codes)
		}
	}
}

// carrierInvite sends an INVITE for 95598 from a socket bound to src and
// returns the final status code and the INVITE's Call-ID.
func carrierInvite(t *testing.T, src, edge string, extra string) (int, string) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	dst, _ := net.ResolveUDPAddr("udp", edge)
	callID := fmt.Sprintf("carrier-%d@%s", rand.Int64(), src)
	msg := fmt.Sprintf("INVITE sip:95598@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-c%d;rport\r\n"+
		"From: <sip:13800138000@%s>;tag=c1\r\nTo: <sip:95598@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:13800138000@%s>\r\nMax-Forwards: 70\r\n%sContent-Length: 0\r\n\r\n",
		edge, local, rand.Int64(), src, edge, callID, local, extra)
	if _, err := conn.WriteToUDP([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		k, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("carrier INVITE from %s: no final answer: %v", src, err)
		}
		m, ok := parseSIP(buf[:k], from)
		if ok && m.status() >= 200 {
			return m.status(), callID
		}
	}
}
