package callbacks

// TestSimulateHour is the callback engine's capacity benchmark (`make
// bench`): an hour of promised callbacks placed through a limited number of
// outbound lines, against a real Redis and the real Store, on a simulated
// clock, so an hour takes seconds. It is skipped unless HOTLINE_BENCH=1.
//
// Figures can be changed through the environment:
//
//	HOTLINE_SIM_CALLBACKS       callbacks per run (10000)
//	HOTLINE_SIM_SPAN            arrivals spread over (1h)
//	HOTLINE_SIM_LINES           outbound lines where capacity allows (80)
//	HOTLINE_SIM_OVERLOAD_LINES  outbound lines in the overload run (40)
//	HOTLINE_SIM_FIRST_CONTACT   share of first_contact callbacks in the mixed runs (0.2)
//	HOTLINE_SIM_DEADLINE        their contact deadline after the promise (2m)
//	HOTLINE_SIM_TICK            scheduler poll interval, simulated (250ms)
//	HOTLINE_SIM_SEED            random seed (1)
//	HOTLINE_SIM_MIN_ONTIME      on-time share required where capacity allows (99.9)
//
// Why 80 lines: an attempt holds its line 5–20 s when answered (70%), 30 s
// when it rings out (20%) and 2 s when busy (10%), 15 s on average, and 30%
// of attempts need a retry, so a callback takes about 1.39 attempts and 21
// line-seconds. 10,000 an hour is 2.8 a second, an offered load of about 58
// Erlangs: 40 lines are already an overload, 80 leave headroom for the
// bursts of Poisson arrivals.

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
	"github.com/redis/go-redis/v9"
)

type simConfig struct {
	Name         string
	Callbacks    int
	Span         time.Duration // arrivals spread over this
	Lines        int           // outbound lines: the store's MaxConcurrent
	FirstContact float64       // share of first_contact callbacks
	Deadline     time.Duration // their contact deadline after the promise
	Tick         time.Duration // scheduler poll interval
	Lease        time.Duration // claim lease, longer than the longest attempt
	Seed         uint64
	Overload     bool // too few lines on purpose: report, do not require the on-time share
}

type simResult struct {
	cfg                         simConfig
	callbacks, attempts         int
	completed, failed, expired  int
	recovered                   int
	onTime                      map[string][2]int // kind → {first attempts on time, callbacks}
	lags                        []time.Duration   // first attempts: claim − due
	kindLags                    map[string][]time.Duration
	lineSeconds                 time.Duration // lines held by attempts
	simulated, wall             time.Duration
	cmds                        int64 // Redis commands over the run
	cmdsBy                      map[string]int64
	maxBusy                     int // most attempts ringing at once
	finalMissing, pendingAtExit int64
}

func (r simResult) share(kind string) float64 {
	var on, n int
	for k, v := range r.onTime {
		if kind == "" || k == kind {
			on, n = on+v[0], n+v[1]
		}
	}
	if n == 0 {
		return 0
	}
	return 100 * float64(on) / float64(n)
}

func (r simResult) lag(q float64) time.Duration { return quantile(r.lags, q) }

// quantile of sorted durations, by nearest rank.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(q*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// simPolicy: abandoned as in the default policy, at any hour; first_contact
// with the same window and a shorter retry, its deadline set per request.
func simPolicy(lines int) policy.CallbackPolicy {
	one := policy.CallbackKind{Window: 10 * time.Minute, MaxAttempts: 1}
	return policy.CallbackPolicy{MaxConcurrent: lines, Kinds: map[string]policy.CallbackKind{
		KindAbandoned:    {Delay: 30 * time.Second, Window: 10 * time.Minute, MaxAttempts: 3, Retry: 2 * time.Minute},
		KindFirstContact: {Window: 10 * time.Minute, MaxAttempts: 3, Retry: 30 * time.Second},
		KindCutOff:       one, KindFollowUp: one, KindScheduled: one, KindVirtualHold: one,
	}}
}

// ringing is an attempt in progress on the simulated dialer.
type ringing struct {
	end      time.Time
	cb       Callback
	answered bool
	outcome  string
}

type ringHeap []ringing

