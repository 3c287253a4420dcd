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

func TestCapacity(t *testing.T) {
	ok := func(rate float64) Step { return Step{Rate: rate, Calls: 10, Connected: 10, SippOK: true} }
	short := Step{Rate: 8, Calls: 10, Connected: 9, SippOK: true}
	failed := Step{Rate: 8, Calls: 10, Connected: 10, Failed: 1}
	for _, c := range []struct {
		name  string
		steps []Step
		want  float64
	}{
		{"all sustained", []Step{ok(2), ok(4), ok(8)}, 8},
		{"a caller not connected", []Step{ok(2), ok(4), short}, 4},
		{"a caller failed", []Step{ok(2), ok(4), failed}, 4},
		{"a failure stops the climb", []Step{ok(2), failed, ok(16)}, 2},
		{"nothing sustained", []Step{failed}, 0},
	} {
		if got := capacity(Result{Steps: c.steps}); got != c.want {
			t.Errorf("%s: capacity %v, want %v", c.name, got, c.want)
		}
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
	res := Result{Steps: []Step{{Rate: 1, Calls: 2, SippOK: false}}}
	if err := joinLogs(dir, &res, map[string]int{"13100000000": 0, "13100000001": 0}); err != nil {
		t.Fatal(err)
	}
	s := res.Steps[0]
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
