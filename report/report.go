// Package report builds the complaint analysis report for a period (投诉分析报告):
// totals by work-order type, complaints by class, subject, area and grade, repeat
// complaints, the overdue rate, follow-up (回访) satisfaction and the hot spots,
// and renders it as a long-format CSV or a self-contained HTML page with charts.
//
// The package has its own input type, Item, so that it does not depend on the
// tickets store; the caller converts work orders into Items.
//
// The analyses are over complaints (Item.Type == TypeComplaint) created in
// the period, except the totals by type, the reports (举报), the 12398 track
// and the satisfaction per queue and per station, which cover every order.
// A Builder takes the orders one at a time, so a period of any size is
// read in pages and never held whole.
package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/hotline95598/hotline/policy"
)

// TypeComplaint and TypeReport are the Item.Type of a complaint (投诉) and a
// report (举报), as in the tickets package.
const (
	TypeComplaint = "complaint"
	TypeReport    = "report"
)

// Follow-up (回访) outcomes in Item.FollowUp; "" means no follow-up yet.
const (
	FollowUpSatisfied   = "satisfied"
	FollowUpUnsatisfied = "unsatisfied"
	FollowUpNoAnswer    = "no_answer"
)

// Item is one work order as the report sees it.
type Item struct {
	ID       string
	Type     string // "complaint", "fault", ...
	Status   string
	Class    string // complaint class id (服务, 营业, 停送电, ...)
	Subject  string // complaint subject id
	Area     string
	Phone    string // normalised caller number; never shown unmasked
	Grade    string // complaint event grade, e.g. "I".."V"
	FollowUp string // "satisfied" | "unsatisfied" | "no_answer" | ""

	CreatedAt time.Time
	AnswerBy  time.Time // answer deadline; zero when there is none
	ClosedAt  time.Time // zero while the order is open

	Overdue     bool // already known to be overdue (e.g. flagged by the store)
	RepeatCalls int  // further calls the customer made about this order
	Escalations int  // times the order went up the escalation ladder

	// AnsweredAt is when the answer deadline was met (the resolution); when
	// set, IsOverdue judges AnswerBy by it rather than by ClosedAt.
	AnsweredAt time.Time
	Channel    string // 95598, 12398, …
	Queue      string // the agent queue its caller was answered in ("" none)
	Decision   string // upheld, not_upheld, malicious, averted, ""
	// NotByPlan: some deadline of the order was broken (it was not handled
	// by the plan). RegulatorBreached: a 12398 item missed its limit.
	NotByPlan         bool
	RegulatorBreached bool
	Investigated      bool     // the investigation report (cause, measure) is on record
	Handled           bool     // resolved, awaiting follow-up or closed
	Missing           []string // gaps in the record (one penalty each)
	Escalated         bool     // reached the top rung (leadership)
	// Survey is the latest post-call survey answer of a call about the
	// order ("" none), with the agent and queue of that call.
	Survey, SurveyAgent, SurveyQueue string
}

// Labels maps ids to Chinese display names; an id with no entry shows as itself.
type Labels struct {
	Classes        map[string]string
	Subjects       map[string]string
	Types          map[string]string
	ReportSubjects map[string]string
}

// Options are the policy values of a report (see DefaultOptions).
type Options struct {
	SatisfactionTarget float64 // satisfaction below this is flagged; 0: no target
	HotSpots           int     // rows of the hot-spot lists (the policy's warnings.top)
	RepeatMin          int     // complaints from one phone that make a repeat caller
	Scoring            Scoring
	// HotFrom and HotTo are the moving window of the hot-spot warning and
	// HotMin its threshold; items in the window count even when it reaches
	// back before the report's period. A zero window means no warning.
	HotFrom, HotTo time.Time
	HotMin         int
	// OutageRepeats are the lines and transformers flagged for repeated
	// outages, worked out by the caller from its outage records.
	OutageRepeats []OutageRepeat
}

// Scoring is a station's score per event (seed 001 §7.3; policy figures).
type Scoring struct {
	NotByPlan, MissingReport, IncompleteRecord, Averted float64
}

// DefaultOptions are the figures of the built-in policy file.
func DefaultOptions() Options {
	p := policy.Default()
	sc := p.Scoring()
	return Options{SatisfactionTarget: p.Report().SatisfactionTarget, HotSpots: p.EarlyWarning().Top,
		RepeatMin: p.Report().RepeatMin, HotMin: p.EarlyWarning().HotSpotMin,
		Scoring: Scoring{NotByPlan: sc.NotByPlan, MissingReport: sc.MissingReport, IncompleteRecord: sc.IncompleteRecord, Averted: sc.Averted}}
}

