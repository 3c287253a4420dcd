package main

import "math"

// Finding each system's edge: the rates rise step by step until a step is
// bad (a caller failed or was not connected, or key→ringing p99 passed the
// transfer prompt by more than ringLimitMS); then the rate is bisected
// between the last good and the first bad step, refine times.

const ringLimitMS = 300

// good: every caller connected and rung promptly.
func good(s Step, promptMS float64) bool {
	return s.OK() && percentile(s.RingMS, 99)-promptMS <= ringLimitMS
}

// nextRate is the rate of the next step after the steps done so far, or 0
// when the search is over.
func nextRate(ladder []float64, done []Step, promptMS float64, refine int) float64 {
	lo, hi := 0.0, math.Inf(1)
	for _, s := range done {
		if good(s, promptMS) {
			lo = max(lo, s.Rate)
		} else {
			hi = min(hi, s.Rate)
		}
	}
	if math.IsInf(hi, 1) { // still climbing
		for _, r := range ladder {
			if r > lo {
				return r
			}
		}
		return 0
	}
	refined := 0
	for _, s := range done {
		if s.Refine {
			refined++
		}
	}
	if lo == 0 || refined >= refine {
		return 0
	}
	mid := math.Round((lo + hi) / 2)
	if mid <= lo || mid >= hi {
		return 0
	}
	return mid
}

// sustained is the highest good rate below every bad one: the system's edge.
func sustained(r Result) float64 {
	bad := math.Inf(1)
	for _, s := range r.Steps {
		if !good(s, r.PromptMS) {
			bad = min(bad, s.Rate)
		}
	}
	c := 0.0
	for _, s := range r.Steps {
		if good(s, r.PromptMS) && s.Rate < bad {
			c = max(c, s.Rate)
		}
	}
	return c
}

// firstBad is the lowest bad step (what the edge ran into), if any.
func firstBad(r Result) (Step, bool) {
	var out Step
	found := false
	for _, s := range r.Steps {
		if !good(s, r.PromptMS) && (!found || s.Rate < out.Rate) {
			out, found = s, true
		}
	}
	return out, found
}
