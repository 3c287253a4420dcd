package menus

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a call's run through the menu: a fixed set, so they can be a
// label. Containment is contained / all.
const (
	OutcomeContained    = "contained"     // ended at a hangup node: served by the IVR
	OutcomeAgent        = "agent"         // left the menu for a queue or a transfer
	OutcomeCallerHangup = "caller_hangup" // the caller hung up inside the menu
	OutcomeError        = "error"         // we failed the call
)

// Metrics are the per-node menu metrics. Node labels come from the menu
// file, so their number is bounded by what operators write; keys are one
// of twelve.
type Metrics struct {
	Selections *prometheus.CounterVec // node, key
	Invalid    *prometheus.CounterVec // node
	Timeouts   *prometheus.CounterVec // node
	Failed     *prometheus.CounterVec // node: retries ran out, the caller went to on_fail
	Outcomes   *prometheus.CounterVec // outcome, node
	ToAgents   *prometheus.CounterVec // reason
	Reloads    *prometheus.CounterVec // result: ok, refused
}

// NewMetrics registers the menu metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Selections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_menu_node_selections_total",
			Help: "Keys pressed in menu nodes, by node and key."}, []string{"node", "key"}),
		Invalid: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_menu_node_invalid_total",
			Help: "Invalid entries (a key not offered, too many digits), by node."}, []string{"node"}),
		Timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_menu_node_timeouts_total",
			Help: "Prompts that got no key in time, by node."}, []string{"node"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_menu_node_failed_total",
			Help: "Callers sent to on_fail after too many invalid or missing keys, by node."}, []string{"node"}),
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_menu_calls_total",
			Help: "Calls that left the menu, by outcome (contained, agent, caller_hangup, error) and the node they left at."}, []string{"outcome", "node"}),
		ToAgents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_menu_to_agents_total",
			Help: "Callers the menu sent to a human (queue or transfer), by reason."}, []string{"reason"}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hotline_menu_reloads_total",
			Help: "Menu reloads, by result (ok, refused)."}, []string{"result"}),
	}
	reg.MustRegister(m.Selections, m.Invalid, m.Timeouts, m.Failed, m.Outcomes, m.ToAgents, m.Reloads)
	return m
}
