package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Every queue's series exist at zero before its first call, so rate() and
// increase() count that call (a series born at its first observation hides
// it). TestDashboardQueries failed on a fresh stack without this.
func TestExportQueues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		metric string
		want   int // series
	}{
		{"offered", "hotline_queue_calls_offered_total", 2},
		{"answered", "hotline_queue_calls_answered_total", 2},
		{"abandoned", "hotline_queue_calls_abandoned_total", 2},
		{"talk", "hotline_queue_talk_seconds", 2},
		{"wait by outcome", "hotline_queue_wait_seconds", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := New(reg)
			m.ExportQueues([]string{"general", "fault"})
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, f := range families {
				if f.GetName() == tc.metric {
					n = len(f.GetMetric())
				}
			}
			if n != tc.want {
				t.Fatalf("%s: %d series, want %d at zero", tc.metric, n, tc.want)
			}
		})
	}
}
