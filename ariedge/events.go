package ariedge

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
)

// labelUndecodable is the unknown-event label for frames without a usable type.
const labelUndecodable = "undecodable"

// maxQueued is how many events may wait for one subscriber before the oldest
// DTMF events are dropped. A session that falls this far behind is stuck;
// keeping its memory bounded matters more than digits it will never read.
const maxQueued = 1000

// handleFrame decodes one websocket frame and routes it. Nothing here may
// fail the connection: an unknown or broken event is counted and skipped.
func (c *Client) handleFrame(ctx context.Context, data []byte, h Handler) {
	var typer struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &typer); err != nil || typer.Type == "" {
		c.m.unknownEvent(labelUndecodable)
		c.log.Warn().Int("bytes", len(data)).Msg("ARI event without a type, skipped")
		return
	}
	typ := typeLabel(typer.Type)

	// A type ari does not know (Asterisk 22 has several newer than ari
	// v5.3.1) or a body that does not decode is counted as unknown; a known
	// type nobody routes is counted and not decoded at all.
	ev, known, err := decodeRouted(typer.Type, data)
	if !known || err != nil {
		c.m.unknownEvent(typ)
		c.log.Debug().Str("type", typ).AnErr("decode_error", err).Msg("ARI event not decodable, skipped")
		return
	}
	c.m.event(typ)
	if ev == nil {
		return
	}

	switch e := ev.(type) {
	case *ari.StasisStart:
		c.stasisStart(ctx, e, h)
	case *ari.ChannelDtmfReceived:
		c.publish(ivr.Event{Kind: ivr.EvDTMF, ChannelID: e.Channel.ID, Digit: e.Digit})
	case *ari.PlaybackFinished:
		// Playbacks on bridges ("bridge:<id>") have no channel subscriber.
		if id, ok := strings.CutPrefix(e.Playback.TargetURI, "channel:"); ok {
			c.publish(ivr.Event{Kind: ivr.EvPlaybackFinished, ChannelID: id, PlaybackID: e.Playback.ID})
		}
	case *ari.StasisEnd:
		c.publish(ivr.Event{Kind: ivr.EvHangup, ChannelID: e.Channel.ID})
	case *ari.ChannelDestroyed:
		c.publish(ivr.Event{Kind: ivr.EvHangup, ChannelID: e.Channel.ID, Cause: e.Cause})
	case *ari.ChannelHangupRequest:
		// A soft hangup's "cause" is Asterisk's reason flag, not a Q.850
		// cause: AST_SOFTHANGUP_SHUTDOWN when Asterisk hangs every channel
		// up as it stops. Those callers did not hang up (seen on Asterisk
		// 22: soft, cause 4; a caller's BYE is a hard request, cause 16).
		down := e.Soft && e.Cause == softHangupShutdown
		c.publish(ivr.Event{Kind: ivr.EvHangup, ChannelID: e.Channel.ID, Cause: e.Cause, SwitchDown: down})
	}
}

// unrouted are event types Asterisk sends for the channels of a call that
// nothing here routes: about 50 per answered call (half of them
// ChannelVarset), against some 10 that are routed. Asterisk is asked not to
// send them at all (filterEvents). The list names types rather than
// allowing only the routed ones, so an event type newer than ari still
// arrives and is counted as unknown.
var unrouted = []string{
	"ChannelVarset", "ChannelStateChange", "ChannelDialplan", "ChannelCallerId", "ChannelConnectedLine",
	"Dial", "PlaybackStarted", "PlaybackContinuing", "ChannelEnteredBridge", "ChannelLeftBridge",
	"BridgeCreated", "BridgeDestroyed", "BridgeVideoSourceChanged", "ChannelTalkingStarted",
	"ChannelTalkingFinished", "ChannelHold", "ChannelUnhold", "ChannelToneDetected",
}

