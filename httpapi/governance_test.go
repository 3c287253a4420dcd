package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The closed-loop actions through the API, classify in the exact shape the
// agent desk sends; refusals carry their reason.
func TestGovernanceAPI(t *testing.T) {
	e := newEnv(t)
	_, c := e.do(t, "POST", "/api/v1/tickets", `{"type":"complaint","channel":"95598","phone":"13800138000","area":"海淀区","actor":"zhang.wei"}`, true)
	id, _ := c["id"].(string)
	if id == "" || c["first_responder"] != "zhang.wei" {
		t.Fatalf("create: %v", c)
	}
	_, f := e.do(t, "POST", "/api/v1/tickets", `{"type":"fault","phone":"13800138000","subtype":"rural"}`, true)
	fid, _ := f["id"].(string)
	if f["subtype"] != "rural" {
		t.Fatalf("fault with a sub-type: %v", f)
	}
	actions := "/api/v1/tickets/" + id + "/actions"
	for _, tc := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"classify", actions, `{"action":"classify","class":"service","subject":"staff_attitude","grade":"IV"}`, 200,
			`"from":"V","note":"","to":"service/staff_attitude IV"`},
		{"classify a fault", "/api/v1/tickets/" + fid + "/actions", `{"action":"classify","class":"service","subject":"staff_attitude"}`, 400,
			"only complaints and reports (举报) are classified"},
		{"unknown subject", actions, `{"action":"classify","class":"service","subject":"rudeness"}`, 400,
			`\"rudeness\" is not a complaint subject of class \"service\"`},
		{"unknown class", actions, `{"action":"classify","class":"manners","subject":"staff_attitude"}`, 400, `unknown complaint class`},
		{"verify", actions, `{"action":"verify","responsibility":"customer"}`, 200, `"responsibility":"customer"`},
		{"verify nobody", actions, `{"action":"verify","responsibility":"nobody"}`, 400, "verify needs the responsibility"},
		{"register", actions, `{"action":"register"}`, 200, `"status":"registered"`},
		{"propose", actions, `{"action":"propose","note":"拟派海淀供电所核实"}`, 200, `"proposal":"拟派海淀供电所核实"`},
		{"assign", actions, `{"action":"assign","assign_to":"station:haidian"}`, 200, `"status":"assigned"`},
		{"start", actions, `{"action":"start"}`, 200, `"status":"in_progress"`},
		{"resolve", actions, `{"action":"resolve","result":"explained"}`, 200, `"status":"follow_up"`},
		{"close without cause", actions, `{"action":"close","follow_up":"satisfied"}`, 409, "四不放过"},
		{"investigate", actions, `{"action":"investigate","cause":"服务用语不规范","measure":"全所服务规范培训","note":"调查报告"}`, 200,
			`"cause":"服务用语不规范"`},
		{"decide", actions, `{"action":"decide","decision":"upheld"}`, 200, `"decision":"upheld"`},
		{"close", actions, `{"action":"close","follow_up":"satisfied"}`, 200, `"status":"closed"`},
	} {
		code, body := e.do(t, "POST", tc.path, tc.body, true)
		raw, _ := json.Marshal(body)
		if code != tc.code || !strings.Contains(string(raw), tc.want) {
			t.Fatalf("%s: %d %s; want %d with %q", tc.name, code, raw, tc.code, tc.want)
		}
	}
}

// Outages: the restore time updated, an outage confirmed, warnings and
// scores read.
func TestOutageAndReportAPI(t *testing.T) {
	e := newEnv(t)
	restore := time.Now().Add(time.Hour).Format(time.RFC3339)
	_, o := e.do(t, "POST", "/api/v1/outages", `{"kind":"fault","area":"海淀区","line":"10kV 北环线","expected_restore":"`+restore+`"}`, true)
	id, _ := o["id"].(string)
	if id == "" || o["line"] != "10kV 北环线" {
		t.Fatalf("declare: %v", o)
	}
	later := time.Now().Add(3 * time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"update", "PATCH", "/api/v1/outages/" + id, `{"expected_restore":"` + later.Format(time.RFC3339) + `"}`, 200, `"restore_updates":1`},
		{"update bad time", "PATCH", "/api/v1/outages/" + id, `{"expected_restore":"tonight"}`, 400, "RFC 3339"},
		{"update without time", "PATCH", "/api/v1/outages/" + id, `{"reason":"x"}`, 400, "expected_restore is required"},
		{"update past", "PATCH", "/api/v1/outages/" + id, `{"expected_restore":"2020-01-01T00:00:00+08:00"}`, 400, "not in the future"},
		{"get", "GET", "/api/v1/outages/" + id, "", 200, `"expected_restore":"` + later.Format(time.RFC3339)},
		{"confirm", "POST", "/api/v1/outages/" + id + "/confirm", "", 200, `"confirmed_by"`},
		{"unknown", "GET", "/api/v1/outages/O20200101001", "", 404, "not found"},
		{"warnings", "GET", "/api/v1/warnings", "", 200, `"hot_spots":[]`},
		{"scores", "GET", "/api/v1/reports/scores?from=2026-01-01&to=2027-01-01", "", 200, `"scores":[]`},
		{"scores without period", "GET", "/api/v1/reports/scores", "", 400, "from and to"},
		{"clear", "DELETE", "/api/v1/outages/" + id, "", 200, `"cleared_by"`},
	} {
		code, body := e.do(t, tc.method, tc.path, tc.body, true)
		raw, _ := json.Marshal(body)
		if code != tc.code || !strings.Contains(string(raw), tc.want) {
			t.Fatalf("%s: %d %s; want %d with %q", tc.name, code, raw, tc.code, tc.want)
		}
	}
}
