package policy

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadFiles walks testdata/bad_*.yaml. Each file starts with
// "# want: <substring>" and must be rejected with exactly one problem whose
// text contains it: every file is good_minimal.yaml with a single defect, so
// a second problem means the file, not the loader, is wrong.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad_*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("glob: %v, %d files", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := wantLine(t, f)
			_, err := Load(f)
			if err == nil {
				t.Fatalf("loaded; want error containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q\ndoes not contain %q", err, want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *policy.Error", err)
			}
			if len(pe.Problems) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%v", len(pe.Problems), err)
			}
			if !strings.HasPrefix(err.Error(), "testdata/") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func wantLine(t *testing.T, f string) string {
	t.Helper()
	fh, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "# want: ") {
		t.Fatalf("%s: first line must be \"# want: <error substring>\"", f)
	}
	return strings.TrimPrefix(sc.Text(), "# want: ")
}

// The base of every bad file must load cleanly, or the bad files prove nothing.
func TestGoodMinimal(t *testing.T) {
	p, err := Load("testdata/good_minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Calendar().Years(); len(got) != 2 || got[0] != 2030 || got[1] != 2031 {
		t.Errorf("years = %v, want [2030 2031] (inline + file)", got)
	}
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("warnings = %v", w)
	}
	c, a, ok := p.Limits("fault", "")
	if !ok || c.String() != "1m30s" || a.String() != "10m" {
		t.Errorf("fault limits = %v %v %v", c, a, ok)
	}
}

func TestParseNameAndDir(t *testing.T) {
	f, err := os.Open("testdata/good_minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The name's directory is where calendar_2031.yaml is looked up.
	if _, err := Parse(f, "testdata/good_minimal.yaml"); err != nil {
		t.Fatal(err)
	}
	_, err = Parse(strings.NewReader("version: [1]\n"), "inline.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "inline.yaml:1: ") {
		t.Errorf("err = %v, want it to start with inline.yaml:1:", err)
	}
}

// The embedded default must load, carry the domain file's figures, and cover
// the years shipped.
func TestDefault(t *testing.T) {
	p := Default()
	if p.Version() == "" || p.Source() == "" {
		t.Error("default has no version or source")
	}
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	for _, y := range []int{2025, 2026} {
		if !p.Calendar().Covers(y) {
			t.Errorf("default calendar does not cover %d", y)
		}
	}
	for _, typ := range TicketTypes {
		c, a, ok := p.Limits(typ, "")
		if !ok || c.IsZero() || a.IsZero() {
			t.Errorf("%s: limits %v %v %v", typ, c, a, ok)
		}
	}
	limits := []struct{ typ, sub, contact, answer string }{
		{"complaint", "", "24h", "4 working days"},
		{"report", "", "24h", "9 working days"},
		{"fault", "", "45m", "24h"},
		{"fault", "rural", "1h30m", "24h"},
		{"complaint", "supply_quality", "24h", "15 working days"},
		{"consultation", "", "24h", "4 working days"},
	}
	for _, l := range limits {
		c, a, _ := p.Limits(l.typ, l.sub)
		if c.String() != l.contact || a.String() != l.answer {
			t.Errorf("Limits(%s, %s) = %s, %s; want %s, %s", l.typ, l.sub, c, a, l.contact, l.answer)
		}
	}
	if pr, ok := p.Progress("complaint", "supply_quality"); !ok || pr.String() != "3 working days" {
		t.Errorf("supply-quality progress = %v %v", pr, ok)
	}
	if _, ok := p.Progress("complaint", "service"); ok {
		t.Error("service complaints have no progress limit")
	}

	e := p.Escalation()
	if e.VerifyWithin.String() != "1h" || e.ContactIfUtility.String() != "1 working day" || e.RegulatorWithin.String() != "10 working days" {
		t.Errorf("escalation = %+v", e)
	}
	var ids, grades []string
	for _, l := range p.Ladder() {
		ids = append(ids, l.ID)
		grades = append(grades, l.Grade)
		if l.Within.String() != "1 working day" || l.Name == "" {
			t.Errorf("level %+v", l)
		}
	}
	if got := strings.Join(ids, ","); got != "staff,technician,station_head,service_centre,marketing,leadership" {
		t.Errorf("ladder = %s", got)
	}
	if got := strings.Join(grades, ","); got != "V,V,V,IV,III,I" {
		t.Errorf("grades = %s", got)
	}

	fu := p.FollowUp()
	if fu.Window != 10*time.Minute || fu.MaxAttempts != 3 || fu.Retry != 2*time.Minute || !fu.AlwaysForNamed {
		t.Errorf("follow-up = %+v", fu)
	}

	if n := len(p.Classes()); n != 5 {
		t.Errorf("%d classes, want 5", n)
	}
	if n := len(p.Subjects()); n != 14 {
		t.Errorf("%d subjects, want the fourteen of seed 001", n)
	}
	if n := len(p.ReportSubjects()); n != 2 {
		t.Errorf("%d report subjects, want 2", n)
	}
	if !p.ValidSubject("business", "meter_seal") || p.ValidSubject("service", "meter_seal") || p.ValidSubject("business", "nope") {
		t.Error("ValidSubject")
	}
	if s, ok := p.Subject("late_reconnection"); !ok || s.Class != "outage" || s.Name != "欠费超期复电" {
		t.Errorf("Subject = %+v %v", s, ok)
	}
}

func TestLimitsFallback(t *testing.T) {
	p, err := Load("testdata/good_minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, typ, sub  string
		contact, answer string
		ok              bool
	}{
		{"type only", "complaint", "", "30s", "2 working days", true},
		{"listed sub-type overrides answer, inherits contact", "complaint", "service", "30s", "1 day", true},
		{"unlisted sub-type falls back to type", "complaint", "outage", "30s", "2 working days", true},
		{"sub-type on a type without sub-types", "fault", "rural", "1m30s", "10m", true},
		{"unknown type", "repair", "", "0s", "0s", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, a, ok := p.Limits(tt.typ, tt.sub)
			if c.String() != tt.contact || a.String() != tt.answer || ok != tt.ok {
				t.Errorf("Limits(%q, %q) = %s, %s, %v; want %s, %s, %v", tt.typ, tt.sub, c, a, ok, tt.contact, tt.answer, tt.ok)
			}
		})
	}
}

