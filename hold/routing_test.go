package hold

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/queue"
)

// rung records which agent each caller's phone rang, in order, and answers.
type rung struct {
	mu    sync.Mutex
	calls []string // "callID>agent"
}

func (r *rung) answer(s *ivrtest.Switch, req ivr.OriginateRequest) {
	r.mu.Lock()
	r.calls = append(r.calls, req.AppArgs[1]+">"+req.AppArgs[2])
	r.mu.Unlock()
	s.Emit(ivr.Event{Kind: ivr.EvAnswered, ChannelID: req.ChannelID, Args: req.AppArgs})
}

func (r *rung) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func setSkills(t *testing.T, reg *agents.Registry, id string, skills map[string]int) {
	t.Helper()
	if err := reg.SetSkills(context.Background(), id, skills); err != nil {
		t.Fatal(err)
	}
}

// The agent offered a call is the longest idle among the best-skilled
// available agents for the caller's queue.
func TestRoutingBestSkillThenLongestIdle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		skills map[string]map[string]int // agent → skills; nil: a generalist
		login  []string                  // in this order: the first has been idle longest
		queue  string
		want   string
	}{
		{"generalists: longest idle", nil, []string{"1002", "1001", "1003"}, "billing", "1002"},
		{"only the skilled", map[string]map[string]int{"1001": {"fault": 1}, "1002": {"billing": 1}, "1003": {"billing": 1}},
			[]string{"1001", "1003", "1002"}, "billing", "1003"},
		{"best level beats longer idle", map[string]map[string]int{"1001": {"billing": 2}, "1002": {"billing": 1}, "1003": {"billing": 3}},
			[]string{"1001", "1003", "1002"}, "billing", "1002"},
		{"generalist counts as level 1", map[string]map[string]int{"1001": {"fault": 2}, "1003": {"general": 1}},
			[]string{"1001", "1002", "1003"}, "fault", "1002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, d, sw, clk := setup(t, "1001", "1002", "1003")
			for id, sk := range tc.skills {
				setSkills(t, reg, id, sk)
			}
			login(t, reg, clk, tc.login...)
			var r rung
			sw.OnOriginate = r.answer
			_, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: tc.queue})
			waitFor(t, "an agent rung", func() bool { return len(r.list()) == 1 })
			if got := r.list()[0]; got != "c1>"+tc.want {
				t.Fatalf("rang %s, want agent %s", got, tc.want)
			}
			sw.HangUp(sess.ID())
		})
	}
}

// A caller first waits for a level-1 agent; after the queue's any-level
// wait a lower-skilled agent may take the call.
func TestRoutingLowerLevelAfterWait(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	d.cfg.Queues["billing"] = policy.Queue{AnyLevelAfter: 30 * time.Second, HandleTime: time.Minute}
	setSkills(t, reg, "1001", map[string]int{"billing": 3})
	login(t, reg, clk, "1001")
	var r rung
	sw.OnOriginate = r.answer
	_, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: "billing"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "billing"); return n["billing"] == 1 })
	time.Sleep(200 * time.Millisecond) // ten polls
	if got := r.list(); len(got) != 0 {
		t.Fatalf("a level-3 agent was rung before the any-level wait: %v", got)
	}
	clk.Add(31 * time.Second)
	waitFor(t, "the level-3 agent rung", func() bool { return len(r.list()) == 1 })
	sw.HangUp(sess.ID())
}

