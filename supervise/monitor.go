// Package supervise lets a supervisor join an agent's call from their own
// softphone: listen (hear both sides, nobody hears them), whisper (only the
// agent hears them) or barge (a third party in the conversation).
package supervise

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline95598/hotline/agents"
	"github.com/hotline95598/hotline/internal/legs"
	"github.com/hotline95598/hotline/ivr"
	"github.com/rs/zerolog"
)

// Listen and whisper use an ARI snoop channel on the agent's leg, bridged
// with the supervisor in a bridge of the monitor's own; barge puts the
// supervisor into the call's bridge. The monitor's channels are named as
// legs of the call (package legs), so the recovery sweep never hangs them
// up as orphans while the call lives.

// MonitorMode is how a supervisor joins a call.
type MonitorMode string

const (
	Listen  MonitorMode = "listen"  // hears both sides; nobody hears them
	Whisper MonitorMode = "whisper" // hears both sides; only the agent hears them
	Barge   MonitorMode = "barge"   // a third party in the conversation
)

// Monitor errors.
var (
	ErrNotOnCall         = errors.New("agent is not on a call")
	ErrBadMonitor        = errors.New("bad monitor request")
	ErrSupervisorOffline = errors.New("supervisor softphone not registered")
)

// MonitorConfig is the monitoring policy.
type MonitorConfig struct {
	RingTimeout time.Duration // how long the supervisor's phone rings
}

// MonitorRequest asks for a supervisor to join an agent's call.
type MonitorRequest struct {
	Agent      string      `json:"agent"`
	Supervisor string      `json:"supervisor"` // the supervisor's softphone, e.g. "2003"
	Mode       MonitorMode `json:"mode"`
}

// MonitorInfo describes a monitor.
type MonitorInfo struct {
	ID         string      `json:"id"`
	Agent      string      `json:"agent"`
	Supervisor string      `json:"supervisor"`
	Mode       MonitorMode `json:"mode"`
	CallID     string      `json:"call_id"`
	// State: "ringing" until the supervisor answers, then "active".
	State string `json:"state"`
	// SupervisorChannel is the supervisor's leg.
	SupervisorChannel string `json:"supervisor_channel"`
}

// Monitor runs supervisor monitors on this replica.
type Monitor struct {
	reg    *agents.Registry
	sw     ivr.Switch
	phones agents.Phones // supervisors' softphones are reached like agents'
	cfg    MonitorConfig
	log    zerolog.Logger
	seq    atomic.Int64

	mu     sync.Mutex
	active map[string]*monitor // agent "/" supervisor -> monitor

	// Set by UseRelay: requests for calls another replica owns go there.
	relay   *Relay
	owners  Owners
	replica string
}

// UseRelay sends requests for calls that another replica owns (as owners
// tells) through relay; ServeRelay serves the ones relayed to this replica.
func (m *Monitor) UseRelay(relay *Relay, owners Owners) {
	m.mu.Lock()
	m.relay, m.owners, m.replica = relay, owners, relay.replica
	m.mu.Unlock()
}

// ServeRelay serves the requests other replicas relay to this one until ctx
// ends (after UseRelay; without a relay it returns at once).
func (m *Monitor) ServeRelay(ctx context.Context) {
	m.mu.Lock()
	relay := m.relay
	m.mu.Unlock()
	if relay != nil {
		relay.Serve(ctx, m.startHere)
	}
}

// NewMonitor returns a monitor service.
func NewMonitor(reg *agents.Registry, sw ivr.Switch, phones agents.Phones, cfg MonitorConfig, log zerolog.Logger) *Monitor {
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 20 * time.Second
	}
	return &Monitor{reg: reg, sw: sw, phones: phones, cfg: cfg, log: log, active: map[string]*monitor{}}
}

// deviceID: a softphone id goes into a dial string, so only plain ids.
var deviceID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// Start rings the supervisor to join the agent's current call. A request
// for a supervisor already monitoring that call changes the mode at once
// instead of ringing again. A call another replica owns is monitored by
// that replica: the request is relayed to it.
func (m *Monitor) Start(ctx context.Context, req MonitorRequest) (MonitorInfo, error) {
	return m.start(ctx, req, true)
}

// startHere serves a request relayed from another replica: never relayed
// on, even if the call has changed hands meanwhile.
func (m *Monitor) startHere(ctx context.Context, req MonitorRequest) (MonitorInfo, error) {
	return m.start(ctx, req, false)
}

