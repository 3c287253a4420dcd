package cdr

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The post-call survey's answer is stored on the record, comes back on
// Get and List, and is counted per queue and per agent; "none" (asked, no
// valid key) is an answer of its own, and a call never asked has none.
func TestSurveyOnTheRecord(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	answers := []string{SurveySatisfied, SurveyFair, SurveyDissatisfied, SurveyDissatisfied, SurveyNone, ""}
	for i, a := range answers {
		r := answered(fmt.Sprintf("s%d", i), "13800138000", "2001", t0.Add(time.Duration(i)*time.Minute))
		r.Survey, r.EndReason = a, "agent_hangup"
		if err := s.Write(ctx, r); err != nil {
			t.Fatalf("write survey %q: %v", a, err)
		}
		got, err := s.Get(ctx, r.CallID)
		if err != nil || got.Survey != a {
			t.Fatalf("survey %q read back as %q (%v)", a, got.Survey, err)
		}
	}
	list, err := s.List(ctx, Filter{Agent: "2001"})
	if err != nil || len(list) != len(answers) {
		t.Fatalf("list: %d records, %v", len(list), err)
	}
	rep, err := s.Stats(ctx, t0, t0.Add(30*time.Minute), "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"satisfied": 1, "fair": 1, "dissatisfied": 2, "none": 1}
	for _, got := range []map[string]int64{rep.Calls.Survey, rep.Queues[0].Survey, rep.Agents[0].Survey} {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("survey counts %v, want %v", got, want)
		}
	}
	bad := answered("s9", "13800138000", "2001", t0)
	bad.Survey = "3"
	if err := s.Write(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key is not an answer: %v", err)
	}
}
