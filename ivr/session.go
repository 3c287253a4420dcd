package ivr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hotline95598/hotline/internal/legs"
	"github.com/rs/zerolog"
)

var (
	// ErrHangup: the caller hung up. What was accepted before stays accepted.
	ErrHangup = errors.New("caller hung up")
	// ErrCutOff is the cause of a call's context cancelled because the
	// switch lost the call (it vanished while the link to Asterisk was
	// down): the caller did not hang up, they were cut off.
	ErrCutOff = errors.New("call cut off by the switch")
	// ErrNoInput: no key within the timeout.
	ErrNoInput = errors.New("no input")
	// ErrInvalid: the keys pressed can never match.
	ErrInvalid = errors.New("invalid input")
)

// Match says whether the digits collected so far are a whole answer.
type Match int

const (
	Incomplete Match = iota // keep collecting
	Complete                // done: return the digits
	Invalid                 // can never become valid: stop and say so
)

// Collect describes one prompt-and-collect step.
type Collect struct {
	Media []string // played in order; any key interrupts (barge-in)
	// Match classifies the digits so far. Nil means "any single key".
	Match func(digits string) Match
	// Timeout is the silence allowed after the prompt ends before the first key.
	Timeout time.Duration
	// InterDigit is the silence allowed between keys once one was pressed;
	// zero means Timeout.
	InterDigit time.Duration
	// MaxDigits bounds a DTMF flood: more keys than this is Invalid.
	MaxDigits int
	// Overall bounds the whole entry from the first key: a caller who keys
	// slowly, one digit just inside InterDigit after another, is stopped
	// after this long with what they entered and ErrNoInput. Zero: no bound.
	Overall time.Duration
}

// maxPromptTime bounds how long we trust a playback to end by itself: if the
// switch never reports PlaybackFinished the caller must not wait in silence.
const maxPromptTime = 3 * time.Minute

// Session is one call leg as its owning goroutine drives it. It is not safe
// for use by several goroutines: one goroutine owns a call.
type Session struct {
	sw     Switch
	ch     Channel
	events <-chan Event
	cancel func()
	log    zerolog.Logger

	typeahead string // keys pressed while nothing was collecting
	bg        string // playback started by Background, until it finishes
	hungup    bool
	cutOff    bool // the switch ended the call, not the caller
	passive   bool // watched only (Watch): Close never hangs it up
	playSeq   int
	closeOnce sync.Once
}

// NewSession subscribes to the channel's events and returns its session.
// Subscribe happens here, before anything is done to the channel, so that
// no event can be missed.
func NewSession(sw Switch, channelID string, log zerolog.Logger) *Session {
	ev, cancel := sw.Subscribe(channelID)
	return &Session{sw: sw, ch: sw.Channel(channelID), events: ev, cancel: cancel, log: log}
}

// Channel returns the call leg.
func (s *Session) Channel() Channel { return s.ch }

// ID returns the channel id.
func (s *Session) ID() string { return s.ch.ID() }

// HungUp reports whether the caller has gone.
func (s *Session) HungUp() bool { return s.hungup }

// Events exposes the raw event stream for code (the queue) that must watch
// this leg and another at once. Call MarkHungUp if you see EvHangup there.
func (s *Session) Events() <-chan Event { return s.events }

// HasTypeahead reports whether the caller pressed keys nothing has read yet
// (e.g. during an announcement): they already chose.
func (s *Session) HasTypeahead() bool { return s.typeahead != "" }

// DropTypeahead forgets the keys nothing has read yet: keys pressed while
// the caller talked to an agent are no answer to the question that follows.
func (s *Session) DropTypeahead() { s.typeahead = "" }

// MarkHungUp records a hang-up seen through Events (ev is the zero Event
// when the stream closed).
func (s *Session) MarkHungUp(ev Event) {
	s.hungup = true
	if ev.Kind == EvHangup && ev.SwitchDown {
		s.cutOff = true
	}
}

// CutOff reports whether the call ended because the switch went down (e.g.
// Asterisk shutting down hangs up every channel) rather than by the
// caller's choice: such a caller is owed a callback that keeps their place.
func (s *Session) CutOff() bool { return s.cutOff }

// Close hangs the channel up (first, so the caller is never left connected
// to nobody) and ends the subscription. It is idempotent. A watched
// channel (Watch) is only unsubscribed.
func (s *Session) Close(ctx context.Context) {
	s.closeOnce.Do(func() {
		if !s.hungup && !s.passive {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.ch.Hangup(hctx); err != nil {
				s.log.Warn().Err(err).Msg("hangup on close")
			}
			cancel()
		}
		s.cancel()
	})
}

