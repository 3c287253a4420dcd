package ariedge

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// After connecting, the client asks Asterisk not to send the event types
// nothing routes, and never filters out one that is routed. A refused
// filter does not stop the events.
func TestEventFilterOnConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeARI(t)
		bodies := make(chan []byte, 4)
		f.route("PUT /ari/applications/hotline/eventFilter", func(rw http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
			bodies <- b
			rw.WriteHeader(http.StatusOK)
		})
		e := startEnvWith(t, f)
		var got struct {
			Allowed    []struct{ Type string } `json:"allowed"`
			Disallowed []struct{ Type string } `json:"disallowed"`
		}
		select {
		case b := <-bodies:
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("filter body %s: %v", b, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no event filter set after connecting")
		}
		var types []string
		for _, d := range got.Disallowed {
			types = append(types, d.Type)
		}
		if got.Allowed != nil || !slices.Contains(types, "ChannelVarset") || !slices.Contains(types, "PlaybackStarted") {
			t.Fatalf("filter: allowed %v, disallowed %v", got.Allowed, types)
		}
		for _, routed := range []string{"StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackFinished", "ChannelDestroyed", "ChannelHangupRequest"} {
			if slices.Contains(types, routed) {
				t.Errorf("routed event %s filtered out", routed)
			}
		}
		// Events flow whatever Asterisk said.
		events, cancel := e.c.Subscribe("ch1")
		defer cancel()
		e.ws.send(t, dtmfFrame("ch1", "7"))
		if ev := recv(t, events); ev.Digit != "7" {
			t.Fatalf("got %+v", ev)
		}
	})
}

// startEnvWith is startEnv on a fake ARI whose routes the test set first.
func startEnvWith(t *testing.T, f *fakeARI) *testEnv {
	t.Helper()
	e := &testEnv{f: f, h: newTestHandler(), reg: prometheus.NewRegistry()}
	e.c = e.f.net.client(t, testConfig(), NewMetrics(e.reg))
	runClient(t, e.c, e.h)
	e.ws = e.f.nextConn(t)
	e.h.waitConnect(t)
	return e
}