func (m *Monitor) start(ctx context.Context, req MonitorRequest, mayRelay bool) (MonitorInfo, error) {
	switch req.Mode {
	case Listen, Whisper, Barge:
	default:
		return MonitorInfo{}, fmt.Errorf("mode %q: use listen, whisper or barge: %w", req.Mode, ErrBadMonitor)
	}
	if !deviceID.MatchString(req.Supervisor) {
		return MonitorInfo{}, fmt.Errorf("supervisor must be a softphone id, e.g. 2003: %w", ErrBadMonitor)
	}
	if req.Supervisor == req.Agent {
		return MonitorInfo{}, fmt.Errorf("an agent cannot monitor their own call: %w", ErrBadMonitor)
	}
	a, err := m.reg.Get(ctx, req.Agent)
	if err != nil {
		return MonitorInfo{}, err
	}
	if a.State != agents.OnCall || a.CallID == "" {
		return MonitorInfo{}, fmt.Errorf("agent %s is %s: %w", a.ID, a.State, ErrNotOnCall)
	}
	if owner := m.ownerElsewhere(ctx, a.CallID); mayRelay && owner != "" {
		return m.relay.Forward(ctx, owner, req)
	}
	key := req.Agent + "/" + req.Supervisor
	m.mu.Lock()
	if cur := m.active[key]; cur != nil {
		m.mu.Unlock()
		if cur.callID == a.CallID {
			return cur.switchMode(ctx, req.Mode)
		}
		return MonitorInfo{}, fmt.Errorf("supervisor %s is still monitoring agent %s's previous call: %w", req.Supervisor, req.Agent, ErrBadMonitor)
	}
	n := m.seq.Add(1)
	mon := &monitor{m: m, id: legs.Supervisor(a.CallID, n), key: key, n: n,
		agent: req.Agent, supervisor: req.Supervisor, callID: a.CallID, mode: req.Mode,
		modes: make(chan modeChange), done: make(chan struct{})}
	m.active[key] = mon // reserved: a second request waits for this one's outcome
	m.mu.Unlock()
	info, err := mon.ring(ctx)
	if err != nil {
		m.forget(mon)
		close(mon.done) // a request waiting to change its mode gives up
		return MonitorInfo{}, err
	}
	return info, nil
}

// ownerElsewhere names the replica that owns the call when it is not this
// one ("" when it is ours, unknown, or there is no relay).
func (m *Monitor) ownerElsewhere(ctx context.Context, callID string) string {
	m.mu.Lock()
	owners, self := m.owners, m.replica
	m.mu.Unlock()
	if owners == nil {
		return ""
	}
	owner, err := owners.Owner(ctx, callID)
	if err != nil {
		m.log.Warn().Err(err).Str("call_id", callID).Msg("owner of the call unknown; monitoring it from here")
		return ""
	}
	if owner == self {
		return ""
	}
	return owner
}

func (m *Monitor) forget(mon *monitor) {
	m.mu.Lock()
	if m.active[mon.key] == mon {
		delete(m.active, mon.key)
	}
	m.mu.Unlock()
}

// Active lists the monitors running on this replica.
func (m *Monitor) Active() []MonitorInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MonitorInfo, 0, len(m.active))
	for _, mon := range m.active {
		out = append(out, mon.info())
	}
	return out
}

// monitor is one supervisor on one call.
type monitor struct {
	m                 *Monitor
	id, key           string // id: the supervisor's channel
	n                 int64
	agent, supervisor string
	callID, agentLeg  string
	modes             chan modeChange
	done              chan struct{}

	n2 int // snoops made, for their ids (run's goroutine only)

	mu       sync.Mutex
	mode     MonitorMode
	answered bool
}

type modeChange struct {
	mode  MonitorMode
	reply chan error
}

func (mon *monitor) info() MonitorInfo {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	st := "ringing"
	if mon.answered {
		st = "active"
	}
	return MonitorInfo{ID: mon.id, Agent: mon.agent, Supervisor: mon.supervisor, Mode: mon.mode,
		CallID: mon.callID, State: st, SupervisorChannel: mon.id}
}

func (mon *monitor) bridgeID() string { return legs.MonitorBridge(mon.callID, mon.n) }

