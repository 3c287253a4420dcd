package hold

import (
	"context"

	"github.com/hotline95598/hotline/internal/legs"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/recordings"
)

// Recordings records calls bridged to an agent (package recordings): Begin
// starts the switch recording the bridge and indexes it by call, work
// order, caller and agent, or does nothing when the policy records no
// calls (nil, nil).
type Recordings interface {
	Begin(ctx context.Context, sw ivr.Recorder, bridgeID string, info recordings.Recording, attempt int) (*recordings.Active, error)
}

// CallRecords ties a recording to the call's record (package cdr).
type CallRecords interface {
	SetRecording(ctx context.Context, callID, recordingID string) error
}

// SetRecordings makes every call bridged to an agent recorded, from the
// agent's answer to the end of the conversation, when the switch can
// record (ivr.Recorder) and the policy says so.
func (h *Hold) SetRecordings(r Recordings, calls CallRecords) {
	rec, ok := h.sw.(ivr.Recorder)
	if !ok {
		h.log.Warn().Msg("the switch cannot record calls: agent calls are not recorded")
		return
	}
	h.recs, h.calls, h.recorder = r, calls, rec
}

// record starts recording the caller's conversation with agent on the
// call's bridge. A recording that fails never stops the conversation: it
// is logged and counted. The returned stop ends it, before the bridge goes.
func (w *waiter) record(ctx context.Context, agent string) (stop func()) {
	h, c := w.h, w.c
	if h.recs == nil {
		return func() {}
	}
	log := w.log.With().Str("agent", agent).Logger()
	bg := context.WithoutCancel(ctx)
	info := recordings.Recording{CallID: c.CallID, TicketID: c.TicketID, Agent: agent, Phone: c.Phone, Queue: c.Queue}
	a, err := h.recs.Begin(bg, h.recorder, legs.CallBridge(c.CallID), info, w.recorded)
	if err != nil {
		h.m.CallRecordings.WithLabelValues("failed").Inc()
		log.Error().Err(err).Msg("record the call: the conversation goes on unrecorded")
		return func() {}
	}
	if a == nil { // the policy records no calls
		return func() {}
	}
	w.recorded++
	h.m.CallRecordings.WithLabelValues("started").Inc()
	log = log.With().Str("recording_id", a.Info.ID).Logger()
	log.Info().Msg("recording the call")
	if h.calls != nil {
		if err := h.calls.SetRecording(bg, c.CallID, a.Info.ID); err != nil {
			h.m.RedisErrors.WithLabelValues("cdr_write").Inc()
			log.Error().Err(err).Msg("tie the recording to the call record")
		}
	}
	return func() {
		if err := a.End(bg); err != nil {
			log.Warn().Err(err).Msg("end the recording")
		}
	}
}
