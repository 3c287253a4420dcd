package recordings

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
)

var t0 = time.Date(2026, 11, 22, 10, 30, 0, 0, china.Zone)

// fakeSwitch records what was asked of it and writes the file Asterisk
// would write.
type fakeSwitch struct {
	dir     string
	started []string
	stopped []string
	fail    error
}

func (f *fakeSwitch) RecordBridge(_ context.Context, bridgeID, name string) error {
	if f.fail != nil {
		return f.fail
	}
	f.started = append(f.started, bridgeID+" "+name)
	return os.WriteFile(filepath.Join(f.dir, name+".wav"), []byte("RIFF....WAVEfmt "), 0o644)
}

func (f *fakeSwitch) StopRecording(_ context.Context, name string) error {
	f.stopped = append(f.stopped, name)
	return nil
}

func newStore(t *testing.T, pol policy.Recordings) (*Store, *fakeSwitch, *redis.Client, *clocktest.Clock) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	dir := t.TempDir()
	clk := clocktest.New(t0)
	return New(rdb, "t:", dir, pol, clk.Now), &fakeSwitch{dir: dir}, rdb, clk
}

var all = policy.Recordings{AgentCalls: true, Retention: 30 * 24 * time.Hour}

func TestBeginAndEnd(t *testing.T) {
	s, sw, _, clk := newStore(t, all)
	ctx := context.Background()
	a, err := s.Begin(ctx, sw, "br-1795.0", Recording{CallID: "1795.0", TicketID: "20261122000001", Agent: "2001",
		Phone: "+86 13800138000", Queue: "complaint", Node: "ast1"}, 0)
	if err != nil || a == nil {
		t.Fatalf("begin: %v %v", a, err)
	}
	if a.Info.ID != "20261122-103000-1795.0" || len(sw.started) != 1 || sw.started[0] != "br-1795.0 20261122-103000-1795.0" {
		t.Fatalf("id %s, switch asked %v", a.Info.ID, sw.started)
	}
	clk.Add(95 * time.Second)
	if err := a.End(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sw.stopped) != 1 || sw.stopped[0] != a.Info.ID {
		t.Fatalf("stopped %v", sw.stopped)
	}
	got, err := s.Get(ctx, a.Info.ID)
	if err != nil || got.DurationS != 95 || got.Phone != "13800138000" || got.File != a.Info.ID+".wav" || !got.Start.Equal(t0) {
		t.Fatalf("got %+v %v", got, err)
	}
	f, r, err := s.Open(ctx, a.Info.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(f)
	f.Close()
	if !strings.HasPrefix(string(raw), "RIFF") || r.CallID != "1795.0" {
		t.Fatalf("file %q, recording %+v", raw, r)
	}
	var nilActive *Active
	if err := nilActive.End(ctx); err != nil {
		t.Fatal(err)
	}
}

// The policy switch acts: with "none" nothing is recorded or indexed.
func TestPolicyNone(t *testing.T) {
	s, sw, rdb, _ := newStore(t, policy.Recordings{AgentCalls: false, Retention: all.Retention})
	a, err := s.Begin(context.Background(), sw, "br-1", Recording{CallID: "1"}, 0)
	if a != nil || err != nil || len(sw.started) != 0 {
		t.Fatalf("recorded with agent_calls none: %v %v %v", a, err, sw.started)
	}
	if n := rdb.DBSize(context.Background()).Val(); n != 0 {
		t.Fatalf("%d keys written", n)
	}
}

// A switch that refuses leaves no index entry.
func TestBeginSwitchRefuses(t *testing.T) {
	s, sw, _, _ := newStore(t, all)
	sw.fail = errors.New("ari: 404 bridge not found")
	if _, err := s.Begin(context.Background(), sw, "br-1", Recording{CallID: "1"}, 0); err == nil {
		t.Fatal("no error")
	}
	if got, _ := s.List(context.Background(), Filter{}); len(got) != 0 {
		t.Fatalf("indexed %v", got)
	}
}

func TestListAndOpen(t *testing.T) {
	s, sw, _, clk := newStore(t, all)
	ctx := context.Background()
	begin := func(call, ticket, agent, phone string) string {
		t.Helper()
		a, err := s.Begin(ctx, sw, "br-"+call, Recording{CallID: call, TicketID: ticket, Agent: agent, Phone: phone}, 0)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		return a.Info.ID
	}
	r1 := begin("c1", "T1", "2001", "13800138000")
	r2 := begin("c2", "T2", "2002", "13800138000")
	r3 := begin("c3", "T2", "2001", "13800138001")
	ids := func(rs []Recording) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want string
	}{
		{"all, newest first", Filter{}, strings.Join([]string{r3, r2, r1}, ",")},
		{"ticket", Filter{Ticket: "T2"}, r3 + "," + r2},
		{"phone", Filter{Phone: "13800138000"}, r2 + "," + r1},
		{"agent", Filter{Agent: "2001"}, r3 + "," + r1},
		{"agent and ticket", Filter{Agent: "2001", Ticket: "T2"}, r3},
		{"since", Filter{Since: t0.Add(time.Minute)}, r3 + "," + r2},
		{"call", Filter{Call: "c1"}, r1},
		{"limit", Filter{Limit: 1}, r3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.f)
			if err != nil || ids(got) != tc.want {
				t.Fatalf("got %s %v, want %s", ids(got), err, tc.want)
			}
		})
	}
	for _, id := range []string{"../../etc/passwd", "a/b", "", "nope"} {
		if _, _, err := s.Open(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("open %q: %v", id, err)
		}
	}
	// A file an operator moved away: the index stays, the file is not found.
	if err := os.Remove(filepath.Join(s.Dir(), r1+".wav")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, r1); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "archived") {
		t.Fatalf("moved file: %v", err)
	}
}

