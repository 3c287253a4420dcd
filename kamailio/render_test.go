package kamailio

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// An edge rendered with no agent (HOTLINE_SIP_AGENTS empty: an IVR-only
// hotline, or agents not listed yet) is a configuration Kamailio accepts:
// its agents' route then holds a warning, since Kamailio refuses a route
// with no statement in it.
func TestRenderWithoutAgents(t *testing.T) {
	need(t, "kamailio")
	dir := t.TempDir()
	render := exec.Command("../deploy/kamailio/render.sh", dir)
	render.Env = append(os.Environ(), "HOTLINE_SIP_AGENTS=", "HOTLINE_SIP_NODES=127.0.0.2:5062,127.0.0.3:5062")
	if out, err := render.CombinedOutput(); err != nil {
		t.Fatalf("render: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "kamailio.cfg")
	if out, err := exec.Command("kamailio", "-c", "-f", cfg).CombinedOutput(); err != nil {
		agents, _ := os.ReadFile(filepath.Join(dir, "hotline-agents.cfg"))
		t.Fatalf("kamailio -c refuses the configuration rendered without agents: %v\n%s\nhotline-agents.cfg:\n%s", err, out, agents)
	}
}
