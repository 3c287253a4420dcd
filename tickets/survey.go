package tickets

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Post-call survey answers (1 satisfied, 2 fair, 3 dissatisfied); none:
// the caller was asked and pressed no valid key.
const (
	SurveySatisfied    = "satisfied"
	SurveyFair         = "fair"
	SurveyDissatisfied = "dissatisfied"
	SurveyNone         = "none"
)

// ValidSurvey reports whether a is a survey answer ("" is not one).
func ValidSurvey(a string) bool {
	return a == SurveySatisfied || a == SurveyFair || a == SurveyDissatisfied || a == SurveyNone
}

// ActionSurvey is the audit action of a post-call survey answer.
const ActionSurvey = "survey"

// Survey is the caller's answer to the post-call survey of a call about
// the order: which call, which agent served them and in which queue.
type Survey struct {
	Answer string    `json:"answer"`
	CallID string    `json:"call_id,omitempty"`
	Agent  string    `json:"agent,omitempty"`
	Queue  string    `json:"queue,omitempty"`
	At     time.Time `json:"at"`
}

// RecordSurvey records a post-call survey answer on order id: the order
// keeps the latest (Ticket.Survey) and the audit trail every one. A
// dissatisfied answer on a complaint that is not closed is supervised
// (督办) in the same write, as an unhappy customer's complaint is (seed
// 001 §6): the supervise count goes up with its own audit entry. It
// reports whether it supervised.
func (s *Store) RecordSurvey(ctx context.Context, id string, sv Survey) (Ticket, bool, error) {
	sv.Answer, sv.Agent, sv.Queue = strings.TrimSpace(sv.Answer), strings.TrimSpace(sv.Agent), strings.TrimSpace(sv.Queue)
	if !ValidSurvey(sv.Answer) {
		return Ticket{}, false, fmt.Errorf("%w: survey answer %q (satisfied, fair, dissatisfied or none)", ErrInvalid, sv.Answer)
	}
	supervised := false
	t, err := s.updateTicket(ctx, id, func(t *Ticket, now time.Time) error {
		supervised = false // a retried update starts again
		sv.At = now
		t.Survey = &sv
		note := "post-call survey: " + sv.Answer
		if sv.Agent != "" {
			note += " (agent " + sv.Agent
			if sv.Queue != "" {
				note += ", " + sv.Queue + " queue"
			}
			note += ")"
		}
		if sv.CallID != "" {
			note += "; call " + sv.CallID
		}
		actor := "customer"
		t.Audit = append(t.Audit, AuditEntry{At: now, Actor: actor, Action: ActionSurvey, Note: note, To: sv.Answer})
		if sv.Answer == SurveyDissatisfied && t.Type == TypeComplaint && t.Status != StatusClosed {
			t.Audit = append(t.Audit, AuditEntry{At: now, Actor: SystemActor, Action: string(ActionSupervise),
				Note: "customer dissatisfied on the post-call survey; supervised until satisfied",
				From: strconv.Itoa(t.SuperviseCount), To: strconv.Itoa(t.SuperviseCount + 1)})
			t.SuperviseCount++
			supervised = true
		}
		return nil
	})
	if err != nil {
		return Ticket{}, false, err
	}
	return t, supervised, nil
}