// ring finds the agent's leg and rings the supervisor; the monitor then
// runs on its own until the supervisor or the call hangs up.
func (mon *monitor) ring(ctx context.Context) (MonitorInfo, error) {
	m := mon.m
	leg, err := m.agentLeg(ctx, mon.callID)
	if err != nil {
		return MonitorInfo{}, err
	}
	mon.agentLeg = leg
	online, _, err := m.phones.Status(ctx, mon.supervisor)
	if err != nil {
		return MonitorInfo{}, fmt.Errorf("supervisor softphone %s: %w", mon.supervisor, err)
	}
	if !online {
		return MonitorInfo{}, fmt.Errorf("supervisor softphone %s: %w", mon.supervisor, ErrSupervisorOffline)
	}
	log := m.log.With().Str("call_id", mon.callID).Str("agent", mon.agent).Str("supervisor", mon.supervisor).Logger()
	// Watch before anything can happen: the end of the call must not be missed.
	call, agentLeg := ivr.Watch(m.sw, mon.callID, log), ivr.Watch(m.sw, leg, log)
	sup, err := ivr.Dial(ctx, m.sw, ivr.OriginateRequest{ChannelID: mon.id, Endpoint: m.phones.Endpoint(mon.supervisor),
		CallerID: `"` + string(mon.mode) + " " + mon.agent + `" <` + mon.agent + `>`, Timeout: m.cfg.RingTimeout,
		AppArgs: []string{"monitor", mon.agent, mon.callID}}, log)
	if err != nil {
		call.Close(ctx)
		agentLeg.Close(ctx)
		return MonitorInfo{}, fmt.Errorf("ring supervisor %s: %w", mon.supervisor, err)
	}
	log.Info().Str("mode", string(mon.mode)).Msg("ringing supervisor to monitor a call")
	go func() {
		defer m.forget(mon)
		defer close(mon.done)
		mon.run(sup, call, agentLeg, log)
	}()
	return mon.info(), nil
}

// agentLeg finds the agent's channel of a call: the newest agent leg that
// is up (earlier attempts rang out).
func (m *Monitor) agentLeg(ctx context.Context, callID string) (string, error) {
	chs, err := m.sw.ListChannels(ctx)
	if err != nil {
		return "", fmt.Errorf("find the agent's leg: %w", err)
	}
	best, bestN := "", -1
	for _, ch := range chs {
		if n, ok := legs.AgentAttempt(ch.ID, callID); ok && ch.State == "Up" && n > bestN {
			best, bestN = ch.ID, n
		}
	}
	if best == "" {
		return "", fmt.Errorf("call %s has no agent leg up: %w", callID, ErrNotOnCall)
	}
	return best, nil
}