// eventFilterBody is the PUT /applications/{app}/eventFilter body that
// disallows the unrouted types.
var eventFilterBody = func() []byte {
	type typ struct {
		Type string `json:"type"`
	}
	var f struct {
		Disallowed []typ `json:"disallowed"`
	}
	for _, t := range unrouted {
		f.Disallowed = append(f.Disallowed, typ{t})
	}
	b, err := json.Marshal(f)
	if err != nil {
		panic(err)
	}
	return b
}()

// filterEvents asks Asterisk (13.26/16.3 and later) not to send our
// application the event types nothing routes: they cost Asterisk the JSON
// and us the decoding, for every call. Done after every connect: the
// filter lives with the application. A refusal is logged and harmless:
// those events are then skipped here as before.
func (c *Client) filterEvents(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	err := c.send(ctx, "event_filter", http.MethodPut, "/applications/"+seg(c.cfg.App)+"/eventFilter", nil, eventFilterBody, false, nil)
	if err != nil {
		c.log.Warn().Err(err).Msg("ARI event filter not set; unrouted events are decoded and skipped")
	}
}

// decodeRouted decodes a frame of one of the types handleFrame routes, in
// one pass. Most of the events of a call (ChannelVarset, ChannelStateChange,
// PlaybackStarted, Dial, bridge events…) are routed nowhere: for a type ari
// knows but nobody routes it returns a nil event, known and no error,
// without decoding the frame. (ari.DecodeEvent read every frame twice,
// building values nobody looked at.) known is false for a type ari does
// not know.
func decodeRouted(typ string, data []byte) (ev ari.Event, known bool, err error) {
	switch typ {
	case ari.Events.StasisStart:
		ev = new(ari.StasisStart)
	case ari.Events.ChannelDtmfReceived:
		ev = new(ari.ChannelDtmfReceived)
	case ari.Events.PlaybackFinished:
		ev = new(ari.PlaybackFinished)
	case ari.Events.StasisEnd:
		ev = new(ari.StasisEnd)
	case ari.Events.ChannelDestroyed:
		ev = new(ari.ChannelDestroyed)
	case ari.Events.ChannelHangupRequest:
		ev = new(ari.ChannelHangupRequest)
	default:
		return nil, knownTypes[typ], nil
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, true, err
	}
	return ev, true, nil
}

// knownTypes are the event types ari v5 can decode (ari.Events' values).
var knownTypes = func() map[string]bool {
	m := map[string]bool{}
	v := reflect.ValueOf(ari.Events)
	for i := range v.NumField() {
		if t := v.Field(i).String(); t != "" && t != ari.Events.All {
			m[t] = true
		}
	}
	return m
}()

// softHangupShutdown is AST_SOFTHANGUP_SHUTDOWN (include/asterisk/channel.h).
const softHangupShutdown = 1 << 2

// typeLabel bounds what a remote peer can put into a metric label.
func typeLabel(t string) string {
	if len(t) > 64 {
		return labelUndecodable
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return labelUndecodable
		}
	}
	return t
}

// stasisStart hands a channel entering the application to whoever waits for
// it: its subscribers (an originated call being answered) or, for a channel
// nobody knows, the handler in a goroutine of its own.
func (c *Client) stasisStart(ctx context.Context, e *ari.StasisStart, h Handler) {
	info := channelInfo(&e.Channel)
	args := e.Args
	if c.publish(ivr.Event{Kind: ivr.EvAnswered, ChannelID: info.ID, Args: args}) {
		return
	}
	c.log.Info().Str("channel_id", info.ID).Str("caller", logx.MaskPhone(info.CallerNum)).
		Str("exten", info.Exten).Int("args", len(args)).Msg("new call in Stasis") // args may carry numbers: not logged
	go c.safeCall("OnStasisStart", info.ID, func() { h.OnStasisStart(ctx, info, args) })
}

// channelInfo maps ARI's channel JSON to the switch-neutral form.
func channelInfo(d *ari.ChannelData) ivr.ChannelInfo {
	info := ivr.ChannelInfo{ID: d.ID, Name: d.Name, State: d.State}
	if d.Caller != nil {
		info.CallerNum, info.CallerName = d.Caller.Number, d.Caller.Name
	}
	if d.Dialplan != nil {
		info.Exten = d.Dialplan.Exten
	}
	// ari keeps creationtime as a protobuf Timestamp; read its fields rather
	// than import gogo/protobuf for one conversion.
	if ts := d.Creationtime; ts != nil && (ts.Seconds != 0 || ts.Nanos != 0) {
		info.Created = time.Unix(ts.Seconds, int64(ts.Nanos))
	}
	return info
}

