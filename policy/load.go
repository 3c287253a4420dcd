package policy

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// embedded holds the default policy and the built-in yearly calendars, so a
// fresh install has working limits without any file on disk.
//
//go:embed default.yaml calendar/*.yaml
var embedded embed.FS

var (
	defaultOnce   sync.Once
	defaultPolicy *Policy
)

// Default returns the compiled-in default policy (default.yaml). It panics if
// that file is invalid, which the package tests rule out.
func Default() *Policy {
	defaultOnce.Do(func() {
		data, err := embedded.ReadFile("default.yaml")
		if err == nil {
			defaultPolicy, err = parse(data, "default.yaml", readEmbedded)
		}
		if err != nil {
			panic("policy: embedded default.yaml is invalid: " + err.Error())
		}
	})
	return defaultPolicy
}

// Load reads and validates the policy file at path. Calendar files it names
// are resolved relative to the policy file's directory.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return parse(data, path, readDiskRelativeTo(filepath.Dir(path)))
}

// Parse reads and validates a policy from r; name labels errors and its
// directory is where relative calendar files are looked up.
func Parse(r io.Reader, name string) (*Policy, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("policy: reading %s: %w", name, err)
	}
	return parse(data, name, readDiskRelativeTo(filepath.Dir(name)))
}

// reader fetches a calendar file named in the policy; it returns the name to
// use in error messages.
type reader func(file string) (data []byte, display string, err error)

func readDiskRelativeTo(dir string) reader {
	return func(file string) ([]byte, string, error) {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		data, err := os.ReadFile(file)
		return data, file, err
	}
}

func readEmbedded(file string) ([]byte, string, error) {
	data, err := embedded.ReadFile(path.Clean(file))
	return data, file, err
}

// The raw* types mirror the file. Every field is a plain string so that
// decoding never fails on a bad value: values are parsed in validate, which
// reports all problems at once with their field paths.
type rawPolicy struct {
	Version    string              `yaml:"version"`
	Source     string              `yaml:"source"`
	Limits     map[string]rawLimit `yaml:"limits"`
	Escalation rawEscalation       `yaml:"escalation"`
	FollowUp   rawFollowUp         `yaml:"follow_up"`
	Callbacks  rawCallbacks        `yaml:"callbacks"`
	Queues     map[string]rawQueue `yaml:"queues"`
	Agents     *rawAgentDesk       `yaml:"agents"`
	Records    rawRecords          `yaml:"records"`
	ServiceLvl rawServiceLevel     `yaml:"service_level"`
	Recordings rawRecordings       `yaml:"recordings"`
	Survey     rawSurvey           `yaml:"survey"`
	Taxonomy   rawTaxonomy         `yaml:"taxonomy"`
	Calendar   []rawCalEntry       `yaml:"calendar"`
	Scoring    rawScoring          `yaml:"scoring"`
	Warnings   rawWarnings         `yaml:"warnings"`
	Outages    rawOutages          `yaml:"outages"`
	Report     rawReport           `yaml:"report"`
}

type rawLimit struct {
	Contact  string                 `yaml:"contact_within"`
	Progress string                 `yaml:"progress_within"`
	Answer   string                 `yaml:"answer_within"`
	Note     string                 `yaml:"note"`
	Subtypes map[string]rawSubLimit `yaml:"subtypes"`
}

// rawSubLimit has no subtypes field: sub-types do not nest.
type rawSubLimit struct {
	Contact  string `yaml:"contact_within"`
	Progress string `yaml:"progress_within"`
	Answer   string `yaml:"answer_within"`
	Note     string `yaml:"note"`
}

type rawEscalation struct {
	VerifyWithin      string     `yaml:"verify_within"`
	ContactIfCustomer string     `yaml:"contact_if_customer_within"`
	ContactIfUtility  string     `yaml:"contact_if_utility_within"`
	CallbackWithin    string     `yaml:"callback_within"`
	RegulatorWithin   string     `yaml:"regulator_within"`
	Levels            []rawLevel `yaml:"levels"`
}

type rawLevel struct {
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Grade  string `yaml:"grade"`
	Within string `yaml:"within"`
}

type rawFollowUp struct {
	Window         string `yaml:"window"`
	MaxAttempts    int    `yaml:"max_attempts"`
	Retry          string `yaml:"retry"`
	AlwaysForNamed *bool  `yaml:"always_for_named"`
}

type rawTaxonomy struct {
	Classes        []rawNamed   `yaml:"classes"`
	Subjects       []rawSubject `yaml:"subjects"`
	ReportSubjects []rawNamed   `yaml:"report_subjects"`
}

