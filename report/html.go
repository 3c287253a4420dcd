package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed report.html.tmpl
var pageSource string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"inc":  func(i int) int { return i + 1 },
	"list": func(v ...[]satRow) [][]satRow { return v },
}).Parse(pageSource))

// Chart geometry, in SVG user units.
const (
	chartRows   = 15  // bars drawn per chart; the rest are counted as "more"
	chartWidth  = 660 // viewBox width
	labelRight  = 196 // labels end here (text-anchor end)
	barLeft     = 204 // bars start here
	barMax      = 340 // the longest bar
	rowHeight   = 26
	barHeight   = 18
	labelRunes  = 14 // longer labels are cut with an ellipsis; the full one is the tooltip
	chartMargin = 6
)

// WriteHTML writes the report as one self-contained HTML page in Chinese with
// English subtitles: headline numbers, inline-SVG bar charts by class, subject
// and area, the hot spots and the repeat callers with masked phones. It needs
// no external assets and no JavaScript; everything is escaped by html/template.
func (r Report) WriteHTML(w io.Writer, l Labels) error {
	return page.Execute(w, r.view(l))
}

type view struct {
	Title, Period, Generated string
	Empty                    bool // no complaints in the period
	Total, Complaints        int
	Cards                    []card
	Types, Grades            []tableRow
	Charts                   []chart
	HotAreas, HotSubjects    []tableRow
	Repeat                   []RepeatCaller
	RepeatCallTickets        int

	RepeatTickets        []RepeatTicket
	RepeatTicketsMore    int
	SatQueue, SatStation []satRow
	Survey               []surveyRow // all, complaints, then per queue and per agent
	Scores               []StationScore
	HotSpots             []hotRow
	OutageRepeats        []OutageRepeat
	HotWindow            string
	ReportChart          *chart
}

type satRow struct {
	Label, Rate                    string
	Satisfied, Unsatisfied, NoAnsw int
	Low                            bool
}

type surveyRow struct {
	Group, Label, Rate                string
	Satisfied, Fair, Dissatisfied, No int
	Low                               bool
}

type hotRow struct {
	Dimension, Label string
	Count            int
}

// htmlRepeatTickets bounds the repeat-call list on the page; the CSV has all.
const htmlRepeatTickets = 50

type card struct {
	Title, Sub, Value, Note string
	Flag                    bool
}

type tableRow struct {
	Label string
	Count int
	Share string
}

type chart struct {
	Title, Sub string
	Color      string
	Height     int
	Rows       []bar
	More       int // rows not drawn
	MoreCount  int // their complaints
}

type bar struct {
	Label, Full  string
	Y, TextY     int
	Width        int
	CountX       int
	Count        int
	Share        string
	LabelRightAt int
	BarLeft      int
	BarHeight    int
}

