package ariedge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/ivr"
)

// (a) Unknown and broken frames are counted and skipped; the connection
// stays up and the next known event still arrives.
func TestUnknownEventsAreSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startEnv(t)
		events, cancel := e.c.Subscribe("ch1")
		defer cancel()

		for _, tc := range []struct {
			name, frame string
			unknown     string // label counted in hotline_ari_unknown_events_total, "" if it decodes
		}{
			// Known to ari v5.3.1 under this spelling, so it decodes (and is ignored).
			{"ChannelCallerId", frame("ChannelCallerId", map[string]any{"channel": chanJSON("ch1", "13812345678"), "caller_presentation": 0, "caller_presentation_txt": "Presentation Allowed, Not Screened"}), ""},
			{"ChannelTransfer", frame("ChannelTransfer", map[string]any{"channel": chanJSON("ch1", "1001"), "refer_to": map[string]any{}}), "ChannelTransfer"},
			{"ChannelToneDetected", frame("ChannelToneDetected", map[string]any{"channel": chanJSON("ch1", "1001")}), "ChannelToneDetected"},
			{"garbage", "{not json", labelUndecodable},
			{"no type", `{"channel":{"id":"ch1"}}`, labelUndecodable},
			{"known type, bad body", `{"type":"ChannelDtmfReceived","channel":"oops"}`, "ChannelDtmfReceived"},
			{"hostile type name", `{"type":"x\"} {bad label"}`, labelUndecodable},
		} {
			// One connection for all of them: no subtests (not in a bubble).
			labels := map[string]string{"type": tc.unknown}
			before := metricValue(t, e.reg, "hotline_ari_unknown_events_total", labels)
			e.ws.send(t, tc.frame)
			e.ws.send(t, dtmfFrame("ch1", "5"))
			ev := recv(t, events)
			if ev.Kind != ivr.EvDTMF || ev.Digit != "5" || ev.ChannelID != "ch1" {
				t.Fatalf("%s: got %+v, want DTMF 5 on ch1", tc.name, ev)
			}
			if tc.unknown != "" {
				if got := metricValue(t, e.reg, "hotline_ari_unknown_events_total", labels); got != before+1 {
					t.Errorf("%s: unknown_events_total{type=%q} = %v, want %v", tc.name, tc.unknown, got, before+1)
				}
			}
		}
		if got := metricValue(t, e.reg, "hotline_ari_events_total", map[string]string{"type": "ChannelCallerId"}); got != 1 {
			t.Errorf("events_total{ChannelCallerId} = %v, want 1", got)
		}
		e.f.noConn(t, 100*time.Millisecond)
		if !e.c.Connected() || e.h.connects.Load() != 1 {
			t.Fatalf("connected=%v connects=%d, want one uninterrupted connection", e.c.Connected(), e.h.connects.Load())
		}
		if got := metricValue(t, e.reg, "hotline_ari_reconnects_total", nil); got != 0 {
			t.Errorf("reconnects_total = %v, want 0", got)
		}
		q := e.f.wsQuery
		if q.Get("app") != "hotline" || q.Get("api_key") != "hotline:s3cret" || q.Get("subscribeAll") != "false" {
			t.Errorf("websocket query = %v", q)
		}
	})
}

// A frame over maxFrameBytes is counted as undecodable and skipped whole;
// the connection stays up and the next event still arrives.
func TestOversizedFrameIsSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startEnv(t)
		events, cancel := e.c.Subscribe("ch1")
		defer cancel()
		labels := map[string]string{"type": labelUndecodable}
		before := metricValue(t, e.reg, "hotline_ari_unknown_events_total", labels)
		// A DTMF event padded past the limit: it would decode if it were read.
		big := frame("ChannelDtmfReceived", map[string]any{"channel": chanJSON("ch1", "1001"), "digit": "1", "duration_ms": 100,
			"padding": strings.Repeat("x", maxFrameBytes)})
		e.ws.send(t, big)
		e.ws.send(t, dtmfFrame("ch1", "2"))
		if ev := recv(t, events); ev.Kind != ivr.EvDTMF || ev.Digit != "2" {
			t.Fatalf("got %+v, want DTMF 2 (the oversized frame skipped)", ev)
		}
		if got := metricValue(t, e.reg, "hotline_ari_unknown_events_total", labels); got != before+1 {
			t.Errorf("unknown_events_total{type=%q} = %v, want %v", labelUndecodable, got, before+1)
		}
		e.f.noConn(t, 100*time.Millisecond)
		if !e.c.Connected() || e.h.connects.Load() != 1 {
			t.Fatalf("connected=%v connects=%d, want the same connection", e.c.Connected(), e.h.connects.Load())
		}
	})
}