// Count is one row of a breakdown. Share is Count over the section's base:
// all tickets for the type breakdown, complaints for the others.
type Count struct {
	Key   string  `json:"key"` // "" means not specified
	Count int     `json:"count"`
	Share float64 `json:"share"`
}

// RepeatCaller is a phone with RepeatMin or more complaints in the period.
// Phone is already masked (138****8000): a Report never holds a full number.
type RepeatCaller struct {
	Phone   string   `json:"phone"`
	Count   int      `json:"count"`
	Tickets []string `json:"tickets"` // ids, oldest first
	Areas   []string `json:"areas"`   // distinct, sorted
}

// Report is the complaint analysis of the period [From, To).
type Report struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	GeneratedAt time.Time `json:"generated_at"` // the now passed to Build

	Total  int     `json:"total"` // work orders of every type in the period
	ByType []Count `json:"by_type"`

	Complaints int     `json:"complaints"`
	ByClass    []Count `json:"by_class"`   // count descending, ties by id
	BySubject  []Count `json:"by_subject"` // count descending, ties by id
	ByArea     []Count `json:"by_area"`    // count descending, ties by id
	ByGrade    []Count `json:"by_grade"`   // by grade id ascending (I before V)

	// RepeatComplaints counts complaints from a repeat caller or with
	// RepeatCalls > 0, each complaint once.
	RepeatComplaints  int            `json:"repeat_complaints"`
	RepeatCallTickets int            `json:"repeat_call_tickets"` // RepeatCalls > 0
	RepeatCallers     []RepeatCaller `json:"repeat_callers"`      // count descending

	Overdue     int     `json:"overdue"`
	OverdueRate float64 `json:"overdue_rate"` // over complaints; 0 when none

	Satisfied   int `json:"satisfied"`
	Unsatisfied int `json:"unsatisfied"`
	NoAnswer    int `json:"no_answer"`
	// Satisfaction is Satisfied / (Satisfied + Unsatisfied); SatisfactionKnown
	// is false when no follow-up was answered, and then SatisfactionLow is false.
	Satisfaction       float64 `json:"satisfaction"`
	SatisfactionKnown  bool    `json:"satisfaction_known"`
	SatisfactionTarget float64 `json:"satisfaction_target"`
	SatisfactionLow    bool    `json:"satisfaction_low"`

	Escalated int `json:"escalated"` // complaints with Escalations > 0

	HotAreas    []Count `json:"hot_areas"`    // top areas, unspecified left out
	HotSubjects []Count `json:"hot_subjects"` // top subjects, unspecified left out

	// RepeatTickets are the complaints their customer called about again,
	// most repeat calls first.
	RepeatTickets []RepeatTicket `json:"repeat_tickets"`

	// Reports (举报): how many, by subject, and overdue against their limit.
	Reports          int     `json:"reports"`
	ReportsBySubject []Count `json:"reports_by_subject"`
	ReportsOverdue   int     `json:"reports_overdue"`

	// Follow-up satisfaction of every order followed up (not only
	// complaints), per agent queue and per station (area); and of
	// complaints per subject (satisfaction by topic).
	SatisfactionByQueue   []Satisfaction `json:"satisfaction_by_queue"`
	SatisfactionByStation []Satisfaction `json:"satisfaction_by_station"`
	SatisfactionBySubject []Satisfaction `json:"satisfaction_by_subject"`

	// Post-call survey (asked when the agent hung up first) of every
	// order with one, of complaints, and per agent queue and per agent;
	// the latest answer of each order counts.
	Survey           SurveyCounts   `json:"survey"`
	SurveyComplaints SurveyCounts   `json:"survey_complaints"`
	SurveyByQueue    []SurveyCounts `json:"survey_by_queue"`
	SurveyByAgent    []SurveyCounts `json:"survey_by_agent"`

	Regulator Regulator      `json:"regulator"` // the 12398 track
	Scores    []StationScore `json:"scores"`    // per station, lowest score first
	Warnings  Warnings       `json:"warnings"`

	// Labels fill the label column of WriteCSV; zero means ids only.
	Labels Labels `json:"-"`
}

// RepeatTicket is a complaint its customer called about again.
type RepeatTicket struct {
	ID          string `json:"id"`
	Phone       string `json:"phone"` // masked
	Area        string `json:"area"`
	RepeatCalls int    `json:"repeat_calls"`
}

