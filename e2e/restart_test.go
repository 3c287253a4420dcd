//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The callback this test causes is cancelled when it ends (quietCallbacks),
// so it never reaches the carrier side of a later test. faults_test.go has
// the same kill with callers in the queue as well as in the menu.

// A controller killed mid-call leaves the call in Asterisk. The restarted
// controller recognises it as its own orphan: hangs it up, notes it on the
// call's ticket, and schedules a callback to the caller (README: Operations).
func TestRestartHangsUpOrphanWithCallback(t *testing.T) {
	env := loadEnv(t)
	run := os.Getenv("HOTLINE_RUN_DIR")
	if run == "" {
		t.Fatal("HOTLINE_RUN_DIR is not set: run the e2e tests through deploy/local/e2e.sh")
	}
	phone := uniquePhone()
	quietCallbacks(t, env, phone)
	// The caller reports a fault, then stays on the line until we hang up.
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("1"), awaitBye)
	eventually(t, 10*time.Second, "fault ticket", func() bool { return len(env.tickets(t, phone)) == 1 })

	raw, err := os.ReadFile(filepath.Join(run, "hotline.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill controller %d: %v", pid, err)
	}
	restart := exec.Command("../deploy/local/hotline.sh", "restart-controller")
	if out, err := restart.CombinedOutput(); err != nil {
		t.Fatalf("restart controller: %v\n%s", err, out)
	}
	ticket := env.tickets(t, phone)[0].ID
	c.wait(t, 40*time.Second) // the hotline hung the orphan up
	type callback struct {
		Status, Kind string
		TicketID     string `json:"ticket_id"`
	}
	var cbs struct{ Callbacks []callback }
	eventually(t, 10*time.Second, "cut-off callback", func() bool {
		env.api(t, "GET", "/api/v1/callbacks?phone="+phone, &cbs)
		return len(cbs.Callbacks) == 1 && cbs.Callbacks[0].Kind == "cut_off"
	})
	if cbs.Callbacks[0].TicketID != ticket {
		t.Fatalf("cut-off callback not linked to the call's ticket: %+v", cbs.Callbacks[0])
	}
	// The cut-off is noted on the call's work order.
	o := env.order(t, ticket)
	if last := o.Audit[len(o.Audit)-1]; !strings.Contains(last.Note, "controller restart") {
		t.Fatalf("ticket audit %+v", o.Audit)
	}
}
