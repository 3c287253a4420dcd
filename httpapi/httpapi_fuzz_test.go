package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/notices"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/report"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/workorders"
	"github.com/rs/zerolog"
)

// fuzzFakes implements Tickets, Orders, Agents and Callbacks with canned
// successes, so that any status the fuzzer sees comes from the HTTP layer.
type fuzzFakes struct{}

func (fuzzFakes) ListByPhone(context.Context, string, int) ([]tickets.Ticket, error) { return nil, nil }
func (fuzzFakes) Create(_ context.Context, t tickets.Ticket) (tickets.Ticket, error) {
	t.ID = "GD2026-000001"
	return t, nil
}
func (fuzzFakes) Get(_ context.Context, id string) (tickets.Ticket, error) {
	return tickets.Ticket{ID: id}, nil
}
func (fuzzFakes) Apply(_ context.Context, id string, _ tickets.Change) (tickets.Ticket, error) {
	return tickets.Ticket{ID: id}, nil
}
func (fuzzFakes) List(context.Context, tickets.Filter) ([]tickets.Ticket, error) { return nil, nil }
func (fuzzFakes) DeclareOutage(_ context.Context, o outages.Outage) (outages.Outage, error) {
	return o, nil
}
func (fuzzFakes) ClearOutage(context.Context, string, string) (outages.Outage, error) {
	return outages.Outage{}, nil
}
func (fuzzFakes) ActiveOutages(context.Context) ([]outages.Outage, error) { return nil, nil }
func (fuzzFakes) GetOutage(_ context.Context, id string) (outages.Outage, error) {
	return outages.Outage{ID: id}, nil
}
func (fuzzFakes) UpdateOutage(_ context.Context, id string, _ time.Time, _, _ string) (outages.Outage, error) {
	return outages.Outage{ID: id}, nil
}
func (fuzzFakes) ConfirmOutage(_ context.Context, id, _ string) (outages.Outage, error) {
	return outages.Outage{ID: id}, nil
}
func (fuzzFakes) EarlyWarnings(context.Context) (workorders.EarlyWarnings, error) {
	return workorders.EarlyWarnings{}, nil
}
func (fuzzFakes) ComplaintReport(context.Context, time.Time, time.Time) (report.Report, report.Labels, error) {
	return report.Report{}, report.Labels{}, nil
}

type fuzzAgents struct{}

func (fuzzAgents) Login(context.Context, string) error         { return nil }
func (fuzzAgents) Logout(context.Context, string) error        { return nil }
func (fuzzAgents) Pause(context.Context, string, string) error { return nil }
func (fuzzAgents) Ready(context.Context, string) error         { return nil }
func (fuzzAgents) Get(_ context.Context, id string) (agents.Agent, error) {
	return agents.Agent{ID: id}, nil
}
func (fuzzAgents) List(context.Context) ([]agents.Agent, error) { return nil, nil }

type fuzzCallbacks struct{}

func (fuzzCallbacks) ListByPhone(context.Context, string, int) ([]callbacks.Callback, error) {
	return nil, nil
}
func (fuzzCallbacks) Get(_ context.Context, id string) (callbacks.Callback, error) {
	return callbacks.Callback{ID: id}, nil
}
func (fuzzCallbacks) Schedule(context.Context, callbacks.Request) (string, bool, error) {
	return "cb-1", true, nil
}

// fuzzNotices accepts every notice, so that a 4xx comes from decoding.
type fuzzNotices struct{}

func (fuzzNotices) Create(_ context.Context, n notices.Notice) (notices.Notice, error) {
	n.ID = "N20261122001"
	return n, nil
}
func (fuzzNotices) Get(_ context.Context, id string) (notices.Notice, error) {
	return notices.Notice{ID: id}, nil
}
func (fuzzNotices) List(context.Context, bool) ([]notices.Notice, error) { return nil, nil }
func (fuzzNotices) Withdraw(_ context.Context, id, _ string) (notices.Notice, error) {
	return notices.Notice{ID: id}, nil
}

func fuzzHandler() http.Handler {
	return New(Deps{
		Token:     token,
		Health:    func(context.Context) map[string]Part { return map[string]Part{} },
		Metrics:   http.NotFoundHandler(),
		Tickets:   fuzzFakes{},
		Orders:    fuzzFakes{},
		Agents:    fuzzAgents{},
		Callbacks: fuzzCallbacks{},
		Notices:   fuzzNotices{},
		Log:       zerolog.Nop(),
	})
}

// fuzzBodyRoutes are the POST routes that decode a JSON body.
var fuzzBodyRoutes = []string{
	"/api/v1/tickets",
	"/api/v1/agents/1001/pause",
	"/api/v1/callbacks",
	"/api/v1/outages",
	"/api/v1/notices",
	"/api/v1/tickets/X/actions",
	"/api/v1/tickets/X/notes",
	"/api/v1/tickets/X/assign",
}

