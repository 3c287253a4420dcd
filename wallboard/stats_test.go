package wallboard

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
)

// countingStats counts the reports asked of the store.
type countingStats struct {
	inner Stats
	n     int
}

func (c *countingStats) Stats(ctx context.Context, since, until time.Time, agent string) (cdr.Report, error) {
	c.n++
	return c.inner.Stats(ctx, since, until, agent)
}

// Today's calls, the current interval's and every agent's day reach the
// snapshot from the call records and the agents' event stream; the report
// is read once a second whatever the number of polls.
func TestWithStats(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(time.Date(2026, 11, 22, 10, 0, 0, 0, china.Zone))
	recs := cdr.New(rdb, "t:", policy.Default().Records(), clk.Now)
	reg := agents.NewRegistry(rdb, "t:", clk.Now)
	if err := reg.Ensure(ctx, []string{"2001"}); err != nil {
		t.Fatal(err)
	}
	_ = reg.Login(ctx, "2001")
	clk.Add(10 * time.Minute)
	_ = reg.Pause(ctx, "2001", "lunch")
	if _, err := recs.NewFold(reg.EventsKey(), "r1", zerolog.Nop()).Once(ctx); err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	for i, agent := range []string{"2001", ""} {
		r := cdr.Record{CallID: "c" + string(rune('0'+i)), Kind: cdr.KindInbound, Phone: "13800138000", Start: start,
			QueueJoin: start.Add(10 * time.Second), End: start.Add(3 * time.Minute), Queue: "general", Outcome: "abandoned"}
		if agent != "" {
			r.Agent, r.AgentAnswer, r.Outcome = agent, start.Add(20*time.Second), "agent"
		}
		if err := recs.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(5 * time.Minute) // 10:15, paused 5 minutes so far
	st := &countingStats{inner: recs}
	src := WithStats(newFake(), st, clk.Now)
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Today == nil || snap.Today.Offered != 2 || snap.Today.Answered != 1 || *snap.Today.AnswerRate != 0.5 {
		t.Fatalf("today %+v", snap.Today)
	}
	if snap.Interval == nil || !snap.Interval.Start.Equal(time.Date(2026, 11, 22, 10, 0, 0, 0, china.Zone)) || snap.Interval.Offered != 2 {
		t.Fatalf("interval %+v", snap.Interval)
	}
	if len(snap.AgentsToday) != 1 || snap.AgentsToday[0].Agent != "2001" || snap.AgentsToday[0].PauseByReason["lunch"] != 300 ||
		snap.AgentsToday[0].PausedS != 300 {
		t.Fatalf("agents %+v", snap.AgentsToday)
	}
	raw, _ := json.Marshal(normalize(snap))
	if !strings.Contains(string(raw), `"answer_rate":0.5`) || strings.Contains(string(raw), "13800138000") {
		t.Fatalf("snapshot JSON %s: figures, and never a caller's number", raw)
	}
	for range 5 {
		if _, err := src.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Second)
	if _, err := src.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if st.n != 2 {
		t.Fatalf("%d reports for 7 snapshots over a second; want 2", st.n)
	}
}