// Answer answers the call.
func (s *Session) Answer(ctx context.Context) error { return s.ch.Answer(ctx) }

func (s *Session) nextPlaybackID() string {
	s.playSeq++
	return legs.Playback(s.ch.ID(), s.playSeq)
}

// absorb keeps the session's view current with an event read by code that
// watches this leg and another at once: a key is kept as type-ahead, the
// end of a background playback is noted. (Hang-ups: MarkHungUp.)
func (s *Session) absorb(ev Event) {
	switch ev.Kind {
	case EvDTMF:
		s.typeahead += ev.Digit
	case EvPlaybackFinished:
		s.BackgroundOver(ev.PlaybackID)
	}
}

// Say plays media to the end. Keys pressed meanwhile are kept as type-ahead
// for the next Collect, so a caller who knows the menu is never slowed down.
func (s *Session) Say(ctx context.Context, media ...string) error {
	if len(media) == 0 {
		return nil
	}
	if s.hungup {
		return ErrHangup
	}
	id := s.nextPlaybackID()
	if err := s.ch.Play(ctx, id, media...); err != nil {
		return fmt.Errorf("play %v: %w", media, err)
	}
	guard := time.NewTimer(maxPromptTime)
	defer guard.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-guard.C:
			s.log.Warn().Str("playback", id).Msg("playback never finished; going on")
			return nil
		case ev, ok := <-s.events:
			if !ok {
				s.hungup = true
				return ErrHangup
			}
			switch ev.Kind {
			case EvHangup:
				s.MarkHungUp(ev)
				return ErrHangup
			case EvDTMF:
				s.log.Debug().Str("digit", ev.Digit).Msg("key during announcement, kept as type-ahead")
				s.typeahead += ev.Digit
			case EvPlaybackFinished:
				s.BackgroundOver(ev.PlaybackID)
				if ev.PlaybackID == id {
					return nil
				}
			}
		}
	}
}

// Collect plays c.Media and collects keys until c.Match says Complete or
// Invalid, or a timeout passes. A key pressed during the prompt stops it at
// once (barge-in). Returns the digits with nil, ErrInvalid, ErrNoInput or
// ErrHangup.
func (s *Session) Collect(ctx context.Context, c Collect) (string, error) {
	if s.hungup {
		return "", ErrHangup
	}
	match := c.Match
	if match == nil {
		match = func(string) Match { return Complete }
	}
	maxDigits := c.MaxDigits
	if maxDigits <= 0 {
		maxDigits = 32
	}
	interDigit := c.InterDigit
	if interDigit <= 0 {
		interDigit = c.Timeout
	}
	digits := ""
	var overall <-chan time.Time // nil until the first key: never fires
	var overallTimer *time.Timer
	startOverall := func() {
		if c.Overall > 0 && overall == nil {
			overallTimer = time.NewTimer(c.Overall)
			overall = overallTimer.C
		}
	}
	defer func() {
		if overallTimer != nil {
			overallTimer.Stop()
		}
	}()
	// Type-ahead counts as if pressed now.
	ahead := s.typeahead
	s.typeahead = ""
	for _, d := range ahead {
		digits += string(d)
		if r, done := judge(match, digits, maxDigits); done {
			return digits, r
		}
	}
	if digits != "" {
		startOverall()
	}

	playing := ""
	if len(c.Media) > 0 && digits == "" {
		id := s.nextPlaybackID()
		if err := s.ch.Play(ctx, id, c.Media...); err != nil {
			// A prompt that cannot play must not leave the caller in
			// silence forever: log, and collect as if it had ended.
			s.log.Warn().Err(err).Strs("media", c.Media).Msg("prompt failed to play")
		} else {
			playing = id
		}
	}
	wait := c.Timeout
	if playing != "" {
		wait = maxPromptTime
	} else if digits != "" {
		wait = interDigit
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	reset := func(d time.Duration) {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d)
	}
	stop := func() {
		if playing == "" {
			return
		}
		// Barge-in: stop the prompt now. Its PlaybackFinished arrives later
		// and is ignored because the id no longer matches.
		if err := s.ch.StopPlayback(ctx, playing); err != nil {
			s.log.Debug().Err(err).Msg("stop playback")
		}
		playing = ""
	}
	for {
		select {
		case <-ctx.Done():
			stop()
			return digits, ctx.Err()
		case <-overall:
			s.log.Debug().Int("digits", len(digits)).Msg("entry took longer than its overall timeout")
			return digits, ErrNoInput
		case <-timer.C:
			if playing != "" {
				s.log.Warn().Str("playback", playing).Msg("prompt never finished; collecting")
				playing = ""
				reset(c.Timeout)
				continue
			}
			if digits == "" {
				return "", ErrNoInput
			}
			// Keys stopped coming before the answer was whole.
			return digits, ErrNoInput
		case ev, ok := <-s.events:
			if !ok {
				s.hungup = true
				return digits, ErrHangup
			}
			switch ev.Kind {
			case EvHangup:
				s.MarkHungUp(ev)
				return digits, ErrHangup
			case EvPlaybackFinished:
				s.BackgroundOver(ev.PlaybackID)
				if ev.PlaybackID == playing {
					playing = ""
					reset(c.Timeout)
				}
			case EvDTMF:
				s.log.Debug().Str("digit", ev.Digit).Bool("barge_in", playing != "").Msg("key")
				stop()
				digits += ev.Digit
				if r, done := judge(match, digits, maxDigits); done {
					return digits, r
				}
				startOverall()
				reset(interDigit)
			}
		}
	}
}

