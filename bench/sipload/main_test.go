package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {90, 9}, {95, 10}, {99, 10}, {10, 1}, {0, 1}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%.0f = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
}

func TestCommandTotal(t *testing.T) {
	info := "# Commandstats\r\ncmdstat_get:calls=10,usec=5,usec_per_call=0.5,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=2,usec=1,usec_per_call=0.5\r\ncmdstat_evalsha:calls=30,usec=9\r\n"
	if got := commandTotal(info); got != 42 {
		t.Fatalf("commandTotal = %d, want 42", got)
	}
}

func TestEdgeSearch(t *testing.T) {
	ok := func(rate float64) Step {
		return Step{Rate: rate, Calls: 10, Connected: 10, SippOK: true, RingMS: []float64{100}}
	}
	slow := func(rate float64) Step { s := ok(rate); s.RingMS = []float64{1000 + ringLimitMS + 1}; return s }
	failed := func(rate float64) Step { s := ok(rate); s.Failed = 1; return s }
	leaky := func(rate float64) Step { s := ok(rate); s.Left = map[string]int{"b": 1}; return s }
	refined := func(s Step) Step { s.Refine = true; return s }
	ladder := []float64{8, 16, 24, 32}
	for _, c := range []struct {
		name      string
		steps     []Step
		next      float64 // the rate nextRate picks, 0: done
		sustained float64
	}{
		{"first step", nil, 8, 0},
		{"climbing", []Step{ok(8), ok(16)}, 24, 16},
		{"top of the ladder, all good", []Step{ok(8), ok(16), ok(24), ok(32)}, 0, 32},
		{"a failed caller starts the bisection", []Step{ok(8), ok(16), failed(24)}, 20, 16},
		{"slow ringing is bad too", []Step{ok(8), ok(16), slow(24)}, 20, 16},
		{"so is a channel left behind its caller", []Step{ok(8), ok(16), leaky(24)}, 20, 16},
		{"bisect up", []Step{ok(8), ok(16), failed(24), refined(ok(20))}, 22, 20},
		{"bisect down", []Step{ok(8), ok(16), failed(24), refined(failed(20))}, 18, 16},
		{"refine twice, then stop", []Step{ok(8), ok(16), failed(24), refined(ok(20)), refined(failed(22))}, 0, 20},
		{"nothing good", []Step{failed(8)}, 0, 0},
		{"a good step above a bad one does not count", []Step{ok(8), failed(16), refined(ok(12)), ok(20)}, 0, 12},
	} {
		if got := nextRate(ladder, c.steps, 1000, 2); got != c.next {
			t.Errorf("%s: next rate %v, want %v", c.name, got, c.next)
		}
		if got := sustained(Result{Steps: c.steps, PromptMS: 1000}); got != c.sustained {
			t.Errorf("%s: sustained %v, want %v", c.name, got, c.sustained)
		}
	}
}

func TestProbesParse(t *testing.T) {
	// Asterisk 22's layout.
	tp := "\nProcessor                                  Processed   In Queue  Max Depth  Low water High water Low time(us) High time(us)\n" +
		"stasis/m:channel:all-00000003                 1200          7         45        450       500          0          0\n" +
		"subm:ast_system-00000001                        10          0          2        450       500          0          0\n" +
		"\n2 taskprocessors\n"
	d := taskDepths(tp)
	if len(d) != 2 || d["stasis/m:channel:all-00000003"] != [2]int{7, 45} {
		t.Fatalf("taskDepths = %v", d)
	}
	if n := activeChannels("12 active channels\n6 active calls\n30 calls processed\n"); n != 12 {
		t.Fatalf("activeChannels = %d", n)
	}
}

func TestJoinLogs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Two calls: the first reaches an agent, the second never does.
	write("caller-0.log", "inv 13100000000 100.000000 0.000000\nans 13100000000 100.000000 50000.000000\n"+
		"key 13100000000 101.000000 500000.000000\nbye 13100000000 110.000000 0.000000\n"+
		"inv 13100000001 100.000000 500000.000000\nans 13100000001 100.000000 520000.000000\n")
	write("agent.log", "ring 13100000000 106.000000 800000.000000\ntalk 13100000000 106.000000 900000.000000\n"+
		"ring 13100000000 107.000000 0.000000\n") // a second ring of the same caller does not count
	s := Step{Rate: 1, Calls: 2, SippOK: false}
	if err := joinLogs([]string{filepath.Join(dir, "caller-0.log"), filepath.Join(dir, "agent.log"), filepath.Join(dir, "gone.log")},
		&s, map[string]bool{"13100000000": true, "13100000001": true}); err != nil {
		t.Fatal(err)
	}
	if s.Connected != 1 || s.Failed != 1 || len(s.AnswerMS) != 2 || len(s.RingMS) != 1 {
		t.Fatalf("step %+v", s)
	}
	answers := append([]float64(nil), s.AnswerMS...)
	sort.Float64s(answers) // the calls are joined from a map: any order
	if math.Abs(s.RingMS[0]-5300) > 0.01 || math.Abs(answers[0]-20) > 0.01 || math.Abs(answers[1]-50) > 0.01 {
		t.Fatalf("ring %v ms, answer %v ms; want 5300, and 20 and 50", s.RingMS, s.AnswerMS)
	}
}

func TestWavMS(t *testing.T) {
	// 8 kHz, 16-bit mono: 16000 bytes per second; 8000 bytes of data = 500 ms.
	var b []byte
	put := func(v ...any) {
		for _, x := range v {
			switch x := x.(type) {
			case string:
				b = append(b, x...)
			case uint32:
				b = binary.LittleEndian.AppendUint32(b, x)
			case uint16:
				b = binary.LittleEndian.AppendUint16(b, x)
			}
		}
	}
	put("RIFF", uint32(36+8000), "WAVE", "fmt ", uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16), "data", uint32(8000))
	b = append(b, make([]byte, 8000)...)
	path := filepath.Join(t.TempDir(), "p.wav")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := wavMS(path); got != 500 {
		t.Fatalf("wavMS = %v, want 500", got)
	}
	if got := wavMS(filepath.Join(t.TempDir(), "missing.wav")); got != 0 {
		t.Fatalf("wavMS of a missing file = %v", got)
	}
}
