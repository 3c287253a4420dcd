package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/redistest"
)

// cli runs a back-office command against a throw-away Redis and returns
// what it printed.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	stdout = &out
	t.Cleanup(func() { stdout = os.Stdout })
	err := backoffice(context.Background(), args)
	return out.String(), err
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return m
}

// The back office from the command line: a complaint classified, verified,
// investigated; an outage declared, its restore time updated, confirmed and
// cleared; scores and warnings read. The CLI's user is the first responder.
func TestBackofficeCLI(t *testing.T) {
	srv := redistest.Start(t)
	t.Setenv("HOTLINE_ENV_FILE", "")
	t.Setenv("HOTLINE_REDIS_ADDR", srv.Addr)
	t.Setenv("HOTLINE_API_TOKEN", "cli-test-token-0123456789")
	t.Setenv("HOTLINE_ARI_USER", "hotline")
	t.Setenv("HOTLINE_ARI_PASSWORD", "cli-test-ari-password")
	t.Setenv("USER", "li.ming")
	out, err := cli(t, "tickets", "create", "-type", "complaint", "-channel", "12345", "-phone", "13800138000", "-area", "海淀区")
	if err != nil {
		t.Fatal(err)
	}
	c := decodeJSON(t, out)
	id := c["id"].(string)
	if c["first_responder"] != "li.ming" {
		t.Fatalf("first responder %v", c["first_responder"])
	}
	for _, step := range [][]string{
		{"classify", "-class", "service", "-subject", "staff_attitude", "-grade", "IV"},
		{"verify", "-responsibility", "utility"},
		{"investigate", "-cause", "服务不规范", "-measure", "培训"},
	} {
		if out, err = cli(t, append([]string{"tickets", "do", id}, step...)...); err != nil {
			t.Fatalf("%s: %v", step[0], err)
		}
	}
	c = decodeJSON(t, out)
	if c["class"] != "service" || c["grade"] != "IV" || c["responsibility"] != "utility" || c["measure"] != "培训" {
		t.Fatalf("after the steps: %v", c)
	}
	if _, err := cli(t, "tickets", "do", id, "classify", "-class", "service", "-subject", "nonsense"); err == nil ||
		!strings.Contains(err.Error(), `"nonsense" is not a complaint subject`) {
		t.Fatalf("bad subject: %v", err)
	}

	restore := time.Now().Add(time.Hour).Format(time.RFC3339)
	if out, err = cli(t, "outages", "declare", "-kind", "fault", "-transformer", "TX-9", "-line", "10kV 西线", "-restore", restore); err != nil {
		t.Fatal(err)
	}
	oid := decodeJSON(t, out)["id"].(string)
	later := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	if out, err = cli(t, "outages", "update", oid, "-restore", later.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	if o := decodeJSON(t, out); o["restore_updates"] != 1.0 {
		t.Fatalf("update: %v", o)
	}
	if _, err := cli(t, "outages", "update", oid); err == nil {
		t.Error("update without -restore accepted")
	}
	for _, cmd := range []string{"confirm", "get", "clear"} {
		if _, err := cli(t, "outages", cmd, oid); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	today := time.Now().Format("2006-01-02")
	tomorrow := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	if out, err = cli(t, "report", "scores", "-from", today, "-to", tomorrow); err != nil || !strings.Contains(out, `"station": "海淀区"`) {
		t.Fatalf("scores: %v\n%s", err, out)
	}
	if out, err = cli(t, "report", "warnings"); err != nil || !strings.Contains(out, `"outage_repeats"`) {
		t.Fatalf("warnings: %v\n%s", err, out)
	}
	if out, err = cli(t, "report", "complaints", "-from", today, "-to", tomorrow, "-format", "csv"); err != nil || !strings.Contains(out, "regulator,items") {
		t.Fatalf("csv: %v", err)
	}
}
