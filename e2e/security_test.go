//go:build e2e

package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/config"
)

// Plain tokens of deploy/test/api-tokens (which stores only their hashes).
const (
	testSupervisorToken = "test-supervisor-token-not-secret"
	testAgent2001Token  = "test-agent-2001-token-not-secret"
)

// Asterisk takes calls only from the carrier's addresses and from agents who
// authenticate. deploy/test/hotline.env makes 127.0.0.1 the carrier,
// 127.0.0.3 an agents' network that is not the carrier, and leaves
// 127.0.0.2 out of both. Each INVITE below must be refused and none may
// reach the controller; a real carrier call in the same test must.
func TestSIPRefusesStrangers(t *testing.T) {
	env := loadEnv(t)
	started := env.metric(t, "hotline_calls_started_total")
	phone := uniquePhone()
	for _, tc := range []struct {
		name     string
		from     string // source address
		user     string // From user: what username identification sees
		contact  string // Contact host; "" = the source address
		want     []int  // acceptable final responses
		withAuth bool   // the 401 carries a challenge
	}{
		// Outside the access list: refused before any endpoint is looked up.
		{"stranger's number from outside", "127.0.0.2", phone, "", []int{403}, false},
		{"stranger posing as the carrier from outside", "127.0.0.2", "carrier", "", []int{403}, false},
		{"stranger posing as an agent from outside", "127.0.0.2", "2001", "", []int{403}, false},
		// Inside the access list but not the carrier: nobody is identified
		// by the From header alone.
		{"unknown user from an agents' network", "127.0.0.3", phone, "", []int{401}, true},
		{"carrier by name from a non-carrier address", "127.0.0.3", "carrier", "", []int{401}, true},
		{"agent without credentials", "127.0.0.3", "2001", "", []int{401}, true},
		// From the carrier's address, but the Contact points elsewhere.
		{"contact outside the access list", "127.0.0.1", phone, "127.0.0.2", []int{403}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sendInvite(t, env.SIPAddr, tc.from, tc.user, tc.contact)
			ok := false
			for _, w := range tc.want {
				ok = ok || got.code == w
			}
			if !ok {
				t.Fatalf("final response %d %s; want one of %v\n%s", got.code, got.reason, tc.want, got.raw)
			}
			if tc.withAuth != got.challenged {
				t.Fatalf("challenge %v; want %v\n%s", got.challenged, tc.withAuth, got.raw)
			}
		})
	}
	// Each INVITE got its final refusal, so none can still arrive: none
	// may have been counted (and the real call below must count one).
	if n := env.metric(t, "hotline_calls_started_total"); n != started {
		t.Fatalf("calls started went from %v to %v: a refused INVITE reached the controller", started, n)
	}
	// The same machinery lets the carrier in: a real call from 127.0.0.1.
	c := caller(t, env, phone, pause(1500*time.Millisecond), hangUp)
	c.wait(t, 30*time.Second)
	eventually(t, 5*time.Second, "the carrier's call counted", func() bool {
		return env.metric(t, "hotline_calls_started_total") == started+1
	})
}

// The API's roles, on the running controller with deploy/test/api-tokens.
func TestAPIRoles(t *testing.T) {
	env := loadEnv(t)
	for _, tc := range []struct {
		token, method, path string
		code                int
	}{
		{"", "GET", "/api/v1/agents", 401},
		{"test-token-guessed", "GET", "/api/v1/agents", 401},
		{testAgent2001Token, "GET", "/api/v1/agents/2001", 200},
		{testAgent2001Token, "GET", "/api/v1/agents/2002", 403},
		{testAgent2001Token, "POST", "/api/v1/agents/2002/login", 403},
		{testAgent2001Token, "GET", "/api/v1/agents", 403},
		{testAgent2001Token, "GET", "/api/v1/tickets", 403},
		{testSupervisorToken, "GET", "/api/v1/agents", 200},
		{testSupervisorToken, "GET", "/api/v1/tickets", 200},
		{testSupervisorToken, "POST", "/api/v1/outages", 403},
		{env.Token, "GET", "/api/v1/outages", 200},
	} {
		req, _ := http.NewRequest(tc.method, env.HTTP+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s with %q: %d; want %d", tc.method, tc.path, tc.token, resp.StatusCode, tc.code)
		}
	}
}

// The test Redis wants a password: a client without one gets nothing, and
// the controller (healthy, above) has it.
func TestRedisWantsPassword(t *testing.T) {
	addr := envValue(t, "HOTLINE_REDIS_ADDR")
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprint(conn, "GET hotline:anything\r\n")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "-NOAUTH") {
		t.Fatalf("Redis answered %q without a password", line)
	}
}