// Fairness across queues: an agent serving two queues takes the caller who
// has waited longest, whichever queue they are in; priority goes first.
func TestRoutingFairAcrossQueuesAndPriority(t *testing.T) {
	for _, tc := range []struct {
		name    string
		callers []queue.Caller // joined in this order, a minute apart (unless Joined is set)
		want    string
	}{
		{"longest wait across queues", []queue.Caller{{CallID: "b1", Queue: "billing"}, {CallID: "f1", Queue: "fault"}, {CallID: "b2", Queue: "billing"}},
			"b1,f1,b2"},
		{"important first", []queue.Caller{{CallID: "n1", Queue: "fault"}, {CallID: "r1", Queue: "billing", Priority: queue.Repeat},
			{CallID: "i1", Queue: "fault", Priority: queue.Important}}, "i1,r1,n1"},
		{"equal priority: join time", []queue.Caller{{CallID: "r1", Queue: "fault", Priority: queue.Repeat}, {CallID: "r2", Queue: "billing", Priority: queue.Repeat},
			{CallID: "n1", Queue: "billing"}}, "r1,r2,n1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, d, sw, clk := setup(t, "1001")
			setSkills(t, reg, "1001", map[string]int{"fault": 1, "billing": 1})
			var r rung
			sw.OnOriginate = r.answer
			sessions := map[string]*ivr.Session{}
			for i, c := range tc.callers {
				_, sess := serve(t, d, sw, c)
				sessions[c.CallID] = sess
				waitFor(t, "queued", func() bool {
					n, _ := d.Waiting(context.Background(), "fault", "billing")
					return int(n["fault"]+n["billing"]) == i+1
				})
				clk.Add(time.Minute)
			}
			login(t, reg, clk, "1001")
			var order []string
			for len(order) < len(tc.callers) {
				waitFor(t, "next call", func() bool { return len(r.list()) == len(order)+1 })
				got := r.list()[len(order)]
				id := strings.SplitN(got, ">", 2)[0]
				order = append(order, id)
				time.Sleep(60 * time.Millisecond) // let the others poll while the agent talks
				sw.HangUp(sessions[id].ID())      // the next caller is offered the agent once released
			}
			if got := strings.Join(order, ","); got != tc.want {
				t.Fatalf("served %s, want %s", got, tc.want)
			}
		})
	}
}

