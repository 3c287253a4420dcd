package menus

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHolderReload(t *testing.T) {
	good, err := os.ReadFile("testdata/good_minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "ivr.yaml", string(good))
	met := NewMetrics(prometheus.NewRegistry())
	h := NewHolder(nil, testNames, met)
	if h.Load().Version != DefaultVersion() || h.Path() != "" {
		t.Fatal("a new holder serves the default menu")
	}
	started := h.Load() // a call in progress keeps this one

	m, err := h.Reload(path)
	if err != nil || h.Load() != m || m.Start != "main" || h.Path() != path {
		t.Fatalf("reload good file: %v", err)
	}
	if started.Start != "identify" {
		t.Error("the menu a call started with changed under it")
	}

	// A broken file is refused with its line; the running menu stays.
	broken := strings.Replace(string(good), "next: bye", "next: nowhere", 1)
	writeFile(t, dir, "ivr.yaml", broken)
	_, err = h.Reload("")
	var me *Error
	if !errors.As(err, &me) || !strings.Contains(err.Error(), path+":14: node info: next: unknown node \"nowhere\"") {
		t.Fatalf("reload broken file: %v", err)
	}
	if h.Load() != m {
		t.Error("a refused reload replaced the menu")
	}
	if _, err := h.Reload(filepath.Join(dir, "missing.yaml")); err == nil || h.Load() != m || h.Path() != path {
		t.Errorf("reload of a missing file: err %v", err)
	}
	if v := value(met.Reloads.WithLabelValues("ok")); v != 1 {
		t.Errorf("ok reloads %v", v)
	}
	if v := value(met.Reloads.WithLabelValues("refused")); v != 2 {
		t.Errorf("refused reloads %v", v)
	}
	// Fixed file, re-read by Reload("") as a SIGHUP handler would.
	writeFile(t, dir, "ivr.yaml", strings.Replace(string(good), `version: "1"`, `version: "2"`, 1))
	if m2, err := h.Reload(""); err != nil || m2.Version != "2" || h.Load() != m2 {
		t.Fatalf("reload fixed file: %v", err)
	}
}

// TestHolderConcurrent: calls load the menu while reloads swap it; run
// with -race. Every call sees a whole, valid menu. The loaders must really
// run between the swaps: with one free CPU (GOMAXPROCS=1, or a busy
// machine) the 60 reloads used to finish before any loader was scheduled,
// and the test failed with no load at all. So the swaps start once every
// loader is running, and each waits for a load of the menu before it.
func TestHolderConcurrent(t *testing.T) {
	good, err := os.ReadFile("testdata/good_minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a := writeFile(t, dir, "a.yaml", string(good))
	b := writeFile(t, dir, "b.yaml", strings.Replace(string(good), `version: "1"`, `version: "b"`, 1))
	bad := writeFile(t, dir, "bad.yaml", "version: x\n")
	h := NewHolder(nil, testNames, nil)
	const loaders = 4
	var wg sync.WaitGroup
	var stop atomic.Bool
	var loads atomic.Int64
	running := make(chan struct{}, loaders)
	for range loaders {
		wg.Go(func() {
			for first := true; !stop.Load(); first = false {
				m := h.Load()
				if m == nil || m.Nodes[m.Start] == nil {
					t.Error("loaded a menu without its start node")
					return
				}
				loads.Add(1)
				if first {
					running <- struct{}{}
				}
				runtime.Gosched() // a call does more than load its menu
			}
		})
	}
	for range loaders {
		<-running
	}
	var refused int
	for i := 0; i < 60; i++ {
		p := []string{a, b, bad}[i%3]
		before := loads.Load()
		if _, err := h.Reload(p); err != nil {
			refused++
		}
		for loads.Load() == before && !t.Failed() {
			runtime.Gosched() // a call loads the menu before the next swap
		}
	}
	stop.Store(true)
	wg.Wait()
	if refused != 20 || loads.Load() < 60+loaders {
		t.Errorf("refused %d, loads %d", refused, loads.Load())
	}
	if v := h.Load().Version; v != "b" {
		t.Errorf("final menu %q, want b (the last good file)", v)
	}
}
