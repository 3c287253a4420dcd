//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// devScenario reads a file of deploy/dev/sipp, the scenarios a newcomer
// runs by hand against `make up`.
func devScenario(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../deploy/dev/sipp/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// The dev scenarios work as the README says: a customer reports a fault
// (here from a number of this test, so no other test's demo customer gets
// an open work order), and a customer calls an agent and stays on until
// the agent hangs up (verbatim).
func TestDevScenarios(t *testing.T) {
	env := loadEnv(t)
	phone := uniquePhone()
	fault := strings.ReplaceAll(devScenario(t, "fault-report.xml"), "13800138000", phone)
	sipPort, mediaPort := ports()
	startSipp(t, "dev-fault-report", fault, env.SIPAddr, sipPort, mediaPort).wait(t, 40*time.Second)
	if tks := env.tickets(t, phone); len(tks) != 1 || tks[0].Type != "fault" {
		t.Fatalf("tickets after fault-report.xml: %+v", tks)
	}

	ag := env.phone(t, "2001")
	env.agentsOnly(t, "2001")
	events := agentStream(t, env, "/api/v1/agents/2001/events")
	// The caller pauses 3 s after the key before they wait for the hang-up
	// (a BYE before that would abort their scenario): the agent talks for
	// longer, as the dev agent (20 s) does.
	agentCall := ag.talk(t, 300*time.Millisecond, 8*time.Second)
	sipPort, mediaPort = ports()
	c := startSipp(t, "dev-call-agent", devScenario(t, "call-agent.xml"), env.SIPAddr, sipPort, mediaPort)
	if pop := nextPop(t, events, 40*time.Second); pop.Data["phone"] != "13900139000" {
		t.Fatalf("screen pop %+v, want the caller of call-agent.xml", pop.Data)
	}
	agentCall.wait(t, 30*time.Second)
	c.wait(t, 20*time.Second) // hung up after the agent
}
