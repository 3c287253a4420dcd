package workorders

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/report"
	"github.com/hotline95598/hotline/tickets"
)

// report.satisfaction_target and report.repeat_min come from the policy.
func TestReportFiguresFromPolicy(t *testing.T) {
	r := newRig(t, policyWith(t, "satisfaction_target: 0.95", "satisfaction_target: 0.5", "repeat_min: 2", "repeat_min: 3"))
	for range 2 {
		r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Phone: "13900139000"})
	}
	rep, _, err := r.s.ComplaintReport(r.ctx, monday, monday.AddDate(0, 1, 0))
	if err != nil || rep.SatisfactionTarget != 0.5 || len(rep.RepeatCallers) != 0 {
		t.Fatalf("target %v repeat callers %v (%v)", rep.SatisfactionTarget, rep.RepeatCallers, err)
	}
	d := newRig(t, nil)
	for range 2 {
		d.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Phone: "13900139000"})
	}
	if rep, _, _ := d.s.ComplaintReport(d.ctx, monday, monday.AddDate(0, 1, 0)); rep.SatisfactionTarget != 0.95 || len(rep.RepeatCallers) != 1 {
		t.Fatalf("default: target %v repeat callers %v", rep.SatisfactionTarget, rep.RepeatCallers)
	}
}

// Scores per station through the work orders themselves: a 95598 complaint
// past its deadline, handled without an investigation report and without a
// proposal costs -1 -0.2 -0.2 (it was classified, has a station and a first
// responder); a complaint averted at the counter earns 0.3; a malicious
// one costs nothing.
func TestStationScoresFromOrders(t *testing.T) {
	r := newRig(t, nil)
	bad := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Area: "东区所", Class: "service", Subject: "staff_attitude",
		Audit: []tickets.AuditEntry{{Actor: "agent:1001"}}})
	averted := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "counter", Area: "西区所", Class: "service", Subject: "staff_attitude",
		Audit: []tickets.AuditEntry{{Actor: "station:west"}}})
	malicious := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Area: "西区所"})
	r.apply(t, averted.ID, tickets.Change{Action: tickets.ActionDecide, Decision: tickets.DecisionAverted, Note: "沟通后客户撤诉"})
	r.apply(t, malicious.ID, tickets.Change{Action: tickets.ActionDecide, Decision: tickets.DecisionMalicious})
	r.apply(t, bad.ID, tickets.Change{Action: tickets.ActionVerify, Responsibility: tickets.ResponsibilityUtility})
	r.apply(t, bad.ID, tickets.Change{Action: tickets.ActionRegister})
	r.apply(t, bad.ID, tickets.Change{Action: tickets.ActionAssign, AssignTo: "east"})
	r.apply(t, bad.ID, tickets.Change{Action: tickets.ActionStart})
	r.clk.Add(6 * 24 * time.Hour) // past 4 working days
	r.apply(t, bad.ID, tickets.Change{Action: tickets.ActionResolve, Result: "explained"})
	rep, _, err := r.s.ComplaintReport(r.ctx, monday, monday.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]report.StationScore{}
	for _, s := range rep.Scores {
		got[s.Station] = s
	}
	east, west := got["东区所"], got["西区所"]
	if east.NotByPlan != 1 || east.MissingReports != 1 || east.Incomplete != 1 || east.Score != -1.4 {
		t.Errorf("东区所 %+v, want -1 -0.2 -0.2 = -1.4", east)
	}
	if west.Averted != 1 || west.Malicious != 1 || west.Score != 0.3 {
		t.Errorf("西区所 %+v, want +0.3", west)
	}
}

// A satisfied customer on a complaint whose cause and measure are not on
// record: the verdict is kept, the complaint is not filed (四不放过); after
// the investigation it closes.
func TestSatisfiedButNotInvestigated(t *testing.T) {
	r := newRig(t, nil)
	c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598", Named: true})
	for _, ch := range []tickets.Change{{Action: tickets.ActionRegister}, {Action: tickets.ActionAssign, AssignTo: "x"},
		{Action: tickets.ActionStart}, {Action: tickets.ActionResolve, Result: "explained"}} {
		r.apply(t, c.ID, ch)
	}
	got, err := r.s.FollowUpAnswered(r.ctx, c.ID, true)
	if err != nil || got.Status != tickets.StatusFollowUp || got.FollowUp != "satisfied" {
		t.Fatalf("satisfied, not investigated: %s %s %v", got.Status, got.FollowUp, err)
	}
	r.apply(t, c.ID, tickets.Change{Action: tickets.ActionInvestigate, Cause: "c", Measure: "m"})
	if got = r.apply(t, c.ID, tickets.Change{Action: tickets.ActionClose}); got.Status != tickets.StatusClosed {
		t.Fatalf("close after investigation: %s", got.Status)
	}
}

// SetFirstResponder is idempotent through the service too.
func TestServiceFirstResponder(t *testing.T) {
	r := newRig(t, nil)
	c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598"})
	for _, who := range []string{"1001", "1002"} {
		if got, err := r.s.SetFirstResponder(r.ctx, c.ID, who, "complaint"); err != nil || got.FirstResponder != "1001" {
			t.Fatalf("%s: %+v %v", who, got.FirstResponder, err)
		}
	}
}

