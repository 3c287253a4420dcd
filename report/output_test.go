package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

var labels = Labels{
	Classes:  map[string]string{"service": "服务", "business": "营业", "outage": "停送电", "quality": "供电质量"},
	Subjects: map[string]string{"attitude": "服务态度", "wrong_reading": "抄表差错", "planned_outage": "计划停电", "repair_overdue": "故障抢修超时"},
	Types:    map[string]string{"complaint": "投诉", "fault": "故障报修", "consultation": "咨询"},
}

// sample is a month with every feature: repeat callers, overdue, a low
// satisfaction, an unlabelled subject and a label that needs escaping.
func sample() []Item {
	its := []Item{
		{ID: "f1", Type: "fault", Area: "鼓楼区", Phone: "13700001111", CreatedAt: at(1, 8)},
		{ID: "q1", Type: "consultation", Phone: "13700002222", CreatedAt: at(1, 9)},
		complaint("c1", 2, func(it *Item) {
			it.Phone, it.Class, it.Subject, it.Area = "13812348000", "business", "wrong_reading", "玄武区"
			it.FollowUp, it.Escalations = FollowUpUnsatisfied, 1
		}),
		complaint("c2", 9, func(it *Item) {
			it.Phone, it.Class, it.Subject, it.Area = "13812348000", "business", "wrong_reading", "玄武区"
			it.ClosedAt, it.AnswerBy, it.RepeatCalls = at(20, 0), at(13, 0), 2
		}),
		complaint("c3", 12, func(it *Item) {
			it.Phone, it.Class, it.Subject, it.Area = "02584561234", "outage", "planned_outage", "江宁区"
			it.ClosedAt, it.AnswerBy = at(13, 0), at(16, 0)
		}),
		complaint("c4", 13, func(it *Item) {
			it.Phone, it.Class, it.Subject, it.Area = "02584561234", "outage", "repair_overdue", "江宁区"
			it.ClosedAt, it.AnswerBy, it.Status = time.Time{}, at(17, 0), "in_progress"
		}),
		complaint("c5", 20, func(it *Item) {
			it.Phone, it.Subject, it.Area = "15900009999", "unlisted_subject", `<script>alert("x")</script>`
		}),
	}
	for i := range 9 {
		its = append(its, complaint("s"+string(rune('a'+i)), 21+i%7, func(it *Item) {
			it.FollowUp = FollowUpSatisfied
			it.Area = []string{"秦淮区", "建邺区", "栖霞区", "雨花台区", "浦口区", "六合区", "溧水区", "高淳区", "鼓楼区"}[i]
			it.Phone = "1860000000" + string(rune('0'+i))
		}))
	}
	return its
}

func TestWriteCSV(t *testing.T) {
	r := Build(sample(), from, to, now)
	r.Labels = labels
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "\xef\xbb\xbfsection,key,label,count,share\r\n") {
		t.Fatalf("no BOM + header: %q", out[:min(60, len(out))])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"period", "from", "2025-03-01T00:00:00+08:00", "", ""},
		{"period", "to", "2025-04-01T00:00:00+08:00", "", ""},
		{"summary", "tickets", "全部工单", "16", ""},
		{"summary", "complaints", "投诉", "14", "0.8750"},
		{"summary", "overdue", "超期", "2", "0.1429"}, // c2 closed late, c4 open past AnswerBy
		{"summary", "satisfied", "回访满意", "9", "0.9000"},
		{"summary", "repeat_complaints", "重复投诉", "4", "0.2857"},
		{"type", "complaint", "投诉", "14", "0.8750"},
		{"class", "service", "服务", "10", "0.7143"},
		{"class", "business", "营业", "2", "0.1429"},
		{"subject", "unlisted_subject", "unlisted_subject", "1", "0.0714"},
		{"area", "玄武区", "玄武区", "2", "0.1429"},
		{"hot_area", "江宁区", "江宁区", "2", "0.1429"},
		{"hot_subject", "attitude", "服务态度", "9", "0.6429"},
		{"grade", "V", "V", "14", "1.0000"},
		{"repeat_caller", "025****1234", "c3 c4", "2", ""},
		{"repeat_caller", "138****8000", "c1 c2", "2", ""},
	} {
		if !slices.ContainsFunc(recs, func(r []string) bool { return slices.Equal(r, want) }) {
			t.Errorf("missing row %q", want)
		}
	}
	for _, rec := range recs {
		if len(rec) != 5 {
			t.Errorf("row with %d fields: %q", len(rec), rec)
		}
	}
	assertNoPhones(t, out, sample())
}

func TestWriteCSVEmptyAndInjection(t *testing.T) {
	r := Build(nil, from, to, now)
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "summary,overdue,超期,0,\r\n") {
		t.Errorf("empty report: overdue share should be blank:\n%s", b.String())
	}
	r = Build([]Item{complaint("x", 3, func(it *Item) { it.Area = "=HYPERLINK(\"http://evil\")" })}, from, to, now)
	b.Reset()
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), ",=HYPERLINK") || !strings.Contains(b.String(), `'=HYPERLINK`) {
		t.Errorf("formula not defused:\n%s", b.String())
	}
}

