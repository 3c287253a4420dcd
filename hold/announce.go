package hold

import (
	"context"
	"errors"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/prompts"
)

// announce tells a waiting caller their position and expected wait and,
// when the wait is long, offers a callback that keeps their place. It
// returns KeptPlace when the caller took it.
func (w *waiter) announce(ctx context.Context) (Outcome, error) {
	h, c := w.h, w.c
	// The announcement outlasts a poll: keep our heartbeat alive through it.
	_ = h.line.KeepAlive(ctx, c, time.Minute)
	e, err := h.line.EstimateFor(ctx, c)
	if err != nil {
		h.m.RedisErrors.WithLabelValues("queue_estimate").Inc()
		w.log.Warn().Err(err).Msg("estimate the wait")
		return "", nil // music on, try again next time
	}
	if e.Known() {
		h.m.QueueEstimatedWait.WithLabelValues(c.Queue).Set(e.Wait.Seconds())
	}
	say := func(ids ...string) []string { return prompts.MediaList(c.Voice, ids...) }
	var speech []string
	if e.Ahead == 0 {
		speech = say("queue_position_next")
	} else {
		speech = say("queue_position_ahead")
		speech = append(speech, say(prompts.Count(c.Voice, e.Ahead)...)...)
		speech = append(speech, say("queue_position_callers")...)
	}
	switch {
	case !e.Known():
		speech = append(speech, say("queue_wait")...)
	case e.Wait < time.Minute:
		speech = append(speech, say("queue_wait_under_minute")...)
	default:
		speech = append(speech, say("queue_wait_about")...)
		speech = append(speech, say(prompts.Count(c.Voice, int64((e.Wait+time.Minute-1)/time.Minute))...)...)
		speech = append(speech, say("queue_wait_minutes")...)
	}
	offer := w.pol.OfferCallbackOver > 0 && c.Phone != "" && c.Phone != "anonymous" && (!e.Known() || e.Wait > w.pol.OfferCallbackOver)
	w.log.Info().Int64("ahead", e.Ahead).Int("staffed", e.Staffed).Dur("estimate", e.Wait).Bool("offer", offer).Msg("announcing position and wait")
	ch := w.sess.Channel()
	if err := ch.StopMOH(ctx); err != nil {
		w.log.Warn().Err(err).Msg("stop music on hold")
	}
	defer func() {
		if err := ch.StartMOH(context.WithoutCancel(ctx), h.cfg.MOHClass); err != nil && ctx.Err() == nil {
			w.log.Warn().Err(err).Msg("music on hold")
		}
	}()
	if !offer {
		return "", w.sess.Say(ctx, speech...)
	}
	h.m.QueueCallbackOffers.WithLabelValues(c.Queue, "offered").Inc()
	timeout := h.cfg.OfferTimeout
	if timeout <= 0 {
		timeout = 4 * time.Second
	}
	key, err := w.sess.Collect(ctx, ivr.Collect{Media: append(speech, say("queue_vhold_offer")...), Match: ivr.OneOf("1"), Timeout: timeout})
	if errors.Is(err, ivr.ErrHangup) {
		return "", err
	}
	if err != nil || key != "1" {
		return "", nil
	}
	h.m.QueueCallbackOffers.WithLabelValues(c.Queue, "accepted").Inc()
	h.line.Count(ctx, c.Queue, "kept_place")
	w.log.Info().Msg("caller took a callback that keeps their place")
	return KeptPlace, nil
}
