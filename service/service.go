// Package service is the controller's shell: it wires configuration, Redis,
// the ARI edge, the stores, the call flow, the callback worker and the HTTP
// API together, and runs them. It holds no rules of its own: each is in its
// domain package, written once.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/ariedge"
	"github.com/hotline95598/hotline/callbacks"
	"github.com/hotline95598/hotline/callflow"
	"github.com/hotline95598/hotline/cdr"
	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/desk"
	"github.com/hotline95598/hotline/hold"
	"github.com/hotline95598/hotline/httpapi"
	"github.com/hotline95598/hotline/ivr"
	"github.com/hotline95598/hotline/kamailio"
	"github.com/hotline95598/hotline/menus"
	"github.com/hotline95598/hotline/metrics"
	"github.com/hotline95598/hotline/policy"
	"github.com/hotline95598/hotline/queue"
	"github.com/hotline95598/hotline/recovery"
	"github.com/hotline95598/hotline/supervise"
	"github.com/hotline95598/hotline/transfer"
	"github.com/hotline95598/hotline/wallboard"
)

// Switch is what the service needs from the ARI edge.
type Switch interface {
	ivr.Switch
	Run(ctx context.Context, h ariedge.Handler) error
	Health() (bool, string)
}

// Service is one controller replica.
type Service struct {
	*stores
	cfg    config.Config
	log    zerolog.Logger
	m      *metrics.Metrics
	gather prometheus.Gatherer
	sw     Switch

	agents   *agents.Registry
	line     *queue.Queue
	feed     *agents.Feed       // agent event streams (screen pops, states)
	monitor  *supervise.Monitor // supervisor listen/whisper/barge
	recovery *recovery.Recovery
	flow     *callflow.Flow
	router   *callflow.Router
	worker   *callbacks.Worker
	keys     *httpapi.Keys  // API tokens; the tokens file is re-read on SIGHUP
	fold     *cdr.Fold      // agents' events folded into statistics, under a lease
	work     *desk.Work     // whom an agent serves and which work orders it may reach
	hub      *transfer.Hub  // transfer requests to the replica that holds the call
	transfer *transfer.Desk // blind transfers asked for through the API
}

