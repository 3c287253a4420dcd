package agents

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline95598/hotline/ivr"
	"github.com/rs/zerolog"
)

// Supervisor monitoring: a supervisor's softphone is rung and, once
// answered, listens to an agent's call (listen), speaks to the agent only
// (whisper) or joins the conversation (barge).
//
// Listen and whisper use an ARI snoop channel on the agent's leg, bridged
// with the supervisor in a bridge of the monitor's own; barge puts the
// supervisor into the call's bridge br-<call>. The monitor's channels are
// named <call>-agent-sup<n> and <call>-agent-snoop<n> so that the recovery
// sweep counts them as legs of the call (service/calls.go ownerCall) and
// never hangs them up as orphans while the call lives.

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
	Tech        string        // "PJSIP": supervisors are rung at Tech/ID
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
	reg *Registry
	sw  ivr.Switch
	cfg MonitorConfig
	log zerolog.Logger
	seq atomic.Int64

	mu     sync.Mutex
	active map[string]*monitor // agent "/" supervisor -> monitor
}

// NewMonitor returns a monitor service.
func NewMonitor(reg *Registry, sw ivr.Switch, cfg MonitorConfig, log zerolog.Logger) *Monitor {
	if cfg.Tech == "" {
		cfg.Tech = "PJSIP"
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 20 * time.Second
	}
	return &Monitor{reg: reg, sw: sw, cfg: cfg, log: log, active: map[string]*monitor{}}
}

