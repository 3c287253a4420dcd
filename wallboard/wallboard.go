// Package wallboard is the hotline's built-in live wallboard: a page for the
// supervisors' wall TV that works where no Grafana runs, fed by server-sent
// events from the controller.
//
// The wallboard shows aggregate numbers only — callers waiting, service
// level, today's counts, agents by state, callbacks due — and never a phone
// number, account or name. It therefore needs no token and is served without
// one, so a TV browser can simply open it. Keep it that way: anything that
// identifies a customer belongs in the token-protected API, not here.
package wallboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Queue is one call queue's figures.
type Queue struct {
	Name               string  `json:"name"`
	Waiting            int64   `json:"waiting"`              // callers waiting now
	LongestWaitSeconds float64 `json:"longest_wait_seconds"` // of the longest-waiting caller now
	// Today's counts (China day).
	Offered    int64 `json:"offered"`
	Answered   int64 `json:"answered"`
	AnsweredSL int64 `json:"answered_sl"` // answered within the policy's service level (20 s by default)
	Abandoned  int64 `json:"abandoned"`
}

// ServiceLevel is the share of today's finished queue calls answered within
// the policy's service_level.within (20 s by default): AnsweredSL / (Answered + Abandoned), from 0 to 1. It is nil when
// there was no such call yet, so no NaN ever reaches the page.
func (q Queue) ServiceLevel() *float64 {
	n := q.Answered + q.Abandoned
	if n <= 0 {
		return nil
	}
	sl := float64(q.AnsweredSL) / float64(n)
	sl = math.Max(0, math.Min(1, sl))
	return &sl
}

// MarshalJSON adds "service_level" (a number from 0 to 1, or null).
func (q Queue) MarshalJSON() ([]byte, error) {
	type plain Queue
	return json.Marshal(struct {
		plain
		ServiceLevel *float64 `json:"service_level"`
	}{plain(q), q.ServiceLevel()})
}

// Agent states, as counted in Snapshot.Agents.
var AgentStates = []string{"logged_out", "available", "ringing", "on_call", "paused"}

// Snapshot is everything the wallboard shows at one moment.
type Snapshot struct {
	At               time.Time      `json:"at"`
	Queues           []Queue        `json:"queues"`
	Agents           map[string]int `json:"agents"` // state → count (see AgentStates)
	CallbacksPending int64          `json:"callbacks_pending"`
	CallbacksOverdue int64          `json:"callbacks_overdue"`
	// From the call records and the agents' event stream (WithStats):
	// today's and the current interval's queue calls, every agent's day.
	Today       *Span        `json:"today,omitempty"`
	Interval    *Span        `json:"interval,omitempty"`
	AgentsToday []AgentToday `json:"agents_today,omitempty"`
}

// Source gives the current snapshot (the controller builds it from Redis,
// so every replica shows the whole hotline).
type Source interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// normalize makes a snapshot safe and complete to send: every agent state
// present, no nil slices, no NaN or negative waits.
func normalize(s Snapshot) Snapshot {
	out := s
	out.Queues = make([]Queue, len(s.Queues))
	for i, q := range s.Queues {
		if math.IsNaN(q.LongestWaitSeconds) || math.IsInf(q.LongestWaitSeconds, 0) || q.LongestWaitSeconds < 0 {
			q.LongestWaitSeconds = 0
		}
		out.Queues[i] = q
	}
	out.Agents = make(map[string]int, len(AgentStates)+len(s.Agents))
	for _, st := range AgentStates {
		out.Agents[st] = 0
	}
	for st, n := range s.Agents {
		out.Agents[st] = n
	}
	return out
}

// fingerprint identifies what the page would show: the time of the snapshot
// and sub-second changes of the longest wait (the page counts that up by
// itself) do not make a new event.
func fingerprint(s Snapshot) ([]byte, error) {
	s.At = time.Time{}
	qs := make([]Queue, len(s.Queues))
	for i, q := range s.Queues {
		q.LongestWaitSeconds = math.Floor(q.LongestWaitSeconds)
		qs[i] = q
	}
	s.Queues = qs
	return json.Marshal(s)
}

//go:embed index.html
var page []byte

