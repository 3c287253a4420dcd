package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/desk"
	"github.com/hotline95598/hotline/tickets"
)

// Work is what an agent token may reach: the work orders of its own calls
// and of the caller it serves now (desk.Work).
type Work interface {
	Caller(ctx context.Context, agent string) (desk.Caller, error)
	MayTicket(ctx context.Context, agent string, t tickets.Ticket) (ok bool, why string, err error)
	MayCreate(ctx context.Context, agent, phone string) (c desk.Caller, why string, err error)
	Created(ctx context.Context, agent string, c desk.Caller, ticketID string) error
	LastCall(ctx context.Context, agent string) (string, error)
}

// agentActions are the work-order actions an agent may take on the orders
// it may work: note, classify, assign and transfer, resolve, and the two
// steps resolving an order taken on the call needs first (register,
// start). Closing, follow-up, urging, supervising, reopening and
// escalating are the back office's.
var agentActions = []string{"note", "classify", "register", "assign", "transfer", "start", "resolve"}

// ticketRoute registers a work-order route: for supervisors, and for
// agents through gate when the desk's rules are wired in (Work).
func (d Deps) ticketRoute(rt *Router, pattern string, gate Gate, h http.HandlerFunc) {
	if d.Work == nil {
		rt.Handle(pattern, Supervisor, h)
		return
	}
	rt.HandleWork(pattern, gate, h)
}

func forbid(w http.ResponseWriter, p Principal, why string) {
	writeError(w, http.StatusForbidden, fmt.Sprintf("token %q (agent %s): %s", p.Name, p.Agent, why))
}

// ticketGate lets an agent at a work order it may work.
func (d Deps) ticketGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	t, err := d.Orders.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, tickets.ErrNotFound) {
		// Not "not found": an agent learns nothing of orders not its own.
		forbid(w, p, fmt.Sprintf("work order %s is not of a call of this agent nor of its caller", r.PathValue("id")))
		return r, false
	}
	if err != nil {
		d.storeError(w, r, err)
		return r, false
	}
	ok, why, err := d.Work.MayTicket(r.Context(), p.Agent, t)
	if err != nil {
		d.storeError(w, r, err)
		return r, false
	}
	if !ok {
		forbid(w, p, why)
	}
	return r, ok
}

// body reads a request body (bounded) and gives the request a fresh copy
// for the handler.
func body(w http.ResponseWriter, r *http.Request) ([]byte, *http.Request, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
		return nil, r, false
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(raw))
	return raw, r2, true
}

// actionGate: a work order the agent may work, and an action agents take.
func (d Deps) actionGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	raw, r, ok := body(w, r)
	if !ok {
		return r, false
	}
	var b struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(raw, &b) // a malformed body is the handler's to refuse
	if b.Action != "" && !slices.Contains(agentActions, b.Action) {
		forbid(w, p, fmt.Sprintf("action %q is the back office's; an agent may %s", b.Action, strings.Join(agentActions, ", ")))
		return r, false
	}
	return d.ticketGate(w, r, p)
}

// listGate: an agent lists the work orders of the caller it serves only.
func (d Deps) listGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	phone := accounts.NormalizePhone(r.URL.Query().Get("phone"))
	c, err := d.Work.Caller(r.Context(), p.Agent)
	switch {
	case errors.Is(err, desk.ErrNoCaller):
		forbid(w, p, "an agent lists the work orders of the caller it serves, and it serves no caller now")
		return r, false
	case err != nil:
		d.storeError(w, r, err)
		return r, false
	case phone == "" || phone != c.Phone:
		forbid(w, p, "an agent lists the work orders of the caller it serves only: ?phone="+c.Phone)
		return r, false
	}
	return r, true
}

// createGate: an agent creates work orders for the caller it serves; the
// new order is then tied to the call, so the agent works it afterwards too.
func (d Deps) createGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	raw, r, ok := body(w, r)
	if !ok {
		return r, false
	}
	var b struct {
		Phone string `json:"phone"`
	}
	_ = json.Unmarshal(raw, &b)
	c, why, err := d.Work.MayCreate(r.Context(), p.Agent, accounts.NormalizePhone(b.Phone))
	if err != nil {
		d.storeError(w, r, err)
		return r, false
	}
	if why != "" {
		forbid(w, p, why)
		return r, false
	}
	// Run the handler into a buffer to learn the new order's id, link
	// it, then pass the answer on.
	rec := httptest.NewRecorder()
	d.createTicket(rec, r)
	if rec.Code == http.StatusCreated {
		var t tickets.Ticket
		if err := json.Unmarshal(rec.Body.Bytes(), &t); err == nil && t.ID != "" {
			if err := d.Work.Created(r.Context(), p.Agent, c, t.ID); err != nil {
				d.Log.Error().Err(err).Str("ticket_id", t.ID).Str("agent", p.Agent).Msg("link the agent's new work order to its call")
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	return r, false // answered here
}

// errNoDesk: the desk's rules are not wired in.
var errNoDesk = errors.New("the agent desk is not configured on this controller")
