package ariedge

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus instruments of the ARI client. A nil *Metrics
// is valid and records nothing, so tests and tools can pass nil.
type Metrics struct {
	events     *prometheus.CounterVec
	unknown    *prometheus.CounterVec
	reconnects prometheus.Counter
	connected  prometheus.Gauge
	reqDur     *prometheus.HistogramVec
	dropped    prometheus.Counter
}

// NewMetrics builds the ARI metrics and registers them with reg (if reg is
// not nil). It panics if they are already registered there, like
// prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_events_total",
			Help: "ARI websocket events decoded, by event type.",
		}, []string{"type"}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_ari_unknown_events_total",
			Help: "ARI websocket frames skipped because their type is unknown to the decoder or they did not decode, by raw type name (\"undecodable\" when there is none).",
		}, []string{"type"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_reconnects_total",
			Help: "Times the ARI websocket was re-established after it was lost.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_ari_connected",
			Help: "1 while the ARI event websocket is connected, else 0.",
		}),
		reqDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hotline_ari_request_duration_seconds",
			Help:    "Duration of ARI REST requests, by operation (answer, play, originate, ...) and outcome (ok, not_found, error, timeout).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "outcome"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_ari_dropped_events_total",
			Help: "Channel events dropped because a subscriber's queue was full.",
		}),
	}
	if reg != nil {
		// Exported at zero from the start so "no unknown events" is a 0 on the
		// dashboards, not a missing series.
		m.unknown.WithLabelValues(labelUndecodable)
		reg.MustRegister(m.events, m.unknown, m.reconnects, m.connected, m.reqDur, m.dropped)
	}
	return m
}

func (m *Metrics) event(typ string) {
	if m != nil {
		m.events.WithLabelValues(typ).Inc()
	}
}

func (m *Metrics) unknownEvent(typ string) {
	if m != nil {
		m.unknown.WithLabelValues(typ).Inc()
	}
}

func (m *Metrics) reconnect() {
	if m != nil {
		m.reconnects.Inc()
	}
}

func (m *Metrics) setConnected(up bool) {
	if m == nil {
		return
	}
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

func (m *Metrics) request(op, outcome string, seconds float64) {
	if m != nil {
		m.reqDur.WithLabelValues(op, outcome).Observe(seconds)
	}
}

func (m *Metrics) droppedEvent() {
	if m != nil {
		m.dropped.Inc()
	}
}
