package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// The agent event stream: one Redis stream per hotline holding every
// agent's state changes and screen pops, so a desk application or a
// supervisor screen sees them live and can resume after a drop.
//
// Each entry has the fields agent (the agent id), type (EventState or
// EventScreenPop) and data (a JSON object).

// Event types.
const (
	EventState     = "state"
	EventScreenPop = "screen_pop"
	// EventConsult tells an agent's desk how its consultation of a
	// colleague (an attended transfer) goes (Consult).
	EventConsult = "consult"
)

// EventsMaxLen bounds the stream (trimmed approximately, MAXLEN ~): a few
// hours of a busy hotline, enough for any desk to resume after a drop.
const EventsMaxLen = 10000

// Event is one entry of the stream.
type Event struct {
	ID    string          `json:"id"` // the stream id, e.g. "1732262400000-0"
	Agent string          `json:"agent"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
}

// EventsKey is the stream's Redis key.
func (r *Registry) EventsKey() string { return r.p + "agents:events" }

// Publish appends an event about agent to the stream; data is stored as JSON.
func (r *Registry) Publish(ctx context.Context, agent, typ string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("agent event %s for %s: %w", typ, agent, err)
	}
	err = r.rdb.XAdd(ctx, &redis.XAddArgs{Stream: r.EventsKey(), MaxLen: EventsMaxLen, Approx: true,
		Values: []any{"agent", agent, "type", typ, "data", string(raw)}}).Err()
	if err != nil {
		return fmt.Errorf("agent event %s for %s: %w", typ, agent, err)
	}
	return nil
}

// Tail returns the events after the stream id after ("$": only new ones),
// of one agent or of all when agent is "", waiting up to block for one to
// arrive (block <= 0: do not wait). It returns no events and no error when
// none arrived in time.
func (r *Registry) Tail(ctx context.Context, agent, after string, block time.Duration) ([]Event, error) {
	evs, _, err := r.ReadEvents(ctx, agent, after, block)
	return evs, err
}

// readBatch is how many entries one XREAD returns at most.
const readBatch = 256

// ReadEvents is Tail that also returns the cursor to read on from: the id
// of the last entry read, whether or not it was the agent's, so a reader
// of one agent never rescans other agents' entries. "$" is resolved to the
// stream's current last id, so no entry slips between two calls.
func (r *Registry) ReadEvents(ctx context.Context, agent, after string, block time.Duration) ([]Event, string, error) {
	cursor := after
	if cursor == "$" || cursor == "" {
		var err error
		if cursor, err = r.lastEventID(ctx); err != nil {
			return nil, after, err
		}
	}
	deadline := time.Now().Add(block)
	for {
		wait := time.Duration(-1) // go-redis: no BLOCK argument
		if block > 0 {
			wait = time.Until(deadline)
			if wait < time.Millisecond {
				return nil, cursor, nil
			}
		}
		res, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{r.EventsKey(), cursor}, Count: readBatch, Block: wait}).Result()
		if errors.Is(err, redis.Nil) {
			return nil, cursor, nil
		}
		if err != nil {
			return nil, cursor, fmt.Errorf("read agent events: %w", err)
		}
		var out []Event
		for _, s := range res {
			for _, m := range s.Messages {
				cursor = m.ID
				if ev := decodeEvent(m); agent == "" || ev.Agent == agent {
					out = append(out, ev)
				}
			}
		}
		if len(out) > 0 || block <= 0 {
			return out, cursor, nil
		}
	}
}

// lastEventID is the id of the newest entry, "0-0" for an empty stream.
func (r *Registry) lastEventID(ctx context.Context) (string, error) {
	last, err := r.rdb.XRevRangeN(ctx, r.EventsKey(), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("read agent events: %w", err)
	}
	if len(last) == 0 {
		return "0-0", nil
	}
	return last[0].ID, nil
}

// eventsSince returns agent's events (all agents' for "") after the id
// after, up to the stream's end, for a client resuming a stream.
func (r *Registry) eventsSince(ctx context.Context, agent, after string) ([]Event, error) {
	var out []Event
	for from := "(" + after; ; {
		msgs, err := r.rdb.XRangeN(ctx, r.EventsKey(), from, "+", 500).Result()
		if err != nil {
			return nil, fmt.Errorf("read agent events: %w", err)
		}
		for _, m := range msgs {
			if ev := decodeEvent(m); agent == "" || ev.Agent == agent {
				out = append(out, ev)
			}
		}
		if len(msgs) < 500 {
			return out, nil
		}
		from = "(" + msgs[len(msgs)-1].ID
	}
}

func decodeEvent(m redis.XMessage) Event {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	ev := Event{ID: m.ID, Agent: str("agent"), Type: str("type"), Data: json.RawMessage(str("data"))}
	if !json.Valid(ev.Data) {
		ev.Data = json.RawMessage("null")
	}
	return ev
}

// ValidEventID reports whether s is a stream id ("<ms>-<seq>" or "<ms>"),
// as a client's Last-Event-ID must be.
func ValidEventID(s string) bool {
	ms, seq, found := strings.Cut(s, "-")
	if _, err := strconv.ParseUint(ms, 10, 64); err != nil {
		return false
	}
	if found {
		if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
			return false
		}
	}
	return true
}

// eventAfter reports whether stream id a is later than b.
func eventAfter(a, b string) bool {
	parse := func(s string) (uint64, uint64) {
		ms, seq, _ := strings.Cut(s, "-")
		x, _ := strconv.ParseUint(ms, 10, 64)
		y, _ := strconv.ParseUint(seq, 10, 64)
		return x, y
	}
	am, as := parse(a)
	bm, bs := parse(b)
	return am > bm || (am == bm && as > bs)
}

// Feed fans the stream out to many listeners (desk applications,
// supervisor screens) through one Redis reader per replica, so a hundred
// open streams cost one blocked connection, not a hundred taken from the
// pool the calls need. The reader runs only while someone listens.
type Feed struct {
	reg *Registry
	log zerolog.Logger
	// Block is how long one read waits for news; Buffer how many events a
	// listener may fall behind before it is cut off (it reconnects and
	// resumes from its last event id).
	Block  time.Duration
	Buffer int

	mu      sync.Mutex
	subs    map[*Sub]struct{}
	running bool
}

// NewFeed returns a feed of the registry's event stream.
func NewFeed(reg *Registry, log zerolog.Logger) *Feed {
	return &Feed{reg: reg, log: log, Block: 5 * time.Second, Buffer: 256, subs: map[*Sub]struct{}{}}
}

// Sub is one listener: Backlog first, then C until it is closed (the feed
// cut a listener that fell behind). Fresh filters what C repeats of Backlog.
type Sub struct {
	agent   string
	c       chan Event
	backlog []Event
	floor   string // id of the last event handed out
}

// Backlog is what happened since the listener's last event id.
func (s *Sub) Backlog() []Event { return s.backlog }

// C delivers live events; it is closed when the listener fell too far behind.
func (s *Sub) C() <-chan Event { return s.c }

// Fresh reports whether ev is new to the listener (not already in the
// backlog) and remembers it. Call it from the listener's goroutine only.
func (s *Sub) Fresh(ev Event) bool {
	if s.floor != "" && !eventAfter(ev.ID, s.floor) {
		return false
	}
	s.floor = ev.ID
	return true
}

// Subscribe starts listening to agent's events (every agent's for "").
// With after set (a stream id: the client's Last-Event-ID) the events since
// then come first, in Backlog. Unsubscribe must follow.
func (f *Feed) Subscribe(ctx context.Context, agent, after string) (*Sub, error) {
	s := &Sub{agent: agent, c: make(chan Event, max(f.Buffer, 1))}
	// Join the live feed before reading the backlog: whatever is added
	// meanwhile then arrives at least once, and Fresh drops the repeats.
	if err := f.add(ctx, s); err != nil {
		return nil, err
	}
	if after != "" {
		back, err := f.reg.eventsSince(ctx, agent, after)
		if err != nil {
			f.Unsubscribe(s)
			return nil, err
		}
		s.backlog, s.floor = back, after
		if len(back) > 0 {
			s.floor = back[len(back)-1].ID
		}
	}
	return s, nil
}

// Unsubscribe stops a listener; calling it twice is harmless.
func (f *Feed) Unsubscribe(s *Sub) {
	f.mu.Lock()
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		close(s.c)
	}
	f.mu.Unlock()
}

func (f *Feed) add(ctx context.Context, s *Sub) error {
	f.mu.Lock()
	running := f.running
	f.mu.Unlock()
	cursor := ""
	if !running {
		// The reader starts from the stream's end as of now, before the
		// listener is told it is subscribed.
		var err error
		if cursor, err = f.reg.lastEventID(ctx); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[s] = struct{}{}
	if !f.running {
		f.running = true
		go f.run(cursor)
	}
	return nil
}

// run reads the stream and hands each event to its listeners until nobody
// listens. A listener whose buffer is full is cut off rather than slowing
// everyone else.
func (f *Feed) run(cursor string) {
	ctx := context.Background()
	backoff := 100 * time.Millisecond
	for {
		evs, next, err := f.reg.ReadEvents(ctx, "", cursor, f.Block)
		if err != nil {
			f.log.Warn().Err(err).Msg("agent event feed: read failed; retrying")
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		} else {
			backoff = 100 * time.Millisecond
			cursor = next
		}
		f.mu.Lock()
		for _, ev := range evs {
			for s := range f.subs {
				if s.agent != "" && s.agent != ev.Agent {
					continue
				}
				select {
				case s.c <- ev:
				default:
					f.log.Warn().Str("agent", s.agent).Msg("agent event listener too slow; cut off (it resumes on reconnect)")
					delete(f.subs, s)
					close(s.c)
				}
			}
		}
		if len(f.subs) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
}

// ScreenPop is what an agent's desk shows when their phone rings: it is
// published (EventScreenPop) before the phone rings.
type ScreenPop struct {
	Agent    string  `json:"agent"`
	CallID   string  `json:"call_id"`
	Phone    string  `json:"phone"`
	Account  string  `json:"account,omitempty"`
	Name     string  `json:"name,omitempty"`
	TicketID string  `json:"ticket_id,omitempty"`
	MenuPath string  `json:"menu_path,omitempty"`
	Queue    string  `json:"queue"`
	Priority string  `json:"priority"`
	WaitedS  float64 `json:"waited_s"`
	// Transfer: another agent passed the caller on; FromAgent and
	// FromQueue say who and from where, TransferKind how: "blind" (to a
	// queue) or "attended" (FromAgent consults this agent first).
	Transfer     bool   `json:"transfer,omitempty"`
	TransferKind string `json:"transfer_kind,omitempty"`
	FromAgent    string `json:"from_agent,omitempty"`
	FromQueue    string `json:"from_queue,omitempty"`
}

// Consult is an EventConsult: the agent's consultation of ToAgent on the
// call is ringing, talking, or over: completed, returned, no_answer,
// colleague_hangup or caller_hangup.
type Consult struct {
	Agent   string `json:"agent"`
	CallID  string `json:"call_id"`
	ToAgent string `json:"to_agent"`
	State   string `json:"state"`
}
