package wallboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// fakeSource serves whatever snapshot the test sets.
type fakeSource struct {
	mu    sync.Mutex
	snap  Snapshot
	err   error
	calls int
}

func (f *fakeSource) Snapshot(ctx context.Context) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	s := f.snap
	s.At = time.Now() // like the real source: every poll is a new moment
	s.Queues = append([]Queue(nil), f.snap.Queues...)
	return s, f.err
}

func (f *fakeSource) set(fn func(s *Snapshot)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.snap)
}

func (f *fakeSource) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func newFake() *fakeSource {
	return &fakeSource{snap: Snapshot{
		Queues: []Queue{{Name: "general"}},
		Agents: map[string]int{"available": 2, "on_call": 1},
	}}
}

type event struct {
	name, data string
	at         time.Time
}

// stream opens /events and delivers its events (and ": ping" comments, as
// name "ping") on a channel until the returned cancel is called.
func stream(t *testing.T, base string) (<-chan event, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
	ch := make(chan event, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					if ev.name == "" {
						ev.name = "message"
					}
					ev.at = time.Now()
					ch <- ev
				}
				ev = event{}
			case line == ": ping":
				ch <- event{name: "ping", at: time.Now()}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(cancel)
	return ch, cancel
}

func next(t *testing.T, ch <-chan event, within time.Duration) event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
	}
	return event{}
}

func decode(t *testing.T, ev event) Snapshot {
	t.Helper()
	if ev.name != "snapshot" {
		t.Fatalf("event %q (%s), want snapshot", ev.name, ev.data)
	}
	var s Snapshot
	if err := json.Unmarshal([]byte(ev.data), &s); err != nil {
		t.Fatalf("snapshot %q: %v", ev.data, err)
	}
	return s
}

func server(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// sseRecorder is the ResponseWriter of an in-memory /events request: each
// complete event (or ": ping" comment) it is written goes to ch, stamped
// with the (bubble's) time it was flushed. Inside a synctest bubble the
// stream's timers then run on the fake clock, without a network.
type sseRecorder struct {
	hdr     http.Header
	pending strings.Builder
	ch      chan event
}

func (r *sseRecorder) Header() http.Header { return r.hdr }
func (r *sseRecorder) WriteHeader(int)     {}
func (r *sseRecorder) Flush()              {}

func (r *sseRecorder) Write(p []byte) (int, error) {
	r.pending.Write(p)
	for {
		text := r.pending.String()
		block, rest, ok := strings.Cut(text, "\n\n")
		if !ok {
			return len(p), nil
		}
		r.pending.Reset()
		r.pending.WriteString(rest)
		var ev event
		for _, line := range strings.Split(block, "\n") {
			switch {
			case line == ": ping":
				ev.name = "ping"
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
		if ev.name == "" && ev.data == "" {
			continue // the retry line
		}
		if ev.name == "" {
			ev.name = "message"
		}
		ev.at = time.Now()
		r.ch <- ev
	}
}

// serveEvents runs GET /events of h in memory until cancel is called (or
// the test ends); ch closes when the handler has returned.
func serveEvents(t *testing.T, h http.Handler) (<-chan event, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	rec := &sseRecorder{hdr: http.Header{}, ch: make(chan event, 1000)}
	req := httptest.NewRequestWithContext(ctx, "GET", "/events", nil)
	go func() {
		defer close(rec.ch)
		h.ServeHTTP(rec, req)
	}()
	return rec.ch, cancel
}

// The stream's timers run on synctest's fake clock: every wait below
// takes no real time, and "within" means within, not "about".

func TestFirstEventAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFake()
		start := time.Now()
		ch, _ := serveEvents(t, Handler(src, time.Hour, zerolog.Nop()))
		ev := next(t, ch, time.Second)
		if d := ev.at.Sub(start); d != 0 {
			t.Fatalf("first snapshot after %s, want at once", d)
		}
		s := decode(t, ev)
		if len(s.Queues) != 1 || s.Queues[0].Name != "general" || s.Agents["available"] != 2 || s.Agents["paused"] != 0 {
			t.Fatalf("snapshot %+v", s)
		}
		if s.At.IsZero() {
			t.Fatal("snapshot without time")
		}
	})
}

func TestChangeIsPushedWithinInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 50 * time.Millisecond
		src := newFake()
		ch, _ := serveEvents(t, Handler(src, every, zerolog.Nop()))
		decode(t, next(t, ch, time.Second))
		// pushed makes a change between two polls and returns the snapshot
		// sent for it, failing unless it was sent within one interval.
		pushed := func(change func(s *Snapshot)) Snapshot {
			t.Helper()
			time.Sleep(every / 3)
			changed := time.Now()
			src.set(change)
			ev := next(t, ch, 2*every)
			if d := ev.at.Sub(changed); d > every {
				t.Fatalf("change pushed after %s, want within %s", d, every)
			}
			return decode(t, ev)
		}
		for i := int64(1); i <= 3; i++ {
			if s := pushed(func(s *Snapshot) { s.Queues[0].Waiting = i; s.Queues[0].Offered = i }); s.Queues[0].Waiting != i {
				t.Fatalf("waiting %d, want %d", s.Queues[0].Waiting, i)
			}
		}
		if s := pushed(func(s *Snapshot) { s.CallbacksOverdue = 4 }); s.CallbacksOverdue != 4 {
			t.Fatalf("callbacks overdue %d", s.CallbacksOverdue)
		}
		if s := pushed(func(s *Snapshot) { s.Agents = map[string]int{"available": 1, "on_call": 2} }); s.Agents["on_call"] != 2 {
			t.Fatalf("agents %v", s.Agents)
		}
	})
}

func TestUnchangedSnapshotIsNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFake()
		ch, _ := serveEvents(t, Handler(src, 10*time.Millisecond, zerolog.Nop()))
		decode(t, next(t, ch, time.Second))
		// The time changes on every poll, and the longest wait creeps up
		// within the second: neither is a change the page needs pushed.
		src.set(func(s *Snapshot) { s.Queues[0].LongestWaitSeconds = 3.1 })
		ev := next(t, ch, time.Second) // 0 → 3 s is a change
		if s := decode(t, ev); s.Queues[0].LongestWaitSeconds != 3.1 {
			t.Fatalf("longest wait %v", s.Queues[0].LongestWaitSeconds)
		}
		src.mu.Lock()
		before := src.calls
		src.mu.Unlock()
		src.set(func(s *Snapshot) { s.Queues[0].LongestWaitSeconds = 3.8 })
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		select {
		case ev := <-ch:
			t.Fatalf("unchanged snapshot re-sent: %s %s", ev.name, ev.data)
		default:
		}
		src.mu.Lock()
		calls := src.calls - before
		src.mu.Unlock()
		if calls != 30 {
			t.Fatalf("source polled %d times in 300 ms at 10 ms, want 30", calls)
		}
	})
}

func TestHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFake()
		h := newHandler(src, time.Hour, zerolog.Nop())
		h.heartbeat = 30 * time.Second
		ch, _ := serveEvents(t, h)
		start := time.Now()
		decode(t, next(t, ch, time.Second))
		for i := 1; i <= 2; i++ {
			ev := next(t, ch, time.Minute)
			if ev.name != "ping" || ev.at.Sub(start) != time.Duration(i)*h.heartbeat {
				t.Fatalf("got %q after %s, want ping #%d after %s", ev.name, ev.at.Sub(start), i, time.Duration(i)*h.heartbeat)
			}
		}
		if defaultHeartbeat != 15*time.Second {
			t.Fatalf("heartbeat %s", defaultHeartbeat)
		}
	})
}

func TestSourceErrorsDoNotEndTheStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFake()
		src.fail(errors.New("dial tcp 10.0.0.7:6379: connection refused"))
		ch, _ := serveEvents(t, Handler(src, 10*time.Millisecond, zerolog.Nop()))
		ev := next(t, ch, time.Second)
		if ev.name != "error" {
			t.Fatalf("event %q, want error", ev.name)
		}
		if strings.Contains(ev.data, "10.0.0.7") {
			t.Fatalf("error event leaks the cause: %s", ev.data)
		}
		// Reported once, not on every poll.
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		select {
		case ev := <-ch:
			t.Fatalf("repeated: %s %s", ev.name, ev.data)
		default:
		}
		src.fail(nil)
		decode(t, next(t, ch, time.Second))
		// An error in between makes the same snapshot be sent again, so the
		// page leaves its error state.
		src.fail(errors.New("boom"))
		if ev := next(t, ch, time.Second); ev.name != "error" {
			t.Fatalf("event %q", ev.name)
		}
		src.fail(nil)
		decode(t, next(t, ch, time.Second))
	})
}

