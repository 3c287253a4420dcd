//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/menus"
)

// channelsOf returns the ids of the caller's channels in our application.
func (e *Env) channelsOf(t *testing.T, phone string) []string {
	t.Helper()
	var chans []struct {
		ID     string
		Caller struct{ Number string }
	}
	e.ari(t, "/channels", &chans)
	var ids []string
	for _, c := range chans {
		if c.Caller.Number == phone {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// playing returns the media Asterisk is playing to the caller right now,
// read from ARI (the controller names playbacks <channel>-pb-<n>).
func (e *Env) playing(t *testing.T, phone string) []string {
	t.Helper()
	var media []string
	for _, ch := range e.channelsOf(t, phone) {
		for n := 1; n <= 30; n++ {
			var pb struct {
				MediaURI string `json:"media_uri"`
				State    string
			}
			if e.ari(t, "/playbacks/"+ch+"-pb-"+strconv.Itoa(n), &pb) == 200 {
				media = append(media, pb.MediaURI)
			}
		}
	}
	return media
}

// awaitMedia waits until the caller hears media starting with prefix.
func (e *Env) awaitMedia(t *testing.T, phone, prefix string, within time.Duration) string {
	t.Helper()
	var heard []string
	var got string
	eventually(t, within, "caller "+phone+" to hear "+prefix+"…", func() bool {
		for _, m := range e.playing(t, phone) {
			heard = append(heard, m)
			if strings.HasPrefix(m, prefix) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// 6 during the welcome switches the call to English: the menu and the
// work order number are heard from hotline/en/, and 1 still reports a fault.
func TestEnglishService(t *testing.T) {
	env := loadEnv(t)
	phone := uniquePhone()
	english := env.metric(t, `hotline_menu_node_selections_total{key="6",node="main"}`)
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("6"), pause(5*time.Second), press("1"), awaitBye)
	m := env.awaitMedia(t, phone, "sound:hotline/en/", 8*time.Second)
	t.Logf("English media playing: %s", m)
	c.wait(t, 90*time.Second)
	tks := env.tickets(t, phone)
	if len(tks) != 1 || tks[0].Type != "fault" {
		t.Fatalf("tickets %+v, want one fault report", tks)
	}
	if got := env.metric(t, `hotline_menu_node_selections_total{key="6",node="main"}`) - english; got != 1 {
		t.Fatalf("English selections %v, want 1", got)
	}
}

// 4 during the welcome is the elderly service: slower prompts, a louder
// channel and, with no further menu, the senior desk.
func TestElderlyServiceByKey(t *testing.T) {
	env := loadEnv(t)
	ag := env.phone(t, "2003")
	env.setSkills(t, "2003", map[string]int{"senior": 1})
	env.agentsOnly(t, "2003")
	events := agentStream(t, env, "/api/v1/agents/2003/events")
	agentCall := agentTalksBriefly(t, ag)
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("4"), awaitByeWithin(60*time.Second))
	env.awaitMedia(t, phone, "sound:hotline/slow/senior_transfer", 8*time.Second)
	var vol struct{ Value string }
	if leg := channelOf(t, env, phone); env.ari(t, "/channels/"+leg+"/variable?variable=VOLUME(TX)", &vol) != 200 {
		t.Fatalf("cannot read the caller's volume (channel %s)", leg)
	}
	if v, err := strconv.ParseFloat(vol.Value, 64); err != nil || v != 2 {
		t.Fatalf("VOLUME(TX) = %q, want 2 (HOTLINE_ELDERLY_VOLUME's default)", vol.Value)
	}
	pop := nextPop(t, events, 30*time.Second)
	if pop.Data["phone"] != phone || pop.Data["queue"] != "senior" || pop.Data["menu_path"] != "4" {
		t.Fatalf("screen pop %+v, want %s in the senior queue by key 4", pop.Data, phone)
	}
	c.wait(t, 60*time.Second)
	agentCall.wait(t, 10*time.Second)
}

// restartWithMenu restarts the controller serving the menu file path ("" =
// the built-in menu).
func restartWithMenu(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command("../deploy/local/hotline.sh", "restart-controller")
	cmd.Env = append(os.Environ(), "HOTLINE_IVR_FILE="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restart controller with menu %q: %v\n%s", path, err, out)
	}
}

type menuInfo struct {
	Version string
	File    string
}

// The menu is reloaded through the API while three callers are in it: the
// callers finish on the menu they started with, nobody is dropped, new
// callers get the new menu, and a broken file is refused with its problems
// while the running menu stays.
func TestMenuReloadDuringCalls(t *testing.T) {
	env := loadEnv(t)
	run := os.Getenv("HOTLINE_RUN_DIR")
	if run == "" {
		run = "../.run/test"
	}
	file, err := filepath.Abs(filepath.Join(run, "ivr-e2e.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The test stack's short timeouts, as HOTLINE_MENU_TIMEOUT gives the
	// built-in menu.
	base := string(menus.DefaultYAML())
	for _, r := range [][2]string{{"timeout: 6s", "timeout: 2s"}, {"inter_digit: 4s", "inter_digit: 2s"},
		{`version: "` + menus.DefaultVersion() + `"`, `version: "e2e.a"`}} {
		if !strings.Contains(base, r[0]) {
			t.Fatalf("default menu lacks %q", r[0])
		}
		base = strings.Replace(base, r[0], r[1], 1)
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(base)
	restartWithMenu(t, file)
	t.Cleanup(func() { restartWithMenu(t, "") })
	var info menuInfo
	if code := env.api(t, "GET", "/api/v1/ivr", &info); code != 200 || info.Version != "e2e.a" || info.File != file {
		t.Fatalf("menu at start: %d %+v", code, info)
	}

	invalid := env.metric(t, `hotline_menu_node_invalid_total{node="main"}`)
	errorsBefore := env.metric(t, `hotline_calls_ended_total{reason="error"}`)
	// Three callers in the menu. After the reload each presses 5 (not a key
	// of their menu: invalid), then 1 for a fault report.
	var old []*sipp
	var phones []string
	for i := 0; i < 3; i++ {
		phone := uniquePhone()
		phones = append(phones, phone)
		old = append(old, caller(t, env, phone, pause(8*time.Second), press("5"), pause(2500*time.Millisecond), press("1"),
			pause(3*time.Second), hangUp))
	}
	eventually(t, 6*time.Second, "three callers in the menu", func() bool {
		n := 0
		for _, p := range phones {
			n += len(env.channelsOf(t, p))
		}
		return n == 3
	})

	// Menu b: 5 reports a fault.
	changed := strings.Replace(base, `version: "e2e.a"`, `version: "e2e.b"`, 1)
	changed = strings.Replace(changed, `      "0": agent`+"\n", `      "0": agent`+"\n"+`      "5": fault`+"\n", 1)
	write(changed)
	if code := env.post(t, "/api/v1/ivr/reload", nil, &info); code != 200 || info.Version != "e2e.b" {
		t.Fatalf("reload: %d %+v", code, info)
	}
	// A broken file: refused, with its line; b stays.
	write(strings.Replace(changed, "prompts: goodbye", "prompts: good_bye", 1))
	var refused struct {
		Problems []menus.Problem
		Running  menuInfo
	}
	if code := env.post(t, "/api/v1/ivr/reload", nil, &refused); code != 422 || len(refused.Problems) != 1 ||
		!strings.Contains(refused.Problems[0].Msg, `unknown prompt id "good_bye"`) || refused.Problems[0].Line == 0 ||
		refused.Running.Version != "e2e.b" {
		t.Fatalf("broken reload: %d %+v", code, refused)
	}
	if code := env.api(t, "GET", "/api/v1/ivr", &info); code != 200 || info.Version != "e2e.b" {
		t.Fatalf("menu after a refused reload: %d %+v", code, info)
	}

	// A new caller gets menu b: 5 reports a fault at once.
	fresh := uniquePhone()
	nc := caller(t, env, fresh, pause(1500*time.Millisecond), press("5"), pause(3*time.Second), hangUp)

	for _, c := range old {
		c.wait(t, 60*time.Second)
	}
	nc.wait(t, 30*time.Second)
	for _, p := range append(phones, fresh) {
		p := p
		eventually(t, 5*time.Second, "fault report of "+p, func() bool {
			tks := env.tickets(t, p)
			return len(tks) == 1 && tks[0].Type == "fault"
		})
	}
	if got := env.metric(t, `hotline_menu_node_invalid_total{node="main"}`) - invalid; got != 3 {
		t.Fatalf("invalid keys at main %v, want 3: the callers in the menu kept menu a", got)
	}
	if got := env.metric(t, `hotline_calls_ended_total{reason="error"}`) - errorsBefore; got != 0 {
		t.Fatalf("%v calls ended in error", got)
	}
	if got := env.metric(t, `hotline_menu_reloads_total{result="refused"}`); got != 1 {
		t.Fatalf("refused reloads %v, want 1", got)
	}
	t.Logf("menu reloaded under 3 calls; the broken file was refused; %d fault reports", len(phones)+1)
}

// A prompt list is heard whole: the work order number after a fault report
// is one playback of many media (the accepted message, each digit, the
// repeat offer), and every one of them must reach the caller. (Asterisk
// takes a repeated media= as the last one only; sent that way, the caller
// heard just the closing offer.)
func TestWholePromptListIsHeard(t *testing.T) {
	env := loadEnv(t)
	phone := uniquePhone()
	c := caller(t, env, phone, pause(1500*time.Millisecond), press("1"), pause(20*time.Second), hangUp)
	heard := map[string]bool{}
	digits := 0
	deadline := time.Now().Add(18 * time.Second)
	for time.Now().Before(deadline) && !heard["sound:hotline/ticket_repeat_or_agent"] {
		for _, m := range env.playing(t, phone) {
			if !heard[m] && strings.HasPrefix(m, "sound:hotline/d") {
				digits++
			}
			heard[m] = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.wait(t, 40*time.Second)
	if !heard["sound:hotline/fault_accepted"] || digits < 4 || !heard["sound:hotline/ticket_repeat_or_agent"] {
		t.Fatalf("heard %v (%d different digits); want fault_accepted, the ticket number's digits and ticket_repeat_or_agent", heard, digits)
	}
}
