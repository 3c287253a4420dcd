package policy

import (
	"math"
	"time"
)

// Scoring is how complaints score a supply station (seed 001 §7.3). A
// malicious complaint scores nothing; that is a rule, not a figure.
type Scoring struct {
	NotByPlan        float64 // each 95598/12398 complaint the station did not handle by the plan (−1)
	MissingReport    float64 // each complaint whose course and cause were not reported in writing (−0.2)
	IncompleteRecord float64 // each gap in a complaint's record (−0.2)
	Averted          float64 // each complaint averted by contacting the customer (+0.3)
}

// EarlyWarning holds the early-warning thresholds (seeds 000 and 001).
type EarlyWarning struct {
	// OutageWindow, OutageWarningAt, OutageStudyAt: a line or transformer
	// with OutageWarningAt outages within OutageWindow gets a warning, one
	// with OutageStudyAt or more a special study (seed 000: 2 and 3 a year).
	OutageWindow    Span
	OutageWarningAt int
	OutageStudyAt   int
	// HotSpotWindow and HotSpotMin: an area or complaint subject with
	// HotSpotMin or more complaints within the moving HotSpotWindow is a
	// hot spot.
	HotSpotWindow Span
	HotSpotMin    int
	// Top bounds the hot spots and flagged lines listed in metrics and
	// alerts (the report lists all of them).
	Top int
}

// OutagePolicy is how declared outages are told and watched.
type OutagePolicy struct {
	// OverrunGrace: an active outage this long past its expected restore
	// time with nobody updating it is overrun (an alert for the operators;
	// callers hear "taking longer than expected" from the restore time on).
	OverrunGrace time.Duration
	// AutoReports fault reports from one transformer within AutoWithin
	// declare an unconfirmed outage there, for a supervisor to confirm or
	// clear. AutoReports 0 turns it off.
	AutoReports int
	AutoWithin  time.Duration
}

// ReportPolicy holds the complaint report's figures.
type ReportPolicy struct {
	SatisfactionTarget float64 // follow-up satisfaction below this costs points (0.95)
	RepeatMin          int     // complaints from one number in the period that make it a repeat caller
}

// Scoring returns the station scoring figures.
func (p *Policy) Scoring() Scoring { return p.scoring }

// EarlyWarning returns the early-warning thresholds.
func (p *Policy) EarlyWarning() EarlyWarning { return p.warn }

// Outages returns the outage figures.
func (p *Policy) Outages() OutagePolicy { return p.outages }

// Report returns the complaint report's figures.
func (p *Policy) Report() ReportPolicy { return p.report }

// OutageLevel says what an outage count within OutageWindow calls for:
// "study" (a special study), "warning", or "" (nothing).
func (w EarlyWarning) OutageLevel(n int) string {
	switch {
	case w.OutageStudyAt > 0 && n >= w.OutageStudyAt:
		return "study"
	case w.OutageWarningAt > 0 && n >= w.OutageWarningAt:
		return "warning"
	}
	return ""
}

// ValidReportSubject reports whether id is a report (举报) subject.
func (p *Policy) ValidReportSubject(id string) bool {
	for _, s := range p.reportSubjects {
		if s.ID == id {
			return true
		}
	}
	return false
}

// ValidClass reports whether id is a complaint class.
func (p *Policy) ValidClass(id string) bool {
	for _, c := range p.classes {
		if c.ID == id {
			return true
		}
	}
	return false
}

// HasSubtype reports whether the policy lists sub-type st for ticket type
// typ (for complaints, the sub-types are classes that have limits of their
// own).
func (p *Policy) HasSubtype(typ, st string) bool {
	tl, ok := p.limits[typ]
	if !ok {
		return false
	}
	_, ok = tl.sub[st]
	return ok
}

// Subtypes lists the sub-types the policy gives limits for, per type.
func (p *Policy) Subtypes(typ string) []string {
	tl, ok := p.limits[typ]
	if !ok {
		return nil
	}
	return sortedKeys(tl.sub)
}

// The raw* types of the governance sections; see load.go.
type rawScoring struct {
	NotByPlan        *float64 `yaml:"not_by_plan"`
	MissingReport    *float64 `yaml:"missing_report"`
	IncompleteRecord *float64 `yaml:"incomplete_record"`
	Averted          *float64 `yaml:"averted"`
}

type rawWarnings struct {
	OutageWindow    string `yaml:"outage_window"`
	OutageWarningAt int    `yaml:"outage_warning_at"`
	OutageStudyAt   int    `yaml:"outage_study_at"`
	HotSpotWindow   string `yaml:"hot_spot_window"`
	HotSpotMin      int    `yaml:"hot_spot_min"`
	Top             int    `yaml:"top"`
}

