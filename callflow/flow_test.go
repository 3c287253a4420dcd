package callflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/hold"
	"github.com/hotline95598/hotline/internal/china"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/tickets"
)

type fakeTickets struct {
	mu       sync.Mutex
	made     []tickets.Ticket
	err      error
	open     []tickets.Ticket
	repeats  []string
	urged    []string
	verdicts []bool
	outage   *outages.Outage
	notes    []string // "id: note"
	first    []string // "id agent queue" of SetFirstResponder
	surveys  []string // "id answer agent queue call" of RecordSurvey
}

func (f *fakeTickets) RecordSurvey(ctx context.Context, id string, sv tickets.Survey) (tickets.Ticket, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.surveys = append(f.surveys, strings.Join([]string{id, sv.Answer, sv.Agent, sv.Queue, sv.CallID}, " "))
	return tickets.Ticket{ID: id, Survey: &sv}, sv.Answer == tickets.SurveyDissatisfied, nil
}

func (f *fakeTickets) SetFirstResponder(ctx context.Context, id, agent, queue string) (tickets.Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.first = append(f.first, id+" "+agent+" "+queue)
	return tickets.Ticket{ID: id}, nil
}

func (f *fakeTickets) AddNote(ctx context.Context, id, actor, note string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, id+": "+note)
	return nil
}

func (f *fakeTickets) Create(ctx context.Context, t tickets.Ticket) (tickets.Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return t, f.err
	}
	t.ID = fmt.Sprintf("202611220000%02d", len(f.made)+1)
	f.made = append(f.made, t)
	return t, nil
}

func (f *fakeTickets) Get(ctx context.Context, id string) (tickets.Ticket, error) {
	return tickets.Ticket{ID: id, Type: tickets.TypeComplaint, Status: tickets.StatusFollowUp, Result: "power_restored"}, nil
}

func (f *fakeTickets) OpenByPhone(ctx context.Context, phone string) ([]tickets.Ticket, error) {
	return f.open, nil
}

func (f *fakeTickets) RepeatCall(ctx context.Context, id string) error {
	f.repeats = append(f.repeats, id)
	return nil
}

func (f *fakeTickets) Urge(ctx context.Context, id string) error {
	f.urged = append(f.urged, id)
	return nil
}

func (f *fakeTickets) FollowUpAnswered(ctx context.Context, id string, satisfied bool) (tickets.Ticket, error) {
	f.verdicts = append(f.verdicts, satisfied)
	return tickets.Ticket{ID: id}, nil
}

func (f *fakeTickets) OutageFor(ctx context.Context, area, transformer string) (outages.Outage, bool, error) {
	if f.outage != nil && transformer == f.outage.Transformer {
		return *f.outage, true, nil
	}
	return outages.Outage{}, false, nil
}

type fakeAccounts map[string]accounts.Account // by phone and by number

func (f fakeAccounts) ByPhone(ctx context.Context, p string) (accounts.Account, error) {
	if a, ok := f["phone:"+p]; ok {
		return a, nil
	}
	return accounts.Account{}, accounts.ErrNotFound
}
func (f fakeAccounts) ByNumber(ctx context.Context, n string) (accounts.Account, error) {
	if a, ok := f["acct:"+n]; ok {
		return a, nil
	}
	return accounts.Account{}, accounts.ErrNotFound
}

type fakeQueue struct {
	mu      sync.Mutex
	callers []queue.Caller
	outcome hold.Outcome
	cutOff  bool // Asterisk stops while the caller waits
	// agent answers a connected caller at answered; agentHungUp: the
	// agent hung up first.
	agent       string
	answered    time.Time
	agentHungUp bool
	// callerHungUp: the caller hung up first (the agent's leg ends after).
	callerHungUp bool
}

