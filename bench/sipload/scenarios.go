package main

import (
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