// Every mapped event type reaches every subscriber of its channel, in order.
func TestEventMapping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startEnv(t)
		a, cancelA := e.c.Subscribe("ch1")
		defer cancelA()
		b, cancelB := e.c.Subscribe("ch1")
		defer cancelB()
		other, cancelOther := e.c.Subscribe("ch2")
		defer cancelOther()

		cases := []struct {
			frame string
			want  ivr.Event
		}{
			{dtmfFrame("ch1", "#"), ivr.Event{Kind: ivr.EvDTMF, ChannelID: "ch1", Digit: "#"}},
			{frame("PlaybackFinished", map[string]any{"playback": map[string]any{"id": "pb1", "media_uri": "sound:hotline/welcome", "target_uri": "bridge:br1", "state": "done"}}), ivr.Event{}}, // not a channel: dropped
			{frame("PlaybackFinished", map[string]any{"playback": map[string]any{"id": "pb2", "media_uri": "sound:hotline/welcome", "target_uri": "channel:ch1", "state": "done"}}), ivr.Event{Kind: ivr.EvPlaybackFinished, ChannelID: "ch1", PlaybackID: "pb2"}},
			{frame("ChannelVarset", map[string]any{"channel": chanJSON("ch1", "1001"), "variable": "X", "value": "1"}), ivr.Event{}}, // ignored
			{frame("ChannelHangupRequest", map[string]any{"channel": chanJSON("ch1", "1001"), "cause": 16}), ivr.Event{Kind: ivr.EvHangup, ChannelID: "ch1", Cause: 16}},
			// Asterisk stopping: a soft request with AST_SOFTHANGUP_SHUTDOWN, as
			// Asterisk 22 sent it in TestFaultAsteriskRestart; our own hangup is
			// soft with AST_SOFTHANGUP_EXPLICIT (16) and is no shutdown.
			{frame("ChannelHangupRequest", map[string]any{"channel": chanJSON("ch1", "1001"), "cause": 4, "soft": true}), ivr.Event{Kind: ivr.EvHangup, ChannelID: "ch1", Cause: 4, SwitchDown: true}},
			{frame("ChannelHangupRequest", map[string]any{"channel": chanJSON("ch1", "1001"), "cause": 16, "soft": true}), ivr.Event{Kind: ivr.EvHangup, ChannelID: "ch1", Cause: 16}},
			{frame("StasisEnd", map[string]any{"channel": chanJSON("ch1", "1001")}), ivr.Event{Kind: ivr.EvHangup, ChannelID: "ch1"}},
			{frame("ChannelDestroyed", map[string]any{"channel": chanJSON("ch1", "1001"), "cause": 17, "cause_txt": "User busy"}), ivr.Event{Kind: ivr.EvHangup, ChannelID: "ch1", Cause: 17}},
		}
		var want []ivr.Event
		for _, tc := range cases {
			e.ws.send(t, tc.frame)
			if tc.want.Kind != 0 {
				want = append(want, tc.want)
			}
		}
		e.ws.send(t, dtmfFrame("ch2", "9"))
		if ev := recv(t, other); ev.Digit != "9" {
			t.Fatalf("ch2 got %+v", ev)
		}
		for name, ch := range map[string]<-chan ivr.Event{"a": a, "b": b} {
			for i, w := range want {
				if got := recv(t, ch); fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("subscriber %s event %d = %+v, want %+v", name, i, got, w)
				}
			}
		}

		// cancel closes the channel, is idempotent, and leaves other subscribers alone.
		cancelA()
		cancelA()
		eventually(t, "closed channel", func() bool {
			select {
			case _, ok := <-a:
				return !ok
			default:
				return false
			}
		})
		e.ws.send(t, dtmfFrame("ch1", "1"))
		if ev := recv(t, b); ev.Digit != "1" {
			t.Fatalf("b got %+v after a cancelled", ev)
		}
	})
}

// (b) A REST call to an ARI that never answers fails within RequestTimeout.
func TestRequestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeARI(t)
		release := make(chan struct{})
		defer close(release)
		f.route("POST /ari/channels/slow/answer", func(rw http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		reg := prometheus.NewRegistry()
		c := f.net.client(t, testConfig(), NewMetrics(reg))

		start := time.Now()
		err := c.Channel("slow").Answer(context.Background())
		elapsed := time.Since(start)
		if err == nil {
			t.Fatal("Answer on a hanging ARI returned nil")
		}
		if elapsed != 200*time.Millisecond {
			t.Fatalf("Answer took %v, want RequestTimeout (200ms)", elapsed)
		}
		if !isTimeout(err) || !strings.Contains(err.Error(), "POST /channels/slow/answer") {
			t.Errorf("err = %v, want a timeout naming method and path", err)
		}
		if got := metricValue(t, reg, "hotline_ari_request_duration_seconds", map[string]string{"method": "answer", "outcome": "timeout"}); got != 1 {
			t.Errorf("request_duration{answer,timeout} count = %v, want 1", got)
		}

		// The caller's ctx bounds it too.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		start = time.Now()
		if err := c.Channel("slow").Answer(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 30*time.Millisecond {
			t.Errorf("with 30ms ctx: err=%v after %v", err, time.Since(start))
		}
	})
}

