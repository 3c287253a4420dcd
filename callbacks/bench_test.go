package callbacks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
)

// benchStore is a store on a throw-away redis-server with a settable clock
// and 80 outbound lines.
func benchStore(b *testing.B) (*Store, *clocktest.Clock, func() int64) {
	b.Helper()
	rdb := redistest.Start(b).Client(b)
	clk := clocktest.New(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	cmds := func() int64 {
		n, _, err := commandStats(context.Background(), rdb)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return NewStore(rdb, "bench:", simPolicy(80), clk.Now), clk, cmds
}

// BenchmarkSchedule: promising one abandoned callback.
func BenchmarkSchedule(b *testing.B) {
	st, clk, cmds := benchStore(b)
	ctx := context.Background()
	c0 := cmds()
	b.ResetTimer()
	for i := range b.N {
		if _, created, err := st.Schedule(ctx, Request{Phone: fmt.Sprintf("138%08d", i), CallID: "bench"}); err != nil || !created {
			b.Fatalf("schedule: created=%v err=%v", created, err)
		}
		if i%64 == 63 {
			clk.Add(time.Second)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cmds()-c0)/float64(b.N), "redis-cmds/op")
}

// BenchmarkClaimFinish: claiming one of b.N due callbacks and recording an
// answered attempt, the work of one placed callback.
func BenchmarkClaimFinish(b *testing.B) {
	st, clk, cmds := benchStore(b)
	ctx := context.Background()
	for i := range b.N {
		if _, created, err := st.Schedule(ctx, Request{Phone: fmt.Sprintf("139%08d", i), CallID: "bench"}); err != nil || !created {
			b.Fatalf("schedule: created=%v err=%v", created, err)
		}
	}
	clk.Add(time.Minute) // all due, none past its window
	c0 := cmds()
	b.ResetTimer()
	for range b.N {
		cb, ok, err := st.ClaimDue(ctx, 90*time.Second)
		if err != nil || !ok {
			b.Fatalf("claim: ok=%v err=%v", ok, err)
		}
		if s, err := st.Finish(ctx, cb, true, "answered"); err != nil || s != Completed {
			b.Fatalf("finish: %s %v", s, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cmds()-c0)/float64(b.N), "redis-cmds/op")
}
