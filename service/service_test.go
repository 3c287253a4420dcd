package service

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/ariedge"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/internal/redistest"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/ivr/ivrtest"
	"github.com/hotline95598/hotline/tickets"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// edge is the fake switch with the bits of the ARI edge the service uses.
type edge struct{ *ivrtest.Switch }

func (edge) Run(ctx context.Context, h ariedge.Handler) error { <-ctx.Done(); return nil }
func (edge) Health() (bool, string)                           { return true, "fake" }

func newService(t *testing.T) (*Service, *ivrtest.Switch) {
	t.Helper()
	srv := redistest.Start(t)
	cfg := config.Defaults()
	cfg.RedisAddr = srv.Addr
	cfg.APIToken = "test-token-123"
	cfg.ARIPassword = "x"
	cfg.ReplicaID = "me"
	cfg.AgentIDs = []string{"1001"}
	sw := ivrtest.New()
	s, err := New(cfg, zerolog.Nop(), prometheus.NewRegistry(), edge{sw})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.rdb.Close() })
	return s, sw
}

// After a restart, calls this replica owned before are orphans: hung up,
// noted on their ticket, and called back. Calls of a live replica, and
// channels too young to have reached their owner, are left alone.
func TestReconcileOrphans(t *testing.T) {
	s, sw := newService(t)
	ctx := context.Background()
	tk, err := s.tickets.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000", CallID: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(id, owner, phone, ticket string) {
		if err := s.rdb.HSet(ctx, s.calls.key(id), "owner", owner, "phone", phone, "ticket", ticket).Err(); err != nil {
			t.Fatal(err)
		}
	}
	put("mine", "me", "13800138000", tk.ID) // ours, before the restart
	put("theirs", "r2", "13900139000", "")  // a live replica's
	put("dead", "r3", "13700137000", "")    // a dead replica's
	s.rdb.Set(ctx, s.cfg.RedisPrefix+"replica:r2", "1", time.Minute)
	old := time.Now().Add(-time.Minute)
	sw.SetChannels(
		ivr.ChannelInfo{ID: "mine", State: "Up", CallerNum: "13800138000", Created: old},
		ivr.ChannelInfo{ID: "mine-agent-1", State: "Up", Created: old},
		ivr.ChannelInfo{ID: "theirs", State: "Up", CallerNum: "13900139000", Created: old},
		ivr.ChannelInfo{ID: "dead", State: "Up", CallerNum: "13700137000", Created: old},
		ivr.ChannelInfo{ID: "young", State: "Up", CallerNum: "13600136000", Created: time.Now()},
		// A callback still ringing: not answered, so not an orphan.
		ivr.ChannelInfo{ID: "cb-9-1", State: "Ring", CallerNum: "95598", Created: old},
		// An answered callback leg nobody owns: hung up, but 95598 is never called back.
		ivr.ChannelInfo{ID: "cb-8-1", State: "Up", CallerNum: "95598", Created: old},
	)
	s.reconcile(ctx, true)
	for id, want := range map[string]bool{"mine": true, "mine-agent-1": true, "dead": true, "theirs": false, "young": false, "cb-9-1": false, "cb-8-1": true} {
		if sw.IsHungUp(id) != want {
			t.Errorf("%s hung up = %v, want %v", id, !want, want)
		}
	}
	for _, phone := range []string{"13800138000", "13700137000"} {
		cbs, _ := s.callbacks.ListByPhone(ctx, phone, 5)
		if len(cbs) != 1 || cbs[0].Kind != callbacks.KindCutOff {
			t.Errorf("callback for %s: %+v", phone, cbs)
		}
	}
	if cbs, _ := s.callbacks.ListByPhone(ctx, "95598", 5); len(cbs) != 0 {
		t.Errorf("called back 95598: %+v", cbs)
	}
	got, _ := s.tickets.Get(ctx, tk.ID)
	last := got.Audit[len(got.Audit)-1]
	if !strings.Contains(last.Note, "controller restart") || !strings.Contains(last.Note, "callback") {
		t.Errorf("ticket note %+v", last)
	}
}

// A local call whose channel vanished while ARI was disconnected is ended.
func TestReconnectEndsVanishedCalls(t *testing.T) {
	s, sw := newService(t)
	ctx, done := s.calls.start(context.Background(), "gone", "13800138000")
	defer done()
	sw.SetChannels()
	s.reconcile(context.Background(), true)
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("call whose channel vanished is still running")
	}
}

