package report

import (
	"bytes"
	"strings"
	"testing"
)

// The post-call survey answers on the orders are counted in all, for
// complaints, per queue and per agent, with the satisfied rate over the
// answers given, and shown in the CSV and the HTML.
func TestSurveyCounts(t *testing.T) {
	survey := func(answer, agent, queue string) func(*Item) {
		return func(it *Item) { it.Survey, it.SurveyAgent, it.SurveyQueue = answer, agent, queue }
	}
	its := []Item{
		complaint("c1", 2, survey(SurveySatisfied, "2001", "complaint")),
		complaint("c2", 3, survey(SurveyDissatisfied, "2001", "complaint")),
		complaint("c3", 4, survey(SurveyNone, "2002", "complaint")),
		complaint("c4", 5), // never asked
		{ID: "f1", Type: "fault", CreatedAt: at(6, 9), Survey: SurveyFair, SurveyAgent: "2002", SurveyQueue: "fault"},
		{ID: "f2", Type: "fault", CreatedAt: at(7, 9), Survey: SurveySatisfied, SurveyAgent: "2002", SurveyQueue: "fault"},
		// Outside the period: not counted.
		complaint("old", 1, func(it *Item) { it.CreatedAt, it.Survey = at(1, 1).AddDate(0, -1, 0), SurveyDissatisfied }),
	}
	opt := DefaultOptions()
	opt.SatisfactionTarget = 0.95
	r := BuildWith(its, at(1, 0), at(31, 0), at(31, 0), opt)
	check := func(what string, got SurveyCounts, s, f, d, n int, rate float64) {
		t.Helper()
		if got.Satisfied != s || got.Fair != f || got.Dissatisfied != d || got.None != n || !near(got.Rate, rate) ||
			got.Known != (s+f+d > 0) || got.Low != (got.Known && rate < 0.95) {
			t.Errorf("%s: %+v, want %d/%d/%d/%d rate %v", what, got, s, f, d, n, rate)
		}
	}
	check("all", r.Survey, 2, 1, 1, 1, 0.5)
	check("complaints", r.SurveyComplaints, 1, 0, 1, 1, 0.5)
	if len(r.SurveyByQueue) != 2 || len(r.SurveyByAgent) != 2 {
		t.Fatalf("per queue %+v, per agent %+v", r.SurveyByQueue, r.SurveyByAgent)
	}
	check("queue complaint", r.SurveyByQueue[0], 1, 0, 1, 1, 0.5)
	check("queue fault", r.SurveyByQueue[1], 1, 1, 0, 0, 0.5)
	check("agent 2001", r.SurveyByAgent[0], 1, 0, 1, 0, 0.5)
	check("agent 2002", r.SurveyByAgent[1], 1, 1, 0, 1, 0.5)
	if r.SurveyByQueue[0].Key != "complaint" || r.SurveyByAgent[1].Key != "2002" {
		t.Errorf("keys %+v %+v", r.SurveyByQueue, r.SurveyByAgent)
	}

	var csvOut bytes.Buffer
	if err := r.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"survey,all,2/1/1/1,4,0.5000", "survey,complaints,1/0/1/1,2,0.5000",
		"survey_queue,fault,1/1/0/0,2,0.5000", "survey_agent,2001,1/0/1/0,2,0.5000"} {
		if !strings.Contains(csvOut.String(), want+"\r\n") {
			t.Errorf("CSV lacks %q:\n%s", want, csvOut.String())
		}
	}
	var page bytes.Buffer
	if err := r.WriteHTML(&page, labels); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"通话后满意度调查", "<td>座席 agent</td><td>2001</td>", "<td>队列 queue</td><td>fault</td>"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// A period without surveys says so.
	page.Reset()
	if err := BuildWith(its[3:4], at(1, 0), at(31, 0), at(31, 0), opt).WriteHTML(&page, labels); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "无调查") {
		t.Error("a period without surveys does not say so")
	}
}
