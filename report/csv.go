package report

import (
	"encoding/csv"
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
	}
	for _, s := range sections {
		for _, c := range s.rows {
			row(s.name, c.Key, label(s.m, c.Key), c.Count, strconv.FormatFloat(c.Share, 'f', 4, 64))
		}
	}
	for _, c := range r.RepeatCallers {
		row("repeat_caller", c.Phone, strings.Join(c.Tickets, " "), c.Count, "")
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
