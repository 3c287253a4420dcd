package ivr_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
)

// AwaitAnswer ends on the answer, on the leg's own end with its cause, on
// our backstop timer, or when a watched party hangs up first; keys a watched
// caller presses meanwhile are kept as their type-ahead.
func TestAwaitAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(sw *ivrtest.Switch)
		want   ivr.Ring
		gone   bool
		ahead  bool
	}{
		{"answered", func(sw *ivrtest.Switch) {
			sw.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: "leg"})
		}, ivr.Ring{Answered: true}, false, false},
		{"busy", func(sw *ivrtest.Switch) {
			sw.Emit(ivr.Event{Kind: ivr.EvHangup, ChannelID: "leg", Cause: 17})
		}, ivr.Ring{Cause: 17}, false, false},
		{"rings past the backstop", func(sw *ivrtest.Switch) {}, ivr.Ring{Cause: 19, TimedOut: true}, false, false},
		{"caller presses a key, then hangs up", func(sw *ivrtest.Switch) {
			sw.Press("caller", "1")
			sw.HangUp("caller")
		}, ivr.Ring{}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sw := ivrtest.New()
				caller := ivr.NewSession(sw, "caller", zerolog.Nop())
				leg, err := ivr.Dial(t.Context(), sw, ivr.OriginateRequest{ChannelID: "leg", Endpoint: "PJSIP/1001", Timeout: time.Second}, zerolog.Nop())
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				go tc.script(sw)
				r, err := leg.AwaitAnswer(t.Context(), 3*time.Second, caller)
				if err != nil {
					t.Fatal(err)
				}
				if tc.gone != (r.Gone == caller) {
					t.Fatalf("gone %v, want %v", r.Gone, tc.gone)
				}
				r.Gone = nil
				if r != tc.want {
					t.Fatalf("ring %+v, want %+v", r, tc.want)
				}
				if tc.want.TimedOut && time.Since(start) != 3*time.Second {
					t.Fatalf("backstop after %s", time.Since(start))
				}
				if caller.HasTypeahead() != tc.ahead {
					t.Fatalf("type-ahead %v, want %v", caller.HasTypeahead(), tc.ahead)
				}
				// Closing hangs up a leg that is still there, never one
				// that already ended (busy).
				leg.Close(context.Background())
				if want := tc.name != "busy"; sw.IsHungUp("leg") != want {
					t.Fatalf("leg hung up %v, want %v", sw.IsHungUp("leg"), want)
				}
			})
		})
	}
}

// A leg that Asterisk refused to place is not hung up, and says why.
func TestDialRefused(t *testing.T) {
	sw := &refusing{ivrtest.New()}
	if _, err := ivr.Dial(context.Background(), sw, ivr.OriginateRequest{ChannelID: "leg", Endpoint: "PJSIP/9"}, zerolog.Nop()); err == nil {
		t.Fatal("no error")
	}
	if sw.IsHungUp("leg") {
		t.Fatal("a leg never placed was hung up")
	}
}

type refusing struct{ *ivrtest.Switch }

func (refusing) Originate(context.Context, ivr.OriginateRequest) error {
	return context.DeadlineExceeded
}

// FirstHangup names who ended the conversation.
func TestFirstHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := ivrtest.New()
		a, b := ivr.NewSession(sw, "a", zerolog.Nop()), ivr.NewSession(sw, "b", zerolog.Nop())
		go sw.HangUp("b")
		first, err := ivr.FirstHangup(t.Context(), a, b)
		if err != nil || first != b || !b.HungUp() || a.HungUp() {
			t.Fatalf("first %v err %v", first, err)
		}
	})
}

// Bridge creates and fills the bridge, and its destroy works after the
// call's context has ended.
func TestBridge(t *testing.T) {
	sw := ivrtest.New()
	ctx, cancel := context.WithCancel(context.Background())
	destroy, err := ivr.Bridge(ctx, sw, "br-1", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if got := sw.Bridge("br-1"); len(got) != 2 {
		t.Fatalf("bridge %v, actions %v", got, sw.Actions())
	}
	cancel()
	destroy()
	if got := sw.Bridge("br-1"); len(got) != 0 || !sw.Has("bridge-destroy br-1") {
		t.Fatalf("after destroy: bridge %v, actions %v", got, sw.Actions())
	}
}

// staleBridge refuses to create a bridge whose id it still holds, as
// Asterisk does (409); after a destroy it lets go of the id only after
// the given number of further refusals (a recorder still holding it).
type staleBridge struct {
	*ivrtest.Switch
	held    map[string]int // id: refusals left after its destroy; -1: not destroyed yet
	refused int
}

func (s *staleBridge) CreateBridge(ctx context.Context, id string) error {
	if n, ok := s.held[id]; ok && n != 0 {
		if n > 0 {
			s.held[id] = n - 1
		}
		s.refused++
		return fmt.Errorf("ari POST /bridges/%s: HTTP 409: Bridge with id '%s' already exists", id, id)
	}
	delete(s.held, id)
	return s.Switch.CreateBridge(ctx, id)
}

func (s *staleBridge) DestroyBridge(ctx context.Context, id string) error {
	if s.held[id] < 0 {
		s.held[id] = 5
	}
	return s.Switch.DestroyBridge(ctx, id)
}

// A bridge of the call's id that Asterisk still holds is removed and the
// bridge made again, with the channels asked for, once Asterisk lets go of
// the id; an id it never lets go of fails after the wait.
func TestBridgeReplacesStaleBridge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := &staleBridge{Switch: ivrtest.New(), held: map[string]int{"br-1": -1}}
		if _, err := ivr.Bridge(context.Background(), sw, "br-1", "a", "b"); err != nil {
			t.Fatalf("bridge over a stale one: %v (actions %v)", err, sw.Actions())
		}
		if got := sw.Bridge("br-1"); len(got) != 2 || !sw.Has("bridge-destroy br-1") || sw.refused != 6 {
			t.Fatalf("bridge %v, refused %d, actions %v", got, sw.refused, sw.Actions())
		}

		stuck := &staleBridge{Switch: ivrtest.New(), held: map[string]int{"br-2": 1 << 30}}
		start := time.Now()
		if _, err := ivr.Bridge(context.Background(), stuck, "br-2", "a"); err == nil || time.Since(start) < 3*time.Second {
			t.Fatalf("a bridge id never let go of: err %v after %s", err, time.Since(start))
		}
	})
}
