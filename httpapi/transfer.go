package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/hotline95598/hotline/transfer"
)

// Transfers moves a caller who talks to an agent to another queue, on
// whichever replica holds the call (transfer.Desk).
type Transfers interface {
	Blind(ctx context.Context, callID, queue, agent, by string) (transfer.Reply, error)
	Queues() []string
}

// transferRoutes: the agent on a call, or a supervisor, transfers it.
func (d Deps) transferRoutes(rt *Router) {
	if d.Transfers == nil {
		return
	}
	rt.HandleWork("POST /api/v1/calls/{id}/transfer", d.transferGate, d.transferCall)
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

// transferCall is a blind transfer: {"queue":"billing"}. 200: the agent's
// leg is hung up and the caller waits in the queue, keeping their place.
func (d Deps) transferCall(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Queue string `json:"queue"`
	}
	if !readJSON(w, r, &b) {
		return
	}
	if b.Queue == "" {
		writeError(w, http.StatusBadRequest, `body must name the queue to transfer to: {"queue":"billing"}`)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	agent := ""
	if p.Role == RoleAgent {
		agent = p.Agent
	}
	rep, err := d.Transfers.Blind(r.Context(), r.PathValue("id"), b.Queue, agent, p.Name)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, rep)
	case errors.Is(err, transfer.ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, transfer.ErrNotYours):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, transfer.ErrNotBridged), errors.Is(err, transfer.ErrRefused):
		writeError(w, http.StatusConflict, err.Error())
	default:
		d.storeError(w, r, err)
	}
}
