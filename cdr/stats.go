package cdr

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/internal/china"
)

// Statistics are counters in one hash per interval (P stats:<start ms>),
// each field "<dimension>|<figure>":
//
//	dimension  all · q:<queue> · a:<agent> · k:<kind> · o:<outcome>
//	figure     calls · offered · answered · answered_sl · abandoned ·
//	           talk_ms · wait_ms · wrap_up:<code> · survey:<answer>   (from records)
//	           rung · picked_up · ms:<state> · ms:paused:<reason>    (agents, from the fold)
//
// Records count in the interval their call started in; agents' time is cut
// at the interval boundaries.

func (s *Store) statsKey(bucket int64) string { return s.p + "stats:" + strconv.FormatInt(bucket, 10) }

// bucket is the start (unix ms) of the interval holding t.
func (s *Store) bucket(t time.Time) int64 {
	m, i := t.UnixMilli(), s.pol.Interval.Milliseconds()
	return m - (m+chinaOffset.Milliseconds())%i
}

type counter struct {
	field string
	n     int64
}

// counters are what one record adds to its interval; a caller answered
// within sl of joining the queue counts as answered_sl (the service level).
func counters(r Record, sl time.Duration) []counter {
	cs := []counter{{"all|calls", 1}, {"k:" + r.Kind + "|calls", 1}, {"o:" + r.Outcome + "|calls", 1}}
	if r.Queue != "" {
		for _, d := range []string{"all|", "q:" + r.Queue + "|"} {
			cs = append(cs, counter{d + "offered", 1}, counter{d + "wait_ms", r.Wait().Milliseconds()})
			switch {
			case !r.AgentAnswer.IsZero():
				cs = append(cs, counter{d + "answered", 1}, counter{d + "talk_ms", r.Talk().Milliseconds()})
				if r.Wait() <= sl {
					cs = append(cs, counter{d + "answered_sl", 1})
				}
			case r.Outcome == "abandoned":
				cs = append(cs, counter{d + "abandoned", 1})
			}
		}
	}
	if r.Agent != "" {
		cs = append(cs, counter{"a:" + r.Agent + "|calls", 1})
	}
	return cs
}

// Figures are a queue's (or every queue's) calls in a span of time.
type Figures struct {
	Name       string  `json:"name,omitempty"` // the queue; "" for all queues
	Calls      int64   `json:"calls"`          // records (every call, queued or not; all queues only)
	Offered    int64   `json:"offered"`        // calls that waited for an agent
	Answered   int64   `json:"answered"`
	AnsweredSL int64   `json:"answered_sl"`
	Abandoned  int64   `json:"abandoned"`
	TalkS      float64 `json:"talk_s"`
	WaitS      float64 `json:"wait_s"`
	// AnswerRate is 接通率: answered ÷ offered (nil with nothing offered).
	AnswerRate   *float64         `json:"answer_rate"`
	ServiceLevel *float64         `json:"service_level"` // answered within the policy's service_level.within ÷ offered
	AvgTalkS     *float64         `json:"avg_talk_s"`
	WrapUpCodes  map[string]int64 `json:"wrap_up_codes,omitempty"`
	Survey       map[string]int64 `json:"survey,omitempty"`
}

// AgentFigures are one agent's (or, with no Agent, every agent's) work in
// a span of time.
type AgentFigures struct {
	Agent string `json:"agent,omitempty"`
	// Rung and PickedUp count offers to the agent's phone and the ones
	// answered; AnswerRate is PickedUp ÷ Rung (接通率 of the agent).
	Rung       int64    `json:"rung"`
	PickedUp   int64    `json:"picked_up"`
	AnswerRate *float64 `json:"answer_rate"`
	// Seconds in each state: talking, after-call work, idle, ringing, paused.
	TalkS         float64            `json:"talk_s"`
	WrapUpS       float64            `json:"wrap_up_s"`
	AvailableS    float64            `json:"available_s"`
	RingingS      float64            `json:"ringing_s"`
	PausedS       float64            `json:"paused_s"`
	PauseByReason map[string]float64 `json:"pause_by_reason"`
	// From the call records: calls the agent took, their wrap-up codes and
	// the callers' survey answers.
	Calls       int64            `json:"calls"`
	WrapUpCodes map[string]int64 `json:"wrap_up_codes,omitempty"`
	Survey      map[string]int64 `json:"survey,omitempty"`
}

// Interval is one statistics interval.
type Interval struct {
	Start  time.Time    `json:"start"`
	Calls  Figures      `json:"calls"`  // every queue (empty in an agent's own report)
	Agents AgentFigures `json:"agents"` // every agent, or the one asked for
}

// Report is the statistics of a span of time.
type Report struct {
	Since     time.Time      `json:"since"`
	Until     time.Time      `json:"until"`
	IntervalS float64        `json:"interval_s"`
	Calls     Figures        `json:"calls"`
	Queues    []Figures      `json:"queues"`
	Agents    []AgentFigures `json:"agents"`
	Intervals []Interval     `json:"intervals"`
}

// MaxSpan bounds one report: 31 days of intervals.
const MaxSpan = 31 * 24 * time.Hour

// tally holds the counters of one span, by dimension and figure.
type tally map[string]map[string]int64

