package callbacks

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
)

// A replica whose Asterisk is down claims no due callback (another
// replica's worker places it, with no attempt spent); once its Asterisk is
// back it places them again.
func TestWorkerClaimsNothingWhileItsSwitchIsDown(t *testing.T) {
	st, clk := newStore(t)
	ctx := context.Background()
	sw := ivrtest.New()
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) {
		s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
	}
	answered := make(chan Callback, 1)
	w := NewWorker(st, sw, Dial{Carrier: "carrier", CallerID: "95598", RingTimeout: time.Second},
		metrics.Discard(), zerolog.Nop(), func(ctx context.Context, sess *ivr.Session, cb Callback) {
			sess.Close(ctx)
			answered <- cb
		})
	up := false
	w.SwitchUp = func() bool { return up }
	if _, _, err := st.Schedule(ctx, Request{Phone: "13800138000", CallID: "c1"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	w.tick(ctx)
	if cb, _ := st.Get(ctx, "1"); cb.Status != Pending || cb.Attempts != 0 || len(sw.Actions()) != 0 {
		t.Fatalf("switch down: %+v, actions %v; want it left pending, untouched", cb, sw.Actions())
	}
	up = true
	w.tick(ctx)
	select {
	case cb := <-answered:
		if cb.ID != "1" || !sw.Has("originate cb-1-1 PJSIP/13800138000@carrier") {
			t.Fatalf("placed %+v, actions %v", cb, sw.Actions())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("switch up: callback not placed: %v", sw.Actions())
	}
}
