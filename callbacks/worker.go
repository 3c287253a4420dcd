package callbacks

import (
	"context"
	"strconv"
	"time"

	"github.com/hotline95598/hotline/internal/legs"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/rs/zerolog"
)

// Dial is how the worker reaches customers.
type Dial struct {
	Carrier     string // PJSIP endpoint of the carrier: we dial PJSIP/<phone>@<carrier>
	CallerID    string // what the customer sees: 95598
	RingTimeout time.Duration
	Poll        time.Duration // how often due callbacks are looked for
}

// AnsweredFunc serves a customer who answered a callback; it owns the call
// (the session) from then on and must close it.
type AnsweredFunc func(ctx context.Context, sess *ivr.Session, cb Callback)

// Worker places due callbacks.
type Worker struct {
	st     *Store
	sw     ivr.Switch
	dial   Dial
	m      *metrics.Metrics
	log    zerolog.Logger
	answer AnsweredFunc
	// OnGiveUp, when set, hears of every callback that ended unanswered
	// (failed or expired), e.g. to note an unreachable follow-up on its ticket.
	OnGiveUp func(ctx context.Context, cb Callback)
	// AgentFirst, when set, places the kinds the policy marks agent-first:
	// an agent is rung first and the customer dialled once they answer.
	AgentFirst *AgentFirst
	// SwitchUp, when set, tells whether this replica's Asterisk is
	// reachable. While it is not, the worker claims no callback: every
	// replica looks for due callbacks, so one whose node is down leaves
	// them to a replica that can place them, instead of spending an attempt
	// (and the retry delay) on a call it cannot make.
	SwitchUp func() bool
}

// Agents reserves agents for agent-first callbacks.
type Agents interface {
	ClaimIdle(ctx context.Context, callID string) (agent string, ok bool, err error)
	Answered(ctx context.Context, agent, callID string) error
	NoAnswer(ctx context.Context, agent, callID, reason string) error
	Release(ctx context.Context, agent, callID string, talked bool) error
	// KeepLease renews the agent's lease until the function it returns is
	// called: a dead replica's agent is freed when it lapses.
	KeepLease(ctx context.Context, agent, callID string) (stop func())
}

// Phones reaches agents' softphones (agents.Phones).
type Phones interface {
	Endpoint(id string) string
	Status(ctx context.Context, id string) (online, busy bool, err error)
}

// AgentFirst is how agents are rung for agent-first callbacks.
type AgentFirst struct {
	Agents      Agents
	Phones      Phones
	RingTimeout time.Duration // how long an agent is rung
	Retry       time.Duration // when no agent is free, look again this much later
}

// NewWorker returns a worker; answer serves customers who pick up.
func NewWorker(st *Store, sw ivr.Switch, dial Dial, m *metrics.Metrics, log zerolog.Logger, answer AnsweredFunc) *Worker {
	if dial.Poll <= 0 {
		dial.Poll = time.Second
	}
	return &Worker{st: st, sw: sw, dial: dial, m: m, log: log, answer: answer}
}

// Run looks for due callbacks until ctx ends. Each attempt runs in its own
// goroutine, which owns that call.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.dial.Poll)
	defer t.Stop()
	for {
		w.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) tick(ctx context.Context) {
	if _, err := w.st.Recover(ctx); err != nil {
		w.m.RedisErrors.WithLabelValues("callback_recover").Inc()
		w.log.Error().Err(err).Msg("recover callbacks")
	}
	if n, err := w.st.Pending(ctx); err == nil {
		w.m.CallbacksPending.Set(float64(n))
	}
	if n, err := w.st.Overdue(ctx); err == nil {
		w.m.CallbacksOverdue.Set(float64(n))
	}
	if n, err := w.st.Due(ctx); err == nil {
		w.m.CallbacksDue.Set(float64(n))
	}
	if w.SwitchUp != nil && !w.SwitchUp() {
		return // left to the replicas whose Asterisk is up
	}
	for ctx.Err() == nil {
		cb, ok, err := w.st.ClaimDue(ctx, w.dial.RingTimeout+time.Minute)
		if err != nil {
			w.m.RedisErrors.WithLabelValues("callback_claim").Inc()
			w.log.Error().Err(err).Msg("claim due callback")
			return
		}
		if !ok {
			return
		}
		if w.st.now().After(cb.Deadline) {
			w.log.Warn().Str("callback_id", cb.ID).Msg("callback window passed before it could be placed")
			if err := w.st.Expire(ctx, cb); err != nil {
				w.log.Error().Err(err).Msg("expire callback")
			}
			w.m.CallbacksFinal.WithLabelValues(string(Expired)).Inc()
			if w.OnGiveUp != nil {
				w.OnGiveUp(ctx, cb)
			}
			continue
		}
		if kp := w.st.pol.Kinds[cb.Kind]; kp.AgentFirst && w.AgentFirst != nil {
			go w.placeAgentFirst(ctx, cb)
			continue
		}
		go w.place(ctx, cb)
	}
}