// pageCSP allows exactly the page's own inline script and style, and the
// event stream from the same origin; nothing else loads.
var pageCSP = func() string {
	hashes := func(tag string) string {
		re := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`)
		var out []string
		for _, m := range re.FindAllSubmatch(page, -1) {
			sum := sha256.Sum256(m[1])
			out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return strings.Join(out, " ")
	}
	return "default-src 'none'; script-src " + hashes("script") + "; style-src " + hashes("style") +
		"; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
}()

const (
	defaultEvery     = time.Second
	defaultHeartbeat = 15 * time.Second
	sourceTimeout    = 5 * time.Second
)

type handler struct {
	src       Source
	every     time.Duration
	heartbeat time.Duration
	log       zerolog.Logger
	mux       *http.ServeMux
}

// Handler serves the wallboard relative to where it is mounted (the
// controller mounts it at /wallboard/ with http.StripPrefix("/wallboard")):
//
//	GET /               the page (self-contained: no external assets)
//	GET /events         server-sent events: "snapshot" at once, then every
//	                    time it changes (src is polled every `every`);
//	                    "error" when src fails; a ": ping" comment every 15 s
//	GET /snapshot.json  the current snapshot
//
// It needs no token: see the package comment.
func Handler(src Source, every time.Duration, log zerolog.Logger) http.Handler {
	return newHandler(src, every, log)
}

func newHandler(src Source, every time.Duration, log zerolog.Logger) *handler {
	if every <= 0 {
		every = defaultEvery
	}
	h := &handler{src: src, every: every, heartbeat: defaultHeartbeat, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.index)
	h.mux.HandleFunc("GET /events", h.events)
	h.mux.HandleFunc("GET /snapshot.json", h.snapshot)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(page)
}

// errorBody is what the page and JSON clients get when src fails; the cause
// (which may name hosts) stays in the log.
const errorBody = `{"error":"snapshot unavailable"}`

func (h *handler) get(ctx context.Context) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	s, err := h.src.Snapshot(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	return normalize(s), nil
}

func (h *handler) snapshot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	s, err := h.get(r.Context())
	if err != nil {
		h.log.Warn().Err(err).Msg("wallboard snapshot")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(errorBody + "\n"))
		return
	}
	raw, err := json.Marshal(s)
	if err != nil {
		h.log.Error().Err(err).Msg("wallboard snapshot encode")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(errorBody + "\n"))
		return
	}
	_, _ = w.Write(append(raw, '\n'))
}

// events streams snapshots until the client goes away. It runs entirely in
// the request's goroutine, so a disconnect ends everything it started.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// A server WriteTimeout would cut the stream; this one has no end.
	_ = rc.SetWriteDeadline(time.Time{})

	write := func(s string) error {
		if _, err := w.Write([]byte(s)); err != nil {
			return err
		}
		return rc.Flush()
	}
	// Reconnect quickly after a drop (the page shows the drop meanwhile).
	if err := write("retry: 2000\n\n"); err != nil {
		return
	}

	var last []byte  // fingerprint of the last snapshot sent
	var failing bool // the last poll failed and an error event was sent
	poll := func() error {
		s, err := h.get(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failing {
				return nil // reported already; do not flood the log or the page
			}
			failing, last = true, nil // re-send the next good snapshot
			h.log.Warn().Err(err).Msg("wallboard snapshot")
			return write("event: error\ndata: " + errorBody + "\n\n")
		}
		failing = false
		fp, err := fingerprint(s)
		if err != nil {
			return err
		}
		if bytes.Equal(fp, last) {
			return nil
		}
		data, err := json.Marshal(s)
		if err != nil {
			return err
		}
		last = fp
		return write(fmt.Sprintf("event: snapshot\ndata: %s\n\n", data))
	}

	if err := poll(); err != nil {
		h.end(ctx, err)
		return
	}
	tick := time.NewTicker(h.every)
	defer tick.Stop()
	ping := time.NewTicker(h.heartbeat)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err = poll()
		case <-ping.C:
			err = write(": ping\n\n")
		}
		if err != nil {
			h.end(ctx, err)
			return
		}
	}
}

func (h *handler) end(ctx context.Context, err error) {
	if ctx.Err() == nil {
		h.log.Debug().Err(err).Msg("wallboard stream ended")
	}
}
