package main

import (
	"math"
	"testing"
	"time"
)

func TestErlangC(t *testing.T) {
	// Known values: A=2, N=3 by hand (Erlang B 0.2105 → C 4/9); A=10 with
	// 11 to 14 agents is the textbook call-centre example (100 calls per
	// half hour of 3 min each), P(wait) 68.2 %, 44.9 %, 28.5 %, 17.4 %.
	for _, c := range []struct {
		n    int
		a    float64
		want float64
	}{
		{1, 0.5, 0.5}, // M/M/1: P(wait) = utilisation
		{3, 2, 4.0 / 9},
		{11, 10, 0.6821},
		{12, 10, 0.4494},
		{13, 10, 0.2853},
		{14, 10, 0.1741},
		{10, 10, 1}, // as many agents as Erlangs: everyone waits
		{5, 9, 1},
		{5, 0, 0},
	} {
		if got := erlangC(c.n, c.a); math.Abs(got-c.want) > 5e-4 {
			t.Errorf("erlangC(%d, %v) = %.4f, want %.4f", c.n, c.a, got, c.want)
		}
	}
}

func TestAgentsFor(t *testing.T) {
	for _, c := range []struct {
		a, target float64
		want      int
	}{
		{10, 0.2, 14}, // 13 agents wait 28.5 %, 14 agents 17.4 %
		{10, 0.5, 12},
		{2, 0.5, 3},
		{0.5, 0.6, 1},
	} {
		if got := agentsFor(c.a, c.target); got != c.want {
			t.Errorf("agentsFor(%v, %v) = %d, want %d", c.a, c.target, got, c.want)
		}
	}
	// Large pools: the recursion does not overflow, and the answer is the
	// first n under target.
	a := offered(60, 4100*time.Millisecond) // 246 Erlangs
	n := agentsFor(a, 0.01)
	if erlangC(n, a) >= 0.01 || erlangC(n-1, a) < 0.01 || n < 250 || n > 300 {
		t.Fatalf("agentsFor(%.0f E, 1%%) = %d (P(wait) %.4f, with one fewer %.4f)", a, n, erlangC(n, a), erlangC(n-1, a))
	}
}