// A StasisStart for an agent leg nobody waits for is hung up; a callback leg
// whose dialler is gone is served.
func TestStrayLegs(t *testing.T) {
	s, sw := newService(t)
	ctx := context.Background()
	handler{s, ctx}.OnStasisStart(ctx, ivr.ChannelInfo{ID: "x-agent-1"}, []string{"agent", "x", "1001"})
	if !sw.IsHungUp("x-agent-1") {
		t.Fatal("stray agent leg left up")
	}
	id, _, err := s.callbacks.Schedule(ctx, callbacks.Request{Phone: "13800138000", Kind: callbacks.KindAbandoned, CallID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, m []string) {
		if strings.Contains(m[0], "callback_intro") {
			s.HangUp(ch)
		}
	}
	handler{s, ctx}.OnStasisStart(ctx, ivr.ChannelInfo{ID: "cb-1-1"}, []string{"callback", id})
	if !sw.Has("play cb-1-1 sound:hotline/callback_intro") {
		t.Fatalf("callback leg not served: %v", sw.Actions())
	}
}

// On the stop signal a call in progress is left to finish while a new call
// is refused; Serve returns once the call ends, within the grace.
func TestGracefulDrain(t *testing.T) {
	s, sw := newService(t)
	s.cfg.ShutdownGrace = 5 * time.Second
	sw.ManualPlayback = true // the caller in progress sits in the welcome prompt
	sw.OnPlay = func(s *ivrtest.Switch, ch, pb string, media []string) {
		if ch == "new" { // the refused caller's apology plays to its end
			go s.Emit(ivr.Event{Kind: ivr.EvPlaybackFinished, ChannelID: ch, PlaybackID: pb})
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	var h handler
	go func() { served <- s.Serve(ctx, ln) }()
	// The fake edge gives no handler out, so build the one Serve uses.
	time.Sleep(100 * time.Millisecond)
	h = handler{s, context.Background()}
	go h.OnStasisStart(ctx, ivr.ChannelInfo{ID: "in-progress", CallerNum: "13800138000"}, nil)
	waitUntil(t, "call answered", func() bool { return sw.Has("answer in-progress") })
	stop()
	waitUntil(t, "draining", func() bool { return s.draining.Load() })
	h.OnStasisStart(ctx, ivr.ChannelInfo{ID: "new", CallerNum: "13900139000"}, nil)
	if !sw.Has("play new sound:hotline/error_try_later") || !sw.IsHungUp("new") {
		t.Fatalf("new call during drain: %v", sw.Actions())
	}
	if sw.IsHungUp("in-progress") {
		t.Fatal("the call in progress was cut off by the drain")
	}
	sw.HangUp("in-progress") // the caller finishes
	select {
	case <-served:
	case <-time.After(4 * time.Second):
		t.Fatal("Serve did not return after the last call ended")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A dead replica's caller who was waiting for an agent is called back
// keeping their place (virtual hold, their original join time), and the
// ticket says so; a caller still in the menu gets a plain cut-off callback.
func TestOrphanKeepsQueuePlace(t *testing.T) {
	s, sw := newService(t)
	ctx := context.Background()
	tk, err := s.tickets.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000", CallID: "waiting"})
	if err != nil {
		t.Fatal(err)
	}
	joined := time.Now().Add(-3 * time.Minute).Truncate(time.Millisecond)
	s.rdb.HSet(ctx, s.calls.key("waiting"), "owner", "gone", "phone", "13800138000", "ticket", tk.ID)
	s.rdb.HSet(ctx, s.calls.key("in-menu"), "owner", "gone", "phone", "13900139000")
	// What the dispatcher writes when a caller joins a queue (agents.enqueue).
	s.rdb.HSet(ctx, s.cfg.RedisPrefix+"queue:place:waiting", "queue", "general", "joined", joined.UnixMilli())
	old := time.Now().Add(-time.Minute)
	sw.SetChannels(
		ivr.ChannelInfo{ID: "waiting", State: "Up", CallerNum: "13800138000", Created: old},
		ivr.ChannelInfo{ID: "in-menu", State: "Up", CallerNum: "13900139000", Created: old},
	)
	s.reconcile(ctx, false)
	for _, c := range []struct {
		phone, kind string
		queued      time.Time
	}{
		{"13800138000", callbacks.KindVirtualHold, joined},
		{"13900139000", callbacks.KindCutOff, time.Time{}},
	} {
		cbs, err := s.callbacks.ListByPhone(ctx, c.phone, 5)
		if err != nil || len(cbs) != 1 {
			t.Fatalf("callbacks for %s: %+v %v", c.phone, cbs, err)
		}
		if cbs[0].Kind != c.kind || !cbs[0].QueuedAt.Equal(c.queued) {
			t.Errorf("%s: kind %s queued_at %v, want %s %v", c.phone, cbs[0].Kind, cbs[0].QueuedAt, c.kind, c.queued)
		}
	}
	got, _ := s.tickets.Get(ctx, tk.ID)
	last := got.Audit[len(got.Audit)-1]
	if !strings.Contains(last.Note, "general queue") || !strings.Contains(last.Note, "virtual_hold callback") {
		t.Errorf("ticket note %+v", last)
	}
}

// A dead replica's calls are in its own ARI application, which ours does
// not list: they are found through the replica's call index in Redis, and
// followed up once even with several live replicas sweeping.
func TestSweepDeadReplicaCalls(t *testing.T) {
	s, sw := newService(t)
	ctx := context.Background()
	p := s.cfg.RedisPrefix
	for _, c := range []struct{ id, owner, phone string }{
		{"b-1", "b", "13800138000"}, {"b-2", "b", "13900139000"}, {"c-1", "c", "13700137000"},
	} {
		s.rdb.HSet(ctx, s.calls.key(c.id), "owner", c.owner, "phone", c.phone)
		s.rdb.SAdd(ctx, s.calls.ownedKey(c.owner), c.id)
		s.rdb.SAdd(ctx, s.calls.replicasKey(), c.owner)
	}
	s.rdb.SAdd(ctx, s.calls.ownedKey("b"), "b-expired") // record gone: hung up, nobody to call
	s.rdb.Set(ctx, p+"replica:c", "1", time.Minute)     // c is alive, b is dead
	s.rdb.HSet(ctx, p+"queue:place:b-1", "queue", "general", "joined", time.Now().Add(-time.Minute).UnixMilli())
	sw.SetChannels() // nothing in our own application
	s.reconcile(ctx, false)
	for id, want := range map[string]bool{"b-1": true, "b-2": true, "b-expired": true, "c-1": false} {
		if sw.IsHungUp(id) != want {
			t.Errorf("%s hung up = %v, want %v", id, !want, want)
		}
	}
	for phone, kind := range map[string]string{"13800138000": callbacks.KindVirtualHold, "13900139000": callbacks.KindCutOff} {
		if cbs, _ := s.callbacks.ListByPhone(ctx, phone, 5); len(cbs) != 1 || cbs[0].Kind != kind {
			t.Errorf("callbacks of %s: %+v, want one %s", phone, cbs, kind)
		}
	}
	if cbs, _ := s.callbacks.ListByPhone(ctx, "13700137000", 5); len(cbs) != 0 {
		t.Errorf("live replica's caller called back: %+v", cbs)
	}
	if n, _ := s.rdb.SCard(ctx, s.calls.ownedKey("b")).Result(); n != 0 {
		t.Errorf("dead replica's index still holds %d calls", n)
	}
	// A second sweep (another replica, or the next round) does nothing more.
	sw.SetChannels()
	s.reconcile(ctx, false)
	if cbs, _ := s.callbacks.ListByPhone(ctx, "13900139000", 5); len(cbs) != 1 {
		t.Errorf("second sweep: %+v", cbs)
	}
	if ok, _ := s.rdb.SIsMember(ctx, s.calls.replicasKey(), "b").Result(); ok {
		t.Error("a dead replica with no calls left is still listed")
	}
}

// SIGHUP re-reads the tokens file: a revoked token is refused at once, a
// new one accepted; a broken file is refused and the tokens in force stay.
func TestReloadTokens(t *testing.T) {
	s, _ := newService(t)
	const old, fresh = "0ld-supervisor-token-0123456789abcdef", "fr3sh-supervisor-token-0123456789abcdef"
	file := t.TempDir() + "/tokens"
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(config.TokenLine(old, config.RoleSupervisor, "", "day-lead") + "\n")
	s.cfg.TokensFile = file
	if err := s.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	status := func(tok string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/outages", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := status(old), status(fresh); a != 200 || b != 401 {
		t.Fatalf("before: old %d, fresh %d", a, b)
	}
	write(config.TokenLine(fresh, config.RoleSupervisor, "", "night-lead") + "\n")
	if err := s.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	if a, b := status(old), status(fresh); a != 401 || b != 200 {
		t.Fatalf("after reload: old %d, fresh %d", a, b)
	}
	write("sha256:not-a-hash role=admin\n")
	if err := s.ReloadTokens(); err == nil {
		t.Fatal("a broken tokens file was accepted")
	}
	if b := status(fresh); b != 200 {
		t.Fatalf("after a refused reload the tokens in force must stay: %d", b)
	}
	if code := status(s.cfg.APIToken); code != 200 {
		t.Fatalf("HOTLINE_API_TOKEN after reloads: %d", code)
	}
}
