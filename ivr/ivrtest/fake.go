// Package ivrtest is a fake telephone switch for unit tests of call flows.
// It records every action and lets the test script the caller: press keys
// when a prompt plays, answer or refuse an originated call, hang up.
package ivrtest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hotline95598/hotline/ivr"
)

// Switch is a scriptable fake ivr.Switch.
type Switch struct {
	mu       sync.Mutex
	subs     map[string][]chan ivr.Event
	actions  []string
	bridges  map[string][]string
	online   map[string]bool
	busy     map[string]bool
	channels []ivr.ChannelInfo
	hungup   map[string]bool

	// OnPlay runs after a Play starts (outside the lock). By default every
	// playback finishes at once; set ManualPlayback to finish them yourself.
	OnPlay         func(s *Switch, channelID, playbackID string, media []string)
	ManualPlayback bool
	// OnOriginate decides what an originated call does (outside the lock).
	OnOriginate func(s *Switch, req ivr.OriginateRequest)
	// FailPlay makes Play return an error for media containing this text.
	FailPlay string
	// OnSnoop decides what a new snoop channel does (outside the lock); by
	// default it enters the application at once, as in Asterisk.
	OnSnoop func(s *Switch, req ivr.SnoopRequest)
}

// New returns an empty fake switch.
func New() *Switch {
	return &Switch{subs: map[string][]chan ivr.Event{}, bridges: map[string][]string{}, online: map[string]bool{}, hungup: map[string]bool{}}
}

func (s *Switch) record(format string, a ...any) {
	s.mu.Lock()
	s.actions = append(s.actions, fmt.Sprintf(format, a...))
	s.mu.Unlock()
}

// Actions returns what was done so far, e.g. "play ch1 sound:hotline/welcome".
func (s *Switch) Actions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.actions...)
}

// Has reports whether an action starting with prefix was recorded.
func (s *Switch) Has(prefix string) bool {
	for _, a := range s.Actions() {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// Played returns the media played on a channel, in order.
func (s *Switch) Played(channelID string) []string {
	var out []string
	for _, a := range s.Actions() {
		if rest, ok := strings.CutPrefix(a, "play "+channelID+" "); ok {
			out = append(out, strings.Fields(rest)...)
		}
	}
	return out
}

// SetOnline marks an agent device registered.
func (s *Switch) SetOnline(resource string, on bool) {
	s.mu.Lock()
	s.online[resource] = on
	s.mu.Unlock()
}

// SetChannels sets what ListChannels returns.
func (s *Switch) SetChannels(chs ...ivr.ChannelInfo) {
	s.mu.Lock()
	s.channels = chs
	s.mu.Unlock()
}

// IsHungUp reports whether Hangup was called for the channel.
func (s *Switch) IsHungUp(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hungup[id]
}

// Bridge returns the channels added to a bridge.
func (s *Switch) Bridge(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bridges[id]...)
}

// Emit delivers an event to the channel's subscribers.
func (s *Switch) Emit(ev ivr.Event) {
	s.mu.Lock()
	subs := append([]chan ivr.Event(nil), s.subs[ev.ChannelID]...)
	s.mu.Unlock()
	for _, c := range subs {
		c <- ev
	}
}

// Press sends DTMF keys on a channel.
func (s *Switch) Press(channelID, keys string) {
	for _, k := range keys {
		s.Emit(ivr.Event{Kind: ivr.EvDTMF, ChannelID: channelID, Digit: string(k)})
	}
}

// Shutdown hangs a channel up the way Asterisk does as it stops: the
// switch ended the call, not the caller.
func (s *Switch) Shutdown(channelID string) {
	s.Emit(ivr.Event{Kind: ivr.EvHangup, ChannelID: channelID, SwitchDown: true})
}

// HangUp makes the far end of a channel hang up.
func (s *Switch) HangUp(channelID string) {
	s.Emit(ivr.Event{Kind: ivr.EvHangup, ChannelID: channelID, Cause: 16})
}

// Subscribe implements ivr.Switch.
func (s *Switch) Subscribe(channelID string) (<-chan ivr.Event, func()) {
	c := make(chan ivr.Event, 1024)
	s.mu.Lock()
	s.subs[channelID] = append(s.subs[channelID], c)
	s.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			list := s.subs[channelID]
			for i, x := range list {
				if x == c {
					s.subs[channelID] = append(list[:i:i], list[i+1:]...)
					break
				}
			}
		})
	}
}