func (h ringHeap) Len() int           { return len(h) }
func (h ringHeap) Less(i, j int) bool { return h[i].end.Before(h[j].end) }
func (h ringHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ringHeap) Push(x any)        { *h = append(*h, x.(ringing)) }
func (h *ringHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// dial draws how an attempt ends: answered after 5–20 s (70%), no answer
// after a 30 s ring (20%), busy after 2 s (10%).
func dial(rng *rand.Rand) (ring time.Duration, answered bool, outcome string) {
	switch u := rng.Float64(); {
	case u < 0.7:
		return 5*time.Second + time.Duration(rng.Int64N(int64(15*time.Second))), true, "answered"
	case u < 0.9:
		return 30 * time.Second, false, "no_answer"
	default:
		return 2 * time.Second, false, "busy"
	}
}

// commandStats sums the calls of every command from INFO commandstats
// (commands run inside Lua scripts are counted too), leaving out INFO.
func commandStats(ctx context.Context, rdb *redis.Client) (int64, map[string]int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, nil, err
	}
	var total int64
	by := map[string]int64{}
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || name == "info" {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			return 0, nil, fmt.Errorf("commandstats line %q: %w", line, err)
		}
		total += n
		by[name] = n
	}
	return total, by, nil
}

func runSimulation(t *testing.T, cfg simConfig) simResult {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	st := NewStore(rdb, "sim:", simPolicy(cfg.Lines), clk.Now)
	rng := rand.New(rand.NewPCG(cfg.Seed, 95598))

	// Poisson arrivals conditioned on their number: sorted uniform times,
	// to the millisecond, as Redis keeps them.
	type arrival struct {
		at   time.Duration
		kind string
	}
	arrivals := make([]arrival, cfg.Callbacks)
	for i := range arrivals {
		arrivals[i].at = time.Duration(rng.Int64N(int64(cfg.Span))).Truncate(time.Millisecond)
		arrivals[i].kind = KindAbandoned
		if rng.Float64() < cfg.FirstContact {
			arrivals[i].kind = KindFirstContact
		}
	}
	slices.SortFunc(arrivals, func(a, b arrival) int { return int(a.at - b.at) })

	res := simResult{cfg: cfg, onTime: map[string][2]int{}, cmdsBy: map[string]int64{}, kindLags: map[string][]time.Duration{}}
	kindOf := map[string]string{}
	final := map[string]Status{}
	var ring ringHeap

	cmds0, by0, err := commandStats(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	wall0 := time.Now()
	limit := start.Add(cfg.Span + 2*time.Hour) // a run that has not drained by then is stuck
	next := 0
	for tick := start.Add(cfg.Tick); ; tick = tick.Add(cfg.Tick) {
		if tick.After(limit) {
			t.Fatalf("%s: not drained after %s: %d arrivals left, %d ringing", cfg.Name, tick.Sub(start), len(arrivals)-next, ring.Len())
		}
		// Arrivals and attempt ends up to this tick, each at its own moment.
		for {
			ta, tr := time.Time{}, time.Time{}
			if next < len(arrivals) {
				ta = start.Add(arrivals[next].at)
			}
			if ring.Len() > 0 {
				tr = ring[0].end
			}
			switch {
			case !tr.IsZero() && !tr.After(tick) && (ta.IsZero() || !ta.Before(tr)):
				r := heap.Pop(&ring).(ringing)
				clk.Add(r.end.Sub(clk.Now()))
				s, err := st.Finish(ctx, r.cb, r.answered, r.outcome)
				if err != nil {
					t.Fatal(err)
				}
				if s.Final() {
					final[r.cb.ID] = s
				}
				continue
			case !ta.IsZero() && !ta.After(tick):
				a := arrivals[next]
				next++
				clk.Add(ta.Sub(clk.Now()))
				req := Request{Phone: fmt.Sprintf("138%08d", next), Kind: a.kind, CallID: "sim-" + strconv.Itoa(next)}
				if a.kind == KindFirstContact {
					req.Deadline = ta.Add(cfg.Deadline)
				}
				id, created, err := st.Schedule(ctx, req)
				if err != nil || !created {
					t.Fatalf("schedule %d: created=%v err=%v", next, created, err)
				}
				kindOf[id] = a.kind
				continue
			}
			break
		}
		clk.Add(tick.Sub(clk.Now()))

		// One poll of the worker (worker.go tick): recover lost leases,
		// the pending and overdue gauges, then claim until nothing is due
		// or every line is busy.
		n, err := st.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.recovered += n
		pending, err := st.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Overdue(ctx); err != nil {
			t.Fatal(err)
		}
		if next == len(arrivals) && ring.Len() == 0 && pending == 0 {
			break
		}
		for {
			cb, ok, err := st.ClaimDue(ctx, cfg.Lease)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			now := clk.Now()
			late := now.After(cb.Deadline)
			if cb.Attempts == 1 {
				res.lags = append(res.lags, now.Sub(cb.DueAt))
				res.kindLags[cb.Kind] = append(res.kindLags[cb.Kind], now.Sub(cb.DueAt))
				v := res.onTime[cb.Kind]
				v[1]++
				if !late {
					v[0]++
				}
				res.onTime[cb.Kind] = v
			}
			if late { // as the worker does: the window passed before it could be placed
				if err := st.Expire(ctx, cb); err != nil {
					t.Fatal(err)
				}
				final[cb.ID] = Expired
				continue
			}
			res.attempts++
			d, answered, outcome := dial(rng)
			res.lineSeconds += d
			heap.Push(&ring, ringing{end: now.Add(d), cb: cb, answered: answered, outcome: outcome})
			res.maxBusy = max(res.maxBusy, ring.Len())
		}
	}
	res.wall = time.Since(wall0)
	res.simulated = clk.Now().Sub(start)
	cmds1, by1, err := commandStats(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	res.cmds = cmds1 - cmds0
	for k, v := range by1 {
		if d := v - by0[k]; d > 0 {
			res.cmdsBy[k] = d
		}
	}
	res.callbacks = len(kindOf)
	for id := range kindOf {
		switch final[id] {
		case Completed:
			res.completed++
		case Failed:
			res.failed++
		case Expired:
			res.expired++
		default:
			res.finalMissing++
		}
	}
	res.pendingAtExit, _ = st.Pending(ctx)
	slices.Sort(res.lags)
	for _, l := range res.kindLags {
		slices.Sort(l)
	}
	return res
}

func envInt(t *testing.T, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	return def
}

func envFloat(t *testing.T, name string, def float64) float64 {
	if v := os.Getenv(name); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return f
	}
	return def
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: not a positive duration", name, v)
		}
		return d
	}
	return def
}