func (q *fakeQueue) Serve(ctx context.Context, sess *ivr.Session, c queue.Caller) (hold.Result, error) {
	q.mu.Lock()
	q.callers = append(q.callers, c)
	q.mu.Unlock()
	// The real queue plays the intro while it rings an agent.
	if err := sess.Say(ctx, c.Intro...); err != nil {
		return hold.Result{Outcome: hold.Abandoned, Queue: c.Queue}, nil
	}
	if q.cutOff {
		sess.MarkHungUp(ivr.Event{Kind: ivr.EvHangup, ChannelID: sess.ID(), SwitchDown: true})
		return hold.Result{Outcome: hold.Abandoned, Queue: c.Queue}, nil
	}
	res := hold.Result{Outcome: q.outcome, Queue: c.Queue}
	if q.outcome == hold.Connected {
		res.Agent, res.Answered, res.AgentHungUp = q.agent, q.answered, q.agentHungUp
		if q.callerHungUp {
			sess.MarkHungUp(ivr.Event{Kind: ivr.EvHangup, ChannelID: sess.ID()})
		}
	}
	return res, nil
}

type fakeCallbacks struct {
	mu        sync.Mutex
	phones    []string
	reqs      []callbacks.Request
	cancelled []string
}

func (f *fakeCallbacks) CancelServed(ctx context.Context, phone string, kinds ...string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, phone)
	return nil, nil
}

func (f *fakeCallbacks) Schedule(ctx context.Context, r callbacks.Request) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.phones = append(f.phones, r.Phone+"/"+r.Kind)
	f.reqs = append(f.reqs, r)
	return "1", true, nil
}

var acct = accounts.Account{Number: "1000000001", Name: "张三", Address: "朝阳区", Area: "朝阳", Transformer: "TX-0101",
	BalanceFen: 12345, LastBillFen: 8860, LastBillDate: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)}

// An elderly customer (76 in 2026) and an important one.
var (
	elder     = accounts.Account{Number: "1000000004", Name: "王五", Area: "海淀", Transformer: "TX-0201", BirthYear: 1950}
	important = accounts.Account{Number: "1000000003", Name: "医院", Area: "朝阳", Transformer: "TX-0102", Class: accounts.ClassImportant, BirthYear: 1990}
	testNow   = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
)

type rig struct {
	sw    *ivrtest.Switch
	tk    *fakeTickets
	queue *fakeQueue
	cbs   *fakeCallbacks
	flow  *Flow
}

// script answers prompts: when a playback contains the prompt id given as
// key, the caller presses the value ("" = silence, "hangup" = hang up).
func newRig(script map[string][]string) *rig {
	r := &rig{sw: ivrtest.New(), tk: &fakeTickets{}, queue: &fakeQueue{outcome: hold.Connected}, cbs: &fakeCallbacks{}}
	fa := fakeAccounts{"phone:13800138000": acct, "acct:1000000001": acct, "phone:13600136000": elder, "phone:13700137000": important}
	r.flow = New(Config{MenuTimeout: 40 * time.Millisecond, InterDigit: 40 * time.Millisecond, MaxFailures: 3, AccountMaxDigits: 16,
		SeniorAge: 65, Now: func() time.Time { return testNow }},
		r.tk, fa, r.queue, r.cbs, nil, metrics.Discard(), zerolog.Nop())
	var mu sync.Mutex
	r.sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, m []string) {
		mu.Lock()
		defer mu.Unlock()
		// The last prompt of a playback is the one that asks.
		last := strings.TrimPrefix(m[len(m)-1], "sound:hotline/")
		answers := script[last]
		if len(answers) == 0 {
			return
		}
		a := answers[0]
		script[last] = answers[1:]
		switch a {
		case "hangup":
			s.HangUp(ch)
		case "shutdown": // Asterisk stops and hangs every channel up
			s.Shutdown(ch)
		default:
			s.Press(ch, a)
		}
	}
	return r
}