// The estimate is computed from live state: callers ahead, staffed agents
// (logged in, not paused, serving the queue) and the measured handle time.
func TestEstimate(t *testing.T) {
	reg, d, _, clk := setup(t, "1001", "1002", "1003")
	ctx := context.Background()
	setSkills(t, reg, "1003", map[string]int{"fault": 1}) // does not serve billing
	d.cfg.Queues["billing"] = policy.Queue{HandleTime: 4 * time.Minute}
	// Three callers in line, nobody staffed: no estimate. (They are put in
	// the queue directly: no goroutine of theirs claims agents meanwhile.)
	for _, id := range []string{"w1", "w2", "w3"} {
		if err := d.Join(ctx, queue.Caller{CallID: id, Queue: "billing", Joined: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
	}
	e, err := d.EstimateFor(ctx, queue.Caller{CallID: "w3", Queue: "billing"})
	if err != nil || e.Known() || e.Ahead != 2 {
		t.Fatalf("nobody staffed: %+v %v", e, err)
	}
	// Two agents staffed but paused: they are not counted until ready;
	// the policy's handle time is used until one is measured.
	login(t, reg, clk, "1001", "1002", "1003")
	for _, id := range []string{"1001", "1002", "1003"} {
		if err := reg.Pause(ctx, id, "meeting"); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := d.EstimateFor(ctx, queue.Caller{CallID: "w3", Queue: "billing"}); e.Known() {
		t.Fatalf("paused agents counted: %+v", e)
	}
	if err := reg.Ready(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if err := d.reg.Pause(ctx, "1001", "x"); err != nil { // keep 1001 out of reach of the callers
		t.Fatal(err)
	}
	if err := d.rdb.HSet(ctx, "t:agent:1001", "state", string(agents.OnCall)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := d.rdb.HSet(ctx, "t:agent:1002", "state", string(agents.WrapUp)).Err(); err != nil {
		t.Fatal(err)
	}
	e, _ = d.EstimateFor(ctx, queue.Caller{CallID: "w3", Queue: "billing"})
	if e.Staffed != 2 || e.Ahead != 2 || e.Wait != 3*4*time.Minute/2 {
		t.Fatalf("estimate %+v, want 2 staffed, 2 ahead, 6m", e)
	}
	// A measured handle time replaces the assumed one.
	d.HandleTime(ctx, "billing", 2*time.Minute)
	e, _ = d.EstimateFor(ctx, queue.Caller{CallID: "w1", Queue: "billing"})
	if e.Ahead != 0 || e.Wait != time.Minute {
		t.Fatalf("estimate %+v, want 0 ahead and 1m", e)
	}
}

// A waiting caller hears position and wait; past the threshold they are
// offered a callback that keeps their place, and pressing 1 takes it.
func TestAnnouncementOffersKeptPlace(t *testing.T) {
	_, d, sw, clk := setup(t, "1001")
	d.cfg.Queues["general"] = policy.Queue{AnnounceEvery: time.Second, OfferCallbackOver: time.Minute, HandleTime: time.Minute}
	sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
		if strings.Contains(strings.Join(media, " "), "queue_vhold_offer") {
			go s.Press(ch, "1")
		}
	}
	out, _ := serve(t, d, sw, queue.Caller{CallID: "c1", Phone: "13800138000", Queue: "general"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "general"); return n["general"] == 1 })
	clk.Add(2 * time.Second)
	select {
	case o := <-out:
		if o != KeptPlace {
			t.Fatalf("outcome %s, want %s", o, KeptPlace)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no outcome")
	}
	played := strings.Join(sw.Played("c1"), " ")
	for _, want := range []string{"queue_position_next", "queue_wait", "queue_vhold_offer"} {
		if !strings.Contains(played, want) {
			t.Errorf("did not play %s: %s", want, played)
		}
	}
	if n, _ := d.Waiting(context.Background(), "general"); n["general"] != 0 {
		t.Fatalf("caller still queued: %v", n)
	}
}

// A caller who chose English (or the slow voice) hears the queue's
// announcements in that voice, numbers with its grammar.
func TestAnnouncementInCallersVoice(t *testing.T) {
	_, d, sw, clk := setup(t, "1001")
	d.cfg.Queues["general"] = policy.Queue{AnnounceEvery: time.Second, OfferCallbackOver: time.Hour, HandleTime: time.Minute}
	var mu sync.Mutex
	var heard []string
	sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
		mu.Lock()
		defer mu.Unlock()
		if ch == "c13" {
			heard = append(heard, media...)
		}
	}
	// Twelve callers ahead, so the position is a number to read.
	ctx := context.Background()
	for i := range 12 {
		if err := d.Join(ctx, queue.Caller{CallID: fmt.Sprintf("ahead%d", i), Queue: "general", Joined: clk.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	_, sess := serve(t, d, sw, queue.Caller{CallID: "c13", Phone: "13800138000", Queue: "general", Voice: prompts.VoiceEnglish})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(ctx, "general"); return n["general"] == 13 })
	clk.Add(2 * time.Second)
	waitFor(t, "announced", func() bool { mu.Lock(); defer mu.Unlock(); return len(heard) > 0 })
	sw.HangUp(sess.ID())
	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(heard, " ")
	want := "sound:hotline/en/queue_position_ahead sound:hotline/en/en_12 sound:hotline/en/queue_position_callers"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("heard %s\nwant it to start %s", got, want)
	}
	if strings.Contains(got, "sound:hotline/queue") {
		t.Fatalf("a Mandarin prompt in an English announcement: %s", got)
	}
}

// An anonymous caller is never offered a callback we could not place.
func TestAnnouncementNoOfferWithoutNumber(t *testing.T) {
	_, d, sw, clk := setup(t, "1001")
	d.cfg.Queues["general"] = policy.Queue{AnnounceEvery: time.Second, OfferCallbackOver: time.Second, HandleTime: time.Minute}
	var mu sync.Mutex
	announced := 0
	sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(strings.Join(media, " "), "queue_vhold_offer") {
			t.Error("offered a callback to an anonymous caller")
		}
		announced++
	}
	_, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Phone: "anonymous", Queue: "general"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "general"); return n["general"] == 1 })
	clk.Add(2 * time.Second)
	waitFor(t, "announced", func() bool { mu.Lock(); defer mu.Unlock(); return announced > 0 })
	sw.HangUp(sess.ID())
}

