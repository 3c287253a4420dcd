package callflow

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/prompts"
)

// Past its expected restore time an outage is told as taking longer than
// expected, and the stale time is not read out.
func TestOverrunOutageIsToldTruthfully(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"hangup"}})
	restore := testNow.Add(-10 * time.Minute)
	r.tk.outage = &outages.Outage{ID: "O1", Kind: outages.KindFault, Transformer: "TX-0101", ExpectedRestore: restore}
	r.run("13800138000")
	if !strings.Contains(r.played(), "outage_late outage_still_report") {
		t.Fatalf("played %s", r.played())
	}
	if stale := strings.Join(prompts.When(restore.In(china.Zone)), " "); strings.Contains(r.played(), stale) || strings.Contains(r.played(), "outage_notice") {
		t.Fatalf("the stale restore time was read: %s", r.played())
	}
}
