package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/transfer"
)

// Transfers moves a caller who talks to an agent to another queue, or to
// another agent after a consultation, on whichever replica holds the call
// (transfer.Desk).
type Transfers interface {
	Blind(ctx context.Context, callID, queue, agent, by string) (transfer.Reply, error)
	Consult(ctx context.Context, callID, toAgent, agent, by string) (transfer.Reply, error)
	Complete(ctx context.Context, callID, agent, by string) (transfer.Reply, error)
	Cancel(ctx context.Context, callID, agent, by string) (transfer.Reply, error)
	Queues() []string
}

// transferRoutes: the agent on a call, or a supervisor, transfers it;
// every token may list the agents free to be consulted.
func (d Deps) transferRoutes(rt *Router) {
	if d.Transfers == nil {
		return
	}
	rt.HandleWork("POST /api/v1/calls/{id}/transfer", d.transferGate, d.transferCall)
	rt.HandleWork("POST /api/v1/calls/{id}/transfer/{step}", d.transferGate, d.transferStep)
	rt.Handle("GET /api/v1/colleagues", AnyToken, d.colleagues)
}

// colleagues are the agents an agent may consult now: logged in and
// available (the consultation checks their phone). Ids and states only.
func (d Deps) colleagues(w http.ResponseWriter, r *http.Request) {
	as, err := d.Agents.List(r.Context())
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	type colleague struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	out := []colleague{}
	for _, a := range as {
		if a.State == agents.Available && a.ID != p.Agent {
			out = append(out, colleague{ID: a.ID, State: string(a.State)})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// transferGate: an agent transfers the call it is on only.
func (d Deps) transferGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	a, err := d.Agents.Get(r.Context(), p.Agent)
	if err != nil {
		d.storeError(w, r, err)
		return r, false
	}
	if a.CallID != r.PathValue("id") {
		forbid(w, p, "call "+r.PathValue("id")+" is not the call this agent is on")
		return r, false
	}
	return r, true
}

// transferCall is a blind transfer, {"queue":"billing"} (200: the
// agent's leg is hung up and the caller waits in the queue, keeping their
// place), or the start of an attended one, {"agent":"1002"} (200: the
// caller holds and agent 1002's phone rings; the agent then completes or
// cancels).
func (d Deps) transferCall(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Queue string `json:"queue"`
		Agent string `json:"agent"`
	}
	if !readJSON(w, r, &b) {
		return
	}
	if (b.Queue == "") == (b.Agent == "") {
		writeError(w, http.StatusBadRequest, `body must name the queue to transfer to, {"queue":"billing"}, or the agent to consult, {"agent":"1002"}`)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	agent := ""
	if p.Role == RoleAgent {
		agent = p.Agent
	}
	if b.Agent != "" {
		rep, err := d.Transfers.Consult(r.Context(), r.PathValue("id"), b.Agent, agent, p.Name)
		d.transferReply(w, r, rep, err)
		return
	}
	rep, err := d.Transfers.Blind(r.Context(), r.PathValue("id"), b.Queue, agent, p.Name)
	d.transferReply(w, r, rep, err)
}

// transferStep completes (the consulted agent takes the caller) or
// cancels (back to the caller) an attended transfer.
func (d Deps) transferStep(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	agent := ""
	if p.Role == RoleAgent {
		agent = p.Agent
	}
	var rep transfer.Reply
	var err error
	switch r.PathValue("step") {
	case "complete":
		rep, err = d.Transfers.Complete(r.Context(), r.PathValue("id"), agent, p.Name)
	case "cancel":
		rep, err = d.Transfers.Cancel(r.Context(), r.PathValue("id"), agent, p.Name)
	default:
		writeError(w, http.StatusNotFound, "no such step "+r.PathValue("step")+": complete or cancel")
		return
	}
	d.transferReply(w, r, rep, err)
}

func (d Deps) transferReply(w http.ResponseWriter, r *http.Request, rep transfer.Reply, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, rep)
	case errors.Is(err, transfer.ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, transfer.ErrNotYours):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, transfer.ErrNotBridged), errors.Is(err, transfer.ErrRefused), errors.Is(err, transfer.ErrUnavailable):
		writeError(w, http.StatusConflict, err.Error())
	default:
		d.storeError(w, r, err)
	}
}