// Channel implements ivr.Switch.
func (s *Switch) Channel(id string) ivr.Channel { return &channel{s: s, id: id} }

// Originate implements ivr.Switch.
func (s *Switch) Originate(ctx context.Context, req ivr.OriginateRequest) error {
	s.record("originate %s %s %s", req.ChannelID, req.Endpoint, strings.Join(req.AppArgs, ","))
	if f := s.OnOriginate; f != nil {
		go f(s, req)
	}
	return nil
}

// CreateBridge implements ivr.Switch.
func (s *Switch) CreateBridge(ctx context.Context, id string) error {
	s.record("bridge-create %s", id)
	return nil
}

// AddToBridge implements ivr.Switch.
func (s *Switch) AddToBridge(ctx context.Context, id string, chs ...string) error {
	s.record("bridge-add %s %s", id, strings.Join(chs, ","))
	s.mu.Lock()
	s.bridges[id] = append(s.bridges[id], chs...)
	s.mu.Unlock()
	return nil
}

// DestroyBridge implements ivr.Switch.
func (s *Switch) DestroyBridge(ctx context.Context, id string) error {
	s.record("bridge-destroy %s", id)
	s.mu.Lock()
	delete(s.bridges, id) // its channels are out of it, as in Asterisk
	s.mu.Unlock()
	return nil
}

// EndpointOnline implements ivr.Switch.
func (s *Switch) EndpointOnline(ctx context.Context, tech, resource string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online[resource], nil
}

// SetBusy marks an agent device as on a call we did not place.
func (s *Switch) SetBusy(resource string, busy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy == nil {
		s.busy = map[string]bool{}
	}
	s.busy[resource] = busy
}

// EndpointStatus reports a device's registration and whether it is set
// busy with SetBusy.
func (s *Switch) EndpointStatus(ctx context.Context, tech, resource string) (online, busy bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online[resource], s.busy[resource], nil
}

// ListChannels implements ivr.Switch.
func (s *Switch) ListChannels(ctx context.Context) ([]ivr.ChannelInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ivr.ChannelInfo(nil), s.channels...), nil
}

type channel struct {
	s  *Switch
	id string
}

func (c *channel) ID() string { return c.id }

func (c *channel) Answer(ctx context.Context) error {
	c.s.record("answer %s", c.id)
	return nil
}

func (c *channel) Hangup(ctx context.Context) error {
	c.s.record("hangup %s", c.id)
	c.s.mu.Lock()
	already := c.s.hungup[c.id]
	c.s.hungup[c.id] = true
	c.s.mu.Unlock()
	if !already {
		// As Asterisk does, the hang-up comes back as an event.
		go c.s.HangUp(c.id)
	}
	return nil
}

func (c *channel) Play(ctx context.Context, playbackID string, media ...string) error {
	if c.s.FailPlay != "" && strings.Contains(strings.Join(media, " "), c.s.FailPlay) {
		return fmt.Errorf("fake: play failed")
	}
	c.s.record("play %s %s", c.id, strings.Join(media, " "))
	if f := c.s.OnPlay; f != nil {
		f(c.s, c.id, playbackID, media)
	}
	if !c.s.ManualPlayback {
		c.s.Emit(ivr.Event{Kind: ivr.EvPlaybackFinished, ChannelID: c.id, PlaybackID: playbackID})
	}
	return nil
}

func (c *channel) StopPlayback(ctx context.Context, playbackID string) error {
	c.s.record("stop %s", playbackID)
	return nil
}

func (c *channel) StartMOH(ctx context.Context, class string) error {
	c.s.record("moh-start %s %s", c.id, class)
	return nil
}

func (c *channel) StopMOH(ctx context.Context) error {
	c.s.record("moh-stop %s", c.id)
	return nil
}

// SetVar implements ivr.VarSetter.
func (c *channel) SetVar(ctx context.Context, name, value string) error {
	c.s.record("setvar %s %s=%s", c.id, name, value)
	return nil
}

// Snoop implements ivr.Switch.
func (s *Switch) Snoop(ctx context.Context, req ivr.SnoopRequest) error {
	s.record("snoop %s %s spy=%s whisper=%s", req.ChannelID, req.SnoopID, req.Spy, req.Whisper)
	if f := s.OnSnoop; f != nil {
		go f(s, req)
		return nil
	}
	go s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.SnoopID, Args: req.AppArgs})
	return nil
}