// publish queues ev for every subscriber of its channel and reports whether
// there was any. It never blocks.
func (c *Client) publish(ev ivr.Event) bool {
	c.smu.Lock()
	subs := c.subs[ev.ChannelID]
	for _, s := range subs {
		s.push(ev)
	}
	c.smu.Unlock()
	return len(subs) > 0
}

// Subscribe returns the events of one channel, in order, until cancel is
// called; then the channel is closed. Several subscribers of one channel
// each get every event. Events are queued without blocking the websocket
// reader; beyond 1000 queued events the oldest DTMF events are dropped
// (counted and logged), hangups never. cancel must be called (it is
// idempotent): it releases the subscriber's goroutine.
func (c *Client) Subscribe(channelID string) (<-chan ivr.Event, func()) {
	s := &subscriber{
		c:      c,
		id:     channelID,
		signal: make(chan struct{}, 1),
		done:   make(chan struct{}),
		out:    make(chan ivr.Event),
	}
	c.smu.Lock()
	c.subs[channelID] = append(c.subs[channelID], s)
	c.smu.Unlock()
	go s.pump()
	return s.out, s.cancel
}

func (c *Client) unsubscribe(s *subscriber) {
	c.smu.Lock()
	defer c.smu.Unlock()
	subs := c.subs[s.id]
	for i, x := range subs {
		if x == s {
			subs = append(subs[:i:i], subs[i+1:]...)
			break
		}
	}
	if len(subs) == 0 {
		delete(c.subs, s.id)
	} else {
		c.subs[s.id] = subs
	}
}

// subscriber is one Subscribe call: an unbounded-ish queue filled by the
// websocket reader and drained into out by its own pump goroutine, so a
// slow session never stalls event delivery for the other calls.
type subscriber struct {
	c       *Client
	id      string
	mu      sync.Mutex
	queue   []ivr.Event
	dropped int
	signal  chan struct{} // capacity 1: "queue is not empty"
	done    chan struct{} // closed by cancel
	out     chan ivr.Event
	once    sync.Once
}

func (s *subscriber) push(ev ivr.Event) {
	s.mu.Lock()
	if len(s.queue) >= maxQueued && s.dropOldest() {
		s.dropped++
		s.c.m.droppedEvent()
		if s.dropped%100 == 1 { // the first, then every 100th: don't flood the log
			s.c.log.Warn().Str("channel_id", s.id).Int("queued", len(s.queue)).Int("dropped", s.dropped).
				Msg("subscriber too slow, dropped oldest queued events")
		}
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// dropOldest removes the oldest DTMF event, else the oldest event that is
// not a hangup. If the queue holds nothing but hangups it keeps growing:
// a hangup must always reach the session.
func (s *subscriber) dropOldest() bool {
	for _, kind := range []ivr.EventKind{ivr.EvDTMF, 0} {
		for i, ev := range s.queue {
			if (kind != 0 && ev.Kind == kind) || (kind == 0 && ev.Kind != ivr.EvHangup) {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				return true
			}
		}
	}
	return false
}

func (s *subscriber) pump() {
	defer close(s.out)
	for {
		select {
		case <-s.done:
			return
		case <-s.signal:
		}
		for {
			s.mu.Lock()
			if len(s.queue) == 0 {
				s.queue = nil // let a burst's backing array go
				s.mu.Unlock()
				break
			}
			ev := s.queue[0]
			s.queue[0] = ivr.Event{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			select {
			case s.out <- ev:
			case <-s.done:
				return
			}
		}
	}
}

func (s *subscriber) cancel() {
	s.once.Do(func() {
		s.c.unsubscribe(s)
		close(s.done)
	})
}
