// Package recovery follows up the calls a controller lost: its own, when it
// restarts or its link to Asterisk drops, and a dead replica's. Which
// replica owns each call is kept in Redis (Calls); every few seconds, and
// after every reconnect, the channels in Asterisk are compared with it. A
// call nobody alive owns is an orphan: we cannot know where in the menu it
// was, and silence is worse than a callback, so it is hung up and handed to
// the call flow's cut-off rule (a callback, keeping the caller's place when
// they were waiting; a note on their work order).
package recovery

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/callflow"
	"github.com/hotline95598/hotline/internal/legs"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/queue"
)

// RefreshEvery is the period of the ownership records' renewal and of the
// orphan sweep.
const RefreshEvery = 5 * time.Second

// orphanGrace: a channel younger than this may still be on its way to its
// owner (StasisStart not yet handled), so it is never taken for an orphan.
const orphanGrace = 10 * time.Second

// Switch is what recovery needs from Asterisk: the channels in our
// application and a way to hang one up.
type Switch interface {
	ListChannels(ctx context.Context) ([]ivr.ChannelInfo, error)
	Channel(id string) ivr.Channel
}

// Places tells where a cut-off caller was waiting (package queue).
type Places interface {
	PlaceOf(ctx context.Context, callID string) (queue.Place, bool, error)
	Drop(ctx context.Context, queue, callID string)
}

// CutOffs applies the cut-off rule (callflow.Flow).
type CutOffs interface {
	CutOff(ctx context.Context, l callflow.LostCall) string
}

// Recovery is one replica's follow-up of lost calls.
type Recovery struct {
	calls   *Calls
	sw      Switch
	places  Places
	cutOffs CutOffs
	replica string
	m       *metrics.Metrics
	log     zerolog.Logger

	// lostAfter: the link to Asterisk down this long means Asterisk has
	// lost our calls (0: wait for the reconnect). downSince is when the
	// link was first seen down; now is the clock.
	lostAfter time.Duration
	downSince time.Time
	now       func() time.Time
}

// New returns the recovery of replica; its Calls is the call flow's Tracker.
func New(rdb redis.UniversalClient, prefix, replica string, sw Switch, places Places, m *metrics.Metrics, log zerolog.Logger) *Recovery {
	return &Recovery{calls: newCalls(rdb, prefix, replica, log), sw: sw, places: places, replica: replica, m: m, log: log, now: time.Now}
}

// SetSwitchLostAfter makes a link to Asterisk that stays down for d end
// this replica's calls as cut off (config.SwitchLostAfter). A node whose
// Asterisk died does not come back by itself: its callers are gone, and
// those who were waiting must be promised their callback now, not when
// someone restarts the node; meanwhile they would hold places in the
// shared queue and claim agents they can never be put through to.
func (r *Recovery) SetSwitchLostAfter(d time.Duration) { r.lostAfter = d }

// Calls returns the record of the calls this replica owns.
func (r *Recovery) Calls() *Calls { return r.calls }

// SetCutOffs gives recovery the cut-off rule (the call flow, which itself
// tracks its calls with Calls, so it is built after recovery).
func (r *Recovery) SetCutOffs(c CutOffs) { r.cutOffs = c }

// OnConnect reconciles after every (re)connect to Asterisk: local calls
// whose channel vanished while the event stream was down are ended first.
func (r *Recovery) OnConnect(ctx context.Context) { r.Reconcile(ctx, true) }

// Tick renews this replica's ownership records and liveness, then, when the
// switch is reachable, sweeps for orphans.
func (r *Recovery) Tick(ctx context.Context, switchUp bool) {
	if err := r.calls.refresh(ctx); err != nil && ctx.Err() == nil {
		r.m.RedisErrors.WithLabelValues("calls_refresh").Inc()
	}
	if switchUp {
		r.downSince = time.Time{}
		r.Reconcile(ctx, false)
		return
	}
	now := r.now()
	if r.downSince.IsZero() {
		r.downSince = now
	}
	if r.lostAfter > 0 && now.Sub(r.downSince) >= r.lostAfter {
		if n := r.calls.cancelAll(now); n > 0 {
			r.log.Warn().Int("calls", n).Dur("down", now.Sub(r.downSince)).Msg("Asterisk unreachable: its calls are taken for cut off")
		}
	}
}