func TestNextLevel(t *testing.T) {
	p := Default()
	tests := []struct {
		current, want string
		ok            bool
	}{
		{"", "staff", true},
		{"staff", "technician", true},
		{"station_head", "service_centre", true},
		{"marketing", "leadership", true},
		{"leadership", "", false},
		{"nobody", "", false},
	}
	for _, tt := range tests {
		l, ok := p.NextLevel(tt.current)
		if l.ID != tt.want || ok != tt.ok {
			t.Errorf("NextLevel(%q) = %q, %v; want %q, %v", tt.current, l.ID, ok, tt.want, tt.ok)
		}
	}
}

// Returned slices are copies: the policy is shared between goroutines and
// must not change under them.
func TestImmutable(t *testing.T) {
	p := Default()
	p.Ladder()[0].ID = "x"
	p.Subjects()[0].Class = "x"
	if l, _ := p.NextLevel(""); l.ID != "staff" {
		t.Error("Ladder exposed internal slice")
	}
	if !p.ValidSubject("business", "meter_seal") {
		t.Error("Subjects exposed internal slice")
	}
}

func TestNoCalendarWarns(t *testing.T) {
	src := strings.Replace(readFile(t, "testdata/good_minimal.yaml"), "calendar:", "unused_calendar_below:", 1)
	src = src[:strings.Index(src, "unused_calendar_below:")]
	p, err := Parse(strings.NewReader(src), "testdata/nocal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], "Monday–Friday") {
		t.Errorf("warnings = %v", w)
	}
}

func readFile(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The survey section: the built-in policy asks after every call an agent
// ended; a file's figures act.
func TestSurveyPolicy(t *testing.T) {
	if got, want := Default().Survey(), (Survey{AfterAgentCall: true, Timeout: 5 * time.Second, MaxAttempts: 2}); got != want {
		t.Fatalf("default survey %+v, want %+v", got, want)
	}
	src := readFile(t, "testdata/good_minimal.yaml") + "survey:\n  after_agent_call: false\n  timeout: 8s\n  max_attempts: 3\n"
	p, err := Parse(strings.NewReader(src), "testdata/survey.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Survey(), (Survey{AfterAgentCall: false, Timeout: 8 * time.Second, MaxAttempts: 3}); got != want {
		t.Fatalf("survey %+v, want %+v", got, want)
	}
	// A file without the section gets the built-in figures.
	p, err = Load("testdata/good_minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Survey() != Default().Survey() {
		t.Fatalf("survey without a section %+v", p.Survey())
	}
}