func (r *rig) run(phone string) {
	sess := ivr.NewSession(r.sw, "call1", zerolog.Nop())
	r.flow.Inbound(context.Background(), sess, ivr.ChannelInfo{ID: "call1", CallerNum: phone})
}

func (r *rig) played() string {
	var ids []string
	for _, m := range r.sw.Played("call1") {
		ids = append(ids, strings.TrimPrefix(m, "sound:hotline/"))
	}
	return strings.Join(ids, " ")
}

func TestMenu(t *testing.T) {
	digits := func(s string) string { return strings.Join(prompts.Digits(s), " ") }
	for _, tc := range []struct {
		name       string
		phone      string
		script     map[string][]string
		wantPlayed []string // prompt sequences that must appear, in order
		tickets    []tickets.Type
		queued     bool
		callbacks  int
		abandon    bool
	}{
		{name: "1 fault report, then hang up", phone: "13800138000",
			script:     map[string][]string{"main_menu": {"1"}},
			wantPlayed: []string{"welcome main_menu", "fault_accepted " + digits("20261122000001") + " ticket_repeat_or_agent", "goodbye"},
			tickets:    []tickets.Type{tickets.TypeFault}},
		{name: "1 fault report, then agent", phone: "13800138000",
			script:  map[string][]string{"main_menu": {"1"}, "ticket_repeat_or_agent": {"1"}},
			tickets: []tickets.Type{tickets.TypeFault}, queued: true},
		{name: "2 billing for a known caller", phone: "13800138000",
			script: map[string][]string{"main_menu": {"2"}},
			wantPlayed: []string{"billing_balance " + strings.Join(prompts.Money(12345), " ") + " billing_last_bill " +
				strings.Join(prompts.Money(8860), " ") + " billing_bill_date"}},
		{name: "2 billing, account entered", phone: "13700000000",
			script:     map[string][]string{"main_menu": {"2"}, "billing_enter_account": {"1000000001#"}},
			wantPlayed: []string{"billing_enter_account", "billing_balance"}},
		{name: "2 billing, unknown account then agent", phone: "13700000000",
			script:     map[string][]string{"main_menu": {"2"}, "billing_enter_account": {"999#"}, "billing_unknown_account": {"1"}},
			wantPlayed: []string{"billing_unknown_account", "transfer_agent"}, queued: true},
		{name: "3 complaint", phone: "13800138000",
			script:  map[string][]string{"main_menu": {"3"}},
			tickets: []tickets.Type{tickets.TypeComplaint}, queued: true,
			wantPlayed: []string{"complaint_accepted " + digits("20261122000001"), "transfer_agent"}},
		{name: "0 agent", phone: "13800138000", script: map[string][]string{"main_menu": {"0"}}, queued: true},
		{name: "star repeats the menu", phone: "13800138000", script: map[string][]string{"main_menu": {"*", "0"}},
			wantPlayed: []string{"welcome main_menu", "main_menu"}, queued: true},
		{name: "invalid key re-prompts", phone: "13800138000", script: map[string][]string{"main_menu": {"7", "0"}},
			wantPlayed: []string{"invalid_input", "main_menu"}, queued: true},
		{name: "three timeouts go to an agent", phone: "13800138000", script: map[string][]string{},
			wantPlayed: []string{"no_input", "main_menu", "no_input", "main_menu", "transfer_agent"}, queued: true},
		{name: "three invalid keys go to an agent", phone: "13800138000", script: map[string][]string{"main_menu": {"9", "#", "5"}},
			wantPlayed: []string{"invalid_input", "invalid_input", "transfer_agent"}, queued: true},
		{name: "hang-up in the menu", phone: "13800138000", script: map[string][]string{"main_menu": {"hangup"}}},
		{name: "hang-up after fault ticket keeps it", phone: "13800138000",
			script:  map[string][]string{"main_menu": {"1"}, "ticket_repeat_or_agent": {"hangup"}},
			tickets: []tickets.Type{tickets.TypeFault}},
		{name: "abandon in queue promises a callback", phone: "13800138000",
			script: map[string][]string{"main_menu": {"0"}}, queued: true, abandon: true, callbacks: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hangsUp := strings.Contains(fmt.Sprint(tc.script), "hangup")
			r := newRig(tc.script)
			if tc.abandon {
				r.queue.outcome = hold.Abandoned
			}
			r.run(tc.phone)
			played := r.played()
			rest := played
			for _, want := range tc.wantPlayed {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("did not play %q in order; played: %s", want, played)
				}
				rest = rest[i+len(want):]
			}
			var types []tickets.Type
			for _, tk := range r.tk.made {
				types = append(types, tk.Type)
				if tk.Phone != tc.phone || tk.CallID != "call1" {
					t.Fatalf("ticket %+v", tk)
				}
				if tc.phone == "13800138000" && (tk.Account != acct.Number || tk.Address != acct.Address) {
					t.Fatalf("known caller's ticket lacks account: %+v", tk)
				}
			}
			if fmt.Sprint(types) != fmt.Sprint(tc.tickets) {
				t.Fatalf("tickets %v, want %v", types, tc.tickets)
			}
			if got := len(r.queue.callers) > 0; got != tc.queued {
				t.Fatalf("queued=%v, want %v; played: %s", got, tc.queued, played)
			}
			if len(r.cbs.phones) != tc.callbacks {
				t.Fatalf("callbacks %v", r.cbs.phones)
			}
			// A caller an agent served has no callback left pending.
			if served := tc.queued && !tc.abandon; served != (len(r.cbs.cancelled) == 1) {
				t.Fatalf("served=%v but cancelled %v", served, r.cbs.cancelled)
			}
			if !r.sw.Has("answer call1") {
				t.Fatal("not answered")
			}
			// Whatever happened, the call ends hung up.
			if !r.sw.IsHungUp("call1") && !hangsUp {
				t.Fatalf("call left up: %v", r.sw.Actions())
			}
		})
	}
}

