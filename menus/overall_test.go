package menus

import (
	"strings"
	"testing"
	"time"
)

// overall bounds a whole number entry: 30s unless the defaults or the node
// say otherwise, within the usual 1s..60s.
func TestOverallTimeout(t *testing.T) {
	if got := Default(testNames).Nodes["billing_account"].Overall; got != 30*time.Second {
		t.Fatalf("default overall %s", got)
	}
	node := strings.Replace(string(DefaultYAML()), "    max_digits: 16\n", "    max_digits: 16\n    overall: 45s\n", 1)
	m, err := Parse([]byte(node), "node.yaml", testNames)
	if err != nil || m.Nodes["billing_account"].Overall != 45*time.Second {
		t.Fatalf("node overall: %v", err)
	}
	bad := strings.Replace(string(DefaultYAML()), "overall: 30s", "overall: 90s", 1)
	if _, err := Parse([]byte(bad), "bad.yaml", testNames); err == nil || !strings.Contains(err.Error(), "defaults.overall: 1m30s is outside 1s..1m0s") {
		t.Fatalf("err %v", err)
	}
	wrongAction := strings.Replace(string(DefaultYAML()), "    prompts: main_menu\n", "    prompts: main_menu\n    overall: 10s\n", 1)
	if _, err := Parse([]byte(wrongAction), "menu.yaml", testNames); err == nil || !strings.Contains(err.Error(), "overall") {
		t.Fatalf("overall on a menu node: %v", err)
	}
}