// Satisfaction is the follow-up verdicts of one queue, station or subject.
type Satisfaction struct {
	Key         string  `json:"key"`
	Satisfied   int     `json:"satisfied"`
	Unsatisfied int     `json:"unsatisfied"`
	NoAnswer    int     `json:"no_answer"`
	Rate        float64 `json:"rate"`  // Satisfied / (Satisfied + Unsatisfied)
	Known       bool    `json:"known"` // some follow-up was answered
	Low         bool    `json:"low"`   // known and below the target
}

// Regulator is the 12398 track: items escalated to the energy regulator,
// which must be closed within the policy's limit (10 working days).
type Regulator struct {
	Items        int `json:"items"`
	Closed       int `json:"closed"`
	ClosedOnTime int `json:"closed_on_time"`
	Breached     int `json:"breached"` // closed late, or open past the limit
	Open         int `json:"open"`
}

// StationScore is a supply station's (an area's) score for the period
// (seed 001 §7.3): complaints not handled by the plan, missing reports,
// gaps in the records, complaints averted; malicious complaints score
// nothing and are only counted.
type StationScore struct {
	Station        string  `json:"station"`
	Complaints     int     `json:"complaints"`
	NotByPlan      int     `json:"not_by_plan"`
	MissingReports int     `json:"missing_reports"`
	Incomplete     int     `json:"incomplete"`
	Averted        int     `json:"averted"`
	Malicious      int     `json:"malicious"`
	Score          float64 `json:"score"`
}

// Warnings are the early warnings: complaint hot spots in the moving
// window and lines or transformers with repeated outages.
type Warnings struct {
	HotFrom       time.Time      `json:"hot_from,omitzero"`
	HotTo         time.Time      `json:"hot_to,omitzero"`
	HotMin        int            `json:"hot_min"`
	HotSpots      []HotSpot      `json:"hot_spots"`
	OutageRepeats []OutageRepeat `json:"outage_repeats"`
}

// HotSpot is an area or subject with HotMin or more complaints in the
// moving window.
type HotSpot struct {
	Dimension string `json:"dimension"` // area or subject
	Key       string `json:"key"`
	Count     int    `json:"count"`
}

// OutageRepeat is a line or transformer with repeated outages.
type OutageRepeat struct {
	Place string `json:"place"` // line or transformer
	Name  string `json:"name"`
	Count int    `json:"count"`
	Level string `json:"level"` // warning or study
}

// Build computes the report for items created in [from, to) with the
// built-in policy's figures. A zero from or to leaves that end of the
// period open. now is the instant open orders are judged overdue at.
func Build(items []Item, from, to time.Time, now time.Time) Report {
	return BuildWith(items, from, to, now, DefaultOptions())
}

// BuildWith is Build with explicit policy values.
func BuildWith(items []Item, from, to time.Time, now time.Time, opt Options) Report {
	b := NewBuilder(from, to, now, opt)
	for _, it := range items {
		b.Add(it)
	}
	return b.Report()
}

// IsOverdue reports whether it missed its answer deadline as seen at now: it is
// flagged Overdue, or it was answered (AnsweredAt, else ClosedAt) after
// AnswerBy, or it is still open and now is past AnswerBy. Meeting the deadline to the instant is on
// time; an order with no AnswerBy is overdue only when flagged.
func IsOverdue(it Item, now time.Time) bool {
	if it.Overdue {
		return true
	}
	if it.AnswerBy.IsZero() {
		return false
	}
	if !it.AnsweredAt.IsZero() {
		return it.AnsweredAt.After(it.AnswerBy)
	}
	if it.ClosedAt.IsZero() {
		return now.After(it.AnswerBy)
	}
	return it.ClosedAt.After(it.AnswerBy)
}

// counts turns a tally into rows sorted by count descending, ties by id.
func counts(m map[string]int, base int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Key: k, Count: n, Share: ratio(n, base)})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

// top returns the first n rows with a specified key.
func top(rows []Count, n int) []Count {
	out := []Count{}
	for _, c := range rows {
		if len(out) == n {
			break
		}
		if c.Key != "" {
			out = append(out, c)
		}
	}
	return out
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// MaskPhone hides the middle of a number: 13812348000 -> 138****8000. Numbers
// of eleven or more characters keep their first three and last four; those of
// five to ten keep their last four; shorter ones keep their last two. Long
// numbers always get four stars, so the mask does not reveal the length.
func MaskPhone(p string) string {
	r := []rune(strings.TrimSpace(p))
	switch {
	case len(r) >= 11:
		return string(r[:3]) + "****" + string(r[len(r)-4:])
	case len(r) >= 5:
		return "****" + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	default:
		return strings.Repeat("*", len(r))
	}
}
