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
	"github.com/hotline95598/hotline/tickets"
	"github.com/rs/zerolog"
)

const token = "test-token-123"

type env struct {
	srv   *httptest.Server
	redis *redistest.Server
	tk    *tickets.Store
	ariOK bool
}

func newEnv(t *testing.T) *env {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	reg := agents.NewRegistry(rdb, "t:", nil)
	if err := reg.Ensure(context.Background(), []string{"1001"}); err != nil {
		t.Fatal(err)
	}
	e := &env{redis: rs, tk: tickets.New(rdb, "t:", nil), ariOK: true}
	h := New(Deps{
		Token: token,
		Health: func(ctx context.Context) map[string]Part {
			return map[string]Part{"ari": {OK: e.ariOK}, "redis": {OK: rdb.Ping(ctx).Err() == nil}}
		},
		Metrics:   http.NotFoundHandler(),
		Tickets:   e.tk,
		Agents:    reg,
		Callbacks: callbacks.NewStore(rdb, "t:", callbacks.Policy{}, nil),
		Log:       zerolog.Nop(),
	})
	e.srv = httptest.NewServer(h)
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
		{"tickets need phone", "GET", "/api/v1/tickets", "", true, 400, "phone"},
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
