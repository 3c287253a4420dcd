package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/notices"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/report"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
)

// Orders is the back office: work orders, outages, the complaint report.
type Orders interface {
	Create(ctx context.Context, t tickets.Ticket) (tickets.Ticket, error)
	Get(ctx context.Context, id string) (tickets.Ticket, error)
	Apply(ctx context.Context, id string, c tickets.Change) (tickets.Ticket, error)
	List(ctx context.Context, f tickets.Filter) ([]tickets.Ticket, error)
	DeclareOutage(ctx context.Context, o outages.Outage) (outages.Outage, error)
	ClearOutage(ctx context.Context, id, by string) (outages.Outage, error)
	ActiveOutages(ctx context.Context) ([]outages.Outage, error)
	GetOutage(ctx context.Context, id string) (outages.Outage, error)
	UpdateOutage(ctx context.Context, id string, restore time.Time, reason, by string) (outages.Outage, error)
	ConfirmOutage(ctx context.Context, id, by string) (outages.Outage, error)
	ComplaintReport(ctx context.Context, from, to time.Time) (report.Report, report.Labels, error)
	EarlyWarnings(ctx context.Context) (workorders.EarlyWarnings, error)
}

func (d Deps) orderRoutes(rt *Router) {
	// Agents reach the work orders of their own calls and callers (work.go).
	d.ticketRoute(rt, "GET /api/v1/tickets", d.listGate, d.listTickets)
	d.ticketRoute(rt, "POST /api/v1/tickets", d.createGate, d.createTicket)
	d.ticketRoute(rt, "GET /api/v1/tickets/{id}", d.ticketGate, d.getTicket)
	d.ticketRoute(rt, "POST /api/v1/tickets/{id}/actions", d.actionGate, d.ticketAction)
	d.ticketRoute(rt, "POST /api/v1/tickets/{id}/notes", d.ticketGate, d.ticketNote)
	d.ticketRoute(rt, "POST /api/v1/tickets/{id}/assign", d.ticketGate, d.ticketAssign)
	rt.Handle("GET /api/v1/outages", Supervisor, d.listOutages)
	rt.Handle("POST /api/v1/outages", Admin, d.declareOutage)
	rt.Handle("DELETE /api/v1/outages/{id}", Admin, d.clearOutage)
	rt.Handle("GET /api/v1/outages/{id}", Supervisor, d.getOutage)
	rt.Handle("PATCH /api/v1/outages/{id}", Admin, d.updateOutage)
	rt.Handle("POST /api/v1/outages/{id}/confirm", Supervisor, d.confirmOutage)
	rt.Handle("GET /api/v1/reports/complaints", Supervisor, d.complaintReport)
	rt.Handle("GET /api/v1/reports/scores", Supervisor, d.scoresReport)
	rt.Handle("GET /api/v1/warnings", Supervisor, d.earlyWarnings)
}

// actor names who acted: the X-Actor header, else the body's actor, else
// the token's name ("api" for HOTLINE_API_TOKEN).
func actor(r *http.Request, body string) string {
	if a := strings.TrimSpace(r.Header.Get("X-Actor")); a != "" {
		return a
	}
	if body != "" {
		return body
	}
	if p, ok := PrincipalFrom(r.Context()); ok && p.Name != "" {
		return p.Name
	}
	return "api"
}

// queryLimit reads ?limit= (1 to max) into *into; a bad one is answered
// with 400 and false.
func queryLimit(w http.ResponseWriter, q url.Values, max int, into *int) bool {
	s := q.Get("limit")
	if s == "" {
		return true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be a whole number from 1 to %d", max))
		return false
	}
	*into = n
	return true
}

// queryPeriod reads the required ?from=&to= of a report (YYYY-MM-DD or RFC
// 3339; to is exclusive); a bad one is answered with 400 and false.
func queryPeriod(w http.ResponseWriter, q url.Values) (from, to time.Time, ok bool) {
	from, err1 := parseTime(q.Get("from"))
	to, err2 := parseTime(q.Get("to"))
	if err1 != nil || err2 != nil || !from.Before(to) {
		writeError(w, http.StatusBadRequest, "from and to are required (YYYY-MM-DD or RFC 3339) and from must be before to")
		return from, to, false
	}
	return from, to, true
}

// parseTime accepts RFC 3339 or a date (China time, the start of that day).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, china.Zone)
}