// place makes one attempt.
func (w *Worker) place(ctx context.Context, cb Callback) {
	log := w.log.With().Str("callback_id", cb.ID).Str("phone", logx.MaskPhone(cb.Phone)).Int("attempt", cb.Attempts).Logger()
	sess, err := ivr.Dial(ctx, w.sw, ivr.OriginateRequest{
		ChannelID: legs.Callback(cb.ID, cb.Attempts),
		Endpoint:  w.customer(cb),
		CallerID:  w.callerID(cb),
		Timeout:   w.dial.RingTimeout,
		AppArgs:   []string{"callback", cb.ID},
	}, log)
	if err != nil {
		log.Error().Err(err).Msg("place callback")
		w.finish(ctx, cb, false, "originate_failed", log)
		return
	}
	w.m.CallbacksPlaced.WithLabelValues(cb.Kind, "dialled").Inc()
	w.countFirstAttempt(cb)
	r, err := sess.AwaitAnswer(ctx, w.dial.RingTimeout+5*time.Second)
	switch {
	case err != nil:
		sess.Close(ctx)
		return // the lease runs out and another replica retries
	case !r.Answered:
		sess.Close(ctx)
		outcome := Outcome(r.Cause)
		if r.TimedOut {
			outcome = "no_answer"
		}
		w.finish(ctx, cb, false, outcome, log)
		return
	}
	// Record the answer before serving: the promise is kept the moment
	// the customer picks up.
	w.finish(ctx, cb, true, "answered", log)
	w.answer(ctx, sess, cb)
}

// customer is the dial string of a callback's customer, through the carrier.
func (w *Worker) customer(cb Callback) string { return "PJSIP/" + cb.Phone + "@" + w.dial.Carrier }

func (w *Worker) finish(ctx context.Context, cb Callback, answered bool, outcome string, log zerolog.Logger) {
	w.m.CallbacksPlaced.WithLabelValues(cb.Kind, outcome).Inc()
	st, err := w.st.Finish(context.WithoutCancel(ctx), cb, answered, outcome)
	if err != nil {
		w.m.RedisErrors.WithLabelValues("callback_finish").Inc()
		log.Error().Err(err).Msg("record callback outcome")
		return
	}
	if st.Final() {
		w.m.CallbacksFinal.WithLabelValues(string(st)).Inc()
		if st != Completed && w.OnGiveUp != nil {
			w.OnGiveUp(context.WithoutCancel(ctx), cb)
		}
	}
	log.Info().Str("outcome", outcome).Str("status", string(st)).Msg("callback attempt finished")
}

// Outcome names why an outbound call ended unanswered, from its Q.850
// cause (Asterisk maps SIP responses onto these: 486 → 17, 480 → 18 or 19,
// 603 → 21, 404 → 1).
func Outcome(cause int) string {
	switch cause {
	case 17:
		return "busy"
	case 18, 19, 0, 16:
		return "no_answer" // no response, no answer, or hung up while ringing
	case 21:
		return "rejected"
	case 1, 3, 20, 22, 27, 28, 38, 34:
		return "unreachable"
	}
	return "failed"
}