// The post-call survey answers recorded on the orders reach the complaint
// report per queue and per agent, and a dissatisfied complaint is
// supervised through the service.
func TestSurveyInTheReport(t *testing.T) {
	r := newRig(t, nil)
	c := r.create(t, tickets.Ticket{Type: tickets.TypeComplaint, Channel: "95598"})
	f := r.create(t, tickets.Ticket{Type: tickets.TypeFault, Channel: "95598"})
	got, supervised, err := r.s.RecordSurvey(r.ctx, c.ID, tickets.Survey{Answer: tickets.SurveyDissatisfied, Agent: "2001", Queue: "complaint"})
	if err != nil || !supervised || got.SuperviseCount != 1 {
		t.Fatalf("dissatisfied complaint: supervised %v, count %d, %v", supervised, got.SuperviseCount, err)
	}
	if _, _, err := r.s.RecordSurvey(r.ctx, f.ID, tickets.Survey{Answer: tickets.SurveyFair, Agent: "2002", Queue: "fault"}); err != nil {
		t.Fatal(err)
	}
	rep, _, err := r.s.ComplaintReport(r.ctx, monday, monday.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Survey.Dissatisfied != 1 || rep.Survey.Fair != 1 || rep.SurveyComplaints.Dissatisfied != 1 || rep.SurveyComplaints.Fair != 0 ||
		len(rep.SurveyByAgent) != 2 || rep.SurveyByAgent[0].Key != "2001" || rep.SurveyByQueue[1].Key != "fault" {
		t.Fatalf("survey in the report: %+v %+v %+v %+v", rep.Survey, rep.SurveyComplaints, rep.SurveyByQueue, rep.SurveyByAgent)
	}
}

// TestComplaintReportAtScale: the report of a period of 50,000 work orders
// (HOTLINE_REPORT_ORDERS, default 3,000 outside `make bench`) is complete
// and correct, and `make bench` prints its time and memory.
func TestComplaintReportAtScale(t *testing.T) {
	n := 3000
	if os.Getenv("HOTLINE_BENCH") != "" {
		n = 50000
	}
	if v := os.Getenv("HOTLINE_REPORT_ORDERS"); v != "" {
		fmt.Sscan(v, &n)
	}
	r := newRig(t, nil)
	areas := []string{"东区所", "西区所", "南区所", "北区所", "中心所"}
	subjects := [][2]string{{"service", "staff_attitude"}, {"business", "meter_seal"}, {"outage", "planned_outage"}}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				tk := tickets.Ticket{Type: tickets.TypeFault, Channel: "95598", Phone: fmt.Sprintf("139%08d", i%20000), Area: areas[i%5]}
				if i%2 == 0 {
					sub := subjects[i%3]
					tk.Type, tk.Class, tk.Subject = tickets.TypeComplaint, sub[0], sub[1]
				}
				if i%10 == 1 {
					tk.Type = tickets.TypeReport
				}
				if _, err := r.s.Tickets.Create(r.ctx, tk); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	loaded := time.Since(start)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	peak := before.HeapInuse
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // samples the heap while the report runs
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	t0 := time.Now()
	rep, _, err := r.s.ComplaintReport(r.ctx, monday.Add(-time.Hour), monday.AddDate(0, 1, 0))
	took := time.Since(t0)
	close(stop)
	<-done
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	wantComplaints, wantReports := 0, 0
	for i := range n {
		switch {
		case i%10 == 1:
			wantReports++
		case i%2 == 0:
			wantComplaints++
		}
	}
	if rep.Total != n || rep.Complaints != wantComplaints || rep.Reports != wantReports {
		t.Fatalf("report of %d orders: total %d complaints %d reports %d, want %d %d", n, rep.Total, rep.Complaints, rep.Reports, wantComplaints, wantReports)
	}
	sum := 0
	for _, c := range rep.ByArea {
		sum += c.Count
	}
	if sum != wantComplaints || len(rep.ByArea) != 5 || len(rep.Scores) != 5 {
		t.Fatalf("by area sums to %d over %d areas", sum, len(rep.ByArea))
	}
	t.Logf("complaint report of %d work orders (%d complaints, %d reports): %.2f s, %.1f MB allocated, heap peak %.1f MB (load: %.1f s)",
		n, rep.Complaints, rep.Reports, took.Seconds(), float64(after.TotalAlloc-before.TotalAlloc)/1e6, float64(peak-before.HeapInuse)/1e6, loaded.Seconds())
	if os.Getenv("HOTLINE_BENCH") != "" {
		fmt.Printf("BENCH complaint report: %d work orders in %.2f s, %.1f MB allocated, heap peak +%.1f MB over the base\n",
			n, took.Seconds(), float64(after.TotalAlloc-before.TotalAlloc)/1e6, float64(peak-before.HeapInuse)/1e6)
	}
}
