package tickets

import (
	"context"
	"errors"
	"testing"
)

// A survey answer is stored on the order and in its audit trail in one
// write; a dissatisfied answer on a complaint that is not closed is
// supervised (督办) in that write, nothing else is.
func TestRecordSurvey(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		typ        Type
		answer     string
		closed     bool
		supervised bool
	}{
		{"complaint, satisfied", TypeComplaint, SurveySatisfied, false, false},
		{"complaint, fair", TypeComplaint, SurveyFair, false, false},
		{"complaint, dissatisfied: supervised", TypeComplaint, SurveyDissatisfied, false, true},
		{"complaint, no answer", TypeComplaint, SurveyNone, false, false},
		{"fault, dissatisfied: not a complaint", TypeFault, SurveyDissatisfied, false, false},
		{"closed complaint, dissatisfied: nothing to supervise", TypeComplaint, SurveyDissatisfied, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, _ := newStore(t)
			tk, err := s.Create(ctx, Ticket{Type: tc.typ, Phone: "13800138000"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.closed {
				tk = closeComplaint(t, s, tk.ID)
			}
			got, supervised, err := s.RecordSurvey(ctx, tk.ID, Survey{Answer: tc.answer, CallID: "call-1", Agent: "2001", Queue: "complaint"})
			if err != nil {
				t.Fatal(err)
			}
			if supervised != tc.supervised {
				t.Errorf("supervised %v, want %v", supervised, tc.supervised)
			}
			stored, err := s.Get(ctx, tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []Ticket{got, stored} {
				if o.Survey == nil || o.Survey.Answer != tc.answer || o.Survey.Agent != "2001" || o.Survey.Queue != "complaint" ||
					o.Survey.CallID != "call-1" || o.Survey.At.IsZero() {
					t.Fatalf("survey on the order %+v", o.Survey)
				}
				wantSup := tk.SuperviseCount
				if tc.supervised {
					wantSup++
				}
				if o.SuperviseCount != wantSup {
					t.Errorf("supervise count %d, want %d", o.SuperviseCount, wantSup)
				}
			}
			var actions []string
			for _, a := range stored.Audit[len(tk.Audit):] {
				actions = append(actions, a.Action+"="+a.To)
			}
			want := []string{"survey=" + tc.answer}
			if tc.supervised {
				want = append(want, "supervise=1")
			}
			if len(actions) != len(want) || actions[0] != want[0] || (len(want) > 1 && actions[1] != want[1]) {
				t.Errorf("audit entries %v, want %v", actions, want)
			}
		})
	}
}

func TestRecordSurveyRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := newStore(t)
	tk, err := s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RecordSurvey(ctx, tk.ID, Survey{Answer: "3"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key is not an answer: %v", err)
	}
	if _, _, err := s.RecordSurvey(ctx, "20261122999999", Survey{Answer: SurveyFair}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	// A survey given on creation is dropped: only a caller answers it.
	tk, err = s.Create(ctx, Ticket{Type: TypeComplaint, Phone: "13800138000", Survey: &Survey{Answer: SurveySatisfied}})
	if err != nil || tk.Survey != nil {
		t.Fatalf("created with a survey: %+v %v", tk.Survey, err)
	}
}

// closeComplaint works a complaint to closed.
func closeComplaint(t *testing.T, s *Store, id string) Ticket {
	t.Helper()
	var tk Ticket
	var err error
	for _, c := range []Change{
		{Action: ActionRegister}, {Action: ActionAssign, AssignTo: "zhang.wei"}, {Action: ActionStart},
		{Action: ActionInvestigate, Cause: "rude", Measure: "training"},
		{Action: ActionResolve, Result: "explained"}, {Action: ActionClose, FollowUp: FollowUpSatisfied},
	} {
		c.Actor = "supervisor"
		if tk, err = s.Apply(context.Background(), id, c); err != nil {
			t.Fatalf("%s: %v", c.Action, err)
		}
	}
	if tk.Status != StatusClosed {
		t.Fatalf("status %s", tk.Status)
	}
	return tk
}