// placeAgentFirst makes one agent-first attempt: the longest-idle agent is
// rung and told it is a callback; only when they answer is the customer
// dialled, so the customer never waits for a person.
func (w *Worker) placeAgentFirst(ctx context.Context, cb Callback) {
	af := w.AgentFirst
	log := w.log.With().Str("callback_id", cb.ID).Str("phone", logx.MaskPhone(cb.Phone)).Int("attempt", cb.Attempts).Logger()
	callID := legs.Callback(cb.ID, cb.Attempts)
	bg := context.WithoutCancel(ctx)
	agent, ok, err := af.Agents.ClaimIdle(ctx, callID)
	if err != nil || !ok {
		// Nobody free: not an attempt on the customer; look again soon.
		if err := w.st.Defer(bg, cb, w.st.now().Add(af.Retry), "waiting for an agent"); err != nil {
			log.Error().Err(err).Msg("defer agent-first callback")
		}
		return
	}
	log = log.With().Str("agent", agent).Logger()
	if online, _, err := af.Phones.Status(ctx, agent); err != nil || !online {
		_ = af.Agents.NoAnswer(bg, agent, callID, "unregistered")
		_ = w.st.Defer(bg, cb, w.st.now(), "agent softphone not registered")
		return
	}
	agentLeg, err := ivr.Dial(ctx, w.sw, ivr.OriginateRequest{ChannelID: legs.Agent(callID, 1), Endpoint: af.Phones.Endpoint(agent),
		CallerID: w.dial.CallerID, Timeout: af.RingTimeout, AppArgs: []string{"agent", callID, agent}}, log)
	var r ivr.Ring
	if err == nil {
		defer agentLeg.Close(bg)
		r, err = agentLeg.AwaitAnswer(ctx, af.RingTimeout+5*time.Second)
	}
	if err != nil || !r.Answered {
		log.Info().Err(err).Msg("agent did not take the callback; trying another")
		_ = af.Agents.NoAnswer(bg, agent, callID, "no_answer")
		_ = w.st.Defer(bg, cb, w.st.now(), "agent did not answer")
		return
	}
	_ = af.Agents.Answered(bg, agent, callID)
	talked := false
	defer func() { _ = af.Agents.Release(bg, agent, callID, talked) }()
	defer af.Agents.KeepLease(ctx, agent, callID)()
	// The agent hears why the phone rang while the customer is dialled.
	_ = agentLeg.Background(ctx, "sound:hotline/agent_whisper")
	customer, err := ivr.Dial(ctx, w.sw, ivr.OriginateRequest{ChannelID: callID, Endpoint: w.customer(cb),
		CallerID: w.callerID(cb), Timeout: w.dial.RingTimeout, AppArgs: []string{"callback", cb.ID}}, log)
	if err != nil {
		w.finish(ctx, cb, false, "failed", log)
		return
	}
	defer customer.Close(bg)
	w.m.CallbacksPlaced.WithLabelValues(cb.Kind, "dialled").Inc()
	w.countFirstAttempt(cb)
	r, err = customer.AwaitAnswer(ctx, w.dial.RingTimeout+5*time.Second, agentLeg)
	switch {
	case err != nil:
		return
	case r.Gone != nil: // the agent hung up while the customer's phone rang
		w.finish(ctx, cb, false, Outcome(16), log)
		return
	case !r.Answered:
		w.finish(ctx, cb, false, Outcome(r.Cause), log)
		return
	}
	w.finish(ctx, cb, true, "answered", log)
	talked = true
	if destroy, err := ivr.Bridge(ctx, w.sw, legs.CallBridge(callID), customer.ID(), agentLeg.ID()); err == nil {
		defer destroy()
	}
	log.Info().Msg("agent and customer connected")
	_, _ = ivr.FirstHangup(ctx, customer, agentLeg)
}

func (w *Worker) countFirstAttempt(cb Callback) {
	if cb.Attempts == 1 {
		onTime := !w.st.now().After(cb.Deadline)
		w.m.CallbacksOnTime.WithLabelValues(cb.Kind, strconv.FormatBool(onTime)).Inc()
	}
}

// callerID is what the customer sees for this kind of callback.
func (w *Worker) callerID(cb Callback) string {
	if id := w.st.pol.Kinds[cb.Kind].CallerID; id != "" {
		return id
	}
	return w.dial.CallerID
}