func TestWriteHTML(t *testing.T) {
	r := Build(sample(), from, to, now)
	var b bytes.Buffer
	if err := r.WriteHTML(&b, labels); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	wellFormed(t, out)
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	svgs, rects := 0, 0
	var cells []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "svg":
			svgs++
		case "rect":
			rects++
		case "td":
			cells = append(cells, text(n))
		case "script", "link", "img":
			t.Errorf("page has a <%s> element", n.Data)
		}
	}
	if svgs != 3 {
		t.Errorf("%d svg charts, want 3 (class, subject, area)", svgs)
	}
	if want := len(r.ByClass) + len(r.BySubject) + len(r.ByArea); rects != want {
		t.Errorf("%d bars, want %d", rects, want)
	}
	for _, p := range []string{"138****8000", "025****1234"} {
		if !slices.Contains(cells, p) {
			t.Errorf("masked phone %s not in a table cell", p)
		}
	}
	for _, s := range []string{
		"投诉分析报告", "Complaint analysis report",
		"服务态度", "抄表差错", "停送电", "unlisted_subject", // labels, and the id when a label is missing
		"90.00%", "未达标", "card flag", // satisfaction 9/10 below 95%
		"14.29%", "below the 95% target", // overdue 2/14; the target
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", // the evil area, escaped
	} {
		if !strings.Contains(out, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("unescaped script in page")
	}
	if strings.Contains(out, "本期无投诉<br>") {
		t.Error("non-empty period says no complaints")
	}
	assertNoPhones(t, out, sample())

	if err := os.WriteFile("/tmp/report-sample.html", b.Bytes(), 0o644); err != nil {
		t.Logf("sample not written: %v", err)
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Log("chromium not installed: no screenshot; sample at /tmp/report-sample.html")
	}
}

func TestWriteHTMLSatisfactionOK(t *testing.T) {
	var its []Item
	for range 20 {
		its = append(its, complaint("s", 3, func(it *Item) { it.FollowUp = FollowUpSatisfied }))
	}
	var b bytes.Buffer
	if err := Build(its, from, to, now).WriteHTML(&b, Labels{}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "card flag") || strings.Contains(out, "未达标") || !strings.Contains(out, "100.00%") {
		t.Error("satisfaction of 100% is flagged or missing")
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	for _, its := range [][]Item{nil, {{ID: "f", Type: "fault", CreatedAt: at(3, 3)}}} {
		var b bytes.Buffer
		if err := Build(its, from, to, now).WriteHTML(&b, labels); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		wellFormed(t, out)
		for _, s := range []string{"本期无投诉", "No complaints in this period"} {
			if !strings.Contains(out, s) {
				t.Errorf("empty page lacks %q", s)
			}
		}
		for _, s := range []string{"<svg", "NaN", "Inf", "<rect"} {
			if strings.Contains(out, s) {
				t.Errorf("empty page contains %q", s)
			}
		}
	}
}

func TestChartManyRows(t *testing.T) {
	var counts []Count
	for i := range 20 {
		counts = append(counts, Count{Key: string(rune('A' + i)), Count: 20 - i, Share: 0.01})
	}
	c := newChart("t", "t", "#000", counts, nil)
	if len(c.Rows) != chartRows || c.More != 5 || c.MoreCount != 5+4+3+2+1 {
		t.Errorf("rows %d more %d (%d)", len(c.Rows), c.More, c.MoreCount)
	}
	if c.Rows[0].Width != barMax || c.Rows[0].CountX > chartWidth-60 {
		t.Errorf("first bar %+v", c.Rows[0])
	}
	long := newChart("t", "t", "#000", []Count{{Key: "非常非常非常非常非常长的投诉事由名称", Count: 1}}, nil)
	if r := long.Rows[0]; []rune(r.Label)[labelRunes-1] != '…' || len([]rune(r.Label)) != labelRunes || r.Full == r.Label {
		t.Errorf("long label %q", r.Label)
	}
}

var longDigits = regexp.MustCompile(`\d{7,}`)

// assertNoPhones fails if any input phone, or any run of 7+ digits, appears.
func assertNoPhones(t *testing.T, out string, its []Item) {
	t.Helper()
	for _, it := range its {
		if it.Phone != "" && strings.Contains(out, it.Phone) {
			t.Errorf("unmasked phone %s in output", it.Phone)
		}
	}
	if m := longDigits.FindString(out); m != "" {
		t.Errorf("digit run %q in output", m)
	}
}

// wellFormed checks that every non-void element is closed in order.
func wellFormed(t *testing.T, page string) {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "img": true, "hr": true, "input": true, "link": true}
	z := html.NewTokenizer(strings.NewReader(page))
	var stack []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if len(stack) != 0 {
				t.Errorf("unclosed elements: %v", stack)
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !void[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Errorf("</%s> closes %v", name, stack)
				return
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.TrimSpace(b.String())
}
