package service

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// calls knows which calls this replica owns. Ownership is also written to
// Redis (owner replica, phone, ticket) so that after a restart, or when a
// replica dies, the calls it left in Asterisk can be found and followed up.
type calls struct {
	mu      sync.Mutex
	active  map[string]context.CancelFunc
	rdb     redis.UniversalClient
	p       string
	replica string
	log     zerolog.Logger
}

// callTTL: ownership records outlive a replica only briefly.
const callTTL = time.Minute

func newCalls(rdb redis.UniversalClient, prefix, replica string, log zerolog.Logger) *calls {
	return &calls{active: map[string]context.CancelFunc{}, rdb: rdb, p: prefix, replica: replica, log: log}
}

func (c *calls) key(id string) string { return c.p + "call:" + id }

// start registers a call this replica now owns; done must be called when
// the call's goroutine ends.
func (c *calls) start(ctx context.Context, id, phone string) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	c.active[id] = cancel
	c.mu.Unlock()
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, c.key(id), "owner", c.replica, "phone", phone, "started", time.Now().UnixMilli())
		p.Expire(ctx, c.key(id), callTTL)
		return nil
	})
	if err != nil {
		c.log.Warn().Err(err).Str("call_id", id).Msg("record call owner")
	}
	return ctx, func() {
		cancel()
		c.mu.Lock()
		delete(c.active, id)
		c.mu.Unlock()
		if err := c.rdb.Del(context.WithoutCancel(ctx), c.key(id)).Err(); err != nil {
			c.log.Warn().Err(err).Str("call_id", id).Msg("forget call")
		}
	}
}

// Attach records the ticket a call produced (callflow.Tracker).
func (c *calls) Attach(ctx context.Context, callID, ticketID string) {
	if err := c.rdb.HSet(context.WithoutCancel(ctx), c.key(callID), "ticket", ticketID).Err(); err != nil {
		c.log.Warn().Err(err).Str("call_id", callID).Msg("attach ticket to call")
	}
}

// isLocal reports whether this replica owns the call (or the call an agent
// leg belongs to: agent legs are named <call>-agent-<n>).
func (c *calls) isLocal(channelID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.active[ownerCall(channelID)]
	return ok
}

func ownerCall(channelID string) string {
	if i := strings.Index(channelID, "-agent-"); i > 0 {
		return channelID[:i]
	}
	return channelID
}

// cancelMissing ends local calls whose channel is no longer in Asterisk:
// their hang-up happened while the event stream was down.
func (c *calls) cancelMissing(present map[string]bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, cancel := range c.active {
		if !present[id] {
			cancel()
			n++
		}
	}
	return n
}

// refresh extends the ownership records of every local call.
func (c *calls) refresh(ctx context.Context) error {
	c.mu.Lock()
	ids := make([]string, 0, len(c.active))
	for id := range c.active {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Expire(ctx, c.key(id), callTTL)
		}
		p.Set(ctx, c.p+"replica:"+c.replica, time.Now().UnixMilli(), 3*refreshEvery)
		return nil
	})
	return err
}

// record is what Redis knows of a call.
type record struct {
	Owner, Phone, Ticket string
}

func (c *calls) lookup(ctx context.Context, id string) (record, bool, error) {
	h, err := c.rdb.HGetAll(ctx, c.key(id)).Result()
	if err != nil || len(h) == 0 {
		return record{}, false, err
	}
	return record{Owner: h["owner"], Phone: h["phone"], Ticket: h["ticket"]}, true, nil
}

func (c *calls) replicaAlive(ctx context.Context, replica string) (bool, error) {
	n, err := c.rdb.Exists(ctx, c.p+"replica:"+replica).Result()
	return n == 1, err
}
