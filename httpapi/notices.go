package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/hotline95598/hotline/notices"
)

// Notices are the timed notices callers hear before the main menu.
type Notices interface {
	Create(ctx context.Context, n notices.Notice) (notices.Notice, error)
	Get(ctx context.Context, id string) (notices.Notice, error)
	List(ctx context.Context, ended bool) ([]notices.Notice, error)
	Withdraw(ctx context.Context, id, by string) (notices.Notice, error)
}

// noticeRoutes: placing and withdrawing a notice changes what every caller
// hears, so it is an admin's, like declaring an outage.
func (d Deps) noticeRoutes(rt *Router) {
	if d.Notices == nil {
		return
	}
	rt.Handle("GET /api/v1/notices", Supervisor, d.listNotices)
	rt.Handle("POST /api/v1/notices", Admin, d.createNotice)
	rt.Handle("GET /api/v1/notices/{id}", Supervisor, d.getNotice)
	rt.Handle("DELETE /api/v1/notices/{id}", Admin, d.withdrawNotice)
}

// listNotices: those playing now and those still to come, by start;
// ?ended=true adds the ended and withdrawn ones still kept for audit.
func (d Deps) listNotices(w http.ResponseWriter, r *http.Request) {
	ended := false
	if v := r.URL.Query().Get("ended"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ended must be true or false")
			return
		}
		ended = b
	}
	ns, err := d.Notices.List(r.Context(), ended)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	if ns == nil {
		ns = []notices.Notice{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notices": ns})
}

type noticeBody struct {
	Kind   string `json:"kind"`  // storm, planned, holiday, general
	Area   string `json:"area"`  // "" for every caller
	Start  string `json:"start"` // RFC 3339; empty: now
	End    string `json:"end"`   // RFC 3339; required
	Prompt string `json:"prompt"`
	Sound  string `json:"sound"`
	Text   string `json:"text"`
	Actor  string `json:"actor"`
}

// createNotice places a notice; calls answered from its start hear it.
func (d Deps) createNotice(w http.ResponseWriter, r *http.Request) {
	var b noticeBody
	if !readJSON(w, r, &b) {
		return
	}
	n := notices.Notice{Kind: notices.Kind(b.Kind), Area: b.Area, Prompt: b.Prompt, Sound: b.Sound, Text: b.Text,
		CreatedBy: actor(r, b.Actor)}
	for _, f := range []struct {
		name, raw string
		dst       *time.Time
	}{{"start", b.Start, &n.Start}, {"end", b.End, &n.End}} {
		if f.raw == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.raw)
		if err != nil {
			writeError(w, http.StatusBadRequest, f.name+" must be an RFC 3339 time, e.g. 2026-11-22T18:00:00+08:00")
			return
		}
		*f.dst = t
	}
	n, err := d.Notices.Create(r.Context(), n)
	d.reply(w, r, http.StatusCreated, n, err)
}

func (d Deps) getNotice(w http.ResponseWriter, r *http.Request) {
	n, err := d.Notices.Get(r.Context(), r.PathValue("id"))
	d.reply(w, r, http.StatusOK, n, err)
}

// withdrawNotice stops a notice at once; it stays readable for audit.
func (d Deps) withdrawNotice(w http.ResponseWriter, r *http.Request) {
	n, err := d.Notices.Withdraw(r.Context(), r.PathValue("id"), actor(r, ""))
	d.reply(w, r, http.StatusOK, n, err)
}
