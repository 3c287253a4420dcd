package menus

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input makes the loader panic, and whatever it accepts can
// be run: the start node and every edge exist.
func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "fuzz.yaml", testNames)
		if err != nil {
			return
		}
		if m.Nodes[m.Start] == nil {
			t.Fatalf("accepted a menu whose start %q is not a node", m.Start)
		}
		for id, n := range m.Nodes {
			for _, t2 := range append([]string{n.Next, n.OnFail}, values(n.Keys, n.Results)...) {
				if t2 != "" && t2 != TargetBack && t2 != TargetRepeat && m.Nodes[t2] == nil {
					t.Fatalf("node %s leads to unknown %q", id, t2)
				}
			}
		}
	})
}

func values(ms ...map[string]string) []string {
	var out []string
	for _, m := range ms {
		for _, v := range m {
			out = append(out, v)
		}
	}
	return out
}
