// Package service is the controller's shell: it wires configuration, Redis,
// the ARI edge, the stores, the call flow, the callback worker and the HTTP
// API together, and owns their lifetimes.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hotline95598/hotline/accounts"
	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/ariedge"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/callflow"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/httpapi"
	"github.com/hotline95598/hotline/internal/logx"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/notices"
	"github.com/hotline95598/hotline/outages"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/prompts"
	"github.com/hotline95598/hotline/tickets"
	"github.com/hotline95598/hotline/wallboard"
	"github.com/hotline95598/hotline/workorders"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Queues the hotline runs, one per skill.
var Queues = policy.QueueNames

// refreshEvery is the period of the housekeeping loop: leases, gauges,
// ownership records and the orphan sweep.
const refreshEvery = 5 * time.Second

// Switch is what the service needs from the ARI edge.
type Switch interface {
	ivr.Switch
	Run(ctx context.Context, h ariedge.Handler) error
	Health() (bool, string)
}

// Service is one controller replica.
type Service struct {
	cfg     config.Config
	log     zerolog.Logger
	m       *metrics.Metrics
	gather  prometheus.Gatherer
	rdb     *redis.Client
	sw      Switch
	replica string

	agents    *agents.Registry
	disp      *agents.Dispatcher
	feed      *agents.Feed    // agent event streams (screen pops, states)
	monitor   *agents.Monitor // supervisor listen/whisper/barge
	tickets   *tickets.Store
	accounts  *accounts.Store
	callbacks *callbacks.Store
	outages   *outages.Store
	notices   *notices.Store
	orders    *workorders.Service
	flow      *callflow.Flow
	worker    *callbacks.Worker
	calls     *calls
	wg        sync.WaitGroup // call goroutines
	draining  atomic.Bool    // set on the stop signal: no new calls
	keys      *httpapi.Keys  // API tokens; the tokens file is re-read on SIGHUP
}

