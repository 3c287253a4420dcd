package supervise

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/ivr/ivrtest"
)

type fakeOwners map[string]string

func (f fakeOwners) Owner(_ context.Context, id string) (string, error) { return f[id], nil }

// Two replicas on two nodes share Redis: replica b owns call c1 (the
// agent's leg is in b's Asterisk); a supervisor asks replica a. The request
// is served by b, a's Asterisk is never touched, and b's refusals keep
// their kind on a's side.
func TestMonitorRelaysToTheCallsOwner(t *testing.T) {
	mB, swB, reg, rdb := monitorSetupRedis(t)
	swA := ivrtest.New() // node a's Asterisk: c1 is not there
	swA.SetOnline("2003", true)
	mA := NewMonitor(reg, swA, agents.SwitchPhones{Switch: swA}, MonitorConfig{RingTimeout: time.Second}, zerolog.Nop())
	owners := fakeOwners{"c1": "b"}
	mA.UseRelay(NewRelay(rdb, "t:", "a", 2*time.Second, zerolog.Nop()), owners)
	mB.UseRelay(NewRelay(rdb, "t:", "b", 2*time.Second, zerolog.Nop()), owners)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go mA.ServeRelay(ctx)
	go mB.ServeRelay(ctx)

	info, err := mA.Start(ctx, MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Listen})
	if err != nil {
		t.Fatal(err)
	}
	if info.CallID != "c1" || info.SupervisorChannel != "c1-agent-sup1" || info.Mode != Listen {
		t.Fatalf("info %+v", info)
	}
	monWait(t, "b listening", func() bool { return swB.Has("bridge-add mon-c1-1 c1-agent-sup1,c1-agent-snoop1x1") })
	// Switching the mode through a reaches b's running monitor.
	if _, err := mA.Start(ctx, MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Barge}); err != nil {
		t.Fatal(err)
	}
	if !swB.Has("bridge-add br-c1 c1-agent-sup1") {
		t.Fatalf("barge through a: %v", swB.Actions())
	}
	if len(swA.Actions()) != 0 || len(mA.Active()) != 0 || len(mB.Active()) != 1 {
		t.Fatalf("node a acted %v; monitors a %v, b %v", swA.Actions(), mA.Active(), mB.Active())
	}
	swB.HangUp("c1")
	monWait(t, "monitor ended", func() bool { return len(mB.Active()) == 0 })

	// A refusal of b keeps its kind (the API's 409).
	swB.SetOnline("2003", false)
	if _, err := mA.Start(ctx, MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Listen}); !errors.Is(err, ErrSupervisorOffline) {
		t.Fatalf("relayed refusal: %v, want %v", err, ErrSupervisorOffline)
	}
}

// The owner does not answer (its replica is gone): the request fails
// within the relay's wait, as unreachable, and is never acted on later.
func TestMonitorRelayOwnerGone(t *testing.T) {
	m, sw, _, rdb := monitorSetupRedis(t)
	m.UseRelay(NewRelay(rdb, "t:", "a", time.Second, zerolog.Nop()), fakeOwners{"c1": "gone"})
	start := time.Now()
	_, err := m.Start(context.Background(), MonitorRequest{Agent: "2001", Supervisor: "2003", Mode: Listen})
	if !errors.Is(err, ErrOwnerUnreachable) || time.Since(start) > 3*time.Second {
		t.Fatalf("err %v after %s, want %v within the wait", err, time.Since(start), ErrOwnerUnreachable)
	}
	if len(sw.Actions()) != 0 {
		t.Fatalf("acted here for a call another replica owns: %v", sw.Actions())
	}
	// The replica comes back after the request expired: it drops it.
	late := NewMonitor(m.reg, sw, m.phones, m.cfg, zerolog.Nop())
	late.UseRelay(NewRelay(rdb, "t:", "gone", time.Second, zerolog.Nop()), fakeOwners{})
	if n, _ := rdb.LLen(context.Background(), "t:monitor:requests:gone").Result(); n != 1 {
		t.Fatalf("%d requests waiting for the replica, want the one that expired", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	late.ServeRelay(ctx)
	if len(sw.Actions()) != 0 {
		t.Fatalf("an expired request was acted on: %v", sw.Actions())
	}
}