func TestSimulateHour(t *testing.T) {
	if os.Getenv("HOTLINE_BENCH") != "1" {
		t.Skip("the callback capacity simulation runs in `make bench` (HOTLINE_BENCH=1)")
	}
	base := simConfig{
		Callbacks:    envInt(t, "HOTLINE_SIM_CALLBACKS", 10000),
		Span:         envDuration(t, "HOTLINE_SIM_SPAN", time.Hour),
		Lines:        envInt(t, "HOTLINE_SIM_LINES", 80),
		FirstContact: envFloat(t, "HOTLINE_SIM_FIRST_CONTACT", 0.2),
		Deadline:     envDuration(t, "HOTLINE_SIM_DEADLINE", 2*time.Minute),
		Tick:         envDuration(t, "HOTLINE_SIM_TICK", 250*time.Millisecond),
		Lease:        90 * time.Second, // the worker's ring timeout (30 s) + 1 min
		Seed:         uint64(envInt(t, "HOTLINE_SIM_SEED", 1)),
	}
	overload := envInt(t, "HOTLINE_SIM_OVERLOAD_LINES", 40)
	minOnTime := envFloat(t, "HOTLINE_SIM_MIN_ONTIME", 99.9)

	abandoned, mixed, short := base, base, base
	abandoned.Name, abandoned.FirstContact = "abandoned", 0
	mixed.Name = "mixed"
	short.Name, short.Lines, short.Overload = "mixed-overload", overload, true

	var results []simResult
	for _, cfg := range []simConfig{abandoned, mixed, short} {
		t.Run(cfg.Name, func(t *testing.T) {
			r := runSimulation(t, cfg)
			results = append(results, r)
			report(t, r)
			if r.finalMissing > 0 || r.pendingAtExit > 0 || r.recovered > 0 {
				t.Errorf("%d callbacks without a final status, %d still pending, %d leases recovered", r.finalMissing, r.pendingAtExit, r.recovered)
			}
			if !cfg.Overload {
				if s := r.share(""); s < minOnTime {
					t.Errorf("capacity allows (%d lines) but only %.3f%% of first attempts were placed within the window, want >= %.3f%%", cfg.Lines, s, minOnTime)
				}
				return
			}
			// Overload: the share is only reported, but the nearest
			// deadline must go first. First come, first served would
			// starve the first_contact callbacks, whose window is a
			// fraction of the others'; nearest deadline first keeps their
			// on-time share level with the rest.
			fc, ab := r.share(KindFirstContact), r.share(KindAbandoned)
			if r.onTime[KindFirstContact][1] > 0 && fc < ab-2 {
				t.Errorf("overload: first_contact (deadline %s) placed on time %.3f%%, abandoned %.3f%%: nearer deadlines were not favoured", cfg.Deadline, fc, ab)
			}
		})
	}
	summary(t, results)
}

