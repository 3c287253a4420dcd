package outages

import "time"

// Speech is what a caller covered by an outage hears about it before the
// menu: the prompts (catalogue ids) before the expected restore time, the
// time itself (zero: none is read), and the prompts after it.
type Speech struct {
	Before  []string
	Restore time.Time
	After   []string
}

// Speech decides what to tell a caller about the outage at now. It never
// reads out a restore time that has passed: past it, callers hear that
// restoration is taking longer than expected, until an operator gives a
// new time (Update), which they then hear. An outage the hotline declared
// by itself and nobody has confirmed yet is told as reports being checked.
func (o Outage) Speech(now time.Time) Speech {
	still := []string{"outage_still_report"}
	switch {
	case o.Unconfirmed:
		return Speech{Before: []string{"outage_suspected"}, After: still}
	case o.Late(now) && o.Kind == KindPlanned:
		return Speech{Before: []string{"outage_planned_late"}, After: still}
	case o.Late(now):
		return Speech{Before: []string{"outage_late"}, After: still}
	}
	intro := "outage_notice"
	if o.Kind == KindPlanned {
		intro = "outage_planned"
	}
	if o.ExpectedRestore.IsZero() {
		return Speech{Before: []string{intro, "outage_unknown_restore"}, After: still}
	}
	return Speech{Before: []string{intro}, Restore: o.ExpectedRestore, After: still}
}
