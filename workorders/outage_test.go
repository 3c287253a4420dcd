package workorders

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/tickets"
)

// outages.overrun_grace: an outage past its restore time counts as overrun
// (the operators' alert) only after the policy's grace.
func TestOverrunGraceFromPolicy(t *testing.T) {
	for _, tc := range []struct {
		grace string
		want  float64
	}{{"30m", 0}, {"10m", 1}} {
		r := newRig(t, policyWith(t, "overrun_grace: 30m", "overrun_grace: "+tc.grace))
		if _, err := r.s.DeclareOutage(r.ctx, outages.Outage{Kind: outages.KindFault, Area: "海淀区", DeclaredBy: "ops",
			ExpectedRestore: monday.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		r.clk.Add(80 * time.Minute) // 20 minutes past the restore time
		r.watch(t)
		if got := value(r.m.OutagesOverrun); got != tc.want {
			t.Errorf("grace %s: overrun %v, want %v", tc.grace, got, tc.want)
		}
		o, ok, _ := r.s.OutageFor(r.ctx, "海淀区", "")
		if !ok || o.Speech(r.clk.Now()).Before[0] != "outage_late" {
			t.Errorf("grace %s: the caller does not hear 'taking longer': %+v", tc.grace, o.Speech(r.clk.Now()))
		}
	}
}

// An operator updates the restore time: callers hear the new one, and the
// parent order records it.
func TestUpdateOutage(t *testing.T) {
	r := newRig(t, nil)
	o, err := r.s.DeclareOutage(r.ctx, outages.Outage{Kind: outages.KindPlanned, Area: "海淀区", DeclaredBy: "ops", ExpectedRestore: monday.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	r.clk.Add(2 * time.Hour)
	later := r.clk.Now().Add(time.Hour)
	if o, err = r.s.UpdateOutage(r.ctx, o.ID, later, "", "ops:2"); err != nil {
		t.Fatal(err)
	}
	if sp := o.Speech(r.clk.Now()); !sp.Restore.Equal(later) {
		t.Errorf("speech after the update %+v", sp)
	}
	parent, _ := r.s.Get(r.ctx, o.ParentTicket)
	if last := parent.Audit[len(parent.Audit)-1]; last.Actor != "ops:2" || last.Action != "note" {
		t.Errorf("parent audit %+v", last)
	}
	if !parent.ContactBy.IsZero() {
		t.Errorf("the outage's parent order has a contact deadline %s but no customer", parent.ContactBy)
	}
	if parent.FirstResponder != "ops" {
		t.Errorf("parent's first responder %q, want the declaring operator", parent.FirstResponder)
	}
	if _, err := r.s.UpdateOutage(r.ctx, o.ID, r.clk.Now().Add(-time.Minute), "", "ops"); !errors.Is(err, outages.ErrInvalid) {
		t.Errorf("a past restore time: %v", err)
	}
}

// Clearing an outage resolves its merged fault reports with the result
// power_restored and schedules their follow-up calls.
func TestClearOutageClosesItsOrders(t *testing.T) {
	r := newRig(t, nil)
	o, err := r.s.DeclareOutage(r.ctx, outages.Outage{Kind: outages.KindFault, Transformer: "TX-0201", Area: "海淀区", DeclaredBy: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	var kids []tickets.Ticket
	for i, phone := range []string{"13600136000", "13500135000"} {
		k := r.create(t, tickets.Ticket{Type: tickets.TypeFault, Channel: "95598", Phone: phone, ParentID: o.ParentTicket, Named: true})
		if i == 1 {
			r.apply(t, k.ID, tickets.Change{Action: tickets.ActionRegister})
		}
		kids = append(kids, k)
	}
	if _, err := r.s.ClearOutage(r.ctx, o.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		got, _ := r.s.Get(r.ctx, k.ID)
		if got.Result != ResultPowerRestored || got.Status != tickets.StatusFollowUp {
			t.Errorf("child %s: status %s result %q", got.ID, got.Status, got.Result)
		}
		cbs, _ := r.s.Callbacks.ListByPhone(r.ctx, k.Phone, 5)
		if len(cbs) != 1 || cbs[0].Kind != callbacks.KindFollowUp || cbs[0].TicketID != k.ID || !cbs[0].AnyHour {
			t.Errorf("follow-up of %s: %+v", k.ID, cbs)
		}
	}
	if parent, _ := r.s.Get(r.ctx, o.ParentTicket); parent.Status != tickets.StatusResolved {
		t.Errorf("parent %s", parent.Status)
	}
	if _, err := r.s.ClearOutage(r.ctx, o.ID, "ops"); err != nil {
		t.Errorf("clearing again: %v", err)
	}
}

// outages.auto_declare: fault reports from 3 customers of one transformer
// within 15 minutes declare an unconfirmed outage that a supervisor
// confirms; the reports merge under it. One customer calling three times,
// or reports spread out, do not.
func TestAutoDeclare(t *testing.T) {
	r := newRig(t, nil)
	report := func(phone, tx string) tickets.Ticket {
		return r.create(t, tickets.Ticket{Type: tickets.TypeFault, Channel: "95598", Phone: phone, Area: "海淀区", Transformer: tx})
	}
	for range 3 {
		report("13600136000", "TX-1") // one customer, three times
	}
	report("13600136001", "TX-2")
	r.clk.Add(20 * time.Minute)
	report("13600136002", "TX-2") // the first is out of the window
	report("13600136003", "TX-2")
	if act, _ := r.s.ActiveOutages(r.ctx); len(act) != 0 {
		t.Fatalf("declared too soon: %+v", act)
	}
	third := report("13600136004", "TX-2")
	act, _ := r.s.ActiveOutages(r.ctx)
	if len(act) != 1 || !act[0].Unconfirmed || act[0].Transformer != "TX-2" || value(r.m.OutagesAuto) != 1 {
		t.Fatalf("auto outage %+v", act)
	}
	parent, _ := r.s.Get(r.ctx, act[0].ParentTicket)
	if len(parent.Children) != 3 {
		t.Errorf("merged %v, want the 3 reports in the window", parent.Children)
	}
	if got, _ := r.s.Get(r.ctx, third.ID); got.ParentID != parent.ID {
		t.Errorf("report %s parent %q", third.ID, got.ParentID)
	}
	r.watch(t)
	if value(r.m.OutagesUnconfirm) != 1 {
		t.Error("unconfirmed outage not in the gauge")
	}
	if o, err := r.s.ConfirmOutage(r.ctx, act[0].ID, "sup"); err != nil || o.Unconfirmed {
		t.Fatalf("confirm %+v %v", o, err)
	}
	// Off in the policy: nothing is declared.
	off := newRig(t, policyWith(t, "auto_declare: {reports: 3, within: 15m}", "auto_declare: {reports: 0}"))
	for i := range 4 {
		off.create(t, tickets.Ticket{Type: tickets.TypeFault, Channel: "95598", Phone: fmt.Sprintf("1360013600%d", i), Transformer: "TX-9"})
	}
	if act, _ := off.s.ActiveOutages(off.ctx); len(act) != 0 {
		t.Errorf("declared with auto_declare off: %+v", act)
	}
}

// warnings.outage_*: a transformer with 2 outages in a year gets a warning,
// 3 or more a special study, in the metrics and the report.
func TestOutageRepeatsWarning(t *testing.T) {
	for _, tc := range []struct {
		pol   string
		level string
	}{{"outage_study_at: 3", "study"}, {"outage_study_at: 4", "warning"}} {
		r := newRig(t, policyWith(t, "outage_study_at: 3", tc.pol))
		for i := range 3 {
			o, err := r.s.DeclareOutage(r.ctx, outages.Outage{Kind: outages.KindFault, Transformer: "TX-7", Line: "10kV 北环线", DeclaredBy: "ops"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.s.ClearOutage(r.ctx, o.ID, "ops"); err != nil {
				t.Fatal(err)
			}
			r.clk.Add(time.Duration(i+1) * 24 * time.Hour)
		}
		w, err := r.s.EarlyWarnings(r.ctx)
		if err != nil || len(w.OutageRepeats) != 2 || w.OutageRepeats[0].Level != tc.level || w.OutageRepeats[0].Count != 3 {
			t.Fatalf("%s: %+v %v", tc.pol, w.OutageRepeats, err)
		}
		r.watch(t)
		if value(r.m.OutageRepeats.WithLabelValues(tc.level)) != 2 || value(r.m.OutageRepeatTop.WithLabelValues("transformer", "TX-7", tc.level)) != 3 {
			t.Errorf("%s: gauges not set", tc.pol)
		}
		rep, _, _ := r.s.ComplaintReport(r.ctx, monday, monday.AddDate(0, 1, 0))
		if len(rep.Warnings.OutageRepeats) != 2 {
			t.Errorf("report warnings %+v", rep.Warnings.OutageRepeats)
		}
	}
}

// warnings.hot_spot_*: complaints piling up on an area or subject in the
// moving window are a hot spot, in the metrics and the report.
func TestHotSpots(t *testing.T) {
	r := newRig(t, nil)
	old := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Area: "朝阳区", Class: "business", Subject: "meter_seal"})
	r.clk.Add(8 * 24 * time.Hour) // the first is out of the 7-day window
	for range 2 {
		r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Area: "朝阳区", Class: "business", Subject: "meter_seal"})
	}
	r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Area: "海淀区", Class: "business", Subject: "meter_seal"})
	w, err := r.s.EarlyWarnings(r.ctx)
	if err != nil || len(w.HotSpots) != 1 || w.HotSpots[0].Dimension != "subject" || w.HotSpots[0].Count != 3 {
		t.Fatalf("hot spots %+v %v (the first complaint %s is outside the window)", w.HotSpots, err, old.ID)
	}
	r.watch(t)
	if value(r.m.HotSpots.WithLabelValues("subject", "meter_seal")) != 3 {
		t.Error("hot-spot gauge not set")
	}
	r2 := newRig(t, policyWith(t, "hot_spot_min: 3", "hot_spot_min: 2"))
	for range 2 {
		r2.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Area: "朝阳区"})
	}
	if w, _ := r2.s.EarlyWarnings(r2.ctx); len(w.HotSpots) != 1 || w.HotSpots[0].Key != "朝阳区" {
		t.Errorf("threshold 2: %+v", w.HotSpots)
	}
}