func (r Report) view(l Labels) view {
	v := view{
		Title:             "投诉分析报告",
		Period:            period(r.From, r.To),
		Generated:         stamp(r.GeneratedAt),
		Empty:             r.Complaints == 0,
		Total:             r.Total,
		Complaints:        r.Complaints,
		Repeat:            r.RepeatCallers,
		RepeatCallTickets: r.RepeatCallTickets,
	}
	overdue := card{Title: "超期率", Sub: "Overdue rate", Value: "—", Note: "本期无投诉 no complaints"}
	if r.Complaints > 0 {
		overdue.Value = pct(r.OverdueRate)
		overdue.Note = fmt.Sprintf("%d / %d 件超期 overdue", r.Overdue, r.Complaints)
	}
	sat := card{Title: "回访满意率", Sub: "Follow-up satisfaction", Value: "—",
		Note: fmt.Sprintf("无回访结果 no answered follow-ups · 未接通 no answer %d", r.NoAnswer)}
	if r.SatisfactionKnown {
		sat.Value = pctDown(r.Satisfaction)
		sat.Note = fmt.Sprintf("满意 %d · 不满意 %d · 未接通 %d (satisfied · unsatisfied · no answer)",
			r.Satisfied, r.Unsatisfied, r.NoAnswer)
		if r.SatisfactionLow {
			sat.Flag = true
			sat.Note = fmt.Sprintf("低于 %s 考核线 below the %s target · ", target(r.SatisfactionTarget), target(r.SatisfactionTarget)) + sat.Note
		}
	}
	v.Cards = []card{
		{Title: "投诉总数", Sub: "Total complaints", Value: fmt.Sprint(r.Complaints),
			Note: fmt.Sprintf("全部工单 all work orders: %d", r.Total)},
		overdue,
		sat,
		{Title: "重复投诉", Sub: "Repeat complaints", Value: fmt.Sprint(r.RepeatComplaints),
			Note: fmt.Sprintf("重复投诉号码 repeat callers %d · 重复来电工单 with repeat calls %d", len(r.RepeatCallers), r.RepeatCallTickets)},
		{Title: "升级处理", Sub: "Escalated", Value: fmt.Sprint(r.Escalated),
			Note: "逐级上报 went up the escalation ladder"},
	}
	v.Types = rows(r.ByType, l.Types)
	v.Grades = rows(r.ByGrade, nil)
	for i := range v.Grades {
		if g := r.ByGrade[i].Key; g != "" {
			v.Grades[i].Label = g + " 级"
		}
	}
	g := r.Regulator
	reg := card{Title: "12398 工单", Sub: "12398 track", Value: fmt.Sprint(g.Items),
		Note: fmt.Sprintf("按时办结 on time %d · 超期 breached %d · 未办结 open %d", g.ClosedOnTime, g.Breached, g.Open), Flag: g.Breached > 0}
	rep := card{Title: "举报", Sub: "Reports (举报)", Value: fmt.Sprint(r.Reports),
		Note: fmt.Sprintf("超期 overdue %d", r.ReportsOverdue), Flag: r.ReportsOverdue > 0}
	v.Cards = append(v.Cards, reg, rep)
	v.RepeatTickets = r.RepeatTickets
	if len(v.RepeatTickets) > htmlRepeatTickets {
		v.RepeatTicketsMore = len(v.RepeatTickets) - htmlRepeatTickets
		v.RepeatTickets = v.RepeatTickets[:htmlRepeatTickets]
	}
	v.SatQueue, v.SatStation = satRows(r.SatisfactionByQueue, "（自助/无）"), satRows(r.SatisfactionByStation, "未指定")
	v.Survey = surveyView(r)
	v.Scores = r.Scores
	for _, h := range r.Warnings.HotSpots {
		dim, m := "区域 area", map[string]string(nil)
		if h.Dimension == "subject" {
			dim, m = "事由 subject", l.Subjects
		}
		v.HotSpots = append(v.HotSpots, hotRow{Dimension: dim, Label: label(m, h.Key), Count: h.Count})
	}
	v.OutageRepeats = r.Warnings.OutageRepeats
	if !r.Warnings.HotFrom.IsZero() {
		v.HotWindow = fmt.Sprintf("%s 至 %s，%d 件及以上 (%d or more)", stamp(r.Warnings.HotFrom), stamp(r.Warnings.HotTo), r.Warnings.HotMin, r.Warnings.HotMin)
	}
	if r.Reports > 0 {
		c := newChart("举报事由", "Reports by subject", "#8e44ad", r.ReportsBySubject, l.ReportSubjects)
		v.ReportChart = &c
	}
	v.HotAreas = rows(r.HotAreas, nil)
	v.HotSubjects = rows(r.HotSubjects, l.Subjects)
	if !v.Empty {
		v.Charts = []chart{
			newChart("按投诉分类", "By complaint class", "#2f6fb0", r.ByClass, l.Classes),
			newChart("按投诉事由", "By complaint subject", "#d9822b", r.BySubject, l.Subjects),
			newChart("按区域", "By area", "#3c8c5a", r.ByArea, nil),
		}
	}
	return v
}

