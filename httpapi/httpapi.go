// Package httpapi is the controller's HTTP face: health, metrics, and the
// back-office API under /api/v1, every route of which needs a bearer token.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
	"github.com/rs/zerolog"
)

// Tickets lists work orders.
type Tickets interface {
	ListByPhone(ctx context.Context, phone string, limit int) ([]tickets.Ticket, error)
}

// Agents administers agents.
type Agents interface {
	Login(ctx context.Context, id string) error
	Logout(ctx context.Context, id string) error
	Pause(ctx context.Context, id, reason string) error
	Ready(ctx context.Context, id string) error
	Get(ctx context.Context, id string) (agents.Agent, error)
	List(ctx context.Context) ([]agents.Agent, error)
}

// Callbacks lists and schedules callbacks.
type Callbacks interface {
	ListByPhone(ctx context.Context, phone string, limit int) ([]callbacks.Callback, error)
	Get(ctx context.Context, id string) (callbacks.Callback, error)
	Schedule(ctx context.Context, r callbacks.Request) (string, bool, error)
}

// Part is one dependency's health.
type Part struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Deps is what the API serves from.
type Deps struct {
	Token  string            // HOTLINE_API_TOKEN: one admin token; may be empty with Tokens
	Tokens []config.APIToken // HOTLINE_TOKENS_FILE: hashed tokens with roles (access.go)
	// Keys, when set, replaces Token and Tokens: the service keeps them to
	// swap in a re-read tokens file on SIGHUP.
	Keys      *Keys
	RateLimit RateLimit // per token, or per client address without one; zero: none
	Health    func(ctx context.Context) map[string]Part
	Metrics   http.Handler
	Tickets   Tickets
	Orders    Orders
	Agents    Agents
	Callbacks Callbacks
	Events    AgentEvents // agent event streams (events.go); nil: no such routes
	Monitor   Monitor     // supervisor listen/whisper/barge (monitor.go); nil: none
	IVR       MenuHolder  // the IVR menu, reloaded through the API (ivr.go); nil: no such route
	Notices   Notices     // timed notices before the menu (notices.go); nil: no such routes
	// Wallboard, when set, is served at /wallboard/ without a token: it
	// shows aggregate numbers only, never a caller's number.
	Wallboard http.Handler
	// The agents' desk (desk.go, work.go, calls.go, recordings.go).
	Policy     *policy.Policy // pause reasons, wrap-up codes, taxonomy; nil: the default policy
	Work       Work           // what an agent token may reach (desk.Work); nil: agents reach no work orders
	Accounts   Customers      // the caller's profile for the desk; nil: no caller route
	Calls      CallRecords    // call records and statistics (cdr.Store); nil: no such routes
	Recordings Recordings     // the recordings index and files; nil: no such routes
	Desk       http.Handler   // the desk page, served at /desk/ without a token (its API calls carry one)
	Transfers  Transfers      // blind transfers of calls to another queue (transfer.go); nil: no such route
	Log        zerolog.Logger
}

// New returns the HTTP handler.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.healthz)
	mux.Handle("GET /metrics", d.Metrics)
	// Every /api/ route says who may call it: see Router and access.go.
	rt := newRouter()
	rt.Handle("GET /api/v1/agents", Supervisor, d.listAgents)
	rt.Handle("GET /api/v1/agents/{id}", AgentSelf, d.getAgent)
	rt.Handle("POST /api/v1/agents/{id}/{action}", AgentSelf, d.agentAction)
	rt.Handle("GET /api/v1/callbacks", Supervisor, d.listCallbacks)
	rt.Handle("GET /api/v1/callbacks/{id}", Supervisor, d.getCallback)
	rt.Handle("POST /api/v1/callbacks", Supervisor, d.scheduleCallback)
	d.orderRoutes(rt)
	d.agentEventRoutes(rt)
	d.skillRoutes(rt)
	d.ivrRoutes(rt)
	d.noticeRoutes(rt)
	d.deskRoutes(rt)
	d.callRoutes(rt)
	d.recordingRoutes(rt)
	d.transferRoutes(rt)
	rt.Handle("/api/", AnyToken, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	keys := d.Keys
	if keys == nil {
		keys = NewKeys(d.Token, d.Tokens)
	}
	mux.Handle("/api/", guard(keys, newLimiter(d.RateLimit), rt))
	if d.Desk != nil {
		mux.Handle("/desk/", http.StripPrefix("/desk", d.Desk))
		mux.Handle("GET /desk", http.RedirectHandler("/desk/", http.StatusMovedPermanently))
	}
	if d.Wallboard != nil {
		mux.Handle("/wallboard/", http.StripPrefix("/wallboard", d.Wallboard))
		mux.Handle("GET /wallboard", http.RedirectHandler("/wallboard/", http.StatusMovedPermanently))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	return logRequests(d.Log, mux)
}

func (d Deps) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	parts := d.Health(ctx)
	ok := true
	for _, p := range parts {
		ok = ok && p.OK
	}
	status, code := "ok", http.StatusOK
	if !ok {
		status, code = "degraded", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "parts": parts})
}

// phoneParam reads and normalises ?phone=, which these lists require.
func phoneParam(w http.ResponseWriter, r *http.Request) (string, int, bool) {
	raw := r.URL.Query().Get("phone")
	phone := accounts.NormalizePhone(raw)
	if raw == "" || !accounts.ValidPhone(phone) {
		writeError(w, http.StatusBadRequest, "query parameter phone must be a phone number, e.g. ?phone=13800138000")
		return "", 0, false
	}
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to 1000")
			return "", 0, false
		}
		limit = n
	}
	return phone, limit, true
}

