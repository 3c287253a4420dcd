package callbacks

import (
	"context"
	"strconv"
	"time"

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
		go w.place(ctx, cb)
	}
}

// place makes one attempt.
func (w *Worker) place(ctx context.Context, cb Callback) {
	log := w.log.With().Str("callback_id", cb.ID).Str("phone", logx.MaskPhone(cb.Phone)).Int("attempt", cb.Attempts).Logger()
	chID := "cb-" + cb.ID + "-" + itoa(cb.Attempts)
	// Subscribe before we originate so the answer cannot be missed.
	sess := ivr.NewSession(w.sw, chID, log)
	err := w.sw.Originate(ctx, ivr.OriginateRequest{
		ChannelID: chID,
		Endpoint:  "PJSIP/" + cb.Phone + "@" + w.dial.Carrier,
		CallerID:  w.dial.CallerID,
		Timeout:   w.dial.RingTimeout,
		AppArgs:   []string{"callback", cb.ID},
	})
	if err != nil {
		log.Error().Err(err).Msg("place callback")
		sess.Close(ctx)
		w.finish(ctx, cb, false, "originate_failed", log)
		return
	}
	w.m.CallbacksPlaced.WithLabelValues(cb.Kind, "dialled").Inc()
	if cb.Attempts == 1 {
		onTime := !w.st.now().After(cb.Deadline)
		w.m.CallbacksOnTime.WithLabelValues(cb.Kind, strconv.FormatBool(onTime)).Inc()
	}
	timer := time.NewTimer(w.dial.RingTimeout + 5*time.Second)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			sess.Close(ctx)
			return // the lease runs out and another replica retries
		case <-timer.C:
			sess.Close(ctx)
			w.finish(ctx, cb, false, "no_answer", log)
			return
		case ev, ok := <-sess.Events():
			if !ok || ev.Kind == ivr.EvHangup {
				sess.MarkHungUp()
				sess.Close(ctx)
				w.finish(ctx, cb, false, Outcome(ev.Cause), log)
				return
			}
			if ev.Kind == ivr.EvAnswered {
				// Record the answer before serving: the promise is kept
				// the moment the customer picks up.
				w.finish(ctx, cb, true, "answered", log)
				w.answer(ctx, sess, cb)
				return
			}
		}
	}
}

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

func itoa(n int) string { return strconv.Itoa(n) }

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
