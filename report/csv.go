package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// bom is the UTF-8 byte-order mark: without it Excel reads the file as the
// local ANSI code page and garbles the Chinese.
const bom = "\ufeff"

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"section", "key", "label", "count", "share"}

// WriteCSV writes the report as a long-format CSV, one row per number:
// section,key,label,count,share. It starts with a UTF-8 BOM and uses CRLF line
// ends so Excel opens it directly. share is a fraction with four decimals, empty
// when it has no meaning. The label column comes from r.Labels (the id when a
// label is missing). Sections:
//
//	period       from / to / generated_at (RFC 3339 in the label column)
//	summary      tickets, complaints, overdue, satisfied, unsatisfied, no_answer,
//	             repeat_complaints, repeat_call_tickets, repeat_callers, escalated
//	type         work orders by type, share of all work orders
//	class, subject, area, grade
//	             complaints per id, share of complaints
//	hot_area, hot_subject
//	             the hot spots, in rank order
//	repeat_caller
//	             masked phone, its complaints, label = the ticket ids
//	repeat_ticket
//	             complaint id, label = masked phone, count = repeat calls
//	report_subject
//	             reports (举报) per subject, share of reports
//	regulator    the 12398 track: items, closed, closed_on_time, breached, open
//	satisfaction_queue, satisfaction_station, satisfaction_subject
//	             count = answered follow-ups, share = satisfaction rate,
//	             label = satisfied / unsatisfied / no answer
//	survey, survey_queue, survey_agent
//	             post-call survey: key = all / complaints, the queue or the
//	             agent; count = answers given, share = satisfied over them,
//	             label = satisfied / fair / dissatisfied / none
//	score        per station: count = complaints, share = the score (not a
//	             fraction), label = the events scored
//	hot_spot     dimension:key, complaints in the moving window
//	outage_repeat
//	             place:name, label = warning or study, count = outages
//
// Share of satisfied and unsatisfied is over the answered follow-ups, so the
// satisfied row's share is the satisfaction rate.
func (r Report) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	row := func(section, key, label string, count int, share string) {
		_ = cw.Write([]string{section, cell(key), cell(label), strconv.Itoa(count), share})
	}
	_ = cw.Write(CSVHeader)
	for _, p := range []struct {
		key string
		t   time.Time
	}{{"from", r.From}, {"to", r.To}, {"generated_at", r.GeneratedAt}} {
		v := ""
		if !p.t.IsZero() {
			v = p.t.Format(time.RFC3339)
		}
		_ = cw.Write([]string{"period", p.key, v, "", ""})
	}

	answered := r.Satisfied + r.Unsatisfied
	row("summary", "tickets", "全部工单", r.Total, "")
	row("summary", "complaints", "投诉", r.Complaints, share(r.Complaints, r.Total))
	row("summary", "overdue", "超期", r.Overdue, share(r.Overdue, r.Complaints))
	row("summary", "satisfied", "回访满意", r.Satisfied, share(r.Satisfied, answered))
	row("summary", "unsatisfied", "回访不满意", r.Unsatisfied, share(r.Unsatisfied, answered))
	row("summary", "no_answer", "回访未接通", r.NoAnswer, "")
	row("summary", "repeat_complaints", "重复投诉", r.RepeatComplaints, share(r.RepeatComplaints, r.Complaints))
	row("summary", "repeat_call_tickets", "重复来电工单", r.RepeatCallTickets, share(r.RepeatCallTickets, r.Complaints))
	row("summary", "repeat_callers", "重复投诉号码", len(r.RepeatCallers), "")
	row("summary", "escalated", "升级", r.Escalated, share(r.Escalated, r.Complaints))
	row("summary", "reports", "举报", r.Reports, share(r.Reports, r.Total))
	row("summary", "reports_overdue", "举报超期", r.ReportsOverdue, share(r.ReportsOverdue, r.Reports))
	g := r.Regulator
	row("regulator", "items", "12398工单", g.Items, "")
	row("regulator", "closed", "已办结", g.Closed, share(g.Closed, g.Items))
	row("regulator", "closed_on_time", "按时办结", g.ClosedOnTime, share(g.ClosedOnTime, g.Items))
	row("regulator", "breached", "超期", g.Breached, share(g.Breached, g.Items))
	row("regulator", "open", "未办结", g.Open, share(g.Open, g.Items))

	sections := []struct {
		name string
		rows []Count
		m    map[string]string
	}{
		{"type", r.ByType, r.Labels.Types},
		{"class", r.ByClass, r.Labels.Classes},
		{"subject", r.BySubject, r.Labels.Subjects},
		{"area", r.ByArea, nil},
		{"grade", r.ByGrade, nil},
		{"hot_area", r.HotAreas, nil},
		{"hot_subject", r.HotSubjects, r.Labels.Subjects},
		{"report_subject", r.ReportsBySubject, r.Labels.ReportSubjects},
	}
	for _, s := range sections {
		for _, c := range s.rows {
			row(s.name, c.Key, label(s.m, c.Key), c.Count, strconv.FormatFloat(c.Share, 'f', 4, 64))
		}
	}
	for _, c := range r.RepeatCallers {
		row("repeat_caller", c.Phone, strings.Join(c.Tickets, " "), c.Count, "")
	}
	for _, c := range r.RepeatTickets {
		row("repeat_ticket", c.ID, c.Phone, c.RepeatCalls, "")
	}
	for _, s := range []struct {
		name string
		rows []Satisfaction
		m    map[string]string
	}{{"satisfaction_queue", r.SatisfactionByQueue, nil}, {"satisfaction_station", r.SatisfactionByStation, nil},
		{"satisfaction_subject", r.SatisfactionBySubject, r.Labels.Subjects}} {
		for _, v := range s.rows {
			rate := ""
			if v.Known {
				rate = strconv.FormatFloat(v.Rate, 'f', 4, 64)
			}
			row(s.name, v.Key, fmt.Sprintf("%s: %d/%d/%d", label(s.m, v.Key), v.Satisfied, v.Unsatisfied, v.NoAnswer),
				v.Satisfied+v.Unsatisfied, rate)
		}
	}
	for _, s := range []struct {
		name string
		rows []SurveyCounts
	}{{"survey", []SurveyCounts{withKey(r.Survey, "all"), withKey(r.SurveyComplaints, "complaints")}},
		{"survey_queue", r.SurveyByQueue}, {"survey_agent", r.SurveyByAgent}} {
		for _, v := range s.rows {
			rate := ""
			if v.Known {
				rate = strconv.FormatFloat(v.Rate, 'f', 4, 64)
			}
			row(s.name, v.Key, fmt.Sprintf("%d/%d/%d/%d", v.Satisfied, v.Fair, v.Dissatisfied, v.None),
				v.Satisfied+v.Fair+v.Dissatisfied, rate)
		}
	}
	for _, v := range r.Scores {
		row("score", v.Station, fmt.Sprintf("not_by_plan %d, missing_reports %d, incomplete %d, averted %d, malicious %d",
			v.NotByPlan, v.MissingReports, v.Incomplete, v.Averted, v.Malicious), v.Complaints, strconv.FormatFloat(v.Score, 'f', 2, 64))
	}
	for _, h := range r.Warnings.HotSpots {
		row("hot_spot", h.Dimension+":"+h.Key, label(map[string]map[string]string{"subject": r.Labels.Subjects}[h.Dimension], h.Key), h.Count, "")
	}
	for _, o := range r.Warnings.OutageRepeats {
		row("outage_repeat", o.Place+":"+o.Name, o.Level, o.Count, "")
	}
	cw.Flush()
	return cw.Error()
}

func share(n, d int) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(n)/float64(d), 'f', 4, 64)
}

// label is the display name of id: its entry in m, else the id, else 未指定
// (not specified) for the empty id.
func label(m map[string]string, id string) string {
	if l, ok := m[id]; ok && l != "" {
		return l
	}
	if id == "" {
		return "未指定"
	}
	return id
}

// cell defuses spreadsheet formula injection: a text cell that Excel would
// read as a formula gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func withKey(c SurveyCounts, key string) SurveyCounts {
	c.Key = key
	return c
}