// The longest wait moves a caller to the overflow queue with their place,
// and from a queue whose overflow is a callback, ends the wait with one.
func TestMaxWaitOverflow(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	ctx := context.Background()
	d.cfg.Queues["fault"] = policy.Queue{MaxWait: time.Minute, OnMaxWait: "general", HandleTime: time.Minute}
	d.cfg.Queues["general"] = policy.Queue{MaxWait: 2 * time.Minute, OnMaxWait: policy.KeepPlaceCallback, HandleTime: time.Minute}
	setSkills(t, reg, "1001", map[string]int{"general": 1})
	joined := clk.Now()
	out, _ := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: "fault", Joined: joined})
	waitFor(t, "queued in fault", func() bool { n, _ := d.Waiting(ctx, "fault"); return n["fault"] == 1 })
	clk.Add(61 * time.Second)
	waitFor(t, "moved to general", func() bool { n, _ := d.Waiting(ctx, "fault", "general"); return n["fault"] == 0 && n["general"] == 1 })
	score, err := d.rdb.ZScore(ctx, "t:queue:general:joined", "c1").Result()
	if err != nil || int64(score) != joined.UnixMilli() {
		t.Fatalf("place not kept in the overflow queue: %v %v", score, err)
	}
	clk.Add(121 * time.Second)
	select {
	case o := <-out:
		if o != Overflowed {
			t.Fatalf("outcome %s, want %s", o, Overflowed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no overflow")
	}
}

// Every state change and every screen pop is in the agents' event stream.
func TestEventsStateAndScreenPop(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	ctx := context.Background()
	login(t, reg, clk, "1001")
	var r rung
	sw.OnOriginate = r.answer
	_, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Phone: "13800138000", Queue: "billing", Account: "1000000001",
		Name: "张伟", TicketID: "T1", MenuPath: "2>1", Priority: queue.Repeat})
	waitFor(t, "on call", func() bool { return state(t, reg, "1001").State == agents.OnCall })
	sw.HangUp(sess.ID())
	waitFor(t, "released", func() bool { return state(t, reg, "1001").State == agents.Available })
	evs, err := reg.Tail(ctx, "1001", "0", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		var data map[string]any
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		switch e.Type {
		case agents.EventState:
			got = append(got, "state:"+data["state"].(string))
		case agents.EventScreenPop:
			got = append(got, "pop")
			if data["phone"] != "13800138000" || data["account"] != "1000000001" || data["menu_path"] != "2>1" ||
				data["ticket_id"] != "T1" || data["queue"] != "billing" || data["priority"] != "repeat" {
				t.Fatalf("screen pop %v", data)
			}
		}
	}
	if want := "state:available,state:ringing,pop,state:on_call,state:available"; strings.Join(got, ",") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
}

// Where a caller waits is on record until they leave, so a caller cut off by
// a dead replica can be called back keeping their place.
func TestPlaceOf(t *testing.T) {
	_, d, sw, clk := setup(t, "1001")
	ctx := context.Background()
	joined := clk.Now().Add(-time.Minute)
	_, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: "billing", Joined: joined})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(ctx, "billing"); return n["billing"] == 1 })
	p, ok, err := d.PlaceOf(ctx, "c1")
	if err != nil || !ok || p.Queue != "billing" || !p.Joined.Equal(joined.Truncate(time.Millisecond)) {
		t.Fatalf("place %+v %v %v", p, ok, err)
	}
	sw.HangUp(sess.ID())
	waitFor(t, "forgotten", func() bool { _, ok, _ := d.PlaceOf(ctx, "c1"); return !ok })
	if _, ok, _ := d.PlaceOf(ctx, "never"); ok {
		t.Fatal("a caller who never waited has a place")
	}
}

// With free agents, every caller in line is offered one at once: the k-th
// caller gets the k-th best agent, the first the longest idle.
func TestCallersInLineClaimAtOnce(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001", "1002", "1003")
	ctx := context.Background()
	var r rung
	sw.OnOriginate = func(s *ivrtest.Switch, req ivr.OriginateRequest) { // rings, never answered
		r.mu.Lock()
		r.calls = append(r.calls, req.AppArgs[1]+">"+req.AppArgs[2])
		r.mu.Unlock()
	}
	var sessions []*ivr.Session
	for _, id := range []string{"c1", "c2", "c3"} {
		_, sess := serve(t, d, sw, queue.Caller{CallID: id, Queue: "general"})
		sessions = append(sessions, sess)
		waitFor(t, "queued", func() bool { n, _ := d.Waiting(ctx, "general"); return n["general"] == int64(len(sessions)) })
		clk.Add(time.Second)
	}
	login(t, reg, clk, "1003", "1001", "1002") // idle order: 1003, 1001, 1002
	waitFor(t, "all three rung", func() bool { return len(r.list()) == 3 })
	got := map[string]bool{}
	for _, c := range r.list() {
		got[c] = true
	}
	for _, want := range []string{"c1>1003", "c2>1001", "c3>1002"} {
		if !got[want] {
			t.Fatalf("rang %v, want %s (the k-th caller gets the k-th longest idle)", r.list(), want)
		}
	}
	for _, s := range sessions {
		sw.HangUp(s.ID())
	}
}

