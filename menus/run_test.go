package menus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

// fakeSteps plays the call flow's part: canned step results, tickets with
// numbers, and a record of queues joined.
type fakeSteps struct {
	mu        sync.Mutex
	calls     []string
	results   map[string][]string // step -> results, in turn; "err" fails the step
	ticketErr error
	queued    []string // queue/reason
	intros    []string // what each Enqueue was given to play meanwhile
}

func (f *fakeSteps) Run(ctx context.Context, step string, st *State) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, step)
	rs := f.results[step]
	if len(rs) == 0 {
		return "", nil
	}
	r := rs[0]
	f.results[step] = rs[1:]
	switch r {
	case "err":
		return "", errors.New("redis down")
	case "open":
		st.Say("open_ticket_intro") // speech a step queues for the next prompt
	}
	return r, nil
}

func (f *fakeSteps) CreateTicket(ctx context.Context, kind string, st *State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "ticket:"+kind)
	if f.ticketErr != nil {
		return f.ticketErr
	}
	st.Ticket = "2026112201"
	return nil
}

func (f *fakeSteps) Enqueue(ctx context.Context, queue, reason string, st *State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued = append(f.queued, queue+"/"+reason)
	f.intros = append(f.intros, strings.Join(st.Intro, " "))
	return nil
}

func (f *fakeSteps) Transfer(ctx context.Context, to, reason string, st *State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued = append(f.queued, "transfer:"+to+"/"+reason)
	return nil
}

// fast is the default menu with short timeouts, so tests of silence are quick.
func fast(t *testing.T) *Menu {
	t.Helper()
	m, err := Parse(DefaultYAML(), "default.yaml", testNames)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Nodes {
		n.Timeout, n.InterDigit = 40*time.Millisecond, 40*time.Millisecond
	}
	return m
}

type rig struct {
	sw    *ivrtest.Switch
	steps *fakeSteps
	m     *Metrics
	reg   *prometheus.Registry
}

// newRig scripts the caller: when a playback ends with the prompt id given
// as key, the next answer is pressed ("hangup" hangs up). Keys pressed in
// OnPlay arrive while the prompt plays: they barge in.
func newRig(script map[string][]string) *rig {
	r := &rig{sw: ivrtest.New(), steps: &fakeSteps{results: map[string][]string{}}, reg: prometheus.NewRegistry()}
	r.m = NewMetrics(r.reg)
	var mu sync.Mutex
	r.sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
		mu.Lock()
		defer mu.Unlock()
		last := strings.TrimPrefix(media[len(media)-1], "sound:hotline/")
		answers := script[last]
		if len(answers) == 0 {
			return
		}
		a := answers[0]
		script[last] = answers[1:]
		if a == "hangup" {
			s.HangUp(ch)
		} else {
			s.Press(ch, a)
		}
	}
	return r
}

// run plays the call in a synctest bubble: the menu's timeouts run on the
// bubble's clock, so silence costs no real time, and the bubble fails the
// test if the call leaves a goroutine behind.
func (r *rig) run(t *testing.T, m *Menu) (out Outcome, err error, st *State) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		sess := ivr.NewSession(r.sw, "ch1", zerolog.Nop())
		st = &State{Sess: sess, CallID: "ch1"}
		run := &Runner{Metrics: r.m, Log: zerolog.Nop(), FloodQuiet: 50 * time.Millisecond}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err = run.Run(ctx, m, st, r.steps)
	})
	return out, err, st
}

// heard returns the prompt ids played, in order.
func (r *rig) heard() []string {
	var out []string
	for _, m := range r.sw.Played("ch1") {
		out = append(out, strings.TrimPrefix(m, "sound:hotline/"))
	}
	return out
}

func count(heard []string, id string) int {
	n := 0
	for _, h := range heard {
		if h == id {
			n++
		}
	}
	return n
}

