package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Notices through the API: placed, listed, read, refused with a clear
// message when wrong, withdrawn; and who may do which.
func TestNoticeAPI(t *testing.T) {
	e := newEnvWith(t, func(d *Deps) { d.Tokens = testTokens(t) })
	now := time.Now()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	body := func(fields ...string) string { return "{" + strings.Join(fields, ",") + "}" }
	end := fmt.Sprintf(`"end":%q`, at(6*time.Hour))

	var storm struct {
		ID, Prompt string
		CreatedBy  string `json:"created_by"`
	}
	code, out := e.do(t, "POST", "/api/v1/notices", body(`"kind":"storm"`, end, `"text":"台风过境"`), true)
	raw, _ := json.Marshal(out)
	_ = json.Unmarshal(raw, &storm)
	if code != 201 || !strings.HasPrefix(storm.ID, "N") || storm.Prompt != "notice_storm" || storm.CreatedBy != "api" {
		t.Fatalf("create: %d %s", code, raw)
	}
	code, out = e.do(t, "POST", "/api/v1/notices", body(`"kind":"planned"`, `"area":"海淀区"`, `"sound":"haidian-1123"`,
		fmt.Sprintf(`"start":%q`, at(time.Hour)), end, `"actor":"ops.li"`), true)
	raw, _ = json.Marshal(out)
	if code != 201 || !strings.Contains(string(raw), `"sound":"haidian-1123"`) || !strings.Contains(string(raw), `"created_by":"ops.li"`) ||
		strings.Contains(string(raw), `"prompt"`) {
		t.Fatalf("create with sound: %d %s", code, raw)
	}
	future := out["id"].(string)

	for _, tc := range []struct {
		name, who, method, path, body string
		code                          int
		want                          string
	}{
		{"unknown kind", token, "POST", "/api/v1/notices", body(`"kind":"flood"`, end), 400, `unknown kind \"flood\"`},
		{"no end", token, "POST", "/api/v1/notices", body(`"kind":"storm"`), 400, "end required"},
		{"end not RFC 3339", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, `"end":"tomorrow"`), 400, "end must be an RFC 3339 time"},
		{"start as a date", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, `"start":"2026-11-23"`, end), 400, "start must be an RFC 3339 time"},
		{"end in the past", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, fmt.Sprintf(`"start":%q`, at(-2*time.Hour)), fmt.Sprintf(`"end":%q`, at(-time.Hour))), 400, "in the past"},
		{"end before start", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, fmt.Sprintf(`"start":%q`, at(7*time.Hour)), end), 400, "not after start"},
		{"too long", token, "POST", "/api/v1/notices", body(`"kind":"holiday"`, fmt.Sprintf(`"end":%q`, at(93*24*time.Hour))), 400, "at most 92 days"},
		{"unknown prompt", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, `"prompt":"notice_flood"`, end), 400, "not in the prompt catalogue"},
		{"prompt and sound", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, `"prompt":"notice_storm"`, `"sound":"a"`, end), 400, "not both"},
		{"sound is a path", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, `"sound":"../../etc/passwd"`, end), 400, "recording's name"},
		{"unknown field", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, end, `"until":"x"`), 400, "malformed JSON"},
		{"end as a number", token, "POST", "/api/v1/notices", body(`"kind":"storm"`, `"end":1`), 400, "malformed JSON"},
		{"empty body", token, "POST", "/api/v1/notices", "", 400, "unknown kind"},
		{"list", sup(), "GET", "/api/v1/notices", "", 200, storm.ID},
		{"list has the future one", sup(), "GET", "/api/v1/notices", "", 200, future},
		{"list bad ended", sup(), "GET", "/api/v1/notices?ended=perhaps", "", 400, "ended must be true or false"},
		{"get", sup(), "GET", "/api/v1/notices/" + storm.ID, "", 200, `"text":"台风过境"`},
		{"get unknown", sup(), "GET", "/api/v1/notices/N20991231999", "", 404, "not found"},
		{"get malformed", sup(), "GET", "/api/v1/notices/xyz", "", 404, "not found"},
		{"supervisor may not place", sup(), "POST", "/api/v1/notices", body(`"kind":"storm"`, end), 403, "needs role admin"},
		{"supervisor may not withdraw", sup(), "DELETE", "/api/v1/notices/" + storm.ID, "", 403, "needs role admin"},
		{"agent may not read", agent1001Token, "GET", "/api/v1/notices", "", 403, "needs role supervisor"},
		{"withdraw", token, "DELETE", "/api/v1/notices/" + storm.ID, "", 200, `"withdrawn_by":"api"`},
		{"withdraw again", token, "DELETE", "/api/v1/notices/" + storm.ID, "", 200, `"withdrawn_at"`},
		{"withdraw unknown", token, "DELETE", "/api/v1/notices/N20991231999", "", 404, "not found"},
		{"withdrawn ones are kept", sup(), "GET", "/api/v1/notices?ended=true", "", 200, `"withdrawn_by":"api"`},
		{"get withdrawn", sup(), "GET", "/api/v1/notices/" + storm.ID, "", 200, `"withdrawn_at"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got, _ := e.as(t, tc.who, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, got, tc.code, tc.want)
			}
		})
	}
	// The withdrawn notice is no longer listed; the future one still is.
	_, got, _ := e.as(t, token, "GET", "/api/v1/notices", "")
	if strings.Contains(got, storm.ID) || !strings.Contains(got, future) {
		t.Fatalf("list after withdrawal: %s", got)
	}
}

func sup() string { return supervisorToken }

// Without a notices store the routes do not exist.
func TestNoticeRoutesNeedAStore(t *testing.T) {
	e := newEnvWith(t, func(d *Deps) { d.Notices = nil })
	if code, out := e.do(t, "GET", "/api/v1/notices", "", true); code != 404 || !strings.Contains(fmt.Sprint(out), "no such API route") {
		t.Fatalf("%d %v", code, out)
	}
}