type rawOutages struct {
	OverrunGrace string         `yaml:"overrun_grace"`
	AutoDeclare  rawAutoDeclare `yaml:"auto_declare"`
}

type rawAutoDeclare struct {
	Reports *int   `yaml:"reports"`
	Within  string `yaml:"within"`
}

type rawReport struct {
	SatisfactionTarget *float64 `yaml:"satisfaction_target"`
	RepeatMin          int      `yaml:"repeat_min"`
}

// parseGovernance reads scoring, warnings, outages and report.
func parseGovernance(c checker, p *Policy, sc rawScoring, w rawWarnings, o rawOutages, r rawReport,
	span func(fieldPath, s string, required bool) Span) {
	score := func(fp string, v *float64, positive bool) float64 {
		switch {
		case v == nil:
			c.errf(fp, "required (seed 001 §7.3 gives its figure)")
			return 0
		case math.IsNaN(*v) || math.IsInf(*v, 0) || math.Abs(*v) > 100:
			c.errf(fp, "%v is not a score", *v)
		case positive && *v < 0:
			c.errf(fp, "is a reward: must not be negative (got %v)", *v)
		case !positive && *v > 0:
			c.errf(fp, "is a penalty: must not be positive (got %v; write -1 for one point off)", *v)
		}
		return *v
	}
	p.scoring = Scoring{
		NotByPlan:        score("scoring.not_by_plan", sc.NotByPlan, false),
		MissingReport:    score("scoring.missing_report", sc.MissingReport, false),
		IncompleteRecord: score("scoring.incomplete_record", sc.IncompleteRecord, false),
		Averted:          score("scoring.averted", sc.Averted, true),
	}

	p.warn = EarlyWarning{
		OutageWindow: span("warnings.outage_window", w.OutageWindow, true), OutageWarningAt: w.OutageWarningAt, OutageStudyAt: w.OutageStudyAt,
		HotSpotWindow: span("warnings.hot_spot_window", w.HotSpotWindow, true), HotSpotMin: w.HotSpotMin, Top: w.Top,
	}
	switch {
	case w.OutageWarningAt < 1:
		c.errf("warnings.outage_warning_at", "must be at least 1 (seed 000: 2 outages a year)")
	case w.OutageStudyAt <= w.OutageWarningAt:
		c.errf("warnings.outage_study_at", "must be more than outage_warning_at (%d) (seed 000: 3 or more)", w.OutageWarningAt)
	}
	if w.HotSpotMin < 1 {
		c.errf("warnings.hot_spot_min", "must be at least 1")
	}
	if w.Top < 1 || w.Top > 50 {
		c.errf("warnings.top", "must be from 1 to 50 (it bounds metric labels)")
	}

	grace := span("outages.overrun_grace", o.OverrunGrace, true)
	if !grace.IsZero() && grace.Unit != Clock {
		c.errf("outages.overrun_grace", "must be a clock duration such as \"30m\", not %q", o.OverrunGrace)
	}
	p.outages.OverrunGrace = grace.Clock
	ad := o.AutoDeclare
	switch {
	case ad.Reports == nil:
		c.errf("outages.auto_declare.reports", "required (0 turns automatic declaration off)")
	case *ad.Reports == 0:
		if ad.Within != "" {
			c.errf("outages.auto_declare.within", "is not used when reports is 0 (automatic declaration off): remove it")
		}
	case *ad.Reports < 2:
		c.errf("outages.auto_declare.reports", "must be 0 (off) or at least 2: one report is not an outage")
	default:
		p.outages.AutoReports = *ad.Reports
		within := span("outages.auto_declare.within", ad.Within, true)
		if !within.IsZero() && within.Unit != Clock {
			c.errf("outages.auto_declare.within", "must be a clock duration such as \"15m\", not %q", ad.Within)
		}
		p.outages.AutoWithin = within.Clock
	}

	switch t := r.SatisfactionTarget; {
	case t == nil:
		c.errf("report.satisfaction_target", "required (State Grid: below 0.95 costs points)")
	case *t <= 0 || *t > 1 || math.IsNaN(*t):
		c.errf("report.satisfaction_target", "must be a share above 0 and at most 1, e.g. 0.95 (got %v)", *t)
	default:
		p.report.SatisfactionTarget = *t
	}
	if r.RepeatMin < 2 {
		c.errf("report.repeat_min", "must be at least 2: one complaint is not a repeat")
	}
	p.report.RepeatMin = r.RepeatMin
}
