package callflow

import (
	"context"
	"strings"

	"github.com/hotline95598/hotline/ivr"
	"github.com/rs/zerolog"
)

// AgentStates changes agents' states.
type AgentStates interface {
	Login(ctx context.Context, id string) error
	Logout(ctx context.Context, id string) error
	Pause(ctx context.Context, id, reason string) error
	Ready(ctx context.Context, id string) error
}

// featureDone is what the agent hears when a feature code worked.
var featureDone = map[string]string{
	"login": "agent_logged_in", "logout": "agent_logged_out", "pause": "agent_paused", "ready": "agent_ready",
}

// AgentFromChannel names the agent of a softphone's channel:
// "PJSIP/1001-0000000a" → "1001".
func AgentFromChannel(name string) string {
	_, rest, ok := strings.Cut(name, "/")
	if !ok {
		return ""
	}
	if i := strings.LastIndex(rest, "-"); i > 0 {
		rest = rest[:i]
	}
	return rest
}

// AgentFeature serves a feature code dialled on an agent's softphone: the
// state change is applied to the agent the phone belongs to (never one the
// caller names), then confirmed by voice.
func AgentFeature(ctx context.Context, sess *ivr.Session, agent, feature string, states AgentStates, log zerolog.Logger) {
	defer sess.Close(ctx)
	log = log.With().Str("agent", agent).Str("feature", feature).Logger()
	if err := sess.Answer(ctx); err != nil {
		log.Error().Err(err).Msg("answer feature code")
		return
	}
	var err error
	switch feature {
	case "login":
		err = states.Login(ctx, agent)
	case "logout":
		err = states.Logout(ctx, agent)
	case "pause":
		err = states.Pause(ctx, agent, "softphone")
	case "ready":
		err = states.Ready(ctx, agent)
	default:
		err = errUnknownFeature
	}
	say := featureDone[feature]
	if err != nil {
		log.Warn().Err(err).Msg("feature code refused")
		say = "agent_feature_failed"
	} else {
		log.Info().Msg("agent state changed from the softphone")
	}
	_ = sess.Say(ctx, media(say)...)
}

type featureError string

func (e featureError) Error() string { return string(e) }

const errUnknownFeature = featureError("unknown feature code")