// New builds a replica. sw may be nil, in which case the real ARI edge is
// built from the configuration. A policy file that does not load stops it.
func New(cfg config.Config, log zerolog.Logger, reg *prometheus.Registry, sw Switch) (*Service, error) {
	pol := policy.Default()
	if cfg.PolicyFile != "" {
		var err error
		if pol, err = policy.Load(cfg.PolicyFile); err != nil {
			return nil, fmt.Errorf("HOTLINE_POLICY_FILE: %w", err)
		}
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	if sw == nil {
		sw = ariedge.New(ariedge.Config{URL: cfg.ARIURL, User: cfg.ARIUser, Password: cfg.ARIPassword, App: cfg.ARIApp,
			RequestTimeout: cfg.ARIRequestTimeout}, log, ariedge.NewMetrics(reg))
	}
	rdb, err := cfg.RedisClient(redis.Options{DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 2})
	if err != nil {
		return nil, err
	}
	rdb.AddHook(redisTimer{m})
	replica := cfg.ReplicaID
	s := &Service{cfg: cfg, log: log, m: m, gather: reg, rdb: rdb, sw: sw, replica: replica,
		keys: httpapi.NewKeys(cfg.APIToken, cfg.APITokens)}
	p := cfg.RedisPrefix
	s.agents = agents.NewRegistry(rdb, p, nil)
	s.agents.SetWrapUp(cfg.WrapUp)
	s.disp = agents.NewDispatcher(s.agents, sw, agents.Config{RingTimeout: cfg.AgentRingTimeout, Poll: cfg.QueuePoll,
		MOHClass: cfg.MOHClass, Tech: cfg.AgentTech, Queues: pol.Queues(), OfferTimeout: cfg.MenuTimeout},
		m, log.With().Str("component", "queue").Logger())
	s.feed = agents.NewFeed(s.agents, log.With().Str("component", "agent_events").Logger())
	s.monitor = agents.NewMonitor(s.agents, sw, agents.MonitorConfig{Tech: cfg.AgentTech, RingTimeout: cfg.AgentRingTimeout},
		log.With().Str("component", "monitor").Logger())
	s.tickets = tickets.New(rdb, p, nil)
	s.tickets.SetTaxonomy(pol)
	s.tickets.SetReplicaAck(cfg.ReplicaAck())
	s.accounts = accounts.New(rdb, p)
	s.callbacks = callbacks.NewStore(rdb, p, pol.Callbacks(), nil)
	s.callbacks.SetReplicaAck(cfg.ReplicaAck())
	s.outages = outages.New(rdb, p, nil)
	s.notices = notices.New(rdb, p, nil)
	s.orders = workorders.New(s.tickets, pol, s.callbacks, s.outages, rdb, p, replica,
		workorders.Config{WatchEvery: cfg.EscalationPoll}, m,
		log.With().Str("component", "workorders").Logger(), nil)
	s.calls = newCalls(rdb, p, replica, log)
	fcfg := callflow.Config{MenuTimeout: cfg.MenuTimeout, InterDigit: cfg.InterDigitTimeout,
		MaxFailures: cfg.MenuMaxFailures, AccountMaxDigits: cfg.AccountMaxDigits, SeniorAge: pol.Queues()["senior"].MinAge,
		ElderlyVolume: cfg.ElderlyVolume, MenuMetrics: menus.NewMetrics(reg)}
	fcfg.Menus = menus.NewHolder(callflow.BuiltinMenu(fcfg), fcfg.MenuMetrics)
	if cfg.IVRFile != "" {
		if _, err := fcfg.Menus.Reload(cfg.IVRFile); err != nil {
			return nil, fmt.Errorf("HOTLINE_IVR_FILE: %w", err)
		}
	}
	s.flow = callflow.New(fcfg,
		s.orders, s.accounts, s.disp, s.callbacks, s.calls, m, log.With().Str("component", "callflow").Logger())
	s.flow.SetNotices(s.notices)
	s.worker = callbacks.NewWorker(s.callbacks, sw, callbacks.Dial{Carrier: cfg.CarrierEndpoint, CallerID: cfg.CallbackCallerID,
		RingTimeout: cfg.CallbackRingTimeout}, m, log.With().Str("component", "callbacks").Logger(), s.serveCallback)
	s.worker.OnGiveUp = s.callbackGaveUp
	s.worker.AgentFirst = &callbacks.AgentFirst{Agents: s.agents, Tech: cfg.AgentTech,
		RingTimeout: cfg.AgentRingTimeout, Retry: 15 * time.Second}
	log.Info().Str("policy", pol.Version()).Msg("work-order policy loaded")
	log.Info().Str("menu", fcfg.Menus.Load().Version).Str("file", cfg.IVRFile).Msg("IVR menu loaded")
	return s, nil
}

// callbackGaveUp notes on the work order a follow-up call nobody answered.
func (s *Service) callbackGaveUp(ctx context.Context, cb callbacks.Callback) {
	if cb.Kind == callbacks.KindFollowUp && cb.TicketID != "" {
		if err := s.orders.FollowUpUnreached(ctx, cb.TicketID); err != nil {
			s.log.Warn().Err(err).Str("ticket_id", cb.TicketID).Msg("note unanswered follow-up")
		}
	}
}

// Handler returns the HTTP API.
func (s *Service) Handler() http.Handler {
	return httpapi.New(httpapi.Deps{
		Keys:      s.keys,
		RateLimit: httpapi.RateLimit{PerSecond: s.cfg.APIRate, Burst: s.cfg.APIBurst},
		Health:    s.health,
		Metrics:   promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}),
		Tickets:   s.tickets,
		Orders:    s.orders,
		Agents:    s.agents,
		Callbacks: s.callbacks,
		Events:    s.feed,
		Monitor:   s.monitor,
		IVR:       s.flow.Menus(),
		Notices:   s.notices,
		Wallboard: wallboard.Handler(wallboardSource{s}, 250*time.Millisecond, s.log.With().Str("component", "wallboard").Logger()),
		Log:       s.log.With().Str("component", "http").Logger(),
	})
}

func (s *Service) health(ctx context.Context) map[string]httpapi.Part {
	ariOK, detail := s.sw.Health()
	parts := map[string]httpapi.Part{"ari": {OK: ariOK, Detail: detail}}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		parts["redis"] = httpapi.Part{OK: false, Detail: err.Error()}
	} else {
		parts["redis"] = httpapi.Part{OK: true, Detail: "connected to " + s.cfg.RedisTarget()}
	}
	return parts
}