// listTickets filters work orders: ?phone= &type= &status= &area= &overdue=true
// &open=true &since= &until= (RFC 3339 or YYYY-MM-DD) &limit=.
func (d Deps) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := tickets.Filter{Type: tickets.Type(q.Get("type")), Status: tickets.Status(q.Get("status")), Area: q.Get("area"), Limit: 50}
	if raw := q.Get("phone"); raw != "" {
		f.Phone = accounts.NormalizePhone(raw)
		if !accounts.ValidPhone(f.Phone) {
			writeError(w, http.StatusBadRequest, "phone must be a phone number, e.g. ?phone=13800138000")
			return
		}
	}
	for name, dst := range map[string]*bool{"overdue": &f.Overdue, "open": &f.Open} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name+" must be true or false")
				return
			}
			*dst = b
		}
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name+" must be RFC 3339 or YYYY-MM-DD")
				return
			}
			*dst = t
		}
	}
	if !queryLimit(w, q, 1000, &f.Limit) {
		return
	}
	if f.Type != "" && !f.Type.Known() {
		writeError(w, http.StatusBadRequest, "unknown ticket type "+strconv.Quote(string(f.Type)))
		return
	}
	ts, err := d.Orders.List(r.Context(), f)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	if ts == nil {
		ts = []tickets.Ticket{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": ts})
}

type createTicketBody struct {
	Type        string `json:"type"`
	Channel     string `json:"channel"`
	Phone       string `json:"phone"`
	Account     string `json:"account"`
	Name        string `json:"name"`
	Address     string `json:"address"`
	Area        string `json:"area"`
	Transformer string `json:"transformer"`
	Class       string `json:"class"`
	Subject     string `json:"subject"`
	Subtype     string `json:"subtype"`
	Named       bool   `json:"named"`
	Note        string `json:"note"`
	Actor       string `json:"actor"`
}

// createTicket registers a work order from another channel (12398, 12345,
// counter, letter, web) or by an agent.
func (d Deps) createTicket(w http.ResponseWriter, r *http.Request) {
	var b createTicketBody
	if !readJSON(w, r, &b) {
		return
	}
	phone := accounts.NormalizePhone(b.Phone)
	if b.Phone != "" && !accounts.ValidPhone(phone) {
		writeError(w, http.StatusBadRequest, "phone is not a phone number")
		return
	}
	t := tickets.Ticket{Type: tickets.Type(b.Type), Channel: b.Channel, Phone: phone, Account: b.Account, Name: b.Name,
		Address: b.Address, Area: b.Area, Transformer: b.Transformer, Class: b.Class, Subject: b.Subject, Subtype: b.Subtype,
		Named: b.Named, Note: b.Note}
	if len(t.Audit) == 0 {
		t.Audit = []tickets.AuditEntry{{Actor: actor(r, b.Actor), Action: "accepted", Note: b.Note}}
	}
	t, err := d.Orders.Create(r.Context(), t)
	d.reply(w, r, http.StatusCreated, t, err)
}

func (d Deps) getTicket(w http.ResponseWriter, r *http.Request) {
	t, err := d.Orders.Get(r.Context(), r.PathValue("id"))
	d.reply(w, r, http.StatusOK, t, err)
}

type actionBody struct {
	Action         string `json:"action"`
	Actor          string `json:"actor"`
	Note           string `json:"note"`
	AssignTo       string `json:"assign_to"`
	Result         string `json:"result"`
	Level          string `json:"level"`
	FollowUp       string `json:"follow_up"`
	Class          string `json:"class"`
	Subject        string `json:"subject"`
	Grade          string `json:"grade"`
	Responsibility string `json:"responsibility"`
	Cause          string `json:"cause"`
	Measure        string `json:"measure"`
	Decision       string `json:"decision"`
}

// ticketAction moves a ticket through its lifecycle and the closed loop:
// register, classify (class, subject, grade), verify (responsibility),
// contact, propose, assign, transfer, start, progress, warn, investigate
// (cause, measure), resolve (result), follow_up, decide (decision), close,
// urge, supervise, reopen, escalate, note. An illegal move is refused with
// 409, a change the action does not take with 400, each with the reason.
func (d Deps) ticketAction(w http.ResponseWriter, r *http.Request) {
	var b actionBody
	if !readJSON(w, r, &b) {
		return
	}
	if b.Action == "" {
		writeError(w, http.StatusBadRequest, "action is required")
		return
	}
	d.apply(w, r, tickets.Change{Action: tickets.Action(b.Action), Actor: actor(r, b.Actor), Note: b.Note,
		AssignTo: b.AssignTo, Result: b.Result, Level: b.Level, FollowUp: b.FollowUp, Class: b.Class, Subject: b.Subject,
		Grade: b.Grade, Responsibility: b.Responsibility, Cause: b.Cause, Measure: b.Measure, Decision: b.Decision})
}

func (d Deps) ticketNote(w http.ResponseWriter, r *http.Request) {
	var b struct{ Note, Actor string }
	if !readJSON(w, r, &b) {
		return
	}
	if strings.TrimSpace(b.Note) == "" {
		writeError(w, http.StatusBadRequest, "note is required")
		return
	}
	d.apply(w, r, tickets.Change{Action: tickets.ActionNote, Actor: actor(r, b.Actor), Note: b.Note})
}

func (d Deps) ticketAssign(w http.ResponseWriter, r *http.Request) {
	var b struct {
		To    string `json:"to"`
		Actor string `json:"actor"`
		Note  string `json:"note"`
	}
	if !readJSON(w, r, &b) {
		return
	}
	if b.To == "" {
		writeError(w, http.StatusBadRequest, "to is required: who the ticket is assigned to")
		return
	}
	d.apply(w, r, tickets.Change{Action: tickets.ActionAssign, Actor: actor(r, b.Actor), AssignTo: b.To, Note: b.Note})
}

func (d Deps) apply(w http.ResponseWriter, r *http.Request, c tickets.Change) {
	t, err := d.Orders.Apply(r.Context(), r.PathValue("id"), c)
	d.reply(w, r, http.StatusOK, t, err)
}

func (d Deps) listOutages(w http.ResponseWriter, r *http.Request) {
	os, err := d.Orders.ActiveOutages(r.Context())
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	if os == nil {
		os = []outages.Outage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"outages": os})
}

