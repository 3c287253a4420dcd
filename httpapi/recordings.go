package httpapi

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/recordings"
)

// Recordings is the recordings index and its files (recordings.Store).
type Recordings interface {
	List(ctx context.Context, f recordings.Filter) ([]recordings.Recording, error)
	Get(ctx context.Context, id string) (recordings.Recording, error)
	Open(ctx context.Context, id string) (*os.File, recordings.Recording, error)
}

// recordingRoutes: supervisors list and download every recording; an agent
// those of the calls it took, and never another agent's.
func (d Deps) recordingRoutes(rt *Router) {
	if d.Recordings == nil {
		return
	}
	rt.HandleWork("GET /api/v1/recordings", ownAgentGate, d.listRecordings)
	rt.HandleWork("GET /api/v1/recordings/{id}", d.recordingGate, d.downloadRecording)
}

// recordingGate: an agent downloads the recordings of its own calls only.
func (d Deps) recordingGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	rec, err := d.Recordings.Get(r.Context(), r.PathValue("id"))
	if err == nil && rec.Agent == p.Agent {
		return r, true
	}
	forbid(w, p, "recording "+r.PathValue("id")+" is not of a call this agent took")
	return r, false
}

// listRecordings: ?ticket= &phone= &agent= &call= &since= &until= &limit=.
func (d Deps) listRecordings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, until, ok := timeRange(w, r, time.Time{}, time.Time{})
	if !ok {
		return
	}
	f := recordings.Filter{Call: q.Get("call"), Ticket: q.Get("ticket"), Agent: q.Get("agent"), Since: since, Until: until}
	if raw := q.Get("phone"); raw != "" {
		f.Phone = accounts.NormalizePhone(raw)
		if !accounts.ValidPhone(f.Phone) {
			writeError(w, http.StatusBadRequest, "phone must be a phone number, e.g. ?phone=13800138000")
			return
		}
	}
	if !queryLimit(w, q, 1000, &f.Limit) {
		return
	}
	recs, err := d.Recordings.List(r.Context(), f)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": recs})
}

// downloadRecording serves the WAV file (byte ranges too, for players
// that seek).
func (d Deps) downloadRecording(w http.ResponseWriter, r *http.Request) {
	f, rec, err := d.Recordings.Open(r.Context(), r.PathValue("id"))
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rec.ID+`.wav"`)
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
