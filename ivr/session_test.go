package ivr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/rs/zerolog"
)

func TestCollect(t *testing.T) {
	menu := ivr.Collect{Media: []string{"sound:menu"}, Match: ivr.OneOf("1230*"), Timeout: 80 * time.Millisecond}
	account := ivr.Collect{Media: []string{"sound:enter"}, Match: ivr.DigitsThenHash, Timeout: 80 * time.Millisecond, InterDigit: 80 * time.Millisecond, MaxDigits: 8}
	for _, tc := range []struct {
		name    string
		c       ivr.Collect
		press   string // pressed while the prompt plays
		manual  bool   // the prompt never finishes by itself
		want    string
		wantErr error
		after   bool // pressed after the prompt ended
	}{
		{name: "menu key after prompt", c: menu, press: "2", after: true, want: "2"},
		{name: "barge-in stops prompt", c: menu, press: "1", manual: true, want: "1"},
		{name: "invalid key", c: menu, press: "7", want: "7", wantErr: ivr.ErrInvalid},
		{name: "no key", c: menu, wantErr: ivr.ErrNoInput},
		{name: "account with hash", c: account, press: "1234#", want: "1234#"},
		{name: "bare hash", c: account, press: "#", want: "#", wantErr: ivr.ErrInvalid},
		{name: "star inside account", c: account, press: "12*", want: "12*", wantErr: ivr.ErrInvalid},
		{name: "dtmf flood", c: account, press: "123456789012345", want: "123456789", wantErr: ivr.ErrInvalid},
		{name: "digits then silence", c: account, press: "123", want: "123", wantErr: ivr.ErrNoInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sw := ivrtest.New()
				sw.ManualPlayback = tc.manual
				sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
					if !tc.after {
						s.Press(ch, tc.press)
					}
				}
				if tc.after {
					go func() { time.Sleep(20 * time.Millisecond); sw.Press("c1", tc.press) }()
				}
				sess := ivr.NewSession(sw, "c1", zerolog.Nop())
				got, err := sess.Collect(context.Background(), tc.c)
				if got != tc.want || !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
				}
				// Barge-in: a key during the prompt stops it; after it, nothing to stop.
				if bargeIn := tc.press != "" && !tc.after; bargeIn != sw.Has("stop c1-pb-") {
					t.Fatalf("barge-in=%v but actions %v", bargeIn, sw.Actions())
				}
			})
		})
	}
}

func TestCollectHangupKeepsDigits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := ivrtest.New()
		sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) { s.Press(ch, "12"); s.HangUp(ch) }
		sess := ivr.NewSession(sw, "c1", zerolog.Nop())
		got, err := sess.Collect(context.Background(), ivr.Collect{Media: []string{"m"}, Match: ivr.DigitsThenHash, Timeout: time.Second})
		if !errors.Is(err, ivr.ErrHangup) || got != "12" || !sess.HungUp() {
			t.Fatalf("got %q %v", got, err)
		}
		// Close after a hang-up must not hang up again, and is idempotent.
		sess.Close(context.Background())
		sess.Close(context.Background())
		if sw.Has("hangup c1") {
			t.Fatalf("hung up a gone channel: %v", sw.Actions())
		}
	})
}

func TestCloseHangsUpOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := ivrtest.New()
		sess := ivr.NewSession(sw, "c1", zerolog.Nop())
		sess.Close(context.Background())
		sess.Close(context.Background())
		n := 0
		for _, a := range sw.Actions() {
			if a == "hangup c1" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("hangups = %d: %v", n, sw.Actions())
		}
	})
}

func TestTypeaheadFromSayFeedsCollect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := ivrtest.New()
		sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
			if strings.Contains(media[0], "welcome") {
				s.Press(ch, "3")
			}
		}
		sess := ivr.NewSession(sw, "c1", zerolog.Nop())
		if err := sess.Say(context.Background(), "sound:welcome"); err != nil {
			t.Fatal(err)
		}
		got, err := sess.Collect(context.Background(), ivr.Collect{Media: []string{"sound:menu"}, Match: ivr.OneOf("123"), Timeout: time.Second})
		if err != nil || got != "3" {
			t.Fatalf("got %q %v", got, err)
		}
		// The menu prompt was skipped: the caller already answered it.
		if p := sw.Played("c1"); len(p) != 1 {
			t.Fatalf("played %v", p)
		}
	})
}

func TestFailedPromptStillCollects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := ivrtest.New()
		sw.FailPlay = "broken"
		sess := ivr.NewSession(sw, "c1", zerolog.Nop())
		go func() { time.Sleep(20 * time.Millisecond); sw.Press("c1", "0") }()
		got, err := sess.Collect(context.Background(), ivr.Collect{Media: []string{"sound:broken"}, Match: ivr.OneOf("0"), Timeout: time.Second})
		if err != nil || got != "0" {
			t.Fatalf("got %q %v", got, err)
		}
	})
}

func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := ivrtest.New()
		sess := ivr.NewSession(sw, "c1", zerolog.Nop())
		if err := sess.Wait(context.Background(), 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		sw.Press("c1", "5")
		sw.HangUp("c1")
		if err := sess.Wait(context.Background(), time.Second); !errors.Is(err, ivr.ErrHangup) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAnnounceBargeInKeepsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := ivrtest.New()
		sw.ManualPlayback = true
		sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
			if media[0] == "sound:notice" {
				s.Press(ch, "1")
			} else {
				s.Emit(ivr.Event{Kind: ivr.EvPlaybackFinished, ChannelID: ch, PlaybackID: pb})
			}
		}
		sess := ivr.NewSession(sw, "c1", zerolog.Nop())
		if err := sess.Announce(context.Background(), "sound:notice"); err != nil {
			t.Fatal(err)
		}
		if !sw.Has("stop c1-pb-1") {
			t.Fatalf("notice not cut short: %v", sw.Actions())
		}
		got, err := sess.Collect(context.Background(), ivr.Collect{Media: []string{"sound:menu"}, Match: ivr.OneOf("123"), Timeout: time.Second})
		if err != nil || got != "1" {
			t.Fatalf("menu got %q %v, want the key pressed during the notice", got, err)
		}
	})
}
