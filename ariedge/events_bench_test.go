package ariedge

import (
	"context"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// BenchmarkHandleFrame decodes the events one answered call typically
// produces, most of which nobody routes.
func BenchmarkHandleFrame(b *testing.B) {
	c := New(Config{URL: "http://127.0.0.1:1/ari", User: "u", Password: "p", App: "hotline"}, zerolog.New(io.Discard), NewMetrics(prometheus.NewRegistry()))
	_, cancel := c.Subscribe("ch1")
	defer cancel()
	ch := chanJSON("ch1", "13812345678")
	pb := map[string]any{"id": "ch1-pb-1", "media_uri": "sound:hotline/welcome", "target_uri": "channel:ch1", "language": "zh", "state": "playing"}
	frames := [][]byte{
		[]byte(frame("ChannelStateChange", map[string]any{"channel": ch})),
		[]byte(frame("ChannelVarset", map[string]any{"channel": ch, "variable": "VOLUME(TX)", "value": "2"})),
		[]byte(frame("PlaybackStarted", map[string]any{"playback": pb})),
		[]byte(frame("PlaybackFinished", map[string]any{"playback": pb})),
		[]byte(dtmfFrame("ch1", "0")),
		[]byte(frame("ChannelEnteredBridge", map[string]any{"channel": ch, "bridge": map[string]any{"id": "br-ch1", "technology": "simple_bridge", "bridge_type": "mixing", "channels": []string{"ch1"}}})),
		[]byte(frame("Dial", map[string]any{"peer": ch, "dialstatus": "RINGING", "dialstring": "3001"})),
	}
	h := newTestHandler()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.handleFrame(context.Background(), frames[i%len(frames)], h)
	}
}