type rawNamed struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

type rawSubject struct {
	ID    string `yaml:"id"`
	Name  string `yaml:"name"`
	Class string `yaml:"class"`
}

// rawCalEntry is one item of the policy's calendar list: a file, a built-in
// year, or a year written inline.
type rawCalEntry struct {
	File    string `yaml:"file"`
	Builtin int    `yaml:"builtin"`
	rawYear `yaml:",inline"`
}

// rawYear is one year of holiday data (a calendar/<year>.yaml file).
type rawYear struct {
	Year     int       `yaml:"year"`
	Source   string    `yaml:"source"`
	Holidays []rawDays `yaml:"holidays"`
	Workdays []rawDays `yaml:"workdays"`
}

func (y rawYear) empty() bool {
	return y.Year == 0 && y.Source == "" && len(y.Holidays) == 0 && len(y.Workdays) == 0
}

// rawDays is a single date or an inclusive range of dates.
type rawDays struct {
	Name string `yaml:"name"`
	Date string `yaml:"date"`
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// decodeStrict decodes one YAML document, rejecting unknown fields, and also
// returns the node tree so that validation errors can carry line numbers.
func decodeStrict(data []byte, name string, v any) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{[]string{name + ": empty file"}}
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{[]string{name + ": more than one YAML document"}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	return root, nil
}

var (
	yamlLine   = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	yamlInType = regexp.MustCompile(` in type \S+$`)
)

// yamlError rewrites yaml.v3's "line N: …" messages as "name:N: …" and drops
// the Go type names, which mean nothing to an operator.
func yamlError(name string, err error) error {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		m = yamlInType.ReplaceAllString(m, "")
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			out[i] = name + ":" + sm[1] + ": " + m[len(sm[0]):]
		} else {
			out[i] = name + ": " + strings.TrimPrefix(m, "yaml: ")
		}
	}
	return &Error{out}
}

// checker collects problems for one file, locating each by its field path.
type checker struct {
	name  string
	root  *yaml.Node
	probs *[]string
}

func (c checker) errf(fieldPath, format string, args ...any) {
	loc := c.name
	if l := lineOf(c.root, fieldPath); l > 0 {
		loc += ":" + strconv.Itoa(l)
	}
	msg := fmt.Sprintf(format, args...)
	if fieldPath != "" {
		msg = fieldPath + ": " + msg
	}
	*c.probs = append(*c.probs, loc+": "+msg)
}

var pathPart = regexp.MustCompile(`[^.\[\]]+|\[\d+\]`)