// A client that goes away ends the handler and everything it started: the
// bubble fails the test if a goroutine is left behind.
func TestClientDisconnectEndsHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := Handler(newFake(), 10*time.Millisecond, zerolog.Nop())
		for range 3 {
			ch, cancel := serveEvents(t, h)
			decode(t, next(t, ch, time.Second))
			cancel()
			synctest.Wait()
			for range ch { // closed: the handler returned
			}
		}
	})
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func TestPage(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/wallboard/", http.StripPrefix("/wallboard", Handler(newFake(), time.Hour, zerolog.Nop())))
	srv := server(t, mux)
	resp, body := get(t, srv.URL+"/wallboard/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"new EventSource('events')", "addEventListener('snapshot'", "data-state=\"connecting\"",
		"排队等待", "Callers waiting", "20秒服务水平", "坐席状态", "回拨"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Self-contained, and nothing from the stream is ever parsed as HTML.
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "http://", "https://", "src=", "<link"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	// The page's relative "events" resolves under the mount point.
	ch, _ := stream(t, srv.URL+"/wallboard")
	decode(t, next(t, ch, time.Second))
	if resp, _ := get(t, srv.URL+"/wallboard/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

func TestSnapshotJSON(t *testing.T) {
	src := newFake()
	src.set(func(s *Snapshot) {
		s.Queues = append(s.Queues, Queue{Name: "vip", Waiting: 2, LongestWaitSeconds: 41.5, Offered: 10, Answered: 7, AnsweredSL: 6, Abandoned: 1})
		s.CallbacksPending = 3
	})
	srv := server(t, Handler(src, time.Hour, zerolog.Nop()))
	resp, body := get(t, srv.URL+"/snapshot.json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var raw struct {
		At     time.Time
		Queues []map[string]any
		Agents map[string]int
		CP     int64  `json:"callbacks_pending"`
		CO     *int64 `json:"callbacks_overdue"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Queues) != 2 || raw.CP != 3 || raw.CO == nil || raw.At.IsZero() {
		t.Fatalf("%s", body)
	}
	if sl, ok := raw.Queues[0]["service_level"]; !ok || sl != nil {
		t.Errorf("no traffic: service_level %v (present %v), want null", sl, ok)
	}
	if sl := raw.Queues[1]["service_level"]; sl != 0.75 {
		t.Errorf("service_level %v, want 0.75", sl)
	}
	for _, k := range []string{"name", "waiting", "longest_wait_seconds", "offered", "answered", "answered_sl", "abandoned"} {
		if _, ok := raw.Queues[1][k]; !ok {
			t.Errorf("queue JSON lacks %q: %s", k, body)
		}
	}
	for _, st := range AgentStates {
		if _, ok := raw.Agents[st]; !ok {
			t.Errorf("agents lack %q: %v", st, raw.Agents)
		}
	}
	if strings.Contains(body, "NaN") {
		t.Error(body)
	}

	src.fail(errors.New("redis: connection refused 10.0.0.7"))
	resp, body = get(t, srv.URL+"/snapshot.json")
	if resp.StatusCode != 503 || strings.Contains(body, "10.0.0.7") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestServiceLevel(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		q    Queue
		want *float64
	}{
		{Queue{}, nil},
		{Queue{Offered: 3}, nil}, // all still waiting: nothing finished
		{Queue{Answered: 4, AnsweredSL: 4}, f(1)},
		{Queue{Answered: 3, AnsweredSL: 2, Abandoned: 1}, f(0.5)},
		{Queue{Abandoned: 5}, f(0)},
	} {
		got := c.q.ServiceLevel()
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%+v: got %v, want %v", c.q, deref(got), deref(c.want))
		}
		raw, err := json.Marshal(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if c.want == nil && !strings.Contains(string(raw), `"service_level":null`) {
			t.Errorf("%s", raw)
		}
		var back Queue
		if err := json.Unmarshal(raw, &back); err != nil || back != c.q {
			t.Errorf("round trip %s: %+v %v", raw, back, err)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestNormalize(t *testing.T) {
	s := normalize(Snapshot{Queues: []Queue{{Name: "general", LongestWaitSeconds: -1}}})
	if s.Queues[0].LongestWaitSeconds != 0 || len(s.Agents) != len(AgentStates) {
		t.Fatalf("%+v", s)
	}
	raw, err := json.Marshal(normalize(Snapshot{}))
	if err != nil || !strings.Contains(string(raw), `"queues":[]`) {
		t.Fatalf("%s %v", raw, err)
	}
}
