//go:build e2e

package e2e

import (
	"testing"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

// A callback whose customer is busy, then does not answer, then answers:
// the outcome of each attempt is read from the SIP/Q.850 cause, a retry
// follows each miss, and every attempt is visible through the API.
func TestCallbackOutcomesOverSIP(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t) // nobody answers: the caller abandons
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("0"), pause(6*time.Second), hangUp)
	c.wait(t, 30*time.Second)

	_, media := ports()
	busy := startSipp(t, "customer-busy", scenario.Busy, "", env.CarrierPort, media)
	busy.wait(t, 30*time.Second)
	ringing := startSipp(t, "customer-no-answer", uasHead(captureCSeq)+uasRingOut+scenarioTail, "", env.CarrierPort, media)
	ringing.wait(t, 60*time.Second)
	answering := customerAnswering(t, env, 8*time.Second)
	answering.wait(t, 60*time.Second)

	type attempt struct {
		N       int
		Outcome string
	}
	var cbs struct {
		Callbacks []struct {
			Kind, Status string
			History      []attempt
		}
	}
	eventually(t, 10*time.Second, "three attempts on record", func() bool {
		env.api(t, "GET", "/api/v1/callbacks?phone="+phone, &cbs)
		return len(cbs.Callbacks) == 1 && len(cbs.Callbacks[0].History) == 3
	})
	cb := cbs.Callbacks[0]
	got := []string{cb.History[0].Outcome, cb.History[1].Outcome, cb.History[2].Outcome}
	if got[0] != "busy" || got[1] != "no_answer" || got[2] != "answered" || cb.Status != "completed" || cb.Kind != "abandoned" {
		t.Fatalf("callback %s %s with attempts %v, want busy, no_answer, answered", cb.Kind, cb.Status, got)
	}
}