func (d Deps) listCallbacks(w http.ResponseWriter, r *http.Request) {
	phone, limit, ok := phoneParam(w, r)
	if !ok {
		return
	}
	cbs, err := d.Callbacks.ListByPhone(r.Context(), phone, limit)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	if cbs == nil {
		cbs = []callbacks.Callback{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"callbacks": cbs})
}

func (d Deps) listAgents(w http.ResponseWriter, r *http.Request) {
	as, err := d.Agents.List(r.Context())
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": as})
}

func (d Deps) getAgent(w http.ResponseWriter, r *http.Request) {
	a, err := d.Agents.Get(r.Context(), r.PathValue("id"))
	d.reply(w, r, http.StatusOK, a, err)
}

type pauseBody struct {
	Reason string `json:"reason"`
}

func (d Deps) agentAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var err error
	switch action := r.PathValue("action"); action {
	case "login":
		err = d.Agents.Login(r.Context(), id)
	case "logout":
		err = d.Agents.Logout(r.Context(), id)
	case "ready":
		err = d.Agents.Ready(r.Context(), id)
	case "pause":
		var body pauseBody
		if !readJSON(w, r, &body) {
			return
		}
		reason, ok := d.pauseReason(w, body.Reason)
		if !ok {
			return
		}
		err = d.Agents.Pause(r.Context(), id, reason)
	default:
		writeError(w, http.StatusNotFound, "unknown agent action "+strconv.Quote(action)+"; use login, logout, pause or ready")
		return
	}
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	a, err := d.Agents.Get(r.Context(), id)
	d.reply(w, r, http.StatusOK, a, err)
}

// readJSON decodes an optional JSON body; an empty body is allowed.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		// One JSON value and nothing after it: trailing data would also slip
		// past the size limit, which only counts what is read.
		if err = dec.Decode(&struct{}{}); errors.Is(err, io.EOF) {
			return true
		}
		if err == nil {
			err = errors.New("more than one JSON value")
		}
	} else if errors.Is(err, io.EOF) {
		return true // no body: every field optional
	}
	if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
		return false
	}
	writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
	return false
}

// maxBody bounds every request body.
const maxBody = 64 << 10

// reply writes v with code, or the error as storeError maps it.
func (d Deps) reply(w http.ResponseWriter, r *http.Request, code int, v any, err error) {
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	writeJSON(w, code, v)
}

func (d Deps) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if code, ok := orderError(err); ok {
		writeError(w, code, err.Error())
		return
	}
	if code, ok := deskError(err); ok {
		writeError(w, code, err.Error())
		return
	}
	switch {
	case errors.Is(err, callbacks.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, agents.ErrUnknownAgent), errors.Is(err, tickets.ErrNotFound), errors.Is(err, callbacks.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, agents.ErrBadState):
		writeError(w, http.StatusConflict, err.Error())
	default:
		d.Log.Error().Err(err).Str("path", r.URL.Path).Msg("api request failed")
		writeError(w, http.StatusServiceUnavailable, "storage unavailable: "+err.Error())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, reason string) {
	writeJSON(w, code, map[string]string{"error": reason})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

// Flush and Unwrap keep streaming responses (the wallboard's server-sent
// events) working through the logging wrapper.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func logRequests(log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		if r.URL.Path == "/metrics" || r.URL.Path == "/healthz" {
			return
		}
		// The query may hold a phone number: log the path only.
		log.Info().Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.code).Dur("took", time.Since(start)).Msg("http")
	})
}

func (d Deps) getCallback(w http.ResponseWriter, r *http.Request) {
	cb, err := d.Callbacks.Get(r.Context(), r.PathValue("id"))
	d.reply(w, r, http.StatusOK, cb, err)
}

type scheduleBody struct {
	Phone    string `json:"phone"`
	Kind     string `json:"kind"`
	At       string `json:"at"` // RFC 3339, for a scheduled callback
	TicketID string `json:"ticket_id"`
	Reason   string `json:"reason"`
}

// scheduleCallback promises a callback, e.g. one an agent agreed with the
// customer: {"phone":"…","kind":"scheduled","at":"2026-11-23T15:00:00+08:00"}.
func (d Deps) scheduleCallback(w http.ResponseWriter, r *http.Request) {
	var b scheduleBody
	if !readJSON(w, r, &b) {
		return
	}
	phone := accounts.NormalizePhone(b.Phone)
	if !accounts.ValidPhone(phone) {
		writeError(w, http.StatusBadRequest, "phone must be a phone number")
		return
	}
	req := callbacks.Request{Phone: phone, Kind: b.Kind, TicketID: b.TicketID, Reason: b.Reason}
	if req.Kind == "" {
		req.Kind = callbacks.KindScheduled
	}
	if b.At != "" {
		at, err := time.Parse(time.RFC3339, b.At)
		if err != nil {
			writeError(w, http.StatusBadRequest, "at must be an RFC 3339 time, e.g. 2026-11-23T15:00:00+08:00")
			return
		}
		req.At = at
	} else if req.Kind == callbacks.KindScheduled {
		writeError(w, http.StatusBadRequest, "a scheduled callback needs at: the time agreed with the customer")
		return
	}
	id, created, err := d.Callbacks.Schedule(r.Context(), req)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	cb, err := d.Callbacks.Get(r.Context(), id)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	code := http.StatusCreated
	if !created {
		code = http.StatusOK // one pending callback per number and kind: this is it
	}
	writeJSON(w, code, cb)
}
