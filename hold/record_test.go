package hold

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/recordings"
)

// recSwitch is the fake switch that can record bridges.
type recSwitch struct {
	*ivrtest.Switch
	mu      sync.Mutex
	refuse  error
	started []string // "bridge name parties"
	stopped []string // "name bridge-still-up"
}

func (s *recSwitch) RecordBridge(_ context.Context, bridgeID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		return s.refuse
	}
	s.started = append(s.started, bridgeID+" "+name+" "+string(rune('0'+len(s.Bridge(bridgeID)))))
	return nil
}

func (s *recSwitch) StopRecording(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	up := "up"
	if s.Has("bridge-destroy br-call1") {
		up = "gone"
	}
	s.stopped = append(s.stopped, name+" "+up)
	return nil
}

type fakeCallRecords struct {
	mu  sync.Mutex
	set map[string]string
}

func (f *fakeCallRecords) SetRecording(_ context.Context, callID, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set[callID] = id
	return nil
}

func (f *fakeCallRecords) get(callID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set[callID]
}

func count(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

func TestAgentCallsAreRecorded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		record bool  // the policy records agent calls
		refuse error // the switch refuses to record
	}{
		{name: "policy all: recorded from answer to hang-up", record: true},
		{name: "policy none: nothing recorded"},
		{name: "the switch refuses: the call goes on", record: true, refuse: errors.New("ari: 500")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, d, sw, clk := setup(t, "1001")
			rs := &recSwitch{Switch: sw, refuse: tc.refuse}
			m := metrics.Discard()
			d.Hold = New(d.Queue, reg, rs, agents.SwitchPhones{Switch: sw}, d.Hold.cfg, m, zerolog.Nop())
			store := recordings.New(d.rdb, "t:", t.TempDir(), policy.Recordings{AgentCalls: tc.record, Retention: 24 * time.Hour}, clk.Now)
			calls := &fakeCallRecords{set: map[string]string{}}
			d.SetRecordings(store, calls)
			login(t, reg, clk, "1001")
			sw.OnOriginate = answerWhen(map[string]bool{"1001": true})
			out, _ := serve(t, d, sw, queue.Caller{CallID: "call1", Phone: "13800138000", Queue: "complaint", TicketID: "20261122000001"})
			waitFor(t, "bridge", func() bool { return len(sw.Bridge("br-call1")) == 2 })
			sw.HangUp("call1-agent-1") // the agent ends the conversation
			if o := <-out; o != Connected {
				t.Fatalf("outcome %s", o)
			}
			recs, err := store.List(context.Background(), recordings.Filter{Ticket: "20261122000001"})
			if err != nil {
				t.Fatal(err)
			}
			want := recordings.Name("call1", clk.Now(), 0)
			if !tc.record || tc.refuse != nil {
				if len(recs) != 0 || calls.get("call1") != "" || len(rs.stopped) != 0 {
					t.Fatalf("recordings %+v, call record %q, stopped %v", recs, calls.get("call1"), rs.stopped)
				}
				if tc.refuse != nil && count(m.CallRecordings.WithLabelValues("failed")) != 1 {
					t.Fatal("failed recording not counted")
				}
				return
			}
			// Recorded: the bridge with both parties on it, stopped while the
			// bridge was still up, indexed by work order, agent, caller, tied
			// to the call's record.
			if len(rs.started) != 1 || rs.started[0] != "br-call1 "+want+" 2" {
				t.Fatalf("started %v, want br-call1 %s with both parties", rs.started, want)
			}
			if len(rs.stopped) != 1 || rs.stopped[0] != want+" up" {
				t.Fatalf("stopped %v: the recording must end before the bridge goes", rs.stopped)
			}
			if len(recs) != 1 || recs[0].ID != want || recs[0].Agent != "1001" || recs[0].Phone != "13800138000" ||
				recs[0].Queue != "complaint" || recs[0].CallID != "call1" {
				t.Fatalf("recordings %+v", recs)
			}
			if calls.get("call1") != want {
				t.Fatalf("call record's recording %q, want %s", calls.get("call1"), want)
			}
			if count(m.CallRecordings.WithLabelValues("started")) != 1 {
				t.Fatal("recording not counted")
			}
		})
	}
}