// run waits for the supervisor to answer, joins them to the call, and
// holds until the supervisor, the agent or the caller hangs up; then it
// hangs up what it created.
func (mon *monitor) run(sup, call, agentLeg *ivr.Session, log zerolog.Logger) {
	m := mon.m
	ctx := context.Background()
	var snoop *ivr.Session // current snoop channel
	bridged := false       // the monitor's own bridge exists
	defer func() {
		sup.Close(ctx)
		if snoop != nil {
			snoop.Close(ctx)
		}
		if bridged {
			_ = m.sw.DestroyBridge(ctx, mon.bridgeID())
		}
		call.Close(ctx) // watched only: never hung up here
		agentLeg.Close(ctx)
		log.Info().Msg("monitor ended")
	}()

	r, err := sup.AwaitAnswer(ctx, m.cfg.RingTimeout+5*time.Second, call, agentLeg)
	switch {
	case err != nil || r.Gone != nil:
		return
	case !r.Answered:
		log.Info().Bool("timed_out", r.TimedOut).Msg("supervisor did not answer")
		return
	}
	// The call may have ended while the supervisor's phone rang.
	if a, err := m.reg.Get(ctx, mon.agent); err != nil || a.State != agents.OnCall || a.CallID != mon.callID {
		log.Info().Msg("call over before the supervisor answered")
		return
	}
	mon.mu.Lock()
	mon.answered = true
	mode := mon.mode
	mon.mu.Unlock()

	// join puts the supervisor into mode, leaving the previous one.
	join := func(mode MonitorMode) error {
		if mode == Barge {
			// Adding a channel to a bridge moves it out of the one it is in.
			if err := m.sw.AddToBridge(ctx, legs.CallBridge(mon.callID), mon.id); err != nil {
				return fmt.Errorf("barge into the call: %w", err)
			}
			if snoop != nil {
				snoop.Close(ctx)
				snoop = nil
			}
			if bridged {
				_ = m.sw.DestroyBridge(ctx, mon.bridgeID())
				bridged = false
			}
			return nil
		}
		whisper := "none"
		if mode == Whisper {
			whisper = "out" // into what the agent hears: the caller does not
		}
		mon.n2++
		// Subscribed before it exists: it enters our application at once.
		next := ivr.NewSession(m.sw, legs.Snoop(mon.callID, mon.n, mon.n2), log)
		if err := m.sw.Snoop(ctx, ivr.SnoopRequest{ChannelID: mon.agentLeg, SnoopID: next.ID(), Spy: "both", Whisper: whisper,
			AppArgs: []string{"monitor", mon.agent, mon.callID}}); err != nil {
			next.MarkHungUp(ivr.Event{}) // never created: nothing to hang up
			next.Close(ctx)
			return fmt.Errorf("snoop on the agent: %w", err)
		}
		// A channel joins a bridge only once it is in our application.
		if r, err := next.AwaitAnswer(ctx, 5*time.Second); err != nil || !r.Answered {
			next.Close(ctx)
			return fmt.Errorf("snoop on the agent: not in the application (%+v, %v)", r, err)
		}
		if !bridged {
			if err := m.sw.CreateBridge(ctx, mon.bridgeID()); err != nil {
				next.Close(ctx)
				return fmt.Errorf("monitor bridge: %w", err)
			}
			bridged = true
		}
		if err := m.sw.AddToBridge(ctx, mon.bridgeID(), mon.id, next.ID()); err != nil {
			next.Close(ctx)
			return fmt.Errorf("monitor bridge: %w", err)
		}
		if snoop != nil { // the previous mode's snoop
			snoop.Close(ctx)
		}
		snoop = next
		return nil
	}
	if err := join(mode); err != nil {
		log.Error().Err(err).Msg("join supervisor to the call")
		return
	}
	log.Info().Str("mode", string(mode)).Msg("supervisor joined the call")
	hungUp := func(ev ivr.Event, ok bool) bool { return !ok || ev.Kind == ivr.EvHangup }
	for {
		var snoopEv <-chan ivr.Event // nil (never ready) while barged in
		if snoop != nil {
			snoopEv = snoop.Events()
		}
		select {
		case ev, ok := <-sup.Events():
			if hungUp(ev, ok) {
				sup.MarkHungUp(ev)
				return
			}
		case ev, ok := <-call.Events():
			if hungUp(ev, ok) {
				return
			}
		case ev, ok := <-agentLeg.Events():
			if hungUp(ev, ok) {
				return
			}
		case ev, ok := <-snoopEv:
			if hungUp(ev, ok) {
				snoop.MarkHungUp(ev)
				return // Asterisk ends a snoop when the agent's leg goes
			}
		case ch := <-mon.modes:
			err := join(ch.mode)
			if err == nil {
				mon.mu.Lock()
				mon.mode = ch.mode
				mon.mu.Unlock()
				log.Info().Str("mode", string(ch.mode)).Msg("supervisor changed monitor mode")
			}
			ch.reply <- err
		}
	}
}

// switchMode changes a monitor's mode: at once while the supervisor's phone
// still rings (applied when they answer), through the monitor's goroutine
// once they are in the call.
func (mon *monitor) switchMode(ctx context.Context, mode MonitorMode) (MonitorInfo, error) {
	mon.mu.Lock()
	if !mon.answered {
		mon.mode = mode
		mon.mu.Unlock()
		return mon.info(), nil
	}
	mon.mu.Unlock()
	reply := make(chan error, 1)
	select {
	case mon.modes <- modeChange{mode: mode, reply: reply}:
	case <-mon.done:
		return MonitorInfo{}, fmt.Errorf("the monitor just ended; try again: %w", ErrBadMonitor)
	case <-ctx.Done():
		return MonitorInfo{}, ctx.Err()
	}
	select {
	case err := <-reply:
		if err != nil {
			return MonitorInfo{}, err
		}
		return mon.info(), nil
	case <-ctx.Done():
		return MonitorInfo{}, ctx.Err()
	}
}
