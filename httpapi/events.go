package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hotline95598/hotline/agents"
)

// AgentEvents streams agent state changes and screen pops (agents.Feed).
type AgentEvents interface {
	Subscribe(ctx context.Context, agent, after string) (*agents.Sub, error)
	Unsubscribe(s *agents.Sub)
}

// sseHeartbeat: a comment line this often keeps proxies and load balancers
// from closing a quiet stream, and notices a client that went away.
var sseHeartbeat = 15 * time.Second

// agentEventRoutes serves the agent event streams and supervisor monitoring.
// A desk (an agent token) may follow its own agent only; every agent's
// events and monitoring are for supervisors.
func (d Deps) agentEventRoutes(rt *Router) {
	if d.Events != nil {
		rt.Handle("GET /api/v1/agents/events", Supervisor, d.agentEvents)
		rt.Handle("GET /api/v1/agents/{id}/events", AgentSelf, d.agentEvents)
	}
	if d.Monitor != nil {
		rt.Handle("POST /api/v1/agents/{id}/monitor", Supervisor, d.monitor)
	}
}

// agentEvents streams one agent's events (or every agent's, for a
// supervisor) as server-sent events: "event: state|screen_pop", "id: <stream
// id>", "data: <json>". A client reconnecting with Last-Event-ID (browsers'
// EventSource does it by itself) first gets what it missed.
func (d Deps) agentEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	agent := r.PathValue("id")
	if agent != "" {
		if _, err := d.Agents.Get(ctx, agent); err != nil {
			d.storeError(w, r, err)
			return
		}
	}
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("last_event_id") // for clients that cannot set headers
	}
	if after != "" && !agents.ValidEventID(after) {
		writeError(w, http.StatusBadRequest, "Last-Event-ID must be an event id from this stream, e.g. 1732262400000-0")
		return
	}
	sub, err := d.Events.Subscribe(ctx, agent, after)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	defer d.Events.Unsubscribe(sub)

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	_ = rc.SetWriteDeadline(time.Time{}) // the stream has no end
	write := func(s string) error {
		if _, err := w.Write([]byte(s)); err != nil {
			return err
		}
		return rc.Flush()
	}
	send := func(ev agents.Event) error {
		var data bytes.Buffer
		if err := json.Compact(&data, ev.Data); err != nil {
			data.Reset()
			data.WriteString("null")
		}
		return write(fmt.Sprintf("event: %s\nid: %s\ndata: %s\n\n", ev.Type, ev.ID, data.Bytes()))
	}
	if err := write("retry: 2000\n\n"); err != nil {
		return
	}
	for _, ev := range sub.Backlog() {
		if err := send(ev); err != nil {
			return
		}
	}
	ping := time.NewTicker(sseHeartbeat)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C():
			if !ok {
				// Cut off for falling behind: the client reconnects with
				// its Last-Event-ID and loses nothing.
				return
			}
			if sub.Fresh(ev) {
				err = send(ev)
			}
		case <-ping.C:
			err = write(": ping\n\n")
		}
		if err != nil {
			return
		}
	}
}
