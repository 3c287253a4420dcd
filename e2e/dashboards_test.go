//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dashboardsDir holds the Grafana dashboards, relative to the e2e package.
const dashboardsDir = "../deploy/grafana/dashboards"

type dashTarget struct {
	Dashboard string // file name
	Panel     string // panel title (rows included, "row / panel")
	RefID     string
	Expr      string
	DSUID     string
}

type gPanel struct {
	Type       string    `json:"type"`
	Title      string    `json:"title"`
	Datasource *gDatasrc `json:"datasource"`
	Panels     []gPanel  `json:"panels"` // a collapsed row keeps its panels here
	Targets    []gTarget `json:"targets"`
}

type gDatasrc struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type gTarget struct {
	RefID      string    `json:"refId"`
	Expr       string    `json:"expr"`
	Datasource *gDatasrc `json:"datasource"`
}

type gDashboard struct {
	UID        string   `json:"uid"`
	Title      string   `json:"title"`
	Panels     []gPanel `json:"panels"`
	Templating struct {
		List []json.RawMessage `json:"list"`
	} `json:"templating"`
}

// dashboardTargets reads every dashboard and returns every panel target,
// descending into rows (collapsed rows keep their panels nested).
func dashboardTargets(t *testing.T) []dashTarget {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dashboardsDir, err)
	}
	sort.Strings(files)
	uids := map[string]string{}
	var out []dashTarget
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d gDashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: not a dashboard: %v", f, err)
		}
		name := filepath.Base(f)
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: uid %q title %q: both are needed for provisioning", name, d.UID, d.Title)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %q", other, name, d.UID)
		}
		uids[d.UID] = name
		if len(d.Templating.List) != 0 {
			// The proof substitutes only Grafana's built-in interval variables.
			t.Errorf("%s: has template variables; the dashboards are kept variable-free so every query is proven as written", name)
		}
		var walk func(prefix string, ps []gPanel)
		walk = func(prefix string, ps []gPanel) {
			for _, p := range ps {
				title := prefix + p.Title
				if p.Type == "row" {
					walk(title+" / ", p.Panels)
					continue
				}
				if len(p.Targets) == 0 && p.Type != "text" {
					t.Errorf("%s: panel %q has no query", name, title)
				}
				for _, tg := range p.Targets {
					ds := tg.Datasource
					if ds == nil {
						ds = p.Datasource
					}
					uid := ""
					if ds != nil {
						uid = ds.UID
					}
					out = append(out, dashTarget{Dashboard: name, Panel: title, RefID: tg.RefID, Expr: tg.Expr, DSUID: uid})
				}
				walk(title+" / ", p.Panels)
			}
		}
		walk("", d.Panels)
	}
	return out
}

// grafanaVars stands in for Grafana's built-in interval variables: with
// the test stack's 1 s scrape interval a minute holds plenty of samples.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "1m",
	"${__rate_interval}", "1m",
	"$__interval", "1m",
	"${__interval}", "1m",
	"$__range", "1m",
	"${__range}", "1m",
)

type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []interface{}     `json:"value"`  // instant: [ts, "v"]
			Values [][]interface{}   `json:"values"` // range: [[ts, "v"], ...]
		} `json:"result"`
	} `json:"data"`
}

