package wallboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/browser"
	"github.com/hotline95598/hotline/wallboard/wallboardtest"
	"github.com/rs/zerolog"
)

// TestChromiumScreenshot renders the page in headless Chromium against a
// fake source and saves wallboard.png in $WALLBOARD_SCREENSHOT_DIR. It runs
// only when that variable is set (it needs chromium installed), to look at
// the page after changing it.
func TestChromiumScreenshot(t *testing.T) {
	dir := os.Getenv("WALLBOARD_SCREENSHOT_DIR")
	if dir == "" {
		t.Skip("set WALLBOARD_SCREENSHOT_DIR to render the page in chromium")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{snap: Snapshot{
		Queues: []Queue{{Name: "fault", Waiting: 1, LongestWaitSeconds: 12, Offered: 40, Answered: 38, AnsweredSL: 36, Abandoned: 1},
			{Name: "billing"}, {Name: "complaint", Offered: 9, Answered: 9, AnsweredSL: 7},
			{Name: "general", Waiting: 3, LongestWaitSeconds: 47, Offered: 128, Answered: 117, AnsweredSL: 101, Abandoned: 8},
			{Name: "callback"}, {Name: "senior", Offered: 3, Answered: 3, AnsweredSL: 3}},
		Agents:           map[string]int{"available": 4, "ringing": 1, "on_call": 9, "paused": 2, "logged_out": 5},
		CallbacksPending: 3, CallbacksOverdue: 1,
		Today:    &Span{Offered: 128, Answered: 117, Abandoned: 8, AnswerRate: ptr(117.0 / 128)},
		Interval: &Span{Offered: 21, Answered: 20, AnswerRate: ptr(20.0 / 21)},
		AgentsToday: []AgentToday{
			{Agent: "2001", Rung: 31, Answered: 30, AnswerRate: ptr(30.0 / 31), TalkS: 5432, WrapUpS: 900, PausedS: 1800, PauseByReason: map[string]int64{"lunch": 1800}},
			{Agent: "2002", Rung: 25, Answered: 22, AnswerRate: ptr(22.0 / 25), TalkS: 4100, WrapUpS: 700, PausedS: 420, PauseByReason: map[string]int64{"break": 300, "no_answer": 120}},
		},
	}}
	srv := httptest.NewServer(Handler(src, 250*time.Millisecond, zerolog.Nop()))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, h := 1280, 800
	if size := os.Getenv("WALLBOARD_WINDOW"); size != "" { // e.g. 1920x1080
		if _, err := fmt.Sscanf(size, "%dx%d", &w, &h); err != nil {
			t.Fatalf("WALLBOARD_WINDOW=%q: %v", size, err)
		}
	}
	start := time.Now()
	shot, err := wallboardtest.Capture(ctx, bin, srv.URL+"/", w, h, wallboardtest.Ready("general"))
	t.Logf("chromium took %s", time.Since(start))
	if err != nil {
		t.Fatalf("%v\n%s", err, shot.DOM)
	}
	for _, want := range []string{`data-agent-id="2001"`, `>91%<`, `>1:30:32<`, `data-state="connected"`, `data-field="waiting" data-level="warn">3<`, `>80%<`, `>128<`} {
		if !strings.Contains(shot.DOM, want) {
			t.Errorf("DOM lacks %q", want)
		}
	}
	// Six queues on one screen: no card spills over.
	if !strings.Contains(shot.DOM, `data-queue="senior"`) {
		t.Error("the senior queue's card is missing")
	}
	if err := capturedOverflow(ctx, bin, srv.URL+"/", w, h); err != nil {
		t.Error(err)
	}
	png := filepath.Join(dir, "wallboard.png")
	if err := os.WriteFile(png, shot.PNG, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", png, len(shot.PNG))
}

func ptr(f float64) *float64 { return &f }

// capturedOverflow opens the page again and reports queue cards whose
// content is taller than the card.
func capturedOverflow(ctx context.Context, bin, url string, w, h int) error {
	b, err := browser.Launch(ctx, bin, w, h)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.Navigate(url); err != nil {
		return err
	}
	if err := b.WaitFor(ctx, wallboardtest.Ready("senior")); err != nil {
		return err
	}
	var over []string
	if err := b.Eval(`[...document.querySelectorAll("#queues .card")].filter(c => c.scrollHeight > c.clientHeight + 1).map(c => c.dataset.queue + ":" + c.scrollHeight + ">" + c.clientHeight)`, &over); err != nil {
		return err
	}
	if len(over) > 0 {
		return fmt.Errorf("queue cards overflow at %dx%d: %v", w, h, over)
	}
	return nil
}
