package callflow

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/hold"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/tickets"
)

// Each branch of the menu queues for the agents with its skill, with the
// caller's priority and what the agent's screen pop shows.
func TestQueueByBranchAndPriority(t *testing.T) {
	for _, tc := range []struct {
		name     string
		phone    string
		script   map[string][]string
		open     bool // the caller has an open work order
		queue    string
		priority queue.Priority
		path     string
		notMenu  bool
	}{
		{"fault then agent", "13800138000", map[string][]string{"main_menu": {"1"}, "ticket_repeat_or_agent": {"1"}}, false,
			"fault", queue.Normal, "1>1", false},
		{"billing then agent", "13800138000", map[string][]string{"main_menu": {"2"}, "ticket_repeat_or_agent": {"1"}}, false,
			"billing", queue.Normal, "2>1", false},
		{"complaint", "13800138000", map[string][]string{"main_menu": {"3"}}, false, "complaint", queue.Normal, "3", false},
		{"agent key", "13800138000", map[string][]string{"main_menu": {"0"}}, false, "general", queue.Normal, "0", false},
		{"menu failures", "13900000000", map[string][]string{"main_menu": {"9", "9", "9"}}, false, "general", queue.Normal, "fail", false},
		{"important customer", "13700137000", map[string][]string{"main_menu": {"0"}}, false, "general", queue.Important, "0", false},
		{"repeat caller", "13800138000", map[string][]string{"open_ticket_urge": {""}, "main_menu": {"0"}}, true,
			"general", queue.Repeat, "0", false},
		{"elderly caller skips the menu", "13600136000", nil, false, "senior", queue.Normal, "senior", true},
		{"elderly repeat caller", "13600136000", nil, true, "senior", queue.Repeat, "senior", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(tc.script)
			if tc.open {
				r.tk.open = []tickets.Ticket{{ID: "20261101000009", Status: tickets.StatusAssigned}}
			}
			r.run(tc.phone)
			if len(r.queue.callers) != 1 {
				t.Fatalf("queued %d times; played %s", len(r.queue.callers), r.played())
			}
			c := r.queue.callers[0]
			if c.Queue != tc.queue || c.Priority != tc.priority || c.MenuPath != tc.path {
				t.Fatalf("caller %+v, want queue %s priority %s path %s", c, tc.queue, tc.priority, tc.path)
			}
			if c.Joined.IsZero() {
				t.Fatal("no join time: a kept place could not be kept")
			}
			if tc.open && c.TicketID != "20261101000009" {
				t.Fatalf("screen pop ticket %q, want the open one", c.TicketID)
			}
			if menu := strings.Contains(r.played(), "main_menu"); menu == tc.notMenu {
				t.Fatalf("main menu played %v: %s", menu, r.played())
			}
			if tc.notMenu && !strings.Contains(r.played(), "senior_transfer") {
				t.Fatalf("no senior transfer prompt: %s", r.played())
			}
		})
	}
}

// An elderly caller who presses a key during the outage notice chose the
// menu themselves: the key is their menu choice.
func TestElderWhoPressesAKeyGetsTheMenu(t *testing.T) {
	r := newRig(map[string][]string{"outage_still_report": {"1"}})
	r.tk.outage = &outages.Outage{ID: "o1", Transformer: "TX-0201", Kind: outages.KindFault}
	r.run("13600136000")
	if len(r.tk.made) != 1 || r.tk.made[0].Type != tickets.TypeFault {
		t.Fatalf("tickets %+v; played %s", r.tk.made, r.played())
	}
	if len(r.queue.callers) != 0 {
		t.Fatalf("queued: %+v", r.queue.callers)
	}
}

// A caller who takes the kept-place offer (or reaches the longest wait) is
// promised a virtual-hold callback carrying their join time.
func TestKeptPlaceIsPromised(t *testing.T) {
	for _, tc := range []struct {
		outcome hold.Outcome
		say     string
	}{
		{hold.KeptPlace, "queue_vhold_confirm"},
		{hold.Overflowed, "queue_overflow_callback"},
	} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			r := newRig(map[string][]string{"main_menu": {"0"}})
			r.queue.outcome = tc.outcome
			r.run("13800138000")
			if len(r.cbs.reqs) != 1 {
				t.Fatalf("callbacks %+v", r.cbs.reqs)
			}
			req := r.cbs.reqs[0]
			if req.Kind != callbacks.KindVirtualHold || req.Phone != "13800138000" || !req.QueuedAt.Equal(r.queue.callers[0].Joined) {
				t.Fatalf("callback %+v, want virtual hold at %v", req, r.queue.callers[0].Joined)
			}
			if !strings.HasSuffix(r.played(), tc.say) {
				t.Fatalf("played %s, want it to end with %s", r.played(), tc.say)
			}
		})
	}
}

// The agent who answers a caller is recorded on the caller's work order as
// its first responder (seed 001 §7); a caller with no order records none.
func TestFirstResponderOnTheOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script map[string][]string
		want   []string
	}{
		{"complaint answered by an agent", map[string][]string{"main_menu": {"3"}}, []string{"20261122000001 1001 complaint"}},
		{"no order, no first responder", map[string][]string{"main_menu": {"0"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(tc.script)
			r.queue.agent = "1001"
			r.run("13800138000")
			if fmt.Sprint(r.tk.first) != fmt.Sprint(tc.want) {
				t.Fatalf("first responders %q, want %q", r.tk.first, tc.want)
			}
		})
	}
}
