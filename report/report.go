// Package report builds the complaint analysis report for a period (投诉分析报告):
// totals by work-order type, complaints by class, subject, area and grade, repeat
// complaints, the overdue rate, follow-up (回访) satisfaction and the hot spots,
// and renders it as a long-format CSV or a self-contained HTML page with charts.
//
// The package has its own input type, Item, so that it does not depend on the
// tickets store; the caller converts work orders into Items.
//
// Every analysis except the totals by type is over complaints only
// (Item.Type == TypeComplaint) created in the period.
package report

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// TypeComplaint is the Item.Type of a complaint (投诉), as in the tickets package.
const TypeComplaint = "complaint"

// Follow-up (回访) outcomes in Item.FollowUp; "" means no follow-up yet.
const (
	FollowUpSatisfied   = "satisfied"
	FollowUpUnsatisfied = "unsatisfied"
	FollowUpNoAnswer    = "no_answer"
)

// Policy defaults. They are policy values: pass the configured ones through
// Options; these apply only when an Options field is zero.
const (
	// DefaultSatisfactionTarget: a callback satisfaction below 95% costs points.
	DefaultSatisfactionTarget = 0.95
	// DefaultHotSpots is how many areas and subjects the hot-spot lists hold.
	DefaultHotSpots = 5
	// DefaultRepeatMin is how many complaints from one phone in the period
	// make it a repeat caller.
	DefaultRepeatMin = 2
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
}

// Labels maps ids to Chinese display names; an id with no entry shows as itself.
type Labels struct {
	Classes  map[string]string
	Subjects map[string]string
	Types    map[string]string
}

// Options are the policy values of a report; zero fields take the defaults.
type Options struct {
	SatisfactionTarget float64 // default DefaultSatisfactionTarget
	HotSpots           int     // default DefaultHotSpots
	RepeatMin          int     // default DefaultRepeatMin
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

	// Labels fill the label column of WriteCSV; zero means ids only.
	Labels Labels `json:"-"`
}

// Build computes the report for items created in [from, to) with the default
// policy values. A zero from or to leaves that end of the period open. now is
// the instant open orders are judged overdue at.
func Build(items []Item, from, to time.Time, now time.Time) Report {
	return BuildWith(items, from, to, now, Options{})
}

// BuildWith is Build with explicit policy values.
func BuildWith(items []Item, from, to time.Time, now time.Time, opt Options) Report {
	if opt.SatisfactionTarget <= 0 {
		opt.SatisfactionTarget = DefaultSatisfactionTarget
	}
	if opt.HotSpots <= 0 {
		opt.HotSpots = DefaultHotSpots
	}
	if opt.RepeatMin <= 0 {
		opt.RepeatMin = DefaultRepeatMin
	}
	r := Report{From: from, To: to, GeneratedAt: now, SatisfactionTarget: opt.SatisfactionTarget}

	types := map[string]int{}
	classes, subjects, areas, grades := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	var complaints []Item
	for _, it := range items {
		if !from.IsZero() && it.CreatedAt.Before(from) {
			continue
		}
		if !to.IsZero() && !it.CreatedAt.Before(to) {
			continue
		}
		r.Total++
		types[it.Type]++
		if it.Type != TypeComplaint {
			continue
		}
		complaints = append(complaints, it)
		classes[it.Class]++
		subjects[it.Subject]++
		areas[it.Area]++
		grades[it.Grade]++
		if IsOverdue(it, now) {
			r.Overdue++
		}
		switch it.FollowUp {
		case FollowUpSatisfied:
			r.Satisfied++
		case FollowUpUnsatisfied:
			r.Unsatisfied++
		case FollowUpNoAnswer:
			r.NoAnswer++
		}
		if it.Escalations > 0 {
			r.Escalated++
		}
		if it.RepeatCalls > 0 {
			r.RepeatCallTickets++
		}
	}
	r.Complaints = len(complaints)
	r.ByType = counts(types, r.Total)
	r.ByClass = counts(classes, r.Complaints)
	r.BySubject = counts(subjects, r.Complaints)
	r.ByArea = counts(areas, r.Complaints)
	r.ByGrade = counts(grades, r.Complaints)
	slices.SortFunc(r.ByGrade, func(a, b Count) int { return cmp.Compare(a.Key, b.Key) })
	r.HotAreas = top(r.ByArea, opt.HotSpots)
	r.HotSubjects = top(r.BySubject, opt.HotSpots)
	r.OverdueRate = ratio(r.Overdue, r.Complaints)
	if answered := r.Satisfied + r.Unsatisfied; answered > 0 {
		r.Satisfaction = ratio(r.Satisfied, answered)
		r.SatisfactionKnown = true
		r.SatisfactionLow = r.Satisfaction < opt.SatisfactionTarget
	}
	r.RepeatCallers, r.RepeatComplaints = repeats(complaints, opt.RepeatMin)
	return r
}

// IsOverdue reports whether it missed its answer deadline as seen at now: it is
// flagged Overdue, or it was closed after AnswerBy, or it is still open (zero
// ClosedAt) and now is past AnswerBy. Meeting the deadline to the instant is on
// time; an order with no AnswerBy is overdue only when flagged.
func IsOverdue(it Item, now time.Time) bool {
	if it.Overdue {
		return true
	}
	if it.AnswerBy.IsZero() {
		return false
	}
	if it.ClosedAt.IsZero() {
		return now.After(it.AnswerBy)
	}
	return it.ClosedAt.After(it.AnswerBy)
}

// repeats groups complaints by phone. It returns the repeat callers and the
// number of complaints that are repeats (from a repeat caller, or with
// RepeatCalls > 0).
func repeats(complaints []Item, minCount int) ([]RepeatCaller, int) {
	byPhone := map[string][]Item{}
	for _, it := range complaints {
		if p := strings.TrimSpace(it.Phone); p != "" {
			byPhone[p] = append(byPhone[p], it)
		}
	}
	type caller struct {
		phone string
		items []Item
	}
	var callers []caller
	for p, its := range byPhone {
		if len(its) >= minCount {
			callers = append(callers, caller{p, its})
		}
	}
	n := 0
	for _, it := range complaints {
		p := strings.TrimSpace(it.Phone)
		if it.RepeatCalls > 0 || (p != "" && len(byPhone[p]) >= minCount) {
			n++
		}
	}
	slices.SortFunc(callers, func(a, b caller) int {
		if c := cmp.Compare(len(b.items), len(a.items)); c != 0 {
			return c
		}
		return cmp.Compare(a.phone, b.phone)
	})
	out := make([]RepeatCaller, 0, len(callers))
	for _, c := range callers {
		its := slices.Clone(c.items)
		slices.SortStableFunc(its, func(a, b Item) int { return a.CreatedAt.Compare(b.CreatedAt) })
		rc := RepeatCaller{Phone: MaskPhone(c.phone), Count: len(its)}
		for _, it := range its {
			rc.Tickets = append(rc.Tickets, it.ID)
			if it.Area != "" && !slices.Contains(rc.Areas, it.Area) {
				rc.Areas = append(rc.Areas, it.Area)
			}
		}
		slices.Sort(rc.Areas)
		out = append(out, rc)
	}
	return out, n
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
