package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/supervise"
	"github.com/rs/zerolog"
)

// sseMsg is one server-sent event, or a comment (Comment set).
type sseMsg struct {
	Event, ID, Data, Comment string
}

// openStream opens an event stream and returns its messages.
func openStream(t *testing.T, e *env, path, lastID string) (*http.Response, <-chan sseMsg) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan sseMsg, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m != (sseMsg{}) {
					out <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, ":"):
				out <- sseMsg{Comment: strings.TrimSpace(line[1:])}
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "event":
					m.Event = v
				case "id":
					m.ID = v
				case "data":
					m.Data = v
				}
			}
		}
	}()
	return resp, out
}

// next returns the next event (skipping comments and the retry line).
func next(t *testing.T, c <-chan sseMsg, within time.Duration) (sseMsg, bool) {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-c:
			if !ok {
				return sseMsg{}, false
			}
			if m.Event != "" {
				return m, true
			}
		case <-timer.C:
			return sseMsg{}, false
		}
	}
}

func eventsEnv(t *testing.T) (*env, *agents.Registry) {
	var reg *agents.Registry
	e := newEnvWith(t, func(d *Deps) {
		reg = d.Agents.(*agents.Registry)
		f := agents.NewFeed(reg, zerolog.Nop())
		f.Block = 100 * time.Millisecond
		d.Events = f
	})
	return e, reg
}

func TestAgentEventStream(t *testing.T) {
	e, reg := eventsEnv(t)
	ctx := context.Background()
	resp, one := openStream(t, e, "/api/v1/agents/1001/events", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, all := openStream(t, e, "/api/v1/agents/events", "")
	_ = reg.Publish(ctx, "1002", agents.EventState, map[string]string{"id": "1002", "state": "paused"})
	_ = reg.Publish(ctx, "1001", agents.EventScreenPop, map[string]any{"agent": "1001", "phone": "13800138000", "menu_path": "3"})
	m, ok := next(t, one, 3*time.Second)
	if !ok || m.Event != "screen_pop" || m.ID == "" || m.Data != `{"agent":"1001","menu_path":"3","phone":"13800138000"}` {
		t.Fatalf("1001's stream: %+v %v", m, ok)
	}
	for _, want := range []string{`"1002"`, `"1001"`} {
		if m, ok := next(t, all, 3*time.Second); !ok || !strings.Contains(m.Data, want) {
			t.Fatalf("supervisor stream: %+v %v, want %s", m, ok, want)
		}
	}
	// 1002's event, published before this one, never reached 1001's stream:
	// the next event there is 1001's own.
	_ = reg.Publish(ctx, "1001", agents.EventState, map[string]string{"id": "1001", "state": "wrap_up"})
	if m, ok := next(t, one, 3*time.Second); !ok || !strings.Contains(m.Data, `"wrap_up"`) {
		t.Fatalf("1001's stream: %+v %v, want its own wrap_up, not another agent's event", m, ok)
	}
}

// A client reconnecting with Last-Event-ID gets what it missed, then live.
func TestAgentEventStreamResumes(t *testing.T) {
	e, reg := eventsEnv(t)
	ctx := context.Background()
	for _, st := range []string{"available", "ringing", "on_call"} {
		_ = reg.Publish(ctx, "1001", agents.EventState, map[string]string{"state": st})
	}
	evs, _ := reg.Tail(ctx, "1001", "0", 0)
	_, c := openStream(t, e, "/api/v1/agents/1001/events", evs[0].ID)
	for _, want := range []string{"ringing", "on_call"} {
		if m, ok := next(t, c, 3*time.Second); !ok || !strings.Contains(m.Data, want) {
			t.Fatalf("resumed stream: %+v %v, want %s", m, ok, want)
		}
	}
	_ = reg.Publish(ctx, "1001", agents.EventState, map[string]string{"state": "wrap_up"})
	if m, ok := next(t, c, 3*time.Second); !ok || !strings.Contains(m.Data, "wrap_up") {
		t.Fatalf("live after resume: %+v %v", m, ok)
	}
}

func TestAgentEventStreamHeartbeat(t *testing.T) {
	old := sseHeartbeat
	sseHeartbeat = 50 * time.Millisecond
	t.Cleanup(func() { sseHeartbeat = old })
	e, _ := eventsEnv(t)
	_, c := openStream(t, e, "/api/v1/agents/1001/events", "")
	deadline := time.After(3 * time.Second)
	for {
		select {
		case m := <-c:
			if m.Comment == "ping" {
				return
			}
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}
}

func TestAgentEventStreamRefusals(t *testing.T) {
	e, _ := eventsEnv(t)
	for _, tc := range []struct {
		path, lastID string
		auth         bool
		want         int
	}{
		{"/api/v1/agents/9999/events", "", true, 404},
		{"/api/v1/agents/1001/events", "not-an-id", true, 400},
		{"/api/v1/agents/1001/events", "", false, 401},
		{"/api/v1/agents/events", "", false, 401},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+tc.path, nil)
			if tc.auth {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

type fakeMonitor struct {
	got supervise.MonitorRequest
	err error
}

func (f *fakeMonitor) Start(ctx context.Context, req supervise.MonitorRequest) (supervise.MonitorInfo, error) {
	f.got = req
	if f.err != nil {
		return supervise.MonitorInfo{}, f.err
	}
	return supervise.MonitorInfo{ID: "c1-agent-sup1", Agent: req.Agent, Supervisor: req.Supervisor, Mode: req.Mode, CallID: "c1", State: "ringing"}, nil
}

func TestMonitorRoute(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		err        error
		want       int
	}{
		{"listen", `{"mode":"listen","supervisor":"2003"}`, nil, 202},
		{"missing supervisor", `{"mode":"listen"}`, nil, 400},
		{"unknown field", `{"mode":"listen","supervisor":"2003","x":1}`, nil, 400},
		{"bad mode", `{"mode":"spy","supervisor":"2003"}`, fmt.Errorf("x: %w", supervise.ErrBadMonitor), 400},
		{"not on call", `{"mode":"barge","supervisor":"2003"}`, fmt.Errorf("x: %w", supervise.ErrNotOnCall), 409},
		{"supervisor offline", `{"mode":"barge","supervisor":"2003"}`, fmt.Errorf("x: %w", supervise.ErrSupervisorOffline), 409},
		{"unknown agent", `{"mode":"barge","supervisor":"2003"}`, fmt.Errorf("x: %w", agents.ErrUnknownAgent), 404},
		{"switch down", `{"mode":"barge","supervisor":"2003"}`, fmt.Errorf("ari: connection refused"), 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fm := &fakeMonitor{err: tc.err}
			e := newEnvWith(t, func(d *Deps) { d.Monitor = fm })
			code, body := e.do(t, "POST", "/api/v1/agents/1001/monitor", tc.body, true)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %v", code, tc.want, body)
			}
			if code == 202 && (fm.got.Agent != "1001" || fm.got.Supervisor != "2003" || body["call_id"] != "c1") {
				t.Fatalf("request %+v, reply %v", fm.got, body)
			}
		})
	}
}
