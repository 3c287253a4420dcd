package callflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
)

// surveyOn is the survey policy of these tests: on, with a short wait.
var surveyOn = policy.Survey{AfterAgentCall: true, Timeout: 40 * time.Millisecond, MaxAttempts: 2}

// The post-call survey: asked only when the agent hung up first and the
// caller is still there, and only with the policy on; the key (or none)
// lands on the call record, the work order and the metric of the queue and
// agent.
func TestPostCallSurvey(t *testing.T) {
	for _, tc := range []struct {
		name        string
		survey      []string // the caller's answers to survey_ask ("" silence)
		callerFirst bool     // the caller hung up first
		off         bool     // policy survey.after_agent_call: false
		// during: the caller presses a key while they talk to the agent
		// (the intro plays as the agent is rung).
		during string
		want   string // the answer on the record ("" never asked)
		asked  int    // times the question was heard
		heard  string // a prompt the caller hears after it ("" none)
	}{
		{name: "agent hangs up first, 1", survey: []string{"1"}, want: cdr.SurveySatisfied, asked: 1, heard: "followup_thanks"},
		{name: "agent hangs up first, 2", survey: []string{"2"}, want: cdr.SurveyFair, asked: 1, heard: "followup_thanks"},
		{name: "agent hangs up first, 3", survey: []string{"3"}, want: cdr.SurveyDissatisfied, asked: 1, heard: "survey_sorry"},
		{name: "invalid key, then 2", survey: []string{"9", "2"}, want: cdr.SurveyFair, asked: 2, heard: "invalid_input"},
		{name: "silence until the attempts run out", survey: []string{"", ""}, want: cdr.SurveyNone, asked: 2, heard: "goodbye"},
		{name: "a flood of invalid keys ends politely", survey: []string{"9999999", ""}, want: cdr.SurveyNone, asked: 2, heard: "goodbye"},
		{name: "a flood of keys: the first valid one answers", survey: []string{"3111"}, want: cdr.SurveyDissatisfied, asked: 1, heard: "survey_sorry"},
		{name: "hangs up at the question", survey: []string{"hangup"}, want: cdr.SurveyNone, asked: 1},
		{name: "a key pressed while talking is no answer", during: "1", survey: []string{"3"}, want: cdr.SurveyDissatisfied, asked: 1},
		{name: "caller hung up first: not asked", callerFirst: true, survey: []string{"1"}},
		{name: "policy off: not asked", off: true, survey: []string{"1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := map[string][]string{"main_menu": {"3"}, "survey_ask": tc.survey}
			if tc.during != "" {
				script["transfer_agent"] = []string{tc.during}
			}
			r := newRig(script)
			reg := prometheus.NewRegistry()
			r.flow.m = metrics.New(reg)
			r.flow.cfg.Survey = surveyOn
			if tc.off {
				r.flow.cfg.Survey.AfterAgentCall = false
			}
			recs := &fakeRecords{sw: r.sw}
			r.flow.SetRecords(recs, "replica-a")
			r.queue.agent, r.queue.answered, r.queue.agentHungUp = "2001", testNow, !tc.callerFirst
			r.queue.callerHungUp = tc.callerFirst
			r.run("13800138000")
			played := r.played()
			if n := strings.Count(played, "survey_ask"); n != tc.asked {
				t.Fatalf("survey asked %d times, want %d: %s", n, tc.asked, played)
			}
			if tc.heard != "" && !strings.Contains(played[strings.Index(played, "survey_ask"):], tc.heard) {
				t.Errorf("after the question the caller did not hear %s: %s", tc.heard, played)
			}
			if len(recs.recs) != 1 || recs.recs[0].Survey != tc.want {
				t.Fatalf("record survey %q, want %q", recs.recs[0].Survey, tc.want)
			}
			if tc.heard != "" && !r.sw.IsHungUp("call1") {
				t.Error("the hotline did not hang up after the survey")
			}
			if tc.want == "" {
				if len(r.tk.surveys) != 0 || series(t, reg, "hotline_survey_answers_total") != 0 {
					t.Fatalf("not asked, yet recorded: %v", r.tk.surveys)
				}
				return
			}
			if got := counter(r.flow.m.SurveyAnswers.WithLabelValues("complaint", "2001", tc.want)); got != 1 {
				t.Errorf("metric of complaint/2001/%s = %v, want 1", tc.want, got)
			}
			if want := "20261122000001 " + tc.want + " 2001 complaint call1"; len(r.tk.surveys) != 1 || r.tk.surveys[0] != want {
				t.Errorf("on the work order %v, want %q", r.tk.surveys, want)
			}
		})
	}
}

// A callback answered by an agent who hangs up first is surveyed too, on
// the callback's work order.
func TestSurveyAfterCallback(t *testing.T) {
	r := newRig(map[string][]string{"survey_ask": {"2"}})
	r.flow.cfg.Survey = surveyOn
	recs := &fakeRecords{sw: r.sw}
	r.flow.SetRecords(recs, "")
	r.queue.agent, r.queue.answered, r.queue.agentHungUp = "2002", testNow, true
	r.flow.Callback(context.Background(), ivr.NewSession(r.sw, "call1", zerolog.Nop()),
		callbacks.Callback{ID: "77", Phone: "13800138000", TicketID: "20261122000009", CreatedAt: testNow.Add(-time.Hour)})
	if len(recs.recs) != 1 || recs.recs[0].Survey != cdr.SurveyFair {
		t.Fatalf("records %+v", recs.recs)
	}
	if len(r.tk.surveys) != 1 || r.tk.surveys[0] != "20261122000009 fair 2002 callback call1" {
		t.Fatalf("on the work order %v", r.tk.surveys)
	}
}

// series counts the series of a metric family in reg.
func series(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
