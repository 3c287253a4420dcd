package wallboard

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/internal/china"
)

// Span is the queue calls of a span of time (today, or the current
// statistics interval), from the call records.
type Span struct {
	Start     time.Time `json:"start"`
	Offered   int64     `json:"offered"`
	Answered  int64     `json:"answered"`
	Abandoned int64     `json:"abandoned"`
	// AnswerRate is 接通率: answered ÷ offered (null with nothing offered).
	AnswerRate *float64 `json:"answer_rate"`
	AvgTalkS   *float64 `json:"avg_talk_s"`
}

// AgentToday is one agent's day: calls offered to its phone and answered,
// and whole seconds talking, in after-call work and paused (by reason).
type AgentToday struct {
	Agent         string           `json:"agent"`
	Rung          int64            `json:"rung"`
	Answered      int64            `json:"answered"`
	AnswerRate    *float64         `json:"answer_rate"`
	TalkS         int64            `json:"talk_s"`
	WrapUpS       int64            `json:"wrap_up_s"`
	PausedS       int64            `json:"paused_s"`
	PauseByReason map[string]int64 `json:"pause_by_reason"`
}

// Stats is where the figures come from (cdr.Store).
type Stats interface {
	Stats(ctx context.Context, since, until time.Time, agent string) (cdr.Report, error)
}

// WithStats adds today's and the current interval's calls and every
// agent's day to src's snapshots. The report is read at most once a second
// however many wallboards are open; now is the clock (time.Now when nil).
func WithStats(src Source, st Stats, now func() time.Time) Source {
	if now == nil {
		now = time.Now
	}
	return &withStats{src: src, st: st, now: now}
}

type withStats struct {
	src Source
	st  Stats
	now func() time.Time

	mu   sync.Mutex
	at   time.Time
	last cdr.Report
}

// statsEvery: one report a second serves every open wallboard.
const statsEvery = time.Second

func (w *withStats) report(ctx context.Context) (cdr.Report, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if !w.at.IsZero() && now.Sub(w.at) < statsEvery {
		return w.last, nil
	}
	c := now.In(china.Zone)
	midnight := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, china.Zone)
	rep, err := w.st.Stats(ctx, midnight, now.Add(time.Millisecond), "")
	if err != nil {
		return rep, err
	}
	w.at, w.last = now, rep
	return rep, nil
}

func (w *withStats) Snapshot(ctx context.Context) (Snapshot, error) {
	snap, err := w.src.Snapshot(ctx)
	if err != nil {
		return snap, err
	}
	rep, err := w.report(ctx)
	if err != nil {
		return snap, err
	}
	today := span(rep.Since, rep.Calls)
	snap.Today = &today
	if n := len(rep.Intervals); n > 0 {
		iv := span(rep.Intervals[n-1].Start, rep.Intervals[n-1].Calls)
		snap.Interval = &iv
	}
	snap.AgentsToday = []AgentToday{}
	for _, a := range rep.Agents {
		at := AgentToday{Agent: a.Agent, Rung: a.Rung, Answered: a.PickedUp, AnswerRate: a.AnswerRate,
			TalkS: secs(a.TalkS), WrapUpS: secs(a.WrapUpS), PausedS: secs(a.PausedS), PauseByReason: map[string]int64{}}
		for r, s := range a.PauseByReason {
			at.PauseByReason[r] = secs(s)
		}
		snap.AgentsToday = append(snap.AgentsToday, at)
	}
	return snap, nil
}

func span(start time.Time, f cdr.Figures) Span {
	return Span{Start: start, Offered: f.Offered, Answered: f.Answered, Abandoned: f.Abandoned, AnswerRate: f.AnswerRate, AvgTalkS: f.AvgTalkS}
}

// secs are whole seconds: the wallboard sends a new snapshot only when what
// it shows changes, and it shows no fractions.
func secs(s float64) int64 { return int64(math.Floor(s)) }