func promGet(base, path string, params url.Values) (*promResponse, error) {
	resp, err := http.Get(strings.TrimSuffix(base, "/") + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var pr promResponse
	if err := json.Unmarshal(raw, &pr); err != nil {
		return nil, fmt.Errorf("HTTP %d, not Prometheus JSON: %.200s", resp.StatusCode, raw)
	}
	if pr.Status != "success" {
		return &pr, fmt.Errorf("status %q: %s: %s", pr.Status, pr.ErrorType, pr.Error)
	}
	return &pr, nil
}

// finite reports whether a Prometheus sample value ("1.5", "NaN", "+Inf")
// is a real number a panel can draw.
func finite(v interface{}) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// TestDashboardQueries proves the Grafana dashboards against the real
// Prometheus that scrapes the test stack's controller: every panel query
// must be valid and return data. The test makes the traffic the panels
// show itself (dashboardTraffic), so it proves them in any order of the
// tests. Panels are evaluated the way Grafana draws them, as range queries
// over the dashboard's time range, here the test's own traffic. A query
// passes when at least one of its points is a finite number: a result of
// only NaN (0/0) draws nothing.
func TestDashboardQueries(t *testing.T) {
	targets := dashboardTargets(t)
	env := loadEnv(t)
	base := os.Getenv("HOTLINE_PROMETHEUS_URL")
	if base == "" {
		base = "http://127.0.0.1:9098"
	}
	job := os.Getenv("HOTLINE_PROMETHEUS_JOB")
	if job == "" {
		job = "hotline"
	}

	// Prometheus must have scraped the controller a few times in a row.
	upQuery := fmt.Sprintf(`up{job=%q} == 1 and on (instance) count_over_time(up{job=%q}[1m]) >= 3`, job, job)
	deadline := time.Now().Add(30 * time.Second)
	for {
		pr, err := promGet(base, "/api/v1/query", url.Values{"query": {upQuery}})
		if err == nil && len(pr.Data.Result) > 0 {
			break
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("no target of job %q up with 3 scrapes in the last minute", job)
			}
			t.Fatalf("Prometheus at %s (HOTLINE_PROMETHEUS_URL) is not scraping the controller: %v", base, err)
		}
		time.Sleep(time.Second)
	}

	// HOTLINE_DASHBOARD_FROM (RFC 3339) re-proves the dashboards over an
	// earlier window instead, e.g. a finished run, without new traffic:
	// go test -tags e2e -run TestDashboardQueries ./e2e/
	var start time.Time
	if from := os.Getenv("HOTLINE_DASHBOARD_FROM"); from != "" {
		ts, err := time.Parse(time.RFC3339, from)
		if err != nil {
			t.Fatalf("HOTLINE_DASHBOARD_FROM %q: want RFC 3339: %v", from, err)
		}
		start = ts
	} else {
		// This test's own data only: Prometheus keeps its TSDB between runs.
		start = time.Now()
		dashboardTraffic(t, env)
		awaitScraped(t, base, `sum(hotline_queue_talk_seconds_count) >= 2 and sum(hotline_callbacks_first_attempts_total{kind="follow_up"}) >= 2`)
	}
	end := time.Now()
	step := end.Sub(start) / 2000
	if step < time.Second {
		step = time.Second
	}
	step = step.Round(time.Second)

	var failures []string
	fail := func(tg dashTarget, why string) {
		failures = append(failures, fmt.Sprintf("%s: %q [%s]\n        expr: %s\n        why:  %s",
			tg.Dashboard, tg.Panel, tg.RefID, strings.ReplaceAll(tg.Expr, "\n", " "), why))
	}
	passed := 0
	for _, tg := range targets {
		switch {
		case strings.TrimSpace(tg.Expr) == "":
			fail(tg, "empty expr")
			continue
		case tg.DSUID != "prometheus":
			fail(tg, fmt.Sprintf("datasource uid %q, want \"prometheus\" (the provisioned data source)", tg.DSUID))
			continue
		case strings.Contains(strings.ReplaceAll(tg.Expr, " ", ""), "vector(0)"):
			fail(tg, "masks missing data with vector(0)")
			continue
		}
		q := grafanaVars.Replace(tg.Expr)
		if strings.Contains(q, "$") {
			fail(tg, "uses a variable the proof cannot substitute")
			continue
		}
		pr, err := promGet(base, "/api/v1/query_range", url.Values{
			"query": {q},
			"start": {strconv.FormatInt(start.Unix(), 10)},
			"end":   {strconv.FormatInt(end.Unix(), 10)},
			"step":  {strconv.Itoa(int(step.Seconds()))},
		})
		if err != nil {
			fail(tg, "query failed: "+err.Error())
			continue
		}
		series, points, good := len(pr.Data.Result), 0, 0
		for _, r := range pr.Data.Result {
			for _, v := range r.Values {
				points++
				if len(v) == 2 && finite(v[1]) {
					good++
				}
			}
		}
		switch {
		case series == 0:
			fail(tg, "no data: no series at any point of the run")
		case good == 0:
			fail(tg, fmt.Sprintf("no data: %d series, %d points, none a finite number (NaN/Inf only)", series, points))
		default:
			passed++
		}
	}
	t.Logf("%d dashboard queries over %s .. %s (step %s): %d with data", len(targets),
		start.Format(time.TimeOnly), end.Format(time.TimeOnly), step, passed)
	if len(failures) > 0 {
		t.Fatalf("%d of %d dashboard queries failed against %s:\n  %s", len(failures), len(targets), base,
			strings.Join(failures, "\n  "))
	}
}
