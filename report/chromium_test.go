package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/wallboard/wallboardtest"
)

// TestReportInChromium renders a report with every section in headless
// Chromium, checks the rendered page and saves report.png (in
// $REPORT_SCREENSHOT_DIR, else the test's temporary directory) to look at.
// Skipped when chromium is not installed.
func TestReportInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	its := sample()
	its = append(its,
		Item{ID: "r1", Type: TypeReport, Subject: "electricity_theft", CreatedAt: at(4, 1)},
		complaint("g1", 5, func(it *Item) {
			it.Channel, it.Area, it.NotByPlan, it.Handled, it.Missing, it.Queue, it.FollowUp = "12398", "东区所", true, true, []string{"proposal"}, "complaint", FollowUpSatisfied
			it.RegulatorBreached = true
		}),
		complaint("g2", 6, func(it *Item) { it.Area, it.Channel, it.Decision = "西区所", "counter", "averted" }))
	opt := DefaultOptions()
	opt.HotFrom, opt.HotTo, opt.HotMin = from, to, 3
	opt.OutageRepeats = []OutageRepeat{{Place: "transformer", Name: "TX-0201", Count: 3, Level: "study"}, {Place: "line", Name: "10kV 北环线", Count: 2, Level: "warning"}}
	r := BuildWith(its, from, to, now, opt)
	l := labels
	l.ReportSubjects = map[string]string{"electricity_theft": "窃电及违约用电"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = r.WriteHTML(w, l)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shot, err := wallboardtest.Capture(ctx, bin, srv.URL+"/", 1100, 3400, `document.readyState==='complete'`)
	if err != nil {
		t.Fatalf("%v\n%s", err, shot.DOM)
	}
	for _, want := range []string{"供电所考核", "东区所", "-1.40", "0.30", "12398 工单", "专题研究", "10kV 北环线", "按队列", "窃电及违约用电", "重复来电投诉"} {
		if !strings.Contains(shot.DOM, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	dir := os.Getenv("REPORT_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	png := filepath.Join(dir, "report.png")
	if err := os.WriteFile(png, shot.PNG, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", png, len(shot.PNG))
}
