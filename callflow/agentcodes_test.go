package callflow

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/rs/zerolog"
)

type fakeStates struct{ done []string }

func (f *fakeStates) Login(ctx context.Context, id string) error {
	f.done = append(f.done, "login "+id)
	return nil
}
func (f *fakeStates) Logout(ctx context.Context, id string) error {
	f.done = append(f.done, "logout "+id)
	return nil
}
func (f *fakeStates) Ready(ctx context.Context, id string) error {
	f.done = append(f.done, "ready "+id)
	return nil
}
func (f *fakeStates) Pause(ctx context.Context, id, reason string) error {
	return errors.New("agent 1001 is on_call: not allowed")
}

func TestAgentFromChannel(t *testing.T) {
	for in, want := range map[string]string{"PJSIP/1001-0000000a": "1001", "PJSIP/agent-7-00000001": "agent-7", "PJSIP/2001": "2001", "junk": ""} {
		if got := AgentFromChannel(in); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestAgentFeature(t *testing.T) {
	for _, tc := range []struct{ feature, done, say string }{
		{"login", "login 1001", "agent_logged_in"},
		{"ready", "ready 1001", "agent_ready"},
		{"pause", "", "agent_feature_failed"},
		{"dance", "", "agent_feature_failed"},
	} {
		sw := ivrtest.New()
		st := &fakeStates{}
		AgentFeature(context.Background(), ivr.NewSession(sw, "a1", zerolog.Nop()), "1001", tc.feature, st, zerolog.Nop())
		if strings.Join(st.done, ",") != tc.done || !sw.Has("play a1 sound:hotline/"+tc.say) || !sw.IsHungUp("a1") {
			t.Errorf("%s: done %v, actions %v", tc.feature, st.done, sw.Actions())
		}
	}
}
