package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// loadYearFile reads one calendar/<year>.yaml file; its own problems are
// reported against that file, a failure to read it against the policy.
func loadYearFile(c checker, fp, file string, read reader, cal *Calendar) {
	data, display, err := read(file)
	if err != nil {
		c.errf(fp, "%v", err)
		return
	}
	var y rawYear
	root, err := decodeStrict(data, display, &y)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			*c.probs = append(*c.probs, pe.Problems...)
		}
		return
	}
	addYear(checker{name: display, root: root, probs: c.probs}, "", y, cal)
}

// addYear validates one year of data and adds it to cal. prefix is the
// field-path prefix of the year's fields ("" for a file, "calendar[2]." inline).
func addYear(c checker, prefix string, y rawYear, cal *Calendar) {
	if y.Year < 2000 || y.Year > 2100 {
		c.errf(prefix+"year", "required, between 2000 and 2100 (got %d)", y.Year)
		return
	}
	if cal.years[y.Year] {
		c.errf(prefix+"year", "%d is given twice", y.Year)
		return
	}
	if len(y.Holidays) == 0 {
		c.errf(prefix+"holidays", "no holidays for %d: a year without public holidays is a mistake", y.Year)
	}
	holidays := map[civil]string{}
	workdays := map[civil]string{}
	expand := func(fp string, d rawDays) []civil {
		if strings.TrimSpace(d.Name) == "" {
			c.errf(fp+".name", "required")
		}
		var from, to civil
		var ok bool
		switch {
		case d.Date != "" && (d.From != "" || d.To != ""):
			c.errf(fp, "give date, or from and to, not both")
			return nil
		case d.Date != "":
			if from, ok = parseDate(c, fp+".date", d.Date, y.Year); !ok {
				return nil
			}
			to = from
		case d.From != "" && d.To != "":
			f, ok1 := parseDate(c, fp+".from", d.From, y.Year)
			t, ok2 := parseDate(c, fp+".to", d.To, y.Year)
			if !ok1 || !ok2 {
				return nil
			}
			from, to = f, t
		default:
			c.errf(fp, "give date, or from and to")
			return nil
		}
		start := time.Date(from.y, from.m, from.d, 0, 0, 0, 0, time.UTC)
		end := time.Date(to.y, to.m, to.d, 0, 0, 0, 0, time.UTC)
		if end.Before(start) {
			c.errf(fp+".to", "%s is before %s", d.To, d.From)
			return nil
		}
		var out []civil
		for t := start; !t.After(end); t = t.AddDate(0, 0, 1) {
			out = append(out, civil{t.Year(), t.Month(), t.Day()})
		}
		return out
	}
	for i, d := range y.Holidays {
		fp := fmt.Sprintf("%sholidays[%d]", prefix, i)
		for _, day := range expand(fp, d) {
			if prev, dup := holidays[day]; dup {
				c.errf(fp, "%s is already a holiday (%s)", fmtCivil(day), prev)
			}
			holidays[day] = d.Name
		}
	}
	for i, d := range y.Workdays {
		fp := fmt.Sprintf("%sworkdays[%d]", prefix, i)
		for _, day := range expand(fp, d) {
			wd := time.Date(day.y, day.m, day.d, 0, 0, 0, 0, time.UTC).Weekday()
			switch {
			case wd != time.Saturday && wd != time.Sunday:
				// Only a weekend day can be "made" a working day; a
				// weekday here is a transcription error.
				c.errf(fp, "%s is a %s, already a working day (workdays lists weekend days worked, 调休)", fmtCivil(day), wd)
			case holidays[day] != "":
				c.errf(fp, "%s is also listed as a holiday (%s)", fmtCivil(day), holidays[day])
			}
			workdays[day] = d.Name
		}
	}
	cal.years[y.Year] = true
	for d, n := range holidays {
		cal.holidays[d] = n
	}
	for d, n := range workdays {
		cal.workdays[d] = n
	}
}

func parseDate(c checker, fp, s string, year int) (civil, bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		c.errf(fp, "bad date %q: want YYYY-MM-DD", s)
		return civil{}, false
	}
	if t.Year() != year {
		c.errf(fp, "%s is not in %d", s, year)
		return civil{}, false
	}
	return civil{t.Year(), t.Month(), t.Day()}, true
}

func fmtCivil(d civil) string { return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d) }

// calendarWarnings reports coverage that will make working-day deadlines
// fall back to Monday–Friday.
func calendarWarnings(cal *Calendar) []string {
	ys := cal.Years()
	if len(ys) == 0 {
		return []string{"calendar: no holiday data; working days are Monday–Friday only"}
	}
	var w []string
	for i := 1; i < len(ys); i++ {
		for y := ys[i-1] + 1; y < ys[i]; y++ {
			w = append(w, fmt.Sprintf("calendar: no holiday data for %d; working days that year are Monday–Friday only", y))
		}
	}
	return w
}
