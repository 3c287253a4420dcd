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
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/recovery"
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

// The wiring end to end: a call this replica owned before a restart is an
// orphan, which the call flow's cut-off rule calls back and notes on its
// work order; a dead replica's waiting caller keeps their place.
func TestOrphansAreCalledBack(t *testing.T) {
	s, sw := newService(t)
	ctx := context.Background()
	tk, err := s.tickets.Create(ctx, tickets.Ticket{Type: tickets.TypeFault, Phone: "13800138000", CallID: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	// This replica before its restart, and a replica that died.
	before := recovery.New(s.rdb, s.cfg.RedisPrefix, s.cfg.ReplicaID, sw, s.line, metrics.Discard(), zerolog.Nop())
	before.Calls().Start(ctx, "mine", "13800138000")
	before.Calls().Attach(ctx, "mine", tk.ID)
	dead := recovery.New(s.rdb, s.cfg.RedisPrefix, "r3", sw, s.line, metrics.Discard(), zerolog.Nop())
	dead.Calls().Start(ctx, "waiting", "13700137000")
	joined := time.Now().Add(-3 * time.Minute).Truncate(time.Millisecond)
	if err := s.line.Join(ctx, queue.Caller{CallID: "waiting", Queue: "general", Joined: joined}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	sw.SetChannels(ivr.ChannelInfo{ID: "mine", State: "Up", CallerNum: "13800138000", Created: old})
	s.recovery.Reconcile(ctx, true)
	if !sw.IsHungUp("mine") || !sw.IsHungUp("waiting") {
		t.Fatalf("orphans left up: %v", sw.Actions())
	}
	for _, c := range []struct {
		phone, kind string
		queued      time.Time
	}{
		{"13800138000", callbacks.KindCutOff, time.Time{}},
		{"13700137000", callbacks.KindVirtualHold, joined},
	} {
		cbs, err := s.callbacks.ListByPhone(ctx, c.phone, 5)
		if err != nil || len(cbs) != 1 || cbs[0].Kind != c.kind || !cbs[0].QueuedAt.Equal(c.queued) {
			t.Fatalf("callbacks for %s: %+v %v, want one %s queued at %v", c.phone, cbs, err, c.kind, c.queued)
		}
	}
	got, _ := s.tickets.Get(ctx, tk.ID)
	last := got.Audit[len(got.Audit)-1]
	if !strings.Contains(last.Note, "controller restart") || !strings.Contains(last.Note, "cut_off callback") {
		t.Errorf("ticket note %+v", last)
	}
}

// A StasisStart for an agent leg nobody waits for is hung up; a callback leg
// whose dialler is gone is served.
func TestStrayLegs(t *testing.T) {
	s, sw := newService(t)
	ctx := context.Background()
	s.router.OnStasisStart(ctx, ivr.ChannelInfo{ID: "x-agent-1"}, []string{"agent", "x", "1001"})
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
	s.router.OnStasisStart(ctx, ivr.ChannelInfo{ID: "cb-1-1"}, []string{"callback", id})
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
	go func() { served <- s.Serve(ctx, ln) }()
	// The fake edge gives no handler out: calls go to the router as the
	// edge handler Serve builds would send them.
	go s.router.OnStasisStart(context.Background(), ivr.ChannelInfo{ID: "in-progress", CallerNum: "13800138000"}, nil)
	waitUntil(t, "call answered", func() bool { return sw.Has("answer in-progress") })
	stop()
	waitUntil(t, "draining", func() bool { return s.router.Draining() })
	s.router.OnStasisStart(ctx, ivr.ChannelInfo{ID: "new", CallerNum: "13900139000"}, nil)
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