func report(t *testing.T, r simResult) {
	c := r.cfg
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== callback simulation %q: %d callbacks over %s (%.0f%% first_contact, deadline %s), %d lines, tick %s, seed %d\n",
		c.Name, c.Callbacks, c.Span, 100*c.FirstContact, c.Deadline, c.Lines, c.Tick, c.Seed)
	fmt.Fprintf(&b, "  callbacks %d  attempts %d (%.2f per callback)  completed %d  failed %d  expired %d\n",
		r.callbacks, r.attempts, float64(r.attempts)/float64(r.callbacks), r.completed, r.failed, r.expired)
	fmt.Fprintf(&b, "  first attempt within the window: %.3f%%", r.share(""))
	for _, k := range []string{KindAbandoned, KindFirstContact} {
		if v := r.onTime[k]; v[1] > 0 {
			fmt.Fprintf(&b, "  [%s %.3f%% of %d]", k, r.share(k), v[1])
		}
	}
	fmt.Fprintf(&b, "\n  scheduler lag (claim − due, first attempts): p50 %.3fs  p99 %.3fs  max %.3fs",
		r.lag(0.50).Seconds(), r.lag(0.99).Seconds(), r.lag(1).Seconds())
	for _, k := range []string{KindAbandoned, KindFirstContact} {
		if l := r.kindLags[k]; len(l) > 0 && len(r.kindLags) > 1 {
			fmt.Fprintf(&b, "  [%s p50 %.3fs p99 %.3fs]", k, quantile(l, 0.5).Seconds(), quantile(l, 0.99).Seconds())
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  lines: offered %.1f Erlangs, peak %d of %d busy, utilisation %.1f%%\n",
		r.lineSeconds.Seconds()/c.Span.Seconds(), r.maxBusy, c.Lines, 100*r.lineSeconds.Seconds()/(float64(c.Lines)*r.simulated.Seconds()))
	type kv struct {
		k string
		v int64
	}
	var top []kv
	for k, v := range r.cmdsBy {
		top = append(top, kv{k, v})
	}
	slices.SortFunc(top, func(a, b kv) int { return int(b.v - a.v) })
	fmt.Fprintf(&b, "  redis commands per callback: %.1f (%d in all; ", float64(r.cmds)/float64(r.callbacks), r.cmds)
	for i, e := range top[:min(len(top), 8)] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.1f", e.k, float64(e.v)/float64(r.callbacks))
	}
	fmt.Fprintf(&b, ")\n  wall %s for %s simulated (%.0fx real time)\n",
		r.wall.Round(time.Millisecond), r.simulated, r.simulated.Seconds()/r.wall.Seconds())
	t.Log(b.String())
	fmt.Print(b.String())
}

func summary(t *testing.T, rs []simResult) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-16s %5s %9s %8s %9s %7s %7s %10s %8s %8s %8s %8s\n",
		"scenario", "lines", "callbacks", "attempts", "completed", "failed", "expired", "in-window", "lag p50", "lag p99", "cmds/cb", "wall")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-16s %5d %9d %8d %9d %7d %7d %9.3f%% %7.3fs %7.3fs %8.1f %8s\n",
			r.cfg.Name, r.cfg.Lines, r.callbacks, r.attempts, r.completed, r.failed, r.expired, r.share(""),
			r.lag(0.50).Seconds(), r.lag(0.99).Seconds(), float64(r.cmds)/float64(r.callbacks), r.wall.Round(time.Millisecond))
	}
	t.Log(b.String())
	fmt.Print(b.String())
}
