package httpapi

import (
	"net/http"
	"time"

	"github.com/hotline95598/hotline/report"
)

func (d Deps) getOutage(w http.ResponseWriter, r *http.Request) {
	o, err := d.Orders.GetOutage(r.Context(), r.PathValue("id"))
	d.reply(w, r, http.StatusOK, o, err)
}

// updateOutage sets an outage's expected restore time (callers hear the
// new one from their next call): {"expected_restore":"2026-11-22T20:00:00+08:00",
// "reason":"…"}; an empty expected_restore means unknown.
func (d Deps) updateOutage(w http.ResponseWriter, r *http.Request) {
	var b struct {
		ExpectedRestore *string `json:"expected_restore"`
		Reason          string  `json:"reason"`
		Actor           string  `json:"actor"`
	}
	if !readJSON(w, r, &b) {
		return
	}
	if b.ExpectedRestore == nil {
		writeError(w, http.StatusBadRequest, `expected_restore is required: an RFC 3339 time, or "" for unknown`)
		return
	}
	var restore time.Time
	if *b.ExpectedRestore != "" {
		t, err := time.Parse(time.RFC3339, *b.ExpectedRestore)
		if err != nil {
			writeError(w, http.StatusBadRequest, "expected_restore must be an RFC 3339 time, e.g. 2026-11-22T18:00:00+08:00")
			return
		}
		restore = t
	}
	o, err := d.Orders.UpdateOutage(r.Context(), r.PathValue("id"), restore, b.Reason, actor(r, b.Actor))
	d.reply(w, r, http.StatusOK, o, err)
}

// confirmOutage: a supervisor confirms an outage the hotline declared by
// itself from piled-up fault reports (clearing it is DELETE).
func (d Deps) confirmOutage(w http.ResponseWriter, r *http.Request) {
	o, err := d.Orders.ConfirmOutage(r.Context(), r.PathValue("id"), actor(r, ""))
	d.reply(w, r, http.StatusOK, o, err)
}

// scoresReport: the station scores of a period, ?from=&to= as for the
// complaint report.
func (d Deps) scoresReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, ok := queryPeriod(w, q)
	if !ok {
		return
	}
	rep, _, err := d.Orders.ComplaintReport(r.Context(), from, to)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		From   time.Time             `json:"from"`
		To     time.Time             `json:"to"`
		Scores []report.StationScore `json:"scores"`
	}{from, to, rep.Scores})
}

// earlyWarnings: complaint hot spots in the moving window and lines or
// transformers with repeated outages, as of now.
func (d Deps) earlyWarnings(w http.ResponseWriter, r *http.Request) {
	ew, err := d.Orders.EarlyWarnings(r.Context())
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ew)
}
