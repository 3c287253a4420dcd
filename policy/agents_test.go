package policy

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// loadWith loads good_minimal.yaml with extra YAML appended.
func loadWith(t *testing.T, extra string) *Policy {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"good_minimal.yaml", "calendar_2031.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(readFile(t, "testdata/"+f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "good_minimal.yaml")
	if err := os.WriteFile(path, []byte(readFile(t, path)+"\n"+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAgentDeskDefaultsAndFile(t *testing.T) {
	d := Default().AgentDesk()
	if len(d.PauseReasons) < 3 || d.PauseReasons[0].ID != "break" || !d.PauseReason("lunch") || d.PauseReason("no_answer") {
		t.Fatalf("default pause reasons %+v", d.PauseReasons)
	}
	if !d.WrapUpCode("answered") || d.WrapUpCode("lunch") {
		t.Fatalf("default wrap-up codes %+v", d.WrapUpCodes)
	}
	for _, c := range append(d.PauseReasons, d.WrapUpCodes...) {
		if c.Name == "" || c.En == "" {
			t.Errorf("default choice %+v lacks a Chinese or English name", c)
		}
	}
	// A file without the section gets the defaults.
	if got := loadWith(t, "").AgentDesk(); len(got.PauseReasons) != len(d.PauseReasons) {
		t.Fatalf("minimal file: %+v", got)
	}
	// A file with it gets exactly its own lists; a missing en shows the id.
	p := loadWith(t, `agents:
  pause_reasons:
    - {id: prayer, name: 祈祷, en: Prayer}
  wrap_up_codes:
    - {id: done, name: 完成}
`)
	got := p.AgentDesk()
	if len(got.PauseReasons) != 1 || !got.PauseReason("prayer") || got.PauseReason("break") {
		t.Fatalf("pause reasons from the file %+v", got.PauseReasons)
	}
	if len(got.WrapUpCodes) != 1 || got.WrapUpCodes[0] != (Choice{"done", "完成", "done"}) {
		t.Fatalf("wrap-up codes from the file %+v", got.WrapUpCodes)
	}
	if IDs(got.PauseReasons) != "prayer" {
		t.Fatal(IDs(got.PauseReasons))
	}
}

func TestRecordsAndRecordingsPolicy(t *testing.T) {
	r, rec := Default().Records(), Default().Recordings()
	if r.Retention != 90*24*time.Hour || r.Interval != 30*time.Minute {
		t.Fatalf("default records %+v", r)
	}
	if !rec.AgentCalls || rec.Retention != 180*24*time.Hour {
		t.Fatalf("default recordings %+v", rec)
	}
	p := loadWith(t, `records: {retention_days: 7, stats_interval: 15m}
recordings: {agent_calls: none, retention_days: 30}
`)
	if got := p.Records(); got.Retention != 7*24*time.Hour || got.Interval != 15*time.Minute {
		t.Fatalf("records from the file %+v", got)
	}
	if got := p.Recordings(); got.AgentCalls || got.Retention != 30*24*time.Hour {
		t.Fatalf("recordings from the file %+v", got)
	}
	// Left out: the defaults.
	if got := loadWith(t, "").Recordings(); got != defaultRecordings {
		t.Fatalf("recordings without the section %+v", got)
	}
}