// deviceID: a softphone id goes into a dial string, so only plain ids.
var deviceID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// Start rings the supervisor to join the agent's current call. A request
// for a supervisor already monitoring that call changes the mode at once
// instead of ringing again.
func (m *Monitor) Start(ctx context.Context, req MonitorRequest) (MonitorInfo, error) {
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
	if a.State != OnCall || a.CallID == "" {
		return MonitorInfo{}, fmt.Errorf("agent %s is %s: %w", a.ID, a.State, ErrNotOnCall)
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
	mon := &monitor{m: m, id: a.CallID + "-agent-sup" + strconv.FormatInt(n, 10), key: key, n: n,
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

func (mon *monitor) bridgeID() string {
	return "mon-" + mon.callID + "-" + strconv.FormatInt(mon.n, 10)
}

// ring finds the agent's leg and rings the supervisor; the monitor then
// runs on its own until the supervisor or the call hangs up.
func (mon *monitor) ring(ctx context.Context) (MonitorInfo, error) {
	m := mon.m
	leg, err := m.agentLeg(ctx, mon.callID)
	if err != nil {
		return MonitorInfo{}, err
	}
	mon.agentLeg = leg
	online, err := m.sw.EndpointOnline(ctx, m.cfg.Tech, mon.supervisor)
	if err != nil {
		return MonitorInfo{}, fmt.Errorf("supervisor softphone %s: %w", mon.supervisor, err)
	}
	if !online {
		return MonitorInfo{}, fmt.Errorf("supervisor softphone %s: %w", mon.supervisor, ErrSupervisorOffline)
	}
	// Subscribe before anything can happen: the supervisor's answer and
	// the end of the call must not be missed.
	sup, cancelSup := m.sw.Subscribe(mon.id)
	callEv, cancelCall := m.sw.Subscribe(mon.callID)
	legEv, cancelLeg := m.sw.Subscribe(leg)
	cancel := func() { cancelSup(); cancelCall(); cancelLeg() }
	err = m.sw.Originate(ctx, ivr.OriginateRequest{ChannelID: mon.id, Endpoint: m.cfg.Tech + "/" + mon.supervisor,
		CallerID: `"` + string(mon.mode) + " " + mon.agent + `" <` + mon.agent + `>`, Timeout: m.cfg.RingTimeout,
		AppArgs: []string{"monitor", mon.agent, mon.callID}})
	if err != nil {
		cancel()
		return MonitorInfo{}, fmt.Errorf("ring supervisor %s: %w", mon.supervisor, err)
	}
	log := m.log.With().Str("call_id", mon.callID).Str("agent", mon.agent).Str("supervisor", mon.supervisor).Logger()
	log.Info().Str("mode", string(mon.mode)).Msg("ringing supervisor to monitor a call")
	go func() {
		defer cancel()
		defer m.forget(mon)
		defer close(mon.done)
		mon.run(sup, callEv, legEv, log)
	}()
	return mon.info(), nil
}

// agentLeg finds the agent's channel of a call: the newest <call>-agent-<n>
// that is up (earlier attempts rang out).
func (m *Monitor) agentLeg(ctx context.Context, callID string) (string, error) {
	chs, err := m.sw.ListChannels(ctx)
	if err != nil {
		return "", fmt.Errorf("find the agent's leg: %w", err)
	}
	best, bestN := "", -1
	for _, ch := range chs {
		rest, ok := strings.CutPrefix(ch.ID, callID+"-agent-")
		if !ok || ch.State != "Up" {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n > bestN {
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
func (mon *monitor) run(sup, callEv, legEv <-chan ivr.Event, log zerolog.Logger) {
	m := mon.m
	ctx := context.Background()
	snoop := "" // current snoop channel
	var snoopEv <-chan ivr.Event
	cancelSnoop := func() {}
	bridged := false // the monitor's own bridge exists
	defer func() {
		cancelSnoop()
		_ = m.sw.Channel(mon.id).Hangup(ctx)
		if snoop != "" {
			_ = m.sw.Channel(snoop).Hangup(ctx)
		}
		if bridged {
			_ = m.sw.DestroyBridge(ctx, mon.bridgeID())
		}
		log.Info().Msg("monitor ended")
	}()

	ring := time.NewTimer(m.cfg.RingTimeout + 5*time.Second)
	defer ring.Stop()
	for answered := false; !answered; {
		select {
		case ev := <-sup:
			switch ev.Kind {
			case ivr.EvAnswered:
				answered = true
			case ivr.EvHangup:
				log.Info().Msg("supervisor did not answer")
				return
			}
		case ev := <-callEv:
			if ev.Kind == ivr.EvHangup {
				return
			}
		case ev := <-legEv:
			if ev.Kind == ivr.EvHangup {
				return
			}
		case ch := <-mon.modes:
			mon.mu.Lock()
			mon.mode = ch.mode // not joined yet: applied on answer
			mon.mu.Unlock()
			ch.reply <- nil
		case <-ring.C:
			log.Info().Msg("supervisor did not answer in time")
			return
		}
	}
	// The call may have ended while the supervisor's phone rang.
	if a, err := m.reg.Get(ctx, mon.agent); err != nil || a.State != OnCall || a.CallID != mon.callID {
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
			if err := m.sw.AddToBridge(ctx, "br-"+mon.callID, mon.id); err != nil {
				return fmt.Errorf("barge into the call: %w", err)
			}
			if snoop != "" {
				cancelSnoop()
				_ = m.sw.Channel(snoop).Hangup(ctx)
				snoop, snoopEv, cancelSnoop = "", nil, func() {}
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
		id := mon.callID + "-agent-snoop" + strconv.FormatInt(mon.n, 10) + "x" + strconv.Itoa(mon.n2)
		evs, cancel := m.sw.Subscribe(id)
		if err := m.sw.Snoop(ctx, ivr.SnoopRequest{ChannelID: mon.agentLeg, SnoopID: id, Spy: "both", Whisper: whisper,
			AppArgs: []string{"monitor", mon.agent, mon.callID}}); err != nil {
			cancel()
			return fmt.Errorf("snoop on the agent: %w", err)
		}
		// A channel joins a bridge only once it is in our application.
		if err := awaitAnswer(evs, 5*time.Second); err != nil {
			cancel()
			_ = m.sw.Channel(id).Hangup(ctx)
			return fmt.Errorf("snoop on the agent: %w", err)
		}
		if !bridged {
			if err := m.sw.CreateBridge(ctx, mon.bridgeID()); err != nil {
				cancel()
				_ = m.sw.Channel(id).Hangup(ctx)
				return fmt.Errorf("monitor bridge: %w", err)
			}
			bridged = true
		}
		if err := m.sw.AddToBridge(ctx, mon.bridgeID(), mon.id, id); err != nil {
			cancel()
			_ = m.sw.Channel(id).Hangup(ctx)
			return fmt.Errorf("monitor bridge: %w", err)
		}
		if snoop != "" { // the previous mode's snoop
			cancelSnoop()
			_ = m.sw.Channel(snoop).Hangup(ctx)
		}
		snoop, snoopEv, cancelSnoop = id, evs, cancel
		return nil
	}
	if err := join(mode); err != nil {
		log.Error().Err(err).Msg("join supervisor to the call")
		return
	}
	log.Info().Str("mode", string(mode)).Msg("supervisor joined the call")
	for {
		select {
		case ev := <-sup:
			if ev.Kind == ivr.EvHangup {
				return
			}
		case ev := <-callEv:
			if ev.Kind == ivr.EvHangup {
				return
			}
		case ev := <-legEv:
			if ev.Kind == ivr.EvHangup {
				return
			}
		case ev := <-snoopEv: // nil (never ready) while barged in
			if ev.Kind == ivr.EvHangup {
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

// switchMode changes a running monitor's mode.
func (mon *monitor) switchMode(ctx context.Context, mode MonitorMode) (MonitorInfo, error) {
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

// awaitAnswer waits for a channel to enter our application.
func awaitAnswer(evs <-chan ivr.Event, within time.Duration) error {
	t := time.NewTimer(within)
	defer t.Stop()
	for {
		select {
		case ev := <-evs:
			switch ev.Kind {
			case ivr.EvAnswered:
				return nil
			case ivr.EvHangup:
				return errors.New("channel hung up")
			}
		case <-t.C:
			return fmt.Errorf("not in the application after %s", within)
		}
	}
}
