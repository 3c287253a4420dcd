package hold

import (
	"testing"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/queue"
)

// Connecting and ending a call sends the switch only the requests that do
// something: music on hold is stopped before the bridge only if it was
// started (a caller answered during the transfer prompt never heard it),
// and an agent who hung up is not hung up again.
func TestTalkSendsOnlyUsefulRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		intro []string
		moh   bool
	}{
		{"answered during the intro", []string{"sound:hotline/transfer_agent"}, false},
		{"answered on hold", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, d, sw, clk := setup(t, "1001")
			sw.ManualPlayback = true
			login(t, reg, clk, "1001")
			var r rung
			sw.OnOriginate = r.answer
			out, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: "general", Intro: tc.intro})
			waitFor(t, "bridged", func() bool { return sw.Has("bridge-add br-c1") })
			if got := sw.Has("moh-stop c1"); got != tc.moh {
				t.Errorf("moh-stop sent: %v, want %v (actions %v)", got, tc.moh, sw.Actions())
			}
			sw.HangUp("c1-agent-1") // the agent ends the call
			select {
			case o := <-out:
				if o != Connected {
					t.Fatalf("outcome %s", o)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the call did not end with the agent's hang-up")
			}
			waitFor(t, "bridge destroyed", func() bool { return sw.Has("bridge-destroy br-c1") })
			if sw.Has("hangup c1-agent-1") {
				t.Errorf("the agent's leg was hung up after the agent hung up: %v", sw.Actions())
			}
			if a := state(t, reg, "1001"); a.State == agents.Ringing || a.State == agents.OnCall {
				t.Errorf("agent left %s", a.State)
			}
			sess.Close(t.Context())
		})
	}
}
