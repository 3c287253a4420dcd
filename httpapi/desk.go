package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/desk"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/recordings"
	"github.com/hotline95598/hotline/tickets"
)

// Customers looks a caller up by number (accounts.Store).
type Customers interface {
	ByPhone(ctx context.Context, phone string) (accounts.Account, error)
}

func (d Deps) policy() *policy.Policy {
	if d.Policy != nil {
		return d.Policy
	}
	return policy.Default()
}

// deskRoutes serve the agents' desk: who the token is, the lists a desk
// chooses from, the caller an agent serves and the wrap-up code of its
// last call.
func (d Deps) deskRoutes(rt *Router) {
	rt.Handle("GET /api/v1/whoami", AnyToken, d.whoami)
	rt.Handle("GET /api/v1/taxonomy", AnyToken, d.taxonomy)
	if d.Work != nil && d.Accounts != nil {
		rt.Handle("GET /api/v1/agents/{id}/caller", AgentSelf, d.caller)
	}
	if d.Work != nil && d.Calls != nil {
		rt.Handle("POST /api/v1/agents/{id}/wrapup", AgentSelf, d.wrapUp)
	}
}

// whoami tells a page whose token it holds: its name, role and agent.
func (d Deps) whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"name": p.Name, "role": p.Role.String(), "agent": p.Agent})
}

// resultCodes are the results a follow-up call speaks (callflow's list);
// any other result is read as "dealt with".
var resultCodes = []string{"power_restored", "repaired", "explained", "refunded"}

type named struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Class string `json:"class,omitempty"`
}

// taxonomy is every list a desk chooses from, from the policy in force:
// work-order types, complaint classes and subjects, report subjects,
// grades, results, pause reasons and wrap-up codes.
func (d Deps) taxonomy(w http.ResponseWriter, r *http.Request) {
	pol := d.policy()
	var classes, subjects, reports []named
	for _, c := range pol.Classes() {
		classes = append(classes, named{ID: c.ID, Name: c.Name})
	}
	for _, s := range pol.Subjects() {
		subjects = append(subjects, named{ID: s.ID, Name: s.Name, Class: s.Class})
	}
	for _, s := range pol.ReportSubjects() {
		reports = append(reports, named{ID: s.ID, Name: s.Name})
	}
	types := make([]string, 0, len(tickets.Types()))
	for _, t := range tickets.Types() {
		types = append(types, string(t))
	}
	ad := pol.AgentDesk()
	writeJSON(w, http.StatusOK, map[string]any{
		"policy": pol.Version(), "types": types, "classes": classes, "subjects": subjects, "report_subjects": reports,
		"grades": policy.Grades, "results": resultCodes, "pause_reasons": ad.PauseReasons, "wrap_up_codes": ad.WrapUpCodes,
		"agent_actions": agentActions, "transfer_queues": d.transferQueues(),
	})
}

// transferQueues are the queues a desk may transfer a caller to (none
// when transfers are not wired in).
func (d Deps) transferQueues() []string {
	if d.Transfers == nil {
		return []string{}
	}
	return d.Transfers.Queues()
}

// pauseReason checks a pause reason against the policy's list; none given
// is the list's first.
func (d Deps) pauseReason(w http.ResponseWriter, reason string) (string, bool) {
	ad := d.policy().AgentDesk()
	if reason == "" {
		return ad.PauseReasons[0].ID, true
	}
	if !ad.PauseReason(reason) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown pause reason %s: the policy's reasons are %s",
			strconv.Quote(reason), policy.IDs(ad.PauseReasons)))
		return "", false
	}
	return reason, true
}

// caller is the caller an agent serves, with what the screen pop lacks:
// the customer's address, area, class and age group, and the number's
// open and recent work orders.
func (d Deps) caller(w http.ResponseWriter, r *http.Request) {
	c, err := d.Work.Caller(r.Context(), r.PathValue("id"))
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	l := desk.Lookup{Accounts: d.Accounts, Tickets: d.Orders, SeniorAge: d.policy().Queues()["senior"].MinAge}
	cust, err := l.Customer(r.Context(), c)
	d.reply(w, r, http.StatusOK, cust, err)
}

// wrapUp stores the wrap-up code of an agent's call: the one it is on, or
// its last: {"code":"answered"}.
func (d Deps) wrapUp(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Code string `json:"code"`
	}
	if !readJSON(w, r, &b) {
		return
	}
	ad := d.policy().AgentDesk()
	if !ad.WrapUpCode(b.Code) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown wrap-up code %s: the policy's codes are %s",
			strconv.Quote(b.Code), policy.IDs(ad.WrapUpCodes)))
		return
	}
	agent := r.PathValue("id")
	call, err := d.Work.LastCall(r.Context(), agent)
	if err != nil {
		d.storeError(w, r, err)
		return
	}
	if err := d.Calls.SetWrapUp(r.Context(), call, b.Code); err != nil {
		d.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"agent": agent, "call_id": call, "wrap_up_code": b.Code})
}

// deskError maps the desk's, call records' and recordings' errors.
func deskError(err error) (int, bool) {
	switch {
	case errors.Is(err, desk.ErrNoCaller):
		return http.StatusConflict, true
	case errors.Is(err, cdr.ErrInvalid), errors.Is(err, recordings.ErrInvalid):
		return http.StatusBadRequest, true
	case errors.Is(err, cdr.ErrNotFound), errors.Is(err, recordings.ErrNotFound):
		return http.StatusNotFound, true
	}
	return 0, false
}
