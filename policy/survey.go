package policy

import (
	"strings"
	"time"
)

// Survey is the post-call satisfaction survey: when the agent hangs up
// first and the caller is still on the line, the caller is asked to rate
// the call (1 satisfied, 2 fair, 3 dissatisfied).
type Survey struct {
	// AfterAgentCall turns the survey on for calls the agent ended.
	AfterAgentCall bool
	// Timeout is how long the caller has to press a key once the question
	// has been heard.
	Timeout time.Duration
	// MaxAttempts is how many times the question is asked (an invalid key
	// or silence asks again) before the hotline thanks the caller and
	// ends the call with no answer recorded.
	MaxAttempts int
}

// Our choice: seeds 002 and 003 ask for satisfaction measured after the
// service but set no figures. Five seconds is the menu's own wait for a
// key; two askings forgive one slip without keeping a caller who does not
// want to answer on the line for long.
var defaultSurvey = Survey{AfterAgentCall: true, Timeout: 5 * time.Second, MaxAttempts: 2}

// Survey returns the post-call survey policy.
func (p *Policy) Survey() Survey {
	if p.survey.MaxAttempts == 0 {
		return defaultSurvey
	}
	return p.survey
}

type rawSurvey struct {
	AfterAgentCall string `yaml:"after_agent_call"`
	Timeout        string `yaml:"timeout"`
	MaxAttempts    *int   `yaml:"max_attempts"`
}

// Bounds of the survey's figures: a wait under a second cannot be met by a
// person, one over a minute keeps a silent caller on the line for nothing;
// more than five askings is badgering.
const (
	minSurveyTimeout  = time.Second
	maxSurveyTimeout  = time.Minute
	maxSurveyAttempts = 5
)

func parseSurvey(c checker, raw rawSurvey) Survey {
	s := defaultSurvey
	switch v := strings.TrimSpace(raw.AfterAgentCall); v {
	case "":
	case "true":
		s.AfterAgentCall = true
	case "false":
		s.AfterAgentCall = false
	default:
		c.errf("survey.after_agent_call", "must be true or false, not %q", raw.AfterAgentCall)
	}
	if t := strings.TrimSpace(raw.Timeout); t != "" {
		v, err := ParseSpan(t)
		switch {
		case err != nil:
			c.errf("survey.timeout", "%v", err)
		case v.Unit != Clock || v.Clock < minSurveyTimeout || v.Clock > maxSurveyTimeout:
			c.errf("survey.timeout", "%q must be a clock duration from 1s to 1m, such as 5s", t)
		default:
			s.Timeout = v.Clock
		}
	}
	if raw.MaxAttempts != nil {
		if n := *raw.MaxAttempts; n < 1 || n > maxSurveyAttempts {
			c.errf("survey.max_attempts", "%d is not a number of askings from 1 to %d", n, maxSurveyAttempts)
		} else {
			s.MaxAttempts = n
		}
	}
	return s
}
