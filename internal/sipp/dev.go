package sipp

import (
	"fmt"
	"time"
)

// DevAgent is the development agent whose softphone the dev scenarios play
// (deploy/dev/hotline.env, HOTLINE_SIP_AGENTS).
const DevAgent, DevAgentPassword = "1001", "secret1001"

// DevPort is the SIP port of the sipp softphone in the dev scenarios.
const DevPort = 5070

// Dev returns the scenarios of deploy/dev/sipp, by file name: what a
// newcomer runs by hand against `make up` (127.0.0.1:5060). They are
// generated from the same parts as the tests' scenarios: edit them here,
// then `go test ./internal/sipp -run TestDevScenarios -update`.
func Dev() (map[string]string, error) {
	usage := func(args string) string {
		return "sipp -sf deploy/dev/sipp/" + args
	}
	files := map[string]struct {
		text string
		d    Data
	}{
		"fault-report.xml": {Caller(Pause(2*time.Second), ShippedKey('1'), Pause(10*time.Second), HangUp), Data{
			Name: "fault report", Phone: "13800138000",
			Comment: "A customer (13800138000, a demo account) calls 95598, presses 1 to report a fault,\n" +
				"     listens to the ticket number, and hangs up.\n     " +
				usage("fault-report.xml -m 1 -i 127.0.0.1 127.0.0.1:5060")}},
		"register-1001.xml": {Register, Data{ID: DevAgent, Password: DevAgentPassword,
			Comment: fmt.Sprintf("Agent %s's softphone registers from port %d (then run agent-%s.xml on it).\n     ", DevAgent, DevPort, DevAgent) +
				usage(fmt.Sprintf("register-%s.xml -m 1 -i 127.0.0.1 -p %d 127.0.0.1:5060", DevAgent, DevPort))}},
		"agent-1001.xml": {Softphone(), Data{AnswerAfterMS: 1000, TalkMS: 20000,
			Comment: fmt.Sprintf("Agent %s's softphone takes the next call: it rings for a second, answers,\n", DevAgent) +
				"     echoes the caller's voice (-rtp_echo) and hangs up after 20 s. Register it and log the\n" +
				"     agent in first (POST /api/v1/agents/" + DevAgent + "/login).\n     " +
				usage(fmt.Sprintf("agent-%s.xml -m 1 -i 127.0.0.1 -p %d -rtp_echo", DevAgent, DevPort))}},
		"call-agent.xml": {Caller(Pause(2*time.Second), ShippedKey('0'), Pause(3*time.Second), Talk(), AwaitByeWithin(3*time.Minute)), Data{
			Name: "call an agent", Phone: "13900139000",
			Comment: "A customer (13900139000, a demo account) calls 95598, presses 0 for an agent, speaks,\n" +
				"     and stays on until the hotline hangs up (after the agent does, and after the post-call\n" +
				"     survey it does not answer: about 35 s with the built-in policy).\n     " +
				usage("call-agent.xml -m 1 -i 127.0.0.1 127.0.0.1:5060")}},
	}
	out := map[string]string{}
	for name, f := range files {
		s, err := Render(f.text, f.d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = s
	}
	return out, nil
}
