package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/config"
)

// Plain tokens of the access tests; Deps gets only their hashes, as from
// HOTLINE_TOKENS_FILE.
const (
	supervisorToken = "supervisor-token-0001"
	agent1001Token  = "agent-1001-token-0001"
	agent1002Token  = "agent-1002-token-0001"
)

func testTokens(t *testing.T) []config.APIToken {
	t.Helper()
	file := strings.Join([]string{
		config.TokenLine(supervisorToken, config.RoleSupervisor, "", "shift-lead"),
		config.TokenLine(agent1001Token, config.RoleAgent, "1001", "zhang.wei"),
		config.TokenLine(agent1002Token, config.RoleAgent, "1002", "li.na"),
	}, "\n")
	toks, err := config.ParseTokens(strings.NewReader(file), []string{"1001", "1002"})
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func (e *env) as(t *testing.T, tok, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	raw, _ := json.Marshal(out)
	return resp.StatusCode, string(raw), resp.Header
}

// TestAccess is the access table: which role may call which route. Rows
// run in order (agent 1001 logs in before it pauses).
func TestAccess(t *testing.T) {
	e := newEnvWith(t, func(d *Deps) { d.Tokens = testTokens(t) })
	const (
		none  = ""
		agent = agent1001Token
		sup   = supervisorToken
		admin = token // HOTLINE_API_TOKEN stays an admin token
	)
	complaint := `{"type":"complaint","channel":"12398","phone":"13800138000","class":"service","subject":"staff_attitude"}`
	outage := `{"kind":"fault","area":"海淀区"}`
	for _, tc := range []struct {
		who, method, path, body string
		code                    int
		want                    string
	}{
		{none, "GET", "/api/v1/agents", "", 401, "bearer token"},
		{"not-a-token-at-all", "GET", "/api/v1/agents", "", 401, "bearer token"},
		{strings.ToUpper(agent), "GET", "/api/v1/agents/1001", "", 401, "bearer token"},

		// An agent: its own agent only.
		{agent, "GET", "/api/v1/agents/1001", "", 200, `"id":"1001"`},
		{agent, "POST", "/api/v1/agents/1001/login", "", 200, `"state":"available"`},
		{agent, "POST", "/api/v1/agents/1001/pause", `{"reason":"lunch"}`, 200, `"reason":"lunch"`},
		{agent, "POST", "/api/v1/agents/1001/ready", "", 200, `"state":"available"`},
		{agent, "POST", "/api/v1/agents/1001/logout", "", 200, `"state":"logged_out"`},
		{agent, "POST", "/api/v1/agents/1001/dance", "", 404, "unknown agent action"},
		{agent, "GET", "/api/v1/agents/1002", "", 403, `may act only on agent 1001, not on \"1002\"`},
		{agent, "POST", "/api/v1/agents/1002/login", "", 403, "may act only on agent 1001"},
		{agent1002Token, "POST", "/api/v1/agents/1001/logout", "", 403, "may act only on agent 1002"},
		{agent, "GET", "/api/v1/agents", "", 403, "has role agent; GET /api/v1/agents needs role supervisor"},
		{agent, "GET", "/api/v1/tickets", "", 403, "needs role supervisor"},
		{agent, "POST", "/api/v1/tickets", complaint, 403, "needs role supervisor"},
		{agent, "GET", "/api/v1/tickets/20260101000001", "", 403, "needs role supervisor"},
		{agent, "POST", "/api/v1/tickets/20260101000001/actions", `{"action":"urge"}`, 403, "needs role supervisor"},
		{agent, "GET", "/api/v1/callbacks?phone=13800138000", "", 403, "needs role supervisor"},
		{agent, "POST", "/api/v1/callbacks", `{"phone":"13800138000","at":"2030-01-01T10:00:00+08:00"}`, 403, "needs role supervisor"},
		{agent, "GET", "/api/v1/outages", "", 403, "needs role supervisor"},
		{agent, "POST", "/api/v1/outages", outage, 403, "needs role admin"},
		{agent, "GET", "/api/v1/reports/complaints", "", 403, "needs role supervisor"},
		{agent, "GET", "/api/v1/reports/scores", "", 403, "needs role supervisor"},
		{agent, "GET", "/api/v1/warnings", "", 403, "needs role supervisor"},
		{agent, "POST", "/api/v1/outages/O20260101001/confirm", "", 403, "needs role supervisor"},
		{agent, "GET", "/api/v1/nothing", "", 404, "no such API route"},

		// A supervisor: reads everything, acts on agents, tickets and
		// callbacks; no outages.
		{sup, "GET", "/api/v1/agents", "", 200, `"agents":[`},
		{sup, "GET", "/api/v1/agents/1002", "", 200, `"id":"1002"`},
		{sup, "POST", "/api/v1/agents/1002/login", "", 200, `"state":"available"`},
		{sup, "POST", "/api/v1/agents/1002/logout", "", 200, `"state":"logged_out"`},
		{sup, "POST", "/api/v1/tickets", complaint, 201, `"actor":"shift-lead"`},
		{sup, "GET", "/api/v1/tickets", "", 200, `"type":"complaint"`},
		{sup, "GET", "/api/v1/tickets/20990101000001", "", 404, "error"},
		{sup, "GET", "/api/v1/callbacks?phone=13800138000", "", 200, `"kind":"first_contact"`},
		{sup, "GET", "/api/v1/outages", "", 200, `"outages"`},
		{sup, "GET", "/api/v1/reports/complaints", "", 400, "from and to"},
		{sup, "POST", "/api/v1/outages", outage, 403, "has role supervisor; POST /api/v1/outages needs role admin"},
		{sup, "DELETE", "/api/v1/outages/1", "", 403, "needs role admin"},
		{sup, "PATCH", "/api/v1/outages/1", `{"expected_restore":""}`, 403, "needs role admin"},
		{sup, "POST", "/api/v1/outages/O20260101001/confirm", "", 404, "not found"},
		{sup, "GET", "/api/v1/warnings", "", 200, `"hot_spots"`},

		// An admin: everything.
		{admin, "POST", "/api/v1/agents/1001/login", "", 200, `"state":"available"`},
		{admin, "POST", "/api/v1/outages", outage, 201, `"declared_by":"api"`},
		{admin, "GET", "/api/v1/tickets", "", 200, `"tickets"`},
	} {
		who := map[string]string{none: "none", agent: "agent1001", agent1002Token: "agent1002", sup: "supervisor", admin: "admin"}[tc.who]
		if who == "" {
			who = "bad token"
		}
		t.Run(who+" "+tc.method+" "+tc.path, func(t *testing.T) {
			code, body, _ := e.as(t, tc.who, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, body, tc.code, tc.want)
			}
		})
	}
}

