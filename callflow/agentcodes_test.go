package callflow

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/agents"
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

// fakeDesk knows agent 2002 only.
type fakeDesk struct{ fakeStates }

func (f *fakeDesk) Get(ctx context.Context, id string) (agents.Agent, error) {
	if id != "2002" {
		return agents.Agent{}, agents.ErrUnknownAgent
	}
	return agents.Agent{ID: id}, nil
}

// In a cluster every agent's call comes from the edge's one endpoint: the
// agent is the one the edge named (the caller number), never "edge"; on a
// single node the channel's endpoint names the agent and the caller number
// (which the phone chooses) is ignored.
func TestFeatureCodeNamesTheAgent(t *testing.T) {
	for _, tc := range []struct {
		name, edge, channel, callerNum, done string
	}{
		{"cluster", "edge", "PJSIP/edge-0000000a", "2002", "login 2002"},
		{"edge not trusted", "", "PJSIP/edge-0000000a", "2002", ""},
		{"single node", "", "PJSIP/2002-0000000a", "1001", "login 2002"},
		{"single node, edge set", "edge", "PJSIP/2002-0000000a", "1001", "login 2002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := ivrtest.New()
			desk := &fakeDesk{}
			r := NewRouter(nil, sw, desk, nil, zerolog.Nop())
			if tc.edge != "" {
				r.TrustEdge(tc.edge)
			}
			r.OnStasisStart(context.Background(), ivr.ChannelInfo{ID: "f1", Name: tc.channel, CallerNum: tc.callerNum},
				[]string{"feature", "login"})
			if got := strings.Join(desk.done, ","); got != tc.done || !sw.IsHungUp("f1") {
				t.Fatalf("done %q, want %q; actions %v", got, tc.done, sw.Actions())
			}
		})
	}
}