func TestDeadRedisFaultReportIsApologised(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"1"}})
	r.tk.err = errors.New("redis: connection refused")
	r.run("13800138000")
	if !strings.Contains(r.played(), "error_try_later") {
		t.Fatalf("played %s", r.played())
	}
}

func TestCallbackKeepsPlace(t *testing.T) {
	r := newRig(nil)
	created := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	sess := ivr.NewSession(r.sw, "cb-1-1", zerolog.Nop())
	r.flow.Callback(context.Background(), sess, callbacks.Callback{ID: "1", Phone: "13800138000", CreatedAt: created})
	if len(r.queue.callers) != 1 {
		t.Fatal("not queued")
	}
	c := r.queue.callers[0]
	if c.Queue != "callback" || !c.Joined.Equal(created) {
		t.Fatalf("caller %+v", c)
	}
	// A virtual-hold customer rejoins where they first queued.
	queued := created.Add(-7 * time.Minute)
	r2 := newRig(nil)
	r2.flow.Callback(context.Background(), ivr.NewSession(r2.sw, "cb-2-1", zerolog.Nop()),
		callbacks.Callback{ID: "2", Kind: callbacks.KindVirtualHold, Phone: "13800138000", CreatedAt: created, QueuedAt: queued})
	if got := r2.queue.callers[0].Joined; !got.Equal(queued) {
		t.Fatalf("virtual hold rejoined at %s, want %s", got, queued)
	}
	if !strings.HasPrefix(strings.Join(r2.sw.Played("cb-2-1"), " "), "sound:hotline/callback_intro_virtual_hold") {
		t.Fatalf("played %v", r2.sw.Played("cb-2-1"))
	}
	if !strings.HasPrefix(strings.Join(r.sw.Played("cb-1-1"), " "), "sound:hotline/callback_intro") {
		t.Fatalf("played %v", r.sw.Played("cb-1-1"))
	}
}

