//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/prompts"
)

// send is post with any method (PATCH, DELETE).
func (e *Env) send(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.HTTP+path, strings.NewReader(string(raw)))
	req.Header.Set("Authorization", "Bearer "+e.Token)
	req.Header.Set("X-Actor", "e2e")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// An outage past its expected restore time is told as "restoration is
// taking longer than expected", without the stale time; once an operator
// gives a new time through the API, the next caller hears that time.
func TestOutageOverrunToldTruthfully(t *testing.T) {
	env := loadEnv(t)
	const phone = "13900139000" // 李娜, transformer TX-0102 (deploy/dev/accounts.csv)
	restore := time.Now().Add(4 * time.Second)
	var o struct {
		ID             string `json:"id"`
		ParentTicket   string `json:"parent_ticket"`
		RestoreUpdates int    `json:"restore_updates"`
	}
	if code := env.post(t, "/api/v1/outages", map[string]string{"kind": "fault", "transformer": "TX-0102",
		"reason": "e2e: cable fault", "expected_restore": restore.Format(time.RFC3339Nano)}, &o); code != 201 || o.ID == "" {
		t.Fatalf("declare: %d %+v", code, o)
	}
	t.Cleanup(func() { env.send(t, http.MethodDelete, "/api/v1/outages/"+o.ID, nil, nil) })

	// Past the expected restore time (the time passing is what is tested).
	time.Sleep(time.Until(restore) + 500*time.Millisecond)
	c := caller(t, env, phone, pause(25*time.Second), hangUp)
	heard, ok := env.listenUntil(t, phone, "sound:hotline/outage_still_report", 25*time.Second)
	c.wait(t, 30*time.Second)
	t.Logf("after the restore time the caller heard %v", heard)
	if !ok || !heardAny(heard, "sound:hotline/outage_late") || heardAny(heard, "sound:hotline/outage_notice") {
		t.Fatalf("heard %v; want outage_late and no restore time", heard)
	}
	for _, m := range heard {
		if m == "sound:hotline/shi_hour" || m == "sound:hotline/fen_minute" {
			t.Fatalf("a restore time was read out: %v", heard)
		}
	}

	// The operator gives a new time; the next caller hears it.
	later := time.Now().Add(2 * time.Hour).Truncate(time.Minute).Add(37 * time.Minute)
	if code := env.send(t, http.MethodPatch, "/api/v1/outages/"+o.ID, map[string]string{"expected_restore": later.Format(time.RFC3339)}, &o); code != 200 ||
		o.RestoreUpdates != 1 {
		t.Fatalf("update: %d %+v", code, o)
	}
	c = caller(t, env, phone, pause(25*time.Second), hangUp)
	heard, ok = env.listenUntil(t, phone, "sound:hotline/outage_still_report", 25*time.Second)
	c.wait(t, 40*time.Second)
	t.Logf("after the update the caller heard %v", heard)
	if !ok || !heardAny(heard, "sound:hotline/outage_notice") || heardAny(heard, "sound:hotline/outage_late") {
		t.Fatalf("heard %v; want outage_notice with the new time", heard)
	}
	for _, id := range prompts.When(later.In(china.Zone)) {
		if !heardAny(heard, "sound:hotline/"+id) {
			t.Fatalf("the new time's %s was not heard: %v", id, heard)
		}
	}
	var parent order
	if parent = env.order(t, o.ParentTicket); !strings.Contains(parent.Audit[len(parent.Audit)-1].Note, "expected restore time now") {
		t.Fatalf("parent order audit %+v", parent.Audit)
	}
}
