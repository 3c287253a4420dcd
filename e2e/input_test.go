//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// A DTMF flood into the menu and a 200-digit account number are handled
// without an error: the caller is re-prompted or passed to a person, the
// controller stays healthy, and the next caller is served normally.
func TestDTMFFloodAndLongEntry(t *testing.T) {
	env := loadEnv(t)
	env.agentsOnly(t) // nobody answers: a caller passed to a person waits
	errorsBefore := env.metric(t, `hotline_calls_ended_total{reason="error"}`)
	long := strings.Repeat("9876543210", 20) // 200 digits
	phone := uniquePhone()
	// 2 for billing (an unknown number is asked for the account), then the
	// 200-digit entry with #, then a burst of every key.
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("2"), pause(2*time.Second),
		flood(long+"#", 170*time.Millisecond), pause(2*time.Second),
		flood(strings.Repeat("*#0123456789", 4), 170*time.Millisecond), pause(4*time.Second), hangUp)
	c.wait(t, 120*time.Second)
	if got := env.metric(t, `hotline_calls_ended_total{reason="error"}`) - errorsBefore; got != 0 {
		t.Fatalf("%v calls ended in error after the flood", got)
	}
	var health struct{ Status string }
	if code := env.api(t, "GET", "/healthz", &health); code != 200 || health.Status != "ok" {
		t.Fatalf("healthz after the flood: %d %+v", code, health)
	}
	// The next caller is served as usual: a fault report gets its ticket.
	next := uniquePhone()
	c2 := caller(t, env, next, pause(1500*time.Millisecond), press("1"), pause(3*time.Second), hangUp)
	c2.wait(t, 30*time.Second)
	eventually(t, 5*time.Second, "fault ticket of the next caller", func() bool {
		tks := env.tickets(t, next)
		return len(tks) == 1 && tks[0].Type == "fault"
	})
}