// An English caller who gives up waiting is called back in English: the
// promise keeps the voice, and the callback's prompts and queue use it.
func TestEnglishCallerCalledBackInEnglish(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"6"}, "en/main_menu": {"0"}})
	r.queue.outcome = hold.Abandoned
	r.run("13800138000")
	if len(r.queue.callers) != 1 || r.queue.callers[0].Voice != prompts.VoiceEnglish {
		t.Fatalf("queued %+v, want the English voice", r.queue.callers)
	}
	if len(r.cbs.reqs) != 1 || r.cbs.reqs[0].Voice != prompts.VoiceEnglish {
		t.Fatalf("callbacks %+v, want one promised in English", r.cbs.reqs)
	}
	r2 := newRig(nil)
	r2.flow.Callback(context.Background(), ivr.NewSession(r2.sw, "cb-1-1", zerolog.Nop()),
		callbacks.Callback{ID: "1", Phone: "13800138000", Kind: callbacks.KindAbandoned, Voice: r.cbs.reqs[0].Voice, CreatedAt: testNow})
	if got := strings.Join(r2.sw.Played("cb-1-1"), " "); !strings.HasPrefix(got, "sound:hotline/en/callback_intro sound:hotline/en/callback_connecting") {
		t.Fatalf("callback played %s", got)
	}
	if c := r2.queue.callers[0]; c.Voice != prompts.VoiceEnglish {
		t.Fatalf("callback queued %+v, want the English voice", c)
	}
}

// A caller on a transformer with a declared outage hears about it before the
// menu, and a fault report merges under the outage's parent work order.
func TestOutageNoticeAndMergedReport(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"1"}})
	restore := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC) // 22:30 in China, after testNow
	r.tk.outage = &outages.Outage{ID: "O1", Kind: outages.KindFault, Transformer: "TX-0101", ExpectedRestore: restore, ParentTicket: "20261122009999"}
	r.run("13800138000")
	want := "outage_notice " + strings.Join(prompts.When(restore.In(china.Zone)), " ") + " outage_still_report"
	if !strings.Contains(r.played(), want) {
		t.Fatalf("played %s; want %s", r.played(), want)
	}
	if len(r.tk.made) != 1 || r.tk.made[0].ParentID != "20261122009999" || !strings.Contains(r.played(), "fault_merged") {
		t.Fatalf("report not merged: %+v, played %s", r.tk.made, r.played())
	}
}

// A caller with an open ticket hears its number, status and deadline, and
// pressing 1 urges it before the menu.
func TestRepeatCallerUrges(t *testing.T) {
	r := newRig(map[string][]string{"open_ticket_urge": {"9"}, "main_menu": {"hangup"}})
	answerBy := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	r.tk.open = []tickets.Ticket{{ID: "20261120000007", Status: tickets.StatusInProgress, AnswerBy: answerBy}}
	r.run("13800138000")
	want := "open_ticket_intro " + strings.Join(prompts.Digits("20261120000007"), " ") + " status_in_progress open_ticket_deadline"
	if !strings.Contains(r.played(), want) || !strings.Contains(r.played(), "urge_recorded") {
		t.Fatalf("played %s", r.played())
	}
	if fmt.Sprint(r.tk.urged) != "[20261120000007]" || fmt.Sprint(r.tk.repeats) != "[20261120000007]" {
		t.Fatalf("urged %v, repeats %v", r.tk.urged, r.tk.repeats)
	}
}

