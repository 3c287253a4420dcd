// Package transfer moves a caller who talks to an agent on to another
// queue (a blind transfer) or, after the agent consulted a colleague, to
// that colleague (an attended transfer), whichever controller replica the
// request reaches.
//
// A call is owned by the one goroutine of one replica that answered it;
// while the caller talks to an agent that goroutine sits in hold.Serve. A
// request to transfer arrives over HTTP at any replica, so it travels
// through Redis: the asking replica publishes it on one channel every
// replica subscribes to (P calls:transfer), the replica that holds the call
// bridged hands it to the call's goroutine (Hub.Watch), and that goroutine
// answers on a reply list of the request's own (P transfer:reply:<id>)
// that the asker waits on. Replicas that do not hold the call ignore the
// request. Transfers are rare, so one broadcast channel costs nothing.
package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Request asks the owner of a call to transfer it.
type Request struct {
	ID     string `json:"id"`      // unique per request: names the reply list
	CallID string `json:"call_id"` // the customer's call
	Queue  string `json:"queue"`   // the queue the caller is transferred to (blind)
	// Kind is what is asked: "" (KindBlind) a blind transfer to Queue;
	// KindConsult: consult ToAgent while the caller holds; KindComplete:
	// hand the caller to the consulted agent; KindCancel: return to the
	// caller.
	Kind    string `json:"kind,omitempty"`
	ToAgent string `json:"to_agent,omitempty"`
	// Agent is the agent who asks, which must be the one on the call; ""
	// when a supervisor asks (whoever is on the call).
	Agent string `json:"agent,omitempty"`
	By    string `json:"by"` // the token's name, for the audit trail
}

// Reply is the owner's answer.
type Reply struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"` // why not, when !OK
	CallID    string `json:"call_id"`
	FromAgent string `json:"from_agent,omitempty"`
	FromQueue string `json:"from_queue,omitempty"`
	ToQueue   string `json:"to_queue,omitempty"`
	Kind      string `json:"kind,omitempty"`      // "attended" for a consultation
	ToAgent   string `json:"to_agent,omitempty"`  // the consulted agent
	State     string `json:"state,omitempty"`     // of a consultation: ringing, returned, completed
	TicketID  string `json:"ticket_id,omitempty"` // the call's work order, which follows the caller
}

// Order is a request delivered to the goroutine that owns the call. It
// must be answered once (Answer).
type Order struct {
	Request
	hub *Hub
}

// Answer sends the owner's reply to the asker. A lost reply costs the
// asker a timeout, never the call.
func (o Order) Answer(ctx context.Context, r Reply) {
	if o.hub == nil {
		return
	}
	o.hub.answer(context.WithoutCancel(ctx), o.ID, r)
}

// Hub is one replica's end of the transfer channel.
type Hub struct {
	rdb  redis.UniversalClient
	p    string
	wait time.Duration
	log  zerolog.Logger

	mu    sync.Mutex
	calls map[string]chan Order // calls bridged on this replica
}

// DefaultWait is how long an asker waits for the owner's reply.
const DefaultWait = 5 * time.Second

// replyTTL: a reply nobody read (the asker gave up) expires.
const replyTTL = 30 * time.Second

// NewHub returns the hub of a replica; Run must run for it to receive.
func NewHub(rdb redis.UniversalClient, prefix string, log zerolog.Logger) *Hub {
	return &Hub{rdb: rdb, p: prefix, wait: DefaultWait, log: log, calls: map[string]chan Order{}}
}

// SetWait changes how long Ask waits for the owner (tests).
func (h *Hub) SetWait(d time.Duration) { h.wait = d }

func (h *Hub) channel() string           { return h.p + "calls:transfer" }
func (h *Hub) replyKey(id string) string { return h.p + "transfer:reply:" + id }

// Watch registers a call bridged on this replica: requests for it arrive
// on the channel until stop is called.
func (h *Hub) Watch(callID string) (<-chan Order, func()) {
	ch := make(chan Order, 1)
	h.mu.Lock()
	h.calls[callID] = ch
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		if h.calls[callID] == ch {
			delete(h.calls, callID)
		}
		h.mu.Unlock()
	}
}

// Run receives requests until ctx ends; the Redis client reconnects and
// resubscribes by itself after a drop.
func (h *Hub) Run(ctx context.Context) {
	ps := h.rdb.Subscribe(ctx, h.channel())
	defer ps.Close()
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			h.deliver(ctx, m.Payload)
		}
	}
}

// deliver hands a request to the call's goroutine if the call is bridged
// here; other replicas' calls are not ours to answer.
func (h *Hub) deliver(ctx context.Context, payload string) {
	var r Request
	if err := json.Unmarshal([]byte(payload), &r); err != nil || r.ID == "" || r.CallID == "" {
		h.log.Warn().Err(err).Msg("malformed transfer request ignored")
		return
	}
	h.mu.Lock()
	ch := h.calls[r.CallID]
	h.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- Order{Request: r, hub: h}:
	default:
		h.answer(ctx, r.ID, Reply{CallID: r.CallID, Error: "a transfer of this call is already under way"})
	}
}

func (h *Hub) answer(ctx context.Context, id string, r Reply) {
	raw, _ := json.Marshal(r)
	_, err := h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, h.replyKey(id), raw)
		p.Expire(ctx, h.replyKey(id), replyTTL)
		return nil
	})
	if err != nil {
		h.log.Error().Err(err).Str("call_id", r.CallID).Msg("answer a transfer request")
	}
}

// ErrNoOwner: no replica answered for the call in time: it is not
// bridged to an agent anywhere (or its owner is stuck).
var ErrNoOwner = errors.New("no controller replica holds the call connected to an agent")

// Ask sends a request to whichever replica owns the call and waits for
// its reply.
func (h *Hub) Ask(ctx context.Context, r Request) (Reply, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return Reply{}, fmt.Errorf("transfer request: %w", err)
	}
	if err := h.rdb.Publish(ctx, h.channel(), raw).Err(); err != nil {
		return Reply{}, fmt.Errorf("send transfer request: %w", err)
	}
	res, err := h.rdb.BLPop(ctx, h.wait, h.replyKey(r.ID)).Result()
	if errors.Is(err, redis.Nil) {
		return Reply{}, fmt.Errorf("call %s: %w (no answer within %s)", r.CallID, ErrNoOwner, h.wait)
	}
	if err != nil {
		return Reply{}, fmt.Errorf("wait for the transfer reply: %w", err)
	}
	var rep Reply
	if err := json.Unmarshal([]byte(res[1]), &rep); err != nil {
		return Reply{}, fmt.Errorf("transfer reply: %w", err)
	}
	return rep, nil
}