// (c) Losing the websocket shows in Connected/Health, and the client
// reconnects with backoff and calls OnConnect again.
func TestReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startEnv(t)
		if ok, detail := e.c.Health(); !ok || !e.c.Connected() || !strings.Contains(detail, "connected") {
			t.Fatalf("Health = %v %q, want ok", ok, detail)
		}
		if strings.Contains(fmt.Sprint(e.c.Health()), "s3cret") {
			t.Error("Health leaks the password")
		}

		e.f.down.Store(true)
		triesBefore := len(e.f.tries())
		e.ws.close()
		eventually(t, "disconnect", func() bool { return !e.c.Connected() })
		if ok, detail := e.c.Health(); ok || !strings.Contains(detail, "disconnected") {
			t.Errorf("Health while down = %v %q", ok, detail)
		}
		if got := metricValue(t, e.reg, "hotline_ari_connected", nil); got != 0 {
			t.Errorf("connected gauge = %v, want 0", got)
		}
		// While down it keeps retrying, spaced by at least MinBackoff.
		eventually(t, "3 failed retries", func() bool { return len(e.f.tries())-triesBefore >= 3 })
		tries := e.f.tries()[triesBefore:]
		for i := 1; i < len(tries); i++ {
			if gap := tries[i].Sub(tries[i-1]); gap < 30*time.Millisecond || gap > 120*time.Millisecond {
				t.Errorf("retry %d %v after the previous, want between MinBackoff (30ms) and MaxBackoff (120ms)", i, gap)
			}
		}
		if ok, detail := e.c.Health(); ok || strings.Contains(detail, "s3cret") {
			t.Errorf("Health while down = %v %q", ok, detail)
		}

		e.f.down.Store(false)
		ws2 := e.f.nextConn(t)
		e.h.waitConnect(t)
		if n := e.h.connects.Load(); n != 2 {
			t.Errorf("OnConnect called %d times, want 2", n)
		}
		eventually(t, "reconnected", e.c.Connected)
		if got := metricValue(t, e.reg, "hotline_ari_reconnects_total", nil); got != 1 {
			t.Errorf("reconnects_total = %v, want 1", got)
		}
		if got := metricValue(t, e.reg, "hotline_ari_connected", nil); got != 1 {
			t.Errorf("connected gauge = %v, want 1", got)
		}
		// Subscriptions survive the reconnect.
		events, cancel := e.c.Subscribe("ch1")
		defer cancel()
		ws2.send(t, dtmfFrame("ch1", "3"))
		if ev := recv(t, events); ev.Digit != "3" {
			t.Fatalf("after reconnect got %+v", ev)
		}
	})
}

// (c) New and Run never block the caller while Asterisk is unreachable;
// Run retries until its context ends.
func TestServerDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := newPipeNet()
		down.Close() // nothing listens

		start := time.Now()
		c := down.client(t, Config{URL: "http://ari.test/ari", User: "u", Password: "pw-n0t-in-logs", App: "hotline",
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx, newTestHandler()) }()
		synctest.Wait()
		if d := time.Since(start); d != 0 {
			t.Fatalf("New and Run kept the caller %v", d)
		}

		select {
		case err := <-done:
			t.Fatalf("Run returned %v while the server is down, want it to keep retrying", err)
		case <-time.After(200 * time.Millisecond):
		}
		if ok, detail := c.Health(); ok || !strings.Contains(detail, "dial") || strings.Contains(detail, "pw-n0t-in-logs") {
			t.Errorf("Health = %v %q, want a dial failure without the password", ok, detail)
		}
		if err := c.Channel("x").Answer(context.Background()); err == nil {
			t.Error("Answer against a down ARI returned nil")
		}

		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, url := range []string{"", "ftp://x/ari", "http:///ari"} {
		c := New(Config{URL: url, App: "hotline"}, zerolog.New(io.Discard), nil)
		if err := c.Run(context.Background(), newTestHandler()); err == nil {
			t.Errorf("Run with URL %q = nil, want a config error", url)
		}
		if err := c.Channel("x").Hangup(context.Background()); err == nil {
			t.Errorf("Hangup with URL %q = nil, want a config error", url)
		}
	}
}

