package callflow

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/tickets"
	"github.com/rs/zerolog"
)

// 6 on the welcome switches the call to English: the welcome again, the
// menu, the ticket number with plain "one" (no 幺), all from hotline/en/.
func TestEnglishService(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"6"}, "en/main_menu": {"1"}})
	r.run("13800138000")
	played := r.played()
	if !strings.Contains(played, "welcome main_menu en/welcome en/main_menu") {
		t.Fatalf("no English menu after 6: %s", played)
	}
	var num []string
	for _, id := range prompts.Digits("20261122000001") {
		num = append(num, "en/"+strings.Replace(id, "d1_yao", "d1", 1))
	}
	if want := "en/fault_accepted " + strings.Join(num, " ") + " en/ticket_repeat_or_agent"; !strings.Contains(played, want) {
		t.Fatalf("played %s\nwant %s", played, want)
	}
	if strings.Contains(played, "yao") || !strings.HasSuffix(played, "en/goodbye") {
		t.Fatalf("played %s", played)
	}
	if len(r.tk.made) != 1 || r.tk.made[0].Type != tickets.TypeFault || r.tk.made[0].MenuPath != "6>1" {
		t.Fatalf("tickets %+v", r.tk.made)
	}
}

// English amounts and dates are read with the English number grammar.
func TestEnglishBalance(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"6"}, "en/main_menu": {"2"}})
	r.run("13800138000")
	want := "en/billing_balance en/d1 en/en_hundred en/en_20 en/d3 en/yuan en/en_and en/en_40 en/d5 en/fen" +
		" en/billing_last_bill en/en_80 en/d8 en/yuan en/en_and en/en_60 en/fen" +
		" en/billing_bill_date en/en_oct en/en_30 en/d1 en/d2 en/en_thousand en/en_20 en/d6 en/ticket_repeat_or_agent"
	if !strings.Contains(r.played(), want) {
		t.Fatalf("played %s\nwant %s", r.played(), want)
	}
}

// The elderly service: 4 on the welcome, or an age of 65 in the customer
// profile, gives slower prompts (the queue's announcements too), a louder
// channel and the senior desk at once.
func TestElderlyService(t *testing.T) {
	for _, tc := range []struct {
		name, phone string
		script      map[string][]string
		path        string
		transfer    string
	}{
		{"key 4", "13800138000", map[string][]string{"main_menu": {"4"}}, "4", "main_menu slow/senior_transfer"},
		{"by profile", "13600136000", nil, "senior", "slow/senior_transfer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(tc.script)
			r.flow.cfg.ElderlyVolume = 2
			r.run(tc.phone)
			if len(r.queue.callers) != 1 {
				t.Fatalf("queued %d; played %s", len(r.queue.callers), r.played())
			}
			if c := r.queue.callers[0]; c.Queue != policy.QueueSenior || c.MenuPath != tc.path || c.Priority != queue.Normal || c.Voice != prompts.VoiceSlow {
				t.Fatalf("caller %+v", c)
			}
			if played := r.played(); played != tc.transfer && !strings.HasSuffix(played, " "+tc.transfer) {
				t.Fatalf("played %s", r.played())
			}
			if !r.sw.Has("setvar call1 VOLUME(TX)=2") {
				t.Fatalf("volume not raised: %v", r.sw.Actions())
			}
		})
	}
}

// How a menu run ends maps to the fixed call-end reasons.
func TestEndReason(t *testing.T) {
	for i, tc := range []struct {
		c    *call
		out  menus.Outcome
		want string
	}{
		{&call{}, menus.Outcome{Kind: menus.OutcomeContained}, metrics.EndSelfService},
		{&call{}, menus.Outcome{Kind: menus.OutcomeCallerHangup}, metrics.EndHangupMenu},
		{&call{served: true}, menus.Outcome{Kind: menus.OutcomeCallerHangup}, metrics.EndSelfService},
		{&call{queued: true, end: metrics.EndKeptPlace}, menus.Outcome{Kind: menus.OutcomeAgent}, metrics.EndKeptPlace},
		{&call{}, menus.Outcome{Kind: menus.OutcomeAgent}, metrics.EndHangupMenu},
		{&call{}, menus.Outcome{Kind: menus.OutcomeError}, metrics.EndError},
	} {
		if got := endReason(tc.c, tc.out); got != tc.want {
			t.Errorf("case %d %+v: %s, want %s", i, tc.out, got, tc.want)
		}
	}
}

// A call keeps the menu it started with although the menu is reloaded
// while it is in the main menu; the next call gets the new one.
func TestCallKeepsItsMenuOverReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ivr.yaml")
	if err := os.WriteFile(file, menus.DefaultYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRig(map[string][]string{"main_menu": {"0", "0"}})
	r.flow.menus = menus.NewHolder(nil, MenuNames(), nil)
	if _, err := r.flow.menus.Reload(file); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(menus.DefaultYAML()), "intro: welcome", "intro: fault_merged", 1)
	script := r.sw.OnPlay
	reloaded := false
	r.sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, m []string) {
		if !reloaded && strings.HasSuffix(m[len(m)-1], "/main_menu") {
			// The first caller is in the main menu now.
			reloaded = true
			if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
				t.Error(err)
			}
			if _, err := r.flow.menus.Reload(""); err != nil {
				t.Error(err)
			}
		}
		script(s, ch, pb, m)
	}
	for _, id := range []string{"call1", "call2"} {
		sess := ivr.NewSession(r.sw, id, zerolog.Nop())
		r.flow.Inbound(context.Background(), sess, ivr.ChannelInfo{ID: id, CallerNum: "13800138000"})
	}
	first, second := strings.Join(r.sw.Played("call1"), " "), strings.Join(r.sw.Played("call2"), " ")
	if !reloaded || !strings.Contains(first, "hotline/welcome ") || strings.Contains(first, "fault_merged") {
		t.Fatalf("first call (reloaded=%v) played %s", reloaded, first)
	}
	if !strings.Contains(second, "hotline/fault_merged sound:hotline/main_menu") {
		t.Fatalf("second call played %s", second)
	}
	if len(r.queue.callers) != 2 {
		t.Fatalf("queued %d", len(r.queue.callers))
	}
}