// lineOf finds the line of a field path such as "escalation.levels[2].grade"
// in the node tree. A path that is absent (a missing field) gives the line
// of its deepest present ancestor, which is where the field belongs.
func lineOf(n *yaml.Node, fieldPath string) int {
	line := 0
	for _, part := range pathPart.FindAllString(fieldPath, -1) {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch {
		case strings.HasPrefix(part, "[") && n.Kind == yaml.SequenceNode:
			i, _ := strconv.Atoi(part[1 : len(part)-1])
			if i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
		}
		n = next
	}
	return line
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func parse(data []byte, name string, read reader) (*Policy, error) {
	var raw rawPolicy
	root, err := decodeStrict(data, name, &raw)
	if err != nil {
		return nil, err
	}
	var probs []string
	c := checker{name: name, root: root, probs: &probs}
	p := &Policy{name: name, version: strings.TrimSpace(raw.Version), source: raw.Source}

	if p.version == "" {
		c.errf("version", "required (e.g. \"2026.1\"): tickets record which policy set their deadlines")
	}
	span := func(fieldPath, s string, required bool) Span {
		if strings.TrimSpace(s) == "" {
			if required {
				c.errf(fieldPath, "required")
			}
			return Span{}
		}
		v, err := ParseSpan(s)
		if err != nil {
			c.errf(fieldPath, "%v", err)
		}
		return v
	}

	// Taxonomy first: limits and subjects refer to the classes.
	classIDs := map[string]bool{}
	if len(raw.Taxonomy.Classes) == 0 {
		c.errf("taxonomy.classes", "at least one complaint class is required")
	}
	for i, cl := range raw.Taxonomy.Classes {
		fp := fmt.Sprintf("taxonomy.classes[%d]", i)
		checkNamed(c, fp, cl.ID, cl.Name, classIDs)
		p.classes = append(p.classes, Class{ID: cl.ID, Name: cl.Name})
	}
	subjectIDs := map[string]bool{}
	if len(raw.Taxonomy.Subjects) == 0 {
		c.errf("taxonomy.subjects", "at least one complaint subject is required")
	}
	for i, s := range raw.Taxonomy.Subjects {
		fp := fmt.Sprintf("taxonomy.subjects[%d]", i)
		checkNamed(c, fp, s.ID, s.Name, subjectIDs)
		if s.Class == "" {
			c.errf(fp+".class", "required")
		} else if !classIDs[s.Class] {
			c.errf(fp+".class", "unknown complaint class %q", s.Class)
		}
		p.subjects = append(p.subjects, Subject{ID: s.ID, Name: s.Name, Class: s.Class})
	}
	reportIDs := map[string]bool{}
	for i, s := range raw.Taxonomy.ReportSubjects {
		checkNamed(c, fmt.Sprintf("taxonomy.report_subjects[%d]", i), s.ID, s.Name, reportIDs)
		p.reportSubjects = append(p.reportSubjects, Subject{ID: s.ID, Name: s.Name})
	}

	// Limits: every ticket type, in a fixed order so errors are stable.
	p.limits = map[string]typeLimits{}
	known := map[string]bool{}
	for _, t := range TicketTypes {
		known[t] = true
	}
	for _, t := range sortedKeys(raw.Limits) {
		if !known[t] {
			c.errf("limits."+t, "unknown ticket type (want one of %s)", strings.Join(TicketTypes, ", "))
		}
	}
	for _, t := range TicketTypes {
		rl, ok := raw.Limits[t]
		fp := "limits." + t
		if !ok {
			c.errf(fp, "missing: every ticket type needs contact_within and answer_within")
			continue
		}
		tl := typeLimits{
			base: Limit{
				Contact:  span(fp+".contact_within", rl.Contact, true),
				Progress: span(fp+".progress_within", rl.Progress, false),
				Answer:   span(fp+".answer_within", rl.Answer, true),
			},
			sub: map[string]Limit{},
		}
		for _, st := range sortedKeys(rl.Subtypes) {
			rs := rl.Subtypes[st]
			sp := fp + ".subtypes." + st
			if !idPattern.MatchString(st) {
				c.errf(sp, "sub-type id must be lower_snake_case")
			}
			// A complaint's sub-type is its class; a typo would silently
			// fall back to the general complaint limits.
			if t == "complaint" && !classIDs[st] {
				c.errf(sp, "not a complaint class in taxonomy.classes")
			}
			if rs.Contact == "" && rs.Progress == "" && rs.Answer == "" {
				c.errf(sp, "sets no limit")
			}
			l := tl.base
			if v := span(sp+".contact_within", rs.Contact, false); !v.IsZero() {
				l.Contact = v
			}
			if v := span(sp+".progress_within", rs.Progress, false); !v.IsZero() {
				l.Progress = v
			}
			if v := span(sp+".answer_within", rs.Answer, false); !v.IsZero() {
				l.Answer = v
			}
			tl.sub[st] = l
		}
		p.limits[t] = tl
	}

	// Escalation.
	re := raw.Escalation
	p.esc = Escalation{
		VerifyWithin:      span("escalation.verify_within", re.VerifyWithin, true),
		ContactIfCustomer: span("escalation.contact_if_customer_within", re.ContactIfCustomer, true),
		ContactIfUtility:  span("escalation.contact_if_utility_within", re.ContactIfUtility, true),
		CallbackWithin:    span("escalation.callback_within", re.CallbackWithin, true),
		RegulatorWithin:   span("escalation.regulator_within", re.RegulatorWithin, true),
	}
	if len(re.Levels) == 0 {
		c.errf("escalation.levels", "the ladder is empty: a complaint must start somewhere")
	}
	levelIDs := map[string]bool{}
	prevGrade := len(Grades) // severity index; may only stay or grow going up
	for i, rl := range re.Levels {
		fp := fmt.Sprintf("escalation.levels[%d]", i)
		checkNamed(c, fp, rl.ID, rl.Name, levelIDs)
		g := gradeIndex(rl.Grade)
		switch {
		case rl.Grade == "":
			c.errf(fp+".grade", "required")
		case g < 0:
			c.errf(fp+".grade", "unknown grade %q (want one of %s)", rl.Grade, strings.Join(Grades, ", "))
		case i > 0 && g < prevGrade:
			c.errf(fp+".grade", "grade %s is less severe than the level below it (%s): a grade never goes down the ladder", rl.Grade, re.Levels[i-1].Grade)
		}
		if g >= 0 {
			prevGrade = g
		}
		p.ladder = append(p.ladder, Level{ID: rl.ID, Name: rl.Name, Grade: rl.Grade, Within: span(fp+".within", rl.Within, true)})
	}

	// Follow-up.
	rf := raw.FollowUp
	p.followUp = FollowUpPolicy{MaxAttempts: rf.MaxAttempts}
	// The follow-up rules are minutes (seed 001 §6: 10 minutes), so they are
	// clock durations only; a day count here is a mistake.
	window := span("follow_up.window", rf.Window, true)
	if !window.IsZero() && window.Unit != Clock {
		c.errf("follow_up.window", "must be a clock duration such as \"10m\", not %q", rf.Window)
	}
	p.followUp.Window = window.Clock
	if rf.MaxAttempts < 1 {
		c.errf("follow_up.max_attempts", "must be at least 1")
	}
	if rf.AlwaysForNamed == nil {
		c.errf("follow_up.always_for_named", "required (seed 001 §6: a named reporter must be called back)")
	} else {
		p.followUp.AlwaysForNamed = *rf.AlwaysForNamed
	}
	if rf.MaxAttempts > 1 || rf.Retry != "" {
		r := span("follow_up.retry", rf.Retry, rf.MaxAttempts > 1)
		switch {
		case r.IsZero():
		case r.Unit != Clock:
			c.errf("follow_up.retry", "must be a clock duration such as \"2m\", not %q", rf.Retry)
		default:
			p.followUp.Retry = r.Clock
			// Every attempt must start inside the promised window.
			w := p.followUp.Window
			if last := time.Duration(rf.MaxAttempts-1) * r.Clock; w > 0 && rf.MaxAttempts > 1 && last >= w {
				c.errf("follow_up.retry", "%d attempts %s apart do not fit in the %s window", rf.MaxAttempts, r, formatClock(w))
			}
		}
	}

	// Callbacks: the follow-up kind inherits the follow-up rules.
	knownTypes := map[string]bool{}
	for t := range raw.Limits {
		knownTypes[t] = true
	}
	p.callbacks = parseCallbacks(c, raw.Callbacks, p.followUp, knownTypes, p.esc.CallbackWithin)
	p.queues = parseQueues(c, raw.Queues)
	parseGovernance(c, p, raw.Scoring, raw.Warnings, raw.Outages, raw.Report, span)
	p.desk = parseAgentDesk(c, raw.Agents)
	p.records = parseRecords(c, raw.Records)
	p.serviceLevel = parseServiceLevel(c, raw.ServiceLvl)
	p.recordings = parseRecordings(c, raw.Recordings)
	p.survey = parseSurvey(c, raw.Survey)

	// Calendar.
	p.cal = newCalendar()
	for i, e := range raw.Calendar {
		fp := fmt.Sprintf("calendar[%d]", i)
		sources := 0
		for _, set := range []bool{e.File != "", e.Builtin != 0, !e.rawYear.empty()} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			c.errf(fp, "give exactly one of file, builtin, or an inline year")
			continue
		}
		switch {
		case e.File != "":
			loadYearFile(c, fp+".file", e.File, read, p.cal)
		case e.Builtin != 0:
			f := fmt.Sprintf("calendar/%d.yaml", e.Builtin)
			if _, err := embedded.ReadFile(f); err != nil {
				c.errf(fp+".builtin", "no built-in calendar for %d (built in: %s)", e.Builtin, builtinYears())
				continue
			}
			loadYearFile(c, fp+".builtin", f, readEmbedded, p.cal)
		default:
			addYear(c, fp+".", e.rawYear, p.cal)
		}
	}
	p.warnings = calendarWarnings(p.cal)

	if len(probs) > 0 {
		return nil, &Error{probs}
	}
	return p, nil
}

func checkNamed(c checker, fp, id, name string, seen map[string]bool) {
	switch {
	case id == "":
		c.errf(fp+".id", "required")
	case !idPattern.MatchString(id):
		c.errf(fp+".id", "%q must be lower_snake_case", id)
	case seen[id]:
		c.errf(fp+".id", "duplicate id %q", id)
	}
	seen[id] = true
	if strings.TrimSpace(name) == "" {
		c.errf(fp+".name", "required")
	}
}

func gradeIndex(g string) int {
	for i, v := range Grades {
		if v == g {
			return i
		}
	}
	return -1
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func builtinYears() string {
	ents, _ := embedded.ReadDir("calendar")
	var ys []string
	for _, e := range ents {
		ys = append(ys, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return strings.Join(ys, ", ")
}