func TestRunnerPaths(t *testing.T) {
	cases := []struct {
		name    string
		script  map[string][]string
		results map[string][]string
		want    Outcome
		queued  string
		path    string
		check   func(t *testing.T, r *rig, st *State)
	}{
		{name: "1 fault, then 1 for an agent", script: map[string][]string{"main_menu": {"1"}, "ticket_repeat_or_agent": {"1"}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent_fault", Queue: "fault", Reason: "after_self_service"}, queued: "fault/after_self_service", path: "1>1",
			check: func(t *testing.T, r *rig, st *State) {
				h := strings.Join(r.heard(), " ")
				if !strings.Contains(h, "fault_accepted d2 d0 d2 d6 d1_yao d1_yao d2 d2 d0 d1_yao ticket_repeat_or_agent") {
					t.Errorf("ticket not read digit by digit with 幺: %s", h)
				}
			}},
		{name: "1 fault, then silence: goodbye", script: map[string][]string{"main_menu": {"1"}},
			want: Outcome{Kind: OutcomeContained, Node: "goodbye"}, path: "1"},
		{name: "0 agent", script: map[string][]string{"main_menu": {"0"}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent", Queue: "general", Reason: "caller_request"}, queued: "general/caller_request", path: "0"},
		{name: "3 complaint goes to an agent after the number", script: map[string][]string{"main_menu": {"3"}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent_complaint", Queue: "complaint", Reason: "complaint"}, queued: "complaint/complaint", path: "3"},
		{name: "invalid key re-prompts without the welcome", script: map[string][]string{"main_menu": {"7", "0"}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent", Queue: "general", Reason: "caller_request"}, queued: "general/caller_request", path: "0",
			check: func(t *testing.T, r *rig, st *State) {
				h := r.heard()
				if count(h, "welcome") != 1 || count(h, "main_menu") != 2 || count(h, "invalid_input") != 1 {
					t.Errorf("heard %v", h)
				}
			}},
		{name: "three timeouts go to an agent", script: map[string][]string{},
			want: Outcome{Kind: OutcomeAgent, Node: "agent_menu_failure", Queue: "general", Reason: "menu_failure"}, queued: "general/menu_failure", path: "fail",
			check: func(t *testing.T, r *rig, st *State) {
				if h := r.heard(); count(h, "no_input") != 2 || count(h, "main_menu") != 3 {
					t.Errorf("heard %v", h)
				}
				if v := value(r.m.Timeouts.WithLabelValues("main")); v != 3 {
					t.Errorf("timeouts at main = %v", v)
				}
				if v := value(r.m.Failed.WithLabelValues("main")); v != 1 {
					t.Errorf("failed at main = %v", v)
				}
			}},
		{name: "three invalid keys go to an agent", script: map[string][]string{"main_menu": {"7", "#", "5"}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent_menu_failure", Queue: "general", Reason: "menu_failure"}, queued: "general/menu_failure", path: "fail",
			check: func(t *testing.T, r *rig, st *State) {
				if v := value(r.m.Invalid.WithLabelValues("main")); v != 3 {
					t.Errorf("invalid at main = %v", v)
				}
			}},
		{name: "star repeats the first menu and is no failure", script: map[string][]string{"main_menu": {"*", "*", "*", "0"}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent", Queue: "general", Reason: "caller_request"}, queued: "general/caller_request", path: "0",
			check: func(t *testing.T, r *rig, st *State) {
				if v := value(r.m.Selections.WithLabelValues("main", "*")); v != 3 {
					t.Errorf("* at main = %v", v)
				}
			}},
		{name: "a DTMF flood at a menu costs its retries, no error", script: map[string][]string{"main_menu": {strings.Repeat("7", 200)}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent_menu_failure", Queue: "general", Reason: "menu_failure"}, queued: "general/menu_failure", path: "fail"},
		{name: "keys A-D are invalid", script: map[string][]string{"main_menu": {"A", "D", "0"}},
			want: Outcome{Kind: OutcomeAgent, Node: "agent", Queue: "general", Reason: "caller_request"}, queued: "general/caller_request", path: "0"},
		{name: "hang-up in the menu", script: map[string][]string{"main_menu": {"hangup"}},
			want: Outcome{Kind: OutcomeCallerHangup, Node: "main"}},
		{name: "billing: account entered, # ends it", results: map[string][]string{"billing_balance": {"need_account", "ok"}, "billing_lookup": {"found"}},
			script: map[string][]string{"main_menu": {"2"}, "billing_enter_account": {"1000000001#"}},
			want:   Outcome{Kind: OutcomeContained, Node: "goodbye"}, path: "2",
			check: func(t *testing.T, r *rig, st *State) {
				if st.Input != "1000000001" {
					t.Errorf("input %q", st.Input)
				}
				if got := strings.Join(r.steps.calls, ","); got != "identify_caller,notices,outage_notice,senior_check,open_ticket,billing_balance,billing_lookup,billing_balance" {
					t.Errorf("steps %s", got)
				}
			}},
		{name: "billing: digits without # are taken at the inter-digit timeout", results: map[string][]string{"billing_balance": {"need_account", "ok"}, "billing_lookup": {"found"}},
			script: map[string][]string{"main_menu": {"2"}, "billing_enter_account": {"1000000001"}, "ticket_repeat_or_agent": {"1"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent_billing", Queue: "billing", Reason: "after_self_service"}, queued: "billing/after_self_service", path: "2>1",
			check: func(t *testing.T, r *rig, st *State) {
				if st.Input != "1000000001" {
					t.Errorf("input %q", st.Input)
				}
			}},
		{name: "billing: a 200-digit flood gets one clean re-prompt", results: map[string][]string{"billing_balance": {"need_account", "ok"}, "billing_lookup": {"found"}},
			script: map[string][]string{"main_menu": {"2"}, "billing_enter_account": {strings.Repeat("8", 200), "42#"}},
			want:   Outcome{Kind: OutcomeContained, Node: "goodbye"}, path: "2",
			check: func(t *testing.T, r *rig, st *State) {
				if st.Input != "42" {
					t.Errorf("input %q", st.Input)
				}
				h := r.heard()
				if count(h, "billing_enter_account") != 2 || count(h, "invalid_input") != 1 {
					t.Errorf("heard %v", h)
				}
				if v := value(r.m.Invalid.WithLabelValues("billing_account")); v != 1 {
					t.Errorf("invalid at billing_account = %v, want 1 (the flood is one mistake)", v)
				}
			}},
		{name: "billing: * in the number entry goes back to the main menu", results: map[string][]string{"billing_balance": {"need_account"}},
			script: map[string][]string{"main_menu": {"2", "0"}, "billing_enter_account": {"12*"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent", Queue: "general", Reason: "caller_request"}, queued: "general/caller_request", path: "2>0"},
		{name: "billing: unknown account, * goes back one level to the entry", results: map[string][]string{"billing_balance": {"need_account"}, "billing_lookup": {"unknown", "unknown"}},
			script: map[string][]string{"main_menu": {"2"}, "billing_enter_account": {"999#", "998#"}, "billing_unknown_account": {"*", "1"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent_unknown_account", Queue: "billing", Reason: "unknown_account"}, queued: "billing/unknown_account", path: "2>1",
			check: func(t *testing.T, r *rig, st *State) {
				if h := r.heard(); count(h, "billing_enter_account") != 2 {
					t.Errorf("heard %v", h)
				}
			}},
		{name: "billing: too many unknown numbers go to an agent", results: map[string][]string{"billing_balance": {"need_account"}, "billing_lookup": {"unknown", "too_many"}},
			script: map[string][]string{"main_menu": {"2"}, "billing_enter_account": {"999#", "998#"}, "billing_unknown_account": {"2"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent_unknown_account", Queue: "billing", Reason: "unknown_account"}, queued: "billing/unknown_account", path: "2>2"},
		{name: "step error goes to on_fail", results: map[string][]string{"billing_balance": {"err"}},
			script: map[string][]string{"main_menu": {"2"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent_billing_error", Queue: "billing", Reason: "self_service_error"}, queued: "billing/self_service_error", path: "2"},
		{name: "urge offer: a main-menu key is that choice", results: map[string][]string{"open_ticket": {"open"}},
			script: map[string][]string{"open_ticket_urge": {"3"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent_complaint", Queue: "complaint", Reason: "complaint"}, queued: "complaint/complaint", path: "3",
			check: func(t *testing.T, r *rig, st *State) {
				if h := strings.Join(r.heard(), " "); strings.Contains(h, "invalid_input") || strings.Contains(h, "main_menu") {
					t.Errorf("heard %s", h)
				}
				if v := value(r.m.Selections.WithLabelValues("main", "3")); v != 1 {
					t.Errorf("main-menu key 3 counted %v times", v)
				}
				if strings.Contains(strings.Join(r.steps.calls, ","), "urge_open_ticket") {
					t.Errorf("urged: %v", r.steps.calls)
				}
			}},
		{name: "urge offer: a key of neither menu is a failure: the main menu", results: map[string][]string{"open_ticket": {"open"}},
			script: map[string][]string{"open_ticket_urge": {"7"}, "main_menu": {"0"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent", Queue: "general", Reason: "caller_request"}, queued: "general/caller_request", path: "fail>0",
			check: func(t *testing.T, r *rig, st *State) {
				if h := strings.Join(r.heard(), " "); !strings.Contains(h, "main_menu") {
					t.Errorf("heard %s", h)
				}
				if v := value(r.m.Invalid.WithLabelValues("urge_offer")); v != 1 {
					t.Errorf("invalid at the urge offer counted %v", v)
				}
			}},
		{name: "open ticket: the step's speech leads the urge prompt", results: map[string][]string{"open_ticket": {"open"}},
			script: map[string][]string{"open_ticket_urge": {"9"}, "main_menu": {"0"}},
			want:   Outcome{Kind: OutcomeAgent, Node: "agent", Queue: "general", Reason: "caller_request"}, queued: "general/caller_request", path: "9>0",
			check: func(t *testing.T, r *rig, st *State) {
				if a := r.sw.Actions(); !containsAction(a, "play ch1 sound:hotline/open_ticket_intro sound:hotline/open_ticket_urge") {
					t.Errorf("actions %v", a)
				}
				if !strings.Contains(strings.Join(r.steps.calls, ","), "urge_open_ticket") {
					t.Errorf("steps %v", r.steps.calls)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(tc.script)
			if tc.results != nil {
				r.steps.results = tc.results
			}
			out, err, st := r.run(t, fast(t))
			if err != nil {
				t.Fatalf("err %v", err)
			}
			if out != tc.want {
				t.Errorf("outcome %+v, want %+v\nheard %v", out, tc.want, r.heard())
			}
			if got := strings.Join(r.steps.queued, ","); got != tc.queued {
				t.Errorf("queued %q, want %q", got, tc.queued)
			}
			if st.MenuPath() != tc.path {
				t.Errorf("path %q, want %q", st.MenuPath(), tc.path)
			}
			if v := value(r.m.Outcomes.WithLabelValues(tc.want.Kind, tc.want.Node)); v != 1 {
				t.Errorf("outcome metric = %v", v)
			}
			if tc.want.Reason != "" {
				if v := value(r.m.ToAgents.WithLabelValues(tc.want.Reason)); v != 1 {
					t.Errorf("to-agents metric = %v", v)
				}
			}
			if tc.check != nil {
				tc.check(t, r, st)
			}
		})
	}
}

func containsAction(actions []string, want string) bool {
	for _, a := range actions {
		if a == want {
			return true
		}
	}
	return false
}

// A ticket that cannot be written: the fault path (no on_fail) apologises
// and ends with an error; the complaint path still reaches a person.
func TestRunnerTicketFailure(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"1"}})
	r.steps.ticketErr = errors.New("redis down")
	out, err, _ := r.run(t, fast(t))
	if err == nil || out.Kind != OutcomeError || out.Node != "fault" || count(r.heard(), "error_try_later") != 1 {
		t.Fatalf("out %+v err %v heard %v", out, err, r.heard())
	}
	r = newRig(map[string][]string{"main_menu": {"3"}})
	r.steps.ticketErr = errors.New("redis down")
	out, err, _ = r.run(t, fast(t))
	if err != nil || out.Node != "agent_complaint" || count(r.heard(), "complaint_accepted") != 0 {
		t.Fatalf("out %+v err %v heard %v", out, err, r.heard())
	}
}

// A step failing in a node without on_fail ends the call with an apology
// and an error outcome.
func TestRunnerStepFailureWithoutOnFail(t *testing.T) {
	r := newRig(map[string][]string{})
	r.steps.results["identify_caller"] = []string{"err"}
	out, err, _ := r.run(t, fast(t))
	if err == nil || out.Kind != OutcomeError || out.Node != "identify" {
		t.Fatalf("out %+v err %v", out, err)
	}
	if h := r.heard(); len(h) != 1 || h[0] != "error_try_later" {
		t.Errorf("heard %v", h)
	}
}

// MaxSteps stops a caller who presses * for ever.
func TestRunnerMaxSteps(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": strings.Split(strings.Repeat("*", 50), "")})
	sess := ivr.NewSession(r.sw, "ch1", zerolog.Nop())
	run := &Runner{Log: zerolog.Nop(), MaxSteps: 10}
	out, err := run.Run(context.Background(), fast(t), &State{Sess: sess, CallID: "ch1"}, r.steps)
	if err == nil || out.Kind != OutcomeError {
		t.Fatalf("out %+v err %v", out, err)
	}
}

// A transfer node hands the call over with its destination and reason.
func TestRunnerTransfer(t *testing.T) {
	src := `version: "t"
start: main
nodes:
  main:
    action: menu
    prompts: main_menu
    keys:
      "9": senior
    on_fail: senior
  senior:
    action: transfer
    prompts: senior_transfer
    to: "PJSIP/senior-desk"
    reason: senior
`
	m, err := Parse([]byte(src), "t.yaml", testNames)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(map[string][]string{"main_menu": {"9"}})
	out, err, _ := r.run(t, m)
	if err != nil || out != (Outcome{Kind: OutcomeAgent, Node: "senior", To: "PJSIP/senior-desk", Reason: "senior"}) {
		t.Fatalf("out %+v err %v", out, err)
	}
	if r.steps.queued[0] != "transfer:PJSIP/senior-desk/senior" {
		t.Errorf("queued %v", r.steps.queued)
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// An enqueue node's prompts are not played before the caller is queued:
// they go to the queue, which plays them while it already rings an agent.
func TestRunnerEnqueueHandsOverItsPrompts(t *testing.T) {
	r := newRig(map[string][]string{"main_menu": {"0"}})
	out, err, _ := r.run(t, fast(t))
	if err != nil || out.Kind != OutcomeAgent {
		t.Fatalf("out %+v err %v", out, err)
	}
	if count(r.heard(), "transfer_agent") != 0 {
		t.Fatalf("transfer prompt played before queueing: %v", r.heard())
	}
	if len(r.steps.intros) != 1 || !strings.Contains(r.steps.intros[0], "transfer_agent") {
		t.Fatalf("intro handed to the queue: %q", r.steps.intros)
	}
}