// Run serves until ctx ends, then hangs up the calls it owns and returns.
func (s *Service) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTPAddr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller made.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	defer s.rdb.Close()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	if s.cfg.PprofAddr != "" {
		if err := startPprof(ctx, s.cfg.PprofAddr, s.log); err != nil {
			_ = ln.Close()
			return err
		}
	}
	// Calls, the ARI connection they need, wrap-ups and the ownership
	// records outlive ctx while the replica drains; callsCtx ends them.
	callsCtx, stopCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCalls()
	// Redis may still be starting: agents are registered by the housekeeping
	// loop as soon as it answers, and the health check says so meanwhile.
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	s.log.Info().Str("http", ln.Addr().String()).Str("replica", s.replica).Msg("hotline controller started")

	var bg sync.WaitGroup
	bg.Add(5)
	go func() { defer bg.Done(); s.endWrapUps(callsCtx) }()
	go func() { defer bg.Done(); _ = s.sw.Run(callsCtx, handler{s, callsCtx}) }()
	go func() { defer bg.Done(); s.housekeeping(callsCtx) }()
	// New work (callbacks to place, tickets to escalate) stops with ctx.
	go func() { defer bg.Done(); s.worker.Run(ctx) }()
	go func() { defer bg.Done(); s.orders.Watch(ctx) }()
	// SIGHUP re-reads HOTLINE_IVR_FILE; calls in progress keep their menu.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go s.flow.Menus().ReloadOn(ctx, hup, s.log.With().Str("component", "menus").Logger())
	// It also re-reads HOTLINE_TOKENS_FILE: a token is revoked or added
	// without a restart (each channel gets its own copy of the signal).
	hupTokens := make(chan os.Signal, 1)
	signal.Notify(hupTokens, syscall.SIGHUP)
	defer signal.Stop(hupTokens)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hupTokens:
				_ = s.ReloadTokens()
			}
		}
	}()

	var srvErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		srvErr = err
	}
	stop()
	s.drain()
	stopCalls() // whatever is left is hung up now
	s.wg.Wait()
	bg.Wait()
	shut, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	_ = srv.Shutdown(shut)
	return srvErr
}

// ReloadTokens re-reads HOTLINE_TOKENS_FILE and swaps it in whole. A file
// that does not parse is refused and the tokens in force stay, as with a
// broken menu file.
func (s *Service) ReloadTokens() error {
	if s.cfg.TokensFile == "" {
		return nil
	}
	log := s.log.With().Str("component", "tokens").Str("file", s.cfg.TokensFile).Logger()
	toks, err := config.LoadTokens(s.cfg.TokensFile, s.cfg.AgentIDs)
	if err != nil {
		log.Error().Err(err).Msg("tokens file reload refused; the tokens in force stay")
		return fmt.Errorf("HOTLINE_TOKENS_FILE: %w", err)
	}
	s.keys.Replace(toks)
	log.Info().Int("tokens", len(toks)).Msg("tokens file reloaded")
	return nil
}

// drain lets the calls in progress finish, for up to the shutdown grace,
// while new calls are refused (a rolling upgrade: stop one replica, the
// others take the new calls).
func (s *Service) drain() {
	s.draining.Store(true)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	s.log.Info().Dur("grace", s.cfg.ShutdownGrace).Msg("draining: refusing new calls, letting calls in progress finish")
	select {
	case <-done:
		s.log.Info().Msg("drained: no calls left")
	case <-time.After(s.cfg.ShutdownGrace):
		s.log.Warn().Msg("shutdown grace over: hanging up the calls left")
	}
}

