// Package ivr holds what a call session needs from the telephone switch, and
// the session primitives built on it: play prompts, collect digits with
// barge-in, speak numbers. Domain code depends on these interfaces only; the
// concrete ARI client lives in package ariedge and only the wiring (service) sees it.
package ivr

import (
	"context"
	"time"
)

// EventKind is the kind of a call event that a session reacts to.
type EventKind int

const (
	// EvDTMF: a key was pressed (Digit holds it: 0-9, *, #, A-D).
	EvDTMF EventKind = iota + 1
	// EvPlaybackFinished: the playback PlaybackID ended (done or stopped).
	EvPlaybackFinished
	// EvAnswered: an originated channel was answered and entered our
	// Stasis application (ARI StasisStart for a channel someone subscribed to).
	EvAnswered
	// EvHangup: the channel is gone or leaving (StasisEnd, ChannelDestroyed,
	// ChannelHangupRequest). Cause holds the Q.850 cause when known.
	EvHangup
)

func (k EventKind) String() string {
	switch k {
	case EvDTMF:
		return "dtmf"
	case EvPlaybackFinished:
		return "playback-finished"
	case EvAnswered:
		return "answered"
	case EvHangup:
		return "hangup"
	}
	return "unknown"
}

// Event is one thing that happened to one channel.
type Event struct {
	Kind       EventKind
	ChannelID  string
	Digit      string
	PlaybackID string
	Cause      int
	// SwitchDown, on EvHangup: the switch itself hung the channel up as it
	// shut down; the caller did not hang up.
	SwitchDown bool
	Args       []string // Stasis application arguments, on EvAnswered
}

// ChannelInfo describes a channel as the switch reports it.
type ChannelInfo struct {
	ID         string
	Name       string
	State      string // "Up", "Ring", ...
	CallerNum  string
	CallerName string
	Exten      string // dialled extension
	Created    time.Time
}

// OriginateRequest places an outbound call into our Stasis application.
type OriginateRequest struct {
	ChannelID string        // chosen by us, so we can subscribe before we execute
	Endpoint  string        // e.g. "PJSIP/1001" or "PJSIP/13800138000@carrier"
	CallerID  string        // e.g. "95598" or "\"95598\" <95598>"
	Timeout   time.Duration // ring timeout
	AppArgs   []string      // delivered with StasisStart
}

// Channel controls one call leg. Every method is bounded by ctx and by the
// switch client's own request timeout.
type Channel interface {
	ID() string
	Answer(ctx context.Context) error
	// Hangup is idempotent: hanging up a channel that is already gone is not an error.
	Hangup(ctx context.Context) error
	// Play starts playing media (e.g. "sound:hotline/welcome") one after another
	// under the given playback id; EvPlaybackFinished with that id follows.
	Play(ctx context.Context, playbackID string, media ...string) error
	// StopPlayback stops a playback; stopping a finished one is not an error.
	StopPlayback(ctx context.Context, playbackID string) error
	StartMOH(ctx context.Context, class string) error
	StopMOH(ctx context.Context) error
}

// VarSetter is a Channel that can set a channel variable or function on
// the switch, e.g. VOLUME(TX) to make everything the caller hears louder.
// It is optional: callers check for it with a type assertion.
type VarSetter interface {
	SetVar(ctx context.Context, name, value string) error
}

// SnoopRequest creates a channel that hears (spies on) another channel and
// may speak (whisper) into it: how a supervisor listens to an agent's call.
// Directions are the channel's: "in" is the audio it sends (the agent's
// voice), "out" the audio it receives (what the agent hears); "both" or
// "none". Whisper "out" is heard by the snooped channel's own party only.
type SnoopRequest struct {
	ChannelID string   // the channel snooped on
	SnoopID   string   // id of the new snoop channel, chosen by us so we can subscribe first
	Spy       string   // "none", "in", "out" or "both"
	Whisper   string   // "none", "in", "out" or "both"
	AppArgs   []string // delivered with the snoop channel's StasisStart
}

// Switch is the telephone switch as call sessions see it.
type Switch interface {
	Channel(id string) Channel
	// Subscribe returns the events of one channel, in order, until cancel is
	// called. Events are never dropped silently: the buffer is large and an
	// overflow is counted and logged by the implementation. Subscribe before
	// you act on the channel (originate, play) so no event is missed.
	Subscribe(channelID string) (events <-chan Event, cancel func())
	Originate(ctx context.Context, req OriginateRequest) error
	CreateBridge(ctx context.Context, bridgeID string) error
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	DestroyBridge(ctx context.Context, bridgeID string) error
	// EndpointOnline reports whether a device (e.g. "PJSIP", "1001") is registered and reachable.
	EndpointOnline(ctx context.Context, tech, resource string) (bool, error)
	// ListChannels lists the channels currently in our Stasis application.
	ListChannels(ctx context.Context) ([]ChannelInfo, error)
	// Snoop creates a snoop channel on an existing channel; it enters our
	// application (EvAnswered for a subscriber of SnoopID) at once.
	Snoop(ctx context.Context, req SnoopRequest) error
}
