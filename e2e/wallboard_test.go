//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/wallboard"
	"github.com/hotline95598/hotline/wallboard/wallboardtest"
)

// wallboardEvent is one snapshot from the wallboard's event stream, with
// the moment it arrived.
type wallboardEvent struct {
	snap wallboard.Snapshot
	at   time.Time
}

// wallboardStream follows /wallboard/events until the test ends.
func wallboardStream(t *testing.T, env *Env) <-chan wallboardEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", env.HTTP+"/wallboard/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("wallboard events: %v", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("wallboard events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan wallboardEvent, 1000)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				name = ""
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == "snapshot":
				var s wallboard.Snapshot
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &s) == nil {
					ch <- wallboardEvent{snap: s, at: time.Now()}
				}
			}
		}
	}()
	return ch
}

func queueWaiting(s wallboard.Snapshot, name string) int64 {
	for _, q := range s.Queues {
		if q.Name == name {
			return q.Waiting
		}
	}
	return -1
}

// awaitWaiting reads snapshots until the queue's waiting count satisfies ok.
func awaitWaiting(t *testing.T, ch <-chan wallboardEvent, within time.Duration, what string, ok func(int64) bool) wallboardEvent {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("wallboard stream ended waiting for %s", what)
			}
			if ok(queueWaiting(ev.snap, "general")) {
				return ev
			}
		case <-timeout:
			t.Fatalf("wallboard: no %s within %s", what, within)
		}
	}
}

// metricNow reads one series from /metrics without failing the test.
func metricNow(env *Env, series string) (float64, bool) {
	resp, err := http.Get(env.HTTP + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, true
}

// A caller joining the queue shows on the wallboard within a second.
func TestWallboardUpdatesWithinASecond(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2001")
	env.agentsOnly(t) // nobody to answer: the caller waits
	events := wallboardStream(t, env)
	awaitWaiting(t, events, 10*time.Second, "empty general queue", func(n int64) bool { return n == 0 })

	const offered = `hotline_queue_calls_offered_total{queue="general"}`
	before := env.metric(t, offered)
	c := caller(t, env, uniquePhone(), pause(1500*time.Millisecond), press("0"), awaitByeWithin(60*time.Second))

	// Joined: the moment the controller counts the caller as offered.
	var joined time.Time
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, _ := metricNow(env, offered); v > before {
			joined = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("caller never joined the general queue")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ev := awaitWaiting(t, events, 5*time.Second, "caller waiting", func(n int64) bool { return n >= 1 })
	lag := ev.at.Sub(joined)
	t.Logf("wallboard showed the waiting caller %s after the controller counted them", lag.Round(time.Millisecond))
	if lag > time.Second {
		t.Fatalf("wallboard lagged %s behind the queue", lag)
	}

	// An agent takes the call (rather than the caller abandoning, which
	// would leave a callback for the carrier tests to trip over).
	agentCall := agentTalksBriefly(t, ag)
	env.agentsOnly(t, "2001")
	awaitWaiting(t, events, 10*time.Second, "queue empty again", func(n int64) bool { return n == 0 })
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
}

// ensureChromium installs chromium (and a Chinese font, so the labels are
// legible in the screenshot) when missing; the e2e script runs as root.
func ensureChromium(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("chromium"); err == nil {
		ensureChineseFont(t)
		return bin
	}
	aptInstall(t, true, "chromium")
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found after installing: %v", err)
	}
	ensureChineseFont(t)
	return bin
}

func ensureChineseFont(t *testing.T) {
	out, err := exec.Command("fc-list", ":lang=zh").Output()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		return
	}
	aptInstall(t, false, "fonts-wqy-zenhei")
}

// aptInstall runs apt-get install, updating the package lists and trying
// again if that fails. must: fail the test if it cannot be installed.
func aptInstall(t *testing.T, must bool, pkgs ...string) {
	t.Helper()
	run := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	install := append([]string{"install", "-y"}, pkgs...)
	t.Logf("installing %v", pkgs)
	out, err := run(install...)
	if err != nil {
		if up, err := run("update"); err != nil {
			t.Logf("apt-get update: %v\n%s", err, tail(string(up), 2000))
		}
		out, err = run(install...)
	}
	if err != nil {
		if must {
			t.Fatalf("apt-get install %v: %v\n%s", pkgs, err, tail(string(out), 3000))
		}
		t.Logf("apt-get install %v: %v (carrying on)", pkgs, err)
	}
}

// The wallboard renders live numbers in a real browser; the screenshot is
// kept with the run for people to look at.
func TestWallboardScreenshot(t *testing.T) {
	env := loadEnv(t)
	bin := ensureChromium(t)
	url := env.HTTP + "/wallboard/"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shot, err := wallboardtest.Capture(ctx, bin, url, 1280, 800, wallboardtest.Ready("general"))
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(shot.DOM, 4000))
	}

	dir := os.Getenv("HOTLINE_RUN_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "wallboard.png")
	if err := os.WriteFile(path, shot.PNG, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wallboard screenshot: %s (%d bytes)", path, len(shot.PNG))
	if !bytes.HasPrefix(shot.PNG, []byte("\x89PNG\r\n\x1a\n")) || len(shot.PNG) < 20<<10 {
		t.Fatalf("screenshot is not a plausible PNG: %d bytes", len(shot.PNG))
	}

	// The DOM shows numbers from the stream: connected, the general queue's
	// callers waiting and the agents strip filled in.
	if !regexp.MustCompile(`id="conn" data-state="connected"`).MatchString(shot.DOM) {
		t.Errorf("connection indicator not connected")
	}
	card := shot.DOM
	if i := strings.Index(card, `data-queue="general"`); i >= 0 {
		card = card[i:]
	} else {
		t.Fatalf("no general queue card:\n%s", tail(shot.DOM, 4000))
	}
	if !regexp.MustCompile(`data-field="waiting"[^>]*>[0-9]+<`).MatchString(card) {
		t.Errorf("general queue waiting count not filled")
	}
	if !regexp.MustCompile(`data-field="available"[^>]*>[0-9]+<`).MatchString(shot.DOM) {
		t.Errorf("agents strip not filled")
	}
	if t.Failed() {
		t.Log(tail(shot.DOM, 6000))
	}
}