func (s *Service) housekeeping(ctx context.Context) {
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	registered := false
	for {
		if !registered {
			if err := s.agents.Ensure(ctx, s.cfg.AgentIDs); err == nil {
				registered = true
			} else if ctx.Err() == nil {
				s.log.Warn().Err(err).Msg("register agents; will retry")
			}
		}
		if err := s.calls.refresh(ctx); err != nil && ctx.Err() == nil {
			s.m.RedisErrors.WithLabelValues("calls_refresh").Inc()
		}
		if _, err := s.agents.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.m.RedisErrors.WithLabelValues("agents_sweep").Inc()
		}
		s.updateGauges(ctx)
		if ok, _ := s.sw.Health(); ok {
			s.reconcile(ctx, false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) updateGauges(ctx context.Context) {
	if as, err := s.agents.List(ctx); err == nil {
		counts := map[agents.State]int{}
		paused := map[string]int{}
		for _, a := range as {
			counts[a.State]++
			if a.State == agents.Paused {
				paused[a.Reason]++
			}
		}
		for _, st := range agents.States {
			s.m.AgentsByState.WithLabelValues(string(st)).Set(float64(counts[st]))
		}
		// Reasons are bounded: the system's own plus what supervisors
		// allow; a reason no agent has any more reads zero.
		s.m.AgentsPaused.Reset()
		for reason, n := range paused {
			s.m.AgentsPaused.WithLabelValues(reason).Set(float64(n))
		}
	}
	for _, q := range Queues {
		if w, err := s.disp.Waiting(ctx, q); err == nil {
			s.m.QueueWaiting.WithLabelValues(q).Set(float64(w[q]))
		}
		if d, err := s.disp.LongestWait(ctx, q); err == nil {
			s.m.QueueLongestWait.WithLabelValues(q).Set(d.Seconds())
		}
	}
}

// handler receives the ARI edge's calls. Calls run under callsCtx, which
// outlives the stop signal while the replica drains.
type handler struct {
	s        *Service
	callsCtx context.Context
}

func (h handler) OnConnect(ctx context.Context) { h.s.reconcile(ctx, true) }

func (h handler) OnStasisStart(_ context.Context, ch ivr.ChannelInfo, args []string) {
	s, ctx := h.s, h.callsCtx
	kind := ""
	if len(args) > 0 {
		kind = args[0]
	}
	switch kind {
	case "":
		if s.draining.Load() {
			// Stopping: a new caller is told to call again rather than
			// being taken into a menu this replica will not finish.
			sess := ivr.NewSession(s.sw, ch.ID, s.log)
			defer sess.Close(ctx)
			if sess.Answer(ctx) == nil {
				_ = sess.Say(ctx, prompts.Media("error_try_later"))
			}
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		cctx, done := s.calls.start(ctx, ch.ID, ch.CallerNum)
		defer done()
		s.flow.Inbound(cctx, ivr.NewSession(s.sw, ch.ID, s.log.With().Str("call_id", ch.ID).Logger()), ch)
	case "feature":
		// A feature code dialled on an agent's softphone (*21 … *24).
		agent := callflow.AgentFromChannel(ch.Name)
		feature := ""
		if len(args) > 1 {
			feature = args[1]
		}
		if _, err := s.agents.Get(ctx, agent); err != nil {
			s.hangup(ctx, ch.ID, "feature code from a phone that is no agent")
			return
		}
		callflow.AgentFeature(ctx, ivr.NewSession(s.sw, ch.ID, s.log), agent, feature, s.agents, s.log)
	case "callback":
		// The customer answered a callback whose dialling replica is gone
		// (its worker would have been subscribed): serve them anyway.
		if len(args) > 1 {
			if cb, err := s.callbacks.Get(ctx, args[1]); err == nil {
				s.serveCallback(ctx, ivr.NewSession(s.sw, ch.ID, s.log), cb)
				return
			}
		}
		s.hangup(ctx, ch.ID, "callback leg with no callback")
	case "monitor":
		// A supervisor leg or snoop channel whose monitor is gone (its
		// replica stopped while the supervisor's phone rang): a live
		// monitor subscribes to its channels before creating them.
		s.hangup(ctx, ch.ID, "monitor leg with no monitor")
	default:
		// An agent leg answered after its caller stopped waiting.
		s.hangup(ctx, ch.ID, "leg of a call that is no longer waiting")
	}
}

func (s *Service) serveCallback(ctx context.Context, sess *ivr.Session, cb callbacks.Callback) {
	s.wg.Add(1)
	defer s.wg.Done()
	cctx, done := s.calls.start(ctx, sess.ID(), cb.Phone)
	defer done()
	if cb.Kind == callbacks.KindFollowUp {
		s.flow.FollowUp(cctx, sess, cb)
		return
	}
	s.flow.Callback(cctx, sess, cb)
}

func (s *Service) hangup(ctx context.Context, id, why string) {
	s.log.Info().Str("call_id", id).Str("why", why).Msg("hanging up stray channel")
	if err := s.sw.Channel(id).Hangup(ctx); err != nil {
		s.log.Warn().Err(err).Str("call_id", id).Msg("hang up stray channel")
	}
}

// orphanGrace: a channel younger than this may still be on its way to its
// owner (StasisStart not yet handled), so it is never taken for an orphan.
const orphanGrace = 10 * time.Second

// reconcile compares Asterisk's channels in our app with the calls we own.
// After a reconnect (afterConnect), local calls whose channel vanished while
// the event stream was down are ended. Channels that no live replica owns
// (this replica before a restart, or a dead one) are orphans: we cannot
// know where in the menu they were, so we hang up, note it on their ticket
// and call them back. That is the policy README.md documents.
func (s *Service) reconcile(ctx context.Context, afterConnect bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	chs, err := s.sw.ListChannels(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("list channels for reconciliation")
		return
	}
	present := map[string]bool{}
	for _, ch := range chs {
		present[ch.ID] = true
	}
	if afterConnect {
		if n := s.calls.cancelMissing(present); n > 0 {
			s.log.Warn().Int("calls", n).Msg("calls hung up while ARI was disconnected")
		}
	}
	for _, ch := range chs {
		// Only an answered channel can be orphaned: an outbound leg still
		// ringing (an agent or a callback) ends by its own ring timeout, and
		// if it is answered after its dialler died, StasisStart hands it to
		// a live replica.
		if ch.State != "Up" || s.calls.wasLocal(ch.ID) || (!ch.Created.IsZero() && time.Since(ch.Created) < orphanGrace) {
			continue
		}
		rec, found, err := s.calls.lookup(ctx, ownerCall(ch.ID))
		if err != nil {
			return // Redis trouble: decide nothing
		}
		if found && rec.Owner != s.replica {
			if alive, err := s.calls.replicaAlive(ctx, rec.Owner); err != nil || alive {
				continue // another live replica's call
			}
		}
		s.orphan(ctx, ch, rec)
	}
	s.sweepDeadReplicas(ctx)
}

// sweepDeadReplicas follows up the calls of replicas that died: their
// channels are in the dead replica's own ARI application, which ARI does
// not list to us, so they are found through Redis. Same policy as for our
// own orphans: hung up, noted on the ticket, called back.
func (s *Service) sweepDeadReplicas(ctx context.Context) {
	dead, err := s.calls.claimDead(ctx)
	if err != nil {
		s.m.RedisErrors.WithLabelValues("calls_sweep").Inc()
		s.log.Warn().Err(err).Msg("sweep calls of dead replicas")
	}
	for _, d := range dead {
		if !d.Found {
			// The record expired (the owner died over a minute ago): no
			// phone to call back, but the channel must not stay up.
			s.hangup(ctx, d.ID, "orphaned: call of a replica dead for over a minute")
			continue
		}
		s.log.Warn().Str("call_id", d.ID).Str("owner", d.Rec.Owner).Msg("call of a dead replica")
		s.orphan(ctx, ivr.ChannelInfo{ID: d.ID, State: "Up", CallerNum: d.Rec.Phone}, d.Rec)
	}
}

func (s *Service) orphan(ctx context.Context, ch ivr.ChannelInfo, rec record) {
	log := s.log.With().Str("call_id", ch.ID).Str("ticket_id", rec.Ticket).Logger()
	s.hangup(ctx, ch.ID, "orphaned: no live owner")
	if ownerCall(ch.ID) != ch.ID {
		return // an agent leg: its caller is handled on its own
	}
	s.m.CallsEnded.WithLabelValues(metrics.EndOrphaned).Inc()
	phone := rec.Phone
	if phone == "" && !strings.HasPrefix(ch.ID, "cb-") {
		// An inbound call: the caller's number. (On our own callback legs
		// the caller ID is 95598, never the customer.)
		phone = ch.CallerNum
	}
	note := "call cut off by a controller restart; hung up by recovery"
	req := callbacks.Request{Phone: phone, Kind: callbacks.KindCutOff,
		Reason: "call cut off by a controller restart", CallID: ch.ID, TicketID: rec.Ticket}
	// A caller who was waiting for an agent is called back keeping the place
	// they had in the queue, not sent to the back of it by our failure.
	place, waited, err := s.disp.PlaceOf(ctx, ch.ID)
	if err != nil {
		log.Warn().Err(err).Msg("place of orphaned call; calling back without it")
	} else if waited {
		defer s.disp.Drop(ctx, place.Queue, ch.ID)
		req.Kind, req.QueuedAt = callbacks.KindVirtualHold, place.Joined
		req.Reason = "cut off by a controller restart while waiting in the " + place.Queue + " queue; kept place"
		note = "call cut off by a controller restart while waiting in the " + place.Queue +
			" queue (joined " + place.Joined.Format(time.RFC3339) + "); hung up by recovery"
	}
	if phone != "" && phone != "anonymous" {
		req.Phone = phone
		if id, created, err := s.callbacks.Schedule(ctx, req); err == nil {
			if created {
				s.m.CallbacksSched.Inc()
			}
			note += "; " + req.Kind + " callback " + id + " scheduled"
		} else {
			log.Error().Err(err).Msg("schedule callback for orphaned call")
		}
	}
	if rec.Ticket != "" {
		if err := s.tickets.AddNote(ctx, rec.Ticket, "system", note); err != nil {
			log.Error().Err(err).Msg("note orphaned call on ticket")
		}
	}
	_ = s.rdb.Del(ctx, s.calls.key(ch.ID)).Err()
	if rec.Owner != "" {
		_ = s.rdb.SRem(ctx, s.calls.ownedKey(rec.Owner), ch.ID).Err()
	}
	log.Warn().Str("phone", logx.MaskPhone(phone)).Msg(note)
}

// Backoffice builds the work-order service alone, for the command line:
// the same stores and policy as the controller, without calls.
func Backoffice(cfg config.Config, log zerolog.Logger) (*workorders.Service, func(), error) {
	pol := policy.Default()
	if cfg.PolicyFile != "" {
		var err error
		if pol, err = policy.Load(cfg.PolicyFile); err != nil {
			return nil, nil, fmt.Errorf("HOTLINE_POLICY_FILE: %w", err)
		}
	}
	ropt, err := cfg.RedisOptions(redis.Options{DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	rdb := redis.NewClient(ropt)
	p := cfg.RedisPrefix
	ts := tickets.New(rdb, p, nil)
	ts.SetTaxonomy(pol)
	cb := callbacks.NewStore(rdb, p, pol.Callbacks(), nil)
	wo := workorders.New(ts, pol, cb, outages.New(rdb, p, nil), rdb, p, cfg.ReplicaID,
		workorders.Config{WatchEvery: cfg.EscalationPoll},
		metrics.Discard(), log, nil)
	return wo, func() { _ = rdb.Close() }, nil
}

// redisTimer times every Redis command and pipeline for the metrics.
type redisTimer struct{ m *metrics.Metrics }

func (redisTimer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisTimer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		name := cmd.Name()
		if name == "evalsha" || name == "eval" {
			name = "script" // one label for every Lua script
		}
		h.m.RedisSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
		return err
	}
}

func (h redisTimer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.m.RedisSeconds.WithLabelValues("pipeline").Observe(time.Since(start).Seconds())
		return err
	}
}

// endWrapUps makes agents available when their after-call work is over. It
// runs every second, not with the slower housekeeping, so an agent's
// wrap-up lasts what the configuration says, not up to 5 s more.
func (s *Service) endWrapUps(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.agents.EndWrapUps(ctx); err != nil && ctx.Err() == nil {
				s.m.RedisErrors.WithLabelValues("agents_sweep").Inc()
			}
		}
	}
}
