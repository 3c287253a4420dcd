package supervise

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// monitorSetup: agent 2001 is on call c1 (leg c1-agent-2 up after a first
// attempt rang out); supervisor 2003's softphone is registered and answers.
func monitorSetup(t *testing.T) (*Monitor, *ivrtest.Switch, *agents.Registry) {
	t.Helper()
	m, sw, reg, _ := monitorSetupRedis(t)
	return m, sw, reg
}

func monitorSetupRedis(t *testing.T) (*Monitor, *ivrtest.Switch, *agents.Registry, *redis.Client) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	reg := agents.NewRegistry(rdb, "t:", nil)
	ctx := context.Background()
	if err := reg.Ensure(ctx, []string{"2001", "2002", "2003"}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Login(ctx, "2001"); err != nil {
		t.Fatal(err)
	}
	if id, ok, err := reg.ClaimIdle(ctx, "c1"); err != nil || !ok || id != "2001" {
		t.Fatalf("claim %s %v %v", id, ok, err)
	}
	if err := reg.Answered(ctx, "2001", "c1"); err != nil {
		t.Fatal(err)
	}
	sw := ivrtest.New()
	sw.SetOnline("2003", true)
	sw.SetChannels(ivr.ChannelInfo{ID: "c1", State: "Up"}, ivr.ChannelInfo{ID: "c1-agent-1", State: "Ring"},
		ivr.ChannelInfo{ID: "c1-agent-2", State: "Up"})
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
	}
	m := NewMonitor(reg, sw, agents.SwitchPhones{Switch: sw}, MonitorConfig{RingTimeout: time.Second}, zerolog.Nop())
	return m, sw, reg, rdb
}

func monWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMonitorModes(t *testing.T) {
	for _, tc := range []struct {
		mode    MonitorMode
		actions []string // in this order
	}{
		{Listen, []string{"originate c1-agent-sup1 PJSIP/2003 monitor,2001,c1",
			"snoop c1-agent-2 c1-agent-snoop1x1 spy=both whisper=none",
			"bridge-create mon-c1-1", "bridge-add mon-c1-1 c1-agent-sup1,c1-agent-snoop1x1"}},
		{Whisper, []string{"originate c1-agent-sup1 PJSIP/2003 monitor,2001,c1",
			"snoop c1-agent-2 c1-agent-snoop1x1 spy=both whisper=out",
			"bridge-create mon-c1-1", "bridge-add mon-c1-1 c1-agent-sup1,c1-agent-snoop1x1"}},
		{Barge, []string{"originate c1-agent-sup1 PJSIP/2003 monitor,2001,c1", "bridge-add br-c1 c1-agent-sup1"}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			m, sw, _ := monitorSetup(t)
			info, err := m.Start(context.Background(), MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			if info.CallID != "c1" || info.SupervisorChannel != "c1-agent-sup1" {
				t.Fatalf("info %+v", info)
			}
			last := tc.actions[len(tc.actions)-1]
			monWait(t, last, func() bool { return sw.Has(last) })
			if got := sw.Actions(); !slices.Equal(got, tc.actions) {
				t.Fatalf("actions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.actions, "\n"))
			}
			monWait(t, "active", func() bool { return len(m.Active()) == 1 && m.Active()[0].State == "active" })
			// The caller hangs up: the supervisor is hung up and whatever
			// the monitor made is gone.
			sw.HangUp("c1")
			monWait(t, "monitor ended", func() bool { return len(m.Active()) == 0 })
			if !sw.IsHungUp("c1-agent-sup1") {
				t.Error("supervisor leg not hung up")
			}
			if tc.mode != Barge {
				if !sw.IsHungUp("c1-agent-snoop1x1") || !sw.Has("bridge-destroy mon-c1-1") {
					t.Errorf("snoop or monitor bridge left behind: %v", sw.Actions())
				}
			} else if sw.Has("bridge-destroy") {
				t.Errorf("barge must not destroy the call's bridge: %v", sw.Actions())
			}
		})
	}
}

// A supervisor already on the call changes mode without being rung again.
func TestMonitorSwitchesMode(t *testing.T) {
	m, sw, _ := monitorSetup(t)
	ctx := context.Background()
	start := func(mode MonitorMode) {
		t.Helper()
		if _, err := m.Start(ctx, MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: mode}); err != nil {
			t.Fatal(err)
		}
	}
	start(Listen)
	monWait(t, "listening", func() bool { return sw.Has("bridge-add mon-c1-1") })
	start(Whisper)
	if !sw.Has("snoop c1-agent-2 c1-agent-snoop1x2 spy=both whisper=out") || !sw.IsHungUp("c1-agent-snoop1x1") {
		t.Fatalf("listen → whisper: %v", sw.Actions())
	}
	start(Barge)
	if !sw.Has("bridge-add br-c1 c1-agent-sup1") || !sw.IsHungUp("c1-agent-snoop1x2") || !sw.Has("bridge-destroy mon-c1-1") {
		t.Fatalf("whisper → barge: %v", sw.Actions())
	}
	if got := m.Active(); len(got) != 1 || got[0].Mode != Barge {
		t.Fatalf("active %+v", got)
	}
	n := 0
	for _, a := range sw.Actions() {
		if strings.HasPrefix(a, "originate") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("supervisor rung %d times", n)
	}
	// The supervisor hangs up: the call goes on untouched.
	sw.HangUp("c1-agent-sup1")
	monWait(t, "monitor ended", func() bool { return len(m.Active()) == 0 })
	if sw.IsHungUp("c1") || sw.IsHungUp("c1-agent-2") {
		t.Fatal("the supervisor leaving hung up the call")
	}
}

func TestMonitorRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  MonitorRequest
		prep func(*ivrtest.Switch, *agents.Registry)
		want error
	}{
		{"agent not on a call", MonitorRequest{Agent: "2002", Supervisor: "2003", Mode: Listen}, nil, ErrNotOnCall},
		{"unknown agent", MonitorRequest{Agent: "9999", Supervisor: "2003", Mode: Listen}, nil, agents.ErrUnknownAgent},
		{"bad mode", MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: "spy"}, nil, ErrBadMonitor},
		{"dial string injection", MonitorRequest{Agent: "2001", Supervisor: "2003&PJSIP/9", Mode: Listen}, nil, ErrBadMonitor},
		{"own call", MonitorRequest{Agent: "2001", Supervisor: "2001", Mode: Listen}, nil, ErrBadMonitor},
		{"supervisor offline", MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Listen},
			func(sw *ivrtest.Switch, _ *agents.Registry) { sw.SetOnline("2003", false) }, ErrSupervisorOffline},
		{"no agent leg up", MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Listen},
			func(sw *ivrtest.Switch, _ *agents.Registry) { sw.SetChannels(ivr.ChannelInfo{ID: "c1", State: "Up"}) }, ErrNotOnCall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, sw, reg := monitorSetup(t)
			if tc.prep != nil {
				tc.prep(sw, reg)
			}
			_, err := m.Start(context.Background(), tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if sw.Has("originate") || len(m.Active()) != 0 {
				t.Fatalf("refused request still acted: %v", sw.Actions())
			}
		})
	}
}

// A supervisor who does not answer leaves nothing behind.
func TestMonitorSupervisorNoAnswer(t *testing.T) {
	m, sw, _ := monitorSetup(t)
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) { s.HangUp(req.ChannelID) }
	if _, err := m.Start(context.Background(), MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Listen}); err != nil {
		t.Fatal(err)
	}
	monWait(t, "monitor ended", func() bool { return len(m.Active()) == 0 })
	if sw.Has("snoop") || sw.Has("bridge") {
		t.Fatalf("joined a supervisor who did not answer: %v", sw.Actions())
	}
}

// The agent's call ends while the supervisor's phone rings: the
// supervisor is not joined to anything.
func TestMonitorCallEndsWhileRinging(t *testing.T) {
	m, sw, reg := monitorSetup(t)
	answer := make(chan string, 1)
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) { answer <- req.ChannelID }
	if _, err := m.Start(context.Background(), MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Barge}); err != nil {
		t.Fatal(err)
	}
	leg := <-answer
	if err := reg.Release(context.Background(), "2001", "c1", true); err != nil {
		t.Fatal(err)
	}
	sw.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: leg})
	monWait(t, "monitor ended", func() bool { return len(m.Active()) == 0 })
	if sw.Has("bridge-add") || !sw.IsHungUp(leg) {
		t.Fatalf("actions %v", sw.Actions())
	}
}
