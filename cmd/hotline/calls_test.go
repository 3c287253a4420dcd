package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
)

// hotline calls export writes the records of the span to a file, and
// refuses bad arguments before touching Redis.
func TestCallsExport(t *testing.T) {
	rs := redistest.Start(t)
	t.Setenv("HOTLINE_ENV_FILE", "")
	t.Setenv("HOTLINE_REDIS_ADDR", rs.Addr)
	t.Setenv("HOTLINE_REDIS_PREFIX", "x:")
	t.Setenv("HOTLINE_API_TOKEN", "cli-test-token")
	t.Setenv("HOTLINE_ARI_PASSWORD", "cli-test")
	t.Setenv("HOTLINE_POLICY_FILE", "")
	ctx := context.Background()
	store := cdr.New(rs.Client(t), "x:", policy.Default().Records(), nil)
	now := time.Now().In(china.Zone)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, china.Zone)
	for i, start := range []time.Time{day.Add(9 * time.Hour), day.Add(-time.Hour)} {
		r := cdr.Record{CallID: []string{"today", "yesterday"}[i], Kind: cdr.KindInbound, Phone: "13800138000", Start: start,
			End: start.Add(time.Minute), Outcome: "self_service"}
		if err := store.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "calls.csv")
	d := day.Format("2006-01-02")
	next := day.AddDate(0, 0, 1).Format("2006-01-02")
	if err := calls(ctx, []string{"export", "-since", d, "-until", next, "-o", out}, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); !strings.Contains(s, "\r\ntoday,inbound,13800138000,") || strings.Contains(s, "yesterday") {
		t.Fatalf("export:\n%s", s)
	}
	var b strings.Builder
	if err := calls(ctx, []string{"export", "-since", d, "-until", next, "-agent", "9999"}, &b); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(b.String(), "\r\n"); lines != 1 {
		t.Fatalf("another agent's export has %d lines, want the header only:\n%s", lines, b.String())
	}
	for _, args := range [][]string{
		{"import"},
		{"export", "-until", next},
		{"export", "-since", next, "-until", d},
		{"export", "-since", "yesterday", "-until", next},
		{"export", "-since", d, "-until", next, "-phone", "12"},
	} {
		if err := calls(ctx, args, &b); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