// New builds a replica. sw may be nil, in which case the real ARI edge is
// built from the configuration. A policy or menu file that does not load
// stops it.
func New(cfg config.Config, log zerolog.Logger, reg *prometheus.Registry, sw Switch) (*Service, error) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	m.ExportQueues(policy.QueueNames)
	st, err := openStores(cfg, m, log)
	if err != nil {
		return nil, err
	}
	if sw == nil {
		sw = ariedge.New(ariedge.Config{URL: cfg.ARIURL, User: cfg.ARIUser, Password: cfg.ARIPassword, App: cfg.ARIApp,
			RequestTimeout: cfg.ARIRequestTimeout}, log, ariedge.NewMetrics(reg))
	}
	s := &Service{stores: st, cfg: cfg, log: log, m: m, gather: reg, sw: sw, keys: httpapi.NewKeys(cfg.APIToken, cfg.APITokens)}
	p, rdb, pol := cfg.RedisPrefix, st.rdb, st.pol
	named := func(component string) zerolog.Logger { return log.With().Str("component", component).Logger() }

	// Agents and the line of callers waiting for them.
	s.agents = agents.NewRegistry(rdb, p, nil)
	s.agents.SetWrapUp(cfg.WrapUp)
	var phones agents.Phones = agents.SwitchPhones{Switch: sw, Tech: cfg.AgentTech}
	if cfg.KamailioRPC != "" {
		// Cluster: phones register at Kamailio; every node reaches them there.
		phones = kamailio.Phones{Client: kamailio.New(cfg.KamailioRPC, cfg.KamailioTimeout), Dial: cfg.AgentEndpoint}
	}
	s.line = queue.New(rdb, p, s.agents, pol.Queues(), cfg.QueuePoll, m)
	s.line.SetServiceLevel(pol.ServiceLevel())
	held := hold.New(s.line, s.agents, sw, phones, hold.Config{RingTimeout: cfg.AgentRingTimeout, Poll: cfg.QueuePoll,
		MOHClass: cfg.MOHClass, OfferTimeout: cfg.MenuTimeout}, m, named("queue"))
	held.SetRecordings(st.recs, st.records) // agent calls recorded as the policy says
	s.hub = transfer.NewHub(rdb, p, named("transfer"))
	s.transfer = transfer.NewDesk(s.hub, s.agents, st.orders, st.records, transfer.Queues(), named("transfer"))
	held.SetTransfers(s.hub, s.transfer)
	s.feed = agents.NewFeed(s.agents, named("agent_events"))
	s.fold = st.records.NewFold(s.agents.EventsKey(), cfg.ReplicaID, named("stats"))
	s.work = desk.NewWork(s.agents, st.records, rdb, p)
	s.monitor = supervise.NewMonitor(s.agents, sw, phones, supervise.MonitorConfig{RingTimeout: cfg.AgentRingTimeout}, named("monitor"))

	// The calls: recovery tracks who owns each; the flow serves them.
	s.recovery = recovery.New(rdb, p, cfg.ReplicaID, sw, s.line, m, named("recovery"))
	s.recovery.SetSwitchLostAfter(cfg.SwitchLostAfter)
	// Monitor requests for a call another replica (another node) owns go to it.
	s.monitor.UseRelay(supervise.NewRelay(rdb, p, cfg.ReplicaID, 5*time.Second, named("monitor")), s.recovery.Calls())
	fcfg := callflow.Config{MenuTimeout: cfg.MenuTimeout, InterDigit: cfg.InterDigitTimeout,
		MaxFailures: cfg.MenuMaxFailures, AccountMaxDigits: cfg.AccountMaxDigits, SeniorAge: pol.Queues()[policy.QueueSenior].MinAge,
		ElderlyVolume: cfg.ElderlyVolume, MenuMetrics: menus.NewMetrics(reg), Survey: pol.Survey()}
	fcfg.Menus = menus.NewHolder(callflow.BuiltinMenu(fcfg), callflow.MenuNames(), fcfg.MenuMetrics)
	if cfg.IVRFile != "" {
		if _, err := fcfg.Menus.Reload(cfg.IVRFile); err != nil {
			return nil, fmt.Errorf("HOTLINE_IVR_FILE: %w", err)
		}
	}
	s.flow = callflow.New(fcfg, st.orders, st.accounts, held, st.callbacks, s.recovery.Calls(), m, named("callflow"))
	s.flow.SetNotices(st.notices)
	s.flow.SetRecords(st.records, cfg.ReplicaID) // one record per call, written as it ends
	s.recovery.SetCutOffs(s.flow)
	s.router = callflow.NewRouter(s.flow, sw, s.agents, st.callbacks, log)
	if cfg.SIPEdge != "" {
		s.router.TrustEdge(config.EdgeEndpoint) // agents' feature codes come through the edge
	}

	// Callbacks: placed by the worker, served by the call flow.
	s.worker = callbacks.NewWorker(st.callbacks, sw, callbacks.Dial{Carrier: cfg.CarrierEndpoint, CallerID: cfg.CallbackCallerID,
		RingTimeout: cfg.CallbackRingTimeout}, m, named("callbacks"), s.router.ServeCallback)
	s.worker.OnGiveUp = st.orders.CallbackGaveUp
	s.worker.SwitchUp = func() bool { up, _ := s.sw.Health(); return up } // else another node's replica places them
	s.worker.AgentFirst = &callbacks.AgentFirst{Agents: s.agents, Phones: phones,
		RingTimeout: cfg.AgentRingTimeout, Retry: 15 * time.Second}
	log.Info().Str("policy", pol.Version()).Msg("work-order policy loaded")
	log.Info().Str("menu", fcfg.Menus.Load().Version).Str("file", cfg.IVRFile).Msg("IVR menu loaded")
	return s, nil
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
		Wallboard: wallboard.Handler(wallboard.WithStats(wallboardSource{s}, s.records, nil), 250*time.Millisecond,
			s.log.With().Str("component", "wallboard").Logger()),
		Log:        s.log.With().Str("component", "http").Logger(),
		Policy:     s.pol,
		Work:       s.work,
		Accounts:   s.accounts,
		Calls:      s.records,
		Recordings: s.recs,
		Desk:       desk.Handler(),
		Transfers:  s.transfer,
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
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	s.log.Info().Str("http", ln.Addr().String()).Str("replica", s.cfg.ReplicaID).Msg("hotline controller started")

	var bg sync.WaitGroup
	start := func(ctx context.Context, run func(context.Context)) {
		bg.Add(1)
		go func() { defer bg.Done(); run(ctx) }()
	}
	redisErr := func(op string) func(error) {
		return func(error) { s.m.RedisErrors.WithLabelValues(op).Inc() }
	}
	start(callsCtx, func(ctx context.Context) { s.agents.RunWrapUps(ctx, redisErr("agents_sweep")) })
	start(callsCtx, func(ctx context.Context) { _ = s.sw.Run(ctx, edgeHandler{s.router, s.recovery, ctx}) })
	start(callsCtx, s.housekeeping)
	start(callsCtx, s.hub.Run) // bridged calls hear of transfers while they live
	// New work (callbacks to place, tickets to escalate) stops with ctx.
	start(ctx, s.worker.Run)
	start(ctx, s.monitor.ServeRelay)
	start(ctx, s.orders.Watch)
	start(ctx, s.fold.Run)
	start(ctx, func(ctx context.Context) {
		s.recs.RunSweep(ctx, s.cfg.ReplicaID, time.Hour, s.log.With().Str("component", "recordings").Logger())
	})
	// SIGHUP re-reads HOTLINE_IVR_FILE (calls in progress keep their menu)
	// and HOTLINE_TOKENS_FILE (a token is revoked or added without a
	// restart); each gets its own copy of the signal.
	hup := make(chan os.Signal, 1)
	hupTokens := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(hupTokens, syscall.SIGHUP)
	defer signal.Stop(hup)
	defer signal.Stop(hupTokens)
	go s.flow.Menus().ReloadOn(ctx, hup, s.log.With().Str("component", "menus").Logger())
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
	s.router.Drain(s.cfg.ShutdownGrace)
	stopCalls() // whatever is left is hung up now
	s.router.Wait()
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