// envValue reads one variable of the test stack's env file, as loadEnv does.
func envValue(t *testing.T, key string) string {
	t.Helper()
	path := os.Getenv("HOTLINE_ENV_FILE")
	if path == "" {
		path = "../deploy/test/hotline.env"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lookup, err := config.ReadEnvFile(f, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := lookup(key)
	return v
}

type sipResult struct {
	code       int
	reason     string
	challenged bool
	raw        string
}

// sendInvite sends one INVITE for 95598 from a socket bound to fromIP,
// waits for the final response, acknowledges it and returns it. A 2xx
// (the call was let in) is hung up at once and returned as such.
func sendInvite(t *testing.T, target, fromIP, user, contactHost string) sipResult {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(fromIP)})
	if err != nil {
		t.Fatalf("bind %s (Linux answers on all of 127/8): %v", fromIP, err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	if contactHost == "" {
		contactHost = fromIP
	}
	branch, tag, callID := "z9hG4bK"+randHex(8), randHex(4), randHex(8)+"@"+fromIP
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %[1]s\r\ns=-\r\nc=IN IP4 %[1]s\r\nt=0 0\r\nm=audio %[2]d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", fromIP, port+2)
	via := fmt.Sprintf("Via: SIP/2.0/UDP %s:%d;branch=%s;rport", fromIP, port, branch)
	from := fmt.Sprintf("From: <sip:%s@%s:%d>;tag=%s", user, fromIP, port, tag)
	uri := "sip:95598@" + target
	invite := strings.Join([]string{
		"INVITE " + uri + " SIP/2.0", via, "Max-Forwards: 70", from, "To: <" + uri + ">",
		"Call-ID: " + callID, "CSeq: 1 INVITE", fmt.Sprintf("Contact: <sip:%s@%s:%d>", user, contactHost, port),
		"Content-Type: application/sdp", "Content-Length: " + strconv.Itoa(len(sdp)), "", sdp}, "\r\n")
	var res sipResult
	buf := make([]byte, 65535)
	deadline := time.Now().Add(10 * time.Second)
	var sent time.Time
	for {
		if res.code == 0 && time.Since(sent) > 500*time.Millisecond {
			if _, err := conn.WriteToUDP([]byte(invite), raddr); err != nil {
				t.Fatal(err)
			}
			sent = time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final response to the INVITE from %s within 10 s", fromIP)
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			continue // timeout: send again (UDP retransmission)
		}
		msg := string(buf[:n])
		code, reason, ok := statusOf(msg)
		if !ok || header(msg, "Call-ID") != callID || code < 200 {
			continue
		}
		res = sipResult{code: code, reason: reason, raw: msg,
			challenged: code == 401 && header(msg, "WWW-Authenticate") != ""}
		to := header(msg, "To")
		if code >= 300 {
			// A non-2xx final response is acknowledged in the same transaction.
			ack := strings.Join([]string{"ACK " + uri + " SIP/2.0", via, "Max-Forwards: 70", from, "To: " + to,
				"Call-ID: " + callID, "CSeq: 1 ACK", "Content-Length: 0", "", ""}, "\r\n")
			_, _ = conn.WriteToUDP([]byte(ack), raddr)
			return res
		}
		// Let in: end the call so it does not linger, and report it.
		dest := strings.Trim(header(msg, "Contact"), "<>")
		if i := strings.IndexAny(dest, ">;"); i > 0 {
			dest = dest[:i]
		}
		for i, m := range []string{"ACK", "BYE"} {
			req := strings.Join([]string{m + " " + dest + " SIP/2.0",
				fmt.Sprintf("Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport", fromIP, port, randHex(8)),
				"Max-Forwards: 70", from, "To: " + to, "Call-ID: " + callID,
				fmt.Sprintf("CSeq: %d %s", i+1, m), "Content-Length: 0", "", ""}, "\r\n")
			_, _ = conn.WriteToUDP([]byte(req), raddr)
		}
		return res
	}
}

func statusOf(msg string) (int, string, bool) {
	line, _, _ := strings.Cut(msg, "\r\n")
	rest, ok := strings.CutPrefix(line, "SIP/2.0 ")
	if !ok {
		return 0, "", false
	}
	codeText, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	return code, reason, err == nil
}

// header returns the first value of a header (full name, case-insensitive).
func header(msg, name string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
		if line == "" {
			break
		}
	}
	return ""
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
