package report

import (
	"cmp"
	"slices"
)

// Post-call survey answers in Item.Survey; "" means no survey on the order.
const (
	SurveySatisfied    = "satisfied"
	SurveyFair         = "fair"
	SurveyDissatisfied = "dissatisfied"
	SurveyNone         = "none" // asked, no valid key
)

// SurveyCounts are the post-call survey answers (the latest per order) of
// one queue or agent (Key), or of all orders (Key "").
type SurveyCounts struct {
	Key          string `json:"key"`
	Satisfied    int    `json:"satisfied"`
	Fair         int    `json:"fair"`
	Dissatisfied int    `json:"dissatisfied"`
	None         int    `json:"none"`
	// Rate is Satisfied over the answers given (satisfied, fair,
	// dissatisfied); Known is false when none was given.
	Rate  float64 `json:"rate"`
	Known bool    `json:"known"`
	Low   bool    `json:"low"` // known and below the satisfaction target
}

func (s *SurveyCounts) add(answer string) {
	switch answer {
	case SurveySatisfied:
		s.Satisfied++
	case SurveyFair:
		s.Fair++
	case SurveyDissatisfied:
		s.Dissatisfied++
	case SurveyNone:
		s.None++
	}
}

func (s *SurveyCounts) finish(target float64) {
	if given := s.Satisfied + s.Fair + s.Dissatisfied; given > 0 {
		s.Rate, s.Known = ratio(s.Satisfied, given), true
		s.Low = target > 0 && s.Rate < target
	}
}

// surveys tallies the survey answers of the period's orders: all, per
// queue and per agent, and of complaints.
type surveys struct {
	all, complaints SurveyCounts
	byQueue         map[string]*SurveyCounts
	byAgent         map[string]*SurveyCounts
}

func (s *surveys) add(it Item) {
	if it.Survey == "" {
		return
	}
	if s.byQueue == nil {
		s.byQueue, s.byAgent = map[string]*SurveyCounts{}, map[string]*SurveyCounts{}
	}
	s.all.add(it.Survey)
	if it.Type == TypeComplaint {
		s.complaints.add(it.Survey)
	}
	tallySurvey(s.byQueue, it.SurveyQueue, it.Survey)
	tallySurvey(s.byAgent, it.SurveyAgent, it.Survey)
}

func tallySurvey(m map[string]*SurveyCounts, key, answer string) {
	c := m[key]
	if c == nil {
		c = &SurveyCounts{Key: key}
		m[key] = c
	}
	c.add(answer)
}

// finish puts the tallies into r.
func (s *surveys) finish(r *Report, target float64) {
	r.Survey, r.SurveyComplaints = s.all, s.complaints
	r.Survey.finish(target)
	r.SurveyComplaints.finish(target)
	r.SurveyByQueue, r.SurveyByAgent = surveyRows(s.byQueue, target), surveyRows(s.byAgent, target)
}

func surveyRows(m map[string]*SurveyCounts, target float64) []SurveyCounts {
	out := make([]SurveyCounts, 0, len(m))
	for _, c := range m {
		c.finish(target)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b SurveyCounts) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
