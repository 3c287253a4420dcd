package callflow

import (
	"context"
	"errors"

	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/hold"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/tickets"
)

// surveyKeys maps the keys of the post-call survey to its answers.
var surveyKeys = map[string]string{"1": cdr.SurveySatisfied, "2": cdr.SurveyFair, "3": cdr.SurveyDissatisfied}

// survey asks the caller to rate the call when the agent hung up first and
// the caller is still on the line (the policy's survey.after_agent_call):
// "1 satisfied, 2 fair, 3 dissatisfied". An invalid key or silence asks
// again up to survey.max_attempts, then the caller is thanked and the
// answer is none. A caller who hung up first is not asked. The answer
// goes on the call record (writeRecord), the call's work order (where a
// dissatisfied complaint is supervised) and the metrics.
func (f *Flow) survey(ctx context.Context, c *call, res hold.Result) {
	pol := f.cfg.Survey
	if !pol.AfterAgentCall || res.Outcome != hold.Connected || !res.AgentHungUp || c.sess.HungUp() || cutOff(ctx, c) {
		return
	}
	// Keys pressed while talking to the agent answer nothing.
	c.sess.DropTypeahead()
	answer, bye := f.askSurvey(ctx, c)
	c.survey = answer
	c.log.Info().Str("survey", answer).Str("agent", res.Agent).Str("queue", res.Queue).Msg("post-call survey")
	f.m.SurveyAnswers.WithLabelValues(res.Queue, res.Agent, answer).Inc()
	f.surveyOnOrder(ctx, c, res, answer)
	if bye != "" {
		_ = c.sess.Say(ctx, c.media(bye)...) // a caller who hangs up now has answered all the same
	}
}

// askSurvey plays the question and reads the key the way the menu reads
// one: a key cuts the question short; an invalid key or none asks again,
// after "invalid input" or "no key received". It returns the answer and
// the prompt that ends the call ("" when the caller is gone). A flood of
// keys is read one key at a time: the first valid one answers.
func (f *Flow) askSurvey(ctx context.Context, c *call) (answer, bye string) {
	pol := f.cfg.Survey
	var before []string // the apology for the last try, heard with the next question
	for range pol.MaxAttempts {
		key, err := c.sess.Collect(ctx, ivr.Collect{Media: join(before, c.media("survey_ask")), Match: ivr.OneOf("123"),
			Timeout: pol.Timeout})
		switch {
		case err == nil:
			a := surveyKeys[key]
			if a == cdr.SurveyDissatisfied {
				return a, "survey_sorry"
			}
			return a, "followup_thanks"
		case errors.Is(err, ivr.ErrInvalid):
			before = c.media("invalid_input")
		case errors.Is(err, ivr.ErrNoInput):
			before = c.media("no_input")
		default: // hung up, or the call's context ended
			return cdr.SurveyNone, ""
		}
	}
	if err := c.sess.Say(ctx, before...); err != nil {
		return cdr.SurveyNone, ""
	}
	return cdr.SurveyNone, "goodbye"
}

// surveyOnOrder records the answer on the call's work order (the one its
// record names). The caller may hang up at any moment: it is written all
// the same. A failure is logged and counted; the record still has it.
func (f *Flow) surveyOnOrder(ctx context.Context, c *call, res hold.Result, answer string) {
	id := c.ticket
	if id == "" {
		id = c.open
	}
	if id == "" {
		return
	}
	_, supervised, err := f.orders.RecordSurvey(context.WithoutCancel(ctx), id,
		tickets.Survey{Answer: answer, CallID: c.id, Agent: res.Agent, Queue: res.Queue})
	if err != nil {
		f.m.RedisErrors.WithLabelValues("survey").Inc()
		c.log.Error().Err(err).Str("ticket_id", id).Msg("record the survey answer on the work order")
		return
	}
	if supervised {
		// c.log names the call's own ticket already; an open order it
		// only found is named here.
		l := c.log.Info()
		if id != c.ticket {
			l = l.Str("ticket_id", id)
		}
		l.Msg("dissatisfied with a complaint's call: supervised (督办)")
	}
}
