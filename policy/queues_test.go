package policy

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestQueuesDefaultsAndFile(t *testing.T) {
	qs := Default().Queues()
	for _, n := range QueueNames {
		if _, ok := qs[n]; !ok {
			t.Fatalf("default policy lacks queue %s", n)
		}
	}
	if qs["senior"].MinAge != 65 || qs["complaint"].WrapUp != time.Minute || qs["fault"].OnMaxWait != "general" {
		t.Fatalf("default queues %+v", qs)
	}
	// A file that leaves queues out gets the defaults, senior age included.
	p, err := Load("testdata/good_minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if q := p.Queues()["senior"]; q.MinAge != 65 || q.HandleTime != defaultQueue.HandleTime {
		t.Fatalf("senior queue from defaults %+v", q)
	}
	// "0s" means never / at once; 0 turns the senior service off.
	src := `queues:
  callback: {any_level_after: 0s, announce_every: 0s}
  senior:   {min_age: 0}
`
	dir := t.TempDir()
	for _, f := range []string{"good_minimal.yaml", "calendar_2031.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(readFile(t, "testdata/"+f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "good_minimal.yaml")
	if err := os.WriteFile(path, []byte(readFile(t, path)+"\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if q := p.Queues()["callback"]; q.AnyLevelAfter != 0 || q.AnnounceEvery != 0 || q.MaxWait != defaultQueue.MaxWait {
		t.Fatalf("callback queue %+v", q)
	}
	if p.Queues()["senior"].MinAge != 0 {
		t.Fatal("min_age 0 did not turn the senior service off")
	}
}