type outageBody struct {
	Kind            string `json:"kind"`
	Area            string `json:"area"`
	Transformer     string `json:"transformer"`
	Line            string `json:"line"`
	Reason          string `json:"reason"`
	ExpectedRestore string `json:"expected_restore"` // RFC 3339
	Actor           string `json:"actor"`
}

// declareOutage records an outage; callers in its area hear of it and their
// fault reports merge under its parent work order.
func (d Deps) declareOutage(w http.ResponseWriter, r *http.Request) {
	var b outageBody
	if !readJSON(w, r, &b) {
		return
	}
	o := outages.Outage{Kind: outages.Kind(b.Kind), Area: b.Area, Transformer: b.Transformer, Line: b.Line, Reason: b.Reason,
		DeclaredBy: actor(r, b.Actor)}
	if b.ExpectedRestore != "" {
		t, err := time.Parse(time.RFC3339, b.ExpectedRestore)
		if err != nil {
			writeError(w, http.StatusBadRequest, "expected_restore must be an RFC 3339 time, e.g. 2026-11-22T18:00:00+08:00")
			return
		}
		o.ExpectedRestore = t
	}
	o, err := d.Orders.DeclareOutage(r.Context(), o)
	d.reply(w, r, http.StatusCreated, o, err)
}

func (d Deps) clearOutage(w http.ResponseWriter, r *http.Request) {
	o, err := d.Orders.ClearOutage(r.Context(), r.PathValue("id"), actor(r, ""))
	d.reply(w, r, http.StatusOK, o, err)
}

// complaintReport: ?from=&to= (YYYY-MM-DD or RFC 3339; to is exclusive)
// &format=html|csv|json.
func (d Deps) complaintReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, ok := queryPeriod(w, q)
	if !ok {
		return
	}
	rep, labels, err := d.Orders.ComplaintReport(r.Context(), from, to)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	switch q.Get("format") {
	case "", "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = rep.WriteHTML(w, labels)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="complaints.csv"`)
		_ = rep.WriteCSV(w)
	case "json":
		writeJSON(w, http.StatusOK, rep)
	default:
		writeError(w, http.StatusBadRequest, "format must be html, csv or json")
	}
}

// orderError maps the back office's errors (work orders, outages,
// notices) to HTTP statuses.
func orderError(err error) (int, bool) {
	switch {
	case errors.Is(err, tickets.ErrIllegalTransition), errors.Is(err, outages.ErrConflict), errors.Is(err, notices.ErrConflict):
		return http.StatusConflict, true
	case errors.Is(err, tickets.ErrInvalid), errors.Is(err, outages.ErrInvalid), errors.Is(err, notices.ErrInvalid):
		return http.StatusBadRequest, true
	case errors.Is(err, outages.ErrNotFound), errors.Is(err, notices.ErrNotFound):
		return http.StatusNotFound, true
	}
	return 0, false
}