func satRows(in []Satisfaction, empty string) []satRow {
	out := make([]satRow, 0, len(in))
	for _, s := range in {
		r := satRow{Label: s.Key, Rate: "—", Satisfied: s.Satisfied, Unsatisfied: s.Unsatisfied, NoAnsw: s.NoAnswer, Low: s.Low}
		if r.Label == "" {
			r.Label = empty
		}
		if s.Known {
			r.Rate = pctDown(s.Rate)
		}
		out = append(out, r)
	}
	return out
}

func newChart(title, sub, color string, counts []Count, m map[string]string) chart {
	c := chart{Title: title, Sub: sub, Color: color}
	maxCount := 0
	for _, x := range counts {
		maxCount = max(maxCount, x.Count)
	}
	for i, x := range counts {
		if i >= chartRows {
			c.More++
			c.MoreCount += x.Count
			continue
		}
		full := label(m, x.Key)
		w := 0
		if maxCount > 0 {
			w = int(math.Round(float64(barMax) * float64(x.Count) / float64(maxCount)))
		}
		if x.Count > 0 && w < 2 {
			w = 2 // a non-zero count stays visible
		}
		y := chartMargin + i*rowHeight
		c.Rows = append(c.Rows, bar{
			Label: cut(full, labelRunes), Full: full,
			Y: y, TextY: y + barHeight - 4,
			Width: w, CountX: barLeft + w + 6,
			Count: x.Count, Share: pct(x.Share),
			LabelRightAt: labelRight, BarLeft: barLeft, BarHeight: barHeight,
		})
	}
	c.Height = 2*chartMargin + len(c.Rows)*rowHeight
	return c
}

func rows(counts []Count, m map[string]string) []tableRow {
	out := make([]tableRow, 0, len(counts))
	for _, c := range counts {
		out = append(out, tableRow{Label: label(m, c.Key), Count: c.Count, Share: pct(c.Share)})
	}
	return out
}

// pct formats a fraction as a percentage with two decimals, rounded to nearest.
func pct(f float64) string {
	return fmt.Sprintf("%.2f%%", f*100)
}

// pctDown is pct rounded down, for a rate compared with a target: a rate below
// the target never prints as the target (0.94999 -> 94.99%, not 95.00%).
func pctDown(f float64) string {
	return fmt.Sprintf("%.2f%%", math.Floor(f*10000+1e-9)/100)
}

// target formats a target fraction without trailing zeros: 0.95 -> 95%.
func target(f float64) string {
	return strconv.FormatFloat(math.Round(f*10000)/100, 'f', -1, 64) + "%"
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04 MST")
}

func period(from, to time.Time) string {
	var b strings.Builder
	if from.IsZero() {
		b.WriteString("（不限）")
	} else {
		b.WriteString(from.Format("2006-01-02 15:04"))
	}
	b.WriteString(" 至 ")
	if to.IsZero() {
		b.WriteString("（不限）")
	} else {
		b.WriteString(to.Format("2006-01-02 15:04"))
		b.WriteString("（不含 exclusive）")
	}
	return b.String()
}

// surveyView is the post-call survey table: the totals, then the queues
// and the agents.
func surveyView(r Report) []surveyRow {
	if r.Survey.Satisfied+r.Survey.Fair+r.Survey.Dissatisfied+r.Survey.None == 0 {
		return nil
	}
	var out []surveyRow
	add := func(group, label string, c SurveyCounts) {
		row := surveyRow{Group: group, Label: label, Rate: "—", Satisfied: c.Satisfied, Fair: c.Fair,
			Dissatisfied: c.Dissatisfied, No: c.None, Low: c.Low}
		if c.Known {
			row.Rate = pctDown(c.Rate)
		}
		out = append(out, row)
	}
	add("合计 all", "全部工单 all orders", r.Survey)
	add("合计 all", "投诉 complaints", r.SurveyComplaints)
	for _, c := range r.SurveyByQueue {
		add("队列 queue", label(nil, c.Key), c)
	}
	for _, c := range r.SurveyByAgent {
		add("座席 agent", label(nil, c.Key), c)
	}
	return out
}
