package main

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sizing the agent pool so that agents are never what limits a step: the
// benchmark measures the software, not how many phones it registered.

// erlangC is the probability that a caller waits (Erlang C) when calls
// offering a Erlangs (arrival rate × holding time) are served by n agents.
// It is 1 when n <= a: the queue grows without bound. Computed from the
// Erlang B recursion, which stays exact for hundreds of agents where
// a^n/n! would overflow.
func erlangC(n int, a float64) float64 {
	if a <= 0 {
		return 0
	}
	if float64(n) <= a {
		return 1
	}
	b := 1.0 // Erlang B with 0 servers
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return float64(n) * b / (float64(n) - a*(1-b))
}

// agentsFor is the fewest agents that keep the probability of waiting
// below target at a Erlangs.
func agentsFor(a, target float64) int {
	n := int(math.Floor(a)) + 1
	for erlangC(n, a) >= target {
		n++
	}
	return n
}

// offered is the load in Erlangs of rate calls/s that each hold an agent
// for hold.
func offered(rate float64, hold time.Duration) float64 { return rate * hold.Seconds() }

// sizing is how the pool is sized: each call holds an agent for
// answerAfter + talk + margin (ringing, hang-up, release: our choice of
// margin), and the pool keeps P(wait) below waitTarget at the top rate.
type sizing struct {
	answerAfter, talk, margin time.Duration
	waitTarget                float64
}

func (z sizing) hold() time.Duration { return z.answerAfter + z.talk + z.margin }

// agents needed at rate calls/s.
func (z sizing) agents(rate float64) int { return agentsFor(offered(rate, z.hold()), z.waitTarget) }

func (z *sizing) flags(fs *flag.FlagSet) {
	fs.DurationVar(&z.talk, "talk", 3*time.Second, "how long an agent talks before hanging up")
	fs.DurationVar(&z.answerAfter, "answer-after", 100*time.Millisecond, "agents answer this long after ringing")
	fs.DurationVar(&z.margin, "agent-margin", time.Second, "agent time per call beyond ringing and talk (set-up, hang-up, release), for sizing the pool")
	fs.Float64Var(&z.waitTarget, "wait-target", 0.01, "size the agent pool so that P(a caller waits) < this at the top rate (Erlang C)")
}

// agentsCmd prints the agent pool the top rate needs: bench/load.sh
// generates that many agents (HOTLINE_SIP_AGENTS) before the stack starts.
func agentsCmd(args []string) error {
	fs := flag.NewFlagSet("agents", flag.ExitOnError)
	var z sizing
	z.flags(fs)
	rates := fs.String("rates", "2,4,8,16", "call rates (calls per second)")
	_ = fs.Parse(args)
	rs, err := parseRates(*rates)
	if err != nil {
		return err
	}
	top := slices.Max(rs)
	n := z.agents(top)
	logf("agent pool: %.0f calls/s × %.1f s per agent call = %.1f Erlangs; %d agents keep P(wait) at %.2f %% (< %.0f %%)",
		top, z.hold().Seconds(), offered(top, z.hold()), n, 100*erlangC(n, offered(top, z.hold())), 100*z.waitTarget)
	fmt.Println(n)
	return nil
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, r := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-rates: %q is not a positive number", r)
		}
		out = append(out, v)
	}
	return out, nil
}
