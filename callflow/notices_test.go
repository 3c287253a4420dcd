package callflow

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/internal/clocktest"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/notices"
	"github.com/hotline95598/hotline/prompts"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

// withNotices rebuilds the rig's flow so that it plays the notices of n,
// counted in m.
func (r *rig) withNotices(n Notices, m *metrics.Metrics) *rig {
	r.flow = New(r.flow.cfg, r.tk, r.flow.accounts, r.queue, r.cbs, nil, m, zerolog.Nop())
	r.flow.SetNotices(n)
	return r
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// placeNotices puts, into a real store, notices that are playing at
// testNow and some that are not: for every caller (storm), for acct's area
// 朝阳 (planned), for the elder's area 海淀 (an operator's recording), one
// that starts later and one that has ended (both general).
func placeNotices(t *testing.T) *notices.Store {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	clk := clocktest.New(testNow.Add(-2 * time.Hour))
	s := notices.New(rdb, "t:", clk.Now)
	for _, n := range []notices.Notice{
		{Kind: notices.KindGeneral, End: testNow.Add(-time.Hour)}, // ended by testNow
		{Kind: notices.KindPlanned, Area: "朝阳", Start: testNow.Add(-30 * time.Minute), End: testNow.Add(5 * time.Hour)},
		{Kind: notices.KindStorm, Start: testNow.Add(-time.Hour), End: testNow.Add(5 * time.Hour)},
		{Kind: notices.KindHoliday, Area: "海淀", Sound: "haidian-works", End: testNow.Add(5 * time.Hour)},
		{Kind: notices.KindGeneral, Start: testNow.Add(time.Hour), End: testNow.Add(5 * time.Hour)}, // not yet
	} {
		n.CreatedBy = "op"
		if _, err := s.Create(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Hour) // testNow
	return s
}

// The notices step plays what is placed for every caller and for the
// caller's own area, in that order, before the menu; another area's, a
// future and an ended notice stay silent; a key during a notice is the
// menu choice.
func TestNoticesBeforeTheMenu(t *testing.T) {
	store := placeNotices(t)
	for _, tc := range []struct {
		name, phone string
		script      map[string][]string
		want        string   // one playback, before the menu
		silent      []string // never heard
		kinds       map[string]float64
		fault       bool // the key pressed during the notice reported a fault
	}{
		{name: "caller in 朝阳 hears the storm, then their area's notice", phone: "13800138000",
			script: map[string][]string{"main_menu": {"hangup"}},
			want:   "notice_storm notice_planned welcome main_menu", silent: []string{"notice_general", "notices/haidian-works"},
			kinds: map[string]float64{"storm": 1, "planned": 1}},
		{name: "caller in 海淀 hears the storm and their area's recording", phone: "13600136000",
			script: map[string][]string{"main_menu": {"hangup"}, "notices/haidian-works": {"0"}},
			want:   "notice_storm notices/haidian-works", silent: []string{"notice_planned", "notice_general"},
			kinds: map[string]float64{"storm": 1, "holiday": 1}},
		{name: "unknown caller hears only what is for everyone", phone: "13700000000",
			script: map[string][]string{"main_menu": {"hangup"}},
			want:   "notice_storm welcome main_menu", silent: []string{"notice_planned", "notice_general", "notices/"},
			kinds: map[string]float64{"storm": 1}},
		{name: "a key during the notices is the menu choice", phone: "13800138000",
			script: map[string][]string{"notice_planned": {"1"}, "ticket_repeat_or_agent": {"hangup"}},
			want:   "notice_storm notice_planned fault_accepted", silent: []string{"main_menu", "welcome"},
			kinds: map[string]float64{"storm": 1, "planned": 1}, fault: true},
		{name: "a key during the first notice skips the rest", phone: "13800138000",
			script: map[string][]string{"notice_storm": {"1"}, "ticket_repeat_or_agent": {"hangup"}},
			want:   "notice_storm fault_accepted", silent: []string{"notice_planned", "main_menu", "welcome"},
			kinds: map[string]float64{"storm": 1}, fault: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.Discard()
			r := newRig(tc.script).withNotices(store, m)
			r.run(tc.phone)
			played := r.played()
			if !strings.HasPrefix(played, tc.want) {
				t.Fatalf("played %s; want it to start with %s", played, tc.want)
			}
			for _, s := range tc.silent {
				if strings.Contains(played, s) {
					t.Errorf("played %s, which should not be heard here", s)
				}
			}
			for _, k := range notices.Kinds {
				if got := counter(m.NoticesPlayed.WithLabelValues(string(k))); got != tc.kinds[string(k)] {
					t.Errorf("notices played of kind %s = %v, want %v", k, got, tc.kinds[string(k)])
				}
			}
			if tc.fault != (len(r.tk.made) == 1) || (tc.fault && r.tk.made[0].MenuPath != "1") {
				t.Errorf("tickets %+v, want a fault report by key 1: %v", r.tk.made, tc.fault)
			}
		})
	}
}

// An English caller hears the English rendition; a recording plays as is.
func TestNoticesInTheCallersVoice(t *testing.T) {
	store := placeNotices(t)
	r := newRig(nil).withNotices(store, metrics.Discard())
	sess := ivr.NewSession(r.sw, "call1", zerolog.Nop())
	for _, area := range []string{"朝阳", "海淀"} {
		a := acct
		a.Area = area
		c := &call{sess: sess, id: "call1", account: &a, log: zerolog.Nop()}
		c.menu = menus.State{Sess: sess, CallID: "call1", Voice: prompts.VoiceEnglish}
		if _, err := (steps{r.flow, c}).Run(context.Background(), StepNotices, &c.menu); err != nil {
			t.Fatal(err)
		}
	}
	want := "en/notice_storm en/notice_planned en/notice_storm notices/haidian-works"
	if got := r.played(); got != want {
		t.Fatalf("played %s, want %s", got, want)
	}
}

type brokenNotices struct{}

func (brokenNotices) Active(context.Context, string) ([]notices.Notice, error) {
	return nil, errors.New("notices: active: redis: connection refused")
}

// A Redis failure costs the notices only: counted, and the caller goes on
// to the menu as if there were none.
func TestNoticesRedisDown(t *testing.T) {
	m := metrics.Discard()
	r := newRig(map[string][]string{"main_menu": {"1"}}).withNotices(brokenNotices{}, m)
	r.run("13800138000")
	if !strings.HasPrefix(r.played(), "welcome main_menu") || len(r.tk.made) != 1 {
		t.Fatalf("played %s, tickets %+v", r.played(), r.tk.made)
	}
	if got := counter(m.RedisErrors.WithLabelValues("notice_lookup")); got != 1 {
		t.Fatalf("notice_lookup errors = %v, want 1", got)
	}
}

// A flow given no notices store plays none, and the step is harmless.
func TestNoNoticesStore(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"hangup"}})
	r.run("13800138000")
	if !strings.HasPrefix(r.played(), "welcome main_menu") {
		t.Fatalf("played %s", r.played())
	}
}
