package kamailio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A carrier call through the edge as a real carrier places it: INVITE, the
// 200 OK, then an ACK along the route the edge recorded. While the call
// lasts the caller answers the edge's in-dialog OPTIONS (keep-alives) with
// 200, unless it is gone.
type carrierCall struct {
	conn    *net.UDPConn
	callID  string
	gone    atomic.Bool  // answers nothing any more (its BYE was lost, or it crashed)
	options atomic.Int32 // keep-alives received
}

func dialCarrier(t *testing.T, edge string) *carrierCall {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	local := conn.LocalAddr().String()
	dst, _ := net.ResolveUDPAddr("udp", edge)
	c := &carrierCall{conn: conn, callID: fmt.Sprintf("gone-%d@127.0.0.1", rand.Int64())}
	from := fmt.Sprintf("<sip:13800138000@%s>;tag=c%d", local, rand.Int32())
	invite := fmt.Sprintf("INVITE sip:95598@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-c%d;rport\r\n"+
		"From: %s\r\nTo: <sip:95598@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:13800138000@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		edge, local, rand.Int64(), from, edge, c.callID, local)
	if _, err := conn.WriteToUDP([]byte(invite), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	var ok *sipMsg
	for ok == nil {
		k, src, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("carrier INVITE: no 200 OK: %v", err)
		}
		if m, parsed := parseSIP(buf[:k], src); parsed && m.status() >= 200 {
			if m.status() != 200 {
				t.Fatalf("carrier INVITE: %d", m.status())
			}
			ok = m
		}
	}
	// The ACK goes to the node's Contact along the recorded route (one
	// Record-Route: the edge's, so the route set is that one entry).
	target := strings.Trim(ok.get("Contact"), "<>")
	var routes strings.Builder
	for _, rr := range ok.all("Record-Route") {
		fmt.Fprintf(&routes, "Route: %s\r\n", rr)
	}
	if routes.Len() == 0 {
		t.Fatal("the edge recorded no route for the call")
	}
	ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-a%d;rport\r\nFrom: %s\r\nTo: %s\r\n"+
		"Call-ID: %s\r\nCSeq: 1 ACK\r\n%sMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		target, local, rand.Int64(), from, ok.get("To"), c.callID, routes.String())
	if _, err := conn.WriteToUDP([]byte(ack), dst); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go c.serve()
	return c
}

// serve answers the edge's keep-alives with 200 while the caller is there.
func (c *carrierCall) serve() {
	buf := make([]byte, 65535)
	for {
		k, src, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, ok := parseSIP(buf[:k], src)
		if !ok || !m.isRequest("OPTIONS") || c.gone.Load() {
			continue
		}
		c.options.Add(1)
		_, _ = c.conn.WriteToUDP([]byte(m.reply(200, "OK", "")), src)
	}
}

// TestVanishedCallerIsHungUp: a carrier call whose caller is gone without a
// BYE the node ever saw (lost on the way, sent past the recorded route, or
// the caller crashed) does not stay up on the node: the edge's keep-alive
// goes unanswered and the edge sends the node a BYE. A caller who is still
// there answers the keep-alive and keeps the call. Kamailio takes no
// keep-alive interval under 30 s, so this takes about 45 s.
func TestVanishedCallerIsHungUp(t *testing.T) {
	need(t, "kamailio")
	t.Parallel()
	n := startNode(t, freeUDP(t, "127.0.0.2"))
	e := startEdge(t, []string{n.addr}, "HOTLINE_SIP_AGENTS=1001:secret1001", "HOTLINE_KAMAILIO_KEEPALIVE_S=30")
	eventually(t, 10*time.Second, "the node active (answered probes)", func() bool {
		nodes, err := e.client.Nodes(context.Background())
		return err == nil && len(nodes) == 1 && nodes[0].State == "active"
	})
	gone, stays := dialCarrier(t, e.sip), dialCarrier(t, e.sip)
	gone.gone.Store(true)
	took := eventually(t, 60*time.Second, "the node got the edge's BYE for the vanished caller's call", func() bool {
		return n.byeFor(gone.callID)
	})
	t.Logf("the vanished caller's call was hung up at the node %s after the call began", took.Round(time.Second))
	if n.byeFor(stays.callID) {
		t.Fatal("the edge hung up the call of a caller who answered its keep-alive")
	}
	if stays.options.Load() == 0 {
		t.Fatal("the caller who stayed got no keep-alive: the edge does not probe carrier calls")
	}
}