// (d) A subscriber that does not read loses nothing below the cap, and does
// not hold up events for other channels.
func TestSlowSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startEnv(t)
		slow, cancelSlow := e.c.Subscribe("slow")
		defer cancelSlow()
		fast, cancelFast := e.c.Subscribe("fast")
		defer cancelFast()

		const n = 500
		for i := range n {
			e.ws.send(t, dtmfFrame("slow", strconv.Itoa(i)))
		}
		e.ws.send(t, dtmfFrame("fast", "#"))
		if ev := recv(t, fast); ev.Digit != "#" {
			t.Fatalf("fast got %+v", ev)
		}
		for i := range n {
			if ev := recv(t, slow); ev.Digit != strconv.Itoa(i) {
				t.Fatalf("event %d: digit %q, want %d", i, ev.Digit, i)
			}
		}
		if got := metricValue(t, e.reg, "hotline_ari_dropped_events_total", nil); got != 0 {
			t.Errorf("dropped_events_total = %v, want 0", got)
		}
	})
}

// Beyond the cap the oldest DTMF events go first; hangups are never dropped.
func TestSubscriberOverflow(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := New(Config{URL: "http://127.0.0.1:1/ari", App: "hotline"}, zerolog.New(io.Discard), NewMetrics(reg))

	// A bare subscriber without its pump, to look at the queue itself.
	s := &subscriber{c: c, id: "ch", signal: make(chan struct{}, 1), done: make(chan struct{})}
	s.push(ivr.Event{Kind: ivr.EvHangup, Cause: 1})
	for i := range maxQueued + 10 {
		s.push(ivr.Event{Kind: ivr.EvDTMF, Digit: strconv.Itoa(i)})
	}
	s.push(ivr.Event{Kind: ivr.EvHangup, Cause: 2})
	// 1012 pushed into room for 1000: the 12 oldest DTMF go.
	if len(s.queue) != maxQueued {
		t.Fatalf("queue len %d, want %d", len(s.queue), maxQueued)
	}
	if s.queue[0].Kind != ivr.EvHangup || s.queue[len(s.queue)-1].Kind != ivr.EvHangup {
		t.Error("a hangup was dropped")
	}
	if d := s.queue[1].Digit; d != "12" {
		t.Errorf("oldest DTMF kept = %q, want 12 (0..11 dropped)", d)
	}
	if got := metricValue(t, reg, "hotline_ari_dropped_events_total", nil); got != 12 {
		t.Errorf("dropped_events_total = %v, want 12", got)
	}

	// A queue of nothing but hangups grows rather than lose one.
	h := &subscriber{c: c, id: "h", signal: make(chan struct{}, 1), done: make(chan struct{})}
	for range maxQueued + 5 {
		h.push(ivr.Event{Kind: ivr.EvHangup})
	}
	if len(h.queue) != maxQueued+5 {
		t.Errorf("hangup queue len %d, want %d", len(h.queue), maxQueued+5)
	}
}

// (e) StasisStart goes to the subscriber of an originated channel as
// EvAnswered, otherwise to OnStasisStart in its own goroutine; a panicking
// handler does not take the client down.
func TestStasisStartRouting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startEnv(t)
		e.h.panicFor = "boom"
		out, cancel := e.c.Subscribe("out1")
		defer cancel()

		e.ws.send(t, frame("StasisStart", map[string]any{"channel": chanJSON("out1", "1001"), "args": []string{"outbound", "t42"}}))
		ev := recv(t, out)
		if ev.Kind != ivr.EvAnswered || ev.ChannelID != "out1" || strings.Join(ev.Args, ",") != "outbound,t42" {
			t.Fatalf("subscriber got %+v, want EvAnswered with args", ev)
		}

		e.ws.send(t, frame("StasisStart", map[string]any{"channel": chanJSON("boom", "1001"), "args": []string{}}))
		e.ws.send(t, frame("StasisStart", map[string]any{"channel": chanJSON("in1", "13812345678"), "args": []string{"inbound"}}))
		select {
		case call := <-e.h.starts:
			want := ivr.ChannelInfo{ID: "in1", Name: "PJSIP/trunk-00000001", State: "Ring", CallerNum: "13812345678", CallerName: "Zhang San", Exten: "95598"}
			created := call.info.Created
			call.info.Created = time.Time{}
			if call.info != want || strings.Join(call.args, ",") != "inbound" {
				t.Errorf("OnStasisStart(%+v, %v), want %+v [inbound]", call.info, call.args, want)
			}
			if wantT, _ := time.Parse("2006-01-02T15:04:05.000-0700", ts); !created.Equal(wantT) {
				t.Errorf("Created = %v, want %v", created, wantT)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("OnStasisStart not called for an unsubscribed channel")
		}
		select {
		case call := <-e.h.starts:
			t.Errorf("unexpected OnStasisStart for %s", call.info.ID)
		case <-time.After(50 * time.Millisecond):
		}
		// Still the same, working connection after the panic.
		e.ws.send(t, dtmfFrame("out1", "7"))
		if ev := recv(t, out); ev.Digit != "7" {
			t.Fatalf("after panic got %+v", ev)
		}
		e.f.noConn(t, 50*time.Millisecond)
	})
}
