package callflow

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/prompts"
)

// Router is where every channel that enters our Stasis application on its
// own (nobody subscribed to it first) is sent: a customer dialling 95598, a
// feature code from an agent's phone, and the strays (an agent's or a
// supervisor's leg, or a callback answered after the replica that placed
// it died). The dialplan passes what the channel is as Stasis arguments.
// The router also owns the replica's calls in progress, so a stopping
// replica can let them finish.
type Router struct {
	flow      *Flow
	sw        ivr.Switch
	agents    AgentDesk
	callbacks CallbackFinder
	log       zerolog.Logger
	edge      string // the SIP edge's endpoint (cluster), see TrustEdge

	wg       sync.WaitGroup // the calls in progress
	draining atomic.Bool    // stopping: new calls are refused
}

// AgentDesk changes agents' states from their softphones (feature codes).
type AgentDesk interface {
	AgentStates
	Get(ctx context.Context, id string) (agents.Agent, error)
}

// CallbackFinder reads a callback by id.
type CallbackFinder interface {
	Get(ctx context.Context, id string) (callbacks.Callback, error)
}

// NewRouter returns the router of new channels.
func NewRouter(flow *Flow, sw ivr.Switch, desk AgentDesk, cbs CallbackFinder, log zerolog.Logger) *Router {
	return &Router{flow: flow, sw: sw, agents: desk, callbacks: cbs, log: log}
}

// TrustEdge names the PJSIP endpoint of the SIP edge (Kamailio) in a
// cluster. Every agent's call arrives on that one endpoint, so the channel
// name no longer names the agent; the edge authenticated the phone and the
// node's dialplan put the agent it named (X-Hotline-Agent, which only the
// edge sets) into the caller number.
func (r *Router) TrustEdge(endpoint string) { r.edge = endpoint }

// agentOf names the agent whose phone placed ch.
func (r *Router) agentOf(ch ivr.ChannelInfo) string {
	agent := AgentFromChannel(ch.Name)
	if r.edge != "" && agent == r.edge {
		return ch.CallerNum
	}
	return agent
}

// OnStasisStart takes a channel that entered the application, in its own
// goroutine, until the call ends.
func (r *Router) OnStasisStart(ctx context.Context, ch ivr.ChannelInfo, args []string) {
	kind := ""
	if len(args) > 0 {
		kind = args[0]
	}
	switch kind {
	case "":
		r.inbound(ctx, ch)
	case "feature":
		// A feature code dialled on an agent's softphone (*21 … *24).
		agent := r.agentOf(ch)
		feature := ""
		if len(args) > 1 {
			feature = args[1]
		}
		if _, err := r.agents.Get(ctx, agent); err != nil {
			r.hangup(ctx, ch.ID, "feature code from a phone that is no agent")
			return
		}
		AgentFeature(ctx, ivr.NewSession(r.sw, ch.ID, r.log), agent, feature, r.agents, r.log)
	case "callback":
		// The customer answered a callback whose dialling replica is gone
		// (its worker would have been subscribed): serve them anyway.
		if len(args) > 1 {
			if cb, err := r.callbacks.Get(ctx, args[1]); err == nil {
				r.ServeCallback(ctx, ivr.NewSession(r.sw, ch.ID, r.log), cb)
				return
			}
		}
		r.hangup(ctx, ch.ID, "callback leg with no callback")
	case "monitor":
		// A supervisor leg or snoop channel whose monitor is gone (its
		// replica stopped while the supervisor's phone rang): a live
		// monitor subscribes to its channels before creating them.
		r.hangup(ctx, ch.ID, "monitor leg with no monitor")
	default:
		// An agent leg answered after its caller stopped waiting.
		r.hangup(ctx, ch.ID, "leg of a call that is no longer waiting")
	}
}

// inbound serves a customer's call, unless the replica is stopping: then
// they are told to call again (with several replicas, the dialplan gives
// the next call to another one).
func (r *Router) inbound(ctx context.Context, ch ivr.ChannelInfo) {
	sess := ivr.NewSession(r.sw, ch.ID, r.log)
	if r.draining.Load() {
		defer sess.Close(ctx)
		if sess.Answer(ctx) == nil {
			_ = sess.Say(ctx, prompts.Media("error_try_later"))
		}
		return
	}
	r.wg.Add(1)
	defer r.wg.Done()
	r.flow.Inbound(ctx, sess, ch)
}

// ServeCallback serves a customer who answered one of our callbacks (the
// callback worker's AnsweredFunc): a follow-up call asks for their verdict,
// any other callback puts them back in the queue.
func (r *Router) ServeCallback(ctx context.Context, sess *ivr.Session, cb callbacks.Callback) {
	r.wg.Add(1)
	defer r.wg.Done()
	if cb.Kind == callbacks.KindFollowUp {
		r.flow.FollowUp(ctx, sess, cb)
		return
	}
	r.flow.Callback(ctx, sess, cb)
}

// Drain refuses new calls from now on and lets the calls in progress finish
// for up to grace; it reports whether they all did. (A rolling upgrade:
// stop one replica, the others take the new calls.)
func (r *Router) Drain(grace time.Duration) bool {
	r.draining.Store(true)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	r.log.Info().Dur("grace", grace).Msg("draining: refusing new calls, letting calls in progress finish")
	select {
	case <-done:
		r.log.Info().Msg("drained: no calls left")
		return true
	case <-time.After(grace):
		r.log.Warn().Msg("shutdown grace over: hanging up the calls left")
		return false
	}
}

// Wait waits for every call in progress to end.
func (r *Router) Wait() { r.wg.Wait() }

func (r *Router) hangup(ctx context.Context, id, why string) {
	r.log.Info().Str("call_id", id).Str("why", why).Msg("hanging up stray channel")
	if err := r.sw.Channel(id).Hangup(ctx); err != nil {
		r.log.Warn().Err(err).Str("call_id", id).Msg("hang up stray channel")
	}
}

// Draining reports whether the replica is stopping and refuses new calls.
func (r *Router) Draining() bool { return r.draining.Load() }
