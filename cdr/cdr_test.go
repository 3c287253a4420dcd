package cdr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/policy"
)

// t0 is 10:00 China time, the start of a 30-minute interval.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, china.Zone)

func newStore(t *testing.T) (*Store, *redis.Client, *clocktest.Clock) {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(t0.Add(time.Hour))
	return New(rdb, "t:", policy.Records{Retention: 7 * 24 * time.Hour, Interval: 30 * time.Minute}, clk.Now), rdb, clk
}

// answered is a call an agent took: 30 s in the menu, 15 s waiting, 2 min talking.
func answered(id, phone, agent string, start time.Time) Record {
	return Record{CallID: id, Kind: KindInbound, Phone: phone, Start: start, Answer: start.Add(time.Second),
		QueueJoin: start.Add(30 * time.Second), AgentAnswer: start.Add(45 * time.Second), End: start.Add(165 * time.Second),
		MenuPath: "2>1", Queue: "billing", Agent: agent, Outcome: "agent", EndReason: "caller_hangup",
		TicketID: "20261122000001", Replica: "r1", Node: "ast1"}
}

func TestWriteAndGet(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	r := answered("c1", "+86 138-0013-8000", "2001", t0)
	if err := s.Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone != "13800138000" || !got.Start.Equal(r.Start) || !got.AgentAnswer.Equal(r.AgentAnswer) || got.Queue != "billing" ||
		got.Agent != "2001" || got.TicketID != r.TicketID || got.Node != "ast1" || got.Start.Location() != china.Zone {
		t.Fatalf("got %+v", got)
	}
	if len(got.Tickets) != 1 || got.Tickets[0] != r.TicketID {
		t.Fatalf("tickets %v: the record's work order is one of its tickets", got.Tickets)
	}
	if got.Talk() != 2*time.Minute || got.Wait() != 15*time.Second {
		t.Fatalf("talk %s wait %s", got.Talk(), got.Wait())
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
}

func TestWriteRefusesBadRecords(t *testing.T) {
	s, _, _ := newStore(t)
	ok := answered("c1", "13800138000", "2001", t0)
	for _, tc := range []struct {
		name string
		edit func(r *Record)
		want string
	}{
		{"no call id", func(r *Record) { r.CallID = "" }, "call id"},
		{"call id with a space", func(r *Record) { r.CallID = "a b" }, "call id"},
		{"unknown kind", func(r *Record) { r.Kind = "outbound" }, "unknown kind"},
		{"no end", func(r *Record) { r.End = time.Time{} }, "needs both"},
		{"end before start", func(r *Record) { r.End = r.Start.Add(-time.Second) }, "end not before start"},
		{"older than the retention", func(r *Record) { r.Start = t0.Add(-8 * 24 * time.Hour) }, "retention"},
		{"agent answer after the end", func(r *Record) { r.AgentAnswer = r.End.Add(time.Minute) }, "agent_answer"},
		{"bad phone", func(r *Record) { r.Phone = "12" }, "phone"},
		{"unknown queue", func(r *Record) { r.Queue = "vip" }, "unknown queue"},
		{"no outcome", func(r *Record) { r.Outcome = "" }, "outcome"},
		{"bad survey", func(r *Record) { r.Survey = "great" }, "survey"},
		{"bad agent", func(r *Record) { r.Agent = "20 01" }, "agent id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			err := s.Write(context.Background(), r)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

// Codes, work orders and the recording set while the call was still on
// the line survive its Write, and are counted once.
func TestFieldsSetBeforeTheRecord(t *testing.T) {
	s, rdb, _ := newStore(t)
	ctx := context.Background()
	if err := s.SetWrapUp(ctx, "c1", "answered"); err != nil {
		t.Fatal(err)
	}
	if err := s.Link(ctx, "c1", "2001", "20261122000009"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRecording(ctx, "c1", "rec-c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a partial record must not show: %v", err)
	}
	if ttl := rdb.PTTL(ctx, "t:cdr:c1").Val(); ttl <= 0 {
		t.Fatalf("partial record without expiry: %s", ttl)
	}
	r := answered("c1", "13800138000", "2001", t0)
	r.Survey = SurveyFair
	for range 2 { // written twice: counted once
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.WrapUpCode != "answered" || got.RecordingID != "rec-c1" || got.Survey != SurveyFair ||
		strings.Join(got.Tickets, ",") != "20261122000009,20261122000001" {
		t.Fatalf("got %+v", got)
	}
	rep, err := s.Stats(ctx, t0, t0.Add(30*time.Minute), "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calls.Calls != 1 || rep.Calls.WrapUpCodes["answered"] != 1 || rep.Calls.Survey["fair"] != 1 {
		t.Fatalf("counted %+v", rep.Calls)
	}
	// Another code replaces the first, in the record and in the counts.
	if err := s.SetWrapUp(ctx, "c1", "order_taken"); err != nil {
		t.Fatal(err)
	}
	rep, _ = s.Stats(ctx, t0, t0.Add(30*time.Minute), "")
	if rep.Calls.WrapUpCodes["answered"] != 0 || rep.Calls.WrapUpCodes["order_taken"] != 1 {
		t.Fatalf("after the change %+v", rep.Calls.WrapUpCodes)
	}
	if rep.Agents[0].WrapUpCodes["order_taken"] != 1 || rep.Queues[0].WrapUpCodes["order_taken"] != 1 {
		t.Fatalf("agent %+v queue %+v", rep.Agents[0].WrapUpCodes, rep.Queues[0].WrapUpCodes)
	}
	for _, tk := range []string{"20261122000009", "20261122000001"} {
		if ok, err := s.AgentHasTicket(ctx, "2001", tk); err != nil || !ok {
			t.Fatalf("agent 2001 ticket %s: %v %v", tk, ok, err)
		}
	}
	if ok, _ := s.AgentHasTicket(ctx, "2002", "20261122000001"); ok {
		t.Fatal("another agent owns the ticket")
	}
	if err := s.SetSurvey(ctx, "c1", "great"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad survey: %v", err)
	}
}

func TestListFilters(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	recs := []Record{
		answered("a", "13800138000", "2001", t0),
		answered("b", "13800138001", "2002", t0.Add(time.Minute)),
		answered("c", "13800138000", "2002", t0.Add(2*time.Minute)),
	}
	recs[2].Queue = "fault"
	selfService := Record{CallID: "d", Kind: KindInbound, Phone: "13800138002", Start: t0.Add(3 * time.Minute),
		End: t0.Add(4 * time.Minute), Outcome: "self_service"}
	for _, r := range append(recs, selfService) {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(rs []Record) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.CallID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want string
	}{
		{"all, newest first", Filter{}, "d,c,b,a"},
		{"limit", Filter{Limit: 2}, "d,c"},
		{"agent", Filter{Agent: "2002"}, "c,b"},
		{"queue", Filter{Queue: "billing"}, "b,a"},
		{"phone", Filter{Phone: "13800138000"}, "c,a"},
		{"phone and agent", Filter{Phone: "13800138000", Agent: "2002"}, "c"},
		{"since", Filter{Since: t0.Add(time.Minute)}, "d,c,b"},
		{"until is exclusive", Filter{Until: t0.Add(2 * time.Minute)}, "b,a"},
		{"nothing", Filter{Agent: "2003"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.f)
			if err != nil || ids(got) != tc.want {
				t.Fatalf("got %q %v, want %q", ids(got), err, tc.want)
			}
		})
	}
}

// The policy's retention acts: a record expires with its start plus the
// retention, and the indexes drop it on the next write.
func TestRetention(t *testing.T) {
	s, rdb, clk := newStore(t)
	ctx := context.Background()
	if err := s.Write(ctx, answered("old", "13800138000", "2001", t0)); err != nil {
		t.Fatal(err)
	}
	want := t0.Add(7 * 24 * time.Hour).Sub(clk.Now())
	if ttl := rdb.PTTL(ctx, "t:cdr:old").Val(); ttl > want || ttl < want-time.Minute {
		t.Fatalf("record expires in %s, want %s", ttl, want)
	}
	clk.Add(7 * 24 * time.Hour)
	if err := s.Write(ctx, answered("new", "13800138000", "2001", clk.Now().Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"t:cdrs", "t:cdrs:agent:2001", "t:cdrs:queue:billing", "t:cdrs:phone:13800138000"} {
		if got := rdb.ZRange(ctx, key, 0, -1).Val(); len(got) != 1 || got[0] != "new" {
			t.Errorf("%s = %v, want only the new call", key, got)
		}
	}
}

// Export writes every record, oldest first, even past one page of calls
// that share a millisecond.
func TestExportCSV(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	const n = 1203
	for i := range n {
		start := t0.Add(time.Duration(i/600) * time.Second) // 600 calls in each of three milliseconds
		r := Record{CallID: fmt.Sprintf("c%04d", i), Kind: KindCallback, Phone: "13800138000", Start: start, End: start.Add(time.Minute),
			Outcome: "agent", MenuPath: "=cmd"}
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	got, err := s.Export(ctx, &b, Filter{Since: t0, Until: t0.Add(time.Hour)})
	if err != nil || got != n {
		t.Fatalf("exported %d, %v; want %d", got, err, n)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n")
	if !strings.HasPrefix(lines[0], "\ufeffcall_id,kind,phone,start") || len(lines) != n+1 {
		t.Fatalf("header %q, %d lines", lines[0], len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		id, _, _ := strings.Cut(l, ",")
		if seen[id] {
			t.Fatalf("%s exported twice", id)
		}
		seen[id] = true
	}
	if !strings.Contains(lines[1], ",2026-11-22 10:00:00.000,") || !strings.Contains(lines[1], ",'=cmd,") {
		t.Fatalf("row %q: China time, formula defused", lines[1])
	}
}