func TestFollowUpVerdict(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		want string
		say  string
	}{
		{[]string{"1"}, "[true]", "followup_thanks"},
		{[]string{"2"}, "[false]", "followup_sorry"},
		{[]string{"5", "2"}, "[false]", "followup_sorry"},
		{nil, "[]", "goodbye"},
	} {
		r := newRig(map[string][]string{"followup_ask": tc.keys})
		sess := ivr.NewSession(r.sw, "call1", zerolog.Nop())
		r.flow.FollowUp(context.Background(), sess, callbacks.Callback{ID: "9", Phone: "13800138000", TicketID: "20261122000003", Kind: callbacks.KindFollowUp})
		if fmt.Sprint(r.tk.verdicts) != tc.want || !strings.Contains(r.played(), tc.say) {
			t.Errorf("keys %v: verdicts %v, played %s", tc.keys, r.tk.verdicts, r.played())
		}
		if !strings.HasPrefix(r.played(), "followup_intro "+strings.Join(prompts.Digits("20261122000003"), " ")+" followup_result result_power_restored") {
			t.Errorf("played %s", r.played())
		}
	}
}

// When Asterisk stops it hangs every channel up: those callers did not hang
// up. One waiting in the queue is called back keeping their place; one in
// the menu gets a cut-off callback; a work order of theirs says what
// happened. A channel that vanished while the link was down (the call's
// context cancelled with ivr.ErrCutOff) counts the same.
func TestAsteriskCutsCallersOff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   map[string][]string
		open     bool // the caller has an open work order
		inQueue  bool
		vanished bool // cancelled by the service, no hangup event
		kind     string
		note     string
	}{
		{name: "in the menu", script: map[string][]string{"main_menu": {"shutdown"}}, kind: callbacks.KindCutOff},
		{name: "waiting in the queue", script: map[string][]string{"main_menu": {"0"}}, inQueue: true, kind: callbacks.KindVirtualHold},
		{name: "in the menu with an open order", script: map[string][]string{"open_ticket_urge": {"shutdown"}}, open: true,
			kind: callbacks.KindCutOff, note: "20261120000007: call cut off by Asterisk in the menu; cut_off callback 1 scheduled"},
		{name: "vanished while the link was down", script: map[string][]string{}, vanished: true, kind: callbacks.KindCutOff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(tc.script)
			r.queue.cutOff = tc.inQueue
			if tc.open {
				r.tk.open = []tickets.Ticket{{ID: "20261120000007", Status: tickets.StatusInProgress}}
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tc.vanished {
				r.sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, m []string) {
					if strings.HasSuffix(m[len(m)-1], "main_menu") {
						cancel(ivr.ErrCutOff)
					}
				}
			}
			sess := ivr.NewSession(r.sw, "call1", zerolog.Nop())
			r.flow.Inbound(ctx, sess, ivr.ChannelInfo{ID: "call1", CallerNum: "13800138000"})
			if len(r.cbs.reqs) != 1 || r.cbs.reqs[0].Kind != tc.kind {
				t.Fatalf("callbacks %+v, want one %s", r.cbs.reqs, tc.kind)
			}
			if tc.inQueue && !r.cbs.reqs[0].QueuedAt.Equal(testNow) {
				t.Fatalf("kept place %s, want the join time %s", r.cbs.reqs[0].QueuedAt, testNow)
			}
			var ended dto.Metric
			_ = r.flow.m.CallsEnded.WithLabelValues(metrics.EndCutOff).Write(&ended)
			if got := ended.GetCounter().GetValue(); got != 1 {
				t.Fatalf("cut_off ends %v, want 1", got)
			}
			if tc.note != "" && (len(r.tk.notes) != 1 || r.tk.notes[0] != tc.note) {
				t.Fatalf("notes %q, want %q", r.tk.notes, tc.note)
			}
		})
	}
	// A caller who hangs up is no cut-off: the plain abandoned callback.
	r := newRig(map[string][]string{"main_menu": {"0"}})
	r.queue.outcome = hold.Abandoned
	r.run("13800138000")
	if len(r.cbs.reqs) != 1 || r.cbs.reqs[0].Kind != callbacks.KindAbandoned {
		t.Fatalf("callbacks %+v, want one abandoned", r.cbs.reqs)
	}
}