func (t tally) add(field string, n int64) {
	dim, fig, ok := strings.Cut(field, "|")
	if !ok {
		return
	}
	if t[dim] == nil {
		t[dim] = map[string]int64{}
	}
	t[dim][fig] += n
}

func (t tally) merge(o tally) {
	for dim, figs := range o {
		for f, n := range figs {
			t.add(dim+"|"+f, n)
		}
	}
}

func rate(num, den int64) *float64 {
	if den <= 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}

func prefixed(figs map[string]int64, prefix string) map[string]int64 {
	var out map[string]int64
	for f, n := range figs {
		if k, ok := strings.CutPrefix(f, prefix); ok && n != 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[k] = n
		}
	}
	return out
}

func figures(name string, c map[string]int64) Figures {
	f := Figures{Name: name, Calls: c["calls"], Offered: c["offered"], Answered: c["answered"], AnsweredSL: c["answered_sl"],
		Abandoned: c["abandoned"], TalkS: float64(c["talk_ms"]) / 1000, WaitS: float64(c["wait_ms"]) / 1000,
		WrapUpCodes: prefixed(c, "wrap_up:"), Survey: prefixed(c, "survey:")}
	f.AnswerRate, f.ServiceLevel = rate(f.Answered, f.Offered), rate(f.AnsweredSL, f.Offered)
	if f.Answered > 0 {
		avg := f.TalkS / float64(f.Answered)
		f.AvgTalkS = &avg
	}
	return f
}

func agentFigures(agent string, c map[string]int64) AgentFigures {
	a := AgentFigures{Agent: agent, Rung: c["rung"], PickedUp: c["picked_up"], TalkS: float64(c["ms:on_call"]) / 1000,
		WrapUpS: float64(c["ms:wrap_up"]) / 1000, AvailableS: float64(c["ms:available"]) / 1000, RingingS: float64(c["ms:ringing"]) / 1000,
		PauseByReason: map[string]float64{}, Calls: c["calls"], WrapUpCodes: prefixed(c, "wrap_up:"), Survey: prefixed(c, "survey:")}
	a.AnswerRate = rate(a.PickedUp, a.Rung)
	for r, n := range prefixed(c, "ms:paused:") {
		a.PauseByReason[r] = float64(n) / 1000
		a.PausedS += float64(n) / 1000
	}
	return a
}

// Stats reports [since, until), cut into the policy's intervals (since
// moves back to the start of its interval). agent, when set, keeps only
// that agent's figures: an agent's own report.
func (s *Store) Stats(ctx context.Context, since, until time.Time, agent string) (Report, error) {
	if !until.After(since) || until.Sub(since) > MaxSpan {
		return Report{}, fmt.Errorf("%w: since must be before until, at most %s apart", ErrInvalid, MaxSpan)
	}
	step := s.pol.Interval.Milliseconds()
	first := s.bucket(since)
	var buckets []int64
	for b := first; b < until.UnixMilli(); b += step {
		buckets = append(buckets, b)
	}
	cmds := make([]*redis.MapStringStringCmd, len(buckets))
	var open *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range buckets {
			cmds[i] = p.HGetAll(ctx, s.statsKey(b))
		}
		open = p.SMembers(ctx, s.p+"stats:agents")
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("cdr: stats: %w", err)
	}
	per := make([]tally, len(buckets))
	for i, c := range cmds {
		per[i] = tally{}
		for f, v := range c.Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			per[i].add(f, n)
		}
	}
	// Agents' current states have not been folded yet: count them up to now.
	if err := s.addOpenStates(ctx, open.Val(), buckets, until, per); err != nil {
		return Report{}, err
	}
	rep := Report{Since: time.UnixMilli(first).In(china.Zone), Until: until.In(china.Zone), IntervalS: s.pol.Interval.Seconds()}
	total := tally{}
	for i, b := range buckets {
		t := per[i]
		total.merge(t)
		iv := Interval{Start: time.UnixMilli(b).In(china.Zone)}
		if agent != "" {
			iv.Agents = agentFigures(agent, t["a:"+agent])
		} else {
			iv.Calls = figures("", t["all"])
			iv.Agents = agentFigures("", sumAgents(t))
		}
		rep.Intervals = append(rep.Intervals, iv)
	}
	rep.Queues, rep.Agents = []Figures{}, []AgentFigures{}
	if agent != "" {
		rep.Agents = append(rep.Agents, agentFigures(agent, total["a:"+agent]))
		return rep, nil
	}
	rep.Calls = figures("", total["all"])
	for _, dim := range sortedKeys(total) {
		if q, ok := strings.CutPrefix(dim, "q:"); ok {
			rep.Queues = append(rep.Queues, figures(q, total[dim]))
		}
		if a, ok := strings.CutPrefix(dim, "a:"); ok {
			rep.Agents = append(rep.Agents, agentFigures(a, total[dim]))
		}
	}
	return rep, nil
}

// sumAgents adds up every agent's figures of one interval.
func sumAgents(t tally) map[string]int64 {
	out := map[string]int64{}
	for dim, figs := range t {
		if strings.HasPrefix(dim, "a:") {
			for f, n := range figs {
				out[f] += n
			}
		}
	}
	return out
}
