package httpapi

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/policy"
)

// CallRecords are the call records and their statistics (cdr.Store).
type CallRecords interface {
	List(ctx context.Context, f cdr.Filter) ([]cdr.Record, error)
	Get(ctx context.Context, callID string) (cdr.Record, error)
	Export(ctx context.Context, w io.Writer, f cdr.Filter) (int, error)
	Stats(ctx context.Context, since, until time.Time, agent string) (cdr.Report, error)
	SetWrapUp(ctx context.Context, callID, code string) error
}

// callRoutes: supervisors read every call record and all statistics; an
// agent its own calls and figures.
func (d Deps) callRoutes(rt *Router) {
	if d.Calls == nil {
		return
	}
	rt.HandleWork("GET /api/v1/calls", ownAgentGate, d.listCalls)
	rt.HandleWork("GET /api/v1/calls/{id}", d.callGate, d.getCall)
	rt.HandleWork("GET /api/v1/stats", ownAgentGate, d.stats)
}

// ownAgentGate: an agent asks about itself only; ?agent= is set to it.
func ownAgentGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	q := r.URL.Query()
	if a := q.Get("agent"); a != "" && a != p.Agent {
		forbid(w, p, "an agent sees its own calls and figures only, not agent "+strconv.Quote(a)+"'s")
		return r, false
	}
	q.Set("agent", p.Agent)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2, true
}

// callGate: an agent reads the record of a call it took only.
func (d Deps) callGate(w http.ResponseWriter, r *http.Request, p Principal) (*http.Request, bool) {
	rec, err := d.Calls.Get(r.Context(), r.PathValue("id"))
	if err == nil && rec.Agent == p.Agent {
		return r, true
	}
	forbid(w, p, "call "+r.PathValue("id")+" is not one this agent took")
	return r, false
}

// timeRange reads ?since= and ?until= (RFC 3339 or YYYY-MM-DD, China
// time); missing ones take the defaults given.
func timeRange(w http.ResponseWriter, r *http.Request, since, until time.Time) (time.Time, time.Time, bool) {
	q := r.URL.Query()
	for name, dst := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := q.Get(name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name+" must be RFC 3339 or YYYY-MM-DD")
				return since, until, false
			}
			*dst = t
		}
	}
	if !until.IsZero() && !since.IsZero() && !since.Before(until) {
		writeError(w, http.StatusBadRequest, "since must be before until")
		return since, until, false
	}
	return since, until, true
}

// callFilter reads ?since= &until= &agent= &queue= &phone= &limit=.
func callFilter(w http.ResponseWriter, r *http.Request) (cdr.Filter, bool) {
	q := r.URL.Query()
	since, until, ok := timeRange(w, r, time.Time{}, time.Time{})
	if !ok {
		return cdr.Filter{}, false
	}
	f := cdr.Filter{Since: since, Until: until, Agent: q.Get("agent"), Queue: q.Get("queue")}
	if f.Queue != "" && !knownQueue(f.Queue) {
		writeError(w, http.StatusBadRequest, "unknown queue "+strconv.Quote(f.Queue))
		return f, false
	}
	if raw := q.Get("phone"); raw != "" {
		f.Phone = accounts.NormalizePhone(raw)
		if !accounts.ValidPhone(f.Phone) {
			writeError(w, http.StatusBadRequest, "phone must be a phone number, e.g. ?phone=13800138000")
			return f, false
		}
	}
	if !queryLimit(w, q, cdr.MaxLimit, &f.Limit) {
		return f, false
	}
	return f, true
}

func knownQueue(q string) bool {
	for _, n := range policy.QueueNames {
		if n == q {
			return true
		}
	}
	return false
}

// listCalls: the newest call records matching the filter, or with
// ?format=csv all of them as CSV (oldest first).
func (d Deps) listCalls(w http.ResponseWriter, r *http.Request) {
	f, ok := callFilter(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="calls.csv"`)
		if _, err := d.Calls.Export(r.Context(), w, f); err != nil {
			d.Log.Error().Err(err).Msg("export call records")
		}
		return
	}
	recs, err := d.Calls.List(r.Context(), f)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": recs})
}

func (d Deps) getCall(w http.ResponseWriter, r *http.Request) {
	rec, err := d.Calls.Get(r.Context(), r.PathValue("id"))
	d.reply(w, r, http.StatusOK, rec, err)
}

// stats: per interval, queue and agent, ?since= (default: today, China
// time) &until= (default: now) &agent=.
func (d Deps) stats(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	today, _ := parseTime(now.In(china.Zone).Format("2006-01-02"))
	since, until, ok := timeRange(w, r, today, now)
	if !ok {
		return
	}
	rep, err := d.Calls.Stats(r.Context(), since, until, r.URL.Query().Get("agent"))
	d.reply(w, r, http.StatusOK, rep, err)
}
