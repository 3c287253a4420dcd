//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// restartWithPolicy restarts the controller with the policy file path
// ("" = the test stack's own, deploy/test/policy.yaml).
func restartWithPolicy(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command("../deploy/local/hotline.sh", "restart-controller")
	cmd.Env = os.Environ()
	if path != "" {
		cmd.Env = append(cmd.Env, "HOTLINE_POLICY_FILE="+path)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restart controller with policy %q: %v\n%s", path, err, out)
	}
}

// The post-call survey over SIP: a caller makes a complaint and reaches a
// real softphone (sipp UAS) that hangs up first; the caller, still on the
// line, hears "1 satisfied, 2 fair, 3 dissatisfied" and presses 3 (RFC
// 4733, the keypad's pcap). The answer is on the call record
// (GET /api/v1/calls) and on the work order, whose complaint is supervised
// (督办), and the metric of the queue and agent counts it. The shared test
// policy has the survey off, so the controller is restarted with it on
// (and back after).
func TestPostCallSurvey(t *testing.T) {
	env := loadEnv(t)
	src, err := os.ReadFile("../deploy/test/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	on := strings.Replace(string(src), "after_agent_call: false", "after_agent_call: true", 1)
	if on == string(src) {
		t.Fatal("deploy/test/policy.yaml has no survey.after_agent_call: false to turn on")
	}
	policyFile := filepath.Join(t.TempDir(), "policy-survey.yaml")
	if err := os.WriteFile(policyFile, []byte(on), 0o644); err != nil {
		t.Fatal(err)
	}
	restartWithPolicy(t, policyFile)
	t.Cleanup(func() { restartWithPolicy(t, "") })

	ag := env.phone(t, "2001")
	env.agentsOnly(t, "2001")
	const series = `hotline_survey_answers_total{agent="2001",answer="dissatisfied",queue="complaint"}`
	before := env.metric(t, series)
	// The agent answers at once and hangs up after 4 s of talk.
	agentCall := ag.talk(t, 500*time.Millisecond, 4*time.Second)
	phone := uniquePhone()
	// 3 for a complaint; the complaint's number and the transfer take 11 to
	// 13 s, the talk 4 s, so the survey question starts 17 to 20 s into the
	// call (measured); it plays 10 s and waits 5 s more. The caller
	// presses 3 about 25 s in, inside that window with seconds to spare
	// either side (a key that came during the talk would not count), then
	// waits for the hotline to hang up after its apology.
	start := time.Now()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("3"), pause(23500*time.Millisecond), press("3"),
		awaitByeWithin(60*time.Second))
	asked := env.awaitMedia(t, phone, "sound:hotline/survey_ask", 45*time.Second)
	t.Logf("the caller hears %s %.1f s into the call", asked, time.Since(start).Seconds())
	agentCall.wait(t, 30*time.Second)
	c.wait(t, 60*time.Second)

	tks := env.tickets(t, phone)
	if len(tks) != 1 || tks[0].Type != "complaint" {
		t.Fatalf("tickets of %s: %+v", phone, tks)
	}
	var o struct {
		order
		SuperviseCount int `json:"supervise_count"`
		Survey         *struct {
			Answer, Agent, Queue string
			CallID               string `json:"call_id"`
		}
	}
	eventually(t, 10*time.Second, "the survey on the work order", func() bool {
		return env.api(t, "GET", "/api/v1/tickets/"+tks[0].ID, &o) == 200 && o.Survey != nil
	})
	t.Logf("work order %s: survey %+v, supervised %d times", o.ID, *o.Survey, o.SuperviseCount)
	if o.Survey.Answer != "dissatisfied" || o.Survey.Agent != "2001" || o.Survey.Queue != "complaint" || o.SuperviseCount < 1 {
		t.Fatalf("work order %s: survey %+v, supervise count %d", o.ID, *o.Survey, o.SuperviseCount)
	}
	// The test policy's deadlines are seconds, so the watcher may
	// supervise the order too: the survey's supervision is the entry right
	// after the answer.
	var trail []string
	for i, a := range o.Audit {
		trail = append(trail, a.Action)
		if a.Action == "survey" && (i+1 == len(o.Audit) || o.Audit[i+1].Action != "supervise" ||
			!strings.Contains(o.Audit[i+1].Note, "post-call survey")) {
			t.Errorf("the survey answer %+v is not followed by its supervision", a)
		}
	}
	if s := strings.Join(trail, " "); !strings.Contains(s, "survey supervise") {
		t.Errorf("audit trail %s: want the survey answer, then the supervision", s)
	}

	var calls struct {
		Calls []struct {
			CallID    string `json:"call_id"`
			Agent     string
			Queue     string
			Survey    string
			EndReason string `json:"end_reason"`
			TicketID  string `json:"ticket_id"`
		}
	}
	eventually(t, 10*time.Second, "the call record of "+phone, func() bool {
		return env.api(t, "GET", "/api/v1/calls?phone="+phone, &calls) == 200 && len(calls.Calls) == 1
	})
	cr := calls.Calls[0]
	t.Logf("call record %+v", cr)
	if cr.Survey != "dissatisfied" || cr.Agent != "2001" || cr.Queue != "complaint" || cr.EndReason != "agent_hangup" ||
		cr.TicketID != o.ID || cr.CallID != o.Survey.CallID {
		t.Errorf("call record %+v, work order %s", cr, o.ID)
	}
	if got := env.metric(t, series) - before; got != 1 {
		t.Errorf("%s rose by %v, want 1", series, got)
	}
}