// Reconcile compares Asterisk's channels in our application with the calls
// we own. After a reconnect (afterConnect), local calls whose channel
// vanished while the event stream was down are ended. Channels that no live
// replica owns (this replica before a restart, or a dead one) are orphans.
// Then the calls of dead replicas are swept.
func (r *Recovery) Reconcile(ctx context.Context, afterConnect bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	chs, err := r.sw.ListChannels(ctx)
	if err != nil {
		r.log.Warn().Err(err).Msg("list channels for reconciliation")
		return
	}
	present := map[string]bool{}
	for _, ch := range chs {
		present[ch.ID] = true
	}
	if afterConnect {
		if n := r.calls.cancelMissing(present); n > 0 {
			r.log.Warn().Int("calls", n).Msg("calls hung up while ARI was disconnected")
		}
	}
	for _, ch := range chs {
		// A call given up while the link was down (Asterisk survived after
		// all): its caller was already promised a callback.
		if r.calls.givenUp(ch.ID) {
			r.hangup(ctx, ch.ID, "call given up while Asterisk was unreachable")
			continue
		}
		// Only an answered channel can be orphaned: an outbound leg still
		// ringing (an agent or a callback) ends by its own ring timeout, and
		// if it is answered after its dialler died, StasisStart hands it to
		// a live replica.
		if ch.State != "Up" || r.calls.wasLocal(ch.ID) || (!ch.Created.IsZero() && time.Since(ch.Created) < orphanGrace) {
			continue
		}
		rec, found, err := r.calls.lookup(ctx, legs.Owner(ch.ID))
		if err != nil {
			return // Redis trouble: decide nothing
		}
		if found && rec.Owner != r.replica {
			if alive, err := r.calls.replicaAlive(ctx, rec.Owner); err != nil || alive {
				continue // another live replica's call
			}
		}
		r.orphan(ctx, ch, rec)
	}
	r.sweepDeadReplicas(ctx)
}

// sweepDeadReplicas follows up the calls of replicas that died: their
// channels are in the dead replica's own ARI application, which ARI does
// not list to us, so they are found through Redis.
func (r *Recovery) sweepDeadReplicas(ctx context.Context) {
	dead, err := r.calls.claimDead(ctx)
	if err != nil {
		r.m.RedisErrors.WithLabelValues("calls_sweep").Inc()
		r.log.Warn().Err(err).Msg("sweep calls of dead replicas")
	}
	for _, d := range dead {
		if !d.Found {
			// The record expired (the owner died over a minute ago): no
			// phone to call back, but the channel must not stay up.
			r.hangup(ctx, d.ID, "orphaned: call of a replica dead for over a minute")
			continue
		}
		r.log.Warn().Str("call_id", d.ID).Str("owner", d.Rec.Owner).Msg("call of a dead replica")
		r.orphan(ctx, ivr.ChannelInfo{ID: d.ID, State: "Up", CallerNum: d.Rec.Phone}, d.Rec)
	}
}

// orphan hangs up a call no live replica owns and hands its caller to the
// cut-off rule.
func (r *Recovery) orphan(ctx context.Context, ch ivr.ChannelInfo, rec record) {
	r.hangup(ctx, ch.ID, "orphaned: no live owner")
	if legs.Owner(ch.ID) != ch.ID {
		return // an agent's or supervisor's leg: its caller is handled on its own
	}
	r.m.CallsEnded.WithLabelValues(metrics.EndOrphaned).Inc()
	phone := rec.Phone
	if phone == "" && !legs.IsCallback(ch.ID) {
		// An inbound call: the caller's number. (On our own callback legs
		// the caller ID is 95598, never the customer.)
		phone = ch.CallerNum
	}
	lost := callflow.LostCall{CallID: ch.ID, Phone: phone, Ticket: rec.Ticket, By: "a controller restart",
		Detail: "hung up by recovery"}
	// A caller who was waiting for an agent is called back keeping the place
	// they had in the queue, not sent to the back of it by our failure.
	place, waited, err := r.places.PlaceOf(ctx, ch.ID)
	if err != nil {
		r.log.Warn().Err(err).Str("call_id", ch.ID).Msg("place of orphaned call; calling back without it")
	} else if waited {
		defer r.places.Drop(ctx, place.Queue, ch.ID)
		lost.Place = &place
	}
	if r.cutOffs != nil {
		r.cutOffs.CutOff(ctx, lost)
	}
	r.calls.forget(ctx, ch.ID, rec.Owner)
}

func (r *Recovery) hangup(ctx context.Context, id, why string) {
	r.log.Info().Str("call_id", id).Str("why", why).Msg("hanging up stray channel")
	if err := r.sw.Channel(id).Hangup(ctx); err != nil {
		r.log.Warn().Err(err).Str("call_id", id).Msg("hang up stray channel")
	}
}