func judge(match func(string) Match, digits string, maxDigits int) (error, bool) {
	if len(digits) > maxDigits {
		return ErrInvalid, true
	}
	switch match(digits) {
	case Complete:
		return nil, true
	case Invalid:
		return ErrInvalid, true
	}
	return nil, false
}

// Wait lets the call sit (on hold) for d, watching for the caller to hang
// up. Keys are ignored. Returns ErrHangup, ctx.Err() or nil after d.
func (s *Session) Wait(ctx context.Context, d time.Duration) error {
	if s.hungup {
		return ErrHangup
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case ev, ok := <-s.events:
			if !ok || ev.Kind == EvHangup {
				s.MarkHungUp(ev)
				return ErrHangup
			}
			if ev.Kind == EvDTMF {
				// Kept for the next Collect: a caller on hold who presses 1
				// before the offer is read out has still chosen.
				s.typeahead += ev.Digit
			}
			if ev.Kind == EvPlaybackFinished && s.bg != "" && ev.PlaybackID == s.bg {
				s.BackgroundOver(ev.PlaybackID)
				return nil // wake the waiter: what played in the background is over
			}
		}
	}
}

// Background starts playing media and returns at once; Wait returns early
// when it finishes. It lets a caller hear "transferring you" while their
// agent is already being rung.
func (s *Session) Background(ctx context.Context, media ...string) error {
	if s.hungup {
		return ErrHangup
	}
	id := s.nextPlaybackID()
	if err := s.ch.Play(ctx, id, media...); err != nil {
		return fmt.Errorf("play %v: %w", media, err)
	}
	s.bg = id
	return nil
}

// BackgroundOver tells the session a playback finished, for code that reads
// Events itself while something plays in the background.
func (s *Session) BackgroundOver(playbackID string) {
	if playbackID == s.bg {
		s.bg = ""
	}
}

// BackgroundPlaying reports whether media started with Background is still
// playing, as far as the events read so far tell.
func (s *Session) BackgroundPlaying() bool { return s.bg != "" }

// StopBackground stops what Background started, if it still plays.
func (s *Session) StopBackground(ctx context.Context) {
	if s.bg == "" {
		return
	}
	_ = s.ch.StopPlayback(ctx, s.bg)
	s.bg = ""
}

// OneOf matches a single key from keys.
func OneOf(keys string) func(string) Match {
	return func(d string) Match {
		if len(d) == 1 && containsRune(keys, rune(d[0])) {
			return Complete
		}
		return Invalid
	}
}

// DigitsThenHash matches digits ended by '#'; anything but a digit before
// the '#' is invalid, as is a bare '#'.
func DigitsThenHash(d string) Match {
	for i, r := range d {
		switch {
		case r == '#' && i == len(d)-1:
			if i == 0 {
				return Invalid
			}
			return Complete
		case r < '0' || r > '9':
			return Invalid
		}
	}
	return Incomplete
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

// Announce plays media that a key cuts short (barge-in); the key is kept as
// type-ahead for the next Collect, so a caller who has heard enough goes
// straight on with their choice.
func (s *Session) Announce(ctx context.Context, media ...string) error {
	d, err := s.Collect(ctx, Collect{Media: media, Match: func(string) Match { return Complete }, Timeout: time.Millisecond})
	switch {
	case errors.Is(err, ErrNoInput):
		return nil // heard to the end
	case err != nil && !errors.Is(err, ErrInvalid):
		return err
	}
	s.typeahead = d + s.typeahead
	return nil
}
