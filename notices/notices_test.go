package notices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// 2026-11-22 10:00 China time.
var start = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*Store, *redis.Client, *redistest.Server, *clocktest.Clock) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	clk := clocktest.New(start)
	return New(rdb, "test:", clk.Now), rdb, srv, clk
}

func create(t *testing.T, s *Store, n Notice) Notice {
	t.Helper()
	if n.CreatedBy == "" {
		n.CreatedBy = "op:1"
	}
	if n.Kind == "" {
		n.Kind = KindGeneral
	}
	got, err := s.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("Create(%+v): %v", n, err)
	}
	return got
}

func idsOf(ns []Notice) string {
	var r []string
	for _, n := range ns {
		r = append(r, n.ID)
	}
	return strings.Join(r, ",")
}

func TestCreateAndGet(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	end := start.Add(6 * time.Hour)
	n, err := s.Create(ctx, Notice{Kind: KindStorm, Area: " 朝阳区 ", End: end, Text: " 台风 ", CreatedBy: " op:7 ",
		ID: "N1", WithdrawnBy: "x", WithdrawnAt: start, CreatedAt: start.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "N20261122001" || !ValidID(n.ID) {
		t.Errorf("ID = %q", n.ID)
	}
	if n.Area != "朝阳区" || !n.Start.Equal(start) || !n.CreatedAt.Equal(start) || n.Prompt != "notice_storm" ||
		n.Text != "台风" || n.CreatedBy != "op:7" || n.Withdrawn() || n.WithdrawnBy != "" {
		t.Errorf("created = %+v", n)
	}
	got, err := s.Get(ctx, " "+n.ID+" ")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != n.ID || got.Kind != KindStorm || !got.End.Equal(end) || got.Prompt != "notice_storm" || got.Area != "朝阳区" {
		t.Errorf("Get = %+v, want %+v", got, n)
	}
	js, _ := rdb.Get(ctx, "test:notice:"+n.ID).Result()
	for _, field := range []string{`"start"`, `"end"`, `"created_by"`, `"created_at"`, `"prompt":"notice_storm"`} {
		if !strings.Contains(js, field) {
			t.Errorf("stored JSON %s lacks %s", js, field)
		}
	}
	if strings.Contains(js, "withdrawn") || strings.Contains(js, "sound") {
		t.Errorf("stored JSON %s has empty withdrawal or sound", js)
	}
	// Kept for audit until 30 days after the end.
	ttl := rdb.PTTL(ctx, "test:notice:"+n.ID).Val()
	if want := end.Add(Retention).Sub(start); ttl > want || ttl < want-time.Minute {
		t.Errorf("record TTL %s, want about %s", ttl, want)
	}
	second := create(t, s, Notice{Kind: KindHoliday, End: end})
	if second.ID != "N20261122002" || second.Prompt != "notice_holiday" {
		t.Errorf("second = %+v", second)
	}
	for _, id := range []string{"", "N1", "O20261122001", "N2026112200x", "N20261122999"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// The ID is dated in China time: 23:30 UTC is already the next day there.
func TestIDChinaDay(t *testing.T) {
	s, _, _, clk := newStore(t)
	clk.Add(21*time.Hour + 30*time.Minute) // 2026-11-22 23:30 UTC = 11-23 07:30 CST
	n := create(t, s, Notice{End: clk.Now().Add(time.Hour)})
	if n.ID != "N20261123001" {
		t.Errorf("ID = %s", n.ID)
	}
}

func TestCreateSoundAndPrompt(t *testing.T) {
	s, _, _, _ := newStore(t)
	end := start.Add(time.Hour)
	rec := create(t, s, Notice{Kind: KindStorm, Sound: "typhoon-2026_11", End: end})
	if rec.Sound != "typhoon-2026_11" || rec.Prompt != "" {
		t.Errorf("with sound: %+v", rec)
	}
	own := create(t, s, Notice{Kind: KindGeneral, Prompt: "outage_unknown_restore", End: end})
	if own.Prompt != "outage_unknown_restore" {
		t.Errorf("with prompt: %+v", own)
	}
	for _, tc := range []struct {
		n           Notice
		voice, want string
	}{
		{rec, "", "sound:hotline/notices/typhoon-2026_11"},
		{rec, "en", "sound:hotline/notices/typhoon-2026_11"}, // a recording plays as recorded
		{own, "", "sound:hotline/outage_unknown_restore"},
		{own, "en", "sound:hotline/en/outage_unknown_restore"},
		{Notice{Kind: KindPlanned}, "slow", "sound:hotline/slow/notice_planned"},
	} {
		if got := tc.n.Media(tc.voice); got != tc.want {
			t.Errorf("Media(%q) of %+v = %q, want %q", tc.voice, tc.n, got, tc.want)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	s, rdb, _, _ := newStore(t)
	end := start.Add(time.Hour)
	for _, tc := range []struct {
		name string
		n    Notice
		want string
	}{
		{"no kind", Notice{End: end, CreatedBy: "op"}, "unknown kind"},
		{"unknown kind", Notice{Kind: "flood", End: end, CreatedBy: "op"}, `unknown kind "flood"`},
		{"no creator", Notice{Kind: KindStorm, End: end, CreatedBy: "  "}, "created_by required"},
		{"no end", Notice{Kind: KindStorm, CreatedBy: "op"}, "end required"},
		{"end before start", Notice{Kind: KindStorm, Start: end, End: end.Add(-time.Minute), CreatedBy: "op"}, "is not after start"},
		{"end equals start", Notice{Kind: KindStorm, Start: end, End: end, CreatedBy: "op"}, "is not after start"},
		{"end in the past", Notice{Kind: KindStorm, Start: start.Add(-2 * time.Hour), End: start.Add(-time.Hour), CreatedBy: "op"}, "in the past"},
		{"end now", Notice{Kind: KindStorm, Start: start.Add(-2 * time.Hour), End: start, CreatedBy: "op"}, "in the past"},
		{"span too long", Notice{Kind: KindHoliday, End: start.Add(MaxSpan + time.Minute), CreatedBy: "op"}, "at most 92 days"},
		{"start too far ahead", Notice{Kind: KindHoliday, Start: start.Add(MaxLead + time.Hour), End: start.Add(MaxLead + 2*time.Hour), CreatedBy: "op"}, "days ahead"},
		{"unknown prompt", Notice{Kind: KindStorm, Prompt: "notice_flood", End: end, CreatedBy: "op"}, "not in the prompt catalogue"},
		{"prompt and sound", Notice{Kind: KindStorm, Prompt: "notice_storm", Sound: "x", End: end, CreatedBy: "op"}, "not both"},
		{"sound with a path", Notice{Kind: KindStorm, Sound: "../secret", End: end, CreatedBy: "op"}, "recording's name"},
		{"sound with upper case", Notice{Kind: KindStorm, Sound: "Storm", End: end, CreatedBy: "op"}, "recording's name"},
		{"sound with extension", Notice{Kind: KindStorm, Sound: "storm.wav", End: end, CreatedBy: "op"}, "recording's name"},
		{"sound too long", Notice{Kind: KindStorm, Sound: strings.Repeat("a", 65), End: end, CreatedBy: "op"}, "recording's name"},
		{"sound starting with -", Notice{Kind: KindStorm, Sound: "-a", End: end, CreatedBy: "op"}, "recording's name"},
		{"area too long", Notice{Kind: KindStorm, Area: strings.Repeat("区", 43), End: end, CreatedBy: "op"}, "area longer than"},
		{"area with a newline", Notice{Kind: KindStorm, Area: "朝阳\n区", End: end, CreatedBy: "op"}, "control characters"},
		{"text too long", Notice{Kind: KindStorm, Text: strings.Repeat("停", MaxTextLen+1), End: end, CreatedBy: "op"}, "text longer than"},
		{"text with control characters", Notice{Kind: KindStorm, Text: "a\x1b[31mb", End: end, CreatedBy: "op"}, "control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(context.Background(), tc.n)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	if keys := rdb.Keys(context.Background(), "test:*").Val(); len(keys) != 0 {
		t.Errorf("refused notices left keys %v", keys)
	}
	// The limits themselves are allowed, and so is a multi-line text.
	create(t, s, Notice{Kind: KindHoliday, End: start.Add(MaxSpan), Text: "一\n二"})
	create(t, s, Notice{Kind: KindHoliday, Start: start.Add(MaxLead), End: start.Add(MaxLead + time.Hour)})
	create(t, s, Notice{Kind: KindStorm, Start: start.Add(-24 * time.Hour), End: end}) // placed late: plays at once
}

// Active plays the notices for every caller first, then the area's, each
// by start; future, ended and withdrawn ones are silent; other areas'
// notices are never heard.
func TestActive(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	// Placed two hours before "now" (start + 2h), so some have ended by then.
	h := func(n float64) time.Time { return start.Add(time.Duration(n * float64(time.Hour))) }
	ended := create(t, s, Notice{Kind: KindStorm, End: h(1)})
	allLate := create(t, s, Notice{Kind: KindStorm, Start: h(1.5), End: h(8)})
	allEarly := create(t, s, Notice{Kind: KindHoliday, Start: h(0), End: h(48)})
	chaoyang := create(t, s, Notice{Kind: KindPlanned, Area: "朝阳区", Start: h(0.5), End: h(5)})
	chaoyangFuture := create(t, s, Notice{Kind: KindPlanned, Area: "朝阳区", Start: h(3), End: h(5)})
	haidian := create(t, s, Notice{Kind: KindPlanned, Area: "海淀区", End: h(5)})
	allFuture := create(t, s, Notice{Kind: KindGeneral, Start: h(2.5), End: h(5)})
	withdrawn := create(t, s, Notice{Kind: KindGeneral, End: h(5)})
	clk.Add(90 * time.Minute)
	if _, err := s.Withdraw(ctx, withdrawn.ID, "op:2"); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Minute)
	_ = ended
	for _, tc := range []struct {
		area string
		want []Notice
	}{
		{"", []Notice{allEarly, allLate}},
		{"朝阳区", []Notice{allEarly, allLate, chaoyang}},
		{" 朝阳区 ", []Notice{allEarly, allLate, chaoyang}},
		{"海淀区", []Notice{allEarly, allLate, haidian}},
		{"西城区", []Notice{allEarly, allLate}},
	} {
		t.Run(tc.area, func(t *testing.T) {
			got, err := s.Active(ctx, tc.area)
			if err != nil {
				t.Fatal(err)
			}
			if idsOf(got) != idsOf(tc.want) {
				t.Fatalf("Active(%q) = %s, want %s", tc.area, idsOf(got), idsOf(tc.want))
			}
		})
	}
	// Later the future ones start and the early ones end.
	clk.Add(time.Hour) // h(3)
	got, _ := s.Active(ctx, "朝阳区")
	if want := idsOf([]Notice{allEarly, allLate, allFuture, chaoyang, chaoyangFuture}); idsOf(got) != want {
		t.Fatalf("at h(3): %s, want %s", idsOf(got), want)
	}
	clk.Add(5 * time.Hour) // h(8): only the two-day holiday notice is left
	got, _ = s.Active(ctx, "朝阳区")
	if idsOf(got) != allEarly.ID {
		t.Fatalf("at h(8): %s, want %s", idsOf(got), allEarly.ID)
	}
}

// Active is two round trips whatever the number of notices, so it may run
// on every call.
func TestActiveRoundTrips(t *testing.T) {
	s, rdb, _, _ := newStore(t)
	for i := range 20 {
		create(t, s, Notice{Area: []string{"", "朝阳区", "海淀区"}[i%3], End: start.Add(time.Hour)})
	}
	var trips atomic.Int32
	rdb.AddHook(countHook{&trips})
	got, err := s.Active(context.Background(), "朝阳区")
	if err != nil || len(got) != 14 {
		t.Fatalf("Active = %d notices, %v; want 14", len(got), err)
	}
	if n := trips.Load(); n != 2 {
		t.Errorf("Active took %d round trips, want 2", n)
	}
	trips.Store(0)
	if _, err := s.Active(context.Background(), ""); err != nil || trips.Load() != 2 {
		t.Errorf("Active for an unknown area: %d round trips, %v", trips.Load(), err)
	}
}

type countHook struct{ n *atomic.Int32 }

func (countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s, _, _, clk := newStore(t)
	ended := create(t, s, Notice{End: start.Add(time.Hour)})
	future := create(t, s, Notice{Area: "海淀区", Start: start.Add(3 * time.Hour), End: start.Add(4 * time.Hour)})
	playing := create(t, s, Notice{Kind: KindStorm, End: start.Add(5 * time.Hour)})
	withdrawn := create(t, s, Notice{End: start.Add(5 * time.Hour)})
	clk.Add(2 * time.Hour)
	if _, err := s.Withdraw(ctx, withdrawn.ID, "op"); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := idsOf([]Notice{playing, future}); idsOf(got) != want {
		t.Errorf("List = %s, want %s", idsOf(got), want)
	}
	got, err = s.List(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := idsOf([]Notice{ended, playing, withdrawn, future}); idsOf(got) != want {
		t.Errorf("List(ended) = %s, want %s", idsOf(got), want)
	}
	// Past retention the index forgets it (the record itself expires by
	// Redis's own clock, which this test does not move).
	clk.Add(Retention + 10*time.Hour)
	create(t, s, Notice{End: clk.Now().Add(time.Hour)}) // a write tidies the index
	got, _ = s.List(ctx, true)
	if len(got) != 1 {
		t.Errorf("List(ended) after retention = %s, want only the new one", idsOf(got))
	}
}

func TestWithdraw(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, clk := newStore(t)
	n := create(t, s, Notice{Kind: KindStorm, Area: "朝阳区", End: start.Add(10 * time.Hour)})
	clk.Add(time.Hour)
	w, err := s.Withdraw(ctx, n.ID, " op:9 ")
	if err != nil {
		t.Fatal(err)
	}
	if !w.Withdrawn() || w.WithdrawnBy != "op:9" || !w.WithdrawnAt.Equal(clk.Now()) || !w.Until().Equal(clk.Now()) {
		t.Fatalf("withdrawn = %+v", w)
	}
	if got, _ := s.Active(ctx, "朝阳区"); len(got) != 0 {
		t.Errorf("withdrawn notice still active: %s", idsOf(got))
	}
	if got, err := s.Get(ctx, n.ID); err != nil || !got.Withdrawn() {
		t.Errorf("Get after withdrawal = %+v, %v", got, err)
	}
	if rdb.Exists(ctx, "test:notices:live:area:朝阳区").Val() != 0 {
		t.Error("the area's live set outlived its last notice")
	}
	// Kept 30 days from the withdrawal, not from the planned end.
	if ttl, want := rdb.PTTL(ctx, "test:notice:"+n.ID).Val(), Retention; ttl > want || ttl < want-time.Minute {
		t.Errorf("record TTL %s, want about %s", ttl, want)
	}
	// Again: nothing changes, no error.
	clk.Add(time.Minute)
	again, err := s.Withdraw(ctx, n.ID, "op:10")
	if err != nil || again.WithdrawnBy != "op:9" || !again.WithdrawnAt.Equal(w.WithdrawnAt) {
		t.Errorf("second withdrawal = %+v, %v", again, err)
	}
	done := create(t, s, Notice{End: clk.Now().Add(time.Hour)})
	clk.Add(2 * time.Hour)
	for _, tc := range []struct {
		name, id, by string
		want         error
	}{
		{"ended", done.ID, "op", ErrConflict},
		{"unknown", "N20261122999", "op", ErrNotFound},
		{"malformed", "../x", "op", ErrNotFound},
		{"nobody", n.ID, " ", ErrInvalid},
	} {
		if _, err := s.Withdraw(ctx, tc.id, tc.by); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Two operators withdrawing at once: both succeed, one withdrawal is kept.
func TestWithdrawRace(t *testing.T) {
	s, _, _, _ := newStore(t)
	n := create(t, s, Notice{End: start.Add(time.Hour)})
	var wg sync.WaitGroup
	got := make([]Notice, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.Withdraw(context.Background(), n.ID, fmt.Sprintf("op:%d", i))
		}()
	}
	wg.Wait()
	final, _ := s.Get(context.Background(), n.ID)
	for i := range got {
		if errs[i] != nil || got[i].WithdrawnBy != final.WithdrawnBy {
			t.Errorf("withdrawal %d = %+v, %v; stored by %s", i, got[i], errs[i], final.WithdrawnBy)
		}
	}
}

// Concurrent creates get distinct IDs and all are indexed.
func TestCreateConcurrent(t *testing.T) {
	s, _, _, _ := newStore(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Create(context.Background(), Notice{Kind: KindGeneral, End: start.Add(time.Hour), CreatedBy: "op"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.List(context.Background(), false)
	if err != nil || len(got) != 20 {
		t.Fatalf("List = %d, %v", len(got), err)
	}
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n.ID] {
			t.Errorf("duplicate ID %s", n.ID)
		}
		seen[n.ID] = true
	}
}

// A counter that lost its value (Redis restored from an old snapshot)
// must not overwrite a notice: Create skips to a free ID.
func TestCreateSkipsTakenID(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, _ := newStore(t)
	first := create(t, s, Notice{End: start.Add(time.Hour), Text: "first"})
	rdb.Del(ctx, "test:notices:seq:20261122")
	second := create(t, s, Notice{End: start.Add(time.Hour), Text: "second"})
	if second.ID != "N20261122002" {
		t.Errorf("second ID %s", second.ID)
	}
	if got, _ := s.Get(ctx, first.ID); got.Text != "first" {
		t.Errorf("first overwritten: %+v", got)
	}
}

// Ended notices leave the live sets on the next write, and every set
// expires once it has nothing left to play or keep.
func TestTidy(t *testing.T) {
	ctx := context.Background()
	s, rdb, _, clk := newStore(t)
	old := create(t, s, Notice{Area: "朝阳区", End: start.Add(time.Hour)})
	for _, key := range []string{"test:notices:live:area:朝阳区", "test:notices:index"} {
		if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 {
			t.Errorf("%s has no expiry (%s)", key, ttl)
		}
	}
	clk.Add(2 * time.Hour)
	create(t, s, Notice{Area: "朝阳区", End: clk.Now().Add(time.Hour)})
	if rdb.ZScore(ctx, "test:notices:live:area:朝阳区", old.ID).Err() != redis.Nil {
		t.Error("ended notice still in the live set")
	}
	if rdb.ZScore(ctx, "test:notices:index", old.ID).Err() != nil {
		t.Error("ended notice left the index before its retention")
	}
}

// With Redis gone every call fails with a wrapped error that is neither
// ErrNotFound nor ErrInvalid, and no call hangs.
func TestDeadRedis(t *testing.T) {
	s, _, srv, _ := newStore(t)
	live := create(t, s, Notice{End: start.Add(time.Hour)})
	srv.Kill(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	calls := map[string]func() error{
		"Create": func() error {
			_, err := s.Create(ctx, Notice{Kind: KindStorm, End: start.Add(time.Hour), CreatedBy: "op"})
			return err
		},
		"Get":      func() error { _, err := s.Get(ctx, live.ID); return err },
		"List":     func() error { _, err := s.List(ctx, true); return err },
		"Active":   func() error { _, err := s.Active(ctx, "朝阳区"); return err },
		"Withdraw": func() error { _, err := s.Withdraw(ctx, live.ID, "op"); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict) {
			t.Errorf("%s: err = %v, want a Redis failure", name, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "notices: ") || errors.Unwrap(err) == nil {
			t.Errorf("%s: err = %v, want wrapped with context", name, err)
		}
	}
}