// A route put on the mux without Router.Handle has no access entry: only
// an admin may call it.
func TestUnlistedRouteIsAdminOnly(t *testing.T) {
	rt := newRouter()
	rt.mux.HandleFunc("GET /api/v1/secret", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	})
	srv := httptest.NewServer(guard(NewKeys(token, testTokens(t)), nil, rt))
	defer srv.Close()
	e := &env{srv: srv}
	for tok, want := range map[string]int{token: 200, supervisorToken: 403, agent1001Token: 403, "": 401} {
		if code, body, _ := e.as(t, tok, "GET", "/api/v1/secret", ""); code != want {
			t.Errorf("token %q: %d %s; want %d", tok, code, body, want)
		}
	}
}

// A re-read tokens file takes effect at once: a removed token is refused,
// an added one accepted, and HOTLINE_API_TOKEN stays.
func TestKeysReplace(t *testing.T) {
	rt := newRouter()
	rt.Handle("GET /api/v1/thing", Supervisor, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	})
	keys := NewKeys(token, testTokens(t))
	srv := httptest.NewServer(guard(keys, nil, rt))
	defer srv.Close()
	e := &env{srv: srv}
	const newcomer = "n3wc0mer-supervisor-token-0123456789"
	check := func(when string, want map[string]int) {
		t.Helper()
		for tok, code := range want {
			if got, body, _ := e.as(t, tok, "GET", "/api/v1/thing", ""); got != code {
				t.Errorf("%s: token %.8s…: %d %s; want %d", when, tok, got, body, code)
			}
		}
	}
	check("before", map[string]int{token: 200, supervisorToken: 200, newcomer: 401})
	toks, err := config.ParseTokens(strings.NewReader(config.TokenLine(newcomer, config.RoleSupervisor, "", "night-lead")), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys.Replace(toks)
	check("after", map[string]int{token: 200, supervisorToken: 401, newcomer: 200})
}

func TestRouteWithoutAccessPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Handle accepted a route without an access")
		}
	}()
	newRouter().Handle("GET /x", Access{}, func(http.ResponseWriter, *http.Request) {})
}

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestLimiter(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	l := newLimiter(RateLimit{PerSecond: 2, Burst: 3, Now: clk.Now})
	type want struct {
		ok    bool
		retry int
	}
	for i, step := range []struct {
		advance time.Duration
		key     string
		want    want
	}{
		{0, "a", want{true, 0}}, {0, "a", want{true, 0}}, {0, "a", want{true, 0}}, // the burst
		{0, "a", want{false, 1}},                      // empty: half a second to the next, rounded up
		{0, "b", want{true, 0}},                       // another caller has its own bucket
		{250 * time.Millisecond, "a", want{false, 1}}, // half a request refilled
		{250 * time.Millisecond, "a", want{true, 0}},  // one refilled
		{0, "a", want{false, 1}},
		{10 * time.Second, "a", want{true, 0}}, // refills to the burst, no further
		{0, "a", want{true, 0}}, {0, "a", want{true, 0}},
		{0, "a", want{false, 1}},
	} {
		clk.Add(step.advance)
		retry, ok := l.allow(step.key)
		if ok != step.want.ok || retry != step.want.retry {
			t.Fatalf("step %d (%s): ok=%v retry=%d; want %+v", i, step.key, ok, retry, step.want)
		}
	}
	slow := newLimiter(RateLimit{PerSecond: 0.1, Burst: 1, Now: clk.Now})
	slow.allow("x")
	if retry, ok := slow.allow("x"); ok || retry != 10 {
		t.Fatalf("0.1/s: retry %d ok %v; want 10 s", retry, ok)
	}
	if newLimiter(RateLimit{}) != nil {
		t.Fatal("the zero RateLimit must mean no limit")
	}
}

func TestLimiterForgetsRefilledBuckets(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	l := newLimiter(RateLimit{PerSecond: 1, Burst: 1, Now: clk.Now})
	for i := range maxBuckets {
		l.allow("addr:" + string(rune(i)))
	}
	clk.Add(2 * time.Second)
	l.allow("new")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets kept; want only the new one", n)
	}
}

// Over HTTP: 429 with Retry-After per token; a client without a valid
// token is limited by its address, which does not touch a token's bucket.
func TestRateLimitHTTP(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	e := newEnvWith(t, func(d *Deps) {
		d.Tokens = testTokens(t)
		d.RateLimit = RateLimit{PerSecond: 1, Burst: 2, Now: clk.Now}
	})
	for i, tc := range []struct {
		tok   string
		code  int
		retry string
	}{
		{supervisorToken, 200, ""}, {supervisorToken, 200, ""}, {supervisorToken, 429, "1"},
		{"guess-1", 401, ""}, {"guess-2", 401, ""}, {"guess-3", 429, "1"}, // brute force, by address
		{"", 429, "1"},            // same address, no token: same bucket
		{token, 200, ""},          // the admin token has its own
		{agent1001Token, 403, ""}, // limited or not, still refused
		{supervisorToken, 429, "1"},
	} {
		code, body, h := e.as(t, tc.tok, "GET", "/api/v1/agents", "")
		if code != tc.code || h.Get("Retry-After") != tc.retry {
			t.Fatalf("request %d: %d Retry-After %q %s; want %d %q", i, code, h.Get("Retry-After"), body, tc.code, tc.retry)
		}
	}
	clk.Add(time.Second)
	if code, body, _ := e.as(t, supervisorToken, "GET", "/api/v1/agents", ""); code != 200 {
		t.Fatalf("after a second: %d %s", code, body)
	}
	// Health, metrics and the wallboard are outside the limit.
	for range 5 {
		if code, _, _ := e.as(t, "", "GET", "/healthz", ""); code != 200 {
			t.Fatalf("healthz limited: %d", code)
		}
	}
}