func fuzzPost(h http.Handler, path string, body []byte, contentType string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func fuzzCheckJSON(t *testing.T, path string, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("POST %s %q: status %d: %s", path, body, rec.Code, rec.Body)
	}
	if mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type")); err != nil || mt != "application/json" {
		t.Fatalf("POST %s %q: content type %q", path, body, rec.Header().Get("Content-Type"))
	}
	dec := json.NewDecoder(rec.Body)
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("POST %s %q: response is not JSON: %v", path, body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("POST %s %q: more than one JSON value in the response", path, body)
	}
	if rec.Code >= 400 {
		if m, ok := v.(map[string]any); !ok || m["error"] == nil {
			t.Fatalf("POST %s %q: status %d without an error field: %s", path, body, rec.Code, rec.Body)
		}
	}
}

// FuzzPostBodies posts arbitrary bodies to every route that reads JSON:
// whatever the body, the answer is JSON and never a server error.
func FuzzPostBodies(f *testing.F) {
	for i, body := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"reason":"lunch"}`, `{"reason":1}`, `{"unknown":true}`,
		`{"type":"fault","phone":"13800138000","note":"停电"}`, `{"phone":"+86 138 0013 8000","kind":"scheduled","at":"2026-11-23T15:00:00+08:00"}`,
		`{"phone":"13800138000","at":"tomorrow"}`, `{"kind":"planned","area":"西湖","expected_restore":"2026-11-22T18:00:00+08:00"}`,
		`{"action":"resolve","result":"fixed"}`, `{"Note":"n"}`, `{"to":"a1"}`, `{"reason":"` + strings.Repeat("x", 65) + `"}`,
		`{} trailing`, `{"a":`, "\xff\xfe", `{"reason":"\ud800"}`, `{"phone":12}`, strings.Repeat("[", 10000),
		`{"kind":"storm","end":"2026-11-23T18:00:00+08:00","text":"台风"}`, `{"kind":"planned","area":"海淀区","start":"2026-11-23","end":1}`,
		`{"kind":"holiday","sound":"../x","end":"2026-11-23T18:00:00Z","prompt":null}`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := fuzzBodyRoutes[int(route)%len(fuzzBodyRoutes)]
		rec := fuzzPost(h, path, body, "application/json")
		fuzzCheckJSON(t, path, body, rec)
		if rec.Code/100 != 2 && rec.Code/100 != 4 {
			t.Fatalf("POST %s %q: status %d", path, body, rec.Code)
		}
		if len(body) > 64<<10 && rec.Code/100 != 4 {
			t.Fatalf("POST %s with %d bytes: status %d, want 4xx", path, len(body), rec.Code)
		}
	})
}

// TestOversizedBody: a body beyond 64 KiB is refused on every JSON route,
// through a real server so that the connection handling is the real one.
func TestOversizedBody(t *testing.T) {
	srv := httptest.NewServer(fuzzHandler())
	defer srv.Close()
	big := `{"reason":"` + strings.Repeat("x", 70<<10) + `"}`
	for _, path := range fuzzBodyRoutes {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(big))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		var out map[string]any
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode/100 != 4 || err != nil || out["error"] == nil {
			t.Errorf("POST %s with %d bytes: status %d, body %v, %v; want a 4xx JSON error", path, len(big), resp.StatusCode, out, err)
		}
	}
}

// TestNonJSONBody: text that is not JSON is a 400 with a JSON error.
func TestNonJSONBody(t *testing.T) {
	h := fuzzHandler()
	for _, path := range fuzzBodyRoutes {
		for _, body := range []string{"reason=lunch", "<xml/>", "{", "\x00\x01"} {
			rec := fuzzPost(h, path, []byte(body), "text/plain")
			fuzzCheckJSON(t, path, []byte(body), rec)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("POST %s %q: status %d, want 400", path, body, rec.Code)
			}
		}
	}
}

// Trailing data after the JSON value is refused, and so is a body past the
// limit even when its first value is small.
func TestTrailingData(t *testing.T) {
	h := fuzzHandler()
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"reason":"a"}{"reason":"b"}`, 400},
		{`{"reason":"a"}` + strings.Repeat("x", 70<<10), 400}, // garbage after the value
		{`{}` + strings.Repeat(" ", 70<<10), 413},
		{`{"reason":"lunch"}` + "\n", 200}, // a reason of the policy's list
		{``, 200},
	} {
		req := httptest.NewRequest("POST", "/api/v1/agents/1001/pause", strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("body of %d bytes starting %.20q: %d, want %d", len(tc.body), tc.body, rec.Code, tc.code)
		}
	}
}