// A caller dropped from the queue while still there (its heartbeat lapsed)
// joins again in the same place instead of waiting for ever.
func TestDroppedCallerJoinsAgain(t *testing.T) {
	_, d, sw, _ := setup(t, "1001")
	ctx := context.Background()
	_, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: "general"})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(ctx, "general"); return n["general"] == 1 })
	if err := d.rdb.ZRem(ctx, "t:queue:general", "c1").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "queued again", func() bool { n, _ := d.Waiting(ctx, "general"); return n["general"] == 1 })
	sw.HangUp(sess.ID())
}

// The transfer prompt plays while the agent is already rung: the phone
// rings before the prompt ends, and the prompt is stopped when the agent
// answers. Without an agent, music on hold starts when the prompt ends.
func TestIntroPlaysWhileAgentRings(t *testing.T) {
	reg, d, sw, clk := setup(t, "1001")
	sw.ManualPlayback = true // no playback ends by itself
	login(t, reg, clk, "1001")
	var r rung
	sw.OnOriginate = r.answer
	_, sess := serve(t, d, sw, queue.Caller{CallID: "c1", Queue: "general", Intro: []string{"sound:hotline/transfer_agent"}})
	waitFor(t, "agent rung during the intro", func() bool { return len(r.list()) == 1 })
	waitFor(t, "intro stopped for the bridge", func() bool { return sw.Has("stop c1-pb-1") && sw.Has("bridge-add br-c1") })
	if sw.Has("moh-start c1") {
		t.Fatal("music on hold started over the intro")
	}
	sw.HangUp(sess.ID())

	// Nobody free: music starts only once the intro has finished.
	_, d2, sw2, _ := setup(t, "1001")
	sw2.ManualPlayback = true
	_, sess2 := serve(t, d2, sw2, queue.Caller{CallID: "c2", Queue: "general", Intro: []string{"sound:hotline/transfer_agent"}})
	waitFor(t, "queued", func() bool { n, _ := d2.Waiting(context.Background(), "general"); return n["general"] == 1 })
	time.Sleep(100 * time.Millisecond)
	if sw2.Has("moh-start c2") {
		t.Fatal("music on hold before the intro ended")
	}
	sw2.Emit(ivr.Event{Kind: ivr.EvPlaybackFinished, ChannelID: "c2", PlaybackID: "c2-pb-1"})
	waitFor(t, "music after the intro", func() bool { return sw2.Has("moh-start c2") })
	sw2.HangUp(sess2.ID())
}

// A key pressed on hold, before any offer is read out (here during the
// transfer prompt), is the caller's answer to the next offer.
func TestKeyOnHoldTakesTheNextOffer(t *testing.T) {
	_, d, sw, clk := setup(t, "1001")
	d.cfg.Queues["senior"] = policy.Queue{AnnounceEvery: time.Second, OfferCallbackOver: time.Second, HandleTime: time.Minute}
	out, _ := serve(t, d, sw, queue.Caller{CallID: "c1", Phone: "15800158000", Queue: "senior", Intro: []string{"sound:hotline/senior_transfer"}})
	waitFor(t, "queued", func() bool { n, _ := d.Waiting(context.Background(), "senior"); return n["senior"] == 1 })
	sw.Press("c1", "1")
	time.Sleep(50 * time.Millisecond)
	clk.Add(2 * time.Second)
	select {
	case o := <-out:
		if o != KeptPlace {
			t.Fatalf("outcome %s, want %s", o, KeptPlace)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the key pressed on hold was lost")
	}
}
