//go:build e2e

// Package e2e places real SIP calls (sipp) through a real Asterisk into a
// running controller backed by a real Redis. deploy/local/e2e.sh starts that
// stack from deploy/test/hotline.env and runs these tests; `make test` calls it.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline95598/hotline/config"
)

// Env is the running test stack. loadEnv resets it for the test that asks
// (reset_test.go), so the tests pass in any order (go test -shuffle on).
type Env struct {
	SIPAddr     string
	HTTP        string
	Token       string
	ARI         string
	ARIUser     string
	ARIPass     string
	CarrierPort int
	Agents      map[string]string // id -> SIP password
}

func loadEnv(t *testing.T) *Env {
	t.Helper()
	path := os.Getenv("HOTLINE_ENV_FILE")
	if path == "" {
		path = "../deploy/test/hotline.env"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("e2e needs the test stack's env file: %v", err)
	}
	defer f.Close()
	lookup, err := config.ReadEnvFile(f, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	get := func(k string) string { v, _ := lookup(k); return v }
	e := &Env{SIPAddr: "127.0.0.1:" + get("HOTLINE_SIP_PORT"), HTTP: "http://" + get("HOTLINE_HTTP_ADDR"),
		Token: get("HOTLINE_API_TOKEN"), ARI: get("HOTLINE_ARI_URL"), ARIUser: get("HOTLINE_ARI_USER"), ARIPass: get("HOTLINE_ARI_PASSWORD"),
		Agents: map[string]string{}}
	u, err := url.Parse(get("HOTLINE_CARRIER_CONTACT"))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(u.Opaque, ":")
	if e.CarrierPort, err = strconv.Atoi(port); err != nil {
		t.Fatalf("carrier contact %q: %v", get("HOTLINE_CARRIER_CONTACT"), err)
	}
	for _, item := range strings.Split(get("HOTLINE_SIP_AGENTS"), ",") {
		id, pw, _ := strings.Cut(item, ":")
		e.Agents[id] = pw
	}
	e.reset(t) // whatever ran before, this test starts from the same hotline
	return e
}

func (e *Env) api(t *testing.T, method, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, e.HTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

func (e *Env) ari(t *testing.T, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.ARI+path, nil)
	req.SetBasicAuth(e.ARIUser, e.ARIPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ARI %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// metric reads one sample from /metrics (0 when absent).
func (e *Env) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(e.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

type agent struct {
	ID     string    `json:"id"`
	State  string    `json:"state"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

func (e *Env) agentState(t *testing.T, id string) agent {
	var a agent
	if code := e.api(t, "GET", "/api/v1/agents/"+id, &a); code != 200 {
		t.Fatalf("agent %s: %d", id, code)
	}
	return a
}

// agentsOnly logs in exactly these agents, in this order (the first is the
// longest idle), and logs everyone out when the test ends.
func (e *Env) agentsOnly(t *testing.T, ids ...string) {
	t.Helper()
	e.logoutAll(t)
	for _, id := range ids {
		if code := e.api(t, "POST", "/api/v1/agents/"+id+"/login", nil); code != 200 {
			t.Fatalf("login %s: %d", id, code)
		}
		time.Sleep(20 * time.Millisecond) // distinct idle times
	}
	t.Cleanup(func() { e.logoutAll(t) })
}

func (e *Env) logoutAll(t *testing.T) {
	var list struct{ Agents []agent }
	e.api(t, "GET", "/api/v1/agents", &list)
	for _, a := range list.Agents {
		if a.State == "paused" || a.State == "available" || a.State == "wrap_up" {
			e.api(t, "POST", "/api/v1/agents/"+a.ID+"/logout", nil)
		}
	}
}

func (e *Env) phone(t *testing.T, id string) *agentPhone {
	pw, ok := e.Agents[id]
	if !ok {
		t.Fatalf("agent %s not configured", id)
	}
	a := &agentPhone{ID: id, Password: pw}
	a.register(t, e)
	return a
}

type ticket struct {
	ID, Type, Status, Phone, Account, Address string
	MenuPath                                  string `json:"menu_path"`
}

func (e *Env) tickets(t *testing.T, phone string) []ticket {
	var out struct{ Tickets []ticket }
	if code := e.api(t, "GET", "/api/v1/tickets?phone="+phone, &out); code != 200 {
		t.Fatalf("tickets: %d", code)
	}
	return out.Tickets
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// phoneSeq numbers the caller numbers handed out in this process.
var phoneSeq atomic.Int32

// uniquePhone gives each caller of each test its own number, so tickets,
// call records and callbacks of one test never satisfy another's checks.
// Numbers come from one counter: numbers tests picked by hand once
// collided (two call records for one phone failed TestPostCallSurvey).
func uniquePhone() string {
	return fmt.Sprintf("1370%03d%04d", os.Getpid()%1000, phoneSeq.Add(1)%10000)
}