// The retention acts: the sweep deletes what is older, file and index, one
// replica at a time, and leaves the rest.
func TestSweep(t *testing.T) {
	s, sw, rdb, clk := newStore(t, policy.Recordings{AgentCalls: true, Retention: 2 * 24 * time.Hour})
	ctx := context.Background()
	var ids []string
	for _, call := range []string{"old1", "old2", "new"} {
		if call == "new" {
			clk.Add(24 * time.Hour)
		}
		a, err := s.Begin(ctx, sw, "br-"+call, Recording{CallID: call, Agent: "2001", TicketID: "T1"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.Info.ID)
	}
	_ = os.Remove(filepath.Join(s.Dir(), ids[1]+".wav")) // archived by an operator
	clk.Add(24*time.Hour + time.Second)                  // old ones: 2 days and a second; new: 1 day
	if n, err := s.Sweep(ctx, "other", time.Minute); err != nil || n != 2 {
		t.Fatalf("swept %d, %v", n, err)
	}
	if n, err := s.Sweep(ctx, "r2", time.Minute); err != nil || n != 0 {
		t.Fatalf("a second replica swept %d, %v while the lease is held", n, err)
	}
	for _, id := range ids[:2] {
		if _, err := os.Stat(filepath.Join(s.Dir(), id+".wav")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: file left: %v", id, err)
		}
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: index left: %v", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), ids[2]+".wav")); err != nil {
		t.Errorf("the new recording's file is gone: %v", err)
	}
	got, _ := s.List(ctx, Filter{Ticket: "T1"})
	if len(got) != 1 || got[0].ID != ids[2] {
		t.Fatalf("ticket index %v", got)
	}
	if n := rdb.ZCard(ctx, "t:recordings:agent:2001").Val(); n != 1 {
		t.Fatalf("agent index holds %d", n)
	}
}

func TestName(t *testing.T) {
	at := time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC) // 10:30 China time
	for _, tc := range []struct {
		call    string
		attempt int
		want    string
	}{
		{"1795345960.0", 0, "20261122-103000-1795345960.0"},
		{"cb-20261122/x y", 0, "20261122-103000-cb-20261122_x_y"},
		{"1795345960.0", 2, "20261122-103000-1795345960.0-2"},
	} {
		if got := Name(tc.call, at, tc.attempt); got != tc.want || !validID(got) {
			t.Errorf("Name(%q) = %q, want %q", tc.call, got, tc.want)
		}
	}
}