// housekeeping runs the periodic upkeep every recovery.RefreshEvery: the
// agents are registered (once Redis answers), agents held by a dead
// replica are freed, lost calls are followed up and the gauges read Redis.
func (s *Service) housekeeping(ctx context.Context) {
	t := time.NewTicker(recovery.RefreshEvery)
	defer t.Stop()
	registered := false
	for {
		if !registered {
			// Redis may still be starting: the health check says so meanwhile.
			if err := s.agents.Ensure(ctx, s.cfg.AgentIDs); err == nil {
				registered = true
			} else if ctx.Err() == nil {
				s.log.Warn().Err(err).Msg("register agents; will retry")
			}
		}
		if _, err := s.agents.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.m.RedisErrors.WithLabelValues("agents_sweep").Inc()
		}
		up, _ := s.sw.Health()
		s.recovery.Tick(ctx, up)
		s.agents.UpdateGauges(ctx, s.m)
		s.line.UpdateGauges(ctx, policy.QueueNames)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// edgeHandler receives the ARI edge's calls: new channels go to the router,
// reconnects to recovery. Calls run under callsCtx, which outlives the
// stop signal while the replica drains.
type edgeHandler struct {
	router   *callflow.Router
	recovery *recovery.Recovery
	callsCtx context.Context
}

func (h edgeHandler) OnConnect(ctx context.Context) { h.recovery.OnConnect(ctx) }

func (h edgeHandler) OnStasisStart(_ context.Context, ch ivr.ChannelInfo, args []string) {
	h.router.OnStasisStart(h.callsCtx, ch, args)
}

var _ agents.Phones = kamailio.Phones{} // the cluster's phones
