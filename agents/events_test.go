package agents

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

func eventsRegistry(t *testing.T) (*Registry, *redis.Client) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	return NewRegistry(rdb, "t:", nil), rdb
}

type popData struct {
	Agent string `json:"agent"`
	Phone string `json:"phone"`
}

func TestPublishAndTail(t *testing.T) {
	reg, rdb := eventsRegistry(t)
	ctx := context.Background()
	if reg.EventsKey() != "t:agents:events" {
		t.Fatalf("key %q", reg.EventsKey())
	}
	if err := reg.Publish(ctx, "2001", EventScreenPop, popData{Agent: "2001", Phone: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Publish(ctx, "2002", EventState, map[string]string{"id": "2002", "state": "ringing"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		agent string
		want  []string // types
	}{
		{"2001", []string{EventScreenPop}},
		{"2002", []string{EventState}},
		{"", []string{EventScreenPop, EventState}},
		{"2999", nil},
	} {
		t.Run("agent="+tc.agent, func(t *testing.T) {
			evs, err := reg.Tail(ctx, tc.agent, "0", 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range evs {
				got = append(got, ev.Type)
				if tc.agent != "" && ev.Agent != tc.agent {
					t.Errorf("event of %s in %s's tail", ev.Agent, tc.agent)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("types %v, want %v", got, tc.want)
			}
		})
	}
	evs, _ := reg.Tail(ctx, "2001", "0", 0)
	var p popData
	if err := json.Unmarshal(evs[0].Data, &p); err != nil || p.Phone != "13800138000" {
		t.Fatalf("data %s: %v", evs[0].Data, err)
	}
	// The stream is trimmed approximately to EventsMaxLen.
	info, err := rdb.XInfoStream(ctx, reg.EventsKey()).Result()
	if err != nil || info.Length != 2 {
		t.Fatalf("stream %+v %v", info, err)
	}
}

func TestTailBlocksForNewEventsOnly(t *testing.T) {
	reg, _ := eventsRegistry(t)
	ctx := context.Background()
	_ = reg.Publish(ctx, "2001", EventState, map[string]string{"state": "available"})
	// "$": the old event is not returned; the wait ends with nothing.
	start := time.Now()
	evs, err := reg.Tail(ctx, "2001", "$", 200*time.Millisecond)
	if err != nil || len(evs) != 0 {
		t.Fatalf("got %v %v", evs, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("returned after %s without waiting", d)
	}
	// An event of another agent does not end one agent's wait; theirs does.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = reg.Publish(ctx, "2002", EventState, map[string]string{"state": "paused"})
		time.Sleep(50 * time.Millisecond)
		_ = reg.Publish(ctx, "2001", EventState, map[string]string{"state": "ringing"})
	}()
	evs, cursor, err := reg.ReadEvents(ctx, "2001", "$", 3*time.Second)
	if err != nil || len(evs) != 1 || evs[0].Agent != "2001" || cursor != evs[0].ID {
		t.Fatalf("got %+v cursor %s %v", evs, cursor, err)
	}
}

func TestTrimmedToMaxLen(t *testing.T) {
	reg, rdb := eventsRegistry(t)
	ctx := context.Background()
	for i := 0; i < EventsMaxLen+500; i += 500 {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := 0; j < 500; j++ {
				p.XAdd(ctx, &redis.XAddArgs{Stream: reg.EventsKey(), Values: []any{"agent", "x", "type", "state", "data", "{}"}})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Publish(ctx, "2001", EventState, struct{}{}); err != nil {
		t.Fatal(err)
	}
	n, _ := rdb.XLen(ctx, reg.EventsKey()).Result()
	if n > EventsMaxLen+200 || n < EventsMaxLen {
		t.Fatalf("stream length %d, want about %d", n, EventsMaxLen)
	}
}

func TestValidEventID(t *testing.T) {
	for s, want := range map[string]bool{"1732262400000-0": true, "1732262400000": true, "0-0": true,
		"": false, "$": false, "abc": false, "1-": false, "-1": false, "1-2-3": false, "1\n-2": false} {
		if got := ValidEventID(s); got != want {
			t.Errorf("ValidEventID(%q) = %v", s, got)
		}
	}
}

func recv(t *testing.T, s *Sub, within time.Duration) (Event, bool) {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.C():
			if !ok {
				return Event{}, false
			}
			if s.Fresh(ev) {
				return ev, true
			}
		case <-timer.C:
			return Event{}, false
		}
	}
}

// Listeners get their agent's live events; one reader serves them all.
func TestFeedFansOut(t *testing.T) {
	reg, _ := eventsRegistry(t)
	ctx := context.Background()
	f := NewFeed(reg, zerolog.Nop())
	f.Block = 100 * time.Millisecond
	one, err := f.Subscribe(ctx, "2001", "")
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.Subscribe(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_ = reg.Publish(ctx, "2002", EventState, map[string]string{"state": "paused"})
	_ = reg.Publish(ctx, "2001", EventScreenPop, map[string]string{"phone": "13800138000"})
	if ev, ok := recv(t, one, 3*time.Second); !ok || ev.Type != EventScreenPop || ev.Agent != "2001" {
		t.Fatalf("2001's listener got %+v %v", ev, ok)
	}
	for _, want := range []string{"2002", "2001"} {
		if ev, ok := recv(t, all, 3*time.Second); !ok || ev.Agent != want {
			t.Fatalf("supervisor listener got %+v %v, want %s", ev, ok, want)
		}
	}
	f.Unsubscribe(one)
	f.Unsubscribe(one) // harmless
	f.Unsubscribe(all)
	// With nobody listening the reader stops.
	deadline := time.Now().Add(2 * time.Second)
	for {
		f.mu.Lock()
		running := f.running
		f.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("feed reader still running with no listener")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A listener resuming from its last event id gets what it missed first,
// each event once, then live events.
func TestFeedResumes(t *testing.T) {
	reg, _ := eventsRegistry(t)
	ctx := context.Background()
	_ = reg.Publish(ctx, "2001", EventState, map[string]string{"state": "available"})
	seen, _ := reg.Tail(ctx, "2001", "0", 0)
	_ = reg.Publish(ctx, "2001", EventState, map[string]string{"state": "ringing"})
	_ = reg.Publish(ctx, "2002", EventState, map[string]string{"state": "ringing"})
	_ = reg.Publish(ctx, "2001", EventScreenPop, map[string]string{"phone": "1"})
	f := NewFeed(reg, zerolog.Nop())
	f.Block = 100 * time.Millisecond
	s, err := f.Subscribe(ctx, "2001", seen[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Unsubscribe(s)
	var got []string
	for _, ev := range s.Backlog() {
		got = append(got, ev.Type)
	}
	if fmt.Sprint(got) != "[state screen_pop]" {
		t.Fatalf("backlog %v", got)
	}
	_ = reg.Publish(ctx, "2001", EventState, map[string]string{"state": "on_call"})
	ev, ok := recv(t, s, 3*time.Second)
	if !ok || ev.Type != EventState || string(ev.Data) != `{"state":"on_call"}` {
		t.Fatalf("live %+v %v", ev, ok)
	}
	if ev, ok := recv(t, s, 300*time.Millisecond); ok {
		t.Fatalf("repeated or extra event %+v", ev)
	}
}

// A listener that stops reading is cut off instead of holding up the rest.
func TestFeedCutsOffSlowListener(t *testing.T) {
	reg, _ := eventsRegistry(t)
	ctx := context.Background()
	f := NewFeed(reg, zerolog.Nop())
	f.Block, f.Buffer = 100*time.Millisecond, 2
	slow, _ := f.Subscribe(ctx, "", "")
	fast, _ := f.Subscribe(ctx, "", "")
	defer f.Unsubscribe(fast)
	for i := 0; i < 5; i++ {
		_ = reg.Publish(ctx, "2001", EventState, map[string]int{"n": i})
		if _, ok := recv(t, fast, 3*time.Second); !ok {
			t.Fatalf("fast listener missed event %d", i)
		}
	}
	n := 0
	for range slow.C() { // closed once cut off
		n++
	}
	if n != 2 {
		t.Fatalf("slow listener got %d events before being cut off, want its buffer (2)", n)
	}
}
