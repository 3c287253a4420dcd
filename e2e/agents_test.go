//go:build e2e

package e2e

import (
	"testing"
	"time"

	scenario "github.com/hotline95598/hotline/internal/sipp"
)

// featureXML: an agent's softphone dials a feature code, answering the
// digest challenge as a real phone does, and the hotline hangs up after
// confirming.
var featureXML = scenario.Feature(awaitBye)

// dialFeature makes agent id's softphone dial a feature code.
func dialFeature(t *testing.T, env *Env, id, code string) {
	t.Helper()
	sipPort, mediaPort := ports()
	s := startSipp(t, "feature-"+id+"-"+code,
		render(t, featureXML, scenarioData{ID: id, Password: env.Agents[id], Phone: code}), env.SIPAddr, sipPort, mediaPort)
	s.wait(t, 30*time.Second)
}

// An agent logs in, pauses, gets ready and logs out from the softphone
// with feature codes; each change is what the API then shows.
func TestAgentFeatureCodes(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t)
	for _, step := range []struct{ code, state, reason string }{
		{"*21", "available", ""},
		{"*23", "paused", "softphone"},
		{"*24", "available", ""},
		{"*22", "logged_out", ""},
	} {
		dialFeature(t, env, "2002", step.code)
		a := env.agentState(t, "2002")
		if a.State != step.state || a.Reason != step.reason {
			t.Fatalf("after %s: %+v, want %s %s", step.code, a, step.state, step.reason)
		}
	}
}
