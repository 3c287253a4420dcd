package main

import (
	"fmt"
	"strings"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

// The benchmark's sipp scenarios, built from internal/sipp (the parts the
// end-to-end tests and deploy/dev/sipp use). They are rendered with
// Data.Stamp: every step that matters logs the caller's number and the wall
// clock (gettimeofday), so caller and agent logs can be joined per call
// afterwards (joinLogs).

// registerXML registers one agent (Data.ID, Data.Password) from the port
// the agents' UAS then listens on: a run per agent.
var registerXML = scenario.Register

// callerXML dials [service] from the number in the injection file, presses
// 0 keyAfter the answer (during the welcome), speaks speakAfter later and
// waits for the hang-up that follows the agent's.
func callerXML(keyAfter, speakAfter time.Duration) string {
	return scenario.Caller(scenario.Pause(keyAfter), scenario.ShippedKey('0'), scenario.Pause(speakAfter),
		scenario.Talk(), scenario.AwaitBye)
}

// agentXML is every agent's softphone: it rings, answers, echoes the
// caller's audio (-rtp_echo), talks a while and hangs up.
var agentXML = scenario.Softphone()

// Through the cluster's SIP edge (Kamailio records its route), the requests
// a side sends within the dialog must follow the recorded route, as a real
// phone's do: the caller's ACK, and the agent's answers and BYE. These turn
// the scenarios above into such phones; each rewrite must apply exactly as
// many times as written, so a change in internal/sipp fails here rather
// than sending requests past the edge.

type rewrite struct {
	old, new string
	n        int
}

func rewritten(text string, rs ...rewrite) (string, error) {
	for _, r := range rs {
		if got := strings.Count(text, r.old); got != r.n {
			return "", fmt.Errorf("routed scenario: %q occurs %d times, want %d", r.old, got, r.n)
		}
		text = strings.ReplaceAll(text, r.old, r.new)
	}
	return text, nil
}

// routedCaller is callerXML whose ACK follows the route set of the 200 OK.
func routedCaller(keyAfter, speakAfter time.Duration) (string, error) {
	return rewritten(callerXML(keyAfter, speakAfter),
		rewrite{`<recv response="200" rtd="true"`, `<recv response="200" rtd="true" rrs="true"`, 1},
		rewrite{"ACK sip:{{.Service}}@[remote_ip]:[remote_port] SIP/2.0", "ACK [next_url] SIP/2.0", 1},
		rewrite{"CSeq: 1 ACK\n", "CSeq: 1 ACK\n[routes]\n", 1})
}

// routedAgent is agentXML that returns the edge's Record-Route in its 180
// and 200 and hangs up along the recorded route. (The Contact it no longer
// needs is not captured: sipp refuses a variable set and never used.)
func routedAgent() (string, error) {
	return rewritten(agentXML,
		rewrite{`<ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>`, "", 1},
		rewrite{`<recv request="INVITE" crlf="true"`, `<recv request="INVITE" crlf="true" rrs="true"`, 1},
		rewrite{"[last_CSeq:]\n", "[last_CSeq:]\n[last_Record-Route:]\n", 2},
		rewrite{"BYE [$contact] SIP/2.0", "BYE [next_url] SIP/2.0", 1},
		rewrite{"CSeq: 1 BYE\n", "CSeq: 1 BYE\n[routes]\n", 1})
}
