package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/supervise"
)

// Monitor lets a supervisor listen to, whisper to or barge into an agent's
// call (agents.Monitor).
type Monitor interface {
	Start(ctx context.Context, req supervise.MonitorRequest) (supervise.MonitorInfo, error)
}

type monitorBody struct {
	Mode       string `json:"mode"`
	Supervisor string `json:"supervisor"`
}

// monitor rings a supervisor's softphone into an agent's call:
// {"mode":"listen"|"whisper"|"barge","supervisor":"2003"}. 202: the phone
// rings; the same request while the supervisor is on changes the mode.
func (d Deps) monitor(w http.ResponseWriter, r *http.Request) {
	var b monitorBody
	if !readJSON(w, r, &b) {
		return
	}
	if b.Mode == "" || b.Supervisor == "" {
		writeError(w, http.StatusBadRequest, `body must name mode ("listen", "whisper" or "barge") and supervisor (the supervisor's softphone id)`)
		return
	}
	info, err := d.Monitor.Start(r.Context(), supervise.MonitorRequest{Agent: r.PathValue("id"), Supervisor: b.Supervisor, Mode: supervise.MonitorMode(b.Mode)})
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, info)
	case errors.Is(err, supervise.ErrBadMonitor):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, supervise.ErrNotOnCall), errors.Is(err, supervise.ErrSupervisorOffline):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, agents.ErrUnknownAgent):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		d.Log.Error().Err(err).Str("path", r.URL.Path).Msg("monitor request failed")
		writeError(w, http.StatusBadGateway, "could not start the monitor: "+err.Error())
	}
}
