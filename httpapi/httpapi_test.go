package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/notices"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
	"github.com/rs/zerolog"
)

const token = "test-token-123"

type env struct {
	srv   *httptest.Server
	redis *redistest.Server
	tk    *tickets.Store
	ariOK bool
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith lets a test change the dependencies (tokens, rate limit)
// before the server starts.
func newEnvWith(t *testing.T, change func(*Deps)) *env {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	reg := agents.NewRegistry(rdb, "t:", nil)
	if err := reg.Ensure(context.Background(), []string{"1001", "1002"}); err != nil {
		t.Fatal(err)
	}
	e := &env{redis: rs, tk: tickets.New(rdb, "t:", nil), ariOK: true}
	pol := policy.Default()
	e.tk.SetTaxonomy(pol)
	cbs := callbacks.NewStore(rdb, "t:", pol.Callbacks(), nil)
	wo := workorders.New(e.tk, pol, cbs, outages.New(rdb, "t:", nil), rdb, "t:", "test", workorders.Config{}, metrics.Discard(), zerolog.Nop(), nil)
	d := Deps{
		Token: token,
		Health: func(ctx context.Context) map[string]Part {
			return map[string]Part{"ari": {OK: e.ariOK}, "redis": {OK: rdb.Ping(ctx).Err() == nil}}
		},
		Metrics:   http.NotFoundHandler(),
		Tickets:   e.tk,
		Orders:    wo,
		Agents:    reg,
		Callbacks: cbs,
		Notices:   notices.New(rdb, "t:", nil),
		Log:       zerolog.Nop(),
	}
	if change != nil {
		change(&d)
	}
	e.srv = httptest.NewServer(New(d))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) do(t *testing.T, method, path, body string, auth bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestAPI(t *testing.T) {
	e := newEnv(t)
	if _, err := e.tk.Create(context.Background(), tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, body string
		auth                     bool
		code                     int
		want                     string // in the JSON body
	}{
		{"no token", "GET", "/api/v1/agents", "", false, 401, "bearer token"},
		{"agents", "GET", "/api/v1/agents", "", true, 200, `"state":"logged_out"`},
		{"all tickets", "GET", "/api/v1/tickets", "", true, 200, `"type":"fault"`},
		{"bad phone", "GET", "/api/v1/tickets?phone=abc", "", true, 400, "phone"},
		{"bad type", "GET", "/api/v1/tickets?type=gossip", "", true, 400, "unknown ticket type"},
		{"bad overdue", "GET", "/api/v1/tickets?overdue=maybe", "", true, 400, "overdue must be"},
		{"tickets by phone", "GET", "/api/v1/tickets?phone=13800138000", "", true, 200, `"type":"fault"`},
		{"tickets of +86 number", "GET", "/api/v1/tickets?phone=%2B8613800138000", "", true, 200, `"type":"fault"`},
		{"no tickets is an empty list", "GET", "/api/v1/tickets?phone=13900000000", "", true, 200, `"tickets":[]`},
		{"bad limit", "GET", "/api/v1/tickets?phone=13800138000&limit=x", "", true, 400, "limit"},
		{"pause logged out", "POST", "/api/v1/agents/1001/pause", "", true, 409, "logged_out"},
		{"login", "POST", "/api/v1/agents/1001/login", "", true, 200, `"state":"available"`},
		{"pause malformed", "POST", "/api/v1/agents/1001/pause", "{reason:", true, 400, "malformed JSON"},
		{"pause unknown field", "POST", "/api/v1/agents/1001/pause", `{"why":"x"}`, true, 400, "malformed JSON"},
		{"pause", "POST", "/api/v1/agents/1001/pause", `{"reason":"lunch"}`, true, 200, `"reason":"lunch"`},
		{"ready", "POST", "/api/v1/agents/1001/ready", "", true, 200, `"state":"available"`},
		{"logout", "POST", "/api/v1/agents/1001/logout", "", true, 200, `"state":"logged_out"`},
		{"unknown agent", "POST", "/api/v1/agents/9999/login", "", true, 404, "unknown agent"},
		{"unknown action", "POST", "/api/v1/agents/1001/dance", "", true, 404, "unknown agent action"},
		{"callbacks", "GET", "/api/v1/callbacks?phone=13800138000", "", true, 200, `"callbacks":[]`},
		{"unknown route", "GET", "/api/v1/nothing", "", true, 404, "no such API route"},
		{"healthz", "GET", "/healthz", "", false, 200, `"status":"ok"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(t, tc.method, tc.path, tc.body, tc.auth)
			raw, _ := json.Marshal(body)
			if code != tc.code || !strings.Contains(string(raw), tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, raw, tc.code, tc.want)
			}
		})
	}
}

func TestHealthAndDeadRedis(t *testing.T) {
	e := newEnv(t)
	e.ariOK = false
	if code, body := e.do(t, "GET", "/healthz", "", false); code != 503 || body["status"] != "degraded" {
		t.Fatalf("ARI down: %d %v", code, body)
	}
	e.ariOK = true
	e.redis.Kill(t)
	code, body := e.do(t, "GET", "/healthz", "", false)
	if code != 503 || !strings.Contains(mustJSON(body), `"redis":{"ok":false`) {
		t.Fatalf("redis down: %d %v", code, body)
	}
	if code, body := e.do(t, "POST", "/api/v1/agents/1001/login", "", true); code != 503 || body["error"] == nil {
		t.Fatalf("dead redis: %d %v", code, body)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// The back office: a ticket from another channel through its lifecycle,
// illegal moves refused, outages declared and cleared, the report served.
func TestWorkOrderAPI(t *testing.T) {
	e := newEnv(t)
	var created struct {
		ID, Status, Grade string
		EscalationLevel   string `json:"escalation_level"`
	}
	code, body := e.do(t, "POST", "/api/v1/tickets", `{"type":"complaint","channel":"12398","phone":"13800138000","named":true,"class":"service","subject":"staff_attitude"}`, true)
	raw, _ := json.Marshal(body)
	_ = json.Unmarshal(raw, &created)
	if code != 201 || created.ID == "" || created.EscalationLevel != "staff" || created.Grade != "V" {
		t.Fatalf("create: %d %s", code, raw)
	}
	id := created.ID
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"create needs a known type", "POST", "/api/v1/tickets", `{"type":"gossip","phone":"13800138000"}`, 400, "error"},
		{"create malformed", "POST", "/api/v1/tickets", `{"type":`, 400, "malformed JSON"},
		{"create unknown field", "POST", "/api/v1/tickets", `{"type":"fault","colour":"red"}`, 400, "malformed JSON"},
		{"bad subject for class", "POST", "/api/v1/tickets", `{"type":"complaint","phone":"13800138000","class":"service","subject":"meter_seal"}`, 400, "error"},
		{"get with audit", "GET", "/api/v1/tickets/" + id, "", 200, `"action":"accepted"`},
		{"resolve too early", "POST", "/api/v1/tickets/" + id + "/actions", `{"action":"resolve","result":"explained"}`, 409, "error"},
		{"register", "POST", "/api/v1/tickets/" + id + "/actions", `{"action":"register"}`, 200, `"status":"registered"`},
		{"assign needs someone", "POST", "/api/v1/tickets/" + id + "/assign", `{}`, 400, "to is required"},
		{"assign", "POST", "/api/v1/tickets/" + id + "/assign", `{"to":"zhang.wei"}`, 200, `"assigned_to":"zhang.wei"`},
		{"note", "POST", "/api/v1/tickets/" + id + "/notes", `{"note":"called the customer"}`, 200, "called the customer"},
		{"start", "POST", "/api/v1/tickets/" + id + "/actions", `{"action":"start"}`, 200, `"status":"in_progress"`},
		{"urge", "POST", "/api/v1/tickets/" + id + "/actions", `{"action":"urge"}`, 200, `"urge_count":1`},
		{"escalate one rung", "POST", "/api/v1/tickets/" + id + "/actions", `{"action":"escalate","note":"customer angry"}`, 200, `"escalation_level":"technician"`},
		{"resolve needs a result", "POST", "/api/v1/tickets/" + id + "/actions", `{"action":"resolve"}`, 400, "error"},
		{"resolve starts the follow-up", "POST", "/api/v1/tickets/" + id + "/actions", `{"action":"resolve","result":"explained"}`, 200, `"status":"follow_up"`},
		{"follow-up call promised", "GET", "/api/v1/callbacks?phone=13800138000", "", 200, `"kind":"follow_up"`},
		{"unknown ticket", "GET", "/api/v1/tickets/20990101000001", "", 404, "error"},
		{"overdue filter", "GET", "/api/v1/tickets?overdue=true", "", 200, `"tickets":[]`},
		{"declare outage", "POST", "/api/v1/outages", `{"kind":"fault","transformer":"TX-0101","area":"朝阳区","reason":"cable fault"}`, 201, `"parent_ticket":"`},
		{"second outage on the transformer", "POST", "/api/v1/outages", `{"kind":"fault","transformer":"TX-0101"}`, 409, "error"},
		{"bad restore time", "POST", "/api/v1/outages", `{"kind":"fault","area":"x","expected_restore":"tomorrow"}`, 400, "RFC 3339"},
		{"outages", "GET", "/api/v1/outages", "", 200, `"transformer":"TX-0101"`},
		{"report needs a period", "GET", "/api/v1/reports/complaints", "", 400, "from and to"},
		{"schedule needs a time", "POST", "/api/v1/callbacks", `{"phone":"13900139000","kind":"scheduled"}`, 400, "needs at"},
		{"schedule bad kind", "POST", "/api/v1/callbacks", `{"phone":"13900139000","kind":"pizza","at":"2030-01-01T10:00:00+08:00"}`, 400, "unknown kind"},
		{"schedule", "POST", "/api/v1/callbacks", `{"phone":"13900139000","kind":"scheduled","at":"2030-01-01T10:00:00+08:00","reason":"agreed"}`, 201, `"due_at":"2030-01-01T02:00:00Z"`},
		{"schedule again is the same promise", "POST", "/api/v1/callbacks", `{"phone":"13900139000","kind":"scheduled","at":"2030-01-02T10:00:00+08:00"}`, 200, `"due_at":"2030-01-01T02:00:00Z"`},
		{"callback with history", "GET", "/api/v1/callbacks/1", "", 200, `"history":[]`},
		{"report json", "GET", "/api/v1/reports/complaints?from=2000-01-01&to=2100-01-01&format=json", "", 200, `"complaints":1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(t, tc.method, tc.path, tc.body, true)
			raw, _ := json.Marshal(body)
			if code != tc.code || !strings.Contains(string(raw), tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, raw, tc.code, tc.want)
			}
		})
	}
}
